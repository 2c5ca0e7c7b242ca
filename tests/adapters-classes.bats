#!/usr/bin/env bats
# The example adapters' error classes and retry_after_ms (issue 6): each
# adapter runs on one AIM_INTEGRATION_V1 request line, with fake CLIs from
# tests/fixtures/classes first on PATH printing the real tools' failure
# texts; the reply must be one JSON object, exit 0, with the exact
# error_class (and retry_after_ms) at the top level and in content.

load 'helper'

EXAMPLE=$TOP/examples/.AIM_ai-tools-registry
LIB=$EXAMPLE/AIM_adapters/lib.sh
# The script adapters of local tools, out of the registry (their tools are
# declarative there): examples of the kit.
SCRIPTS=$TOP/examples/script-adapters

setup() {
	common_setup
	export PATH="$FIX/classes:$PATH"
	unset FAKE_STDOUT FAKE_STDERR FAKE_SLEEP FAKE_RC FAKE_SH AIM_TIMEOUT_MS \
	    OPENAI_API_KEY CODEX_API_KEY ANTHROPIC_API_KEY GEMINI_API_KEY \
	    AIDER_MODEL
	echo 'int main(void) { return 0; }' >a.c
}

# adapter TOOL [CAPABILITY]: run AIM_TOOL.sh (of the registry, else of
# examples/script-adapters) on one request line (prompt "add a comment",
# files ["a.c"]); the reply in $output.
adapter() {
	local a=$EXAMPLE/AIM_adapters/AIM_$1.sh
	[ -e "$a" ] || a=$SCRIPTS/AIM_$1.sh
	jq -nc --arg c "${2:-code_generation}" '{contract: "AIM_INTEGRATION_V1",
	    id: "t1", capability: $c,
	    payload: {prompt: "add a comment", files: ["a.c"]},
	    timeout_ms: 30000}' >req.json
	run --separate-stderr "$a" <req.json
}

# assert_class CLASS [RETRY_MS]: $output is one failure object with
# error_class CLASS and retry_after_ms RETRY_MS (absent when not given) at
# the top level and in content; the adapter exited 0.
assert_class() {
	assert_success
	assert_equal "$(jq -s length <<<"$output")" 1
	assert_equal "$(jq -c '[.success, .error_class, .retry_after_ms,
	    .content.error_class, .content.retry_after_ms]' <<<"$output")" \
	    "[false,\"$1\",${2:-null},\"$1\",${2:-null}]"
}

# claude_result TEXT [API-STATUS]: claude's stream-json for a failed turn.
claude_result() {
	jq -nc --arg r "$1" --argjson s "${2:-null}" \
	    '{type: "system", subtype: "init"},
	     {type: "result", subtype: "success", is_error: true,
	      api_error_status: $s, result: $r}'
}

# gemini_error MESSAGE CODE: the error object gemini -o json prints.
gemini_error() {
	jq -n --arg m "$1" --argjson c "$2" \
	    '{session_id: "s1", error: {type: "Error", message: $m, code: $c}}'
}

# codex_failed MESSAGE: codex exec --json events for a failed turn.
codex_failed() {
	jq -nc --arg m "$1" '{type: "thread.started"}, {type: "turn.started"},
	    {type: "turn.failed", error: {message: $m}}'
}

@test "auth: claude's real 'Not logged in · Please run /login'" {
	FAKE_STDOUT=$(claude_result 'Not logged in · Please run /login') \
	    adapter claude
	assert_class auth
	assert_equal "$(jq -r .message <<<"$output")" \
	    "authentication failed (not logged in or invalid API key), exit 1: Not logged in · Please run /login"
	assert_equal "$(jq -r .content.exit_code <<<"$output")" 1
}

@test "auth: gemini's real 'Please set an Auth method', exit 41" {
	FAKE_STDERR=$(gemini_error "Please set an Auth method in your $HOME/.gemini/settings.json or specify one of the following environment variables before running: GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_USE_GCA" 41) \
	    FAKE_RC=41 adapter gemini
	assert_class auth
	assert_equal "$(jq -r .message <<<"$output")" \
	    "authentication failed (not logged in or invalid API key), exit 41: Please set an Auth method in your $HOME/.gemini/settings.json or specify one of the following environment variables before running: GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_USE_GCA"
}

