# clis.bash: the library of the suites that run one real coding CLI
# (claude.bats, codex.bats, copilot.bats, ..., real-clis.bats) through
# aim-resolve | aim-invoke | aim-audit, against tests/providers/stub-provider
# on 127.0.0.1.  HOME and the XDG directories are the test's own, every
# proxy points at a closed loopback port: nothing leaves the machine.  The
# recipes are in tests/providers/README.md.
#
# It defines setup_file, teardown_file and setup; a suite sets
#   CLI               the tool id of its requests (ask, cli_version)
#   CLI_TIMEOUT_MS    the timeout_ms of ask's requests
#   cli_env           (a function, optional) run at the end of setup, in
#       the work tree: the CLI's own environment and configuration
#
# setup_file   one provider (and scenario file) for the file, whose tests
#     take turns; a cache shared by the file's tests (XDG_CACHE_HOME: a
#     CLI that unpacks itself on first run does it once)
# setup        HOME, XDG dirs and a work tree (a copy of examples/sample,
#     a git repository with one commit) of the test's own, the current
#     directory; the provider's log emptied, its scenario "answer"; a copy
#     of the example registry in ../reg where every tool is tried once
#     (max_retries 0: each retry is one more CLI run) and gemini and qwen
#     are not started twice
# pipeline REQUEST-JSON...   aim-resolve | aim-invoke | aim-audit on the
#     requests, no cooldown of an earlier run in the way; records in
#     ../out.jsonl, the audit entries they name in ../entry.json, status
#     in $status, the attempts in $output
# ask PROMPT [FILES-JSON]   one code_generation request for $CLI
# ask_steps PROMPT TEXT CHANGE...   ask PROMPT about src/main.c, the model
#     making the CHANGEs in turn, then answering TEXT; each model turn 120
#     tokens in (40 cached), 30 out.  edit: "int i;" to "long i;" in
#     src/main.c; create: NOTES.md, "one\ntwo\n"; delete: web/app.js;
#     shell_edit: a line appended to src/util.h (the command
#     $ASK_SHELL_EDIT when set)
# ask_notes         ask "write NOTES.md", the model creating it ("# Notes")
#     and answering "Created NOTES.md."
# ask_fails SCENARIO-JSON   ask "edit the file" about src/main.c of the
#     provider in SCENARIO: the pipeline fails (status 1), $output is
#     last_attempt
# changes           the result's files modified, created and deleted,
#     lines added and removed, response, changes_scope and tool_calls
# usage_session     the result's usage, whether it has a cost_usd, whether
#     its session_id is a UUID, its model
# cli_version       one version request for $CLI (60 s: a node CLI starting
#     on a busy machine can take more than 10 s)
# assert_semver     the record's result is a success with an x.y.z version
# result JQ         jq -c on the records of ../out.jsonl
# last_attempt      outcome, error_class and retry_after_ms of the last
#     attempt
# valid_content     the result content is valid against
#     schemas/ai-content.json

load ../helper
load ../providers/providers
# Real jq, not the helper's gojq: these suites compare records with the
# key order the CLIs and the stand-in provider write, and start jq seldom
# beside what the CLIs cost.
unset -f jq
# shellcheck source=tests/integration/cli-env.sh
. "$TOP/tests/integration/cli-env.sh"

EXAMPLE=$TOP/examples/.AIM_ai-tools-registry

# The recipes of the CLIs beyond cli-env.sh's three, one function a tool:
# its configuration under $HOME or $XDG_CONFIG_HOME, pointed at the
# stand-in's OpenAI-compatible endpoint ($PROVIDER_URL/v1).  A suite's
# cli_env runs its tool's; matrix.bash runs them all.
recipe_copilot() {
	export COPILOT_PROVIDER_BASE_URL=$PROVIDER_URL/v1 \
	    COPILOT_PROVIDER_API_KEY=sk-test-0000 COPILOT_MODEL=stub-model \
	    COPILOT_OFFLINE=true
}

recipe_qwen() {
	export OPENAI_BASE_URL=$PROVIDER_URL/v1 OPENAI_API_KEY=sk-test-0000 \
	    OPENAI_MODEL=stub-model
	# No background memory extraction: one conversation with the model;
	# no retries of its own on 429 (one attempt, then the error).
	mkdir -p "$HOME/.qwen"
	echo '{"memory":{"enableManagedAutoMemory":false},"model":{"generationConfig":{"maxRetries":0}}}' \
	    >"$HOME/.qwen/settings.json"
}

