#!/bin/sh
# AIM_opencode.sh - AIM_INTEGRATION_V1 adapter for opencode
# (npm opencode-ai, command "opencode"), and for Kilo Code CLI (npm
# @kilocode/cli, command "kilo"), a fork of it with the same options and
# events, through AIM_kilo.sh, which sets AIM_OPENCODE_CLI=kilo: then read
# KILO_ for OPENCODE_ below and kilo.json for opencode.json.
#
# code_generation, refactoring:
#   opencode run --format json --title aim --print-logs --log-level ERROR
#       [--auto] [--model PROVIDER/MODEL] <prompt
#   Headless run; the prompt comes on stdin; kilo asks before its tools
#   run unless --auto; the model is the config's "model" (opencode.json,
#   OPENCODE_CONFIG or OPENCODE_CONFIG_CONTENT, where a provider of one's
#   own is {"npm": "@ai-sdk/openai-compatible", "options": {"baseURL":
#   URL}, "models": {...}}), or AIM_OPENCODE_MODEL (AIM_KILO_MODEL) when
#   set; --title spares a model call for the session's title.  stdout is
#   JSONL events, each with sessionID: text (part.text; the last is the
#   response), tool_use (part.tool, part.state.status completed or error,
#   part.state.input.filePath, part.state.metadata.exists for write),
#   step_finish (part.tokens, part.cost) and error (error.name,
#   error.data.message, statusCode, responseHeaders).
# version: opencode --version
# Failures mapped (lib.sh, from the error event, else stderr, else stdout):
#   statusCode 401/403, "API key" texts -> auth; 429 -> rate_limit (after
#   opencode's own retries; the response's Retry-After header gives
#   retry_after_ms); quota texts -> quota; context texts ->
#   context_too_long; 400/404, "Model not found" -> bad_request; 5xx,
#   network errors -> transient (also when killed at the time budget while
#   retrying them: its logged errors on stderr say so); killed at the time
#   budget otherwise -> timeout (as with no provider of one's own and no
#   network: opencode then waits for its hosted free models).  A
#   run whose every edit tool call failed is a failure (bad_request).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

cli=${AIM_OPENCODE_CLI:-opencode}
aim_init "$cli"
case $AIM_CAP in
version) aim_version "$cli" --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command "$cli"
aim_prompt
aim_snapshot
# No update check, no model list download, no sharing: only the model.
# Its errors on stderr: a run killed while it retries says what it waits
# out (opencode retries a 5xx for minutes).
set -- "$cli" run --format json --title aim --print-logs --log-level ERROR
model=${AIM_OPENCODE_MODEL:-}
if [ "$cli" = kilo ]; then
	# Nor uploads of the session, nor an index of the code base.
	KILO_DISABLE_AUTOUPDATE=1 KILO_DISABLE_MODELS_FETCH=1
	KILO_DISABLE_SHARE=1 KILO_DISABLE_LSP_DOWNLOAD=1
	KILO_DISABLE_SESSION_INGEST=1 KILO_DISABLE_CODEBASE_INDEXING=1
	export KILO_DISABLE_AUTOUPDATE KILO_DISABLE_MODELS_FETCH \
	    KILO_DISABLE_SHARE KILO_DISABLE_LSP_DOWNLOAD \
	    KILO_DISABLE_SESSION_INGEST KILO_DISABLE_CODEBASE_INDEXING
	set -- "$@" --auto
	model=${AIM_KILO_MODEL:-}
else
	OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1
	OPENCODE_DISABLE_SHARE=1 OPENCODE_DISABLE_LSP_DOWNLOAD=1
	export OPENCODE_DISABLE_AUTOUPDATE OPENCODE_DISABLE_MODELS_FETCH \
	    OPENCODE_DISABLE_SHARE OPENCODE_DISABLE_LSP_DOWNLOAD
fi
[ -z "$model" ] || set -- "$@" --model "$model"
aim_run "$AIM_TMP/prompt.txt" "$@"

events='[inputs | fromjson? | objects]'
# One jq prints, as shell assignments (@sh): "failed" when there is an
# error event; of the last one, "retry", its response's Retry-After (ms),
# and "detail", what it says; "extra", the normalised content (lib.sh;
# none when it cannot be made).
failed='' retry='' detail='' extra=''
eval "$(aim_jq -nRr --arg pwd "$(pwd)/" "$events"'
    | def chomp: until(endswith("\n") | not; .[:-1]);
      def put($k; $v): "\($k)=\($v | @sh)";
      if any(.type == "error") then put("failed"; "yes") else empty end,
      (map(select(.type == "error") | .error) | last // empty
       | (try (first(.data.responseHeaders // {} | to_entries
               | sort_by(.key)[]
               | select(.key | ascii_downcase == "retry-after") | .value
               | tonumber? | . * 1000 | floor)
               | put("retry"; tostring)) catch empty),
         (try (((.data.statusCode | numbers | "HTTP \(.): ") // "")
          + (.name // "error") + ": "
          + (.data.message // .message // "" | tostring)
          | put("detail"; chomp)) catch empty)),
      (try ((map(select(.type == "tool_use") | .part)) as $tools
    | [$tools[] | select(.tool | IN("edit", "write", "patch", "apply_patch", "multiedit"))]
      as $writes
    | [$writes[] | select(.state.status == "completed")
       | {path: (.state.input.filePath // .state.metadata.filepath // ""
                 | ltrimstr($pwd)),
          created: (.tool == "write" and .state.metadata.exists == false)}
       | select(.path != "")] as $edits
    | (map(select(.type == "step_finish") | .part)) as $steps
    | {response: (map(select(.type == "text") | .part.text | strings)
                  | last // "" | .[0:4096]),
       session_id: (map(.sessionID | strings) | first),
       usage: {input_tokens: ($steps | map(.tokens.input // 0) | add // 0),
               output_tokens: ($steps | map(.tokens.output // 0) | add // 0),
               cached_input_tokens:
                 ($steps | map(.tokens.cache.read // 0) | add // 0)},
       cost_usd: ($steps | map(.cost // 0) | add // 0),
       tool_calls: {total: ($tools | length),
                    failed: ($tools | map(select(.state.status == "error"))
                             | length),
                    edits: ($writes | length),
                    edits_failed: ($writes
                                   | map(select(.state.status == "error"))
                                   | length)},
       files_modified: [$edits[] | select(.created | not) | .path],
       files_created: [$edits[] | select(.created) | .path]}
    | put("extra"; tojson)) catch empty)' "$AIM_OUT" 2>/dev/null)"
if [ "$AIM_RC" -ne 0 ] || [ -n "$failed" ]; then
	# The response's Retry-After header wins over a wait named in the text.
	aim_fail_run "$(aim_flat "$detail")" "" "$retry"
fi
printf '%s' "$extra${extra:+
}" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
