#!/usr/bin/env bats
# Qwen Code (npm @qwen-code/qwen-code) through its adapter, against
# tests/providers/stub-provider as an OpenAI-compatible endpoint
# (OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL).

load clis

CLI=qwen
CLI_TIMEOUT_MS=240000

cli_env() {
	recipe_qwen
}

@test "qwen: version through the adapter" {
	cli_version
	assert_success
	assert_semver
}

@test "qwen: an edit (read_file, then edit) is a success naming the file, with tokens and the session" {
	provider_scenario '{"scenario":"edit","file":"src/main.c","old":"int i;int total=0;","new":"int i; int total = 0;","text":"Spaced the declarations.","usage":{"input_tokens":120,"output_tokens":30}}'
	ask "space the declarations in src/main.c" '["src/main.c"]'
	assert_success
	run result '[.tool_id, .result.success, .result.content.response, .result.content.files_modified, .result.content.files_created, .result.content.lines_added, .result.content.lines_removed, .result.content.tool_calls, .result.content.model]'
	assert_output '["qwen",true,"Spaced the declarations.",["src/main.c"],[],1,1,{"edits":1,"edits_failed":0,"failed":0,"total":2},"stub-model"]'
	grep -qxF 'int i; int total = 0;' src/main.c
	run result '[.result.content.usage.input_tokens, .result.content.usage.output_tokens, (.result.content.session_id | test("^[0-9a-f-]{36}$"))]'
	assert_output '[360,90,true]'
	run sh -c "jq -r '[.method, .path, .body.model] | @tsv' '$PROVIDER_LOG' | sort -u"
	assert_output "POST	/v1/chat/completions	stub-model"
}

@test "qwen: a new file from write_file is in files_created" {
	ask_notes
	assert_success
	run result '[.result.success, .result.content.files_created, .result.content.files_modified, .result.content.response]'
	assert_output '[true,["NOTES.md"],[],"Created NOTES.md."]'
	assert_equal "$(cat NOTES.md)" "# Notes"
}

@test "qwen: HTTP 401 from the provider is auth" {
	provider_scenario '{"scenario":"http","status":401}'
	ask "hi"
	assert_failure 1
	run result '[(.attempts | length), .attempts[0].error_class, .attempts[0].message]'
	assert_output --regexp '^\[1,"auth","authentication failed .*401'
}

@test "qwen: HTTP 429 is rate_limit, not quota, with the wait of the provider's text" {
	# qwen adds "Possible quota limitations in place ..." to every 429.
	# It retries six times, waiting the Retry-After (1 s) when there is
	# one, else backing off for more than a minute; its last words still
	# name the text's 20 s.
	provider_scenario '{"scenario":"http","status":429,"retry_after":"1"}'
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, .attempts[0].retry_after_ms]'
	assert_output '["rate_limit",20000]'
}
