#!/usr/bin/env bats
# The real claude (Claude Code) through aim-resolve | aim-invoke | aim-audit
# and AIM_claude.sh, against the stand-in model provider on 127.0.0.1.

load clis

CLI=claude
CLI_TIMEOUT_MS=170000

cli_env() {
	aim_cli_env "$PROVIDER_URL"
}

@test "claude: edit, create, delete and a shell edit in one run: files, lines, tokens, cost, session, model" {
	ask_steps "make the four changes" "All four done." edit create delete shell_edit
	assert_success
	valid_content
	run result '[.tool_id, .result.success, .result.message]'
	assert_output '["claude",true,"done (2 modified, 1 created, 1 deleted; +4 -10 lines)"]'
	run changes
	assert_output '[["src/main.c","src/util.h"],["NOTES.md"],["web/app.js"],4,10,"All four done.","git",{"edits":2,"edits_failed":0,"failed":0,"total":5}]'
	# Six model turns (Read before Edit) of 120 + 40 cached in, 30 out, and
	# the cost claude computed.
	run jq -c '.result.content | [.usage, (.cost_usd > 0),
	    (.session_id | test("^[0-9a-f-]{36}$")), (.model | test("^claude"))]' ../out.jsonl
	assert_output '[{"cached_input_tokens":240,"input_tokens":960,"output_tokens":180},true,true,true]'
	# The files on disk, and the audit entry says the same.
	grep -q 'long i;' src/main.c
	assert_file_not_exists web/app.js
	assert_equal "$(cat NOTES.md)" $'one\ntwo'
	run jq -c '.result.content | [.files_modified, .files_created,
	    .files_deleted, .lines_added, .usage.output_tokens]' ../entry.json
	assert_output '[["src/main.c","src/util.h"],["NOTES.md"],["web/app.js"],4,180]'
}

@test "claude: a plain answer changes nothing" {
	provider_scenario '{"scenario":"answer","text":"Nothing to change."}'
	ask "is src/main.c fine?" '["src/main.c"]'
	assert_success
	run jq -c '.result.content | [.response, .files_modified, .files_created,
	    .files_deleted, .lines_added, .tool_calls.total]' ../out.jsonl
	assert_output '["Nothing to change.",[],[],[],0,0]'
	assert_equal "$(jq -r .result.message ../out.jsonl)" 'done (0 modified, 0 created; +0 -0 lines)'
}

@test "claude: a run whose every edit fails is a failure of class bad_request" {
	ask_fails '{"scenario":"edit_fails","text":"I could not edit it."}'
	assert_output '{"outcome":"failure","error_class":"bad_request"}'
	run jq -r '.attempts[-1].message' ../out.jsonl
	assert_output --regexp '^every edit failed \([0-9]+ of [0-9]+ edit tool calls\), no file changed: I could not edit it\.$'
	assert_equal "$(git status --porcelain)" ''
}

@test "claude: 429 with Retry-After is rate_limit with its wait, 401 auth, 529 transient" {
	# claude waits the Retry-After before its one retry: keep it short.
	ask_fails '{"scenario":"http","status":429,"retry_after":"1"}'
	assert_output '{"outcome":"failure","error_class":"rate_limit","retry_after_ms":1000}'
	assert_equal "$(jq -r '.attempts[-1].message' ../out.jsonl | cut -c 1-22)" 'rate limited, exit 1: '
	ask_fails '{"scenario":"http","status":401}'
	assert_output '{"outcome":"failure","error_class":"auth"}'
	ask_fails '{"scenario":"http","status":529}'
	assert_output --regexp '^\{"outcome":"failure","error_class":"transient"(,"retry_after_ms":[0-9]+)?\}$'
}
