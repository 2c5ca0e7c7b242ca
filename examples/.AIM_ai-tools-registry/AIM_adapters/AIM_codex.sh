#!/bin/sh
# AIM_codex.sh - AIM_INTEGRATION_V1 adapter for the OpenAI Codex CLI
# (npm @openai/codex, command "codex").
#
# code_generation, refactoring:
#   codex exec --json --color never --skip-git-repo-check --ephemeral
#       --sandbox workspace-write - <prompt
#   Non-interactive exec; the prompt comes on stdin ("-"); commands run in
#   the workspace-write sandbox; --json gives JSONL events: the last
#   agent_message is the response, thread.started's thread_id the
#   session, turn.completed's usage the tokens, file_change items the
#   edits, turn.failed carries the error.
#   Before that, "codex login status" (offline, instant) must succeed or
#   CODEX_API_KEY / OPENAI_API_KEY be set: otherwise codex would sit
#   retrying the network until the timeout.
# version: codex --version
# Failures mapped (lib.sh, from turn.failed / error, else stderr, else
#   stdout): "Not logged in", "unexpected status 401 Unauthorized", "You
#   are not allowed to sample from this model" (its words for a 403) ->
#   auth; "You've hit your usage limit", "exceeded your current quota",
#   insufficient_quota -> quota; "429 Too Many Requests", "rate limit" ->
#   rate_limit; "exceeds the context window", "ran out of room in the
#   model's context window", context_length_exceeded -> context_too_long;
#   "rejected ... safety system", "content policy", and a turn completed
#   with no message and no tool call (codex drops the model's refusal
#   and ends the turn so, exit 0) -> content_policy; "stream
#   disconnected", "waiting for network", 5xx -> transient; killed at the
#   time budget -> timeout.  "Please try again in 20s" and the like give
#   retry_after_ms.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init codex
case $AIM_CAP in
version) aim_version codex --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command codex
aim_prompt
if [ -z "${CODEX_API_KEY:-}${OPENAI_API_KEY:-}" ]; then
	aim_run /dev/null codex login status
	if [ "$AIM_RC" -ne 0 ]; then
		aim_fail_run "Not logged in (run 'codex login' or set CODEX_API_KEY or OPENAI_API_KEY)"
	fi
fi
aim_snapshot
aim_run "$AIM_TMP/prompt.txt" codex exec --json --color never \
    --skip-git-repo-check --ephemeral --sandbox workspace-write -

# The normalised content (lib.sh).  codex names no model in its events:
# the top-level "model" of $CODEX_HOME/config.toml when set.  A patch that
# fails leaves no item, only a log line on stderr ("apply_patch
# verification failed"), counted as a failed edit.
model=$(sed -n -e '/^\[/q' -e 's/^[[:space:]]*model[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' \
    "${CODEX_HOME:-$HOME/.codex}/config.toml" 2>/dev/null | head -n 1)
bad_patches=$(grep -c 'apply_patch verification failed' "$AIM_ERR")
# One jq prints, as shell assignments (@sh): "completed" when a turn
# completed; "silent" when it completed with no message, no tool call
# and no failed patch (codex 0.169 drops a refusal part of the model's
# answer and completes the turn so); "detail", the last turn.failed's
# error, else the last error's message ("detail_json" when not a string,
# printed by jq -r as before); "extra", that content (none when it cannot
# be made).
completed='' silent='' detail='' detail_json='' extra=''
eval "$(aim_jq -nRr --arg model "$model" --argjson bad "${bad_patches:-0}" '
    def chomp: until(endswith("\n") | not; .[:-1]);
    def put($k; $v): "\($k)=\($v | @sh)";
    [inputs | fromjson? | objects]
    | if any(.type == "turn.completed") then put("completed"; "yes")
      else empty end,
      (if any(.type == "turn.completed") and $bad == 0
          and all(.[]; .type != "item.completed"
                  or (.item.type | IN("reasoning", "todo_list")))
       then put("silent"; "yes") else empty end),
      (try ((map(select(.type == "turn.failed") | .error.message) | last)
       // (map(select(.type == "error") | .message) | last) // empty
       | if type == "string" then put("detail"; chomp)
         else put("detail_json"; tojson) end) catch empty),
      (try (map(select(.type == "item.completed") | .item) as $items
    | ($items | map(select(.type == "file_change"))) as $patches
    | [$patches[] | select(.status == "completed") | .changes[]?] as $ch
    | [$items[] | select(.type | IN("file_change", "command_execution",
        "mcp_tool_call", "web_search"))] as $calls
    | (map(select(.type == "turn.completed") | .usage | objects)) as $u
    | {response: ($items | map(select(.type == "agent_message") | .text)
                  | last // "" | .[0:4096]),
       session_id: (map(select(.type == "thread.started") | .thread_id)
                    | last),
       model: (if $model == "" then null else $model end),
       usage: (if $u == [] then null else
               {input_tokens: ($u | map(.input_tokens // 0) | add),
                output_tokens: ($u | map(.output_tokens // 0) | add),
                cached_input_tokens: ($u | map(.cached_input_tokens // 0)
                                      | add)} end),
       tool_calls: {total: (($calls | length) + $bad),
                    failed: (([$calls[] | select(.status == "failed"
                                or ((.exit_code | numbers) // 0) != 0)]
                              | length) + $bad),
                    edits: (($patches | length) + $bad),
                    edits_failed: (([$patches[]
                                     | select(.status == "failed")]
                                    | length) + $bad)},
       files_modified: [$ch[] | select(.kind != "add" and .kind != "delete")
                        | .path],
       files_created: [$ch[] | select(.kind == "add") | .path],
       files_deleted: [$ch[] | select(.kind == "delete") | .path]}
    | with_entries(select(.value != null)) | put("extra"; tojson))
       catch empty)' "$AIM_OUT" 2>/dev/null)"
if [ "$AIM_RC" -ne 0 ] || [ -z "$completed" ]; then
	[ -z "$detail_json" ] ||
	    detail=$(printf '%s\n' "$detail_json" | aim_jq -r .)
	aim_fail_run "$(aim_flat "$detail")"
fi
# Nothing said and nothing done is how codex shows a refusal: not worth a
# retry on codex, and no fault of its own (aim-adapter(7) Standard output).
[ -z "$silent" ] || aim_fail_run "no answer and no tool call (how codex ends a turn the model refused)" content_policy
printf '%s' "$extra${extra:+
}" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
