#!/bin/sh
# AIM_pi.sh - AIM_INTEGRATION_V1 adapter for pi, the coding agent
# (npm @mariozechner/pi-coding-agent, command "pi").
#
# code_generation, refactoring:
#   pi --offline -p --mode json [--model PROVIDER/MODEL] <prompt
#   Print mode; the prompt comes on stdin; --offline: no update check or
#   telemetry at start.  Its tools (read, write, edit, bash) ask for no
#   approval.  The model is the settings' (~/.pi/agent/settings.json
#   defaultProvider and defaultModel; a provider of one's own, any
#   OpenAI-compatible base URL, is in ~/.pi/agent/models.json: {"providers":
#   {NAME: {"baseUrl", "api": "openai-completions", "apiKey", "models":
#   [{"id"}]}}}; PI_CODING_AGENT_DIR moves both), or AIM_PI_MODEL when set.
#   stdout is JSON events: session (id), message_end (message.role
#   assistant: content, model, usage {input, output, cacheRead,
#   cacheWrite, cost.total}, stopReason, errorMessage), tool_execution_start
#   (toolName, args.path) and tool_execution_end (isError).  A failed
#   model call exits 0: its last assistant message has stopReason "error".
# version: pi --version
# Failures mapped (lib.sh, from errorMessage, else stderr, else stdout):
#   "401 ...", "API key" texts -> auth; 429 -> rate_limit ("try again in
#   20s" gives retry_after_ms); quota texts -> quota; 5xx, network errors
#   -> transient; killed at the time budget -> timeout.  A run whose every
#   edit tool call failed is a failure (bad_request).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init pi
case $AIM_CAP in
version) aim_version pi --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command pi
aim_prompt
aim_snapshot
set -- pi --offline -p --mode json
[ -z "${AIM_PI_MODEL:-}" ] || set -- "$@" --model "$AIM_PI_MODEL"
aim_run "$AIM_TMP/prompt.txt" "$@"

# The normalised content (lib.sh) from the events: the last assistant
# message (response, model, stopReason, errorMessage), every assistant
# message's usage and cost, the tool calls (write and edit are the edits).
aim_jq -nRc '[inputs | fromjson? | objects] as $ev
    | [$ev[] | select(.type == "message_end") | .message
       | select(.role == "assistant")] as $said
    | ($said | last) as $last
    | [$ev[] | select(.type == "tool_execution_start")] as $calls
    | ([$ev[] | select(.type == "tool_execution_end")
        | {key: .toolCallId, value: .isError}] | from_entries) as $failed
    | [$calls[] | select(.toolName | IN("write", "edit"))] as $edits
    | {response: ($last.content // [] | map(select(.type == "text")
                  | .text) | join("") | .[0:4096]),
       session_id: ([$ev[] | select(.type == "session") | .id] | first),
       model: $last.model,
       usage: {input_tokens: ($said | map(.usage | (.input // 0)
                  + (.cacheRead // 0) + (.cacheWrite // 0)) | add // 0),
               output_tokens: ($said | map(.usage.output // 0) | add // 0),
               cached_input_tokens: ($said | map(.usage.cacheRead // 0)
                  | add // 0)},
       cost_usd: ($said | map(.usage.cost.total // 0) | add // 0),
       tool_calls: {total: ($calls | length),
                    failed: ([$failed[] | select(. != false)] | length),
                    edits: ($edits | length),
                    edits_failed: ([$edits[]
                                    | select($failed[.toolCallId] != false)]
                                   | length)},
       files_modified: [$edits[] | select($failed[.toolCallId] == false
                                          and .toolName == "edit")
                        | .args.path | strings],
       stop: $last.stopReason,
       error: $last.errorMessage}
    | with_entries(select(.value != null))' \
    "$AIM_OUT" >"$AIM_TMP/extra.json" 2>/dev/null
[ -s "$AIM_TMP/extra.json" ] || echo '{}' >"$AIM_TMP/extra.json"

if [ "$AIM_RC" -ne 0 ] ||
    ! aim_jq -e '.stop | IN("stop", "length", "toolUse")' \
    "$AIM_TMP/extra.json" >/dev/null; then
	aim_fail_run "$(aim_flat "$(aim_jq -r '.error // empty' \
	    "$AIM_TMP/extra.json")")"
fi
aim_jq 'del(.stop, .error)' "$AIM_TMP/extra.json" >"$AIM_TMP/extra2.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra2.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
