#!/usr/bin/env bats
# The routing policy of issue 6 through aim-resolve and aim-invoke: error
# classes, retries and back-off, one deadline, cooldowns shared through the
# state file, load-balancing strategies, context and security limits,
# max_concurrent across processes, --strict, fallback: false, --dry-run,
# fallback_depth and degraded.  Registry: tests/fixtures/registries/policy
# (tools a, b, c run tests/fixtures/adapters/class.sh; see its header).

load helper

P=$REGS/policy
# The registry's key in the state file: its canonical directory.
PR=$(realpath "$P")

setup() {
	common_setup
	export XDG_STATE_HOME=$BATS_TEST_TMPDIR/state
	STATE=$XDG_STATE_HOME/aim/state.json
	LOG=$BATS_TEST_TMPDIR/log
	# Fast retries, no circuit breaker unless a test asks for one.
	echo '{"retry_base_ms": 1, "retry_max_ms": 10, "cooldown_ms": 0, "kill_grace_ms": 100}' >cfg.json
}

# req CAP PAYLOAD [JQ]: one request line; PAYLOAD is a JSON object (log is
# added), JQ edits the request.
req() {
	jq -nc --arg c "$1" --argjson p "${2:-\{\}}" --arg log "$LOG" \
	    '{id:"r", capability:$c, payload:({log:$log} + $p)} | '"${3:-.}"
}

# resolve CAP PAYLOAD [JQ]: req through aim-resolve into routed.jsonl.
resolve() {
	req "$@" | aim-resolve -c cfg.json -r "$P" >routed.jsonl
}

# invoke [OPTS]: routed.jsonl through aim-invoke into out.jsonl; $status.
invoke() {
	run --separate-stderr aim-invoke -c cfg.json "$@" routed.jsonl
	printf '%s\n' "$output" >out.jsonl
}

# runs TOOL: how many times class.sh ran as TOOL.
runs() {
	if [ -e "$LOG" ]; then grep -c "^$1 " "$LOG"; else echo 0; fi
}

# attempts JQ: one line of JQ per attempt of out.jsonl, joined in an array.
attempts() {
	jq -c "[.attempts[] | $1]" out.jsonl
}

# state JQ: the policy registry's part of the state file through jq.
state() {
	jq -c --arg r "$PR" '.registries[$r] | '"$1" "$STATE"
}

# other_registry: ./other, a copy of the policy registry (same tool ids).
other_registry() {
	cp -R "$P" other
	jq --arg a "$ADAPTERS/class.sh" '.tools[].adapterScript = $a' "$P/AIM_registry.json" >other/AIM_registry.json
}

# seed: the state file from stdin's {tools, counters} for the policy
# registry.
seed() {
	mkdir -p "$XDG_STATE_HOME/aim"
	jq -c --arg r "$PR" '{version: 2, registries: {($r): {counters: (.counters // {}), tools: .tools}}}' >"$STATE"
}

# ---- checks ----

@test "--check: the policy registry passes; every bad policy key is a problem naming its file and position" {
	run --separate-stderr aim-resolve --check -r "$P"
	assert_success
	assert_equal "$stderr" ""
	cp -R "$P" reg
	jq --arg a "$ADAPTERS/class.sh" '.tools[].adapterScript = $a | .tools.a.weight = -1 | .tools.b.cost = "x" | .tools.c.max_retries = -1' \
	    "$P/AIM_registry.json" >reg/AIM_registry.json
	jq '.capabilities.gen.loadBalanceStrategy = "random" | .capabilities.ctx.context_requirements.prompt = "maybe"
	    | .capabilities.gen.fallback = true | .capabilities.lb.deadline_ms = -1 | .capabilities.lb.max_retries = "2"
	    | .capabilities.lb.min_attempt_ms = 1.5
	    | .conflict_resolution.concurrent_access.strategy = "drop" | .conflict_resolution.concurrent_access.max_concurrent = 0
	    | .security.max_file_count = -1 | .security.forbidden_paths = "/etc"' \
	    "$P/AIM_cross-tool/AIM_coordination-rules.json" >reg/AIM_cross-tool/AIM_coordination-rules.json
	echo '{"allowed_fails": 0, "cooldown_ms": -1, "retry_base_ms": "5", "failure_window_ms": 0, "deadline_ms": 1.5}' >reg/aim_config.json
	run --separate-stderr aim-resolve --check -r reg
	assert_failure 1
	r="^aim-resolve: $PWD/reg"
	n="[0-9]+:[0-9]+"
	for want in \
	    "/aim_config.json:$n: allowed_fails must be a positive integer" \
	    "/aim_config.json:$n: failure_window_ms must be a positive integer" \
	    "/aim_config.json:$n: cooldown_ms must be a non-negative integer" \
	    "/aim_config.json:$n: retry_base_ms must be a non-negative integer" \
	    "/aim_config.json:$n: deadline_ms must be a non-negative integer" \
	    "/AIM_registry.json:$n: tool 'a': weight must be a non-negative number" \
	    "/AIM_registry.json:$n: tool 'b': cost must be a non-negative number" \
	    "/AIM_registry.json:$n: tool 'c': max_retries must be a non-negative integer" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: capability 'gen': fallback must be an array of strings" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: capability 'gen': loadBalanceStrategy must be one of \"round_robin\", \"weighted\", \"least_recent_failure\", \"cheapest\"" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: capability 'lb': deadline_ms must be a non-negative integer" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: capability 'lb': min_attempt_ms must be a non-negative integer" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: capability 'lb': max_retries must be a non-negative integer" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: capability 'ctx': context_requirements.prompt must be one of \"required\", \"optional\"" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: security.max_file_count must be a non-negative integer" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: security.forbidden_paths must be an array of strings" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: conflict_resolution.concurrent_access.max_concurrent must be a positive integer" \
	    "/AIM_cross-tool/AIM_coordination-rules.json:$n: conflict_resolution.concurrent_access.strategy must be one of \"queue\", \"reject\""; do
		printf '%s\n' "$stderr" | grep -Eq -- "$r${want//./\\.}\$" || fail "no line: $want"
	done
	assert_equal "${#stderr_lines[@]}" 18
}

# ---- error classes and retries ----

@test "retryable classes (rate_limit, transient, timeout) are retried max_retries times, each retry an attempt" {
	for cls in rate_limit transient timeout; do
		rm -f "$LOG"
		resolve gen "{\"fail_a\":\"$cls\"}"
		invoke
		assert_success
		run attempts '[.tool_id, .outcome, .error_class, .retry]'
		assert_output "[[\"a\",\"failure\",\"$cls\",null],[\"a\",\"failure\",\"$cls\",1],[\"a\",\"failure\",\"$cls\",2],[\"b\",\"success\",null,null]]"
		assert_equal "$(runs a)" 3
		assert_equal "$(runs b)" 1
		assert_equal "$(runs c)" 0
		# The tried ones but the last wait before the next try.
		run attempts '.backoff_ms != null'
		assert_output '[true,true,false,false]'
	done
}

@test "auth, bad_request, content_policy, not_installed, quota, context_too_long are never retried" {
	for cls in auth bad_request content_policy not_installed quota context_too_long; do
		rm -f "$LOG"
		resolve gen "{\"fail_a\":\"$cls\"}"
		invoke
		assert_success
		run attempts '[.tool_id, .error_class, .retry, .backoff_ms]'
		assert_output "[[\"a\",\"$cls\",null,null],[\"b\",null,null,null]]"
		assert_equal "$(runs a)" 1
	done
}

