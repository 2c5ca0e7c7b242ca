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
#
# The CLIs' environment for it: tests/integration/cli-env.sh.

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