@test "auth: codex with no key and 'codex login status' failing" {
	FAKE_STDERR='Not logged in' adapter codex
	assert_class auth
	assert_equal "$(jq -r .message <<<"$output")" \
	    "authentication failed (not logged in or invalid API key), exit 1: Not logged in (run 'codex login' or set CODEX_API_KEY or OPENAI_API_KEY)"
}

@test "auth: HTTP 401 from the API" {
	FAKE_STDOUT=$(claude_result 'Invalid API key · Fix external API key' 401) \
	    adapter claude
	assert_class auth
}

@test "rate_limit: '429 Too Many Requests' with 'Retry-After: 7' gives 7000 ms" {
	FAKE_STDOUT=$(claude_result 'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization"}}' 429) \
	    FAKE_STDERR=$'HTTP/1.1 429 Too Many Requests\nRetry-After: 7' \
	    adapter claude
	assert_class rate_limit 7000
	assert_equal "$(jq -r .message <<<"$output")" \
	    'rate limited, exit 1: HTTP 429: API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization"}}'
}

@test "rate_limit: codex 'unexpected status 429 Too Many Requests', no wait named" {
	export OPENAI_API_KEY=sk-test
	FAKE_STDOUT=$(codex_failed 'exceeded retry limit, last status: 429 Too Many Requests') \
	    adapter codex
	assert_class rate_limit
}

@test "rate_limit: gemini RESOURCE_EXHAUSTED without quota text" {
	FAKE_STDERR=$(gemini_error '{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}' 429) \
	    adapter gemini
	# Gemini's generic per-minute 429: "(e.g. check quota)" is no quota text.
	assert_class rate_limit
	FAKE_STDERR=$(gemini_error '{"error":{"code":429,"message":"Resource exhausted. Please try again later.","status":"RESOURCE_EXHAUSTED"}}' 429) \
	    adapter gemini
	assert_class rate_limit
	assert_equal "$(jq -r .message <<<"$output")" \
	    'rate limited, exit 1: code 429: Resource exhausted. Please try again later.'
}

@test "rate_limit: a per-minute quota is a rate limit, with 'Please retry in 12.5s'" {
	FAKE_STDERR=$(gemini_error '{"error":{"code":429,"message":"Quota exceeded for quota metric '"'"'Generate Content API requests per minute'"'"'. Please retry in 12.5s.","status":"RESOURCE_EXHAUSTED"}}' 429) \
	    adapter gemini
	assert_class rate_limit 12500
}

@test "quota: gemini 'You exceeded your current quota', retry in 12.5s" {
	FAKE_STDERR=$(gemini_error '{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. Please retry in 12.5s.","status":"RESOURCE_EXHAUSTED"}}' 429) \
	    adapter gemini
	assert_class quota 12500
	assert_equal "$(jq -r .message <<<"$output")" \
	    'out of quota (usage limit or billing), exit 1: code 429: You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. Please retry in 12.5s.'
}

@test "quota: codex 'You've hit your usage limit'" {
	export OPENAI_API_KEY=sk-test
	FAKE_STDOUT=$(codex_failed "You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in 2 hours.") \
	    adapter codex
	assert_class quota 7200000
}

@test "quota: aider's litellm.RateLimitError with insufficient_quota, exit 0" {
	export OPENAI_API_KEY=sk-test
	FAKE_STDOUT="litellm.RateLimitError: RateLimitError: OpenAIException - You exceeded your current quota, please check your plan and billing details. {'code': 'insufficient_quota'}" \
	    FAKE_RC=0 adapter aider
	assert_class quota
	FAKE_STDOUT="litellm.RateLimitError: RateLimitError: AnthropicException - rate_limit_error. Retry-After: 30" \
	    FAKE_RC=0 adapter aider
	assert_class rate_limit 30000
}