@test "a class aim derives: exit 3 transient and a timeout timeout, retried; an unknown class or none unclassified, never retried" {
	rm -f "$LOG"
	resolve gen '{"fail_a":"exit"}'
	invoke
	assert_success
	run attempts '[.outcome, .error_class, .retry]'
	assert_output '[["exit","transient",null],["exit","transient",1],["exit","transient",2],["success",null,null]]'
	# An error_class aim does not know is no class: unclassified.
	rm -f "$LOG"
	resolve gen '{"fail_a":"tool_error"}'
	invoke
	assert_success
	run attempts '[.tool_id, .outcome, .error_class, .retry, .backoff_ms]'
	assert_output '[["a","failure","unclassified",null,null],["b","success",null,null,null]]'
	assert_equal "$(runs a)" 1
	# fail.sh: {"success":false} with no class at all.
	routed x "$ADAPTERS/fail.sh" | jq -c '.route.candidates[0].max_retries = 1' >routed.jsonl
	invoke
	assert_failure 1
	run attempts '[.outcome, .error_class, .retry]'
	assert_output '[["failure","unclassified",null]]'
	rm -f "$LOG"
	resolve gen '{"fail_a":"hang"}' '.timeout_ms = 300'
	# b only answers: give it time on a loaded machine.
	jq -c '.route.candidates[1].timeout_ms = 20000' routed.jsonl >r2.jsonl
	mv r2.jsonl routed.jsonl
	invoke
	assert_success
	run attempts '[.tool_id, .outcome, .error_class, .retry]'
	assert_output '[["a","timeout","timeout",null],["a","timeout","timeout",1],["a","timeout","timeout",2],["b","success",null,null]]'
}

@test "unclassified failures never open a cooldown: a formatter stays up for the valid files" {
	# The breaker at its defaults: three counted failures would open it.
	echo '{"retry_base_ms": 1, "retry_max_ms": 10}' >cfg.json
	for i in 1 2 3 4 5; do
		routed fmt "$ADAPTERS/fail.sh" | jq -c --arg i "$i" '.id = $i'
	done >routed.jsonl
	routed fmt "$ADAPTERS/ok.sh" | jq -c '.id = "valid"' >>routed.jsonl
	invoke
	assert_failure 1
	run jq -c '[.id, .tool_id, [.attempts[] | .outcome, .error_class, .cooldown_until]]' out.jsonl
	assert_line --index 0 '["1",null,["failure","unclassified",null]]'
	assert_line --index 4 '["5",null,["failure","unclassified",null]]'
	assert_line --index 5 '["valid","fmt",["success",null,null]]'
	# Nothing counted: no failure in the window, no cooldown.
	if [ -e "$STATE" ]; then
		assert_equal "$(state '[.tools.fmt.cooldown_until_ms, (.tools.fmt.failures // [] | length)]')" '[null,0]'
	fi
}

@test "transient failures of the same kind do open the cooldown (the test above can fail)" {
	echo '{"retry_base_ms": 1, "retry_max_ms": 10}' >cfg.json
	for i in 1 2 3; do
		routed fmt "$ADAPTERS/class.sh" '5000' '{fail_fmt: "transient"}' | jq -c --arg i "$i" '.id = $i'
	done >routed.jsonl
	routed fmt "$ADAPTERS/ok.sh" | jq -c '.id = "valid"' >>routed.jsonl
	invoke
	assert_failure 1
	run jq -c '[.id, [.attempts[] | .outcome, .reason]]' out.jsonl
	assert_line --index 3 '["valid",["skipped","cooldown"]]'
}

@test "a tool not installed is skipped with class not_installed and never retried" {
	resolve gen '{}' '.tool_id = "missing"'
	invoke
	assert_failure 1
	run attempts '[.tool_id, .outcome, .reason, .error_class]'
	assert_output '[["missing","skipped","not_installed","not_installed"]]'
	assert_equal "$(runs missing)" 0
}

@test "the tool's max_retries overrides the capability's: b (max_retries 0) runs once, c twice more" {
	resolve gen '{"fail_a":"auth","fail_b":"transient","fail_c":"rate_limit"}'
	invoke
	assert_failure 1
	run attempts '[.tool_id, .error_class, .retry]'
	assert_output '[["a","auth",null],["b","transient",null],["c","rate_limit",null],["c","rate_limit",1],["c","rate_limit",2]]'
	assert_equal "$(runs a) $(runs b) $(runs c)" "1 1 3"
	run jq -c '[.tool_id, .result.success, has("fallback_depth"), has("degraded")]' out.jsonl
	assert_output '[null,false,false,false]'
}

@test "succeed_after: a tool that recovers on its second try serves, fallback_depth 0, not degraded" {
	resolve gen '{"fail_a":"transient","succeed_after":2}'
	invoke
	assert_success
	run attempts '[.tool_id, .outcome, .retry]'
	assert_output '[["a","failure",null],["a","success",1]]'
	run jq -c '[.tool_id, .fallback_depth, .degraded]' out.jsonl
	assert_output '["a",0,false]'
}

# ---- back-off ----

@test "back-off honours retry_after_ms: every wait is at least the hint, and never above retry_after_max_ms" {
	echo '{"retry_base_ms": 1, "retry_max_ms": 10, "retry_after_max_ms": 300, "cooldown_ms": 0}' >cfg.json
	resolve gen '{"fail_a":"rate_limit","retry_after_ms":120}'
	invoke
	assert_success
	run attempts '[.retry_after_ms, .backoff_ms]'
	assert_output '[[120,120],[120,120],[120,null],[null,null]]'
	# The log: the retries came at least that late (a lower bound only).
	run awk '$1 == "a" { if (p && $2 - p < 120) bad = 1; p = $2 } END { print bad ? "early" : "ok" }' "$LOG"
	assert_output ok
	# A hint above the cap waits the cap.
	rm -f "$LOG"
	resolve gen '{"fail_a":"rate_limit","retry_after_ms":60000}'
	invoke
	run attempts '[.retry_after_ms, .backoff_ms]'
	assert_output '[[60000,300],[60000,300],[60000,null],[null,null]]'
}

@test "back-off without a hint is full jitter under retry_max_ms" {
	echo '{"retry_base_ms": 4, "retry_max_ms": 6, "cooldown_ms": 0}' >cfg.json
	for i in 1 2 3; do
		resolve gen '{"fail_a":"transient"}'
		invoke
		run attempts '.backoff_ms'
		jq -e '.[0:2] | all(. >= 0 and . <= 6)' <<<"$output"
		jq -e '.[2:] == [null, null]' <<<"$output"
	done
}

# ---- one deadline ----

@test "deadline: a retry whose wait passes the deadline is skipped (retry_skipped) and the next tool runs" {
	resolve gen '{"fail_a":"rate_limit","retry_after_ms":5000}' '.deadline_ms = 4000'
	invoke
	assert_success
	run attempts '[.tool_id, .retry_after_ms, .retry_skipped, .backoff_ms]'
	assert_output '[["a",5000,"deadline",null],["b",null,null,null]]'
	assert_equal "$(runs a)" 1
	run jq -c '[.route.deadline_ms, .route.min_attempt_ms, .fallback_depth, .degraded]' out.jsonl
	assert_output '[4000,1000,1,true]'
}

