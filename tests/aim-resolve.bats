#!/usr/bin/env bats
# aim-resolve: routing, request checks, registry lookup, --check, exit codes.

load helper

CHAIN=$REGS/chain
USAGE="usage: aim-resolve [-H] [--check] [-c config] [-r registry] [file ...]
       aim-resolve --reset-cooldown tool ..."
UUID7='^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

setup() {
	common_setup
	SH=$(command -v sh)
}

# req CAPABILITY [JQ-OBJECT]: one request line; the object is merged in.
req() {
	jq -nc --arg c "$1" '{capability:$c, payload:{prompt:"p"}} + '"${2:-{\}}"
}

# The places aim-resolve looks for a registry from the working directory up,
# then $HOME, as its "registry not found" message lists them.
looked_in() {
	local d list=
	d=$(pwd -P)
	while :; do
		list="$list${list:+, }${d%/}/.AIM_ai-tools-registry"
		[ "$d" = / ] && break
		d=$(dirname "$d")
	done
	printf '%s, %s/.AIM_ai-tools-registry' "$list" "$HOME"
}

# clean_registry DIR: a registry --check finds nothing wrong with.
clean_registry() {
	mkdir -p "$1/AIM_cross-tool" "$1/AIM_adapters"
	cp "$ADAPTERS/ok.sh" "$1/AIM_adapters/ok.sh"
	cat >"$1/AIM_registry.json" <<-'EOF'
	{
	  "tools": {
	    "a": {"name": "A", "detectCommands": ["sh"], "capabilities": ["x", "y"], "adapterScript": "AIM_adapters/ok.sh"},
	    "b": {"name": "B", "detectCommands": ["sh"], "capabilities": ["x"], "adapterScript": "AIM_adapters/ok.sh"}
	  }
	}
	EOF
	cat >"$1/AIM_cross-tool/AIM_coordination-rules.json" <<-'EOF'
	{
	  "capabilities": {
	    "x": {"primary": "a", "fallback": ["b"]},
	    "y": {"primary": "a"}
	  }
	}
	EOF
}

@test "--help prints the usage and one line per option on stdout, naming the man page, and exits 0" {
	run --separate-stderr aim-resolve --help
	assert_success
	assert_output "$USAGE
  -c, --config FILE     the aim_config.json to read
  -r, --registry DIR    the registry directory to use
      --check           check the registry, rules and config; route nothing
      --reset-cooldown  end the named tools' cooldowns (of the registry in use)
  -H, --human           each record in words on stderr too
  -h, --help            print this help and exit
  -V, --version         print the version and exit
See aim-resolve(1)."
	assert_equal "$stderr" ""
	help=$output
	run aim-resolve -h
	assert_success
	assert_output "$help"
	# Every long option of the man page's options list has its line.
	for o in $(sed -n 's/^\.It Fl .*Fl -\([a-z-]*\).*/\1/p; s/^\.It Fl -\([a-z-]*\).*/\1/p' "$BATS_TEST_DIRNAME/../man/aim-resolve.1" | sort -u); do
		grep -q -- "--$o" <<<"$help" || fail "--$o missing from --help"
	done
}

@test "-V and --version print the version and exit 0" {
	run --separate-stderr aim-resolve -V
	assert_success
	assert_output "aim-resolve 0.1.0"
	run --separate-stderr aim-resolve --version
	assert_success
	assert_output "aim-resolve 0.1.0"
	assert_equal "$stderr" ""
}

@test "a bad option prints the usage on stderr and exits 2" {
	run --separate-stderr aim-resolve -x
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_equal "${stderr_lines[0]}" "aim-resolve: invalid option -- 'x'"
	assert_equal "$(printf '%s\n' "${stderr_lines[@]:1}")" "$USAGE"
	assert_equal "${#stderr_lines[@]}" 3
}

@test "-r without its argument is a usage error" {
	run --separate-stderr aim-resolve -r
	assert_equal "$status" 2
	assert_equal "$(printf '%s\n' "${stderr_lines[@]:1}")" "$USAGE"
}

@test "--version prints the version and exits 0" {
	run --separate-stderr aim-resolve --version
	assert_success
	assert_output "aim-resolve 0.1.0"
	assert_equal "$stderr" ""
}

@test "--check takes no file operands: usage error" {
	run --separate-stderr aim-resolve --check -r "$CHAIN" in.jsonl
	assert_equal "$status" 2
	assert_equal "$stderr" "$USAGE"
}

@test "a routed record is the request plus route: capability, strategy, registry, ordered candidates" {
	req code_generation '{id:"r1", extra:{keep:[1,2]}}' >in.jsonl
	run --separate-stderr aim-resolve -r "$CHAIN" in.jsonl
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 1
	# Everything the request had is kept as it was.
	run jq -c '[.id, .capability, .payload, .extra, .actor]' <<<"$output"
	assert_output '["r1","code_generation",{"prompt":"p"},{"keep":[1,2]},"pipeline"]'
	run aim-resolve -r "$CHAIN" in.jsonl
	run jq -c '.route | [.capability, .strategy, .registry, (.candidates | length)]' <<<"$output"
	assert_output "[\"code_generation\",\"ordered\",\"$CHAIN\",3]"
	run aim-resolve -r "$CHAIN" in.jsonl
	# A candidate's fields in the order aim-resolve writes them: real jq
	# (gojq sorts keys).
	run command jq -c '.route.candidates[]' <<<"$output"
	assert_line --index 0 '{"tool_id":"missing","status":"not_installed","reason":"aim-no-such-tool: not found on PATH"}'
	assert_line --index 1 "{\"tool_id\":\"ok1\",\"status\":\"ready\",\"argv\":[\"$CHAIN/AIM_adapters/ok.sh\"],\"timeout_ms\":2000,\"detected\":\"$SH\"}"
	assert_line --index 2 "{\"tool_id\":\"ok2\",\"status\":\"ready\",\"argv\":[\"$CHAIN/AIM_adapters/ok.sh\"],\"timeout_ms\":2000,\"detected\":\"$SH\"}"
}

@test "a relative -r is made absolute in route.registry" {
	cp -R "$CHAIN" reg
	req lb | aim-resolve -r reg >out.jsonl
	run jq -r '.route.registry, .route.candidates[0].argv[0]' out.jsonl
	assert_line --index 0 "$PWD/reg"
	assert_line --index 1 "$PWD/reg/AIM_adapters/ok.sh"
}

@test "pass_env comes from passEnv and is left out when there is none" {
	{ req env; req ok; } | aim-resolve -r "$REGS/misbehave" >out.jsonl
	run jq -c '.route.candidates[0] | [.tool_id, .status, .pass_env]' out.jsonl
	assert_line --index 0 '["env","ready",["AIM_FIXTURE_PASS"]]'
	assert_line --index 1 '["ok","ready",null]'
	run jq -c '.route.candidates[0] | has("pass_env")' out.jsonl
	assert_line --index 1 false
}