@test "context_too_long: 'prompt is too long: 250000 tokens > 200000 maximum' despite HTTP 400" {
	FAKE_STDOUT=$(claude_result 'API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}}' 400) \
	    adapter claude
	assert_class context_too_long
	assert_equal "$(jq -r .message <<<"$output")" \
	    "the prompt is too long for the model's context window, exit 1: HTTP 400: API Error: 400 {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: 250000 tokens > 200000 maximum\"}}"
}

@test "context_too_long: codex and gemini wordings" {
	export OPENAI_API_KEY=sk-test
	FAKE_STDOUT=$(codex_failed "Your input exceeds the context window of this model. Please adjust your input and try again.") \
	    adapter codex
	assert_class context_too_long
	FAKE_STDERR=$(gemini_error '{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}' 400) \
	    adapter gemini
	assert_class context_too_long
}

@test "content_policy: claude's usage-policy refusal" {
	FAKE_STDOUT=$(claude_result 'API Error: Claude Code is unable to respond to this request, which appears to violate our Usage Policy (https://www.anthropic.com/legal/aup). Please double press esc to edit your last message or start a new session for Claude Code to assist with a different task.') \
	    adapter claude
	assert_class content_policy
	assert_equal "$(jq -r .message <<<"$output" | cut -c 1-40)" \
	    "refused by the content policy, exit 1: A"
}

@test "content_policy: gemini blocked for SAFETY, codex safety system" {
	FAKE_STDERR=$(gemini_error 'Candidate was blocked due to SAFETY' 400) \
	    adapter gemini
	assert_class content_policy
	export OPENAI_API_KEY=sk-test
	FAKE_STDOUT=$(codex_failed 'Your request was rejected as a result of our safety system.') \
	    adapter codex
	assert_class content_policy
}

