#!/bin/sh
# AIM_gemini.sh - AIM_INTEGRATION_V1 adapter for the Gemini CLI
# (npm @google/gemini-cli, command "gemini").
#
# code_generation, refactoring:
#   gemini --skip-trust --approval-mode auto_edit --output-format json -p "" <prompt
#   Headless mode; the prompt comes on stdin (-p "" only selects headless
#   mode, its text is appended to stdin); --skip-trust because headless runs
#   in an untrusted folder otherwise stop with exit 55; auto_edit approves
#   file edits only.  Success: stdout {"response", "stats", ...}.
# version: gemini --version
# Failures: stderr ends with {"error": {"type", "message", "code"}}.  Mapped:
#   "Please set an Auth method" (exit 41), "must specify the GEMINI_API_KEY
#   environment variable", "API key not valid", code 401/403 -> auth;
#   "exceeded your current quota", "Quota exceeded" (not per minute) ->
#   quota; 429, RESOURCE_EXHAUSTED, per-minute quotas -> rate_limit; "input
#   token count ... exceeds the maximum number of tokens" ->
#   context_too_long; "blocked due to SAFETY", blockReason -> content_policy;
#   "not running in a trusted directory", 400 INVALID_ARGUMENT ->
#   bad_request; 5xx, network errors -> transient; killed at the time
#   budget -> timeout.  "Please retry in 12.5s" gives retry_after_ms.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

aim_init gemini
case $AIM_CAP in
version) aim_version gemini --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command gemini
aim_prompt
aim_snapshot
aim_run "$AIM_TMP/prompt.txt" gemini --skip-trust --approval-mode auto_edit \
    --output-format json -p ""

if [ "$AIM_RC" -ne 0 ] || ! jq -e 'type == "object" and
    .error == null and has("response")' "$AIM_OUT" >/dev/null 2>&1; then
	# The error object is the last top-level JSON text on stderr (or stdout);
	# its message may itself be the API's JSON error.
	detail=$(sed -n '/^{/,$p' "$AIM_ERR" "$AIM_OUT" | jq -rs '
	    map(objects | .error | objects) | last // empty
	    | (if (.code | type) == "number" and .code >= 100
	       then "code \(.code): " else "" end)
	      + ((.message | fromjson? | .error.message) // .message
	         | tostring)' 2>/dev/null)
	aim_fail_run "$(aim_flat "$detail")"
fi
jq -c '{response: (.response | tostring | .[0:4096]), session_id}' \
    "$AIM_OUT" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
