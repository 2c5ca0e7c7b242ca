#!/usr/bin/env bats
# aim-invoke: attempts, outcomes, the child runner, concurrency, signals.

load helper

setup() {
	common_setup
}

# invoke_one TOOL ADAPTER [TIMEOUT_MS] [PAYLOAD]: run one record, keep
# stdout in out.jsonl and stderr in err.txt; $status is aim-invoke's.
invoke_one() {
	routed "$@" >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	printf '%s\n' "$output" >out.jsonl
}

outcome() {
	jq -r '.attempts[-1].outcome' out.jsonl
}

@test "--help prints the usage, one line per option and the man page on stdout, exits 0" {
	run --separate-stderr aim-invoke --help
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${lines[0]}" "usage: aim-invoke [-Hnsu] [-c config] [-j jobs] [-r registry] [--no-cache] [file ...]"
	assert_equal "${#lines[@]}" 12
	for opt in "-c, --config=config " "-H, --human " "-h, --help " "-j, --jobs=jobs " "-n, --dry-run " "    --no-cache " "-r, --registry=registry " "-s, --strict " "-u, --unordered " "-V, --version "; do
		assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c -- "^  $opt")" 1
	done
	assert_equal "${lines[11]}" "See aim-invoke(1)."
}

@test "-V and --version print the version" {
	for o in -V --version; do
		run --separate-stderr aim-invoke "$o"
		assert_success
		assert_output --regexp '^aim-invoke [0-9]+\.[0-9]+\.[0-9]+$'
	done
}

@test "a bad option prints the usage on stderr and exits 2" {
	run --separate-stderr aim-invoke -x
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_equal "${stderr_lines[1]}" "usage: aim-invoke [-Hnsu] [-c config] [-j jobs] [-r registry] [--no-cache] [file ...]"
}

@test "-j rejects 0 and non-numbers with exit 2" {
	run --separate-stderr aim-invoke -j 0
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "aim-invoke: -j 0: want a number from 1 to 1024"
	run --separate-stderr aim-invoke -j x
	assert_equal "$status" 2
}

@test "success: the adapter's answer is the result, tool_id names it, exit 0" {
	invoke_one good "$ADAPTERS/ok.sh" 5000 '{"prompt":"hi"}'
	assert_success
	run jq -c '[.tool_id, .result.success, .result.content.echo.prompt, .attempts[0].outcome, .attempts[0].exit_code]' out.jsonl
	assert_output '["good",true,"hi","success",0]'
}

@test "the adapter gets the V1 request on stdin" {
	invoke_one echo "$ADAPTERS/echo-request.sh" 4321 '{"prompt":"p","files":["a.c"]}'
	assert_success
	run jq -c -S '.result.content.request' out.jsonl
	assert_output '{"capability":"test","contract":"AIM_INTEGRATION_V1","id":"echo","payload":{"files":["a.c"],"prompt":"p"},"timeout_ms":4321}'
}

@test "the adapter environment is built from the allowlist, passEnv and AIM_*" {
	export AIM_T_SECRET=leak AIM_T_PASSED=yes LC_ALL=C.UTF-8 HTTPS_PROXY=http://127.0.0.1:9
	jq -nc --arg a "$ADAPTERS/env.sh" '{id:"e", capability:"cap", payload:{},
	    route:{capability:"cap", registry:"/reg", candidates:[{tool_id:"envtool",
	    status:"ready", argv:[$a], timeout_ms:7000, pass_env:["AIM_T_PASSED"]}]}}' >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_success
	run jq -c '.result.content.env | [.AIM_T_SECRET, .AIM_T_PASSED, .LC_ALL, .HTTPS_PROXY, .AIM_CONTRACT, .AIM_TOOL_ID, .AIM_CAPABILITY, .AIM_REQUEST_ID, .AIM_TIMEOUT_MS, .AIM_REGISTRY_PATH, (.HOME != null), (.PATH != null)]' <<<"$output"
	assert_output '[null,"yes","C.UTF-8","http://127.0.0.1:9","AIM_INTEGRATION_V1","envtool","cap","e","7000","/reg",true,true]'
}