@test "content_policy: codex's turn with no message and no tool call, exit 0: the refusal it drops" {
	export OPENAI_API_KEY=sk-test
	FAKE_STDOUT=$(jq -nc '{type: "thread.started", thread_id: "th-1"},
	    {type: "turn.started"}, {type: "turn.completed", usage: {input_tokens: 100,
	     output_tokens: 20}}') FAKE_RC=0 adapter codex
	assert_class content_policy
	assert_equal "$(jq -r .message <<<"$output")" \
	    'refused by the content policy, exit 0: no answer and no tool call (how codex ends a turn the model refused)'
}

@test "content_policy: ordinary words about policy or safety are not a refusal" {
	export OPENAI_API_KEY=sk-test
	FAKE_STDOUT=$(codex_failed 'write to /etc/passwd rejected by the sandbox policy; see docs/safety.md') \
	    adapter codex
	assert_class transient
	assert_equal "$(jq -r .message <<<"$output")" \
	    'failed for a reason not recognised (taken as temporary), exit 1: write to /etc/passwd rejected by the sandbox policy; see docs/safety.md'
}

@test "transient: ECONNRESET" {
	FAKE_STDERR='Error: read ECONNRESET
    at TLSWrap.onStreamRead (node:internal/stream_base_commons:218:20)' \
	    adapter claude
	assert_class transient
	assert_equal "$(jq -r .message <<<"$output")" \
	    'temporary failure (network or service), exit 1: Error: read ECONNRESET'
}

@test "transient: 503 with 'try again in 1m30s' gives 90000 ms" {
	export OPENAI_API_KEY=sk-test
	FAKE_STDOUT=$(codex_failed 'unexpected status 503 Service Unavailable: upstream overloaded, try again in 1m30s') \
	    adapter codex
	assert_class transient 90000
}

@test "retry_after_ms only for rate_limit, quota and transient" {
	FAKE_STDOUT=$(claude_result 'Invalid API key · Fix external API key' 401) \
	    FAKE_STDERR='Retry-After: 7' adapter claude
	assert_class auth
}

@test "timeout: a tool that sleeps past its budget" {
	export AIM_TIMEOUT_MS=1000
	FAKE_SLEEP=30 FAKE_STDERR='working' adapter claude
	assert_class timeout
	assert_equal "$(jq -r .message <<<"$output")" 'timed out after 1 s: working'
	assert_equal "$(jq -r .content.exit_code <<<"$output")" 124
	# Silent on stderr, its stream begun: the last event's name.
	FAKE_SLEEP=30 FAKE_STDOUT='{"type":"system","subtype":"init","tools":["Bash"]}' \
	    adapter claude
	assert_class timeout
	assert_equal "$(jq -r .message <<<"$output")" \
	    'timed out after 1 s: no result; the last event: system init'
}

@test "timeout: a tool killed while waiting out a rate limit stays rate_limit" {
	export AIM_TIMEOUT_MS=1000
	FAKE_SLEEP=30 FAKE_STDERR='429 Too Many Requests; retry after 20 seconds' \
	    adapter gemini
	assert_class rate_limit 20000
	assert_equal "$(jq -r .message <<<"$output")" \
	    'rate limited, timed out after 1 s: 429 Too Many Requests; retry after 20 seconds'
}

@test "timeout: a formatter killed at its budget is timeout, not bad_request" {
	mkdir bin
	printf '#!/bin/sh\nsleep 30\n' >bin/clang-format
	chmod +x bin/clang-format
	export AIM_TIMEOUT_MS=1000
	PATH="$PWD/bin:$PATH" adapter clang-format formatting
	assert_class timeout
}

@test "not_installed: the tool is not on PATH" {
	mkdir empty
	PATH="$PWD/empty:/usr/bin:/bin"
	command -v claude >/dev/null && skip "a real claude is on /usr/bin:/bin"
	adapter claude
	assert_class not_installed
	assert_equal "$(jq -c '[.message, .content.command]' <<<"$output")" \
	    '["claude not installed","claude"]'
}

@test "not_installed: no jq" {
	mkdir bin
	ln -s "$(command -v dirname)" bin/dirname
	echo '{}' >req.json
	run --separate-stderr env PATH="$PWD/bin" /bin/sh \
	    "$EXAMPLE/AIM_adapters/AIM_claude.sh" <req.json
	assert_success
	assert_output '{"success":false,"message":"jq not installed (the example adapters need it)","error_class":"not_installed","content":{"error_class":"not_installed"}}'
}

@test "bad_request: the real clang-format with a broken .clang-format" {
	command -v clang-format >/dev/null || skip "clang-format not installed"
	printf 'BasedOnStyle: LLVM\nIndentWidth: [oops\n' >.clang-format
	adapter clang-format formatting
	assert_class bad_request
	run jq -r .message <<<"$output"
	assert_output --regexp '^request rejected, exit 1: IndentWidth: \[oops \| +\^ \| Error reading /.*/\.clang-format: Invalid argument$'
	# the file is left alone
	assert_equal "$(cat a.c)" 'int main(void) { return 0; }'
}

@test "bad_request: an unsupported capability and a missing prompt" {
	adapter claude linting
	assert_class bad_request
	assert_equal "$(jq -r .message <<<"$output")" \
	    "unsupported capability 'linting' (supported: code_generation, refactoring, version)"
	echo '{"capability":"code_generation","payload":{"files":["a.c"]}}' >req.json
	run --separate-stderr "$EXAMPLE/AIM_adapters/AIM_claude.sh" <req.json
	assert_class bad_request
}

@test "bad_request: a CLI refusing an option; an unexplained failure is transient" {
	FAKE_STDERR="error: unknown option '--permission-mode'" adapter claude
	assert_class bad_request
	FAKE_STDERR='Segmentation fault' adapter claude
	assert_class transient
	assert_equal "$(jq -r .message <<<"$output")" 'failed for a reason not recognised (taken as temporary), exit 1: Segmentation fault'
}

# classify TEXT: aim_classify and aim_retry_after of lib.sh on TEXT, as
# "class retry_ms" ("-" for none).
classify() {
	printf '%s\n' "$1" >text
	sh -c '. "$1"; c=$(aim_classify text); r=$(aim_retry_after text)
	    echo "${c:--} ${r:--}"' sh "$LIB" </dev/null
}

@test "lib.sh: the texts of each class, anchored" {
	while IFS='|' read -r want text; do
		assert_equal "$(classify "$text") <- $text" "$want <- $text"
	done <<'EOF'
auth -|Invalid API key · Please run /login
auth -|unexpected status 401 Unauthorized: Missing bearer or basic authentication in header
auth -|[API Error: API key not valid. Please pass a valid API key.]
auth -|{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}
auth -|You are not allowed to sample from this model
quota -|Claude AI usage limit reached|1750000000
quota -|Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.
quota -|{"error":{"code":"insufficient_quota","type":"insufficient_quota"}}
quota -|Quota exceeded for quota metric 'Generate Content API requests per day'
rate_limit -|Rate limit reached for gpt-4.1 in organization org-x on tokens per min (TPM)
rate_limit -|Request failed with status code 429
rate_limit -|RESOURCE_EXHAUSTED
rate_limit -|{"type":"error","error":{"type":"rate_limit_error"}}
- -|"usage":{"input_tokens":429,"output_tokens":401}
context_too_long -|This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.
context_too_long -|{"code":"context_length_exceeded"}
context_too_long -|Input is too long for requested model.
context_too_long -|too many tokens in the request
content_policy -|Output blocked by content filtering policy
content_policy -|{"finishReason":"SAFETY"}
content_policy -|{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"}}
content_policy -|Invalid prompt: your prompt was flagged as potentially violating our usage policy.
content_policy -|code: content_policy_violation
content_policy -|This content violates OpenAI's usage policies
content_policy -|Request failed due to triggering the model provider's content moderation policy. Please modify your message and try again.
- -|the build was blocked by a lock file; see docs/safety.md
- -|added a check for the policy file
bad_request -|error: unexpected argument '--foo' found
bad_request -|{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}
bad_request -|Unknown arguments: frobnicate
transient -|getaddrinfo ENOTFOUND api.anthropic.com
transient -|{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
transient -|stream disconnected before completion: error sending request
transient -|HTTP 502 Bad Gateway
transient -|TypeError: fetch failed
transient -|Model stream ended without a finish reason.
transient -|Failed to finalize chat-completions stream: missing finish_reason for choice 0
transient -|curl: (18) transfer closed with 200 bytes remaining to read
rate_limit 7000|429 Too Many Requests; Retry-After: 7
rate_limit 20|Rate limit reached. Please try again in 20ms.
rate_limit 1500|rate limited; try again in 1.5s
rate_limit 41000|RESOURCE_EXHAUSTED "retryDelay": "41s"
rate_limit 120000|rate limit: retry after 2 minutes
rate_limit 5000|rate limit: retry_after: 5
EOF
}

# adapter_files TOOL FILES-JSON: run AIM_TOOL.sh on a code_generation
# request with those payload.files; the reply in $output.
adapter_files() {
	jq -nc --argjson f "$2" '{contract: "AIM_INTEGRATION_V1", id: "t1",
	    capability: "code_generation",
	    payload: {prompt: "add a comment", files: $f}, timeout_ms: 30000}' >req.json
	run --separate-stderr "$EXAMPLE/AIM_adapters/AIM_$1.sh" <req.json
}

# claude_edit PATH IS-ERROR [TEXT]: claude's stream-json for a run that
# made one Edit of PATH (its tool_result an error or not) and ended well.
claude_edit() {
	jq -nc --arg p "$1" --argjson e "$2" --arg t "${3:-Done.}" '
	    {type: "system", subtype: "init", session_id: "s-1", model: "claude-x[1m]"},
	    {type: "assistant", message: {model: "claude-x", content: [{type: "tool_use",
	      id: "t1", name: "Edit", input: {file_path: $p}}]}},
	    {type: "user", message: {content: [{type: "tool_result", tool_use_id: "t1",
	      is_error: $e, content: (if $e then "File does not exist." else "ok" end)}]}},
	    {type: "result", subtype: "success", is_error: false, result: $t,
	     session_id: "s-1", total_cost_usd: 0.25,
	     usage: {input_tokens: 10, cache_creation_input_tokens: 5,
	             cache_read_input_tokens: 20, output_tokens: 7}}'
}

# The tree for the change tests: a.c (1 line), c.txt (2 lines), a git
# work tree when $1 is git.  The fake CLI edits a.c through its Edit tool
# (an absolute path), and through its shell appends to a.c, creates b.c
# and sub/d.c and removes c.txt.
change_tree() {
	printf 'one\ntwo\n' >c.txt
	if [ "$1" = git ]; then
		git init -q && git add -A &&
		    git -c user.name=t -c user.email=t@example.invalid commit -qm t
	fi
	export FAKE_SH='printf "int x;\n" >>a.c; printf "b\n" >b.c; mkdir sub;
	    printf "d\nd\n" >sub/d.c; rm c.txt' FAKE_RC=0
	FAKE_STDOUT=$(claude_edit "$PWD/a.c" false)
	export FAKE_STDOUT
}

@test "changes (git): an absolute payload file counts once; shell changes and lines over every file count" {
	change_tree git
	adapter_files claude "[\"$PWD/a.c\"]"
	assert_success
	assert_equal "$(jq -r .message <<<"$output")" 'done (1 modified, 2 created, 1 deleted; +4 -2 lines)'
	assert_equal "$(jq -c '.content | [.files_modified, .files_created,
	    .files_deleted, .lines_added, .lines_removed, .changes_scope]' <<<"$output")" \
	    '[["a.c"],["b.c","sub/d.c"],["c.txt"],4,2,"git"]'
	# The repository's own index and HEAD are untouched.
	assert_equal "$(git status --porcelain -- a.c b.c c.txt sub | sort | tr '\n' ' ')" \
	    ' D c.txt  M a.c ?? b.c ?? sub/ '
	assert_equal "$(git rev-list --count HEAD)" 1
}

@test "changes (no git): the walk finds the same" {
	change_tree walk
	adapter_files claude "[\"$PWD/a.c\"]"
	assert_success
	assert_equal "$(jq -c '.content | [.files_modified, .files_created,
	    .files_deleted, .lines_added, .lines_removed, .changes_scope]' <<<"$output")" \
	    '[["a.c"],["b.c","sub/d.c"],["c.txt"],4,2,"walk"]'
}