@test "deadline: the rule's deadline cuts a hanging tool; the next is skipped (deadline) and the record ends within 100 ms of it" {
	resolve deadline '{"fail_a":"hang"}'
	run jq -c '[.route.deadline_ms, .route.min_attempt_ms]' routed.jsonl
	assert_output '[1500,300]'
	t0=$(date +%s%3N)
	invoke
	t1=$(date +%s%3N)
	assert_failure 1
	run attempts '[.tool_id, .outcome, .error_class, .reason]'
	assert_output '[["a","timeout","timeout",null],["b","skipped",null,"deadline"]]'
	run jq -r '.attempts[1].message' out.jsonl
	assert_output --regexp '^deadline: [0-9]+ ms left, a tool needs at least 300 ms$'
	run jq -r '.attempts[0].duration_ms' out.jsonl
	[ "$output" -ge 1400 ] && [ "$output" -le 1600 ] || fail "a ran $output ms, deadline 1500"
	[ $((t1 - t0)) -ge 1500 ] || fail "finished after $((t1 - t0)) ms, before the deadline"
	assert_equal "$(runs b)" 0
}

@test "deadline: the request's deadline_ms beats the rule's; a tool is never started with less than min_attempt_ms left" {
	resolve deadline '{"fail_a":"transient","sleep_ms":500}' '.deadline_ms = 700'
	run jq -c '[.route.deadline_ms, .route.min_attempt_ms]' routed.jsonl
	assert_output '[700,300]'
	invoke
	assert_failure 1
	# a fails after 500 ms (or times out at 700 on a slow machine).
	run attempts '[.tool_id, .outcome, .reason]'
	assert_output --regexp '^\[\["a","(failure|timeout)",null\],\["b","skipped","deadline"\]\]$'
	assert_equal "$(runs b)" 0
	# The config's deadline when neither sets one.
	echo '{"deadline_ms": 60000, "min_attempt_ms": 5}' >cfg.json
	resolve gen '{}'
	run jq -c '[.route.deadline_ms, .route.min_attempt_ms]' routed.jsonl
	assert_output '[60000,5]'
}

@test "deadline: attempts, retries and back-off of every tool together stay within the deadline (+100 ms)" {
	echo '{"retry_base_ms": 1, "retry_max_ms": 10, "cooldown_ms": 0, "min_attempt_ms": 100}' >cfg.json
	# Each attempt takes 150 ms and asks 200 ms before its retry: the
	# tools' attempts and waits together are more than the deadline.
	resolve gen '{"fail_a":"transient","fail_b":"transient","fail_c":"transient","retry_after_ms":200,"sleep_ms":150}' '.deadline_ms = 1200'
	invoke
	assert_failure 1
	run jq '[.attempts[] | (.duration_ms // 0) + (.backoff_ms // 0)] | add' out.jsonl
	[ "$output" -le 1300 ] || fail "$output ms of attempts and waits, deadline 1200: $(attempts '[.tool_id, .duration_ms, .backoff_ms, .retry_skipped, .reason]')"
	# It ran out: a retry or a tool was given up for the deadline.
	run jq '[.attempts[] | select(.retry_skipped == "deadline" or .reason == "deadline")] | length > 0' out.jsonl
	assert_output true
}

@test "deadline: an adapter that ignores SIGTERM is stopped at the deadline plus the 50 ms grace, not the 1 s of kill_grace_ms" {
	jq -nc --arg a "$ADAPTERS/ignore-term.sh" '{id:"x", capability:"t", payload:{}, route:{capability:"t", strategy:"ordered", registry:"/r",
	    deadline_ms:500, min_attempt_ms:100, candidates:[{tool_id:"t", status:"ready", argv:[$a], timeout_ms:5000}]}}' >routed.jsonl
	run --separate-stderr aim-invoke routed.jsonl
	assert_failure 1
	run jq -r '.attempts[0] | "\(.outcome) \(.duration_ms)"' <<<"$output"
	[[ $output =~ ^timeout\ ([0-9]+)$ ]] || fail "attempt: $output"
	# 500 + 50 ms, and room for a loaded machine: far below 500 + 1000.
	[ "${BASH_REMATCH[1]}" -le 800 ] || fail "stopped after ${BASH_REMATCH[1]} ms, deadline 500"
}

@test "deadline_ms in a request must be a positive integer up to 86400000" {
	for bad in 0 -1 '"100"' 1.5 86400001; do
		run --separate-stderr aim-resolve -r "$P" <<<"$(req gen '{}' ".deadline_ms = $bad")"
		assert_failure 1
		run jq -r '.error | "\(.code): \(.message)"' <<<"$output"
		assert_output 'invalid_request: "deadline_ms" must be a positive integer (at most 86400000)'
	done
}

# ---- cooldowns ----

@test "cooldown: opened by one aim-invoke, seen by a later aim-resolve (status cooldown, until) and skipped by another aim-invoke" {
	echo '{"retry_base_ms": 1, "retry_max_ms": 10, "allowed_fails": 2, "cooldown_ms": 60000}' >cfg.json
	# Routed before anything failed: it still lists a as ready.
	resolve gen '{}'
	cp routed.jsonl early.jsonl
	resolve gen '{"fail_a":"transient"}'
	invoke
	assert_success
	# The second failure opened the circuit: no third try.
	run attempts '[.tool_id, .error_class, .retry, (.cooldown_until != null)]'
	assert_output '[["a","transient",null,false],["a","transient",1,true],["b",null,null,false]]'
	until=$(jq -r '.attempts[1].cooldown_until' out.jsonl)
	run state '.tools.a | [.cooldown_class, (.failures | length), .cooldown_until_ms - .last_failure_ms]'
	assert_output '["transient",2,60000]'
	assert_equal "$(jq -c '[.version, (.registries | keys)]' "$STATE")" "[2,[\"$PR\"]]"
	assert_equal "$(state '.tools | keys')" '["a"]'
	assert_equal "$(stat -c %a "$STATE")" 600
	assert_file_exists "$STATE.lock"
	# Another process sees it.
	resolve gen '{}'
	run jq -c --arg u "$until" '.route.candidates | map([.tool_id, .status]), (.[0] | [.until == $u, .reason])' routed.jsonl
	assert_line --index 0 '[["a","cooldown"],["b","ready"],["c","ready"]]'
	assert_line --index 1 "[true,\"cooling down until $until after repeated transient failures\"]"
	assert_equal "$(jq '.route.candidates[0].until_ms' routed.jsonl)" "$(state '.tools.a.cooldown_until_ms')"
	# And another aim-invoke skips it even in a record routed before.
	rm -f "$LOG"
	cp early.jsonl routed.jsonl
	invoke
	assert_success
	run attempts '[.tool_id, .outcome, .reason, .message]'
	assert_output "[[\"a\",\"skipped\",\"cooldown\",\"cooling down until $until\"],[\"b\",\"success\",null,\"ok from b\"]]"
	assert_equal "$(runs a)" 0
}

@test "cooldown: a later failure extends it (transient then auth: long) and never shortens it (auth then transient)" {
	echo '{"allowed_fails": 1, "cooldown_ms": 3000, "cooldown_long_ms": 60000}' >cfg.json
	# Two requests running at once (-j 2) in a's circuit: the quick one
	# fails first and opens it, the slow one fails 600 ms after the quick
	# one's adapter answered.
	for order in "transient auth" "auth transient"; do
		set -- $order
		rm -rf "$XDG_STATE_HOME" quick.done
		{
			req gen "{\"fail_a\":\"$1\",\"touch_file\":\"$PWD/quick.done\"}" '.id = "quick"'
			req gen "{\"fail_a\":\"$2\",\"after_file\":\"$PWD/quick.done\",\"sleep_ms\":600}" '.id = "slow"'
		} | aim-resolve -c cfg.json -r "$P" |
		    jq -c '.route.candidates[] |= del(.max_concurrent, .concurrency)' >routed.jsonl
		invoke -j 2
		assert_success
		quick=$(jq -r 'select(.id == "quick") | .attempts[0].cooldown_until' out.jsonl)
		slow=$(jq -r 'select(.id == "slow") | .attempts[0].cooldown_until' out.jsonl)
		iso=$(state '.tools.a.cooldown_until_ms' | awk '{ printf "%s.%03dZ", strftime("%Y-%m-%dT%H:%M:%S", int($1 / 1000), 1), $1 % 1000 }')
		assert_equal "$slow" "$iso"
		if [ "$1" = transient ]; then
			# Extended: the slow auth failure pushed it to 60 s.
			[ "$slow" \> "$quick" ] || fail "not extended: $quick then $slow"
			assert_equal "$(state '.tools.a | [.cooldown_class, .cooldown_until_ms - .last_failure_ms]')" '["auth",60000]'
		else
			# Not shortened: still the auth cooldown of the quick one.
			assert_equal "$slow" "$quick"
			assert_equal "$(state '.tools.a | [.cooldown_class, .last_class, (.cooldown_until_ms - .last_failure_ms > 50000)]')" '["auth","transient",true]'
		fi
	done
}

