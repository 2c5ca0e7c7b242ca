#!/usr/bin/env bats
# The real gemini (Gemini CLI) through aim-resolve | aim-invoke | aim-audit
# and AIM_gemini.sh, against the stand-in model provider on 127.0.0.1.

load clis

CLI=gemini
CLI_TIMEOUT_MS=170000

cli_env() {
	aim_cli_env "$PROVIDER_URL"
}

# gemini offers its shell tool headless under auto_edit (AIM_gemini.sh) only
# when a policy allows it: the user's own, here the test's home's.  rm and
# printf only, printf's ">>" included.
allow_shell() {
	mkdir -p "$HOME/.gemini/policies"
	cat >"$HOME/.gemini/policies/shell.toml" <<-'EOT'
		[[rule]]
		toolName = "run_shell_command"
		commandPrefix = ["rm", "printf"]
		allowRedirection = true
		decision = "allow"
		priority = 100
	EOT
}

@test "gemini: an edit and a new file in one run: files, lines, tokens, session, model" {
	# No policy allows the shell tool: gemini offers file edits only.
	ask_steps "make the two changes" "Both done." edit create
	assert_success
	valid_content
	run result '[.tool_id, .result.success, .result.message]'
	assert_output '["gemini",true,"done (1 modified, 1 created; +3 -1 lines)"]'
	run changes
	assert_output '[["src/main.c"],["NOTES.md"],[],3,1,"Both done.","git",{"edits":2,"edits_failed":0,"failed":0,"total":2}]'
	run usage_session
	assert_output '[{"cached_input_tokens":120,"input_tokens":360,"output_tokens":90},false,true,"gemini-2.5-flash"]'
	grep -q 'long i;' src/main.c
	assert_equal "$(cat NOTES.md)" $'one\ntwo'
	run jq -c '.result.content | [.files_modified, .files_created,
	    .lines_added, .usage.output_tokens]' ../entry.json
	assert_output '[["src/main.c"],["NOTES.md"],3,90]'
}

@test "gemini: a file deleted through its shell tool is found in the work tree" {
	allow_shell
	ask_steps "delete web/app.js" "Deleted." delete
	assert_success
	valid_content
	run result '.result.message'
	assert_output '"done (0 modified, 0 created, 1 deleted; +0 -9 lines)"'
	run changes
	assert_output '[[],[],["web/app.js"],0,9,"Deleted.","git",{"edits":0,"edits_failed":0,"failed":0,"total":1}]'
	assert_file_not_exists web/app.js
	run jq -c '.result.content.files_deleted' ../entry.json
	assert_output '["web/app.js"]'
}

@test "gemini: a file edited through its shell tool, not its edit tool, is modified" {
	allow_shell
	ask_steps "append a comment to src/util.h" "Appended." shell_edit
	assert_success
	valid_content
	run changes
	assert_output '[["src/util.h"],[],[],1,0,"Appended.","git",{"edits":0,"edits_failed":0,"failed":0,"total":1}]'
	assert_equal "$(tail -n 1 src/util.h)" '/* x */'
	run jq -c '.result.content.files_modified' ../entry.json
	assert_output '["src/util.h"]'
}

@test "gemini: a run whose every edit fails is a failure of class bad_request" {
	ask_fails '{"scenario":"edit_fails","text":"I could not edit it."}'
	assert_output '{"outcome":"failure","error_class":"bad_request"}'
}

@test "gemini: 429 and 503 are rate_limit and transient, not quota; quota is quota" {
	ask_fails '{"scenario":"http","status":429,"retry_after":"7"}'
	assert_output --regexp '^\{"outcome":"failure","error_class":"rate_limit"(,"retry_after_ms":[0-9]+)?\}$'
	ask_fails '{"scenario":"http","status":503}'
	assert_output --regexp '^\{"outcome":"failure","error_class":"transient"(,"retry_after_ms":[0-9]+)?\}$'
	ask_fails '{"scenario":"quota"}'
	assert_output '{"outcome":"failure","error_class":"quota"}'
}

@test "gemini: a 429 it retries past the budget ends in time as rate_limit, not a bare timeout" {
	# Ten attempts with backoff do not fit 60 s: the adapter kills gemini
	# and still answers inside aim-invoke's timeout, with the class of
	# what gemini last said.
	jq '.general.maxAttempts = 10' "$HOME/.gemini/settings.json" >s.json
	mv s.json "$HOME/.gemini/settings.json"
	provider_scenario '{"scenario":"http","status":429}'
	jq -nc '{capability: "code_generation", tool_id: "gemini", timeout_ms: 60000,
	    payload: {prompt: "edit", files: ["src/main.c"]}}' >../req.jsonl
	run sh -c "aim-resolve -r ../reg ../req.jsonl | aim-invoke >../out.jsonl"
	assert_failure 1
	run jq -c '.attempts[-1] | [.outcome, .error_class]' ../out.jsonl
	assert_output '["failure","rate_limit"]'
}
