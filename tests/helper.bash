# helper.bash: loaded by every bats suite.
bats_require_minimum_version 1.5.0

# bats-support, bats-assert and bats-file, sourced directly: their load.bash
# files run dirname once per source file, and bats loads this helper for
# every test (47 ms of CPU a test that way, 6 ms this way).
for f in /usr/lib/bats/bats-support/src/output.bash \
    /usr/lib/bats/bats-support/src/error.bash \
    /usr/lib/bats/bats-support/src/lang.bash \
    /usr/lib/bats/bats-assert/src/*.bash \
    /usr/lib/bats/bats-file/src/file.bash \
    /usr/lib/bats/bats-file/src/temp.bash; do
	# shellcheck disable=SC1090
	source "$f" || return 1
done
unset f

# The top of the tree, from tests/ or a directory below it (no subshell:
# this too runs for every test).
TOP=$BATS_TEST_DIRNAME
until [ -f "$TOP/lib/aim.h" ] || [ -z "$TOP" ]; do TOP=${TOP%/*}; done
FIX=$TOP/tests/fixtures
ADAPTERS=$FIX/adapters
REGS=$FIX/registries
# The adapter kit's error patterns (aim-adapter(7) KIT), for the tests
# that source it with "sh -c" (so that $0 is not an adapter beside them).
export AIM_PATTERNS=$TOP/examples/.AIM_ai-tools-registry/AIM_adapters/error-patterns

# jq: gojq when it is installed (Debian's gojq, in TEST_DEPS for the
# adapter kit), real jq otherwise.  jq 1.6 compiles its builtins at every
# start (25-40 ms of CPU), gojq starts in ~3 ms, and the suites start jq
# some 2,000 times a run.  It reaches the jq the tests run in bash (run,
# pipes, $(...)), not "sh -c 'jq ...'" or scripts.  What differs:
# gojq writes object keys sorted and iterates objects (.[], to_entries,
# with_entries) in sorted key order where jq keeps insertion order, and
# has no keys_unsorted, so a test of the order of the keys our programs
# write calls "command jq"; its error messages and some exit codes differ (invalid
# JSON input exits 5, jq 1.6 4); numbers print exactly (1e+20 is
# 100000000000000000000, 3e-05 is 0.00003); it has no --seq, and no -S
# (it always sorts), so a lone -S is dropped here: a test that compares
# objects without their key order writes "jq -c -S" and sorted keys.
if command -v gojq >/dev/null; then
	jq() {
		local a args=()
		for a; do
			[ "$a" = -S ] || args+=("$a")
		done
		gojq "${args[@]}"
	}
fi

# frozen_clock_build: for setup_file.  Builds tests/fixtures/frozen-clock.c,
# the LD_PRELOAD shim whose CLOCK_REALTIME stands still, and exports FROZEN,
# its path (empty without a C compiler: frozen_at then skips).
frozen_clock_build() {
	FROZEN=
	if command -v cc >/dev/null &&
	    cc -shared -fPIC -o "$BATS_FILE_TMPDIR/frozen-clock.so" "$FIX/frozen-clock.c"; then
		FROZEN=$BATS_FILE_TMPDIR/frozen-clock.so
	fi
	export FROZEN
}

# frozen_at SECONDS CMD...: CMD with CLOCK_REALTIME stopped at SECONDS
# since the epoch.
frozen_at() {
	[ -n "$FROZEN" ] || skip "no C compiler for tests/fixtures/frozen-clock.c"
	local t=$1
	shift
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	    LD_PRELOAD=$FROZEN AIM_FROZEN_TIME=$t "$@"
}

# fixture_registry DIR: a registry in ./reg made of a fixture directory
# that keeps it flat: DIR/AIM_registry.json, DIR/rules.json (the
# coordination rules) and DIR/AIM_*.sh (its script adapters).
fixture_registry() {
	local f
	mkdir -p reg/AIM_adapters reg/AIM_cross-tool
	cp "$1/AIM_registry.json" reg/
	cp "$1/rules.json" reg/AIM_cross-tool/AIM_coordination-rules.json
	for f in "$1"/AIM_*.sh; do
		[ -e "$f" ] && cp "$f" reg/AIM_adapters/
	done
	return 0
}

# stress N: how many rounds a stress test makes: N, or a quarter of N in
# the ASan+UBSan run (AIM_TEST_SAN=1, set by tests/check), where every
# process start costs ten times as much and memory errors, not counts,
# are what is looked for.
stress() {
	if [ -n "${AIM_TEST_SAN:-}" ]; then
		echo $(($1 / 4))
	else
		echo "$1"
	fi
}

common_setup() {
	# A world of our own: no registry, config or audit dir leaks in.
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	unset AIM_REGISTRY_PATH AIM_CONFIG AIM_AUDIT_DIR XDG_CONFIG_HOME XDG_STATE_HOME \
	    XDG_CACHE_HOME AIM_NO_CACHE
	cd "$BATS_TEST_TMPDIR" || return 1
}

# routed TOOL ADAPTER [TIMEOUT_MS] [PAYLOAD]: one routed record with a single
# ready candidate running ADAPTER; PAYLOAD is a jq expression ({} default),
# so a big one need not pass through argv: '{big: ("a" * 600000)}'.
routed() {
	jq -nc --arg t "$1" --arg a "$2" --argjson ms "${3:-5000}" \
	    '{id:$t, capability:"test", payload:('"${4:-{\}}"'),
	      route:{capability:"test", strategy:"ordered", registry:"/nonexistent",
	        candidates:[{tool_id:$t, status:"ready", argv:[$a], timeout_ms:$ms}]}}'
}

# routed_many PREFIX N ADAPTER [TIMEOUT_MS]: N routed records as routed
# makes them, ids and tool ids PREFIX1..PREFIXN, from one jq.
routed_many() {
	jq -nc --arg p "$1" --argjson n "$2" --arg a "$3" \
	    --argjson ms "${4:-5000}" 'range(1; $n + 1) | ($p + tostring) as $t |
	    {id:$t, capability:"test", payload:{},
	      route:{capability:"test", strategy:"ordered", registry:"/nonexistent",
	        candidates:[{tool_id:$t, status:"ready", argv:[$a], timeout_ms:$ms}]}}'
}

# redis_start: a redis-server of the test's own on a free loopback port,
# its directory in the test's tmp, no persistence; exports REDIS_PORT,
# REDIS_DIR and REDIS_URL (redis://127.0.0.1:PORT/0) once it answers
# PING.  Skips when redis-server is missing (make test-deps installs it).
# Again after redis_stop: the same port.
redis_start() {
	local i tries=0
	command -v redis-server >/dev/null || skip "no redis-server (make test-deps installs it)"
	mkdir -p "$BATS_TEST_TMPDIR/redis"
	REDIS_DIR=$(cd "$BATS_TEST_TMPDIR/redis" && pwd -P)
	while :; do
		[ -n "${REDIS_PORT:-}" ] || REDIS_PORT=$((20000 + RANDOM % 40000))
		redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
		    --appendonly no --dir "$REDIS_DIR" --daemonize yes \
		    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" 3>&- &&
		    for i in $(seq 100); do
			# Ours, not a server of another suite on that port.
			[ "$(redis-cli -p "$REDIS_PORT" config get dir 2>/dev/null | tail -1)" = "$REDIS_DIR" ] && break 2
			grep -q 'Address already in use' "$REDIS_DIR/redis.log" 2>/dev/null && break
			sleep 0.02
		    done
		# Taken (by another suite's server, say): another port.
		tries=$((tries + 1))
		[ "$tries" -lt 5 ] || fail "redis-server would not start: $(tail -3 "$REDIS_DIR/redis.log")"
		rm -f "$REDIS_DIR/redis.log" "$REDIS_DIR/redis.pid"
		REDIS_PORT=
	done
	export REDIS_PORT REDIS_DIR REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
}

# redis_stop: the server of redis_start gone (SIGTERM: no password
# needed), waited for.
redis_stop() {
	local pid i
	[ -n "${REDIS_DIR:-}" ] && [ -f "$REDIS_DIR/redis.pid" ] || return 0
	pid=$(cat "$REDIS_DIR/redis.pid")
	kill "$pid" 2>/dev/null
	# Until the port is closed (kill -0 would wait for the reaping of
	# a zombie by a PID 1 that may be slow to).
	for i in $(seq 100); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || break
		sleep 0.02
	done
	rm -f "$REDIS_DIR/redis.pid"
	return 0
}