@test "a missing id is assigned as a UUIDv7, first in the record, increasing" {
	for i in 1 2 3; do req lb; done >in.jsonl
	before=$(date +%s%3N)
	run aim-resolve -r "$CHAIN" in.jsonl
	after=$(date +%s%3N)
	assert_success
	printf '%s\n' "$output" >out.jsonl
	# Key order: real jq (gojq iterates keys sorted).
	run command jq -r 'keys_unsorted[0]' out.jsonl
	assert_output "$(printf 'id\nid\nid')"
	mapfile -t ids < <(jq -r .id out.jsonl)
	for id in "${ids[@]}"; do
		[[ $id =~ $UUID7 ]] || fail "not a UUIDv7: $id"
		# The first 48 bits are the Unix time in milliseconds.
		ms=$((16#${id:0:8}${id:9:4}))
		[ "$ms" -ge "$before" ] && [ "$ms" -le "$after" ] ||
		    fail "UUIDv7 time $ms outside $before..$after"
	done
	[[ ${ids[0]} < ${ids[1]} && ${ids[1]} < ${ids[2]} ]] || fail "ids not increasing: ${ids[*]}"
}

@test "an id given in the request is kept" {
	req lb '{id:"my-own-id"}' | aim-resolve -r "$CHAIN" >out.jsonl
	assert_equal "$(jq -r .id out.jsonl)" my-own-id
}

@test "actor defaults to pipeline, comes from config actor, and is kept when given" {
	echo '{"actor": "nightly"}' >cfg.json
	{ req lb; req lb '{actor:"alice"}'; } >in.jsonl
	run aim-resolve -r "$CHAIN" in.jsonl
	assert_success
	run jq -r .actor <<<"$output"
	assert_output "$(printf 'pipeline\nalice')"
	run aim-resolve -c cfg.json -r "$CHAIN" in.jsonl
	assert_success
	run jq -r .actor <<<"$output"
	assert_output "$(printf 'nightly\nalice')"
}

@test "seed §4: primary not installed, first fallback serves, second never attempted" {
	req code_generation '{id:"s4"}' | aim-resolve -r "$CHAIN" >routed.jsonl
	run aim-invoke routed.jsonl
	assert_success
	run jq -c '[.tool_id, (.attempts | length), [.attempts[] | [.tool_id, .outcome, .reason]], .result.success, .result.message]' <<<"$output"
	assert_output '["ok1",2,[["missing","skipped","not_installed"],["ok1","success",null]],true,"ok from ok1"]'
}

@test "tool_id routes directly: strategy direct, that one candidate" {
	{
		req code_generation '{tool_id:"ok2"}'
		req code_generation '{tool_id:"missing"}'
		# The capability need not be in the rules for direct routing.
		req not_in_rules '{tool_id:"ok1"}'
	} >in.jsonl
	run aim-resolve -r "$CHAIN" in.jsonl
	assert_success
	run jq -c '.route | [.strategy, [.candidates[] | [.tool_id, .status, .timeout_ms]]]' <<<"$output"
	assert_line --index 0 '["direct",[["ok2","ready",2000]]]'
	assert_line --index 1 '["direct",[["missing","not_installed",null]]]'
	assert_line --index 2 '["direct",[["ok1","ready",30000]]]'
}

@test "an unknown tool_id is an unknown_tool error record, exit 1" {
	req code_generation '{id:"u", tool_id:"nope"}' >in.jsonl
	run --separate-stderr aim-resolve -r "$CHAIN" in.jsonl
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: in.jsonl:1: tool 'nope' not found in AIM registry"
	run jq -c -S '[.id, .tool_id, .error, has("route")]' <<<"$output"
	assert_output '["u","nope",{"code":"unknown_tool","line":1,"message":"tool '"'nope'"' not found in AIM registry","stage":"resolve"},false]'
}

@test "an unknown capability is an unknown_capability error record, exit 1" {
	req teleport '{id:"t"}' >in.jsonl
	run --separate-stderr aim-resolve -r "$CHAIN" in.jsonl
	assert_failure 1
	K="known: code_generation, lb, ghost, noadapter_chain"
	assert_equal "$stderr" "aim-resolve: in.jsonl:1: unknown capability 'teleport'; $K"
	run jq -c -S '[.id, .capability, .error]' <<<"$output"
	assert_output '["t","teleport",{"code":"unknown_capability","line":1,"message":"unknown capability '"'teleport'"'; '"$K"'","stage":"resolve"}]'
	# A near miss gets the nearest one.
	run --separate-stderr aim-resolve -r "$CHAIN" <<<"$(req code_generaton; req LB)"
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: <stdin>:1: unknown capability 'code_generaton'; did you mean 'code_generation'? $K
aim-resolve: <stdin>:2: unknown capability 'LB'; did you mean 'lb'? $K"
	# Rules without a capability say so.
	clean_registry reg
	echo '{"capabilities": {}}' >reg/AIM_cross-tool/AIM_coordination-rules.json
	run --separate-stderr aim-resolve -r reg <<<"$(req x)"
	assert_equal "$stderr" "aim-resolve: <stdin>:1: unknown capability 'x'; the rules define none"
}

@test "a rule naming a tool the registry lacks gives an unknown_tool candidate, exit 0" {
	run --separate-stderr aim-resolve -r "$CHAIN" < <(req ghost)
	assert_success
	assert_equal "$stderr" ""
	run jq -c -S '.route.candidates' <<<"$output"
	assert_output '[{"reason":"tool '"'phantom'"' not found in AIM registry","status":"unknown_tool","tool_id":"phantom"}]'
}

@test "an installed tool whose adapter is missing is no_adapter with the reason" {
	run aim-resolve -r "$CHAIN" < <(req noadapter_chain)
	assert_success
	run jq -c '.route.candidates[] | [.tool_id, .status, .reason, has("argv"), has("timeout_ms")]' <<<"$output"
	assert_line --index 0 "[\"noadapter\",\"no_adapter\",\"adapter $CHAIN/AIM_adapters/does-not-exist.sh: No such file or directory\",false,false]"
	assert_line --index 1 '["ok2","ready",null,true,true]'
}

@test "an adapter that is not executable is no_adapter" {
	run aim-resolve -r "$REGS/misbehave" < <(req not-executable)
	assert_success
	run jq -c '.route.candidates[0] | [.status, .reason]' <<<"$output"
	assert_output "[\"no_adapter\",\"adapter $REGS/misbehave/AIM_adapters/not-executable.sh: not executable\"]"
}

@test "loadBalance rotates the starting tool over successive requests" {
	for i in 1 2 3; do req lb; done >in.jsonl
	run aim-resolve -r "$CHAIN" in.jsonl
	assert_success
	run jq -c '[.route.strategy, [.route.candidates[].tool_id]]' <<<"$output"
	assert_line --index 0 '["round_robin",["ok1","ok2"]]'
	assert_line --index 1 '["round_robin",["ok2","ok1"]]'
	assert_line --index 2 '["round_robin",["ok1","ok2"]]'
}

@test "an ordered capability does not rotate" {
	for i in 1 2 3; do req code_generation; done >in.jsonl
	run aim-resolve -r "$CHAIN" in.jsonl
	run jq -c '[.route.strategy, [.route.candidates[].tool_id]]' <<<"$output"
	assert_output "$(for i in 1 2 3; do echo '["ordered",["missing","ok1","ok2"]]'; done)"
}

@test "timeout precedence: request > rules > config > 30000" {
	echo '{"timeout_ms": 7000}' >cfg.json
	{
		req code_generation '{timeout_ms:1234}'	# request over rules (2000)
		req code_generation			# rules (2000) over config
		req lb					# no rule timeout: config
		req lb '{timeout_ms:99}'		# request over config
	} >in.jsonl
	run aim-resolve -c cfg.json -r "$CHAIN" in.jsonl
	assert_success
	run jq -c '[.route.candidates[] | select(.status == "ready") | .timeout_ms]' <<<"$output"
	assert_output "$(printf '%s\n' '[1234,1234]' '[2000,2000]' '[7000,7000]' '[99,99]')"
	# Without config: the default.
	run aim-resolve -r "$CHAIN" < <(req lb)
	run jq -c '[.route.candidates[].timeout_ms]' <<<"$output"
	assert_output '[30000,30000]'
}

@test "config timeout_ms applies to direct routing outside the rules" {
	echo '{"timeout_ms": 4321}' >cfg.json
	run aim-resolve -c cfg.json -r "$CHAIN" < <(req not_in_rules '{tool_id:"ok1"}')
	assert_success
	assert_equal "$(jq -c '.route.candidates[0].timeout_ms' <<<"$output")" 4321
}

# The mixed stream used by the next two tests, and what it must give.
mixed_stream() {
	echo '{"id":"g1","capability":"code_generation","payload":{}}'
	echo 'not json'
	echo ''
	echo '[1,2]'
	echo '{"id":"m","payload":{}}'
	echo '{"id":"c","capability":5,"payload":{}}'
	echo '{"id":"p","capability":"code_generation"}'
	echo '{"id":"q","capability":"code_generation","payload":[]}'
	jq -nc '{id:"big", capability:"code_generation", payload:{x:("a" * 200)}}'
	echo '{"id":"uc","capability":"nope","payload":{}}'
	echo '{"id":"ut","capability":"code_generation","tool_id":"nope","payload":{}}'
	printf ' \t \n'
	echo '{"id":"g2","capability":"lb","payload":{}}'
}

mixed_stderr() {	# SOURCE
	cat <<-EOF
	aim-resolve: $1:2: invalid JSON at column 3: '[' or '{' expected near 'not'
	aim-resolve: $1:4: a request must be a JSON object
	aim-resolve: $1:5: missing "capability"
	aim-resolve: $1:6: "capability" must be a string
	aim-resolve: $1:7: missing "payload"
	aim-resolve: $1:8: "payload" must be an object
	aim-resolve: $1:9: payload is 208 bytes, limit 100
	aim-resolve: $1:10: unknown capability 'nope'; known: code_generation, lb, ghost, noadapter_chain
	aim-resolve: $1:11: tool 'nope' not found in AIM registry
	EOF
}

check_mixed_output() {	# the records in $output
	assert_equal "${#lines[@]}" 11	# 13 lines in, two of them blank
	printf '%s\n' "$output" >out.jsonl
	run jq -c '[.id, .error.stage, .error.code, .error.line, .input]' out.jsonl
	assert_line --index 0 '["g1",null,null,null,null]'
	assert_line --index 1 --regexp '^\["[0-9a-f-]{36}","resolve","invalid_json",2,"not json"\]$'
	assert_line --index 2 --regexp '^\["[0-9a-f-]{36}","resolve","invalid_request",4,"\[1,2\]"\]$'
	assert_line --index 3 '["m","resolve","invalid_request",5,null]'
	assert_line --index 4 '["c","resolve","invalid_request",6,null]'
	assert_line --index 5 '["p","resolve","invalid_request",7,null]'
	assert_line --index 6 '["q","resolve","invalid_request",8,null]'
	assert_line --index 7 '["big","resolve","payload_too_large",9,null]'
	assert_line --index 8 '["uc","resolve","unknown_capability",10,null]'
	assert_line --index 9 '["ut","resolve","unknown_tool",11,null]'
	assert_line --index 10 '["g2",null,null,null,null]'
	# Each error's message is its stderr line's.
	run jq -r 'select(.error) | "\(.error.line): \(.error.message)"' out.jsonl
	assert_output "$(mixed_stderr X | sed 's/^aim-resolve: X://')"
	# Routed records have a route, error records have none.
	run jq -c '[has("route"), has("error")]' out.jsonl
	assert_line --index 0 '[true,false]'
	assert_line --index 5 '[false,true]'
	assert_line --index 10 '[true,false]'
}

@test "a mixed stream: one line out per line in, in order, an error record and a stderr line per bad line, exit 1" {
	echo '{"max_payload_bytes": 100}' >cfg.json
	mixed_stream >in.jsonl
	run --separate-stderr aim-resolve -c cfg.json -r "$CHAIN" in.jsonl
	assert_failure 1
	assert_equal "$stderr" "$(mixed_stderr in.jsonl)"
	check_mixed_output
}

@test "the same stream on stdin is named <stdin>" {
	echo '{"max_payload_bytes": 100}' >cfg.json
	mixed_stream >in.jsonl
	run --separate-stderr aim-resolve -c cfg.json -r "$CHAIN" <in.jsonl
	assert_failure 1
	assert_equal "$stderr" "$(mixed_stderr '<stdin>')"
	check_mixed_output
	# "-" is stdin too.
	run --separate-stderr aim-resolve -c cfg.json -r "$CHAIN" - <in.jsonl
	assert_failure 1
	assert_equal "$stderr" "$(mixed_stderr '<stdin>')"
}

@test "blank lines are skipped: no output, exit 0" {
	printf '\n   \n\t\n\r\n' >in.jsonl
	run --separate-stderr aim-resolve -r "$CHAIN" in.jsonl
	assert_success
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "more request checks: empty capability, id, tool_id, actor and timeout_ms types" {
	{
		echo '{"capability":"","payload":{}}'
		echo '{"capability":"lb","payload":{},"id":7}'
		echo '{"capability":"lb","payload":{},"tool_id":["ok1"]}'
		echo '{"capability":"lb","payload":{},"actor":null}'
		echo '{"capability":"lb","payload":{},"timeout_ms":0}'
		echo '{"capability":"lb","payload":{},"timeout_ms":"5"}'
		echo '{"capability":"lb","payload":{},"timeout_ms":86400001}'
		echo '{"capability":"lb","payload":{},"timeout_ms":86400000}'
		echo '{"capability":"lb","payload":{},"a":1,"a":2}'
	} >in.jsonl
	run --separate-stderr aim-resolve -r "$CHAIN" in.jsonl
	assert_failure 1
	assert_equal "${#lines[@]}" 9
	assert_equal "$stderr" "$(cat <<-'EOF'
	aim-resolve: in.jsonl:1: "capability" must not be empty
	aim-resolve: in.jsonl:2: "id" must be a string
	aim-resolve: in.jsonl:3: "tool_id" must be a string
	aim-resolve: in.jsonl:4: "actor" must be a string
	aim-resolve: in.jsonl:5: "timeout_ms" must be a positive integer (at most 86400000)
	aim-resolve: in.jsonl:6: "timeout_ms" must be a positive integer (at most 86400000)
	aim-resolve: in.jsonl:7: "timeout_ms" must be a positive integer (at most 86400000)
	aim-resolve: in.jsonl:9: invalid JSON at column 41: duplicate object key near '"a"'
	EOF
	)"
	run jq -c '[.error.code, .route.candidates[0].timeout_ms]' <<<"$output"
	assert_line --index 0 '["invalid_request",null]'
	assert_line --index 7 '[null,86400000]'
	assert_line --index 8 '["invalid_json",null]'
}

@test "payload limit: config max_payload_bytes, exactly at the limit passes" {
	echo '{"max_payload_bytes": 100}' >cfg.json
	# {"x":"aaa..."} is 8 bytes plus the a's.
	jq -nc '{id:"at", capability:"lb", payload:{x:("a" * 92)}}' >in.jsonl
	jq -nc '{id:"over", capability:"lb", payload:{x:("a" * 93)}}' >>in.jsonl
	run --separate-stderr aim-resolve -c cfg.json -r "$CHAIN" in.jsonl
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: in.jsonl:2: payload is 101 bytes, limit 100"
	run jq -c '[.id, .error.code, has("route")]' <<<"$output"
	assert_line --index 0 '["at",null,true]'
	assert_line --index 1 '["over","payload_too_large",false]'
}

@test "payload limit: the smaller of config and rules security.max_payload_size_bytes wins" {
	cp -R "$CHAIN" reg
	jq '. + {security: {max_payload_size_bytes: 50}}' "$CHAIN/AIM_cross-tool/AIM_coordination-rules.json" \
	    >reg/AIM_cross-tool/AIM_coordination-rules.json
	echo '{"max_payload_bytes": 100}' >cfg.json
	jq -nc '{id:"p70", capability:"lb", payload:{x:("a" * 62)}}' >in.jsonl
	run --separate-stderr aim-resolve -c cfg.json -r reg in.jsonl
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: in.jsonl:1: payload is 70 bytes, limit 50"
	assert_equal "$(jq -r .error.code <<<"$output")" payload_too_large
	# A config limit below the rules' wins in turn.
	echo '{"max_payload_bytes": 40}' >cfg.json
	jq -nc '{id:"p45", capability:"lb", payload:{x:("a" * 37)}}' >in.jsonl
	run --separate-stderr aim-resolve -c cfg.json -r reg in.jsonl
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: in.jsonl:1: payload is 45 bytes, limit 40"
	# Without config, the rules' 50 is the limit: 45 bytes pass.
	run aim-resolve -r reg in.jsonl
	assert_success
}

@test "an over-long line is a payload_too_large record holding its first 256 bytes; the next line still routes" {
	echo '{"max_payload_bytes": 100}' >cfg.json
	# Longer than 4 * 100 + 65536 bytes.
	# Keys in sorted order, as gojq and jq both write them.
	jq -nc '{capability:"lb", id:"huge", payload:{x:("b" * 70000)}}' >in.jsonl
	req lb '{id:"after"}' >>in.jsonl
	run --separate-stderr aim-resolve -c cfg.json -r "$CHAIN" in.jsonl
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: in.jsonl:1: request is longer than 65936 bytes; payload limit is 100 bytes"
	assert_equal "${#lines[@]}" 2
	second=${lines[1]}
	run jq -c '[.error.code, .error.line, (.input | length), (.input | startswith("{\"capability\":\"lb\",\"id\":\"huge\""))]' <<<"${lines[0]}"
	assert_output '["payload_too_large",1,256,true]'
	assert_equal "$(jq -r '.id' <<<"$second")" after
}

@test "error records and routed records pass through untouched" {
	{ req lb '{id:"a"}'; req nope '{id:"b"}'; } >in.jsonl
	aim-resolve -r "$CHAIN" in.jsonl 2>/dev/null >first.jsonl || true
	assert_equal "$(jq -r '.error.code // .route.strategy' first.jsonl)" "$(printf 'round_robin\nunknown_capability')"
	run --separate-stderr aim-resolve -r "$CHAIN" first.jsonl
	assert_failure 1
	assert_equal "$stderr" ""
	assert_equal "$output" "$(cat first.jsonl)"
	# Routed records alone: exit 0.
	head -1 first.jsonl >routed.jsonl
	run aim-resolve -r "$CHAIN" routed.jsonl
	assert_success
	assert_output "$(cat routed.jsonl)"
}

@test "several files: line numbers count per file, messages name each file" {
	{ req lb '{id:"a1"}'; echo oops; } >a.jsonl
	{ echo '{}'; req lb '{id:"b2"}'; } >b.jsonl
	run --separate-stderr aim-resolve -r "$CHAIN" a.jsonl b.jsonl
	assert_failure 1
	assert_equal "${stderr_lines[0]}" "aim-resolve: a.jsonl:2: invalid JSON at column 4: '[' or '{' expected near 'oops'"
	assert_equal "${stderr_lines[1]}" 'aim-resolve: b.jsonl:1: missing "capability"'
	run jq -c '[.id, .error.line]' <<<"$output"
	assert_line --index 0 '["a1",null]'
	assert_line --index 1 --regexp ',2\]$'
	assert_line --index 2 --regexp ',1\]$'
	assert_line --index 3 '["b2",null]'
}

@test "registry lookup: -r > AIM_REGISTRY_PATH > nearest .AIM_ai-tools-registry up from cwd > HOME" {
	for d in opt env proj/.AIM_ai-tools-registry proj/sub/.AIM_ai-tools-registry "$HOME/.AIM_ai-tools-registry"; do
		mkdir -p "$(dirname "$d")"
		cp -R "$CHAIN" "$d"
	done
	mkdir -p proj/sub/deep/er other
	top=$PWD
	registry() { req lb | aim-resolve "$@" | jq -r .route.registry; }
	cd proj/sub/deep/er
	export AIM_REGISTRY_PATH=$top/env
	assert_equal "$(registry -r "$top/opt")" "$top/opt"
	assert_equal "$(registry)" "$top/env"
	unset AIM_REGISTRY_PATH
	assert_equal "$(registry)" "$(cd "$top/proj/sub" && pwd -P)/.AIM_ai-tools-registry"
	rm -rf "$top/proj/sub/.AIM_ai-tools-registry"
	assert_equal "$(registry)" "$(cd "$top/proj" && pwd -P)/.AIM_ai-tools-registry"
	cd "$top/other"
	assert_equal "$(registry)" "$HOME/.AIM_ai-tools-registry"
	# An empty AIM_REGISTRY_PATH counts as unset.
	assert_equal "$(AIM_REGISTRY_PATH='' registry)" "$HOME/.AIM_ai-tools-registry"
}

@test "no registry: one warning naming every place looked, registry_unavailable per request, exit 3" {
	for i in 1 2 3; do req lb "{id:\"n$i\"}"; done >in.jsonl
	want="registry not found (looked in $(looked_in)); 'aim init' makes one"
	run --separate-stderr aim-resolve in.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-resolve: $want"
	assert_equal "${#lines[@]}" 3
	run jq -c '[.id, .actor, .error.stage, .error.code, .error.line, .error.message == $w]' --arg w "$want" <<<"$output"
	assert_line --index 0 '["n1","pipeline","resolve","registry_unavailable",1,true]'
	assert_line --index 1 '["n2","pipeline","resolve","registry_unavailable",2,true]'
	assert_line --index 2 '["n3","pipeline","resolve","registry_unavailable",3,true]'
}

@test "no registry: bad lines still get their own error records and exit stays 3" {
	{ echo 'nope'; req lb; } >in.jsonl
	run --separate-stderr aim-resolve in.jsonl
	assert_equal "$status" 3
	assert_equal "${#stderr_lines[@]}" 2
	assert_equal "${stderr_lines[1]}" "aim-resolve: in.jsonl:1: invalid JSON at column 4: '[' or '{' expected near 'nope'"
	run jq -r .error.code <<<"$output"
	assert_output "$(printf 'invalid_json\nregistry_unavailable')"
}

@test "no registry: the rest of the pipeline still runs and audits every request as tool none" {
	for i in 1 2 3; do req lb "{id:\"n$i\"}"; done >in.jsonl
	{
		aim-resolve in.jsonl 2>err.txt | aim-invoke 2>>err.txt | aim-audit -d "$PWD/audit" >out.jsonl 2>>err.txt
		st=("${PIPESTATUS[@]}")
	} || true
	assert_equal "${st[*]}" "3 1 1"
	assert_equal "$(grep -c 'registry not found' err.txt)" 1
	assert_equal "$(wc -l <out.jsonl)" 3
	run jq -r '.error.code' out.jsonl
	assert_output "$(printf '%s\n' registry_unavailable registry_unavailable registry_unavailable)"
	run sh -c 'cat audit/*/*.json | jq -r "[.id, .tool_id, .error.code] | @tsv" | sort'
	assert_output "$(printf 'n%s\tnone\tregistry_unavailable\n' 1 2 3)"
	assert_equal "$(find audit -type f -name '*_none_lb.json' | wc -l)" 3
}

@test "-r to a missing directory and a missing AIM_REGISTRY_PATH name what was looked for" {
	run --separate-stderr aim-resolve -r "$PWD/nowhere" < <(req lb)
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-resolve: registry not found (looked in $PWD/nowhere); 'aim init' makes one"
	assert_equal "$(jq -r .error.code <<<"$output")" registry_unavailable
	AIM_REGISTRY_PATH=$PWD/gone run --separate-stderr aim-resolve < <(req lb)
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-resolve: registry not found (looked in \$AIM_REGISTRY_PATH=$PWD/gone); 'aim init' makes one"
}

@test "a malformed registry: file:line:column from jansson, registry_unavailable records, exit 3" {
	{ req lb; req lb; } >in.jsonl
	run --separate-stderr aim-resolve -r "$REGS/malformed" in.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-resolve: $REGS/malformed/AIM_registry.json:4:24: ':' expected near '\"Aider CLI\"'"
	assert_equal "${#lines[@]}" 2
	run jq -r '[.error.code, .error.message] | @tsv' <<<"$output"
	assert_line --index 0 "registry_unavailable	registry unavailable: $REGS/malformed/AIM_registry.json:4:24: ':' expected near '\"Aider CLI\"'"
	assert_line --index 1 --partial "registry_unavailable	"
}

@test "a registry with a duplicate key is refused: file:line:column, exit 3" {
	run --separate-stderr aim-resolve -r "$REGS/dupkeys" < <(req code_generation)
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-resolve: $REGS/dupkeys/AIM_registry.json:12:11: duplicate object key near '\"aider\"'"
	run jq -r '[.error.code, .error.message] | @tsv' <<<"$output"
	assert_output "registry_unavailable	registry unavailable: $REGS/dupkeys/AIM_registry.json:12:11: duplicate object key near '\"aider\"'"
}

@test "a registry with wrong types is unusable: exit 3" {
	run --separate-stderr aim-resolve -r "$REGS/badtypes" < <(req code_generation)
	assert_equal "$status" 3
	assert_equal "${stderr_lines[0]}" "aim-resolve: $REGS/badtypes/AIM_registry.json:5:25: tool 'aider': detectCommands must be an array of strings"
	assert_equal "$(jq -r .error.code <<<"$output")" registry_unavailable
}

@test "a missing rules file is unusable: exit 3" {
	cp -R "$CHAIN" reg
	rm reg/AIM_cross-tool/AIM_coordination-rules.json
	run --separate-stderr aim-resolve -r reg < <(req lb)
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json: No such file or directory"
	assert_equal "$(jq -r .error.message <<<"$output")" "registry unavailable: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json: No such file or directory"
}

@test "a malformed config makes the registry unavailable: file:line:column, exit 3" {
	printf '{\n  "timeout_ms": 5,\n  "actor" "x"\n}\n' >cfg.json
	run --separate-stderr aim-resolve -c cfg.json -r "$CHAIN" < <(req lb)
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-resolve: cfg.json:3:13: ':' expected near '\"x\"'"
	assert_equal "$(jq -r .error.message <<<"$output")" "registry unavailable: cfg.json:3:13: ':' expected near '\"x\"'"
	# A -c file that does not exist is unusable too.
	run --separate-stderr aim-resolve -c nope.json -r "$CHAIN" < <(req lb)
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-resolve: nope.json: No such file or directory"
}

@test "the config is found in the registry directory and through AIM_CONFIG" {
	cp -R "$CHAIN" reg
	echo '{"actor": "from-registry"}' >reg/aim_config.json
	echo '{"actor": "from-env"}' >env.json
	assert_equal "$(req lb | aim-resolve -r reg | jq -r .actor)" from-registry
	assert_equal "$(req lb | AIM_CONFIG=$PWD/env.json aim-resolve -r reg | jq -r .actor)" from-env
	mkdir -p xdg/aim && echo '{"actor": "from-xdg"}' >xdg/aim/aim_config.json
	rm reg/aim_config.json
	assert_equal "$(req lb | XDG_CONFIG_HOME=$PWD/xdg aim-resolve -r reg | jq -r .actor)" from-xdg
}

# seed_home: $T/.AIM_ai-tools-registry is a copy of the seed registry, $T/bin
# holds an "aider".
seed_home() {
	T=$BATS_TEST_TMPDIR/profile
	mkdir -p "$T/bin"
	cp -R "$REGS/seed" "$T/.AIM_ai-tools-registry"
	ln -s /bin/true "$T/bin/aider"
	export USERPROFILE=$T
	RESOLVE=$(command -v aim-resolve)
}

@test "the seed registry verbatim: aider's .ps1 adapter runs as pwsh -NoProfile -NonInteractive -File" {
	seed_home
	req code_generation '{id:"seed"}' >in.jsonl
	PATH="$FIX/bin:$T/bin:$PATH" run --separate-stderr aim-resolve -r "$T/.AIM_ai-tools-registry" in.jsonl
	assert_success
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >routed.jsonl
	run jq -c '.route.candidates[] | [.tool_id, .status]' routed.jsonl
	assert_output "$(printf '%s\n' '["jules","unknown_tool"]' '["aider","ready"]' '["claude-cli","unknown_tool"]')"
	run jq -c '.route.candidates[1] | [.argv, .detected, .timeout_ms]' routed.jsonl
	assert_output "[[\"$FIX/bin/pwsh\",\"-NoProfile\",\"-NonInteractive\",\"-File\",\"$T/.AIM_ai-tools-registry/AIM_adapters/AIM_aider.ps1\"],\"$T/bin/aider\",30000]"
	# aim-invoke runs it through the stand-in pwsh.
	PATH="$FIX/bin:$PATH" run aim-invoke routed.jsonl
	assert_success
	run jq -c -S '[.tool_id, [.attempts[] | .outcome], .result]' <<<"$output"
	assert_output '["aider",["skipped","success"],{"content":{"exit_code":0,"files_modified":["src/main.py"],"lines_added":15},"message":"Code generation completed successfully","success":true}]'
}

@test "the seed registry found through HOME, %USERPROFILE% falling back to HOME" {
	seed_home
	unset USERPROFILE
	export HOME=$T
	PATH="$FIX/bin:$T/bin:$PATH" run aim-resolve < <(req code_generation)
	assert_success
	run jq -r '.route.registry, .route.candidates[1].status' <<<"$output"
	assert_output "$(printf '%s\n' "$T/.AIM_ai-tools-registry" ready)"
}

@test "the seed registry without pwsh on PATH: aider is no_adapter" {
	seed_home
	command -v pwsh >/dev/null && skip "a real pwsh is on PATH"
	run env PATH="$T/bin:/usr/bin:/bin" "$RESOLVE" -r "$T/.AIM_ai-tools-registry" < <(req code_generation)
	assert_success
	run jq -c '.route.candidates[1] | [.status, .reason, has("argv")]' <<<"$output"
	assert_output "[\"no_adapter\",\"pwsh not found on PATH for adapter $T/.AIM_ai-tools-registry/AIM_adapters/AIM_aider.ps1\",false]"
}

@test "the seed registry without aider: not_installed naming both detect commands" {
	seed_home
	PATH="$FIX/bin:$PATH" run aim-resolve -r "$T/.AIM_ai-tools-registry" < <(req code_generation)
	assert_success
	run jq -c '.route.candidates[1] | [.status, .reason]' <<<"$output"
	assert_output '["not_installed","aider: not found on PATH; C:/Users/richg/.local/bin/aider.exe: no such file"]'
}

@test "--check: a clean registry exits 0 and prints nothing" {
	clean_registry reg
	run --separate-stderr aim-resolve --check -r reg
	assert_success
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "--check: badtypes reports each problem with file:line:column, exit 1" {
	run --separate-stderr aim-resolve --check -r "$REGS/badtypes"
	assert_failure 1
	assert_equal "$output" ""
	assert_equal "$stderr" "$(cat <<-EOF
	aim-resolve: $REGS/badtypes/AIM_registry.json:5:25: tool 'aider': detectCommands must be an array of strings
	aim-resolve: $REGS/badtypes/AIM_registry.json:9:23: tool 'aider': capabilities must be an array of strings
	aim-resolve: $REGS/badtypes/AIM_cross-tool/AIM_coordination-rules.json:4:18: capability 'code_generation': primary must be a string or null
	EOF
	)"
}

@test "--check: a wrong type in the rules alone is reported" {
	clean_registry reg
	printf '{\n  "capabilities": {\n    "x": {"primary": "a", "loadBalance": "yes"}\n  }\n}\n' \
	    >reg/AIM_cross-tool/AIM_coordination-rules.json
	run --separate-stderr aim-resolve --check -r reg
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:3:42: capability 'x': loadBalance must be true or false"
}

@test "--check: the chain registry's unknown tool and missing adapter" {
	run --separate-stderr aim-resolve --check -r "$CHAIN"
	assert_failure 1
	assert_equal "$output" ""
	assert_equal "$stderr" "$(cat <<-EOF
	aim-resolve: $CHAIN/AIM_cross-tool/AIM_coordination-rules.json:15:18: capability 'ghost': unknown tool 'phantom' (not in $CHAIN/AIM_registry.json)
	aim-resolve: $CHAIN/AIM_registry.json:37:24: tool 'noadapter': adapter $CHAIN/AIM_adapters/does-not-exist.sh: No such file or directory
	EOF
	)"
}

@test "--check: a tool routed for a capability it does not declare, a rule naming no tool, no detectCommands" {
	clean_registry reg
	cat >reg/AIM_cross-tool/AIM_coordination-rules.json <<-'EOF'
	{
	  "capabilities": {
	    "x": {"primary": "a", "fallback": ["b"]},
	    "y": {"primary": "a", "fallback": ["b"]},
	    "z": {"fallback": []}
	  }
	}
	EOF
	jq '.tools.a.detectCommands = []' reg/AIM_registry.json >r.json && mv r.json reg/AIM_registry.json
	run --separate-stderr aim-resolve --check -r reg
	assert_failure 1
	assert_equal "$stderr" "$(cat <<-EOF
	aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:4:40: capability 'y': tool 'b' does not declare it in its capabilities
	aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:5:5: capability 'z' names no tool
	aim-resolve: $PWD/reg/AIM_registry.json:3:5: tool 'a' has no detectCommands
	EOF
	)"
}