@test "cooldown: a retry waiting in back-off is not made once another request opened the cooldown" {
	echo '{"allowed_fails": 2, "cooldown_ms": 60000, "retry_base_ms": 1, "retry_max_ms": 5}' >cfg.json
	# The quick one fails 200 ms after the slow one's first attempt
	# answered, while that one waits 2 s to retry.
	{
		req gen '{"fail_a":"transient","retry_after_ms":2000,"touch_file":"'"$PWD"'/slow.done"}' '.id = "slow"'
		req gen '{"fail_a":"auth","after_file":"'"$PWD"'/slow.done","sleep_ms":200}' '.id = "quick"'
	} | aim-resolve -c cfg.json -r "$P" |
	    jq -c '.route.candidates[] |= del(.max_concurrent, .concurrency)' >routed.jsonl
	invoke -j 2
	assert_success
	run jq -c '[.id, [.attempts[] | [.tool_id, .outcome, .reason, (.cooldown_until != null)]]]' out.jsonl
	assert_line --index 0 '["slow",[["a","failure",null,false],["a","skipped","cooldown",false],["b","success",null,false]]]'
	assert_line --index 1 '["quick",[["a","failure",null,true],["b","success",null,false]]]'
	assert_equal "$(runs a)" 2
}

@test "cooldown: a success closes it" {
	echo '{"allowed_fails": 1, "cooldown_ms": 60000}' >cfg.json
	{
		req gen '{"fail_a":"transient","touch_file":"'"$PWD"'/quick.done"}' '.id = "quick"'
		req gen '{"after_file":"'"$PWD"'/quick.done","sleep_ms":600}' '.id = "slow"'
	} | aim-resolve -c cfg.json -r "$P" |
	    jq -c '.route.candidates[] |= del(.max_concurrent, .concurrency)' >routed.jsonl
	invoke -j 2
	assert_success
	run jq -c '[.id, .attempts[0].tool_id, .attempts[0].outcome, (.attempts[0].cooldown_until != null)]' out.jsonl
	assert_line --index 0 '["quick","a","failure",true]'
	assert_line --index 1 '["slow","a","success",false]'
	run state '.tools.a | [has("cooldown_until_ms"), has("failures"), .last_class]'
	assert_output '[false,false,"transient"]'
	resolve gen '{}'
	assert_equal "$(jq -c '[.route.candidates[].status]' routed.jsonl)" '["ready","ready","ready"]'
}

@test "cooldown: failures outside the window do not count; a success clears the count" {
	echo '{"allowed_fails": 2, "cooldown_ms": 60000, "failure_window_ms": 300}' >cfg.json
	resolve strict '{"fail_a":"transient"}'
	invoke
	sleep 0.4
	invoke
	run state '.tools.a | [has("cooldown_until_ms"), (.failures | length)]'
	assert_output '[false,1]'
	echo '{"allowed_fails": 2, "cooldown_ms": 60000}' >cfg.json
	resolve strict '{}'
	invoke
	assert_success
	run state '.tools.a | [has("cooldown_until_ms"), has("failures")]'
	assert_output '[false,false]'
	resolve strict '{"fail_a":"transient"}'
	invoke
	run state '.tools.a | [has("cooldown_until_ms"), (.failures | length)]'
	assert_output '[false,1]'
}

@test "cooldown: classes that do not count (bad_request, content_policy, context_too_long, not_installed) never open it" {
	echo '{"allowed_fails": 1, "cooldown_ms": 60000}' >cfg.json
	for cls in bad_request content_policy context_too_long not_installed; do
		resolve strict "{\"fail_a\":\"$cls\"}"
		invoke
		assert_failure 1
		assert_equal "$(attempts '.cooldown_until')" '[null]'
	done
	resolve strict '{}'
	assert_equal "$(jq -r '.route.candidates[0].status' routed.jsonl)" ready
}

@test "cooldown_ms 0 turns the breaker off" {
	resolve strict '{"fail_a":"auth"}'
	for i in 1 2 3 4; do invoke; done
	resolve strict '{}'
	assert_equal "$(jq -r '.route.candidates[0].status' routed.jsonl)" ready
}

