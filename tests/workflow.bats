#!/usr/bin/env bats
# Verify-and-retry (aim-invoke(1) "Verify and retry"): a rule's verify
# checks each success of an AI tool; a failure runs the tool again told
# why, up to max_rounds, then the chain moves on.  Workflows
# (aim-invoke(1) "Workflows"): a request's steps, or a workflow of the
# rules, run in order on the files.  The tools are stand-ins in
# tests/fixtures/workflow: AIM_ai.sh, an AI tool that writes a.txt (and
# b.txt) and logs each request in reg/runs.log; wf-tool, a formatter and
# a linter behind adapter objects, which log their runs there too.

load helper

setup_file() {
	export PATH="$FIX/workflow:$PATH"
}

setup() {
	common_setup
	fixture_registry "$FIX/workflow"
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

@test "verify naming a capability: the linter, routed through aim, fails round 1 and passes round 2" {
	run -0 fix shouting
	assert_equal "$(jq -c '.attempts[] | [.tool_id, .outcome, .round,
	    (.verify | .capability, .tool_id, .status, .exit, .output_tail)]' out.json)" \
	    '["shouter","verify_failed",1,"linting","lint","failed",1,"a.txt: lower case\n"]
["shouter","success",2,"linting","lint","passed",0,"0 file(s) modified"]'
	assert_equal "$(cat a.txt)" LOUD
	# The linter had the file the tool changed; round 2 was told what it said.
	assert_equal "$(grep -v '^{' reg/runs.log)" $'lint a.txt\nlint a.txt'
	assert_equal "$(grep '^{' reg/runs.log | jq -rs '.[1].payload.prompt' | sed -n 3,4p)" \
	    "The check of capability 'linting' (tool lint) failed (exit 1) after your changes; fix what it reports.  Its output ends:
a.txt: lower case"
	# The rules are checked: a capability they lack, one verified by one.
	sed -i 's/"verify": {"capability":"linting"}/"verify": {"capability":"lintin"}/' \
	    reg/AIM_cross-tool/AIM_coordination-rules.json
	run -3 --separate-stderr fix shouting
	assert_equal "$stderr" "aim-run: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:11:17: capability 'shouting': verify: unknown capability 'lintin'"
	sed -i 's/"verify": {"capability":"lintin"}/"verify": {"capabilty":"linting"}/' \
	    reg/AIM_cross-tool/AIM_coordination-rules.json
	run -3 --separate-stderr fix shouting
	assert_equal "$stderr" "aim-run: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:11:17: capability 'shouting': verify must be a command or {\"capability\": NAME}"
}

@test "without a verify rule nothing changes: one attempt, no round" {
	run -0 fix plain
	assert_equal "$(jq -c -S '.attempts' out.json)" \
	    '[{"duration_ms":'"$(jq .attempts[0].duration_ms out.json)"',"exit_code":0,"message":"wrote a.txt","outcome":"success","tool_id":"stubborn"}]'
	assert_equal "$(cat a.txt)" broken
}

@test "max_rounds must be a positive integer" {
	sed -i 's/"max_rounds": 2/"max_rounds": 0/' reg/AIM_cross-tool/AIM_coordination-rules.json
	run -3 --separate-stderr fix stuck
	assert_equal "$stderr" "aim-run: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:5:74: capability 'stuck': max_rounds must be a positive integer"
}

# steps REQUEST: REQUEST through aim-resolve and aim-invoke, the record in
# out.json; then its summary: each step's tool and success, and each
# attempt's step, one line.
steps() {
	echo "$1" >req.json
	aim-resolve -r reg <req.json | aim-invoke >out.json
}
summary() {
	jq -c '[.result.success, [.steps[] | [.tool_id, .result.success]],
	    [.attempts[].step]]' out.json
}