@test "success:false is a failure attempt and the record fails with exit 1" {
	invoke_one f "$ADAPTERS/fail.sh"
	assert_failure 1
	assert_equal "$(outcome)" failure
	run jq -r '.result.message' out.jsonl
	assert_output "All tools failed for capability 'test': f: deliberate failure"
}

@test "a hanging adapter times out on time with SIGTERM" {
	invoke_one h "$ADAPTERS/hang.sh" 300
	assert_failure 1
	run jq -c '.attempts[0] | [.outcome, .signal, .message, (.duration_ms >= 300 and .duration_ms < 1300)]' out.jsonl
	assert_output '["timeout","SIGTERM","timed out after 300 ms",true]'
}

@test "an adapter that ignores SIGTERM is killed after the grace" {
	echo '{"kill_grace_ms": 200}' >cfg.json
	routed it "$ADAPTERS/ignore-term.sh" 300 >in.jsonl
	run --separate-stderr aim-invoke -c cfg.json in.jsonl
	assert_failure 1
	run jq -c '.attempts[0] | [.outcome, .signal, (.duration_ms >= 500 and .duration_ms < 1500)]' <<<"$output"
	assert_output '["timeout","SIGKILL",true]'
}

@test "a grandchild holding stdout does not hold aim-invoke" {
	invoke_one g "$ADAPTERS/grandchild.sh" 5000
	assert_success
	run jq -c '.attempts[0] | [.outcome, .leftover_killed, (.duration_ms < 2000)]' out.jsonl
	assert_output '["success",true,true]'
}

@test "a stdout flood is cut at max_output_bytes and judged bad_output" {
	echo '{"max_output_bytes": 65536}' >cfg.json
	routed y "$ADAPTERS/flood-stdout.sh" 5000 >in.jsonl
	run --separate-stderr aim-invoke -c cfg.json in.jsonl
	assert_failure 1
	run jq -c '.attempts[0] | [.outcome, .message, .stdout_truncated, (.stdout | length)]' <<<"$output"
	assert_output '["bad_output","invalid output: stdout passed 65536 bytes",true,4096]'
}

@test "a stderr flood before reading a 600 KB request does not deadlock" {
	routed s "$ADAPTERS/flood-stderr.sh" 10000 '{big: ("a" * 600000)}' >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_success
	run jq -c '[.attempts[0].outcome, .attempts[0].stderr_truncated, (.attempts[0].stderr | length), (.result.content.bytes > 600000)]' <<<"$output"
	assert_output '["success",true,4096,true]'
}

@test "an adapter that never reads stdin still succeeds" {
	invoke_one n "$ADAPTERS/no-read.sh" 5000 '{big: ("a" * 300000)}'
	assert_success
	assert_equal "$(outcome)" success
}

@test "garbage, two objects, truncated JSON and a string success are bad_output" {
	for a in garbage two-objects truncated string-success; do
		routed "$a" "$ADAPTERS/$a.sh"
	done >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	run jq -c '[.attempts[0].outcome, .attempts[0].message]' <<<"$output"
	assert_line --index 0 '["bad_output","invalid output: '"'"'['"'"' or '"'"'{'"'"' expected near '"'"'this'"'"' at line 1, column 4"]'
	assert_line --index 1 '["bad_output","invalid output: end of file expected near '"'"'{'"'"' at line 2, column 1"]'
	assert_line --index 2 --partial '["bad_output","invalid output: premature end of input'
	assert_line --index 3 '["bad_output","invalid output: \"success\" is not true or false"]'
}

