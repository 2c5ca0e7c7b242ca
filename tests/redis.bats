#!/usr/bin/env bats
# The state on Redis (aim-registry(5) "State backend"): a real
# redis-server per test (redis_start), and "machines" that share nothing
# but it: each its own HOME, XDG directories and audit directory.  The
# registry's directory is the same path for all, as on CI runners that
# check out one repository (the keys are namespaced by its hash).
# Registry: tests/fixtures/registries/redis (tools a and b run AIM_tool.sh;
# see its header).

load helper

setup() {
	common_setup
	redis_start
	fixture_registry "$REGS/redis"
	export AIM_LOG=$PWD/log
	: >"$AIM_LOG"
	config '{}'
	unset AIM_HOLD AIM_VAULT AIM_VAULT_KEYFILE
}

teardown() {
	redis_stop
}

# config JSON: reg/aim_config.json, JSON with the server's state_backend.
config() {
	jq -c --arg url "$REDIS_URL" '{state_backend: $url, allowed_fails: 1,
	    cooldown_ms: 60000} + '"$1" <<<null >reg/aim_config.json
}

# machine_env N: this shell on machine N (its own HOME, XDG and audit dirs).
machine_env() {
	export HOME=$BATS_TEST_TMPDIR/m$1
	mkdir -p "$HOME"
	export XDG_STATE_HOME=$HOME/state XDG_CONFIG_HOME=$HOME/config \
	    XDG_CACHE_HOME=$HOME/cache AIM_AUDIT_DIR=$HOME/audit
}

# machine N CMD...: CMD on machine N.
machine() {
	(
		machine_env "$1"
		shift
		"$@"
	)
}

# reqs CAP PAYLOAD N: N requests for CAP, ids r1..rN.
reqs() {
	local i
	for i in $(seq "$3"); do
		printf '{"id":"r%s","capability":"%s","payload":%s}\n' "$i" "$1" "$2"
	done
}

# serve N CAP PAYLOAD COUNT [aim-invoke options]: resolve and invoke on
# machine N; the records on stdout.
serve() {
	local m=$1 cap=$2 payload=$3 n=$4
	shift 4
	reqs "$cap" "$payload" "$n" | machine "$m" aim-resolve -r reg |
	    machine "$m" aim-invoke -r reg "$@"
}

# The keys of the server matching PATTERN, sorted.
rkeys() {
	redis-cli -p "$REDIS_PORT" --scan --pattern "$1" | sort
}

@test "a cooldown opened on one machine is seen by another; neither has a state file" {
	run -0 --separate-stderr serve 1 gen '{"fail":"a"}' 1
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.tool_id, .state, (.attempts[0].cooldown_until != null)]' <<<"$output")" '["b",null,true]'
	run -0 --separate-stderr machine 2 aim-resolve -r reg <<<"$(reqs gen '{}' 1)"
	assert_equal "$(jq -c '[.route.candidates[] | [.tool_id, .status]]' <<<"$output")" '[["a","cooldown"],["b","ready"]]'
	assert_equal "$(jq -r '.route.candidates[0].reason' <<<"$output" | sed 's/until .* after/until T after/')" \
	    'cooling down until T after repeated transient failures'
	# Namespaced by the registry's hash and the tool.
	assert_equal "$(rkeys '*:a:cooldown' | sed 's/^aim:[0-9a-f]\{16\}:/aim:H:/')" 'aim:H:a:cooldown'
	assert_file_not_exists "$BATS_TEST_TMPDIR/m1/state/aim/state.json"
	assert_file_not_exists "$BATS_TEST_TMPDIR/m2/state/aim/state.json"
	# aim status on a third machine, and the reset from a fourth.
	run -0 machine 3 aim status -r reg --json
	assert_equal "$(jq -c '[.cooldowns[] | [.tool_id, .class]]' <<<"$output")" '[["a","transient"]]'
	run -0 machine 3 aim-audit -r reg -d "$BATS_TEST_TMPDIR/m1/audit" metrics
	assert_line 'aim_cooldowns_open 1'
	run -0 machine 4 aim-resolve -r reg --reset-cooldown a
	assert_equal "$(rkeys '*:a:cooldown')" ''
	# One failure of two allowed on one machine, a success on another:
	# the window is empty again.
	config '{"allowed_fails": 2}'
	serve 1 gen '{"fail":"a"}' 1 >/dev/null
	assert_equal "$(rkeys '*:a:failures' | wc -l)" 1
	serve 2 gen '{}' 1 >/dev/null
	assert_equal "$(rkeys '*:a:failures')" ''
}