@test "--check: a .ps1 adapter with no pwsh on PATH and the seed's unknown tools" {
	seed_home
	command -v pwsh >/dev/null && skip "a real pwsh is on PATH"
	run --separate-stderr env PATH="$T/bin:/usr/bin:/bin" "$RESOLVE" --check -r "$T/.AIM_ai-tools-registry"
	assert_failure 1
	R=$T/.AIM_ai-tools-registry
	assert_equal "$stderr" "$(cat <<-EOF
	aim-resolve: $R/AIM_cross-tool/AIM_coordination-rules.json:4:18: capability 'code_generation': unknown tool 'jules' (not in $R/AIM_registry.json)
	aim-resolve: $R/AIM_cross-tool/AIM_coordination-rules.json:5:29: capability 'code_generation': unknown tool 'claude-cli' (not in $R/AIM_registry.json)
	aim-resolve: $R/AIM_registry.json:10:24: tool 'aider': pwsh not found on PATH for adapter $R/AIM_adapters/AIM_aider.ps1
	EOF
	)"
}

@test "--check: a missing registry is reported, exit 1" {
	run --separate-stderr aim-resolve --check -r "$PWD/nowhere"
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: registry not found (looked in $PWD/nowhere); 'aim init' makes one"
	run --separate-stderr aim-resolve --check
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: registry not found (looked in $(looked_in)); 'aim init' makes one"
}

