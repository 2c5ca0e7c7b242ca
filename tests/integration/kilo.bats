#!/usr/bin/env bats
# Kilo Code CLI (npm @kilocode/cli) through AIM_kilo.sh (AIM_opencode.sh),
# against tests/providers/stub-provider: a provider of one's own in
# ~/.config/kilo/kilo.json (@ai-sdk/openai-compatible, baseURL), no Kilo
# login.  kilo, like opencode, costs about 15 s of CPU a run: one test, a
# success; its failures are opencode's, which AIM_opencode.sh reads for both
# and opencode.bats tests (401, 429, 503).

load clis

CLI=kilo
CLI_TIMEOUT_MS=240000

cli_env() {
	recipe_kilo
}

@test "kilo: an edit through its edit tool: the file, lines, tokens, session" {
	ask_steps "change int to long" "Done." edit
	assert_success
	valid_content
	run result '[.tool_id, .result.success, .result.message]'
	assert_output '["kilo",true,"done (1 modified, 0 created; +1 -1 lines)"]'
	run changes
	assert_output '[["src/main.c"],[],[],1,1,"Done.","git",{"edits":1,"edits_failed":0,"failed":0,"total":1}]'
	run result '[.result.content.usage.output_tokens, (.result.content.session_id | startswith("ses_"))]'
	assert_output '[60,true]'
	grep -q 'long i;' src/main.c
	# Only the model was asked: no title request, no model list download.
	run sh -c "jq -r '[.method, .path, .body.model] | @tsv' '$PROVIDER_LOG' | sort | uniq -c | awk '{\$1 = \$1; print}'"
	assert_output "2 POST /v1/chat/completions stub-model"
}