@test "max_concurrent 2 holds across 8 processes of 4 jobs each; every lease is given back" {
	local m n
	n=$(stress 10)
	for m in 1 2 3 4 5 6 7 8; do
		serve "$m" gen '{"nap":1}' "$n" -j 4 >"out$m.jsonl" 2>"err$m" &
	done
	wait
	assert_equal "$(cat err?)" ""
	assert_equal "$(cat out?.jsonl | jq -s -c '[length, all(.result.success), ([.[] | .state] | unique)]')" "[$((8 * n)),true,[null]]"
	# The log's order is the events': never more than 2 at once.
	run awk '$1 == "+" { n++; if (n > max) max = n } $1 == "-" { n-- } END { print NR, max }' "$AIM_LOG"
	assert_output "$((16 * n)) 2"
	assert_equal "$(rkeys '*:leases')" ''
	assert_file_not_exists "$BATS_TEST_TMPDIR/m1/state/aim/slots"
}

@test "round_robin stays even across processes: one shared counter" {
	local m
	for m in 1 2 3 4; do
		reqs lb '{}' 6 | machine "$m" aim-resolve -r reg >"routed$m.jsonl" &
	done
	wait
	run -0 jq -s -c 'group_by(.route.candidates[0].tool_id) | map([.[0].route.candidates[0].tool_id, length])' routed?.jsonl
	assert_output '[["a",12],["b",12]]'
	assert_equal "$(redis-cli -p "$REDIS_PORT" get "$(rkeys '*:@counter:*')")" 24
}

@test "a lease is renewed past its TTL while the attempt runs; kill -9 of its holder frees it when the TTL runs out" {
	local pid tool i
	config '{"state_lease_ttl_ms": 500}'
	sed -i 's/"max_concurrent": 2/"max_concurrent": 1/' reg/AIM_cross-tool/AIM_coordination-rules.json
	mkfifo hold
	export AIM_HOLD=$PWD/hold
	reqs gen '{"hold":1}' 1 | machine 1 aim-resolve -r reg >held.jsonl
	# exec: $! is aim-invoke's own pid, for the kill.
	(
		machine_env 1
		exec aim-invoke -r reg held.jsonl
	) >/dev/null 2>&1 3>&- &
	pid=$!
	for i in $(seq 200); do
		grep -q '^+ a' "$AIM_LOG" && break
		sleep 0.02
	done
	tool=$(awk '$1 == "+" { print $3 }' "$AIM_LOG")
	[ -n "$tool" ] || fail "the holder never started"
	# 600 ms, more than the TTL (each sleep less): the holder renewed it.
	sleep 0.3
	sleep 0.3
	assert_equal "$(redis-cli -p "$REDIS_PORT" zcard "$(rkeys '*:a:leases')")" 1
	kill -9 "$pid" "$tool"
	wait "$pid" || :
	assert_equal "$(redis-cli -p "$REDIS_PORT" zcard "$(rkeys '*:a:leases')")" 1
	# Queued on another machine: it gets the slot once the lease runs out.
	run -0 --separate-stderr serve 2 gen '{}' 1
	assert_equal "$(jq -c '[.tool_id, [.attempts[].outcome]]' <<<"$output")" '["a",["success"]]'
	assert_equal "$(rkeys '*:a:leases')" ''
}

@test "Redis stopped mid-run: the file state, one warning, the marker from then on, no record lost; Redis back: shared again" {
	printf '%s\n' '{"id":"r1","capability":"gen","payload":{}}' \
	    '{"id":"r2","capability":"gen","payload":{}}' \
	    '{"id":"r3","capability":"gen","payload":{"stop":1}}' \
	    '{"id":"r4","capability":"gen","payload":{}}' \
	    '{"id":"r5","capability":"gen","payload":{"fail":"a"}}' |
	    machine 1 aim-resolve -r reg >routed.jsonl
	run -0 --separate-stderr machine 1 aim-invoke -j 1 -r reg routed.jsonl
	# r3's own release and success are sent unread (one round trip an
	# attempt): whether its end already meets the server gone is the
	# kernel's timing; from r4 on it is sure.
	assert_equal "$(jq -s -c 'map([.id, .tool_id, if .id == "r3" then (.state == null or .state == "degraded") else .state end])' <<<"$output")" \
	    '[["r1","a",null],["r2","a",null],["r3","a",true],["r4","a","degraded"],["r5","b","degraded"]]'
	assert_regex "$stderr" "^aim-invoke: $REDIS_URL: [^;]+; using the file state \(degraded\)\$"
	# The failure went to the file state instead.
	assert_equal "$(jq -c '[.registries[].tools.a.cooldown_class]' "$BATS_TEST_TMPDIR/m1/state/aim/state.json")" '["transient"]'
	redis_start
	run -0 --separate-stderr serve 2 gen '{}' 1
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.tool_id, .state]' <<<"$output")" '["a",null]'
	[ -n "$(rkeys 'aim:*:a:fence')" ] || fail "nothing on the server"
}