@test "a workflow of the rules: refactor, then format and lint what it changed too" {
	run -0 steps '{"workflow": "tidy", "payload": {"files": ["a.txt"]}}'
	assert_equal "$(summary)" '[true,[["refactorer",true],["fmt",true],["lint",true]],[0,1,2]]'
	# The formatter and the linter had the file the refactoring made.
	assert_equal "$(grep -v '^{' reg/runs.log)" $'upper a.txt b.txt\nlint a.txt b.txt'
	assert_equal "$(cat a.txt b.txt)" $'REFACTORED\nNEW CODE'
	# --dry-run: each step's plan; nothing runs.
	assert_equal "$(aim-resolve -r reg req.json | aim-invoke -n | jq -c '[.plan, [.steps[].plan[] | .tool_id + " " + .action]]')" \
	    '[[],["refactorer run","fmt run","lint run"]]'
	assert_equal "$(jq -c '[.capability, .tool_id, .result.content.files_modified]' out.json)" \
	    '["tidy","lint",["a.txt","b.txt"]]'
	# One audit entry: every step's attempts, the steps without routes.
	run -0 aim-audit -d audit out.json
	assert_equal "$(jq -c '[[.attempts[].step], [.steps[] | keys | join(",")]]' audit/*/*_lint_tidy.json)" \
	    '[[0,1,2],["capability,prompt,result,tool_id","capability,result,tool_id","capability,result,tool_id"]]'
}

@test "aim run --steps and -w: the request of steps from the command line; every word a file" {
	run -0 aim run --json -r reg -d audit -p 'split it up' --steps refactoring,formatting,linting a.txt
	echo "$output" >out.json
	assert_equal "$(summary)" '[true,[["refactorer",true],["fmt",true],["lint",true]],[0,1,2]]'
	assert_equal "$(jq -c '[.capability, [.steps[].capability], .payload]' out.json)" \
	    '["steps",["refactoring","formatting","linting"],{"files":["a.txt"],"prompt":"split it up"}]'
	echo start >a.txt
	run -0 aim run --json -r reg -d audit -w tidy a.txt
	echo "$output" >out.json
	assert_equal "$(summary)" '[true,[["refactorer",true],["fmt",true],["lint",true]],[0,1,2]]'
	assert_equal "$(jq -r .capability out.json)" tidy
	run -1 --separate-stderr aim run --json -r reg -d audit --steps formatting,nope a.txt
	assert_equal "$stderr" "aim-run: a.txt: steps: steps[1]: unknown capability 'nope'"
}

@test "a step hands on only files inside the working directory: ../, absolute and symlinked ones outside are dropped and named" {
	ln -s .. up
	echo b >b.txt
	run -0 --separate-stderr steps '{"steps": [{"capability": "escaping", "prompt": "p"}, {"capability": "formatting"}], "payload": {"files": ["a.txt"]}}'
	assert_equal "$stderr" "aim-invoke: <stdin>:1: steps[0]: files outside the working directory not handed on: ../../etc/passwd, /etc/passwd, up/x.txt"
	assert_equal "$(jq -c '.steps[0].error | [.code, .files]' out.json)" '["forbidden_path",["../../etc/passwd","/etc/passwd","up/x.txt"]]'
	# The formatter had the request's file and the one inside, named absolutely.
	assert_equal "$(grep -v '^{' reg/runs.log)" "upper a.txt $PWD/b.txt"
	assert_equal "$(jq -c '[.result.success, .result.content.files_modified]' out.json)" "[true,[\"a.txt\",\"$PWD/b.txt\"]]"
	# A verify command is not given them either.
	sed -i 's|"escaping": {"primary": "escaper", "fallback": \[\]}|"escaping": {"primary": "escaper", "fallback": [], "verify": "echo \\"$@\\""}|' \
	    reg/AIM_cross-tool/AIM_coordination-rules.json
	run -0 fix escaping
	assert_equal "$(jq -r '.attempts[0].verify.output_tail' out.json)" "a.txt $PWD/b.txt"
}