@test "a non-zero exit with a valid success JSON is an exit attempt" {
	invoke_one z "$ADAPTERS/nonzero-success.sh"
	assert_failure 1
	run jq -c '.attempts[0] | [.outcome, .exit_code, .message, .stderr]' out.jsonl
	assert_output '["exit",3,"exited with code 3: something went wrong","something went wrong\n"]'
}

@test "SIGSEGV is a signal attempt" {
	invoke_one s "$ADAPTERS/segv.sh"
	assert_failure 1
	run jq -c '.attempts[0] | [.outcome, .signal, .message]' out.jsonl
	assert_output '["signal","SIGSEGV","killed by SIGSEGV"]'
}

@test "missing, not executable and no shebang are spawn errors" {
	routed m "$ADAPTERS/does-not-exist.sh" >in.jsonl
	cp "$ADAPTERS/not-executable.sh" ne.sh && chmod 0644 ne.sh
	routed x "$PWD/ne.sh" >>in.jsonl
	routed n "$ADAPTERS/no-shebang" >>in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	run jq -r '.attempts[0] | [.outcome, .message] | join(" | ")' <<<"$output"
	assert_line --index 0 "spawn_error | cannot run $ADAPTERS/does-not-exist.sh: No such file or directory"
	assert_line --index 1 "spawn_error | cannot run $PWD/ne.sh: Permission denied"
	assert_line --index 2 "spawn_error | cannot run $ADAPTERS/no-shebang: Exec format error"
}

@test "the chain moves on: hang, ignore-term, segv, garbage, then ok" {
	echo '{"kill_grace_ms": 100}' >cfg.json
	jq -nc --arg d "$ADAPTERS" '{id:"c", capability:"chain", payload:{},
	    route:{capability:"chain", candidates:[
	      {tool_id:"gone", status:"not_installed", reason:"gone: not found on PATH"},
	      {tool_id:"hang", status:"ready", argv:[$d+"/hang.sh"], timeout_ms:200},
	      {tool_id:"it", status:"ready", argv:[$d+"/ignore-term.sh"], timeout_ms:200},
	      {tool_id:"segv", status:"ready", argv:[$d+"/segv.sh"], timeout_ms:2000},
	      {tool_id:"garbage", status:"ready", argv:[$d+"/garbage.sh"], timeout_ms:2000},
	      {tool_id:"ok", status:"ready", argv:[$d+"/ok.sh"], timeout_ms:2000},
	      {tool_id:"never", status:"ready", argv:[$d+"/fail.sh"], timeout_ms:2000}]}}' >in.jsonl
	run --separate-stderr aim-invoke -c cfg.json in.jsonl
	assert_success
	run jq -c '[.tool_id, [.attempts[] | .outcome]]' <<<"$output"
	assert_output '["ok",["skipped","timeout","timeout","signal","bad_output","success"]]'
}

@test "all failed: the message names every tool and why" {
	jq -nc --arg d "$ADAPTERS" '{id:"a", capability:"code_generation", payload:{},
	    route:{capability:"code_generation", candidates:[
	      {tool_id:"jules", status:"not_installed", reason:"jules: not found on PATH"},
	      {tool_id:"ghost", status:"unknown_tool", reason:"tool '"'"'ghost'"'"' not found in AIM registry"},
	      {tool_id:"aider", status:"ready", argv:[$d+"/hang.sh"], timeout_ms:1000},
	      {tool_id:"claude", status:"ready", argv:[$d+"/nonzero-success.sh"], timeout_ms:2000}]}}' >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	run jq -c -S '[.tool_id, .result]' <<<"$output"
	assert_output "[null,{\"content\":null,\"message\":\"All tools failed for capability 'code_generation': jules: not installed; ghost: not found in AIM registry; aider: timed out after 1 s; claude: exited with code 3: something went wrong\",\"success\":false}]"
}

