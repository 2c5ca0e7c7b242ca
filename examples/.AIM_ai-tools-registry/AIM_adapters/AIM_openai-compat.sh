#!/bin/sh
# AIM_openai-compat.sh - AIM_INTEGRATION_V1 adapter for any OpenAI-
# compatible chat endpoint (Ollama, llama.cpp server, vLLM, LM Studio),
# spoken to with curl.  One registry entry per endpoint, the adapter the
# same for all; the entry says where and which model:
#   "ollama": {"endpoint": "http://localhost:11434/v1",
#              "models": ["qwen2.5-coder:7b"], "detectCommands": ["curl"],
#              "adapterScript": ".../AIM_openai-compat.sh", ...}
# read from $AIM_REGISTRY_PATH/AIM_registry.json under $AIM_TOOL_ID (the
# first of "models" is used); AIM_OPENAI_COMPAT_ENDPOINT and
# AIM_OPENAI_COMPAT_MODEL override them, and OPENAI_API_KEY, when set, is
# sent as a bearer token (local servers need none).
#
# code_generation, refactoring:
#   POST ENDPOINT/chat/completions (not streamed): a system message asking
#   for every change as one unified diff in a ```diff block, the prompt
#   and the content of payload.files (at most AIM_OPENAI_COMPAT_MAX_BYTES
#   together, default 262144) as the user message.  The diff in the answer
#   is checked with "git apply --check" (again with --recount when that
#   fails; "patch --dry-run" without git) and only then applied; files_* are what it changed.  An answer without
#   a diff is a response only.  Content: response (the answer), model,
#   usage (prompt_tokens, completion_tokens, prompt_tokens_details.
#   cached_tokens), session_id (the completion's id), patch_applied.
# version: GET ENDPOINT/models: content {version (curl's), endpoint,
#   models (the ids the server lists)}.
# Failures: HTTP 401/403 -> auth; 429 -> rate_limit (quota when the text
#   says so); 400 with a context text -> context_too_long; other 4xx ->
#   bad_request; 5xx, connection refused, no such host -> transient; the
#   Retry-After header gives retry_after_ms; curl killed at the time budget
#   -> timeout; a diff that does not apply -> bad_request (nothing written);
#   a refusal (message.refusal, finish_reason content_filter) ->
#   content_policy.
# jq programs are in single quotes on purpose:
# shellcheck disable=SC2016
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init openai-compat
aim_require_command curl
reg=${AIM_REGISTRY_PATH:-}/AIM_registry.json
# The registry entry's endpoint and first model, in one jq, as shell
# assignments (@sh).
reg_endpoint='' reg_model=''
if [ -n "${AIM_REGISTRY_PATH:-}" ] && [ -f "$reg" ]; then
	eval "$(aim_jq -r --arg id "${AIM_TOOL_ID:-}" '
	    def chomp: until(endswith("\n") | not; .[:-1]);
	    .tools[$id] // {}
	    | (.endpoint | strings | "reg_endpoint=\(chomp | @sh)"),
	      (.models | arrays | .[0] | strings | "reg_model=\(chomp | @sh)")' \
	    "$reg" 2>/dev/null)"
fi
endpoint=${AIM_OPENAI_COMPAT_ENDPOINT:-$reg_endpoint}
model=${AIM_OPENAI_COMPAT_MODEL:-$reg_model}
endpoint=${endpoint%/}
[ -n "$endpoint" ] || aim_fail bad_request "no endpoint: set \"endpoint\" in the registry entry of '${AIM_TOOL_ID:-}' or AIM_OPENAI_COMPAT_ENDPOINT"

