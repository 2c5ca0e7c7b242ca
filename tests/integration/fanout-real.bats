#!/usr/bin/env bats
# aim-fanout and aim-apply with the real claude and codex as the two
# candidates (issue 15's Tests), each against a stand-in model provider of
# its own on 127.0.0.1 (tests/providers/README.md; one scenario a stub,
# and the two must edit differently): on tests/fixtures/fanout/repo,
# whose test.sh fails until add adds, claude's model makes add multiply
# (the tests still fail), codex's makes it add.  The environment is
# clis.bash's: HOME and XDG dirs the test's own, every proxy closed.

load ../helper
load ../providers/providers
unset -f jq
# shellcheck source=tests/integration/cli-env.sh
. "$TOP/tests/integration/cli-env.sh"

setup() {
	common_setup
	[ -n "${AIM_TOOLS_BIN:-}" ] || skip "AIM_TOOLS_BIN not set: run through tests/integration/run"
	export PATH="$AIM_TEST_BUILD:$AIM_TOOLS_BIN:$PATH"
	aim_offline
	export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share \
	    XDG_STATE_HOME=$HOME/.local/state XDG_CACHE_HOME=$HOME/.cache
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t.invalid \
	    GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t.invalid
	# shellcheck disable=SC2016 # the $ are calc.sh's
	BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR/claude provider_start \
	    '{"scenario":"edit","file":"calc.sh","old":"$1 - $2","new":"$1 * $2","text":"Made it multiply."}'
	CLAUDE_DIR=$PROVIDER_DIR
	aim_cli_env "$PROVIDER_URL"
	# shellcheck disable=SC2016
	BATS_TEST_TMPDIR=$BATS_TEST_TMPDIR/codex provider_start \
	    '{"scenario":"edit","file":"calc.sh","old":"$1 - $2","new":"$1 + $2","text":"Made it add."}'
	CODEX_DIR=$PROVIDER_DIR
	sed -i "s|^base_url = .*|base_url = \"$PROVIDER_URL/v1\"|" "$CODEX_HOME/config.toml"
	cp -R "$TOP/examples/.AIM_ai-tools-registry" reg
	rm -rf reg/AIM_audit
	jq '.tools[].max_retries = 0' \
	    "$TOP/examples/.AIM_ai-tools-registry/AIM_registry.json" >reg/AIM_registry.json
	cp -R "$FIX/fanout/repo" p
	cd p || return 1
	git init -q && git add . && git commit -qm base
}

teardown() {
	PROVIDER_DIR=$CLAUDE_DIR provider_stop
	PROVIDER_DIR=$CODEX_DIR provider_stop
}

@test "fan-out: real claude breaks the tests, real codex fixes them; codex wins verified, apply leaves its diff, no worktree left" {
	echo '{"capability":"code_generation","timeout_ms":170000,"payload":{"prompt":"make add add","files":["calc.sh"]}}' |
	    aim-resolve -r ../reg >../in.jsonl
	run -0 --separate-stderr aim-fanout -t claude,codex --verify 'sh test.sh' ../in.jsonl
	echo "$output" >../fan.jsonl
	run -0 jq -r '.fanout | .winner, .why, (.candidates[] | [.tool_id,
	    .status, .verify.status, .files_changed] | join(" ")), .kept' ../fan.jsonl
	assert_output "codex
passed verify; smallest diff (2 lines in 1 file) of 1
claude success failed 1
codex success passed 1
false"
	# Each CLI talked to its own provider.
	assert_equal "$(jq -r .path "$CLAUDE_DIR/requests.jsonl" | sort -u) $(jq -r .path "$CODEX_DIR/requests.jsonl" | sort -u)" \
	    "/v1/messages?beta=true /v1/responses"
	assert_equal "$(find "$XDG_STATE_HOME/aim/worktrees" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) $(git worktree list | wc -l)" "0 1"
	run -0 --separate-stderr aim-apply ../fan.jsonl
	assert_equal "$(jq -c -S .apply <<<"$output")" '{"applied":true,"files":["calc.sh"],"tool_id":"codex"}'
	assert_equal "$(git status --porcelain)" " M calc.sh"
	assert_equal "$(git diff)" "$(jq -r '.fanout.candidates[] | select(.tool_id == "codex") | .diff' ../fan.jsonl | sed '$d')"
	run -0 sh test.sh
}