@test "error records and finished results pass through untouched" {
	printf '%s\n' '{"id":"e","error":{"stage":"resolve","code":"invalid_json","message":"m","line":1}}' \
	    '{"id":"r","result":{"success":true},"x":[1,2]}' >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	assert_line --index 0 '{"id":"e","error":{"stage":"resolve","code":"invalid_json","message":"m","line":1}}'
	assert_line --index 1 '{"id":"r","result":{"success":true},"x":[1,2]}'
}

@test "bad lines become invoke error records, one in one out, with stderr" {
	{
		echo 'not json'
		echo '{"id":"n","capability":"x","payload":{}}'
		echo '{"id":"b","route":{"candidates":{}}}'
		routed ok "$ADAPTERS/ok.sh"
	} >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	assert_equal "${#lines[@]}" 4
	run jq -c '[.error.stage, .error.code, .error.line, .result.success]' <<<"$output"
	assert_line --index 0 '["invoke","invalid_json",1,null]'
	assert_line --index 1 '["invoke","invalid_record",2,null]'
	assert_line --index 2 '["invoke","invalid_record",3,null]'
	assert_line --index 3 '[null,null,null,true]'
	assert_equal "${stderr_lines[0]}" "aim-invoke: in.jsonl:1: invalid JSON at column 3: '[' or '{' expected near 'not'"
	assert_equal "${stderr_lines[1]}" 'aim-invoke: in.jsonl:2: no "route": pipe requests through aim-resolve first'
	assert_equal "${stderr_lines[2]}" 'aim-invoke: in.jsonl:3: "route.candidates" must be an array'
}

@test "-j runs records at once and keeps input order" {
	# Each adapter waits until all six have started: run one after another,
	# the first would meet only itself.
	mkdir meet
	for i in 1 2 3 4 5 6; do routed "s$i" "$ADAPTERS/meet.sh" 20000; done >in.jsonl
	run --separate-stderr aim-invoke -j 6 in.jsonl
	assert_success
	run jq -c '[.id, .result.content.met]' <<<"$output"
	assert_output "$(printf '["s%s",6]\n' 1 2 3 4 5 6)"
}

@test "-u writes records in completion order" {
	routed slow "$ADAPTERS/slow-ok.sh" >in.jsonl
	routed fast "$ADAPTERS/fail.sh" >>in.jsonl
	run --separate-stderr aim-invoke -u -j 2 in.jsonl
	assert_failure 1
	run jq -r .id <<<"$output"
	assert_output "$(printf 'fast\nslow')"
}

@test "SIGINT kills the adapters, in-flight records come out interrupted, exit 130" {
	for i in 1 2 3; do routed "h$i" "$ADAPTERS/hang.sh" 60000; done >in.jsonl
	aim-invoke -j 2 in.jsonl >out.jsonl 2>err.txt &
	pid=$!
	sleep 0.5
	kill -INT "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 130
	run jq -c '[.id, .attempts[0].outcome, .result.message]' out.jsonl
	assert_output "$(printf '%s\n' '["h1","interrupted","interrupted by SIGINT"]' '["h2","interrupted","interrupted by SIGINT"]')"
	# No adapter left behind.
	run pgrep -f "$ADAPTERS/hang.sh"
	assert_failure
}

@test "SIGTERM exits 143" {
	routed h "$ADAPTERS/hang.sh" 60000 >in.jsonl
	aim-invoke in.jsonl >out.jsonl 2>err.txt &
	pid=$!
	sleep 0.3
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	assert_equal "$(jq -r '.attempts[0].outcome' out.jsonl)" interrupted
}

@test "a file that cannot be opened is exit 4, the others still run" {
	routed ok "$ADAPTERS/ok.sh" >in.jsonl
	run --separate-stderr aim-invoke nope.jsonl in.jsonl
	assert_equal "$status" 4
	assert_equal "${stderr_lines[0]}" "aim-invoke: can't open nope.jsonl: No such file or directory"
	assert_equal "$(jq -r .tool_id <<<"$output")" ok
}