@test "--check: duplicate keys and malformed JSON are reported with line and column" {
	run --separate-stderr aim-resolve --check -r "$REGS/dupkeys"
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: $REGS/dupkeys/AIM_registry.json:12:11: duplicate object key near '\"aider\"'"
	run --separate-stderr aim-resolve --check -r "$REGS/malformed"
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: $REGS/malformed/AIM_registry.json:4:24: ':' expected near '\"Aider CLI\"'"
}

@test "--check: a malformed config is reported with line:column, alongside the registry's problems" {
	clean_registry reg
	printf '{\n  "timeout_ms": 5,\n  "actor" "x"\n}\n' >cfg.json
	run --separate-stderr aim-resolve --check -c cfg.json -r reg
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: cfg.json:3:13: ':' expected near '\"x\"'"
	printf '{\n  "timeout_ms": "x",\n  "bogus": 1\n}\n' >cfg.json
	run --separate-stderr aim-resolve --check -c cfg.json -r reg
	assert_failure 1
	assert_equal "$stderr" "$(printf '%s\n' 'aim-resolve: cfg.json:2:17: timeout_ms must be a positive integer' 'aim-resolve: cfg.json:3:3: unknown key "bogus"')"
	# A good config is no problem.
	echo '{"timeout_ms": 5}' >cfg.json
	run --separate-stderr aim-resolve --check -c cfg.json -r reg
	assert_success
	assert_equal "$stderr" ""
}