@test "a step hands on no file the rules' security forbids; too many files or bytes fail the next step as aim-resolve would" {
	local req='{"steps": [{"capability": "leaking", "prompt": "p"}, {"capability": "formatting", "prompt": "make it so"}], "payload": {"files": ["a.txt"]}}'
	local rules=reg/AIM_cross-tool/AIM_coordination-rules.json
	run -0 --separate-stderr steps "$req"
	assert_equal "$stderr" "aim-invoke: <stdin>:1: steps[0]: files the rules' security refuses not handed on: .env, key.pem"
	assert_equal "$(jq -c '[.steps[0].error.code, .steps[0].error.files, .result.content.files_modified]' out.json)" \
	    '["forbidden_path",[".env","key.pem"],["a.txt","b.txt"]]'
	assert_equal "$(grep -v '^{' reg/runs.log)" "upper a.txt b.txt"
	# Two files where the rules allow one: the formatter never runs.
	jq '.security.max_file_count = 1' "$rules" >r.json && mv r.json "$rules"
	run -1 --separate-stderr steps "$req"
	assert_equal "$(jq -c '.steps[1].error as $e | [$e.stage, $e.code, $e.message, .result.message, [.attempts[].step]]' out.json)" \
	    '["invoke","too_many_files","payload.files has 2 files, limit 1 (security.max_file_count)","step 1 (formatting) failed: payload.files has 2 files, limit 1 (security.max_file_count)",[0]]'
	# The payload the formatter would get is 49 bytes; the first step's 32.
	jq '.security.max_file_count = 5 | .security.max_payload_size_bytes = 40' "$rules" >r.json && mv r.json "$rules"
	run -1 --separate-stderr steps "$req"
	assert_equal "$(jq -c '[.steps[1].error.code, .result.message]' out.json)" \
	    '["payload_too_large","step 1 (formatting) failed: payload is 49 bytes, limit 40"]'
	assert_equal "$(grep -c '^upper' reg/runs.log)" 1
}

@test "a failed middle step stops the chain; continue_on_failure goes on" {
	local req='{"steps": [{"capability": "refactoring", "prompt": "p"}, {"capability": "breaking"STEP}, {"capability": "formatting"}], "payload": {"files": ["a.txt"]}}'
	run -1 steps "${req/STEP/}"
	assert_equal "$(summary)" '[false,[["refactorer",true],[null,false],[null,null]],[0,1]]'
	assert_equal "$(jq -r .result.message out.json)" "step 1 (breaking) failed: All tools failed for capability 'breaking': bad: broken"
	assert_equal "$(cat a.txt)" refactored
	run -0 steps "${req/STEP/, \"continue_on_failure\": true}"
	assert_equal "$(summary)" '[true,[["refactorer",true],[null,false],["fmt",true]],[0,1,2]]'
	assert_equal "$(cat a.txt)" REFACTORED
}

@test "bad steps are error records naming the step" {
	printf '%s\n' '{"steps": [{"capability": "formatting"}, {"capability": "nope"}], "payload": {}}' \
	    '{"steps": [], "payload": {}}' '{"steps": "x", "payload": {}}' \
	    '{"steps": [{"capability": "formatting"}, 3], "payload": {}}' \
	    '{"steps": [{"prompt": "p"}], "payload": {}}' \
	    '{"steps": [{"capability": "formatting", "promt": "p"}], "payload": {}}' \
	    '{"steps": [{"capability": "refactoring"}], "payload": {}}' \
	    '{"workflow": "nah", "payload": {}}' \
	    '{"workflow": "tidy", "steps": [], "payload": {}}' >req.jsonl
	run -1 --separate-stderr aim-resolve -r reg req.jsonl
	assert_equal "$(jq -r '.error.code' <<<"$output" | sort | uniq -c | tr -s ' ')" \
	    $' 7 invalid_request\n 1 missing_context\n 1 unknown_capability'
	assert_equal "$stderr" "aim-resolve: req.jsonl:1: steps[1]: unknown capability 'nope'
aim-resolve: req.jsonl:2: \"steps\" must not be empty
aim-resolve: req.jsonl:3: \"steps\" must be an array
aim-resolve: req.jsonl:4: steps[1] must be an object
aim-resolve: req.jsonl:5: steps[0]: missing \"capability\"
aim-resolve: req.jsonl:6: steps[0]: unknown member \"promt\"
aim-resolve: req.jsonl:7: steps[0]: missing_context: prompt
aim-resolve: req.jsonl:8: unknown workflow 'nah'
aim-resolve: req.jsonl:9: \"steps\" and \"workflow\" exclude each other"
}

@test "a workflow of the rules is checked when they load" {
	sed -i 's/{"capability": "linting"}/{"capability": "linting", "continue_on_failure": 1}/' \
	    reg/AIM_cross-tool/AIM_coordination-rules.json
	echo '{"workflow": "tidy", "payload": {}}' >req.json
	run -3 --separate-stderr aim-resolve -r reg req.json
	assert_equal "$stderr" "aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:21:13: workflow 'tidy': steps[2]: \"continue_on_failure\" must be true or false"
}