@test "writing to a full device fails with exit 4" {
	routed ok "$ADAPTERS/ok.sh" >in.jsonl
	run --separate-stderr sh -c 'aim-invoke in.jsonl >/dev/full'
	assert_equal "$status" 4
	assert_equal "${stderr_lines[0]}" "aim-invoke: writing output failed"
}

@test "a malformed config is exit 3 with file, line and column" {
	printf '{\n  "timeout_ms": "x"\n}\n' >cfg.json
	routed ok "$ADAPTERS/ok.sh" >in.jsonl
	run --separate-stderr aim-invoke -c cfg.json in.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-invoke: cfg.json:2:17: timeout_ms must be a positive integer"
	# The record still runs, on the defaults: one in, one out.
	assert_equal "$(jq -r .tool_id <<<"$output")" ok
}

@test "a registry named with -r that does not exist is exit 3, records still run" {
	routed ok "$ADAPTERS/ok.sh" >in.jsonl
	run --separate-stderr aim-invoke -r nowhere in.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-invoke: registry not found (looked in nowhere); 'aim init' makes one"
	assert_equal "$(jq -r .tool_id <<<"$output")" ok
}

@test "two thousand records leave no zombie and no adapter behind" {
	n=$(stress 2000)
	for i in $(seq "$n"); do echo "{\"id\":\"$i\",\"capability\":\"t\",\"payload\":{},\"route\":{\"capability\":\"t\",\"candidates\":[{\"tool_id\":\"t\",\"status\":\"ready\",\"argv\":[\"/bin/true\"],\"timeout_ms\":5000}]}}"; done >in.jsonl
	# The circuit breaker would stop a tool that fails 2000 times: off.
	echo '{"cooldown_ms": 0}' >cfg.json
	run --separate-stderr aim-invoke -c cfg.json -j 8 in.jsonl
	assert_failure 1	# /bin/true prints nothing: bad_output
	assert_equal "$(jq -r '.attempts[0].outcome' <<<"$output" | sort | uniq -c | tr -s ' ')" " $n bad_output"
}

@test "the example adapter of aim-adapter(7) classifies: missing files are bad_request, never a cooldown for the valid file" {
	# The adapter exactly as the man page prints it.
	awk '/^\.Bd -literal/ { inb = 1; buf = ""; next }
	    /^\.Ed/ { if (buf ~ /AIM_wc.sh: an AIM/) printf "%s", buf; inb = 0; next }
	    inb { buf = buf $0 "\n" }' "$TOP/man/aim-adapter.7" | sed 's/\\e/\\/g' >AIM_wc.sh
	chmod +x AIM_wc.sh
	printf 'a\nb\n' >two.txt
	for f in gone1 gone2 gone3 gone4 two.txt; do
		routed wc "$PWD/AIM_wc.sh" 10000 "{files: [\"$PWD/$f\"]}" | jq -c --arg f "$f" '.id = $f | .route.candidates[0].max_retries = 2'
	done >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	run jq -c '[.id, [.attempts[] | .outcome, .error_class, .message], .result.content]' <<<"$output"
	assert_line --index 0 "[\"gone1\",[\"failure\",\"bad_request\",\"cannot read $PWD/gone1\"],null]"
	assert_line --index 3 "[\"gone4\",[\"failure\",\"bad_request\",\"cannot read $PWD/gone4\"],null]"
	assert_line --index 4 "[\"two.txt\",[\"success\",null,\"counted lines in 1 files\"],{\"$PWD/two.txt\":2}]"
}

@test "-j 1024 under ulimit -n 256: records wait for descriptors, none fails" {
	routed_many s 300 "$ADAPTERS/sleep-ok.sh" 120000 >in.jsonl
	echo '{"cooldown_ms": 0}' >cfg.json
	run --separate-stderr bash -c 'ulimit -n 256 && exec aim-invoke -c cfg.json -j 1024 in.jsonl'
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.id, .attempts[0].outcome] | join(" ")' <<<"$output" | sort -V | uniq -c | awk '$1 == 1 && $3 == "success"' | wc -l)" 300
}