@test "writing to a full device fails with exit 4" {
	req lb >in.jsonl
	run --separate-stderr sh -c 'aim-resolve -r "$1" in.jsonl >/dev/full' sh "$CHAIN"
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-resolve: writing output failed"
}

@test "a file that cannot be opened is exit 4, the others are still read" {
	req lb '{id:"a"}' >a.jsonl
	req lb '{id:"b"}' >b.jsonl
	run --separate-stderr aim-resolve -r "$CHAIN" a.jsonl nope.jsonl b.jsonl
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-resolve: can't open nope.jsonl: No such file or directory"
	run jq -r .id <<<"$output"
	assert_output "$(printf 'a\nb')"
}

@test "exit 4 wins over exit 1 and 3" {
	req nope >a.jsonl
	run --separate-stderr aim-resolve -r "$CHAIN" a.jsonl nope.jsonl
	assert_equal "$status" 4
	run --separate-stderr aim-resolve -r "$PWD/nowhere" a.jsonl nope.jsonl
	assert_equal "$status" 4
}

@test "a directory operand is a read error, exit 4" {
	mkdir d
	run --separate-stderr aim-resolve -r "$CHAIN" d
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-resolve: d: read error: Is a directory"
	assert_equal "$output" ""
}

# ---- unknown members, BOM, JSON extensions, registry path (issue 10) ----

