#!/bin/sh
# AIM_claude.sh - AIM_INTEGRATION_V1 adapter for Claude Code
# (npm @anthropic-ai/claude-code, command "claude").
#
# code_generation, refactoring:
#   claude -p --output-format stream-json --verbose
#       --permission-mode acceptEdits <prompt
#   Headless print mode; the prompt (with the file list and context) comes on
#   stdin; file edits are accepted, anything else needing permission is
#   refused.  The last stream event, {"type":"result"}, has is_error,
#   api_error_status and result (the response); successful Write, Edit and
#   MultiEdit tool calls in the stream name the files changed, added to what
#   comparing payload.files before and after shows.  CLAUDE_CODE_MAX_RETRIES
#   defaults to 2 so that a bad key fails in seconds, not after ten retries.
# version: claude --version
# Failures mapped (lib.sh, from the result text, else stderr, else stdout):
#   "Not logged in · Please run /login", "Invalid API key", api_error_status
#   401/403 -> auth; "Claude AI usage limit reached", "Credit balance is too
#   low" -> quota; 429, "rate limit" -> rate_limit; "Prompt is too long" ->
#   context_too_long; "appears to violate our Usage Policy", "Output blocked
#   by content filtering policy" -> content_policy; 400, 404 (unknown model)
#   -> bad_request; 5xx, 529 overloaded, network errors -> transient; killed
#   at the time budget -> timeout.  "Retry-After: N" and the like in the
#   texts give retry_after_ms.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

aim_init claude
case $AIM_CAP in
version) aim_version claude --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command claude
aim_prompt
aim_snapshot
CLAUDE_CODE_MAX_RETRIES=${CLAUDE_CODE_MAX_RETRIES:-2}
export CLAUDE_CODE_MAX_RETRIES
aim_run "$AIM_TMP/prompt.txt" claude -p --output-format stream-json \
    --verbose --permission-mode acceptEdits

jq -nR '[inputs | fromjson? | objects | select(.type == "result")] | last
    // empty' "$AIM_OUT" >"$AIM_TMP/result.json" 2>/dev/null
[ -s "$AIM_TMP/result.json" ] || aim_fail_run ""
if [ "$AIM_RC" -ne 0 ] ||
    jq -e '.is_error == true' "$AIM_TMP/result.json" >/dev/null; then
	detail=$(jq -r '((.api_error_status | numbers | "HTTP \(.): ") // "")
	    + (.result | tostring)' "$AIM_TMP/result.json")
	aim_fail_run "$(aim_flat "$detail")"
fi
jq -nRc --arg pwd "$(pwd)/" '[inputs | fromjson? | objects] as $ev
    | [$ev[] | select(.type == "user") | .message.content[]?
       | select(.type? == "tool_result")] as $results
    | [$ev[] | select(.type == "assistant") | .message.content[]?
       | select(.type? == "tool_use"
           and (.name | IN("Write", "Edit", "MultiEdit", "NotebookEdit")))
       | .id as $id
       | ($results | map(select(.tool_use_id == $id)) | first) as $r
       | select($r != null and $r.is_error != true)
       | {path: (.input.file_path // .input.notebook_path // ""
                | ltrimstr($pwd)),
          created: ($r.content | if type == "array"
                    then map(.text? // "") | join("") else tostring end
                    | test("^File created"))}] as $changes
    | ($ev | map(select(.type == "result")) | last) as $res
    | {response: ($res.result | tostring | .[0:4096]),
       session_id: $res.session_id, cost_usd: $res.total_cost_usd,
       files_modified: [$changes[] | select(.created | not) | .path],
       files_created: [$changes[] | select(.created) | .path]}' \
    "$AIM_OUT" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