@test "Redis down from the start: every record marked degraded, one warning per process" {
	redis_stop
	run -0 --separate-stderr serve 1 gen '{}' 2
	assert_equal "$(jq -s -c 'map(.state)' <<<"$output")" '["degraded","degraded"]'
	assert_equal "$(sort <<<"$stderr")" "aim-invoke: $REDIS_URL: Connection refused; using the file state (degraded)
aim-resolve: $REDIS_URL: Connection refused; using the file state (degraded)"
}

@test "a bad state_backend, a password in the URL: exit 3 naming file:line:column" {
	local url want
	for url in 'redis://:pw@127.0.0.1:6379/0' 'redis://127.0.0.1:99999' 'memcached://x' \
	    'redis://127.0.0.1:6379/0/extra'; do
		printf '{\n  "state_backend": "%s"\n}\n' "$url" >reg/aim_config.json
		run -3 --separate-stderr aim-resolve -r reg <<<"$(reqs gen '{}' 1)"
		case $url in
		*@*) want='a password must not be written in the URL; name a vault secret in state_password_secret' ;;
		memcached*) want="\"$url\" is neither \"file\" nor a redis:// URL" ;;
		*) want="\"$url\" is not redis://host[:port][/db]" ;;
		esac
		assert_equal "$stderr" "aim-resolve: $PWD/reg/aim_config.json:2:20: state_backend: $want"
	done
}

@test "state_password_secret: the password from the vault; a wrong one is a degraded state, said once" {
	redis-cli -p "$REDIS_PORT" config set requirepass 'pw of 16 chars!' >/dev/null
	aim-secret -f "$PWD/vault" init --keyfile "$PWD/key"
	export AIM_VAULT=$PWD/vault AIM_VAULT_KEYFILE=$PWD/key
	printf '%s' 'pw of 16 chars!' | aim-secret set redis/pw
	printf '%s' 'wrong' | aim-secret set redis/bad
	config '{"state_password_secret": "redis/pw"}'
	run -0 --separate-stderr serve 1 lb '{}' 1
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.tool_id, .state]' <<<"$output")" '["a",null]'
	assert_equal "$(redis-cli -p "$REDIS_PORT" --pass 'pw of 16 chars!' --no-auth-warning --scan --pattern '*:@counter:*' | wc -l)" 1
	config '{"state_password_secret": "redis/bad"}'
	run -0 --separate-stderr machine 2 aim-resolve -r reg <<<"$(reqs lb '{}' 1)"
	assert_regex "$stderr" "^aim-resolve: $REDIS_URL: WRONGPASS[^;]*; using the file state \(degraded\)\$"
	config '{"state_password_secret": "redis/none"}'
	run -0 --separate-stderr machine 2 aim-resolve -r reg <<<"$(reqs lb '{}' 1)"
	assert_equal "$stderr" "aim-resolve: $REDIS_URL: state_password_secret 'redis/none': no such secret in the vault; using the file state (degraded)"
}

@test "spend adds up across machines: a budget spent on two is exhausted on a third" {
	rm -rf reg
	cp -r "$REGS/budget" reg
	jq -c --arg url "$REDIS_URL" '. + {state_backend: $url}' "$REGS/budget/aim_config.json" >reg/aim_config.json
	# 3.15 a request on each of two machines: 6.30 of paid's 6 a day.
	serve 1 code '{}' 1 >/dev/null
	serve 2 code '{}' 1 >/dev/null
	run -0 --separate-stderr machine 3 aim-resolve -r reg <<<"$(reqs code '{}' 1)"
	assert_equal "$(jq -c '[.route.candidates[] | [.tool_id, .status]]' <<<"$output")" '[["paid","budget_exhausted"],["cheap","ready"]]'
	assert_equal "$(redis-cli -p "$REDIS_PORT" get "$(rkeys '*:paid:spend:*')")" 6.3
	assert_equal "$(redis-cli -p "$REDIS_PORT" get "$(rkeys '*:code:capability-spend:*')")" 6.3
	[ "$(redis-cli -p "$REDIS_PORT" pttl "$(rkeys '*:paid:spend:*')")" -gt $((8 * 86400000)) ] || fail "no TTL past the day"
}