recipe_continue() {
	mkdir -p "$HOME/.continue"
	cat >"$HOME/.continue/config.yaml" <<-YAML
	name: aim-test
	version: 1.0.0
	schema: v1
	models:
	  - name: stub
	    provider: openai
	    model: stub-model
	    apiBase: $PROVIDER_URL/v1
	    apiKey: sk-test-0000
	    roles: [chat, edit, apply]
	YAML
	export AIM_CONTINUE_CONFIG=$HOME/.continue/config.yaml
}

recipe_droid() {
	mkdir -p "$HOME/.factory"
	jq -n --arg url "$PROVIDER_URL/v1" '{customModels: [{model: "stub-model",
	    displayName: "Stub", baseUrl: $url, apiKey: "sk-test-0000",
	    provider: "generic-chat-completion-api", maxOutputTokens: 4096}]}' \
	    >"$HOME/.factory/settings.json"
	export AIM_DROID_MODEL=custom:stub-model
}

recipe_pi() {
	mkdir -p "$HOME/.pi/agent"
	jq -n --arg url "$PROVIDER_URL/v1" '{providers: {stub: {baseUrl: $url,
	    api: "openai-completions", apiKey: "sk-test-0000",
	    models: [{id: "stub-model"}]}}}' >"$HOME/.pi/agent/models.json"
	echo '{"defaultProvider": "stub", "defaultModel": "stub-model",
	    "retry": {"enabled": false, "provider": {"maxRetries": 0}}}' \
	    >"$HOME/.pi/agent/settings.json"
}

recipe_crush() {
	export PATH="$FIX/crush:$PATH"
	mkdir -p "$XDG_CONFIG_HOME/crush"
	jq -n --arg url "$PROVIDER_URL/v1" '{providers: {stub: {
	    type: "openai-compat", base_url: $url, api_key: "sk-test-0000",
	    models: [{id: "stub-model"}]}}}' >"$XDG_CONFIG_HOME/crush/crush.json"
}

# recipe_opencode [DIR NAME [SNAPSHOT]]: opencode's configuration, or
# kilo's (a fork of it) into DIR/NAME.json; SNAPSHOT false spares a git
# tree of the work tree per step.
recipe_opencode() {
	local dir=${1:-$XDG_CONFIG_HOME/opencode} name=${2:-opencode}
	mkdir -p "$dir"
	jq -n --arg url "$PROVIDER_URL/v1" --argjson snap "${3:-null}" '{
	    "$schema": "https://opencode.ai/config.json",
	    provider: {stub: {npm: "@ai-sdk/openai-compatible", name: "stub",
	        options: {baseURL: $url, apiKey: "sk-test-0000"},
	        models: {"stub-model": {name: "stub-model"}}}},
	    model: "stub/stub-model"} + if $snap == null then {}
	    else {snapshot: $snap} end' >"$dir/$name.json"
}

recipe_kilo() {
	recipe_opencode "$XDG_CONFIG_HOME/kilo" kilo false
}

# recipe_ollama: the example registry copy's ollama tool (the
# openai-compat adapter) pointed at the stand-in.
recipe_ollama() {
	jq --arg url "$PROVIDER_URL/v1" '.tools.ollama.endpoint = $url
	    | .tools.ollama.models = ["coder-7b"]' ../reg/AIM_registry.json \
	    >../reg/r.json && mv ../reg/r.json ../reg/AIM_registry.json
}

setup_file() {
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	[ -n "${AIM_TOOLS_BIN:-}" ] || return 0
	export XDG_CACHE_HOME=$BATS_FILE_TMPDIR/cache
	mkdir -p "$XDG_CACHE_HOME"
	provider_start
}

teardown_file() {
	provider_stop
}

