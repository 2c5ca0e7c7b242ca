#!/usr/bin/env bats
# Crush through its adapter, with tests/fixtures/crush/crush standing in
# for the real binary (npm @charmland/crush downloads it from GitHub while
# installing, which fails here); the stand-in asks the loopback provider
# of its crush.json, so the adapter's argv, its reading of the answer and
# its error classes meet real HTTP answers.

load clis

CLI=crush
CLI_TIMEOUT_MS=60000

cli_env() {
	recipe_crush
}

@test "crush (stand-in): version through the adapter" {
	cli_version
	assert_success
	run result '[.result.success, .result.content.version]'
	assert_output '[true,"0.96.1"]'
}

@test "crush (stand-in): an answer is a response, the prompt went through stdin" {
	provider_scenario '{"scenario":"answer","text":"main.c sums its arguments."}'
	ask "what does src/main.c do?"
	assert_success
	run result '[.result.success, .result.content.response, .result.content.files_modified]'
	assert_output '[true,"main.c sums its arguments.",[]]'
	run jq -r '.body.messages[0].content' "$PROVIDER_LOG"
	assert_output "what does src/main.c do?"
}

@test "crush (stand-in): HTTP 401 is auth, 429 rate_limit with the text's wait, 503 transient" {
	provider_scenario '{"scenario":"http","status":401}'
	ask "hi"
	assert_failure 1
	run result '[(.attempts | length), .attempts[0].error_class]'
	assert_output '[1,"auth"]'
	provider_scenario '{"scenario":"http","status":429}'
	ask "hi"
	run result '[.attempts[0].error_class, .attempts[0].retry_after_ms]'
	assert_output '["rate_limit",20000]'
	provider_scenario '{"scenario":"http","status":503}'
	ask "hi"
	run result '[.attempts[0].error_class, (.attempts[0].message | test("503"))]'
	assert_output '["transient",true]'
}