@test "aim-invoke raises its soft descriptor limit to the hard one" {
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] && [ "$hard" -gt 64 ] || skip "hard limit $hard"
	printf '#!/bin/sh\ncat >/dev/null\nprintf "{\\"success\\":true,\\"message\\":\\"%%s\\"}\\n" "$(ulimit -Sn)"\n' >lim.sh
	chmod +x lim.sh
	routed lim "$PWD/lim.sh" >in.jsonl
	run --separate-stderr bash -c 'ulimit -Sn 64 && exec aim-invoke in.jsonl'
	assert_success
	assert_equal "$(jq -r .result.message <<<"$output")" "$hard"
}

@test "a CRLF adapter: aim-resolve --check names it, routing makes it no_adapter, aim-invoke's spawn error names the interpreter" {
	cp -R "$REGS/chain" reg
	sed -i 's/$/\r/' reg/AIM_adapters/ok.sh
	run --separate-stderr aim-resolve --check -r reg
	assert_failure 1
	printf '%s' "$stderr" | grep -qxF "aim-resolve: $PWD/reg/AIM_registry.json:19:24: tool 'ok1': adapter $PWD/reg/AIM_adapters/ok.sh: #! line ends in CR (CRLF line endings?)" ||
	    fail "no --check line for ok1: $stderr"
	echo '{"id":"c","capability":"lb","payload":{}}' | aim-resolve -r reg >routed.jsonl
	assert_equal "$(jq -c '[.route.candidates[] | .status, .reason]' routed.jsonl)" \
	    "[\"no_adapter\",\"adapter $PWD/reg/AIM_adapters/ok.sh: #! line ends in CR (CRLF line endings?)\",\"no_adapter\",\"adapter $PWD/reg/AIM_adapters/ok.sh: #! line ends in CR (CRLF line endings?)\"]"
	# Routed before the file went bad: the spawn error says why.
	routed crlf "$PWD/reg/AIM_adapters/ok.sh" >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	assert_equal "$(jq -c '.attempts[0] | [.outcome, .error_class, .message]' <<<"$output")" \
	    "[\"spawn_error\",\"not_installed\",\"cannot run $PWD/reg/AIM_adapters/ok.sh: interpreter /bin/sh^M not found: CRLF line endings?\"]"
	# A missing interpreter without a CR is named too.
	printf '#!/nonexistent/sh\necho hi\n' >nointerp.sh
	chmod +x nointerp.sh
	routed ni "$PWD/nointerp.sh" >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_equal "$(jq -r '.attempts[0].message' <<<"$output")" "cannot run $PWD/nointerp.sh: interpreter /nonexistent/sh not found"
}

@test "each failed record says why on stderr, one line: source:line: id: message" {
	{
		routed good "$ADAPTERS/ok.sh"
		routed f "$ADAPTERS/fail.sh"
		echo
		routed anon "$ADAPTERS/garbage.sh" | jq -c 'del(.id)'
		echo '{"id":"e","error":{"stage":"resolve","code":"invalid_json","message":"m","line":1}}'
		routed multi "$ADAPTERS/fail.sh" | jq -c '.route.capability = "a\nb"'
	} >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	assert_equal "${#lines[@]}" 5
	assert_equal "$stderr" "aim-invoke: in.jsonl:2: f: All tools failed for capability 'test': f: deliberate failure
aim-invoke: in.jsonl:4: All tools failed for capability 'test': anon: invalid output: '[' or '{' expected near 'this' at line 1, column 4
aim-invoke: in.jsonl:6: multi: All tools failed for capability 'a b': multi: deliberate failure"
	# From the standard input too.
	run --separate-stderr aim-invoke <in.jsonl
	assert_equal "${stderr_lines[0]}" "aim-invoke: <stdin>:2: f: All tools failed for capability 'test': f: deliberate failure"
}
