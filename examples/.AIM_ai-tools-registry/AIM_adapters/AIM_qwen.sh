#!/bin/sh
# AIM_qwen.sh - AIM_INTEGRATION_V1 adapter for Qwen Code
# (npm @qwen-code/qwen-code, command "qwen").
#
# code_generation, refactoring:
#   qwen --output-format stream-json --approval-mode auto-edit <prompt
#   Headless mode; the prompt comes on stdin; file edits are approved,
#   anything else needing approval is refused.  The model and endpoint
#   come from ~/.qwen/settings.json or from OPENAI_BASE_URL,
#   OPENAI_API_KEY and OPENAI_MODEL (any OpenAI-compatible endpoint).
#   stdout is JSONL like Claude Code's stream-json: a system init line
#   (session_id, model), assistant lines with tool_use and text, user
#   lines with tool_result (is_error), and a last {"type":"result"} with
#   is_error, result (the response), usage (input_tokens, output_tokens,
#   cache_read_input_tokens) and error.message.
# version: qwen --version
# Failures mapped (lib.sh, from the result's error, else stderr, else
#   stdout): "[API Error: 401 ...]", "API key" texts -> auth; 429 ->
#   rate_limit (after qwen's own retries; the note "Possible quota
#   limitations in place ..." it adds to every 429 is dropped), a wait in
#   the provider's text -> retry_after_ms; quota texts -> quota; context
#   texts -> context_too_long; 400/404 -> bad_request; 5xx, network
#   errors -> transient; killed at the time budget -> timeout.  A run
#   whose every edit tool call failed, no file changed, is bad_request.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init qwen
case $AIM_CAP in
version) aim_version qwen --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command qwen
aim_prompt
aim_snapshot
aim_run "$AIM_TMP/prompt.txt" qwen --output-format stream-json \
    --approval-mode auto-edit

# One jq prints, as shell assignments (@sh): "result" ("ok" or "error",
# from the last {"type":"result"} and its is_error; none without one),
# "detail" (its error message, else its result, less qwen's own note
# under every 429, which would read as quota) and "extra", the normalised
# content (lib.sh; none when it cannot be made).
result='' detail='' extra=''
eval "$(aim_jq -nRr --arg pwd "$(pwd)/" '
    def chomp: until(endswith("\n") | not; .[:-1]);
    def put($k; $v): "\($k)=\($v | @sh)";
    [inputs | fromjson? | objects] as $ev
    | ($ev | map(select(.type == "result")) | last) as $res
    | if $res == null then empty else
        put("result"; if $res.is_error == true then "error" else "ok" end),
        (try ($res | put("detail"; .error.message // .result // ""
         | tostring
         | sub("\\s*Possible quota limitations in place or slow response"
               + " times detected\\.[^\n]*"; "") | chomp)) catch empty)
      end,
      (try ([$ev[] | select(.type == "user") | .message.content[]?
       | select(.type? == "tool_result")] as $results
    | [$ev[] | select(.type == "assistant") | .message.content[]?
       | select(.type? == "tool_use") | .id as $id
       | . + {error: ($results | map(select(.tool_use_id == $id)) | first
                      | .is_error == true)}] as $tools
    | [$tools[] | select(.name | IN("write_file", "edit", "notebook_edit"))]
      as $writes
    | ($ev | map(select(.type == "system")) | first // {}) as $init
    | {response: ($res.result // "" | tostring | .[0:4096]),
       session_id: $res.session_id, model: $init.model,
       usage: {input_tokens: ($res.usage.input_tokens // 0),
               output_tokens: ($res.usage.output_tokens // 0),
               cached_input_tokens: ($res.usage.cache_read_input_tokens
                                     // 0)},
       tool_calls: {total: ($tools | length),
                    failed: ($tools | map(select(.error)) | length),
                    edits: ($writes | length),
                    edits_failed: ($writes | map(select(.error)) | length)},
       files_modified: [$writes[] | select(.error | not)
                        | .input.file_path // empty | ltrimstr($pwd)]}
    | put("extra"; tojson)) catch empty)' "$AIM_OUT" 2>/dev/null)"
[ -n "$result" ] || aim_fail_run ""
if [ "$AIM_RC" -ne 0 ] || [ "$result" = error ]; then
	aim_fail_run "$(aim_flat "$detail")"
fi
printf '%s' "$extra${extra:+
}" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