# misspelt_registry DIR: a registry whose misspelt members aim must name.
misspelt_registry() {
	clean_registry "$1"
	cat >"$1/AIM_registry.json" <<-'EOF'
	{
	  "tools": {
	    "a": {"name": "A", "detectCommands": ["sh"], "capabilities": ["x", "y"], "adapterScript": "AIM_adapters/ok.sh", "x-owner": "me"},
	    "b": {"name": "B", "detectCommands": ["sh"], "capabilities": ["x"], "adapterScript": "AIM_adapters/ok.sh", "adapterScrpt": "x"}
	  },
	  "tool": {}
	}
	EOF
	cat >"$1/AIM_cross-tool/AIM_coordination-rules.json" <<-'EOF'
	{
	  "capabilities": {
	    "x": {"primary": "a", "fallbak": ["b"]},
	    "y": {"primary": "a", "x-note": "free"}
	  },
	  "security": {"forbiden_paths": ["/etc"]},
	  "conflict_resolution": {"concurrent_access": {"max_concurent": 2}},
	  "zzz": 1
	}
	EOF
}

@test "--check: a misspelt member is a problem at its key, with the known member it is nearest to; x- members are free" {
	misspelt_registry reg
	run --separate-stderr aim-resolve --check -r reg
	assert_failure 1
	assert_output ""
	R=$PWD/reg/AIM_registry.json
	C=$PWD/reg/AIM_cross-tool/AIM_coordination-rules.json
	assert_equal "$stderr" "aim-resolve: $R:6:3: unknown member 'tool'; did you mean 'tools'?
aim-resolve: $R:4:112: tool 'b': unknown member 'adapterScrpt'; did you mean 'adapterScript'?
aim-resolve: $C:8:3: unknown member 'zzz'
aim-resolve: $C:3:27: capability 'x': unknown member 'fallbak'; did you mean 'fallback'?
aim-resolve: $C:6:16: security: unknown member 'forbiden_paths'; did you mean 'forbidden_paths'?
aim-resolve: $C:7:49: conflict_resolution.concurrent_access: unknown member 'max_concurent'; did you mean 'max_concurrent'?"
}

