#!/usr/bin/env bats
# The provider failures that no CLI's own suite runs: HTTP 403, 400 prompt
# too long, a content-policy refusal, a stream cut in the middle and a
# stream slower than the time budget, through the real claude, codex,
# gemini, qwen and copilot and their adapters, against the stand-in
# provider on 127.0.0.1.
#
# Folded: one request per scenario, no tool_id, routed down the chain
# claude -> codex -> gemini -> qwen -> copilot (the rules' fallback, no
# retries), so one aim-resolve | aim-invoke | aim-audit walks the five
# CLIs on the same scenario, one attempt (one CLI start) each.  The
# classes are those of aim-adapter(7) "Standard output": 403 is auth;
# prompt too long is context_too_long, not retried on the same tool and
# no cooldown (another tool, a larger window, may take it); a refusal is
# content_policy, likewise; a stream cut is transient; a stream slower
# than the budget is timeout, answered by the adapter itself (outcome
# failure, not aim-invoke's timeout) before timeout_ms.  None of these
# names a wait: no retry_after_ms.  What each CLI says is in
# tests/providers/README.md.  opencode is left out: 20 s of CPU a run.

load clis

cli_env() {
	aim_cli_env "$PROVIDER_URL"
	# qwen (OPENAI_API_KEY from aim_cli_env) and copilot (BYOK): the
	# recipes of qwen.bats and copilot.bats.
	export OPENAI_BASE_URL=$PROVIDER_URL/v1 OPENAI_MODEL=stub-model \
	    COPILOT_PROVIDER_BASE_URL=$PROVIDER_URL/v1 \
	    COPILOT_PROVIDER_API_KEY=sk-test-0000 COPILOT_MODEL=stub-model \
	    COPILOT_OFFLINE=true
	mkdir -p "$HOME/.qwen"
	echo '{"memory":{"enableManagedAutoMemory":false},"model":{"generationConfig":{"maxRetries":0}}}' \
	    >"$HOME/.qwen/settings.json"
	jq '.capabilities.code_generation.fallback = ["codex", "gemini", "qwen", "copilot"]
	    | .capabilities.code_generation.max_retries = 0' \
	    "$EXAMPLE/AIM_cross-tool/AIM_coordination-rules.json" \
	    >../reg/AIM_cross-tool/AIM_coordination-rules.json
}

# chain SCENARIO-JSON [TIMEOUT-MS]: the request down the chain, the
# provider in SCENARIO; $output: each attempt's tool, outcome, class and
# retry_after_ms.
chain() {
	provider_scenario "$1"
	pipeline "$(jq -nc --argjson ms "${2:-90000}" '{capability:
	    "code_generation", timeout_ms: $ms, payload: {prompt:
	    "edit the file", files: ["src/main.c"]}}')"
	# shellcheck disable=SC2034 # bats reads it
	output=$(jq -c '[.attempts[] | [.tool_id, .outcome, .error_class,
	    .retry_after_ms]]' ../out.jsonl)
}

# messages: each attempt's tool and message, one a line.
messages() {
	jq -r '.attempts[] | "\(.tool_id): \(.message)"' ../out.jsonl
}

@test "403: auth from every CLI" {
	chain '{"scenario":"http","status":403}'
	assert_equal "$status" 1
	assert_output '[["claude","failure","auth",null],["codex","failure","auth",null],["gemini","failure","auth",null],["qwen","failure","auth",null],["copilot","failure","auth",null]]'
	run messages
	assert_line --index 0 'claude: authentication failed (not logged in or invalid API key), exit 1: HTTP 403: Failed to authenticate. API Error: 403 Your API key does not have permission to use the specified resource.'
	# codex drops the status: its words are OpenAI's.
	assert_line --index 1 'codex: authentication failed (not logged in or invalid API key), exit 1: You are not allowed to sample from this model'
	assert_line --index 2 --regexp '^gemini: authentication failed \(not logged in or invalid API key\), exit 147: \[API Error: \{"error":\{"code":403,.*"status":"PERMISSION_DENIED"'
	assert_line --index 3 'qwen: authentication failed (not logged in or invalid API key), exit 1: [API Error: 403 You are not allowed to sample from this model]'
	assert_line --index 4 --regexp '^copilot: authentication failed \(not logged in or invalid API key\), exit 1: HTTP 403: Authentication failed with provider at http://127\.0\.0\.1:[0-9]+/v1 \(HTTP 403\)\.'
}

