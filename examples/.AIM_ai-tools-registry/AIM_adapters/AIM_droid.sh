#!/bin/sh
# AIM_droid.sh - AIM_INTEGRATION_V1 adapter for Factory's Droid CLI
# (npm droid, command "droid"; the binary is the package
# @factory/cli-linux-x64 or its kin).
#
# code_generation, refactoring:
#   droid exec --auto low -o stream-json [-m MODEL] <prompt
#   Non-interactive run; the prompt comes on stdin; --auto low lets it
#   create and edit files (the default is read-only).  The model is
#   Factory's (a login or FACTORY_API_KEY), or AIM_DROID_MODEL when set:
#   "custom:MODEL" names a model of one's own in ~/.factory/settings.json,
#   {"customModels": [{"model", "baseUrl", "apiKey", "provider":
#   "generic-chat-completion-api" | "openai" | "anthropic"}]}, which needs
#   no login.  stdout is JSON events: system init (session_id, model),
#   tool_call (toolName, parameters.file_path), tool_result (isError),
#   message (role assistant, text), completion (finalText, usage
#   {input_tokens without the cached ones, output_tokens,
#   cache_read_input_tokens, cache_creation_input_tokens}) and error
#   (message; the last one says "Exec failed").
# version: droid --version
# Failures mapped (lib.sh, from the error events, else stderr, else
#   stdout): "Authentication failed. Please log in", "401 ..." -> auth;
#   "429 ..." -> rate_limit (after droid's own four retries, about 85 s; a
#   wait named in the text, "try again in 20s", gives retry_after_ms);
#   quota texts -> quota; 5xx, network errors -> transient; killed at the
#   time budget -> timeout.  A run whose every edit tool call failed is a
#   failure (bad_request).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init droid
case $AIM_CAP in
version) aim_version droid --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command droid
aim_prompt
aim_snapshot
set -- droid exec --auto low -o stream-json
[ -z "${AIM_DROID_MODEL:-}" ] || set -- "$@" -m "$AIM_DROID_MODEL"
aim_run "$AIM_TMP/prompt.txt" "$@"

# The normalised content (lib.sh) from the events; Edit, Create and
# ApplyPatch are the edits.
aim_jq -nRc '[inputs | fromjson? | objects] as $ev
    | ($ev | map(select(.type == "system" and .subtype == "init")) | last)
      as $init
    | ($ev | map(select(.type == "completion")) | last) as $done
    | [$ev[] | select(.type == "tool_call")] as $calls
    | ([$ev[] | select(.type == "tool_result")
        | {key: .id, value: .isError}] | from_entries) as $failed
    | [$calls[] | select(.toolName | IN("Edit", "Create", "ApplyPatch"))]
      as $edits
    | {response: (($done.finalText // ([$ev[] | select(.type == "message"
                   and .role == "assistant") | .text] | last) // "")
                  | tostring | .[0:4096]),
       session_id: ($done.session_id // $init.session_id),
       model: $init.model,
       usage: (($done.usage | objects
                | {input_tokens: ((.input_tokens // 0)
                     + (.cache_read_input_tokens // 0)
                     + (.cache_creation_input_tokens // 0)),
                   output_tokens: (.output_tokens // 0),
                   cached_input_tokens: (.cache_read_input_tokens // 0)})
               // null),
       tool_calls: {total: ($calls | length),
                    failed: ([$failed[] | select(. != false)] | length),
                    edits: ($edits | length),
                    edits_failed: ([$edits[] | select($failed[.id] != false)]
                                   | length)},
       files_modified: [$edits[] | select($failed[.id] == false
                                          and .toolName == "Edit")
                        | .parameters.file_path | strings],
       done: ($done != null),
       error: ([$ev[] | select(.type == "error") | .message | strings
                | select(. != "Exec failed")] | last)}
    | with_entries(select(.value != null))' \
    "$AIM_OUT" >"$AIM_TMP/extra.json" 2>/dev/null
[ -s "$AIM_TMP/extra.json" ] || echo '{}' >"$AIM_TMP/extra.json"

if [ "$AIM_RC" -ne 0 ] ||
    ! aim_jq -e '.done == true' "$AIM_TMP/extra.json" >/dev/null; then
	aim_fail_run "$(aim_flat "$(aim_jq -r '.error // empty' \
	    "$AIM_TMP/extra.json" | sed 's/^Error: //')")"
fi
aim_jq 'del(.done, .error)' "$AIM_TMP/extra.json" >"$AIM_TMP/extra2.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra2.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
