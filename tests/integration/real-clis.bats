#!/usr/bin/env bats
# The example registry against the real CLIs installed from npm.  HOME is
# empty (nobody is logged in) and every proxy points at a closed loopback
# port, so no CLI reaches past this machine.

load clis

# No provider of one's own, no login: no address is exempt from the
# closed proxy.
cli_env() {
	export NO_PROXY='' no_proxy=''
}

@test "every real CLI answers capability version through its adapter" {
	# prettier, eslint and clang-format are declarative: no version.
	for t in claude codex gemini droid pi kilo; do
		# A node CLI starting on a busy machine can take more than 10 s.
		printf '{"capability":"version","tool_id":"%s","timeout_ms":60000,"payload":{}}\n' "$t"
	done >req.jsonl
	run sh -c "aim-resolve -r ../reg req.jsonl | aim-invoke >out.jsonl"
	assert_success
	run jq -r '[.tool_id, .result.success, .result.content.version] | @tsv' out.jsonl
	assert_line --index 0 --regexp '^claude	true	.*[0-9]+\.[0-9]+\.[0-9]+'
	assert_line --index 1 --regexp '^codex	true	.*[0-9]+\.[0-9]+\.[0-9]+'
	assert_line --index 2 --regexp '^gemini	true	[0-9]+\.[0-9]+\.[0-9]+'
	assert_line --index 3 --regexp '^droid	true	[0-9]+\.[0-9]+\.[0-9]+$'
	assert_line --index 4 --regexp '^pi	true	[0-9]+\.[0-9]+\.[0-9]+$'
	assert_line --index 5 --regexp '^kilo	true	[0-9]+\.[0-9]+\.[0-9]+$'
}

@test "claude, codex and gemini fail for lack of login, each with its own words" {
	for t in claude codex gemini; do
		printf '{"capability":"code_generation","tool_id":"%s","payload":{"prompt":"add a comment","files":["src/main.c"]}}\n' "$t"
	done >req.jsonl
	run sh -c "aim-resolve -r ../reg req.jsonl | aim-invoke >out.jsonl"
	assert_failure 1
	run jq -r '[.attempts[0].tool_id, .attempts[0].outcome, .attempts[0].message] | @tsv' out.jsonl
	assert_line --index 0 --regexp '^claude	failure	.*Not logged in'
	assert_line --index 1 --regexp '^codex	failure	.*Not logged in'
	assert_line --index 2 --regexp '^gemini	failure	.*Auth method'
}

@test "the chain falls back across the real CLIs to a tool that works" {
	# The example chain, with a local stand-in last instead of jules.
	cp -R ../reg reg
	cp "$ADAPTERS/ok.sh" reg/AIM_adapters/AIM_stub.sh
	jq '.tools.stub = {name:"stub", detectCommands:["sh"], capabilities:["code_generation"],
	    adapterScript:"%AIM_REGISTRY_PATH%/AIM_adapters/AIM_stub.sh"}' \
	    ../reg/AIM_registry.json >reg/AIM_registry.json
	jq '.capabilities.code_generation.fallback = ["codex","gemini","aider","stub","jules"]' \
	    "$EXAMPLE/AIM_cross-tool/AIM_coordination-rules.json" \
	    >reg/AIM_cross-tool/AIM_coordination-rules.json
	echo '{"capability":"code_generation","payload":{"prompt":"p","files":["src/main.c"]}}' >req.jsonl
	run sh -c "aim-resolve -r reg req.jsonl | aim-invoke | aim-audit -d audit >out.jsonl"
	assert_success
	run jq -c '[.tool_id, [.attempts[] | [.tool_id, .outcome]]]' out.jsonl
	assert_output '["stub",[["claude","failure"],["codex","failure"],["gemini","failure"],["aider","skipped"],["stub","success"]]]'
	# jules, after the tool that served, was never attempted.
	assert_equal "$(find audit -name '*_stub_code_generation.json' | wc -l)" 1
}

@test "formatting: clang-format rewrites the C file in place" {
	before=$(cksum <src/main.c)
	pipeline '{"capability":"formatting","payload":{"files":["src/main.c"]}}'
	assert_success
	assert_equal "$(result '.tool_id')" '"clang-format"'
	assert_equal "$(result '.result.content.files_modified[0]')" '"src/main.c"'
	[ "$(cksum <src/main.c)" != "$before" ]
	clang-format --dry-run -Werror src/main.c
}

@test "formatting: prettier rewrites the JavaScript file" {
	before=$(cksum <web/app.js)
	pipeline '{"capability":"formatting","tool_id":"prettier","payload":{"files":["web/app.js"]}}'
	assert_success
	assert_equal "$(result '.result.content.files_modified[0]')" '"web/app.js"'
	[ "$(cksum <web/app.js)" != "$before" ]
	"$AIM_TOOLS_BIN/prettier" --check web/app.js
}

@test "linting: shellcheck, cppcheck and eslint report findings" {
	pipeline '{"capability":"linting","payload":{"files":["scripts/build.sh"]}}' \
	    '{"capability":"linting","tool_id":"cppcheck","payload":{"files":["src/util.c"]}}' \
	    '{"capability":"linting","tool_id":"eslint","payload":{"files":["web/app.js"]}}'
	assert_success
	run jq -r '[.tool_id, .result.success, (.result.content.findings | length > 0)] | @tsv' ../out.jsonl
	assert_line --index 0 "shellcheck	true	true"
	assert_line --index 1 "cppcheck	true	true"
	assert_line --index 2 "eslint	true	true"
}

@test "real login failures are class auth: no retry, and the circuits they open route the next request past them" {
	# max_retries 1 in the example rules: auth is never retried.
	req='{"capability":"code_generation","payload":{"prompt":"p","files":["src/main.c"]}}'
	# allowed_fails 1: the first failure of each CLI opens its circuit
	# (aim-policy.bats counts failures up to allowed_fails with stand-ins).
	jq '.allowed_fails = 1' "$EXAMPLE/aim_config.json" >cfg.json
	run sh -c "echo '$req' | aim-resolve -c cfg.json -r '$EXAMPLE' | aim-invoke -c cfg.json >out.jsonl"
	assert_failure 1
	run jq -c '[.attempts[] | select(.tool_id == "claude" or .tool_id == "codex" or .tool_id == "gemini") | [.tool_id, .error_class, has("retry"), (.cooldown_until != null)]]' out.jsonl
	assert_output '[["claude","auth",false,true],["codex","auth",false,true],["gemini","auth",false,true]]'
	run sh -c "echo '$req' | aim-resolve -c cfg.json -r '$EXAMPLE' | jq -c '[.route.candidates[] | [.tool_id, .status]]'"
	assert_output '[["claude","cooldown"],["codex","cooldown"],["gemini","cooldown"],["aider","not_installed"],["jules","ready"]]'
}