@test "all cooling down: the error record says which tool recovers first, when, and in how many seconds" {
	now=$(date +%s%3N)
	jq -nc --argjson n "$now" '{tools:{
	    a:{cooldown_until_ms:($n + 50000), cooldown_class:"auth"},
	    b:{cooldown_until_ms:($n + 20000), cooldown_class:"rate_limit"},
	    c:{cooldown_until_ms:($n + 90000), cooldown_class:"transient"}}}' | seed
	b_iso=$(jq -rn --argjson n "$now" '($n + 20000) / 1000 | floor | todate | sub("Z$"; "")')
	run --separate-stderr aim-resolve -r "$P" <<<"$(req gen '{}')"
	assert_failure 1
	rec=$output
	run jq -c '.error | [.stage, .code, .tool_id, (.until | startswith("'"$b_iso"'.")), (.retry_after_ms > 15000 and .retry_after_ms <= 20000)]' <<<"$output"
	assert_output '["resolve","all_cooling_down","b",true,true]'
	msg=$(jq -r '.error.message' <<<"$rec")
	[[ $msg =~ ^every\ tool\ for\ capability\ \'gen\'\ is\ cooling\ down\ or\ unavailable\;\ b\ recovers\ first,\ at\ [0-9T:.-]+Z\ \(in\ (1[5-9]|20)\ s\)$ ]] || fail "message: $msg"
	assert_equal "$stderr" "aim-resolve: <stdin>:1: $msg"
	# One tool ready is enough.
	jq -c --arg r "$PR" '.registries[$r].tools.c.cooldown_until_ms = 1' "$STATE" >s && mv s "$STATE"
	run aim-resolve -r "$P" <<<"$(req gen '{}')"
	assert_success
	assert_equal "$(jq -c '[.route.candidates[] | [.tool_id, .status]]' <<<"$output")" '[["a","cooldown"],["b","cooldown"],["c","ready"]]'
}

@test "--reset-cooldown clears a cooldown; a tool not cooling down is exit 1; errors" {
	echo '{"allowed_fails": 1, "cooldown_ms": 60000}' >cfg.json
	resolve strict '{"fail_a":"quota"}'
	invoke
	# quota (like auth) cools down for cooldown_long_ms (default 300000).
	assert_equal "$(state '.tools.a | [.cooldown_class, .cooldown_until_ms - .last_failure_ms]')" '["quota",300000]'
	run aim-resolve -r "$P" <<<"$(req strict '{}')"
	assert_failure 1
	run --separate-stderr aim-resolve -r "$P" --reset-cooldown a
	assert_success
	assert_equal "$output$stderr" ""
	run aim-resolve -r "$P" <<<"$(req strict '{}')"
	assert_success
	assert_equal "$(jq -r '.route.candidates[0].status' <<<"$output")" ready
	run --separate-stderr aim-resolve -r "$P" --reset-cooldown a
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: a: not cooling down"
	# Several: each one not cooling is named; the others are cleared.
	invoke
	run --separate-stderr aim-resolve -r "$P" --reset-cooldown nosuch a b
	assert_failure 1
	assert_equal "$stderr" "$(printf '%s\n' 'aim-resolve: nosuch: not cooling down' 'aim-resolve: b: not cooling down')"
	assert_equal "$(state '.tools.a | has("cooldown_until_ms")')" false
	# Usage.
	run --separate-stderr aim-resolve --reset-cooldown
	assert_failure 2
	assert_equal "${stderr_lines[1]}" "       aim-resolve --reset-cooldown tool ..."
	run --separate-stderr aim-resolve --check --reset-cooldown a
	assert_failure 2
	# A state directory that cannot be made: exit 4.
	export XDG_STATE_HOME=$BATS_TEST_TMPDIR/file
	touch "$XDG_STATE_HOME"
	run --separate-stderr aim-resolve -r "$P" --reset-cooldown a
	assert_failure 4
	assert_equal "$stderr" "aim-resolve: can't create $XDG_STATE_HOME/aim: Not a directory"
	# No registry: which tool of which registry is meant is unknown.
	export AIM_REGISTRY_PATH=$BATS_TEST_TMPDIR/nosuch
	run --separate-stderr aim-resolve --reset-cooldown a
	assert_failure 3
	assert_equal "$stderr" "aim-resolve: registry not found (looked in \$AIM_REGISTRY_PATH=$AIM_REGISTRY_PATH); 'aim init' makes one"
}

@test "cooldowns and counters are per registry: a failing a of one registry leaves the a of another routing" {
	echo '{"retry_base_ms": 1, "retry_max_ms": 10, "allowed_fails": 1, "cooldown_ms": 60000}' >cfg.json
	other_registry
	O=$(realpath other)
	resolve strict '{"fail_a":"transient"}'
	invoke
	assert_failure 1
	run --separate-stderr aim-resolve -c cfg.json -r "$P" <<<"$(req strict '{}')"
	assert_failure 1
	assert_equal "$(jq -r '.error.code' <<<"$output")" all_cooling_down
	# The other registry's a (same id, same adapter) is not touched.
	req strict '{}' | aim-resolve -c cfg.json -r other >routed.jsonl
	assert_equal "$(jq -c '[.route.registry, .route.candidates[0].status]' routed.jsonl)" "[\"$O\",\"ready\"]"
	invoke
	assert_success
	assert_equal "$(jq -c '[.tool_id, .result.success]' out.jsonl)" '["a",true]'
	assert_equal "$(jq -c '.registries | keys' "$STATE")" "[\"$PR\"]"
	# --reset-cooldown acts on the registry in use only.
	run --separate-stderr aim-resolve -r other --reset-cooldown a
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: a: not cooling down"
	assert_equal "$(state '.tools.a.cooldown_class')" '"transient"'
	# Each registry has its own round_robin rotation.
	aim-resolve -r "$P" <<<"$(req lb '{}')" >/dev/null
	aim-resolve -r other <<<"$(req lb '{}')" >/dev/null
	run jq -c --arg o "$O" '.registries[$o].counters' "$STATE"
	assert_output '{"round_robin:lb":1}'
	assert_equal "$(state '.counters')" '{"round_robin:lb":1}'
	assert_equal "$(jq -c '.registries | keys' "$STATE")" "$(jq -nc --arg a "$PR" --arg b "$O" '[$a, $b] | sort')"
}

@test "a version 1 state file (cooldowns by tool id alone) is read as empty" {
	mkdir -p "$XDG_STATE_HOME/aim"
	jq -nc --argjson n "$(date +%s%3N)" '{version:1, counters:{}, tools:{a:{cooldown_until_ms:($n + 60000), cooldown_class:"auth"}}}' >"$STATE"
	run --separate-stderr aim-resolve -r "$P" <<<"$(req strict '{}')"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '.route.candidates[0].status' <<<"$output")" ready
}

@test "a damaged state file is a warning: routing and invoking go on, and the next write replaces it" {
	mkdir -p "$XDG_STATE_HOME/aim"
	echo '{"version":1,' >"$STATE"
	run --separate-stderr aim-resolve -c cfg.json -r "$P" <<<"$(req lb '{}')"
	assert_success
	assert_equal "$(jq -r '.route.candidates[0].status' <<<"$output")" ready
	assert_equal "${#stderr_lines[@]}" 1
	[[ ${stderr_lines[0]} =~ ^aim-resolve:\ $STATE:[0-9]+:[0-9]+:\ .+\;\ starting\ afresh$ ]] || fail "stderr: $stderr"
	# The counter was written: the file is whole again.
	run state '.counters'
	assert_output '{"round_robin:lb":1}'
	echo '[1,2]' >"$STATE"
	run --separate-stderr aim-resolve -c cfg.json -r "$P" <<<"$(req lb '{}')"
	assert_success
	assert_equal "$stderr" "aim-resolve: $STATE: not an aim state file; starting afresh"
	# aim-invoke too.
	resolve strict '{"fail_a":"transient"}'
	echo 'garbage' >"$STATE"
	invoke
	assert_failure 1
	assert_equal "$(attempts '.tool_id')" '["a"]'
	[[ ${stderr_lines[0]} =~ ^aim-invoke:\ $STATE:.*starting\ afresh$ ]] || fail "stderr: $stderr"
	run state '.tools.a.last_class'
	assert_output '"transient"'
}

@test "a state directory that cannot be made: routing and invoking go on without it, with a warning" {
	touch notadir
	export XDG_STATE_HOME=$PWD/notadir
	run --separate-stderr aim-resolve -r "$P" <<<"$(printf '%s\n' "$(req lb '{}')" "$(req lb '{}')")"
	assert_success
	# The rotation goes on inside the process.
	assert_equal "$(jq -c '.route.candidates[0].tool_id' <<<"$output" | tr -d '\n')" '"a""b"'
	[[ $stderr == *"aim-resolve: can't create $PWD/notadir/aim: Not a directory"* ]] || fail "stderr: $stderr"
	req strict '{}' | aim-resolve -r "$P" 2>/dev/null >routed.jsonl
	invoke
	assert_success
	assert_equal "$(jq -c '[.tool_id, .result.success]' out.jsonl)" '["a",true]'
	[[ $stderr == *"aim-invoke: can't create $PWD/notadir/aim/slots: Not a directory"* ]] || fail "stderr: $stderr"
}

@test "a state directory that cannot be made is said once per process, not once per request" {
	touch notadir
	export XDG_STATE_HOME=$PWD/notadir
	run --separate-stderr aim-resolve -r "$P" <<<"$(for i in 1 2 3 4 5; do req lb '{}'; done)"
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | sort | uniq -d)" ""
	yes "$(req strict '{}')" | head -n 5 | aim-resolve -r "$P" 2>/dev/null >routed.jsonl
	invoke
	assert_success
	assert_equal "$(printf '%s\n' "$stderr" | sort | uniq -d)" ""
}

# ---- load balancing ----

