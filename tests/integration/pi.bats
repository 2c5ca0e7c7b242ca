#!/usr/bin/env bats
# pi (npm @mariozechner/pi-coding-agent) through AIM_pi.sh, against
# tests/providers/stub-provider: a provider of one's own in
# ~/.pi/agent/models.json (openai-completions, baseUrl), made the default
# in ~/.pi/agent/settings.json, with pi's retries off.  Three tests: a
# success, an auth failure, a rate limit.

load clis

CLI=pi
CLI_TIMEOUT_MS=90000

cli_env() {
	recipe_pi
}

@test "pi: an edit through its edit tool: the file, lines, tokens, session, model" {
	ask_steps "change int to long" "Done." edit
	assert_success
	valid_content
	run result '[.tool_id, .result.success, .result.message]'
	assert_output '["pi",true,"done (1 modified, 0 created; +1 -1 lines)"]'
	run changes
	assert_output '[["src/main.c"],[],[],1,1,"Done.","git",{"edits":1,"edits_failed":0,"failed":0,"total":1}]'
	run usage_session
	assert_output '[{"cached_input_tokens":80,"input_tokens":240,"output_tokens":60},true,true,"stub-model"]'
	grep -q 'long i;' src/main.c
	# The prompt went through stdin.
	run jq -r '.body.messages[] | select(.role == "user") | .content
	    | if type == "array" then map(.text? // "") | join("") else . end' \
	    <(head -n 1 "$PROVIDER_LOG")
	assert_output --partial "change int to long"
}

@test "pi: HTTP 401 from the provider is auth" {
	ask_fails '{"scenario":"http","status":401}'
	assert_output '{"outcome":"failure","error_class":"auth"}'
	run result '.attempts[0].message | test("401")'
	assert_output true
}

@test "pi: HTTP 429 is rate_limit, with the wait of the provider's text" {
	ask_fails '{"scenario":"http","status":429,"retry_after":"1"}'
	assert_output '{"outcome":"failure","error_class":"rate_limit","retry_after_ms":20000}'
	assert_equal "$(grep -c chat/completions "$PROVIDER_LOG")" 1
}