# http METHOD PATH [BODY-FILE]: curl the endpoint; AIM_RC is curl's status,
# $AIM_TMP/code the HTTP status, $AIM_TMP/headers the response headers.
http()
{
	set -- "$1" "$endpoint$2" "${3:-}"
	printf 'header = "Content-Type: application/json"\n' >"$AIM_TMP/curlrc"
	[ -z "${OPENAI_API_KEY:-}" ] || printf 'header = "Authorization: Bearer %s"\n' \
	    "$OPENAI_API_KEY" >>"$AIM_TMP/curlrc"
	if [ -n "$3" ]; then
		printf 'data-binary = "@%s"\n' "$3" >>"$AIM_TMP/curlrc"
	fi
	# The key goes in a config file, never on the command line.
	aim_run /dev/null curl -sS -X "$1" -K "$AIM_TMP/curlrc" \
	    -D "$AIM_TMP/headers" -w '%{http_code}' -o "$AIM_TMP/body" "$2"
	cp "$AIM_OUT" "$AIM_TMP/code"
}

# http_fail WHAT: the failure reply for a request that did not get a 2xx.
http_fail()
{
	_code=$(cat "$AIM_TMP/code" 2>/dev/null)
	if [ "$AIM_RC" -ne 0 ] || [ -z "$_code" ] || [ "$_code" = 000 ]; then
		aim_fail_run "$1: $(aim_tail "$AIM_ERR")"
	fi
	_msg=$(aim_jq -r '(.error | objects | .message) // .error // .message
	    // empty | tostring' "$AIM_TMP/body" 2>/dev/null)
	[ -n "$_msg" ] || _msg=$(head -c 400 "$AIM_TMP/body")
	_wait=$(tr -d '\r' <"$AIM_TMP/headers" |
	    sed -n 's/^[Rr][Ee][Tt][Rr][Yy]-[Aa][Ff][Tt][Ee][Rr]: *\([0-9][0-9]*\).*/\1/p' |
	    tail -n 1)
	[ -z "$_wait" ] || _wait=$((_wait * 1000))
	aim_fail_run "$(aim_flat "HTTP $_code: $_msg")" "" "$_wait"
}

case $AIM_CAP in
version)
	http GET /models
	case $(cat "$AIM_TMP/code") in 2??) ;; *) http_fail "GET $endpoint/models" ;; esac
	_v=$(curl --version | sed -n '1s/^curl \([^ ]*\).*/\1/p')
	aim_reply true "curl $_v, $endpoint" "$(aim_json_file \
	    '{version: $v, endpoint: $e, models: ([$m[0].data[]?.id] // [])}' \
	    --arg v "$_v" --arg e "$endpoint" --slurpfile m "$AIM_TMP/body")"
	;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
[ -n "$model" ] || aim_fail bad_request "no model: set \"models\" in the registry entry of '${AIM_TOOL_ID:-}' or AIM_OPENAI_COMPAT_MODEL"
aim_prompt
max=${AIM_OPENAI_COMPAT_MAX_BYTES:-262144}
case $max in '' | *[!0-9]*) max=262144 ;; esac

# The files, each in a fence, after the prompt.
: >"$AIM_TMP/files.txt"
while IFS= read -r f; do
	[ -f "$f" ] || aim_fail bad_request "no such file: $f"
	{
		printf '\n\nFile %s:\n```\n' "$f"
		cat -- "$f"
		printf '\n```\n'
	} >>"$AIM_TMP/files.txt"
done <"$AIM_TMP/files"
bytes=$(wc -c <"$AIM_TMP/files.txt")
[ "$bytes" -le "$max" ] ||
    aim_fail bad_request "payload.files hold $bytes bytes, more than the $max this adapter sends (AIM_OPENAI_COMPAT_MAX_BYTES)"
cat "$AIM_TMP/files.txt" >>"$AIM_TMP/prompt.txt"
aim_jq -n --arg m "$model" --rawfile u "$AIM_TMP/prompt.txt" '{model: $m,
    stream: false, messages: [{role: "system", content: ("You are a coding"
      + " assistant working in a source tree. Answer briefly. Make every"
      + " change to files as ONE unified diff in a single ```diff fenced"
      + " block, with paths relative to the working directory and a/ b/"
      + " prefixes (--- /dev/null for a new file, +++ /dev/null for a"
      + " deleted one) and exact context lines. Without changes, answer"
      + " with no diff.")}, {role: "user", content: $u}]}' \
    >"$AIM_TMP/request.body"
