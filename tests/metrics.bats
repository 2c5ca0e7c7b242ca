#!/usr/bin/env bats
# aim-audit metrics (aim metrics): the audit trail in the Prometheus text
# format, checked by promtool (Debian's prometheus package).

load helper

setup() {
	common_setup
	command -v promtool >/dev/null || skip "promtool not installed (apt-get install prometheus)"
}

# rec ID CAP SUCCESS ATTEMPTS [CONTENT]: a result record as aim-invoke
# writes one, served by the last attempt's tool when SUCCESS is true.
rec() {
	jq -nc --arg id "$1" --arg cap "$2" --argjson ok "$3" \
	    --argjson at "$4" --argjson c "${5:-null}" '{id:$id, capability:$cap,
	    tool_id:(if $ok then $at[-1].tool_id else "none" end),
	    payload:{}, result:{success:$ok, message:"m", content:$c},
	    attempts:$at}'
}

# The trail: a record served at once, one served after a rate-limited
# attempt (with usage and cost), one that failed everywhere, one where a
# cooling tool was skipped.
trail() {
	{
		rec r1 formatting true '[{"tool_id":"fmt","outcome":"success","exit_code":0,"duration_ms":80}]'
		rec r2 code_generation true '[{"tool_id":"claude","outcome":"failure","error_class":"rate_limit","duration_ms":1500},{"tool_id":"codex","outcome":"success","exit_code":0,"duration_ms":20000}]' \
		    '{"usage":{"input_tokens":1200,"output_tokens":300,"cached_input_tokens":100},"cost_usd":0.25}'
		rec r3 code_generation false '[{"tool_id":"claude","outcome":"timeout","error_class":"timeout","duration_ms":700000}]'
		rec r4 code_generation true '[{"tool_id":"claude","outcome":"skipped","reason":"cooldown"},{"tool_id":"codex","outcome":"success","exit_code":0,"duration_ms":3000}]' \
		    '{"usage":{"input_tokens":10,"output_tokens":5},"cost_usd":0.5}'
	} >trail.jsonl
	# Exit 1: a failed result (r3) went through.
	run -1 aim-audit -d "$PWD/audit" trail.jsonl
}

@test "metrics: requests, fallbacks, attempts, durations, tokens and spend from the trail; promtool passes" {
	trail
	run -0 --separate-stderr aim-audit -d "$PWD/audit" metrics
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >m.prom
	run -0 promtool check metrics <m.prom
	run grep -v '^#' m.prom
	assert_line 'aim_audit_entries 4'
	assert_line 'aim_audit_unreadable_entries 0'
	assert_line 'aim_requests_total{capability="code_generation",outcome="failure"} 1'
	assert_line 'aim_requests_total{capability="code_generation",outcome="success"} 2'
	assert_line 'aim_requests_total{capability="formatting",outcome="success"} 1'
	# r2 only: r4's first attempt was skipped, not tried.
	assert_line 'aim_fallbacks_total{capability="code_generation"} 1'
	assert_line 'aim_attempts_total{tool="claude",outcome="failure",error_class="rate_limit"} 1'
	assert_line 'aim_attempts_total{tool="claude",outcome="skipped",error_class="cooldown"} 1'
	assert_line 'aim_attempts_total{tool="claude",outcome="timeout",error_class="timeout"} 1'
	assert_line 'aim_attempts_total{tool="codex",outcome="success"} 2'
	assert_line 'aim_attempts_total{tool="fmt",outcome="success"} 1'
	assert_line 'aim_attempt_duration_seconds_bucket{tool="codex",le="2.5"} 0'
	assert_line 'aim_attempt_duration_seconds_bucket{tool="codex",le="5"} 1'
	assert_line 'aim_attempt_duration_seconds_bucket{tool="codex",le="30"} 2'
	assert_line 'aim_attempt_duration_seconds_sum{tool="codex"} 23'
	assert_line 'aim_attempt_duration_seconds_count{tool="codex"} 2'
	# 700 s is past the last bound: only +Inf holds it.
	assert_line 'aim_attempt_duration_seconds_bucket{tool="claude",le="600"} 1'
	assert_line 'aim_attempt_duration_seconds_bucket{tool="claude",le="+Inf"} 2'
	assert_line 'aim_tokens_total{tool="codex",type="input"} 1210'
	assert_line 'aim_tokens_total{tool="codex",type="output"} 305'
	assert_line 'aim_spend_usd_total{tool="codex"} 0.75'
	# Every family says what it is, once.
	assert_equal "$(grep -c '^# TYPE' m.prom)" 11
}

@test "metrics: an empty trail is every family and no series; entries 0" {
	run -0 aim-audit -d "$PWD/audit" metrics
	printf '%s\n' "$output" >m.prom
	run -0 promtool check metrics <m.prom
	run grep -v '^#' m.prom
	assert_output $'aim_audit_entries 0\naim_audit_size_bytes 0\naim_audit_unreadable_entries 0'
}

@test "metrics: label values are escaped as the text format wants" {
	rec 'r"1' $'ca"p\\x\ny' true '[{"tool_id":"t","outcome":"success","duration_ms":1}]' |
	    aim-audit -d "$PWD/audit" >/dev/null
	run -0 aim-audit -d "$PWD/audit" metrics
	printf '%s\n' "$output" >m.prom
	run -0 promtool check metrics <m.prom
	run grep '^aim_requests_total' m.prom
	assert_output 'aim_requests_total{capability="ca\"p\\x\ny",outcome="success"} 1'
}

@test "metrics --textfile: written whole through a rename, as node_exporter wants; a bad path is exit 4" {
	trail
	mkdir prom
	run -0 --separate-stderr aim-audit -d "$PWD/audit" metrics --textfile prom/aim.prom
	assert_output ""
	assert_equal "$(ls -A prom)" aim.prom
	aim-audit -d "$PWD/audit" metrics >stdout.prom
	cmp stdout.prom prom/aim.prom
	run -4 --separate-stderr aim-audit -d "$PWD/audit" metrics --textfile nodir/aim.prom
	assert_equal "$stderr" "aim-audit: nodir/aim.prom: No such file or directory"
}

@test "aim metrics is aim-audit metrics; an unreadable entry is counted, not fatal" {
	trail
	echo '{broken' >"$(ls -d "$PWD"/audit/2*/ | head -1)/2026-01-01T00-00-00-000000_x_y.json"
	run -0 --separate-stderr "$AIM_TEST_BUILD/aim" metrics -d "$PWD/audit"
	run grep '^aim_audit_unreadable_entries' <<<"$output"
	assert_output 'aim_audit_unreadable_entries 1'
	run -0 aim-audit -d "$PWD/audit" metrics --help
	assert_line --index 0 "usage: aim-audit [-c config] [-d dir] [-r registry] metrics [--textfile file]"
}
