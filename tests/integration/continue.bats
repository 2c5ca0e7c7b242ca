#!/usr/bin/env bats
# The Continue CLI (npm @continuedev/cli, command cn) through its adapter,
# against tests/providers/stub-provider: a config.yaml whose model has
# provider openai and apiBase the stand-in.

load clis

CLI=continue
CLI_TIMEOUT_MS=180000

cli_env() {
	recipe_continue
}

@test "continue: version through the adapter" {
	cli_version
	assert_success
	assert_semver
}

@test "continue: an edit through its Edit tool is a success, the file found in the working tree" {
	provider_scenario '{"scenario":"edit","file":"src/main.c","old":"int i;int total=0;","new":"int i; int total = 0;","text":"Spaced the declarations."}'
	ask "space the declarations in src/main.c" '["src/main.c"]'
	assert_success
	run result '[.tool_id, .result.success, .result.content.response, .result.content.files_modified, .result.content.lines_added, .result.content.lines_removed]'
	assert_output '["continue",true,"Spaced the declarations.",["src/main.c"],1,1]'
	grep -qxF 'int i; int total = 0;' src/main.c
	# The prompt came through stdin, Edit and Write were offered.
	run jq -r 'select(.path == "/v1/chat/completions") | [(.body.messages | map(.content | tostring) | any(contains("space the declarations"))), ([.body.tools[].function.name] | contains(["Write", "Edit"]))] | @tsv' "$PROVIDER_LOG"
	assert_line --index 0 "true	true"
}

@test "continue: HTTP 401 is auth, HTTP 429 rate_limit with the wait in the provider's text" {
	provider_scenario '{"scenario":"http","status":401}'
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, (.attempts[0].message | test("401"))]'
	assert_output '["auth",true]'
	provider_scenario '{"scenario":"http","status":429}'
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, .attempts[0].retry_after_ms]'
	assert_output '["rate_limit",20000]'
}
