#!/usr/bin/env bats
# The real codex (OpenAI Codex CLI) through aim-resolve | aim-invoke |
# aim-audit and AIM_codex.sh, against the stand-in model provider on
# 127.0.0.1 (Responses API; recipe in tests/providers/README.md).

load clis

CLI=codex
CLI_TIMEOUT_MS=170000

cli_env() {
	aim_cli_env "$PROVIDER_URL"
}

@test "codex: edit, create, delete and a shell edit in one run: files, lines, tokens, session, model" {
	ask_steps "make the four changes" "All four done." edit create delete shell_edit
	assert_success
	valid_content
	run result '[.tool_id, .result.success, .result.message]'
	assert_output '["codex",true,"done (2 modified, 1 created, 1 deleted; +4 -10 lines)"]'
	run changes
	assert_output '[["src/main.c","src/util.h"],["NOTES.md"],["web/app.js"],4,10,"All four done.","git",{"edits":3,"edits_failed":0,"failed":0,"total":4}]'
	# The session is codex's thread id; codex reports no cost.
	run usage_session
	assert_output '[{"cached_input_tokens":200,"input_tokens":600,"output_tokens":150},false,true,"gpt-5.5"]'
	grep -q 'long i;' src/main.c
	assert_file_not_exists web/app.js
	run jq -c '.result.content | [.files_modified, .files_created,
	    .files_deleted, .lines_added, .usage.output_tokens]' ../entry.json
	assert_output '[["src/main.c","src/util.h"],["NOTES.md"],["web/app.js"],4,150]'
}

@test "codex: a run whose every edit fails is a failure of class bad_request" {
	ask_fails '{"scenario":"edit_fails","text":"I could not edit it."}'
	assert_output '{"outcome":"failure","error_class":"bad_request"}'
	assert_equal "$(jq -r '.attempts[-1].message' ../out.jsonl)" \
	    'every edit failed (1 of 1 edit tool calls), no file changed: I could not edit it.'
}

@test "codex: 401 is auth, 429 rate_limit, 503 transient, quota quota" {
	ask_fails '{"scenario":"http","status":401}'
	assert_output '{"outcome":"failure","error_class":"auth"}'
	ask_fails '{"scenario":"http","status":429,"retry_after":"7"}'
	assert_output --regexp '^\{"outcome":"failure","error_class":"rate_limit"(,"retry_after_ms":[0-9]+)?\}$'
	ask_fails '{"scenario":"http","status":503}'
	assert_output --regexp '^\{"outcome":"failure","error_class":"transient"(,"retry_after_ms":[0-9]+)?\}$'
	ask_fails '{"scenario":"quota"}'
	assert_output '{"outcome":"failure","error_class":"quota"}'
}
