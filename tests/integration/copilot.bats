#!/usr/bin/env bats
# The GitHub Copilot CLI (npm @github/copilot) through its adapter, in BYOK
# mode against tests/providers/stub-provider: COPILOT_PROVIDER_BASE_URL,
# no GitHub login, COPILOT_OFFLINE (no other traffic at all).

load clis

CLI=copilot
CLI_TIMEOUT_MS=120000

cli_env() {
	recipe_copilot
}

@test "copilot: version through the adapter" {
	cli_version
	assert_success
	assert_semver
}

@test "copilot: an edit through its edit tool is a success naming the file, with tokens and the session" {
	provider_scenario '{"scenario":"edit","file":"src/main.c","old":"int i;int total=0;","new":"int i; int total = 0;","text":"Spaced the declarations.","usage":{"input_tokens":120,"output_tokens":30}}'
	ask "space the declarations in src/main.c" '["src/main.c"]'
	assert_success
	run result '[.tool_id, .result.success, .result.content.response, .result.content.files_modified, .result.content.files_created, .result.content.lines_added, .result.content.lines_removed, .result.content.tool_calls, .result.content.model]'
	assert_output '["copilot",true,"Spaced the declarations.",["src/main.c"],[],1,1,{"edits":1,"edits_failed":0,"failed":0,"total":1},"stub-model"]'
	grep -qxF 'int i; int total = 0;' src/main.c
	# Two model calls (the tool call, then the answer after its result).
	run result '.result.content.usage'
	assert_output '{"cached_input_tokens":0,"input_tokens":240,"output_tokens":60}'
	run result '.result.content.session_id | test("^[0-9a-f-]{36}$")'
	assert_output true
	# The request went to the stand-in, as chat completions with tools.
	run sh -c "jq -r '[.method, .path, .body.model, (.body.tools | length > 0)] | @tsv' '$PROVIDER_LOG' | sort -u"
	assert_output "POST	/v1/chat/completions	stub-model	true"
	# aim-audit kept the attempt.
	assert_equal "$(find ../audit -name '*_copilot_code_generation.json' | wc -l)" 1
}

@test "copilot: a new file from its create tool is in files_created" {
	ask_notes
	assert_success
	run result '[.result.success, .result.content.files_created, .result.content.files_modified, .result.content.response]'
	assert_output '[true,["NOTES.md"],[],"Created NOTES.md."]'
	assert_equal "$(cat NOTES.md)" "# Notes"
}

@test "copilot: a plain answer is a response only, no file touched" {
	provider_scenario '{"scenario":"answer","text":"main.c sums its arguments."}'
	ask "what does src/main.c do?"
	assert_success
	run result '[.result.success, .result.content.response, .result.content.files_modified, .result.content.files_created, .result.content.tool_calls.total]'
	assert_output '[true,"main.c sums its arguments.",[],[],0]'
	run git status --porcelain
	assert_output ''
}

@test "copilot: a run whose every edit failed is a failure" {
	provider_scenario '{"scenario":"edit_fails","text":"I could not edit the file."}'
	ask "edit the file"
	assert_failure 1
	run result '[.attempts[0].outcome, .attempts[0].error_class, .attempts[0].message]'
	assert_output '["failure","bad_request","every edit failed (1 of 1 edit tool calls), no file changed: I could not edit the file."]'
}

@test "copilot: HTTP 401 from the provider is auth, not retried" {
	provider_scenario '{"scenario":"http","status":401}'
	ask "hi"
	assert_failure 1
	run result '[(.attempts | length), .attempts[0].error_class, (.attempts[0].message | test("HTTP 401"))]'
	assert_output '[1,"auth",true]'
}

@test "copilot: HTTP 429 is rate_limit with the provider's Retry-After in retry_after_ms" {
	# copilot retries 5 times itself, waiting Retry-After each time; the
	# header's 1 s wins over the body's "Please try again in 20s".
	provider_scenario '{"scenario":"http","status":429,"retry_after":"1"}'
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, .attempts[0].retry_after_ms]'
	assert_output '["rate_limit",1000]'
	assert_equal "$(grep -c chat/completions "$PROVIDER_LOG")" 6
}

@test "copilot: HTTP 503 is transient" {
	provider_scenario '{"scenario":"http","status":503,"retry_after":"1"}'
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, (.attempts[0].message | test("503"))]'
	assert_output '["transient",true]'
}

@test "copilot: no GitHub login and no provider of one's own is auth" {
	unset COPILOT_PROVIDER_BASE_URL COPILOT_PROVIDER_API_KEY COPILOT_OFFLINE
	ask "hi"
	assert_failure 1
	run result '[.attempts[0].error_class, .attempts[0].message]'
	assert_output --regexp '^\["auth","authentication failed .*No authentication information found'
	assert_equal "$(wc -l <"$PROVIDER_LOG")" 0
}
