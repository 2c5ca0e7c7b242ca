#!/usr/bin/env bats
# Spend budgets (aim-invoke(1) "Cost", "Budgets"): an attempt's cost from
# its adapter or from usage times the registry price, the spend of the
# day in the shared state, a tool over its budget skipped until the UTC
# day ends.

load helper

BUD=$REGS/budget

setup_file() {
	# The clock that stands still: days made to order.
	frozen_clock_build
}

setup() {
	common_setup
}

# at SECONDS CMD...: run CMD with CLOCK_REALTIME stopped at SECONDS.
at() {
	frozen_at "$@"
}

# 2026-12-03T12:00:00Z and the day after.
DAY1=1796299200
DAY2=1796385600

# serve T N: N requests for "code" resolved and invoked at time T.
serve() {
	local i
	for i in $(seq "$2"); do echo "{\"id\":\"r$i\",\"capability\":\"code\",\"payload\":{}}"; done >req.jsonl
	at "$1" aim-resolve -r "$BUD" req.jsonl >routed.jsonl
	at "$1" aim-invoke -r "$BUD" routed.jsonl
}

@test "cost: usage times the registry price, else the adapter's cost_usd; the day's spend per tool and capability in the state" {
	run -0 --separate-stderr serve $DAY1 2
	assert_equal "$stderr" ""
	# paid: (500000 x 3 + 500000 x 0.3 + 100000 x 15) / 1e6.
	assert_equal "$(jq -c '[.tool_id, .attempts[0].cost_usd, .attempts[0].cost_from]' <<<"$output")" \
	    "$(printf '%s\n' '["paid",3.15,"price"]' '["paid",3.15,"price"]')"
	run jq -c -S '.registries[].spend' "$HOME/.local/state/aim/state.json"
	assert_output '{"2026-12-03":{"capabilities":{"code":6.3},"tools":{"paid":6.3}}}'
}

@test "over budget: aim-resolve marks it budget_exhausted until the day ends, aim-invoke skips it, the next tool serves at its own cost" {
	serve $DAY1 2 >/dev/null
	run -0 --separate-stderr serve $DAY1 1
	assert_equal "$(jq -c '.route.candidates[0] | [.status, .until, .reason]' routed.jsonl)" \
	    '["budget_exhausted","2026-12-04T00:00:00.000Z","spent $6.3000 of its $6.0000 a day; until 2026-12-04T00:00:00.000Z"]'
	assert_equal "$(jq -c '[.tool_id, [.attempts[] | [.outcome, .reason, .cost_usd, .cost_from]]]' <<<"$output")" \
	    '["cheap",[["skipped","budget_exhausted",null,null],["success",null,0.25,"adapter"]]]'
}

@test "every tool over budget: aim-resolve's all_cooling_down error says when the first is back" {
	echo '{"budgets": {"paid": {"usd_per_day": 0}, "cheap": {"usd_per_day": 0}}}' >zero.json
	echo '{"id":"z","capability":"code","payload":{}}' >req.jsonl
	run -1 --separate-stderr at $DAY1 aim-resolve -r "$BUD" -c zero.json req.jsonl
	assert_equal "$(jq -c '.error | [.code, .tool_id, .until, .retry_after_ms]' <<<"$output")" \
	    '["all_cooling_down","paid","2026-12-04T00:00:00.000Z",43199877]'
}

@test "over budget at invoke time: a route made before the budget ran out skips the tool with until" {
	for i in 1 2 3; do echo "{\"id\":\"r$i\",\"capability\":\"code\",\"payload\":{}}"; done >req.jsonl
	at $DAY1 aim-resolve -r "$BUD" req.jsonl >routed.jsonl
	# One at a time: the third starts after the first two spent 6.30.
	run -0 --separate-stderr at $DAY1 aim-invoke -j 1 -r "$BUD" routed.jsonl
	assert_equal "$(jq -c '[.tool_id, .attempts[0].reason, .attempts[0].until]' <<<"$output")" \
	    "$(printf '%s\n' '["paid",null,null]' '["paid",null,null]' '["cheap","budget_exhausted","2026-12-04T00:00:00.000Z"]')"
	assert_equal "$(jq -r '.attempts[0].message' <<<"${lines[2]}")" \
	    'spent $6.3000 of its $6.0000 a day; until 2026-12-04T00:00:00.000Z'
}

@test "the next UTC day the budget is back" {
	serve $DAY1 2 >/dev/null
	run -0 serve $DAY2 1
	assert_equal "$(jq -c '[.tool_id, (.attempts | length)]' <<<"$output")" '["paid",1]'
	run jq -c '.registries[].spend | keys' "$HOME/.local/state/aim/state.json"
	assert_output '["2026-12-03","2026-12-04"]'
	# A week on, the old days go.
	serve $((DAY2 + 8 * 86400)) 1 >/dev/null
	run jq -c '.registries[].spend | keys' "$HOME/.local/state/aim/state.json"
	assert_output '["2026-12-12"]'
}