@test "a misspelt member is a warning once per process at routing; the requests still route" {
	misspelt_registry reg
	run --separate-stderr aim-resolve -r reg <<<"$(req x; req x)"
	assert_success
	assert_equal "$(jq -c '.route.candidates | map(.tool_id)' <<<"$output")" "$(printf '%s\n' '["a"]' '["a"]')"
	assert_equal "${#stderr_lines[@]}" 6
	assert_equal "${stderr_lines[3]}" "aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:3:27: capability 'x': unknown member 'fallbak'; did you mean 'fallback'?"
}

@test "every member aim-registry(5) documents for the registry and the rules is known to --check" {
	clean_registry reg
	# The .It Ic names from "AIM_registry.json" to "aim_config.json".
	sed -n '/^\.Ss AIM_registry.json/,/^\.Ss aim_config.json/p' "$BATS_TEST_DIRNAME/../man/aim-registry.5" |
	    sed -n 's/^\.It Ic \([A-Za-z_]*\)\( , \([A-Za-z_]*\)\)\{0,1\}.*/\1 \3/p' | tr ' ' '\n' | sed '/^$/d' | sort -u >documented
	[ "$(wc -l <documented)" -ge 30 ] || fail "only $(wc -l <documented) documented members found"
	# Each name in all 7 kinds of object: known in one at least, it is
	# unknown in 6 at most.  (Type errors do not matter here.)
	jq -R . documented | jq -s '(map({(.): null}) | add) as $all | $all + {tools: {a: $all}}' >reg/AIM_registry.json
	jq -R . documented | jq -s '(map({(.): null}) | add) as $all |
	    $all + {capabilities: {x: $all}, security: $all, conflict_resolution: ($all + {concurrent_access: $all})}' \
	    >reg/AIM_cross-tool/AIM_coordination-rules.json
	run --separate-stderr aim-resolve --check -r reg
	assert_failure 1
	n=0
	for m in $(cat documented) concurrent_access; do
		k=$(grep -c "unknown member '$m'" <<<"$stderr" || true)
		[ "$k" -le 6 ] || fail "$m: unknown everywhere"
		n=$((n + k))
	done
	# The check itself works: 31 names, each unknown in most places.
	[ "$n" -ge 100 ] || fail "only $n unknown members said"
}

@test "a UTF-8 byte-order mark before the registry, the rules, the config and each request stream is skipped; columns stay right" {
	clean_registry reg
	for f in reg/AIM_registry.json reg/AIM_cross-tool/AIM_coordination-rules.json; do
		{ printf '\357\273\277'; cat "$f"; } >bom && mv bom "$f"
	done
	printf '\357\273\277{"timeout_ms": 1000}\n' >cfg.json
	run --separate-stderr aim-resolve --check -r reg -c cfg.json
	assert_success
	assert_equal "$stderr" ""
	# Two operands, each with its own mark; the first line routes.
	{ printf '\357\273\277'; req x; } >a.jsonl
	{ printf '\357\273\277'; req y; printf '\357\273\277'; req y; } >b.jsonl
	run --separate-stderr aim-resolve -r reg -c cfg.json a.jsonl b.jsonl
	assert_failure 1
	assert_equal "$(jq -c '[.capability, .route.candidates[0].timeout_ms] | select(.[0])' <<<"${lines[*]:0:2}")" "$(printf '%s\n' '["x",1000]' '["y",1000]')"
	# A mark that is not at the start of a stream is no mark: an error.
	assert_equal "$(jq -r .error.code <<<"${lines[2]}")" invalid_json
	assert_equal "$stderr" "aim-resolve: b.jsonl:2: invalid JSON at column 1: '[' or '{' expected near '$(printf '\357\273\277')'"
	# Columns count from after the mark.
	printf '\357\273\277{"timeout_ms": 1000, "tmeout_ms": 5}\n' >cfg.json
	run --separate-stderr aim-resolve --check -r reg -c cfg.json
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: cfg.json:1:22: unknown key \"tmeout_ms\"; did you mean 'timeout_ms'?"
	{ printf '\357\273\277'; echo '{"capability": "x", "payload": {},}'; } >c.jsonl
	run --separate-stderr aim-resolve -r reg <c.jsonl
	assert_equal "$stderr" "aim-resolve: <stdin>:1: invalid JSON at column 34: trailing comma before '}' (JSON allows none)"
}

@test "a trailing comma or a comment in a JSON file is named at its own line and column" {
	clean_registry reg
	cat >reg/AIM_registry.json <<-'EOF'
	{
	  "tools": {
	    "a": {"name": "Å", "detectCommands": ["sh"], "capabilities": ["x", "y"], "adapterScript": "AIM_adapters/ok.sh"},
	  }
	}
	EOF
	run --separate-stderr aim-resolve --check -r reg
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: $PWD/reg/AIM_registry.json:3:116: trailing comma before '}' (JSON allows none)"
	clean_registry reg
	cat >reg/AIM_cross-tool/AIM_coordination-rules.json <<-'EOF'
	{
	  "capabilities": {
	    "x": {"primary": "a", "fallback": ["b",]},
	    "y": {"primary": "a"} /* a only */
	  }
	}
	EOF
	run --separate-stderr aim-resolve --check -r reg
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:3:43: trailing comma before ']' (JSON allows none)"
	sed -i 's/"b",]/"b"]/' reg/AIM_cross-tool/AIM_coordination-rules.json
	run --separate-stderr aim-resolve --check -r reg
	assert_equal "$stderr" "aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:4:27: comments are not allowed in JSON"
	# In the config too; with routing unavailable, every request says so.
	clean_registry reg
	printf '{\n  // longer\n  "timeout_ms": 1000\n}\n' >cfg.json
	run --separate-stderr aim-resolve -r reg -c cfg.json <<<"$(req x)"
	assert_failure 3
	assert_equal "$stderr" "aim-resolve: cfg.json:2:3: comments are not allowed in JSON"
	assert_equal "$(jq -r .error.message <<<"$output")" "registry unavailable: cfg.json:2:3: comments are not allowed in JSON"
	# "//" and "," inside strings are no extension: jansson's error stands.
	printf '{"timeout_ms": "a//b,}" 1}\n' >cfg.json
	run --separate-stderr aim-resolve --check -r reg -c cfg.json
	assert_equal "$stderr" "aim-resolve: cfg.json:1:25: '}' expected near '1'"
}

