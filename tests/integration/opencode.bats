#!/usr/bin/env bats
# opencode (npm opencode-ai) through its adapter, against
# tests/providers/stub-provider: a provider of one's own in
# ~/.config/opencode/opencode.json (@ai-sdk/openai-compatible, baseURL).
# opencode is slow to start (tens of seconds on a loaded machine): one run
# per test, and few tests.

load clis

CLI=opencode
CLI_TIMEOUT_MS=240000

cli_env() {
	recipe_opencode
}

@test "opencode: version through the adapter" {
	cli_version
	assert_success
	assert_semver
}

@test "opencode: an edit through its edit tool is a success naming the file, with tokens and the session" {
	provider_scenario '{"scenario":"edit","file":"src/main.c","old":"int i;int total=0;","new":"int i; int total = 0;","text":"Spaced the declarations.","usage":{"input_tokens":120,"output_tokens":30,"cached_input_tokens":5}}'
	ask "space the declarations in src/main.c" '["src/main.c"]'
	assert_success
	run result '[.tool_id, .result.success, .result.content.response, .result.content.files_modified, .result.content.files_created, .result.content.lines_added, .result.content.lines_removed, .result.content.tool_calls]'
	assert_output '["opencode",true,"Spaced the declarations.",["src/main.c"],[],1,1,{"edits":1,"edits_failed":0,"failed":0,"total":1}]'
	grep -qxF 'int i; int total = 0;' src/main.c
	run result '[.result.content.usage.output_tokens, (.result.content.session_id | startswith("ses_"))]'
	assert_output '[60,true]'
	# Only the model was asked: no title request, no model list download.
	run sh -c "jq -r '[.method, .path, .body.model] | @tsv' '$PROVIDER_LOG' | sort | uniq -c | awk '{\$1 = \$1; print}'"
	assert_output "2 POST /v1/chat/completions stub-model"
}

@test "opencode: a new file from its write tool is in files_created" {
	ask_notes
	assert_success
	run result '[.result.success, .result.content.files_created, .result.content.files_modified, .result.content.response, .result.content.lines_added]'
	assert_output '[true,["NOTES.md"],[],"Created NOTES.md.",1]'
	assert_equal "$(cat NOTES.md)" "# Notes"
}

@test "opencode: HTTP 401 from the provider is auth" {
	provider_scenario '{"scenario":"http","status":401}'
	ask "hi"
	assert_failure 1
	run result '[(.attempts | length), .attempts[0].error_class, (.attempts[0].message | test("HTTP 401"))]'
	assert_output '[1,"auth",true]'
}

@test "opencode: HTTP 429 is rate_limit, retry_after_ms from the Retry-After header" {
	# opencode waits the Retry-After before each of its retries: keep it short.
	provider_scenario '{"scenario":"http","status":429,"retry_after":"1"}'
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, .attempts[0].retry_after_ms]'
	assert_output '["rate_limit",1000]'
}

@test "opencode: HTTP 503 is transient, even when the time budget cuts its retries short" {
	# opencode retries a 503 for about two minutes: stop it sooner, yet
	# not before it has started and been answered twice, which can take
	# a minute on a loaded machine.
	provider_scenario '{"scenario":"http","status":503,"retry_after":"1"}'
	pipeline '{"capability":"code_generation","tool_id":"opencode","timeout_ms":90000,"payload":{"prompt":"hi"}}'
	assert_failure 1
	run result '[.attempts[0].error_class, (.attempts[0].message | test("overloaded"))]'
	assert_output '["transient",true]'
	[ "$(grep -c chat/completions "$PROVIDER_LOG")" -ge 2 ]
}