@test "round_robin: the rotation is shared by separate aim-resolve processes" {
	for i in 1 2 3 4 5 6 7; do
		aim-resolve -r "$P" <<<"$(req lb '{}')" | jq -r '[.route.strategy, (.route.candidates | map(.tool_id) | join(""))] | join(" ")'
	done >order.txt
	assert_equal "$(cat order.txt)" "$(printf 'round_robin %s\n' abc bca cab abc bca cab abc)"
	assert_equal "$(state '.counters["round_robin:lb"]')" 7
}

@test "weighted: over 1000 requests the first tool follows the weights 1:2:7 exactly" {
	# The golden-ratio sequence spreads 1000 draws exactly: 100, 200, 700.
	yes "$(req weighted '{}')" | head -n 1000 >many.jsonl
	aim-resolve -r "$P" many.jsonl | jq -r '.route.candidates | map(.tool_id) | join("")' | sort | uniq -c >dist.txt
	# The chosen tool leads, the rest keep rule order.
	run awk '{ print $1, $2 }' dist.txt
	assert_output "$(printf '%s\n' '100 abc' '200 bac' '700 cab')"
	assert_equal "$(state '.counters["weighted:weighted"]')" 1000
}

@test "cheapest: ready tools by cost, a tool without cost last" {
	run aim-resolve -r "$P" <<<"$(req cheap '{}')"
	assert_success
	assert_equal "$(jq -c '[.route.strategy, (.route.candidates | map(.tool_id))]' <<<"$output")" '["cheapest",["b","a","c"]]'
}

@test "least_recent_failure: a tool that never failed first, the latest failure last" {
	resolve strict '{"fail_a":"transient"}'
	invoke
	run aim-resolve -r "$P" <<<"$(req lrf '{}')"
	assert_equal "$(jq -c '[.route.strategy, (.route.candidates | map(.tool_id))]' <<<"$output")" '["least_recent_failure",["b","c","a"]]'
	now=$(date +%s%3N)
	jq -nc --argjson n "$now" '{tools:{a:{last_failure_ms:($n - 1000)}, b:{last_failure_ms:($n - 500)}, c:{last_failure_ms:($n - 9000)}}}' | seed
	run aim-resolve -r "$P" <<<"$(req lrf '{}')"
	assert_equal "$(jq -c '.route.candidates | map(.tool_id)' <<<"$output")" '["c","a","b"]'
}

@test "load balancing puts a cooling tool after the ready ones" {
	now=$(date +%s%3N)
	jq -nc --argjson n "$now" '{tools:{b:{cooldown_until_ms:($n + 60000), cooldown_class:"transient"}}}' | seed
	for cap in cheap lrf lb; do
		run aim-resolve -r "$P" <<<"$(req $cap '{}')"
		assert_equal "$(jq -c '.route.candidates[-1] | [.tool_id, .status]' <<<"$output")" '["b","cooldown"]'
	done
}

# ---- context requirements ----

@test "context_requirements: a required key missing or empty is missing_context before any tool runs; optional ones may be absent" {
	for p in '{}' '{"prompt":""}' '{"prompt":[]}' '{"prompt":{}}' '{"prompt":null}' '{"files":["a.c"]}'; do
		run --separate-stderr aim-resolve -r "$P" <<<"$(req ctx "$p")"
		assert_failure 1
		assert_equal "$(jq -c '.error | [.stage, .code, .message]' <<<"$output")" '["resolve","missing_context","missing_context: prompt"]'
		assert_equal "$stderr" "aim-resolve: <stdin>:1: missing_context: prompt"
	done
	for p in '{"prompt":"p"}' '{"prompt":"p","files":[]}' '{"prompt":["x"]}' '{"prompt":0}'; do
		run aim-resolve -r "$P" <<<"$(req ctx "$p")"
		assert_success
	done
	# Nothing ran for the errors.
	req ctx '{}' | aim-resolve -r "$P" | aim-invoke >/dev/null || true
	assert_file_not_exists "$LOG"
}

# ---- security ----

# sec FILES-JSON: resolve a files request; $status, $output (the record).
sec() {
	run --separate-stderr aim-resolve -r "$P" <<<"$(req files "{\"files\": $1}")"
}

@test "security: allowed patterns match the resolved file's name; other names are file_not_allowed" {
	sec '["src/main.c", "include/x.h", "README.md"]'
	assert_success
	sec '["/abs/path/y.c"]'
	assert_success
	sec '["src/main.c", "notes.txt"]'
	assert_failure 1
	assert_equal "$(jq -c '.error | [.code, .message]' <<<"$output")" "[\"file_not_allowed\",\"payload.files: notes.txt is $PWD/notes.txt, matching no security.allowed_file_patterns\"]"
	assert_equal "$stderr" "aim-resolve: <stdin>:1: payload.files: notes.txt is $PWD/notes.txt, matching no security.allowed_file_patterns"
	# A name that merely contains an allowed one.
	sec '["main.c.txt"]'
	assert_failure 1
	# A symlink with an allowed name to a file with another.
	touch notes.txt && ln -s notes.txt alias.c
	sec '["alias.c"]'
	assert_failure 1
	assert_equal "$(jq -r '.error.code' <<<"$output")" file_not_allowed
}

@test "security: forbidden paths by absolute path, by name of any directory above, and under ~" {
	sec '["/etc/x.c"]'
	assert_failure 1
	assert_equal "$(jq -c '.error | [.code, .message]' <<<"$output")" '["forbidden_path","payload.files: /etc/x.c is /etc/x.c, forbidden by \"/etc\" (security.forbidden_paths)"]'
	sec '["deep/secret/inner/a.c"]'
	assert_equal "$(jq -r '.error.message' <<<"$output")" "payload.files: deep/secret/inner/a.c is $PWD/deep/secret/inner/a.c, forbidden by \"secret\" (security.forbidden_paths)"
	sec "[\"$HOME/.ssh/config.h\"]"
	assert_equal "$(jq -r '.error.message' <<<"$output")" "payload.files: $HOME/.ssh/config.h is $HOME/.ssh/config.h, forbidden by \"~/.ssh\" (security.forbidden_paths)"
	# A name like a forbidden one is not one.
	sec '["secretive/a.c", "/etcetera/a.c"]'
	assert_success
}

@test "security: .. is resolved before matching, however it escapes" {
	sec '["/usr/../etc/hosts.c"]'
	assert_equal "$(jq -r '.error.message' <<<"$output")" 'payload.files: /usr/../etc/hosts.c is /etc/hosts.c, forbidden by "/etc" (security.forbidden_paths)'
	sec '["ok/../secret/a.c"]'
	assert_equal "$(jq -r '.error.code' <<<"$output")" forbidden_path
	up=$(printf '../%.0s' $(seq 30))
	sec "[\"${up}etc/a.c\"]"
	assert_equal "$(jq -r '.error.message' <<<"$output")" "payload.files: ${up}etc/a.c is /etc/a.c, forbidden by \"/etc\" (security.forbidden_paths)"
	sec '["src/./x/../../main.c"]'
	assert_success
}

@test "security: symlinks inside an allowed directory are followed: to /etc, to a forbidden directory, to a forbidden file" {
	mkdir -p src secret
	ln -s /etc src/sys
	ln -s ../secret src/s
	ln -s /etc/hostname src/host.c
	sec '["src/sys/hosts.c"]'
	assert_equal "$(jq -c '.error | [.code, .message]' <<<"$output")" "[\"forbidden_path\",\"payload.files: src/sys/hosts.c is /etc/hosts.c, forbidden by \\\"/etc\\\" (security.forbidden_paths)\"]"
	sec '["src/s/a.c"]'
	assert_equal "$(jq -r '.error.message' <<<"$output")" "payload.files: src/s/a.c is $PWD/secret/a.c, forbidden by \"secret\" (security.forbidden_paths)"
	sec '["src/host.c"]'
	assert_equal "$(jq -r '.error.message' <<<"$output")" 'payload.files: src/host.c is /etc/hostname, forbidden by "/etc" (security.forbidden_paths)'
	# A symlink to a directory whose name is allowed stays allowed.
	mkdir real && ln -s ../real src/r
	sec '["src/r/ok.c"]'
	assert_success
}