@test "changes (no git): a walk past AIM_SNAPSHOT_MAX_FILES says walk_capped" {
	change_tree walk
	AIM_SNAPSHOT_MAX_FILES=1 adapter_files claude '["a.c"]'
	assert_success
	assert_equal "$(jq -r .content.changes_scope <<<"$output")" walk_capped
}

@test "claude: the normalised content: response, session, model, usage, cost, tool calls" {
	FAKE_STDOUT=$(claude_edit "$PWD/a.c" false 'All done.') FAKE_RC=0 \
	    FAKE_SH='echo "/* c */" >>a.c' adapter claude
	assert_success
	assert_equal "$(jq -c '.content | [.response, .session_id, .model, .usage,
	    .cost_usd, .tool_calls]' <<<"$output")" \
	    '["All done.","s-1","claude-x",{"cached_input_tokens":20,"input_tokens":35,"output_tokens":7},0.25,{"edits":1,"edits_failed":0,"failed":0,"total":1}]'
}

@test "bad_request: every edit failed and nothing changed is a failure, not a success" {
	FAKE_STDOUT=$(claude_edit "$PWD/missing/x.c" true 'I could not do it.') \
	    FAKE_RC=0 adapter claude
	assert_class bad_request
	assert_equal "$(jq -r .message <<<"$output")" \
	    'every edit failed (1 of 1 edit tool calls), no file changed: I could not do it.'
	assert_equal "$(jq -c .content.tool_calls <<<"$output")" \
	    '{"edits":1,"edits_failed":1,"failed":1,"total":1}'
}