@test "budgets and price: bad members are problems at their line" {
	mkdir reg
	cp -r "$BUD"/AIM_cross-tool "$BUD"/AIM_adapters reg/
	# Real jq: the lines named below are those of the registry's own key order.
	command jq '.tools.paid.price = {"input_per_mtok": -1, "out": 2}' "$BUD/AIM_registry.json" >reg/AIM_registry.json
	printf '{\n "budgets": {\n  "paid": {"usd_per_day": "x"},\n  "cheap": 3\n }\n}\n' >reg/aim_config.json
	run -1 --separate-stderr aim-resolve -r reg --check
	assert_equal "$stderr" "$(printf 'aim-resolve: %s\n' \
	    "$PWD/reg/aim_config.json:3:27: budgets: 'paid': usd_per_day must be a non-negative number" \
	    "$PWD/reg/aim_config.json:4:12: budgets: 'cheap' must be an object with \"usd_per_day\"" \
	    "$PWD/reg/AIM_registry.json:13:27: tool 'paid': price.input_per_mtok must be a non-negative number" \
	    "$PWD/reg/AIM_registry.json:12:16: tool 'paid': price needs input_per_mtok and output_per_mtok" \
	    "$PWD/reg/AIM_registry.json:14:9: tool 'paid': price: unknown member 'out'")"
}

@test "aim status: spend today against the budget, the tools without one that spent" {
	serve $DAY1 3 >/dev/null
	run -0 --separate-stderr at $DAY1 aim status -j -r "$BUD"
	assert_equal "$(jq -c -S .spend <<<"$output")" \
	    '[{"left_usd":0,"spent_usd":6.3,"tool_id":"paid","usd_per_day":6},{"left_usd":null,"spent_usd":0.25,"tool_id":"cheap","usd_per_day":null}]'
	run -0 at $DAY1 aim status -r "$BUD"
	assert_line 'spend         paid $6.30 today of $6.00 ($0.00 left)'
	assert_line '              cheap $0.25 today'
}

@test "aim-audit stats: cost and tokens by day and tool; metrics spend from the attempts" {
	serve $DAY1 3 | at $DAY1 aim-audit -d "$PWD/audit" >/dev/null
	serve $DAY2 1 | at $DAY2 aim-audit -d "$PWD/audit" >/dev/null
	run -0 --separate-stderr aim-audit -d "$PWD/audit" stats
	assert_equal "$(jq -c -S '[.cost_usd, .spend_by_day]' <<<"$output")" \
	    '[9.7,{"2026-12-03":{"cheap":{"cost_usd":0.25,"input_tokens":10,"output_tokens":10},"paid":{"cost_usd":6.3,"input_tokens":2000000,"output_tokens":200000}},"2026-12-04":{"paid":{"cost_usd":3.15,"input_tokens":1000000,"output_tokens":100000}}}]'
	run -0 aim-audit -d "$PWD/audit" metrics
	assert_line 'aim_spend_usd_total{tool="cheap"} 0.25'
	assert_line 'aim_tokens_total{tool="paid",type="input"} 3000000'
	# With the registry, the state's gauges: the day after, 2.85 left.
	run -0 at $DAY2 aim-audit -r "$BUD" -d "$PWD/audit" metrics
	assert_line 'aim_cooldowns_open 0'
	assert_line 'aim_budget_remaining_usd{tool="paid"} 2.8500000000000001'
	if command -v promtool >/dev/null; then
		printf '%s\n' "$output" >m.prom
		run -0 promtool check metrics <m.prom
	fi
}

@test "several -d: verify each chain on its own, query and stats merge them, each entry saying its directory" {
	serve $DAY1 1 | at $DAY1 aim-audit -d "$PWD/a1" >/dev/null
	serve $DAY2 1 | at $DAY2 aim-audit -d "$PWD/a2" >/dev/null
	run -0 --separate-stderr aim-audit verify -d a1 -d a2
	assert_equal "$(jq -c '[.ok, .dir, .entries]' <<<"$output")" \
	    "$(printf '%s\n' "[true,\"$PWD/a1\",1]" "[true,\"$PWD/a2\",1]")"
	run -0 aim-audit query -d a2 -d a1
	assert_equal "$(jq -c '[.timestamp[:10], .audit_dir]' <<<"$output")" \
	    "$(printf '%s\n' "[\"2026-12-03\",\"$PWD/a1\"]" "[\"2026-12-04\",\"$PWD/a2\"]")"
	run -0 aim-audit stats -d a1 -d a2
	assert_equal "$(jq -c '[.entries, .dirs, .cost_usd]' <<<"$output")" "[2,[\"$PWD/a1\",\"$PWD/a2\"],6.3]"
	# A damaged chain fails alone; another command takes one -d.
	rm a2/*/*.json
	run -1 --separate-stderr aim-audit verify -d a1 -d a2
	assert_equal "$(jq -c .ok <<<"$output")" "$(printf '%s\n' true false)"
	run -2 --separate-stderr aim-audit prune -d a1 -d a2
	assert_equal "${stderr%%$'\n'*}" "aim-audit: prune: one -d only (verify, query and stats take several)"
}

@test "examples/fleet: GNU parallel shards a stream, each shard its own chain; verify and stats over all of them" {
	command -v parallel >/dev/null || skip "GNU parallel not installed"
	for i in 1 2 3 4 5 6; do echo "{\"id\":\"f$i\",\"capability\":\"code\",\"payload\":{}}"; done >req.jsonl
	run -0 --separate-stderr env OUT="$PWD/out" "$TOP/examples/fleet/run-parallel.sh" -j 2 -n 2 -r "$BUD" <req.jsonl
	assert_equal "$stderr" ""
	# Three shards of two, each ended 0 in the job log.
	assert_equal "$(awk 'NR > 1 { print $7 }' out/joblog | sort | uniq -c | tr -s ' ')" " 3 0"
	assert_equal "$(cat out/results-*.jsonl | jq -r .id | sort | tr '\n' ' ')" "f1 f2 f3 f4 f5 f6 "
	assert_equal "$(jq -c .ok out/verify.jsonl | tr '\n' ' ')" "true true true "
	assert_equal "$(jq -c '[.entries, (.dirs | length)]' out/stats.json)" "[6,3]"
}