aim_snapshot
http POST /chat/completions "$AIM_TMP/request.body"
case $(cat "$AIM_TMP/code") in 2??) ;; *) http_fail "POST $endpoint/chat/completions" ;; esac
# A refusal (Chat's message.refusal, finish_reason content_filter) is no
# answer, whatever its text says.
refusal=$(aim_jq -r '.choices[0] | objects
    | select(.finish_reason == "content_filter"
        or (.message.refusal | type) == "string")
    | .message.refusal // "finish_reason content_filter"' "$AIM_TMP/body" 2>/dev/null)
[ -z "$refusal" ] ||
    aim_fail content_policy "refused by the content policy: $(aim_flat "$refusal")"
# The answer, in one jq, whose status says whether there was one.
aim_jq -re '.choices[0].message | objects | .content // "" | tostring' \
    "$AIM_TMP/body" >"$AIM_TMP/answer" 2>/dev/null ||
    aim_fail_run "answer without choices[0].message: $(head -c 300 "$AIM_TMP/body" |
    tr '\n' ' ')" transient

# The diff: the first ```diff (or ```patch) block, else the lines from the
# first "diff --git" or "--- " line on, when "+++ " and "@@" follow.
awk '/^```[ \t]*(diff|patch)[ \t]*$/ { if (!done) { on = 1; next } }
    on && /^```[ \t]*$/ { on = 0; done = 1; next }
    on { print }' "$AIM_TMP/answer" >"$AIM_TMP/patch"
if [ ! -s "$AIM_TMP/patch" ] && grep -q '^+++ ' "$AIM_TMP/answer" &&
    grep -q '^@@' "$AIM_TMP/answer"; then
	awk '/^(diff --git |--- )/ { on = 1 } on && /^```/ { exit } on { print }' \
	    "$AIM_TMP/answer" >"$AIM_TMP/patch"
fi
applied=false
if [ -s "$AIM_TMP/patch" ]; then
	# Checked whole first: a diff that does not apply writes nothing.  A
	# diff with wrong hunk counts gets a second check with them recounted
	# (not the first: recounting reads a "--- " line as a removed one).
	if command -v git >/dev/null 2>&1; then
		if git apply --check "$AIM_TMP/patch" 2>"$AIM_TMP/apply.err"
		then
			git apply "$AIM_TMP/patch"
		else
			git apply --recount --check "$AIM_TMP/patch" 2>/dev/null &&
			    git apply --recount "$AIM_TMP/patch"
		fi
	else
		patch -p1 -f -s -N --dry-run <"$AIM_TMP/patch" \
		    >"$AIM_TMP/apply.err" 2>&1 &&
		    patch -p1 -f -s -N <"$AIM_TMP/patch"
	fi >/dev/null 2>&1 ||
	    aim_fail bad_request "the model's diff does not apply, nothing written: $(aim_tail "$AIM_TMP/apply.err")" \
	    "$(aim_json_file '{response: $r, patch_applied: false}' \
	    --rawfile r "$AIM_TMP/answer")"
	applied=true
fi
aim_jq -c --argjson applied "$applied" --rawfile r "$AIM_TMP/answer" '{
    response: ($r | sub("\\s+$"; "") | .[0:4096]), model: .model,
    session_id: .id,
    usage: {input_tokens: (.usage.prompt_tokens // 0),
            output_tokens: (.usage.completion_tokens // 0),
            cached_input_tokens:
              (.usage.prompt_tokens_details.cached_tokens // 0)},
    patch_applied: $applied}' "$AIM_TMP/body" >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
if [ "$applied" = true ]; then
	aim_reply_changes "diff applied" "$AIM_TMP/content.json"
fi
aim_reply_changes "answered, no diff" "$AIM_TMP/content.json"
