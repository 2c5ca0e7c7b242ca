#!/bin/sh
# AIM_copilot.sh - AIM_INTEGRATION_V1 adapter for the GitHub Copilot CLI
# (npm @github/copilot, command "copilot").
#
# code_generation, refactoring:
#   copilot --output-format json --allow-all-tools --no-ask-user
#       --no-auto-update --no-color --log-dir DIR --log-level warning
#       --usage-output-file FILE <prompt
#   Non-interactive mode reads the prompt from stdin; --allow-all-tools is
#   required there (file access stays inside the working directory: no
#   --allow-all-paths, no --allow-all-urls).  stdout is JSONL events:
#   assistant.message (the last one's content is the response),
#   tool.execution_complete (success, fileEdits [{path, kind}]),
#   session.error (errorType, statusCode, message) and a closing
#   {"type":"result", sessionId, exitCode, usage.codeChanges}.  The usage
#   file has the tokens per model (modelMetrics.*.usage).  The warning log
#   has the provider's Retry-After ("retry_after_ms":N), which the events
#   do not; it wins over a wait named in the error text.  Without a GitHub
#   login, COPILOT_PROVIDER_BASE_URL (with COPILOT_MODEL,
#   COPILOT_PROVIDER_TYPE, COPILOT_PROVIDER_API_KEY) points it at any
#   OpenAI-compatible or Anthropic endpoint (BYOK).
# version: copilot --version
# Failures mapped (lib.sh, from session.error, else stderr, else stdout):
#   "No authentication information found", errorType authentication, HTTP
#   401/403 -> auth; errorType rate_limit, HTTP 429 -> rate_limit (after
#   copilot's own 5 retries); quota texts -> quota; "context window is
#   full" -> context_too_long; HTTP 5xx, network errors -> transient; HTTP
#   400/404 -> bad_request; killed at the time budget -> timeout.  A run
#   whose every edit tool call failed is a failure (bad_request).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init copilot
case $AIM_CAP in
version) aim_version copilot --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command copilot
aim_prompt
aim_snapshot
aim_run "$AIM_TMP/prompt.txt" copilot --output-format json --allow-all-tools \
    --no-ask-user --no-auto-update --no-color --log-dir "$AIM_TMP/log" \
    --log-level warning --usage-output-file "$AIM_TMP/usage.json"

events='[inputs | fromjson? | objects]'
# The provider's last Retry-After, from the log.
retry=$(cat "$AIM_TMP"/log/*.log 2>/dev/null |
    sed -n 's/.*"retry_after_ms":\([0-9][0-9]*\).*/\1/p' | tail -n 1)
if grep -q 'No authentication information found' "$AIM_ERR"; then
	aim_fail_run "not logged in: No authentication information found (log in, set COPILOT_GITHUB_TOKEN, or COPILOT_PROVIDER_BASE_URL for a provider of your own)" auth
fi
[ -s "$AIM_TMP/usage.json" ] || echo '{}' >"$AIM_TMP/usage.json"
# One jq prints, as shell assignments (@sh): "failed" when there is a
# session.error event, "detail" what the last one says, "last" the last
# event's type (how far a run killed at its budget got), and "extra", the
# normalised content (lib.sh; none when it cannot be made, nor when the
# usage file is not JSON: then a second jq, without it).
failed='' detail='' last='' extra=''
# shellcheck disable=SC2016
stream=$events'
    | def chomp: until(endswith("\n") | not; .[:-1]);
      def put($k; $v): "\($k)=\($v | @sh)";
      if any(.type == "session.error") then put("failed"; "yes")
      else empty end,
      (try (map(select(.type == "session.error") | .data) | last // empty
       | ((.statusCode | numbers | "HTTP \(.): ") // "")
         + (.message | tostring) | put("detail"; chomp)) catch empty),
      (last | objects | .type | strings | put("last"; .)),
      (if $usable then try ((map(select(.type == "tool.execution_start") | .data
           | {key: .toolCallId, value: .toolName}) | from_entries) as $names
    | (map(select(.type == "tool.execution_complete") | .data
           | . + {name: $names[.toolCallId]})) as $tools
    | [$tools[] | select(.name | IN("create", "edit"))] as $writes
    | [$tools[] | select(.success == true) | .fileEdits[]?
       | .path |= ltrimstr($pwd)] as $edits
    | (map(select(.type == "result")) | last // {}) as $res
    | ($usage[0].modelMetrics // {} | [.[] | .usage]) as $u
    | {response: (map(select(.type == "assistant.message")
                  | .data.content | strings | select(length > 0))
                  | last // "" | .[0:4096]),
       session_id: $res.sessionId,
       model: $usage[0].currentModel,
       usage: {input_tokens: ($u | map(.inputTokens // 0) | add // 0),
               output_tokens: ($u | map(.outputTokens // 0) | add // 0),
               cached_input_tokens:
                 ($u | map(.cacheReadTokens // 0) | add // 0)},
       tool_calls: {total: ($tools | length),
                    failed: ($tools | map(select(.success != true))
                             | length),
                    edits: ($writes | length),
                    edits_failed: ($writes | map(select(.success != true))
                                   | length)},
       files_modified: [$edits[] | select(.kind != "create"
                                          and .kind != "delete") | .path],
       files_created: [$edits[] | select(.kind == "create") | .path],
       files_deleted: [$edits[] | select(.kind == "delete") | .path]}
    | put("extra"; tojson)) catch empty else empty end)'
sh=$(aim_jq -nRr --arg pwd "$(pwd)/" --slurpfile usage "$AIM_TMP/usage.json" \
    --argjson usable true "$stream" "$AIM_OUT" 2>/dev/null) ||
    sh=$(aim_jq -nRr --arg pwd "$(pwd)/" --slurpfile usage /dev/null \
    --argjson usable false "$stream" "$AIM_OUT" 2>/dev/null)
eval "$sh"
if [ "$AIM_RC" -ne 0 ] || [ -n "$failed" ]; then
	# Without an error event or stderr to tell, the last event's name,
	# not 400 bytes of it.
	[ -n "$detail" ] || [ -s "$AIM_ERR" ] || [ -z "$last" ] ||
	    detail="no result; the last event: $last"
	# The header's wait wins over a wait named in the text.
	aim_fail_run "$(aim_flat "$detail")" "" "$retry"
fi
printf '%s' "$extra${extra:+
}" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
