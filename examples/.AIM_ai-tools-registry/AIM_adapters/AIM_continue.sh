#!/bin/sh
# AIM_continue.sh - AIM_INTEGRATION_V1 adapter for the Continue CLI
# (npm @continuedev/cli, command "cn").
#
# code_generation, refactoring:
#   cn [--config FILE] --format json --allow Write --allow Edit
#       --allow MultiEdit -p <prompt
#   Headless print mode; the prompt comes on stdin (cn reads it only when
#   no argument after -p looks like a prompt: --format json goes before
#   -p); Write and Edit are allowed, other tools that ask are refused.
#   The model is the config's (~/.continue/config.yaml, or
#   AIM_CONTINUE_CONFIG: models with provider openai and apiBase reach any
#   OpenAI-compatible endpoint).  stdout is one JSON object,
#   {"response", "status"}; errors are {"status":"error","message"} on
#   stderr.  It names no files and no tokens: the changes come from the
#   working tree.
# version: cn --version
# Failures mapped (lib.sh, from the error message, else stderr, else
#   stdout): "401 ...", "API key" texts -> auth; 429 -> rate_limit; quota
#   texts -> quota; 5xx, network errors -> transient; 400/404 ->
#   bad_request; killed at the time budget -> timeout; no output at all,
#   exit 0 (a refused turn) -> content_policy.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init cn
case $AIM_CAP in
version) aim_version cn --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command cn
aim_prompt
aim_snapshot
set -- cn
[ -z "${AIM_CONTINUE_CONFIG:-}" ] || set -- "$@" --config "$AIM_CONTINUE_CONFIG"
aim_run "$AIM_TMP/prompt.txt" "$@" --format json --allow Write --allow Edit \
    --allow MultiEdit -p

# cn 1.5 ends a turn the model refused (Chat finish_reason
# content_filter) with nothing at all on stdout and stderr, exit 0.
if [ "$AIM_RC" -eq 0 ] && ! [ -s "$AIM_OUT" ] && ! [ -s "$AIM_ERR" ]; then
	aim_fail content_policy "no answer at all (how cn ends a turn the model refused)"
fi
# One jq prints, as shell assignments (@sh): "ok" when the last object
# says "status": "success", and "extra", the normalised content (lib.sh):
# the response.
ok='' extra=''
eval "$(aim_jq -rs '
    def put($k; $v): "\($k)=\($v | @sh)";
    if ([.[] | objects | .status == "success"] | last)
    then put("ok"; "yes") else empty end,
    (try put("extra"; [.[] | {response: (.response // "" | tostring
        | .[0:4096])} | tojson + "\n"] | add // "") catch empty)' \
    "$AIM_OUT" 2>/dev/null)"
if [ "$AIM_RC" -ne 0 ] || [ -z "$ok" ]; then
	detail=$(cat "$AIM_ERR" "$AIM_OUT" | aim_jq -nRr '[inputs | fromjson?
	    | objects | select(.status == "error") | .message | strings]
	    | last // empty' 2>/dev/null)
	aim_fail_run "$(aim_flat "$detail")"
fi
printf '%s' "$extra" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