# claude_retry: claude's api_retry event for a 429 it will wait 7 s on.
claude_retry() {
	jq -nc '{type: "system", subtype: "api_retry", attempt: 1, max_retries: 1,
	    retry_delay_ms: 7000, error_status: 429, error: "rate_limit",
	    session_id: "s-1"}'
}

@test "rate_limit: claude's api_retry wait is retry_after_ms when the texts name none" {
	FAKE_STDOUT="$(claude_retry)
$(claude_result 'API Error: Request rejected (429) · This request would exceed the rate limit for your organization' 429)" \
	    adapter claude
	assert_class rate_limit 7000
}

@test "timeout: claude killed while it waits out a 429 stays rate_limit, with the wait, in time" {
	export AIM_TIMEOUT_MS=1000
	FAKE_STDOUT=$(claude_retry) FAKE_SLEEP=30 adapter claude
	assert_class rate_limit 7000
	assert_equal "$(jq -r .message <<<"$output")" \
	    'rate limited, timed out after 1 s: HTTP 429: rate_limit, retrying'
}

@test "auth: gemini's 'Invalid auth method selected.', exit 41" {
	FAKE_STDERR='Invalid auth method selected.' FAKE_RC=41 adapter gemini
	assert_class auth
}

@test "gemini: its 429 text with quota advice, RetryableQuotaError: rate_limit; a daily quota quota; an overloaded 503 transient" {
	FAKE_STDOUT=$(jq -nc '{type: "result", status: "error", error: {type: "unknown",
	    message: "[API Error: Resource has been exhausted (e.g. check quota).]\nPlease wait and try again later. To increase your limits, request a quota increase through AI Studio, or switch to another /auth method"}}') \
	    FAKE_RC=173 adapter gemini
	assert_class rate_limit
	FAKE_STDOUT=$(jq -nc '{type: "result", status: "error", error: {type: "unknown",
	    message: "[API Error: You have exhausted your daily quota on this model.]\nPlease wait and try again later. To increase your limits, request a quota increase through AI Studio, or switch to another /auth method"}}') \
	    FAKE_RC=173 adapter gemini
	assert_class quota
	FAKE_STDERR='RetryableQuotaError: Resource has been exhausted (e.g. check quota).' \
	    adapter gemini
	assert_class rate_limit
	FAKE_STDERR='[API Error: The model is overloaded. Please try again later.]' \
	    FAKE_RC=247 adapter gemini
	assert_class transient
}

