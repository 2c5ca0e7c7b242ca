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
#   MultiEdit tool calls in the stream count as edits (tool_calls); the
#   changes come from the whole working tree (lib.sh).  CLAUDE_CODE_MAX_RETRIES
#   defaults to 2 so that a bad key fails in seconds, not after ten retries.
# version: claude --version
# Failures mapped (lib.sh, from the result text, else stderr, else stdout):
#   "Not logged in · Please run /login", "Invalid API key", api_error_status
#   401/403 -> auth; "Claude AI usage limit reached", "Credit balance is too
#   low" -> quota; 429, "rate limit" -> rate_limit; "Prompt is too long" ->
#   context_too_long; "appears to violate our Usage Policy", "Output blocked
#   by content filtering policy" -> content_policy; 400, 404 (unknown model)
#   -> bad_request; 5xx, 529 overloaded, network errors -> transient; killed
#   at the time budget -> timeout, unless it was waiting out an error.
#   The wait of the last {"type":"system","subtype":"api_retry",
#   "retry_delay_ms":N} event, else "Retry-After: N" and the like in the
#   texts, give retry_after_ms.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

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

# One jq reads the stream and prints, as shell assignments (@sh):
#   extra     the normalised content (lib.sh): response, session_id,
#             model, usage, cost_usd, tool_calls; the files Write, Edit,
#             MultiEdit and NotebookEdit changed ({} when the stream
#             cannot be read so)
#   retry_ms  the wait of the last api_retry event
#   result    "ok" or "error" ({"type":"result"} and its is_error), none
#             when there is no result event
#   detail    what the result says (with its HTTP status), else what the
#             last api_retry event waited on
#   last      with no result, the last event's type and subtype: how far
#             a run killed at its budget got
# No stream (the tool died before its first event): nothing to read, and
# no result, so a failure whose extra goes unused: no jq.
extra='{}' retry_ms='' result='' detail='' last=''
[ ! -s "$AIM_OUT" ] || eval "$(aim_jq -nRr --arg pwd "$(pwd)/" '
    def chomp: until(endswith("\n") | not; .[:-1]);
    def put($k; $v): "\($k)=\($v | @sh)";
    [inputs | fromjson? | objects] as $ev
    | ($ev | map(select(.type == "result")) | last) as $res
    | (try ([$ev[] | select(.type == "user") | .message.content[]?
       | objects | select(.type? == "tool_result")] as $results
    | [$ev[] | select(.type == "assistant") | .message.content[]?
       | objects | select(.type? == "tool_use")] as $calls
    | ($results | map({key: .tool_use_id, value: .}) | from_entries)
      as $res_by_id
    | [$calls[] | select(.name | IN("Write", "Edit", "MultiEdit",
                                     "NotebookEdit"))] as $edits
    | [$edits[] | select($res_by_id[.id].is_error == true
                         or $res_by_id[.id] == null)] as $edits_failed
    | [$edits[] | select($res_by_id[.id] != null
                         and $res_by_id[.id].is_error != true)
       | {path: (.input.file_path // .input.notebook_path // ""),
          created: ($res_by_id[.id].content | if type == "array"
                    then map(.text? // "") | join("") else tostring end
                    | test("^File created"))}] as $changes
    | ($ev | map(select(.type == "system" and .subtype == "init")) | last)
      as $init
    | ([$ev[] | select(.type == "assistant") | .message.model | strings]
       | last) as $model
    | ($ev | map(select(.type == "system" and .subtype == "api_retry"))
       | last) as $retry
    | {response: ($res.result // "" | tostring | .[0:4096]),
       session_id: ($res.session_id // $init.session_id),
       model: ($model // $init.model),
       usage: (($res.usage | objects
               | {input_tokens: ((.input_tokens // 0)
                    + (.cache_creation_input_tokens // 0)
                    + (.cache_read_input_tokens // 0)),
                  output_tokens: (.output_tokens // 0),
                  cached_input_tokens: (.cache_read_input_tokens // 0)})
               // null),
       cost_usd: (($res.total_cost_usd | numbers) // null),
       tool_calls: {total: ($calls | length),
                    failed: ([$results[] | select(.is_error == true)]
                             | length),
                    edits: ($edits | length),
                    edits_failed: ($edits_failed | length)},
       files_modified: [$changes[] | select(.created | not) | .path],
       files_created: [$changes[] | select(.created) | .path],
       retry: (($retry | objects | {status: .error_status,
                                     error: .error,
                                     attempt: .attempt,
                                     delay_ms: .retry_delay_ms}) // null)}
    | with_entries(select(.value != null))) catch {}) as $x
    | put("extra"; $x | del(.retry) | tojson),
      ($x.retry.delay_ms | numbers | floor | put("retry_ms"; tostring)),
      if $res == null then
        # No result: killed, or it died; the last retry says what it
        # waited on.
        ($x.retry | objects | put("detail"; (if .status then
            "HTTP \(.status): " else "" end)
            + "\(.error // "error"), retrying" | chomp)),
        ($ev | last | objects | put("last";
            [.type, .subtype] | map(strings) | join(" ")))
      else
        put("result"; if $res.is_error == true then "error" else "ok" end),
        put("detail"; ((($res.api_error_status | numbers | "HTTP \(.): ")
            // "") + ($res.result | tostring)) | chomp)
      end' "$AIM_OUT" 2>/dev/null)"
if [ -z "$result" ]; then
	# Without a retry or stderr to tell, the stream's last event says how
	# far it got (its name, not 400 bytes of it).
	[ -n "$detail" ] || [ -s "$AIM_ERR" ] || [ -z "$last" ] ||
	    detail="no result; the last event: $last"
	aim_fail_run "$(aim_flat "$detail")" "" "$retry_ms"
fi
if [ "$AIM_RC" -ne 0 ] || [ "$result" = error ]; then
	aim_fail_run "$(aim_flat "$detail")" "" "$retry_ms"
fi
printf '%s\n' "$extra" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
