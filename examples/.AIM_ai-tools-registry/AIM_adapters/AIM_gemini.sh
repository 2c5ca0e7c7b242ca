#!/bin/sh
# AIM_gemini.sh - AIM_INTEGRATION_V1 adapter for the Gemini CLI
# (npm @google/gemini-cli, command "gemini").
#
# code_generation, refactoring:
#   gemini --skip-trust --approval-mode auto_edit --output-format stream-json
#       -p "" <prompt
#   Headless mode; the prompt comes on stdin (-p "" only selects headless
#   mode, its text is appended to stdin); --skip-trust because headless runs
#   in an untrusted folder otherwise stop with exit 55; auto_edit approves
#   file edits only: its shell tool (deletes, shell edits) is offered only
#   where the user's own policy allows it, a rule with toolName =
#   "run_shell_command" and decision = "allow" in ~/.gemini/policies/*.toml
#   (with no policy a headless run does not offer it).  stdout: one JSON event a line, the last
#   {"type":"result","status":"success"|"error",...}.
# version: gemini --version
# Failures: the result event's error, else the last error event, else the
#   {"error": {"type", "message", "code"}} object on stderr.  Mapped:
#   "Please set an Auth method", "Invalid auth method selected." (exit 41),
#   "must specify the GEMINI_API_KEY environment variable", "API key not
#   valid", code 401/403 -> auth; "exceeded your current quota", "Quota
#   exceeded" (not per minute) -> quota; 429, RESOURCE_EXHAUSTED,
#   per-minute quotas, RetryableQuotaError -> rate_limit; "input
#   token count ... exceeds the maximum number of tokens" ->
#   context_too_long; "blocked due to SAFETY", blockReason -> content_policy;
#   "not running in a trusted directory", 400 INVALID_ARGUMENT ->
#   bad_request; 5xx, network errors, "Model stream ended without a
#   finish reason" (a stream cut short, exit 0) -> transient; killed at the time
#   budget -> timeout, or the class of what it last said (gemini ignores
#   Retry-After and retries up to "general.maxAttempts" times, 10 by
#   default, which may not fit the budget).  "Please retry in 12.5s" gives
#   retry_after_ms.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

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
    --output-format stream-json -p ""

# The normalised content (lib.sh) from the stream: init (session_id,
# model), assistant messages after the last tool call (response),
# tool_use / tool_result (tool_calls; write_file and replace are the
# edits), result (status, error, stats: tokens).  The model is init's
# unless that is "auto", else the one with the most input tokens.  One jq
# prints, as shell assignments (@sh), that content ("extra", {} when the
# stream cannot be read so) less status and error, "ok" when the status
# is "success", and "error", what the result or the last error event
# says ("error_json" when that is not a string, printed by jq -r as
# before).
extra='{}' ok='' error='' error_json=''
eval "$(aim_jq -nRr '
    def chomp: until(endswith("\n") | not; .[:-1]);
    def put($k; $v): "\($k)=\($v | @sh)";
    (try ([inputs | fromjson? | objects] as $ev
    | ($ev | map(select(.type == "init")) | last) as $init
    | ($ev | map(select(.type == "result")) | last) as $res
    | [$ev[] | select(.type == "tool_use")] as $calls
    | ([$ev[] | select(.type == "tool_result")
        | {key: .tool_id, value: .}] | from_entries) as $rs
    | [$calls[] | select(.tool_name | IN("write_file", "replace",
                                          "edit"))] as $edits
    | ([$ev | to_entries[] | select(.value.type == "tool_result") | .key]
       | last // -1) as $lastcall
    | ($res.stats.models // {} | to_entries | sort_by(.key)
       | max_by(.value.input_tokens)
       | .key) as $busiest
    | {response: ([$ev | to_entries[]
                   | select(.key > $lastcall and .value.type == "message"
                            and .value.role == "assistant")
                   | .value.content | strings] | join("") | .[0:4096]),
       session_id: $init.session_id,
       model: (if ($init.model // "auto") | test("^auto")
               then $busiest else $init.model end),
       usage: (($res.stats | objects
                | {input_tokens: (.input_tokens // 0),
                   output_tokens: (.output_tokens // 0),
                   cached_input_tokens: (.cached // 0)}) // null),
       tool_calls: {total: ($calls | length),
                    failed: ([$rs[] | select(.status == "error")]
                             | length),
                    edits: ($edits | length),
                    edits_failed: ([$edits[]
                                    | select($rs[.tool_id].status != "success")]
                                   | length)},
       files_modified: [$edits[] | select($rs[.tool_id].status == "success")
                        | .parameters.file_path | strings],
       status: $res.status,
       error: (($res.error.message // ([$ev[] | select(.type == "error"
                   and .severity == "error") | .message] | last)) // null)}
    | with_entries(select(.value != null))) catch {}) as $x
    | put("extra"; $x | del(.status, .error) | tojson),
      (if $x.status == "success" then put("ok"; "yes") else empty end),
      ($x.error // empty | if type == "string" then put("error"; chomp)
       else put("error_json"; tojson) end)' \
    "$AIM_OUT" 2>/dev/null)"

if [ "$AIM_RC" -ne 0 ] || [ -z "$ok" ]; then
	# The result's error, else the last error event, else the error object
	# on stderr (whose message may itself be the API's JSON error).
	detail=$error
	[ -z "$error_json" ] || detail=$(printf '%s\n' "$error_json" | aim_jq -r .)
	[ -n "$detail" ] || detail=$(sed -n '/^{/,$p' "$AIM_ERR" | aim_jq -rs '
	    map(objects | .error | objects) | last // empty
	    | (if (.code | type) == "number" and .code >= 100
	       then "code \(.code): " else "" end)
	      + ((.message | fromjson? | .error.message) // .message
	         | tostring)' 2>/dev/null)
	aim_fail_run "$(aim_flat "$detail")"
fi
printf '%s\n' "$extra" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