@test "400 prompt too long: context_too_long from every CLI" {
	chain '{"scenario":"prompt_too_long"}'
	assert_equal "$status" 1
	assert_output '[["claude","failure","context_too_long",null],["codex","failure","context_too_long",null],["gemini","failure","context_too_long",null],["qwen","failure","context_too_long",null],["copilot","failure","context_too_long",null]]'
	run messages
	assert_line --index 0 --regexp "^claude: the prompt is too long for the model's context window, exit 1: HTTP 400: Prompt is too long · "
	assert_line --index 1 "codex: the prompt is too long for the model's context window, exit 1: Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying."
	assert_line --index 2 "gemini: the prompt is too long for the model's context window, exit 144: [API Error: {\"error\":{\"code\":400,\"message\":\"The input token count (1250000) exceeds the maximum number of tokens allowed (1048576).\",\"status\":\"INVALID_ARGUMENT\"}}]"
	assert_line --index 3 "qwen: the prompt is too long for the model's context window, exit 1: [API Error: 400 This model's maximum context length is 128000 tokens. However, your messages resulted in 250000 tokens. Please reduce the length of the messages.]"
	assert_line --index 4 "copilot: the prompt is too long for the model's context window, exit 1: HTTP 400: 400 This model's maximum context length is 128000 tokens. However, your messages resulted in 250000 tokens. Please reduce the length of the messages."
}

@test "a refusal: content_policy from claude, codex and gemini; qwen takes it for an empty stream; copilot answers with it" {
	chain '{"scenario":"refusal","text":"I cannot help with that."}'
	assert_success
	assert_output '[["claude","failure","content_policy",null],["codex","failure","content_policy",null],["gemini","failure","content_policy",null],["qwen","failure","transient",null],["copilot","success",null,null]]'
	run messages
	assert_line --index 0 'claude: refused by the content policy, exit 1: API Error: Claude Code is unable to respond to this request, which appears to violate our Usage Policy (https://www.anthropic.com/legal/aup). Try rephrasing the request in a new session or change your model.'
	# codex drops the refusal and completes the turn: nothing said, nothing done.
	assert_line --index 1 'codex: refused by the content policy, exit 0: no answer and no tool call (how codex ends a turn the model refused)'
	assert_line --index 2 'gemini: refused by the content policy, exit 0: The model response was blocked due to safety settings.'
	# qwen retries the "empty" stream, then gives up in words that say
	# nothing of a refusal.
	assert_line --index 3 'qwen: failed for a reason not recognised (taken as temporary), exit 1: [API Error: Model stream ended with empty response text.]'
	# copilot shows the refusal's text as its answer, like any other.
	run result '[.tool_id, .result.content.response, .result.content.files_modified]'
	assert_output '["copilot","I cannot help with that.",[]]'
}

@test "a stream cut in the middle: transient from every CLI" {
	chain '{"scenario":"cut"}'
	assert_equal "$status" 1
	assert_output '[["claude","failure","transient",null],["codex","failure","transient",null],["gemini","failure","transient",null],["qwen","failure","transient",null],["copilot","failure","transient",null]]'
	run messages
	assert_line --index 0 'claude: temporary failure (network or service), exit 1: API Error: Connection to the API was lost (ECONNRESET). This is usually temporary — try again.'
	assert_line --index 1 'codex: temporary failure (network or service), exit 1: stream disconnected before completion: stream closed before response.completed'
	assert_line --index 2 'gemini: temporary failure (network or service), exit 0: Model stream ended without a finish reason.'
	assert_line --index 3 'qwen: temporary failure (network or service), exit 1: [API Error: Model stream ended without a finish reason.]'
	assert_line --index 4 --regexp '^copilot: temporary failure \(network or service\), exit 1: Failed to get response from the AI model; retried 5 times .* missing finish_reason for choice 0$'
}

@test "a stream slower than the budget: timeout, the adapter answering before timeout_ms" {
	# 15 s: the tool gets 12 (aim_budget), time for a node CLI to start
	# on a busy machine and send its request; each event comes a minute
	# late.
	chain '{"scenario":"slow","delay_ms":60000}' 15000
	assert_equal "$status" 1
	assert_output '[["claude","failure","timeout",null],["codex","failure","timeout",null],["gemini","failure","timeout",null],["qwen","failure","timeout",null],["copilot","failure","timeout",null]]'
	run jq -c '[.attempts[] | .duration_ms < 15000]' ../out.jsonl
	assert_output '[true,true,true,true,true]'
	# The time the tool had, and its last words: stderr, else (claude,
	# copilot: JSON events on stdout) the last event's name.  A loaded
	# machine can kill codex, gemini or qwen before they said a word on
	# stderr: then the time alone.
	run messages
	assert_line --index 0 --regexp '^claude: timed out after [0-9]+ s: no result; the last event: system init$'
	assert_line --index 1 --regexp '^codex: timed out after [0-9]+ s(: WARNING: |$)'
	assert_line --index 2 --regexp '^gemini: timed out after [0-9]+ s(: |$)'
	assert_line --index 3 --regexp '^qwen: timed out after [0-9]+ s(: |$)'
	assert_line --index 4 --regexp '^copilot: timed out after [0-9]+ s: no result; the last event: [a-z._]+$'
	# The stream, not the start, was slow: requests were sent.  On a
	# loaded machine a node CLI can take its whole 12 s to start, so not
	# all five always get as far.
	[ "$(grep -c '"method": *"POST"' "$PROVIDER_LOG")" -ge 1 ] ||
	    fail "no CLI sent its request: the start, not the stream, was slow"
}
