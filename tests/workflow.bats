#!/usr/bin/env bats
# Verify-and-retry (aim-invoke(1) "Verify and retry"): a rule's verify
# checks each success of an AI tool; a failure runs the tool again told
# why, up to max_rounds, then the chain moves on.  The tools are the
# stand-in tests/fixtures/workflow/AIM_ai.sh, which writes a.txt and
# logs each request it gets in reg/runs.log.

load helper

setup() {
	common_setup
	mkdir -p reg/AIM_adapters reg/AIM_cross-tool
	cp "$FIX/workflow/AIM_registry.json" reg/
	cp "$FIX/workflow/rules.json" reg/AIM_cross-tool/AIM_coordination-rules.json
	cp "$FIX/workflow/AIM_ai.sh" reg/AIM_adapters/
	echo start >a.txt
}

# fix CAPABILITY: aim run on a.txt, the record in out.json.
fix() {
	aim run --json -r reg -d audit -p 'make it right' "$1" a.txt >out.json
}

# rounds: each attempt's tool, outcome, round and verify status and tail.
rounds() {
	jq -r '.attempts[] | [.tool_id, .outcome, .round, .verify.status,
	    .verify.exit, .verify.output_tail] | @json' out.json
}

@test "verify fails on round 1, the tool is told why and passes on round 2" {
	run -0 fix fixing
	assert_equal "$(rounds)" '["fixer","verify_failed",1,"failed",1,"a.txt:broken\n"]
["fixer","success",2,"passed",0,"a.txt:fixed\n"]'
	assert_equal "$(cat a.txt)" fixed
	# The second request's prompt ends with the check's output.
	run -0 jq -r .payload.prompt reg/runs.log
	assert_equal "${lines[0]}" 'make it right'
	assert_equal "${lines[1]}" 'make it right'
	assert_equal "${lines[2]}" 'The check `grep -H . "$@"; grep -qx fixed "$@"` failed (exit 1) after your changes; fix what it reports.  Its output ends:'
	assert_equal "${lines[3]}" 'a.txt:broken'
	# Both rounds are audited, in the one entry of the request.
	run -0 jq -c '[.attempts[].round]' audit/*/*fixer_fixing.json
	assert_output '[1,2]'
	# In words, the round that failed says what the check said.
	run -0 --separate-stderr aim-audit -H -d audit2 out.json
	assert_equal "$(grep -c '^  verify_failed fixer .* a\.txt:broken $' <<<"$stderr")" 1
}

@test "a tool that never passes runs max_rounds times, then the chain falls back" {
	run -0 fix stuck
	assert_equal "$(rounds)" '["stubborn","verify_failed",1,"failed",1,"a.txt:broken\n"]
["stubborn","verify_failed",2,"failed",1,"a.txt:broken\n"]
["good","success",1,"passed",0,"a.txt:fixed\n"]'
	# The next tool gets the request's own prompt.
	assert_equal "$(jq -r .payload.prompt reg/runs.log | tail -n 1)" 'make it right'
	assert_equal "$(jq -r '[.tool_id, .fallback_depth] | @tsv' out.json)" $'good\t1'
}

@test "aim-invoke: max_rounds defaults to 3; then the record fails when no tool is left" {
	echo '{"capability":"plain-verified","payload":{"prompt":"p","files":["a.txt"]}}' >req.json
	run -1 sh -c 'aim-resolve -r reg <req.json | aim-invoke >out.json'
	assert_equal "$(jq -r '.attempts | map(.outcome + " " + (.round | tostring)) | join(",")' out.json)" \
	    'verify_failed 1,verify_failed 2,verify_failed 3'
	assert_equal "$(jq -c .result.success out.json)" false
}

@test "without a verify rule nothing changes: one attempt, no round" {
	run -0 fix plain
	assert_equal "$(jq -c '.attempts' out.json)" \
	    '[{"tool_id":"stubborn","outcome":"success","exit_code":0,"message":"wrote a.txt","duration_ms":'"$(jq .attempts[0].duration_ms out.json)"'}]'
	assert_equal "$(cat a.txt)" broken
}

@test "max_rounds must be a positive integer" {
	sed -i 's/"max_rounds": 2/"max_rounds": 0/' reg/AIM_cross-tool/AIM_coordination-rules.json
	run -3 --separate-stderr fix stuck
	assert_equal "$stderr" "aim-run: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:5:74: capability 'stuck': max_rounds must be a positive integer"
}