@test "security: a dangling symlink is resolved too: a link to a file not yet made under /etc is forbidden" {
	ln -s /etc/aim-policy-test-new.c evil.c
	sec '["evil.c"]'
	assert_failure 1
	assert_equal "$(jq -r '.error.message' <<<"$output")" 'payload.files: evil.c is /etc/aim-policy-test-new.c, forbidden by "/etc" (security.forbidden_paths)'
	ln -s /etc/aim-policy-test-dir d
	sec '["d/a.c"]'
	assert_failure 1
	assert_equal "$(jq -r '.error.code' <<<"$output")" forbidden_path
}

@test "security: patterns with '/' match whole paths: relative to the cwd, ~ and \$VARS expanded, ** across directories" {
	mkdir -p reg/AIM_cross-tool
	cp "$ADAPTERS/ok.sh" reg/
	echo '{"tools":{"t":{"name":"T","detectCommands":["sh"],"capabilities":["x"],"adapterScript":"ok.sh"}}}' >reg/AIM_registry.json
	echo '{"capabilities":{"x":{"primary":"t"}},"security":{"allowed_file_patterns":["src/*.c","~/proj/**"],"forbidden_paths":["$HOME/private","src/gen/*"]}}' >reg/AIM_cross-tool/AIM_coordination-rules.json
	while IFS='|' read -r file want; do
		run --separate-stderr aim-resolve -r reg <<<"$(jq -nc --arg f "$file" '{capability:"x", payload:{files:[$f]}}')"
		assert_equal "$(jq -r '.error.message // "routed"' <<<"$output")" "$want"
	done <<EOF
src/a.c|routed
src/sub/a.c|payload.files: src/sub/a.c is $PWD/src/sub/a.c, matching no security.allowed_file_patterns
src/gen/x.c|payload.files: src/gen/x.c is $PWD/src/gen/x.c, forbidden by "src/gen/*" (security.forbidden_paths)
src/gen/deep/x.c|payload.files: src/gen/deep/x.c is $PWD/src/gen/deep/x.c, forbidden by "src/gen/*" (security.forbidden_paths)
$HOME/proj/a/b/c.txt|routed
$HOME/private/x.c|payload.files: $HOME/private/x.c is $HOME/private/x.c, forbidden by "\$HOME/private" (security.forbidden_paths)
$HOME/proj/../private/z.c|payload.files: $HOME/proj/../private/z.c is $HOME/private/z.c, forbidden by "\$HOME/private" (security.forbidden_paths)
EOF
}

@test "security: max_file_count and the shape of payload.files" {
	sec '["1.c", "2.c", "3.c"]'
	assert_success
	sec '["1.c", "2.c", "3.c", "4.c"]'
	assert_failure 1
	assert_equal "$(jq -c '.error | [.code, .message]' <<<"$output")" '["too_many_files","payload.files has 4 files, limit 3 (security.max_file_count)"]'
	sec '"a.c"'
	assert_equal "$(jq -c '.error | [.code, .message]' <<<"$output")" '["invalid_request","\"payload.files\" must be an array of strings"]'
	for bad in '[1]' '[""]' '["a.c", null]'; do
		sec "$bad"
		assert_failure 1
		assert_equal "$(jq -c '.error | [.code, .message]' <<<"$output")" '["invalid_request","\"payload.files\" must be an array of file names"]'
	done
	sec '[]'
	assert_success
}

# ---- max_concurrent ----

# hold: start a background aim-invoke of capability slots whose a sleeps
# 2 s holding its slot; wait until it runs.  Its pid in $HOLDER.
# hold [MS]: a holder takes a's one slot for MS ms (2000) in the background.
hold() {
	req slots '{"sleep_ms":'"${1:-2000}"'}' '.id = "holder"' | aim-resolve -c cfg.json -r "$P" >holder.jsonl
	aim-invoke -c cfg.json holder.jsonl >holder.out 2>&1 &
	HOLDER=$!
	for i in $(seq 100); do
		[ "$(runs a)" -ge 1 ] && return 0
		sleep 0.05
	done
	fail "the holder never started"
}

teardown() {
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	[ -z "${HOLDER:-}" ] || wait "$HOLDER" 2>/dev/null || true
}

@test "max_concurrent 1 holds across 3 parallel aim-invoke processes: no two runs of a overlap" {
	resolve slots '{"sleep_ms":300}'
	run jq -c '.route.candidates[0] | [.max_concurrent, .concurrency]' routed.jsonl
	assert_output '[1,"queue"]'
	for i in 1 2 3; do
		aim-invoke -c cfg.json routed.jsonl >out$i.jsonl &
	done
	wait
	for i in 1 2 3; do
		assert_equal "$(jq -c '[.tool_id, .result.success]' out$i.jsonl)" '["a",true]'
	done
	# Each run logs at its start and holds its slot 300 ms after: the
	# starts are at least 300 ms apart.
	run sh -c "awk '{ print \$2 }' '$LOG' | sort -n | awk 'NR > 1 && \$1 - p < 300 { print \"overlap: \" p \" \" \$1 } { p = \$1 }'"
	assert_output ""
	assert_equal "$(runs a)" 3
}

@test "max_concurrent 2: of 3 parallel runs the third starts only when one ends" {
	resolve slots '{"sleep_ms":400}'
	jq -c '.route.candidates[0].max_concurrent = 2' routed.jsonl >r && mv r routed.jsonl
	for i in 1 2 3; do
		aim-invoke -c cfg.json routed.jsonl >out$i.jsonl &
	done
	wait
	run sh -c "awk '{ print \$2 }' '$LOG' | sort -n | awk '{ t[NR] = \$1 } END { print (t[3] - t[1] >= 400) ? \"ok\" : \"overlap\" }'"
	assert_output ok
}

@test "max_concurrent reject: a busy tool is skipped at once (max_concurrent)" {
	hold
	resolve slots '{}'
	jq -c '.route.candidates[0].concurrency = "reject"' routed.jsonl >r && mv r routed.jsonl
	invoke
	assert_failure 1
	run attempts '[.tool_id, .outcome, .reason, .message, .error_class]'
	assert_output '[["a","skipped","max_concurrent","all 1 slots of a are busy",null]]'
	assert_equal "$(runs a)" 1
}

@test "max_concurrent is per registry: a busy a of one registry leaves the a of another free" {
	other_registry
	hold
	req slots '{}' | aim-resolve -c cfg.json -r other >routed.jsonl
	jq -c '.route.candidates[0].concurrency = "reject"' routed.jsonl >r && mv r routed.jsonl
	invoke
	assert_success
	assert_equal "$(attempts '[.tool_id, .outcome]')" '[["a","success"]]'
	assert_equal "$(runs a)" 2
}

