#!/usr/bin/env bats
# Factory's droid (npm droid) through AIM_droid.sh, against
# tests/providers/stub-provider: a model of one's own in
# ~/.factory/settings.json (customModels, generic-chat-completion-api,
# baseUrl), chosen with AIM_DROID_MODEL; no Factory login.  Three tests: a
# success, an auth failure, a rate limit.

load clis

CLI=droid
CLI_TIMEOUT_MS=150000

cli_env() {
	recipe_droid
}

@test "droid: an edit through its Edit tool: the file, lines, tokens, session" {
	ask_steps "change int to long" "Done." edit
	assert_success
	valid_content
	run result '[.tool_id, .result.success, .result.message]'
	assert_output '["droid",true,"done (1 modified, 0 created; +1 -1 lines)"]'
	# Read before Edit: two tool calls, one edit; three model turns.
	run changes
	assert_output '[["src/main.c"],[],[],1,1,"Done.","git",{"edits":1,"edits_failed":0,"failed":0,"total":2}]'
	run usage_session
	assert_output '[{"cached_input_tokens":120,"input_tokens":360,"output_tokens":90},false,true,"custom:Stub-0"]'
	grep -q 'long i;' src/main.c
	run jq -c '[.body.model, .body.messages[-1].role]' <(head -n 1 "$PROVIDER_LOG")
	assert_output '["stub-model","user"]'
}

@test "droid: HTTP 401 from the provider is auth" {
	ask_fails '{"scenario":"http","status":401}'
	assert_output '{"outcome":"failure","error_class":"auth"}'
	run result '.attempts[0].message | test("401 Incorrect API key")'
	assert_output true
}

@test "droid: HTTP 429 is rate_limit, with the wait of the provider's text" {
	# droid retries a 429 four times, about 85 s, whatever Retry-After says.
	ask_fails '{"scenario":"http","status":429,"retry_after":"1"}'
	assert_output '{"outcome":"failure","error_class":"rate_limit","retry_after_ms":20000}'
	assert_equal "$(grep -c chat/completions "$PROVIDER_LOG")" 5
}
