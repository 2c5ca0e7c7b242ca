# providers.bash: start and drive tests/providers/stub-provider from bats.
# Source it from a suite (load providers/providers, or ../providers/providers
# from tests/integration/).
#
# provider_start [SCENARIO-JSON]   start one in $BATS_TEST_TMPDIR (or
#     $BATS_FILE_TMPDIR from setup_file); exports PROVIDER_URL
#     (http://127.0.0.1:PORT), PROVIDER_PORT, PROVIDER_LOG, PROVIDER_SCENARIO
#     (the scenario file) and PROVIDER_DIR
# provider_scenario JSON           rewrite the scenario file (read again on
#     every request)
# provider_requests                print the logged requests, one JSON a line
# provider_stop                    stop it (safe when none runs)
# provider_cli_env CLI             point claude, codex or gemini at it

PROVIDER_BIN=${PROVIDER_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/stub-provider}

provider_start() {
	local dir=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:?not in bats}}/provider i
	local answer='{"scenario":"answer"}'
	mkdir -p "$dir"
	# A second start in the same place replaces the first.
	if [ -s "$dir/pid" ]; then
		PROVIDER_DIR=$dir provider_stop
	fi
	rm -f "$dir/port" "$dir/pid"
	export PROVIDER_DIR=$dir PROVIDER_LOG=$dir/requests.jsonl \
	    PROVIDER_SCENARIO=$dir/scenario.json
	printf '%s\n' "${1:-$answer}" >"$PROVIDER_SCENARIO"
	# fd 3 closed: bats waits for it to close before it ends the test.
	# --parent: the bats process of the test (or of the file, from
	# setup_file), so a run that never gets to provider_stop leaves none.
	"$PROVIDER_BIN" --port-file "$dir/port" --log "$PROVIDER_LOG" \
	    --scenario-file "$PROVIDER_SCENARIO" --parent $$ \
	    2>"$dir/stderr" 3>&- &
	echo $! >"$dir/pid"
	for ((i = 0; i < 400; i++)); do
		[ -s "$dir/port" ] && break
		if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			echo "provider_start: stub-provider exited: $(cat "$dir/stderr")" >&2
			return 1
		fi
		sleep 0.05
	done
	if [ ! -s "$dir/port" ]; then
		echo "provider_start: no port after 20 s" >&2
		provider_stop
		return 1
	fi
	PROVIDER_PORT=$(cat "$dir/port")
	export PROVIDER_PORT PROVIDER_URL=http://127.0.0.1:$PROVIDER_PORT
}

provider_scenario() {
	printf '%s\n' "${1:?usage: provider_scenario JSON}" >"$PROVIDER_SCENARIO.tmp" &&
	    mv "$PROVIDER_SCENARIO.tmp" "$PROVIDER_SCENARIO"
}

provider_requests() {
	cat "${PROVIDER_LOG:?no provider started}"
}

provider_stop() {
	local pid i
	[ -n "${PROVIDER_DIR:-}" ] && [ -s "$PROVIDER_DIR/pid" ] || return 0
	pid=$(cat "$PROVIDER_DIR/pid")
	rm -f "$PROVIDER_DIR/pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# provider_cli_env CLI: point CLI (claude, codex or gemini) at the running
# provider, as tests/providers/README.md says for each: exports its key and
# base-URL variables, writes its config under $HOME (which must be the
# test's private HOME), turns off telemetry, updates and retries, and points
# every proxy variable at a closed loopback port, 127.0.0.1 exempt.
provider_cli_env() {
	: "${PROVIDER_URL:?provider_start first}"
	export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
	    https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
	    ALL_PROXY=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 \
	    NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
	case $1 in
	claude)
		export ANTHROPIC_BASE_URL=$PROVIDER_URL \
		    ANTHROPIC_API_KEY=sk-ant-test-0000 \
		    DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 \
		    DISABLE_ERROR_REPORTING=1 \
		    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
		    CLAUDE_CODE_MAX_RETRIES=0
		;;
	codex)
		export CODEX_HOME=$HOME/.codex STUB_API_KEY=sk-test-0000
		unset OPENAI_API_KEY CODEX_API_KEY
		mkdir -p "$CODEX_HOME"
		cat >"$CODEX_HOME/config.toml" <<-TOML
			model_provider = "stub"
			model = "gpt-5.5"
			[model_providers.stub]
			name = "stub"
			base_url = "$PROVIDER_URL/v1"
			env_key = "STUB_API_KEY"
			wire_api = "responses"
			request_max_retries = 0
			stream_max_retries = 0
		TOML
		;;
	gemini)
		export GEMINI_API_KEY=test-key-0000 \
		    GOOGLE_GEMINI_BASE_URL=$PROVIDER_URL \
		    GEMINI_CLI_TRUST_WORKSPACE=true
		unset GOOGLE_API_KEY GOOGLE_GENAI_USE_VERTEXAI
		mkdir -p "$HOME/.gemini"
		cat >"$HOME/.gemini/settings.json" <<-JSON
			{"security": {"auth": {"selectedType": "gemini-api-key"}},
			 "general": {"maxAttempts": 1},
			 "model": {"name": "gemini-2.5-flash"}}
		JSON
		;;
	*)
		echo "provider_cli_env: no recipe for $1" >&2
		return 1
		;;
	esac
}