setup() {
	common_setup
	[ -n "${AIM_TOOLS_BIN:-}" ] || skip "AIM_TOOLS_BIN not set: run through tests/integration/run"
	export PATH="$AIM_TEST_BUILD:$AIM_TOOLS_BIN:$PATH"
	aim_offline
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
	# gemini and qwen start in one node process, not two or three (each
	# starts again with other node flags unless told not to): the same
	# CLI, a third of its CPU spared.
	export GEMINI_CLI_NO_RELAUNCH=true QWEN_CODE_NO_RELAUNCH=true
	jq '.tools[].max_retries = 0
	    | .tools.gemini.passEnv += ["GEMINI_CLI_NO_RELAUNCH"]
	    | .tools.qwen.passEnv += ["QWEN_CODE_NO_RELAUNCH"]' \
	    "$EXAMPLE/AIM_registry.json" >../reg/AIM_registry.json
	if declare -F cli_env >/dev/null; then
		cli_env
	fi
}

pipeline() {
	printf '%s\n' "$@" >../req.jsonl
	rm -rf "$XDG_STATE_HOME/aim"
	run sh -c "aim-resolve -r ../reg ../req.jsonl | aim-invoke | aim-audit -d ../audit >../out.jsonl"
	local st=$status
	jq -r '.audit.path // empty' ../out.jsonl | xargs -r cat >../entry.json
	status=$st
	# What a failed assertion shows: the attempts.
	# shellcheck disable=SC2034 # bats shows it
	output=$(jq -c '[.attempts[]? | {tool_id, outcome, error_class,
	    message}]' ../out.jsonl 2>&1)
}

ask() {
	pipeline "$(jq -nc --arg t "$CLI" --argjson ms "$CLI_TIMEOUT_MS" \
	    --arg p "$1" --argjson f "${2:-[]}" \
	    '{capability: "code_generation", tool_id: $t, timeout_ms: $ms,
	      payload: {prompt: $p, files: $f}}')"
}

ask_steps() {
	local prompt=$1 text=$2 c steps=()
	shift 2
	for c in "$@"; do
		case $c in
		edit) steps+=('{"scenario":"edit","file":"src/main.c","old":"int i;","new":"long i;"}') ;;
		create) steps+=('{"scenario":"create","file":"NOTES.md","content":"one\ntwo\n"}') ;;
		delete) steps+=('{"scenario":"delete","file":"web/app.js"}') ;;
		shell_edit)
			if [ -n "${ASK_SHELL_EDIT:-}" ]; then
				steps+=("$(jq -nc --arg c "$ASK_SHELL_EDIT" \
				    '{scenario: "shell_edit", command: $c}')")
			else
				steps+=('{"scenario":"shell_edit","command":"printf \"/* x */\\n\" >> src/util.h"}')
			fi
			;;
		*) echo "ask_steps: no change $c" >&2; return 1 ;;
		esac
	done
	provider_scenario "$(printf '%s\n' "${steps[@]}" | jq -sc --arg t "$text" \
	    '{scenario: "steps", steps: ., text: $t, usage: {input_tokens: 120,
	      output_tokens: 30, cached_input_tokens: 40}}')"
	ask "$prompt" '["src/main.c"]'
}

ask_notes() {
	provider_scenario '{"scenario":"create","file":"NOTES.md","content":"# Notes\n","text":"Created NOTES.md."}'
	ask "write NOTES.md"
}

ask_fails() {
	provider_scenario "$1"
	ask "edit the file" '["src/main.c"]'
	assert_failure 1
	run last_attempt
}

changes() {
	result '.result.content | [.files_modified, .files_created,
	    .files_deleted, .lines_added, .lines_removed, .response,
	    .changes_scope, .tool_calls]'
}

usage_session() {
	result '.result.content | [.usage, has("cost_usd"),
	    (.session_id | test("^[0-9a-f-]{36}$")), .model]'
}

cli_version() {
	pipeline "$(jq -nc --arg t "$CLI" \
	    '{capability: "version", tool_id: $t, timeout_ms: 60000, payload: {}}')"
}

assert_semver() {
	run result '[.result.success, .result.content.version]'
	assert_output --regexp '^\[true,"[0-9]+\.[0-9]+\.[0-9]+"\]$'
}

result() {
	jq -c "$1" ../out.jsonl
}

last_attempt() {
	jq -c '.attempts[-1] | {outcome, error_class, retry_after_ms}
	    | with_entries(select(.value != null))' ../out.jsonl
}

valid_content() {
	jq '.result.content' ../out.jsonl >../content.json
	"$AIM_TOOLS_BIN/ajv" validate --spec=draft2020 --strict-types=true \
	    --errors=text -s "$TOP/schemas/ai-content.json" -d ../content.json
}