@test "max_concurrent queue: a busy tool is waited for until the deadline leaves min_attempt_ms, then skipped" {
	echo '{"min_attempt_ms": 200}' >cfg.json
	hold
	resolve slots '{}' '.deadline_ms = 1000'
	t0=$(date +%s%3N)
	invoke
	t1=$(date +%s%3N)
	assert_failure 1
	# The reason may be deadline (see the skipped test below).
	run attempts '[.tool_id, .outcome, (.reason == "max_concurrent" or .reason == "deadline")]'
	assert_output '[["a","skipped",true]]'
	[ $((t1 - t0)) -ge 750 ] || fail "done after $((t1 - t0)) ms"
	[ $((t1 - t0)) -lt 1900 ] || fail "done after $((t1 - t0)) ms: waited for the holder"
	assert_equal "$(runs a)" 1
	# Queued with time enough: it runs once the holder is done.
	resolve slots '{}' '.deadline_ms = 10000'
	invoke
	assert_success
	assert_equal "$(attempts '[.tool_id, .outcome]')" '[["a","success"]]'
	assert_equal "$(runs a)" 2
	assert_equal "$(jq -c '[.tool_id, .result.success]' holder.out)" '["a",true]'
	# The holder's run (2 s) was over before this one started.
	run awk '{ print $2 }' "$LOG"
	[ $((${lines[1]} - ${lines[0]})) -ge 2000 ] || fail "started $((${lines[1]} - ${lines[0]})) ms after the holder"
}

@test "max_concurrent queue without a deadline: the wait is bounded by the candidate's timeout_ms" {
	hold
	resolve slots '{}' '.timeout_ms = 600'
	t0=$(date +%s%3N)
	invoke
	t1=$(date +%s%3N)
	assert_failure 1
	run attempts '[.tool_id, .outcome, .reason]'
	assert_output '[["a","skipped","max_concurrent"]]'
	msg=$(jq -r '.attempts[0].message' out.jsonl)
	[[ $msg =~ ^waited\ ([0-9]+)\ ms\ for\ one\ of\ 1\ slots\ of\ a$ ]] || fail "message: $msg"
	[ "${BASH_REMATCH[1]}" -ge 600 ] || fail "waited only ${BASH_REMATCH[1]} ms"
	[ $((t1 - t0)) -lt 1800 ] || fail "done after $((t1 - t0)) ms: waited for the holder"
	assert_equal "$(runs a)" 1
}

@test "max_concurrent queue: the wait that runs out is always reason max_concurrent, \"waited N ms for one of M slots of T\"" {
	echo '{"min_attempt_ms": 200}' >cfg.json
	# Held for longer than both waits take, however slow the machine.
	hold 8000
	resolve slots '{}' '.deadline_ms = 1000'
	for i in 1 2; do
		invoke
		run attempts '[.tool_id, .outcome, .reason]'
		assert_output '[["a","skipped","max_concurrent"]]'
		msg=$(jq -r '.attempts[0].message' out.jsonl)
		[[ $msg =~ ^waited\ ([0-9]+)\ ms\ for\ one\ of\ 1\ slots\ of\ a$ ]] || fail "message: $msg"
		[ "${BASH_REMATCH[1]}" -ge 750 ] || fail "waited only ${BASH_REMATCH[1]} ms"
	done
}

# ---- fallback off, dry run, degradation ----

@test "--strict: only the first candidate may run; the others are skipped (fallback_disabled)" {
	resolve gen '{"fail_a":"bad_request"}'
	invoke --strict
	assert_failure 1
	run attempts '[.tool_id, .outcome, .reason, .message]'
	assert_output '[["a","failure",null,"a failed: bad_request"],["b","skipped","fallback_disabled","fallback is off for this request"],["c","skipped","fallback_disabled","fallback is off for this request"]]'
	assert_equal "$(runs b) $(runs c)" "0 0"
	# Retries of the first are still made.
	rm -f "$LOG"
	resolve gen '{"fail_a":"transient"}'
	invoke -s
	assert_equal "$(runs a)" 3
	# A success is not degraded.
	resolve gen '{}'
	invoke -s
	assert_success
	assert_equal "$(jq -c '[.tool_id, .fallback_depth, .degraded]' out.jsonl)" '["a",0,false]'
}

@test "a rule's fallback: false routes to the primary only, and a routed fallback: false turns fallback off in aim-invoke" {
	resolve strict '{"fail_a":"transient"}'
	run jq -c '[.route.fallback, (.route.candidates | map(.tool_id))]' routed.jsonl
	assert_output '[false,["a"]]'
	invoke
	assert_failure 1
	assert_equal "$(attempts '.tool_id')" '["a"]'
	resolve gen '{"fail_a":"auth"}'
	jq -c '.route.fallback = false' routed.jsonl >r && mv r routed.jsonl
	invoke
	assert_failure 1
	assert_equal "$(attempts '.reason')" '[null,"fallback_disabled","fallback_disabled"]'
}

@test "fallback_depth and degraded: 0/false for the first tool, the index of the serving candidate otherwise, absent when all failed" {
	resolve gen '{}'
	invoke
	assert_equal "$(jq -c '[.tool_id, .fallback_depth, .degraded]' out.jsonl)" '["a",0,false]'
	resolve gen '{"fail_a":"auth","fail_b":"auth"}'
	invoke
	assert_equal "$(jq -c '[.tool_id, .fallback_depth, .degraded]' out.jsonl)" '["c",2,true]'
	resolve gen '{"fail_a":"auth","fail_b":"auth","fail_c":"auth"}'
	invoke
	assert_failure 1
	assert_equal "$(jq -c '[.tool_id, has("fallback_depth"), has("degraded")]' out.jsonl)" '[null,false,false]'
}

@test "--dry-run prints the plan and runs nothing" {
	resolve deadline '{"fail_a":"transient"}'
	invoke --dry-run
	assert_success
	assert_file_not_exists "$LOG"
	run jq -c '[has("attempts"), has("result"), has("tool_id"), (.plan | map([.tool_id, .action, .timeout_ms, .max_retries, .max_concurrent]))]' out.jsonl
	assert_output '[false,false,false,[["a","run",1500,0,1],["b","run",1500,0,1]]]'
	assert_equal "$(jq -c '.plan[0].argv' out.jsonl)" "$(jq -c '.route.candidates[0].argv' routed.jsonl)"
	# Retries, candidates not ready, --strict.
	resolve gen '{}' '.tool_id = null | del(.tool_id)'
	jq -c '.route.candidates += [{tool_id:"ghost", status:"unknown_tool", reason:"tool '"'"'ghost'"'"' not found in AIM registry"}]' routed.jsonl >r && mv r routed.jsonl
	invoke -n
	assert_success
	run jq -c '.plan | map([.tool_id, .action, .max_retries, .reason, .message])' out.jsonl
	assert_output "[[\"a\",\"run\",2,null,null],[\"b\",\"run\",0,null,null],[\"c\",\"run\",2,null,null],[\"ghost\",\"skip\",null,\"unknown_tool\",\"tool 'ghost' not found in AIM registry\"]]"
	invoke -n -s
	run jq -c '.plan | map([.action, .reason])' out.jsonl
	assert_output '[["run",null],["skip","fallback_disabled"],["skip","fallback_disabled"],["skip","fallback_disabled"]]'
	assert_file_not_exists "$LOG"
}

@test "--dry-run shows a tool that started cooling down after routing as a skip with until" {
	echo '{"allowed_fails": 1, "cooldown_ms": 60000}' >cfg.json
	resolve gen '{}'
	cp routed.jsonl early.jsonl
	resolve strict '{"fail_a":"transient"}'
	invoke
	until=$(jq -r '.attempts[0].cooldown_until' out.jsonl)
	cp early.jsonl routed.jsonl
	rm -f "$LOG"
	invoke -n
	assert_success
	assert_equal "$(jq -c -S '.plan[0]' out.jsonl)" "{\"action\":\"skip\",\"reason\":\"cooldown\",\"tool_id\":\"a\",\"until\":\"$until\"}"
	assert_file_not_exists "$LOG"
}