@test "gemini: the normalised content from its stream-json events" {
	FAKE_STDOUT=$(jq -nc --arg p "$PWD/a.c" '
	    {type: "init", session_id: "g-1", model: "gemini-x"},
	    {type: "message", role: "assistant", content: "Let me", delta: true},
	    {type: "tool_use", tool_name: "replace", tool_id: "r1",
	     parameters: {file_path: $p}},
	    {type: "tool_result", tool_id: "r1", status: "success"},
	    {type: "tool_use", tool_name: "run_shell_command", tool_id: "r2",
	     parameters: {command: "false"}},
	    {type: "tool_result", tool_id: "r2", status: "error"},
	    {type: "message", role: "assistant", content: "Done", delta: true},
	    {type: "message", role: "assistant", content: " it.", delta: true},
	    {type: "result", status: "success", stats: {input_tokens: 50,
	     output_tokens: 9, cached: 30}}') \
	    FAKE_RC=0 FAKE_SH='echo "/* g */" >>a.c' adapter gemini
	assert_success
	assert_equal "$(jq -c '.content | [.response, .session_id, .model, .usage,
	    .tool_calls, .files_modified]' <<<"$output")" \
	    '["Done it.","g-1","gemini-x",{"cached_input_tokens":30,"input_tokens":50,"output_tokens":9},{"edits":1,"edits_failed":0,"failed":1,"total":2},["a.c"]]'
}

@test "codex: the session is the thread id, usage from turn.completed, model from config.toml" {
	export OPENAI_API_KEY=sk-test CODEX_HOME=$PWD/codex-home
	mkdir "$CODEX_HOME"
	printf 'model = "gpt-x"\n[model_providers.a]\nmodel = "no"\n' >"$CODEX_HOME/config.toml"
	FAKE_STDOUT=$(jq -nc '{type: "thread.started", thread_id: "th-1"},
	    {type: "item.completed", item: {type: "agent_message", text: "Fine."}},
	    {type: "turn.completed", usage: {input_tokens: 40,
	     cached_input_tokens: 10, output_tokens: 4}}') FAKE_RC=0 adapter codex
	assert_success
	assert_equal "$(jq -c '.content | [.response, .session_id, .model, .usage]' <<<"$output")" \
	    '["Fine.","th-1","gpt-x",{"cached_input_tokens":10,"input_tokens":40,"output_tokens":4}]'
}
