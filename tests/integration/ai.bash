# ai.bash: loaded by the suites that run claude, codex and gemini through
# aim-resolve | aim-invoke | aim-audit against tests/providers/stub-provider
# on 127.0.0.1.  HOME and the XDG directories are private, every proxy
# points at a closed loopback port and the CLIs' base URLs at the stand-in:
# nothing leaves the machine.  The recipes are in tests/providers/README.md.

load ../helper
load ../providers/providers

EXAMPLE=$TOP/examples/.AIM_ai-tools-registry

ai_setup() {
	common_setup
	[ -n "${AIM_TOOLS_BIN:-}" ] || skip "AIM_TOOLS_BIN not set: run through tests/integration/run"
	export PATH="$AIM_TEST_BUILD:$AIM_TOOLS_BIN:$PATH"
	export XDG_CONFIG_HOME=$HOME/.config XDG_CACHE_HOME=$HOME/.cache \
	    XDG_DATA_HOME=$HOME/.local/share XDG_STATE_HOME=$HOME/.local/state
	export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
	    https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
	    ALL_PROXY=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 \
	    NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
	provider_start
	# The example registry, retries off (each retry is one more CLI run).
	cp -R "$EXAMPLE" reg
	jq '.capabilities[].max_retries = 0' \
	    "$EXAMPLE/AIM_cross-tool/AIM_coordination-rules.json" \
	    >reg/AIM_cross-tool/AIM_coordination-rules.json
	# The sample tree, as a git work tree with one commit.
	mkdir tree
	cp -R "$TOP/examples/sample/." tree/
	git -C tree init -q
	git -C tree add -A
	git -C tree -c user.name=t -c user.email=t@example.invalid \
	    commit -qm sample
	cd tree || return 1
	ai_cli_env
}

# ai_cli_env: the three CLIs pointed at the stand-in.
ai_cli_env() {
	# shellcheck source=/dev/null
	. "$TOP/tests/integration/cli-env.sh"
	aim_cli_env "$PROVIDER_URL"
}

ai_teardown() {
	provider_stop
}

# ai_run TOOL PROMPT [FILES-JSON]: one code_generation request for TOOL
# through resolve, invoke and audit (a copy of the example registry, audit
# in ../audit) from the tree; the record in ../out.json, its audit entry in
# ../entry.json, the pipeline's status in $status.
ai_run() {
	jq -nc --arg t "$1" --arg p "$2" --argjson f "${3:-[\"src/main.c\"]}" \
	    '{capability: "code_generation", tool_id: $t, timeout_ms: 170000,
	      payload: {prompt: $p, files: $f}}' >../req.jsonl
	# No cooldown carried over from the test's earlier failures.
	rm -rf "$XDG_STATE_HOME/aim"
	run sh -c "aim-resolve -r ../reg ../req.jsonl | aim-invoke |
	    aim-audit -d ../audit >../out.json"
	_ai_status=$status
	jq -r '.audit.path // empty' ../out.json | xargs cat >../entry.json
	status=$_ai_status
}

# ai_attempt: outcome, error_class and retry_after_ms of the last attempt.
ai_attempt() {
	jq -c '.attempts[-1] | {outcome, error_class, retry_after_ms}
	    | with_entries(select(.value != null))' ../out.json
}

# ai_valid_content: the record's result content is valid against
# schemas/ai-content.json.
ai_valid_content() {
	jq '.result.content' ../out.json >../content.json
	"$AIM_TOOLS_BIN/ajv" validate --spec=draft2020 --strict-types=true \
	    --errors=text -s "$TOP/schemas/ai-content.json" -d ../content.json
}