@test "a trailing comma or a comment in a request line is named at its column" {
	clean_registry reg
	printf '%s\n' '{"capability": "x", "payload": {"a": [1, 2,]}}' '{"capability": "x", /* c */ "payload": {}}' '{"capability": "x", "payload": {"a": "//,}"}}' >in.jsonl
	run --separate-stderr aim-resolve -r reg in.jsonl
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: in.jsonl:1: invalid JSON at column 43: trailing comma before ']' (JSON allows none)
aim-resolve: in.jsonl:2: invalid JSON at column 21: comments are not allowed in JSON"
	assert_equal "$(jq -c '[.error.code, .error.line, .route.capability]' <<<"$output")" "$(printf '%s\n' '["invalid_json",1,null]' '["invalid_json",2,null]' '[null,null,"x"]')"
}

@test "a registry path naming AIM_registry.json, not its directory, says so" {
	clean_registry reg
	run --separate-stderr aim-resolve -r reg/AIM_registry.json <<<"$(req x)"
	assert_failure 3
	assert_equal "$stderr" "aim-resolve: registry not found: reg/AIM_registry.json is a file; give -r the directory that holds AIM_registry.json"
	assert_equal "$(jq -r .error.code <<<"$output")" registry_unavailable
	AIM_REGISTRY_PATH=$PWD/reg/AIM_registry.json run --separate-stderr aim-resolve --check
	assert_failure 1
	assert_equal "$stderr" "aim-resolve: registry not found: \$AIM_REGISTRY_PATH=$PWD/reg/AIM_registry.json is a file; set AIM_REGISTRY_PATH to the directory that holds AIM_registry.json"
	# The directory itself is fine.
	AIM_REGISTRY_PATH=$PWD/reg run --separate-stderr aim-resolve --check
	assert_success
}

# ---- declarative adapters: the adapter object (issue 13) ----

# declarative_registry DIR: clean_registry, with tool "a" declarative.
declarative_registry() {
	clean_registry "$1"
	cat >"$1/AIM_registry.json" <<-'EOF'
	{
	  "tools": {
	    "a": {"name": "A", "detectCommands": ["sh"], "capabilities": ["x", "y"],
	      "adapter": {"argv": ["sh", "-c", "cat -- \"$@\"", "sh", "{files}"],
	        "stdin": "prompt", "success_exit": [0], "findings_exit": [1],
	        "findings": {"from": "stdout", "format": "json",
	          "fields": {"list": "[].messages", "file": "^filePath", "line": "line",
	            "severities": {"2": "error"}}},
	        "file_types": [".sh"]}},
	    "b": {"name": "B", "detectCommands": ["sh"], "capabilities": ["x"], "adapterScript": "AIM_adapters/ok.sh"}
	  }
	}
	EOF
}

@test "a declarative tool routes: its candidate has the adapter object and its argv with the command found on PATH" {
	declarative_registry reg
	run --separate-stderr aim-resolve --check -r reg
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr aim-resolve -r reg < <(req x '{payload: {files: ["a.sh"]}}')
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '.route.candidates[0] | [.tool_id, .status, .argv]' <<<"$output")" \
	    "[\"a\",\"ready\",[\"$SH\",\"-c\",\"cat -- \\\"\$@\\\"\",\"sh\",\"{files}\"]]"
	assert_equal "$(jq -c '.route.candidates[0].adapter' <<<"$output")" \
	    "$(jq -c .tools.a.adapter reg/AIM_registry.json)"
	assert_equal "$(jq -c '.route.candidates[1] | [.tool_id, has("adapter")]' <<<"$output")" '["b",false]'
	# aim-invoke -n shows the plan with that argv.
	run --separate-stderr aim-invoke -n <<<"$output"
	assert_success
	assert_equal "$(jq -c '.plan[0] | [.tool_id, .argv[0], .argv[4]]' <<<"$output")" "[\"a\",\"$SH\",\"{files}\"]"
}

@test "a declarative tool whose command is not on PATH has no adapter; --check does not count it" {
	declarative_registry reg
	jq '.tools.a.adapter.argv[0] = "aim-no-such-linter"' reg/AIM_registry.json >r && mv r reg/AIM_registry.json
	run --separate-stderr aim-resolve -r reg < <(req y)
	assert_success
	assert_equal "$(jq -c '.route.candidates[0] | [.status, .reason]' <<<"$output")" \
	    '["no_adapter","adapter command aim-no-such-linter: not found on PATH"]'
	run --separate-stderr aim-resolve --check -r reg
	assert_success
}

@test "a bad adapter object is a clear error naming file:line:column: --check lists each, routing exits 3" {
	clean_registry reg
	cat >reg/AIM_registry.json <<-'EOF'
	{
	  "tools": {
	    "a": {"name": "A", "detectCommands": ["sh"], "capabilities": ["x", "y"],
	      "adapter": {"argv": ["sh", "{fiels}", "{\"json\": 1}"], "stdin": "file",
	        "success_exit": [0, 256], "findings_exit": "1",
	        "findings": {"format": "yaml", "fields": {"lst": "x", "line": 3}},
	        "file_type": [".sh"]}},
	    "b": {"name": "B", "detectCommands": ["sh"], "capabilities": ["x"], "adapterScript": "AIM_adapters/ok.sh",
	      "adapter": {"findings": {"fields": {}}}},
	    "c": {"name": "C", "detectCommands": ["sh"], "capabilities": ["x"], "adapter": {"argv": [],
	      "findings": {"format": "json"}}}
	  }
	}
	EOF
	R=$PWD/reg/AIM_registry.json
	run --separate-stderr aim-resolve --check -r reg
	assert_failure 1
	assert_equal "$output" ""
	assert_equal "$stderr" "$(cat <<-EOF
	aim-resolve: $R:4:72: tool 'a': adapter.stdin must be one of "prompt"
	aim-resolve: $R:5:25: tool 'a': adapter.success_exit must be an array of exit codes (0 to 255)
	aim-resolve: $R:5:52: tool 'a': adapter.findings_exit must be an array of exit codes (0 to 255)
	aim-resolve: $R:4:34: tool 'a': adapter.argv[1]: unknown placeholder '{fiels}'; did you mean '{files}'?
	aim-resolve: $R:6:32: tool 'a': adapter.findings.format must be one of "json", "sarif", "checkstyle", "gcc"
	aim-resolve: $R:6:71: tool 'a': adapter.findings.fields.line must be a string
	aim-resolve: $R:9:7: tool 'b': both adapter and adapterScript; keep one
	aim-resolve: $R:9:7: tool 'b': adapter has no argv
	aim-resolve: $R:9:19: tool 'b': adapter.findings has no format
	aim-resolve: $R:10:93: tool 'c': adapter.argv is empty
	aim-resolve: $R:11:7: tool 'c': adapter.findings: format json needs a "fields" map
	aim-resolve: $R:7:9: tool 'a': adapter: unknown member 'file_type'; did you mean 'file_types'?
	aim-resolve: $R:6:51: tool 'a': adapter.findings.fields: unknown member 'lst'; did you mean 'list'?
	EOF
	)"
	run --separate-stderr aim-resolve -r reg < <(req x)
	assert_equal "$status" 3
	assert_equal "${stderr_lines[0]}" "aim-resolve: $R:4:72: tool 'a': adapter.stdin must be one of \"prompt\""
	assert_equal "$(jq -r .error.code <<<"$output")" registry_unavailable
}
