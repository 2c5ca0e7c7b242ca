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
	provider_scenario '{"scenario":"steps","steps":[
	    {"scenario":"edit","file":"src/main.c","old":"int i;","new":"long i;"},
	    {"scenario":"create","file":"NOTES.md","content":"one\ntwo\n"},
	    {"scenario":"delete","file":"web/app.js"},
	    {"scenario":"shell_edit","command":"printf \"/* x */\\n\" >> src/util.h"}],
	    "text":"All four done.","usage":{"input_tokens":120,"output_tokens":30,"cached_input_tokens":40}}'
	ask "make the four changes" '["src/main.c"]'
	assert_success
	valid_content
	run jq -c '[.tool_id, .result.success, .result.message]' ../out.jsonl
	assert_output '["codex",true,"done (2 modified, 1 created, 1 deleted; +4 -10 lines)"]'
	run jq -c '.result.content | [.files_modified, .files_created,
	    .files_deleted, .lines_added, .lines_removed, .response,
	    .changes_scope, .tool_calls]' ../out.jsonl
	assert_output '[["src/main.c","src/util.h"],["NOTES.md"],["web/app.js"],4,10,"All four done.","git",{"total":4,"failed":0,"edits":3,"edits_failed":0}]'
	# The session is codex's thread id; codex reports no cost.
	run jq -c '.result.content | [.usage, has("cost_usd"),
	    (.session_id | test("^[0-9a-f-]{36}$")), .model]' ../out.jsonl
	assert_output '[{"input_tokens":600,"output_tokens":150,"cached_input_tokens":200},false,true,"gpt-5.5"]'
	grep -q 'long i;' src/main.c
	assert_file_not_exists web/app.js
	run jq -c '.result.content | [.files_modified, .files_created,
	    .files_deleted, .lines_added, .usage.output_tokens]' ../entry.json
	assert_output '[["src/main.c","src/util.h"],["NOTES.md"],["web/app.js"],4,150]'
}

@test "codex: a run whose every edit fails is a failure of class bad_request" {
	provider_scenario '{"scenario":"edit_fails","text":"I could not edit it."}'
	ask "edit the file" '["src/main.c"]'
	assert_failure 1
	assert_equal "$(last_attempt)" '{"outcome":"failure","error_class":"bad_request"}'
	assert_equal "$(jq -r '.attempts[-1].message' ../out.jsonl)" \
	    'every edit failed (1 of 1 edit tool calls), no file changed: I could not edit it.'
}

@test "codex: 401 is auth, 429 rate_limit, 503 transient, quota quota" {
	provider_scenario '{"scenario":"http","status":401}'
	ask "edit the file" '["src/main.c"]'
	assert_failure 1
	assert_equal "$(last_attempt)" '{"outcome":"failure","error_class":"auth"}'
	provider_scenario '{"scenario":"http","status":429,"retry_after":"7"}'
	ask "edit the file" '["src/main.c"]'
	assert_failure 1
	run last_attempt
	assert_output --regexp '^\{"outcome":"failure","error_class":"rate_limit"(,"retry_after_ms":[0-9]+)?\}$'
	provider_scenario '{"scenario":"http","status":503}'
	ask "edit the file" '["src/main.c"]'
	assert_failure 1
	run last_attempt
	assert_output --regexp '^\{"outcome":"failure","error_class":"transient"(,"retry_after_ms":[0-9]+)?\}$'
	provider_scenario '{"scenario":"quota"}'
	ask "edit the file" '["src/main.c"]'
	assert_failure 1
	assert_equal "$(last_attempt)" '{"outcome":"failure","error_class":"quota"}'
}
