# clis.bash: loaded by the suites that run one real coding CLI against
# tests/providers/stub-provider (copilot.bats, opencode.bats, ...).
#
# cli_setup_file    in setup_file: start one provider for the file, a
#     cache shared by the file's tests (XDG_CACHE_HOME: a CLI that unpacks
#     itself on first run does it once)
# cli_setup         in setup: HOME, XDG dirs and a work tree (a copy of
#     examples/sample, a git repository) of the test's own, every proxy on
#     a closed loopback port, the provider's log emptied, a copy of the
#     example registry in ./reg where each new CLI is tried once
#     (max_retries 0)
# pipeline REQUEST-JSON...   aim-resolve | aim-invoke | aim-audit on the
#     requests; records in ../out.jsonl, status in $status, the attempts
#     in $output
# result JQ         jq on the one record of out.jsonl

load ../helper
load ../providers/providers

EXAMPLE=$TOP/examples/.AIM_ai-tools-registry

cli_setup_file() {
	# One provider (and scenario file) for the file: its tests take turns.
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	[ -n "${AIM_TOOLS_BIN:-}" ] || return 0
	export XDG_CACHE_HOME=$BATS_FILE_TMPDIR/cache
	mkdir -p "$XDG_CACHE_HOME"
	provider_start
}

cli_setup() {
	common_setup
	[ -n "${AIM_TOOLS_BIN:-}" ] || skip "AIM_TOOLS_BIN not set: run through tests/integration/run"
	export PATH="$AIM_TEST_BUILD:$AIM_TOOLS_BIN:$PATH"
	export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
	    https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
	    ALL_PROXY=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 \
	    NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
	export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share \
	    XDG_STATE_HOME=$HOME/.local/state
	: >"$PROVIDER_LOG"
	provider_scenario '{"scenario":"answer"}'
	mkdir work
	cp -R "$TOP/examples/sample/." work/
	cd work || return 1
	git init -q && git add -A &&
	    git -c user.name=t -c user.email=t@t.invalid commit -qm sample
	cp -R "$EXAMPLE" ../reg
	rm -rf ../reg/AIM_audit
	jq '.tools |= with_entries(if .key | IN("copilot", "opencode", "qwen",
	    "ollama", "continue", "crush", "aider") then
	    .value.max_retries = 0 else . end)' "$EXAMPLE/AIM_registry.json" \
	    >../reg/AIM_registry.json
}

cli_teardown_file() {
	provider_stop
}

pipeline() {
	printf '%s\n' "$@" >../req.jsonl
	run sh -c "aim-resolve -r ../reg ../req.jsonl | aim-invoke | aim-audit -d ../audit >../out.jsonl"
	# What a failed assertion shows: the attempts.
	output=$(jq -c '[.attempts[]? | {tool_id, outcome, error_class,
	    message}]' ../out.jsonl 2>&1)
}

result() {
	jq -c "$1" ../out.jsonl
}
