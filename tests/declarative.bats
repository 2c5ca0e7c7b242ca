#!/usr/bin/env bats
# Declarative adapters (aim-registry(5) "The adapter object") against the
# real tools: the ten local tools of the example registry through aim run
# --json, each skipped, with its reason, only when its command is missing.
# The npm ones (prettier, eslint, stylelint, markdownlint) are taken from
# the cache of tests/tools-install when they are not on PATH.  The cases no
# real tool gives (a report of no format, a tool past its time, {prompt})
# use tests/fixtures/declarative/stand-in in a registry of its own.

load helper

setup_file() {
	local bin=${AIM_TOOLS_BIN:-${AIM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aim-test-tools}/node_modules/.bin}
	[ -d "$bin" ] && PATH="$PATH:$bin"
	export PATH="$FIX/declarative:$PATH"
}

setup() {
	common_setup
	EX=$TOP/examples/.AIM_ai-tools-registry
}

# need COMMAND: skip the test, saying why, when COMMAND is not on PATH.
need() {
	command -v "$1" >/dev/null ||
	    skip "$1 not installed (make test-deps; tests/tools-install for npm's)"
}

# by TOOL CAPABILITY FILE...: aim run --json with the example registry,
# TOOL asked directly; the result record in $output.
by() {
	local t=$1
	shift
	run --separate-stderr aim run --json -r "$EX" -d audit -t "$t" "$@"
}

# findings: [file, line, rule, severity] of each finding of the record.
findings() {
	jq -c '[.result.content.findings[] | [.file, .line, .rule, .severity]]' \
	    <<<"$output"
}

# modified: the record's success and files_modified.
modified() {
	jq -c '[.result.success, .result.content.files_modified]' <<<"$output"
}

# lints TOOL BAD CLEAN FINDINGS: TOOL finds exactly FINDINGS in the file
# BAD (success, exit 1 or 2 of the tool), nothing in CLEAN (success).
lints() {
	by "$1" linting "$2"
	assert_success
	assert_equal "$(findings)" "$4"
	by "$1" linting "$3"
	assert_success
	assert_equal "$(jq -c '[.result.success, .result.content.findings]' \
	    <<<"$output")" '[true,[]]'
}

# formats TOOL FILE FORMATTED: TOOL rewrites FILE into FORMATTED, named in
# files_modified; a second run finds nothing to do.
formats() {
	by "$1" formatting "$2"
	assert_success
	assert_equal "$(modified)" "[true,[\"$2\"]]"
	assert_equal "$(cat "$2")" "$3"
	by "$1" formatting "$2"
	assert_success
	assert_equal "$(modified)" '[true,[]]'
}

# stand_in: registry reg, whose tools run the stand-in through adapter
# objects, all for capability "test".
stand_in() {
	mkdir -p reg/AIM_cross-tool
	jq -n '{tools: {
	    garbage: {argv: ["stand-in", "garbage", "{files}"], findings_exit: [1],
	      findings: {format: "json", fields: {line: "line"}}},
	    fail: {argv: ["stand-in", "fail", "{files}"]},
	    sleepy: {argv: ["stand-in", "sleep", "{files}"]},
	    record: {argv: ["stand-in", "record", "--prompt={prompt}", "{cwd}"],
	      stdin: "prompt"},
	    each: {argv: ["shfmt", "-w", "{file}"]}}
	    | with_entries(.value = {name: .key, detectCommands: ["sh"],
	      capabilities: ["test"], adapter: .value})}' >reg/AIM_registry.json
	echo '{"capabilities": {"test": {"primary": "garbage", "fallback": []}}}' \
	    >reg/AIM_cross-tool/AIM_coordination-rules.json
}

# ---- linters: a finding exactly, a clean file ----

@test "shellcheck: SC2086 at line 2; a clean script has no findings" {
	need shellcheck
	printf '#!/bin/sh\necho $1\n' >bad.sh
	printf '#!/bin/sh\necho "$1"\n' >ok.sh
	lints shellcheck bad.sh ok.sh '[["bad.sh",2,"SC2086","info"]]'
}

@test "cppcheck: arrayIndexOutOfBounds at line 1; a clean file has none" {
	need cppcheck
	echo 'int f(void) { int a[2]; a[2] = 0; return a[0]; }' >bad.c
	echo 'int f(void) { return 0; }' >ok.c
	lints cppcheck bad.c ok.c '[["bad.c",1,"arrayIndexOutOfBounds","warning"]]'
}

@test "eslint: no-unused-vars, severity 1 a warning; a clean file has none" {
	need eslint
	echo 'module.exports = [{ rules: { "no-unused-vars": "warn" } }];' \
	    >eslint.config.js
	echo 'var a = 1;' >bad.js
	echo 'console.log(1);' >ok.js
	# ESLint names the file by its absolute path.
	lints eslint bad.js ok.js "[[\"bad.js\",1,\"no-unused-vars\",\"warning\"]]"
}

@test "yamllint: colons at line 2, the rule in parentheses; a clean file has none" {
	need yamllint
	printf -- '---\na:  1\n' >bad.yaml
	printf -- '---\na: 1\n' >ok.yaml
	lints yamllint bad.yaml ok.yaml '[["bad.yaml",2,"colons","error"]]'
}

@test "stylelint: color-hex-length from stderr, exit 2; a clean file has none" {
	need stylelint
	local std
	std=$(dirname "$(command -v stylelint)")/../stylelint-config-standard
	[ -d "$std" ] || skip "stylelint-config-standard not beside stylelint"
	printf '{"extends": "%s"}\n' "$std" >.stylelintrc.json
	echo 'a { color: #ffffff; }' >bad.css
	echo 'a { color: #fff; }' >ok.css
	lints stylelint bad.css ok.css "[[\"bad.css\",1,\"color-hex-length\",\"error\"]]"
}

@test "markdownlint: MD019 and MD025 at line 3; a clean file has none" {
	need markdownlint
	printf '# T\n\n#  U\n' >bad.md
	printf '# T\n\ntext\n' >ok.md
	lints markdownlint bad.md ok.md '[["bad.md",3,"MD019","error"],["bad.md",3,"MD025","error"]]'
}

@test "a report on stderr longer than stderr_tail_bytes is read whole" {
	need markdownlint
	for i in $(seq 20); do printf '# T\n\n#  U\n' >"m$i.md"; done
	by markdownlint linting m*.md
	assert_success
	assert_equal "$(jq '.result.content.findings | length' <<<"$output")" 40
}

# ---- formatters: the change on disk and in files_modified ----

@test "clang-format: the file rewritten in place, then left alone" {
	need clang-format
	echo 'int  main( void ){return 0;}' >a.c
	formats clang-format a.c 'int main(void) { return 0; }'
}

@test "shfmt: the script rewritten in place, then left alone" {
	need shfmt
	echo 'if [ 1 ];then echo;fi' >a.sh
	formats shfmt a.sh 'if [ 1 ]; then echo; fi'
}

@test "black: the module rewritten in place, then left alone" {
	need black
	printf 'def f( a ):\n  return a\n' >a.py
	formats black a.py $'def f(a):\n    return a'
}

@test "prettier: the script rewritten in place, then left alone" {
	need prettier
	echo 'var  a=1' >a.js
	formats prettier a.js 'var a = 1;'
}

# ---- the chain, failures ----

@test "a file of another type is refused as bad_request, which runs no tool and writes no state; the next tool serves" {
	need shfmt
	need black
	need shellcheck
	need yamllint
	printf 'def f( a ):\n  return a\n' >a.py
	run --separate-stderr aim run --json -r "$EX" -d audit formatting a.py
	assert_success
	run jq -c '[.tool_id, [.attempts[] | [.tool_id, .outcome, .error_class, .message]]]' <<<"$output"
	assert_output '["black",[["clang-format","failure","bad_request","not a file of the tool'"'"'s types: a.py"],["shfmt","failure","bad_request","not a file of the tool'"'"'s types: a.py"],["black","success",null,"1 file(s) modified"]]]'
	# Nothing for the circuit breakers or least_recent_failure.
	[ ! -e "$HOME/.local/state/aim/state.json" ] || fail "state.json: $(cat "$HOME/.local/state/aim/state.json")"
	printf -- '---\na:  1\n' >a.yaml
	run --separate-stderr aim run --json -r "$EX" -d audit linting a.yaml
	assert_success
	run jq -c '[.tool_id, [.attempts[] | .error_class], .result.content.findings[0].rule]' <<<"$output"
	# eslint, when installed, refuses it too.
	assert_output --regexp '^\["yamllint",\["bad_request","bad_request",("bad_request",|"not_installed",)?null\],"colons"\]$'
}

@test "an exit outside success_exit and findings_exit fails with the tool's last stderr line" {
	need black
	echo 'def f(:' >bad.py
	by black formatting bad.py
	assert_failure 1
	run jq -c '[.result.success, .attempts[0].outcome, .attempts[0].exit_code, .attempts[0].message]' <<<"$output"
	assert_output '[false,"failure",123,"error: cannot format bad.py: Cannot parse: 1:6: def f(:"]'
	assert_equal "$stderr" "aim-run: bad.py: formatting: All tools failed for capability 'formatting': black: error: cannot format bad.py: Cannot parse: 1:6: def f(:"
	stand_in
	touch a.txt
	run --separate-stderr aim run --json -r reg -d audit -t fail test a.txt
	assert_failure 1
	run jq -c '[.attempts[0].exit_code, .attempts[0].message]' <<<"$output"
	assert_output '[3,"the last line"]'
}

@test "a report not of the declared format is a failure: can't read the tool's findings" {
	stand_in
	touch a.txt
	run --separate-stderr aim run --json -r reg -d audit -t garbage test a.txt
	assert_failure 1
	run jq -r '.attempts[0].outcome, .attempts[0].message' <<<"$output"
	assert_line --index 0 failure
	assert_line --index 1 "can't read the tool's findings: json: invalid token near 'not' at line 1, column 3"
}

@test "{file}: one run per file, attempt.runs counts them" {
	need shfmt
	stand_in
	echo 'if [ 1 ];then echo;fi' >a.sh
	echo 'if [ 2 ];then echo;fi' >b.sh
	run --separate-stderr aim run --json -r reg -d audit -t each test a.sh b.sh
	assert_success
	run jq -c '[.attempts[0].runs, .result.content.files_modified]' <<<"$output"
	assert_output '[2,["a.sh","b.sh"]]'
	assert_equal "$(cat a.sh b.sh)" $'if [ 1 ]; then echo; fi\nif [ 2 ]; then echo; fi'
}

@test "a stream of requests looks an adapter's command up on PATH once, not once a request" {
	command -v strace >/dev/null || skip "no strace"
	# LeakSanitizer cannot run under ptrace(2).
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	stand_in
	local n
	for n in 1 20; do
		yes '{"capability": "test", "payload": {}}' | head -n "$n" >"req$n"
		strace -o "st$n" -e trace=newfstatat,stat,access aim-resolve -r reg "req$n" >"routed$n"
		assert_equal "$(jq -r .route.candidates[0].status "routed$n" | uniq -c | xargs)" "$n ready"
	done
	assert_equal "$(grep -c '/stand-in"' st20)" "$(grep -c '/stand-in"' st1)"
}

@test "{prompt} in an argument, stdin \"prompt\", {cwd}" {
	stand_in
	run --separate-stderr aim run --json -r reg -d audit -t record -p 'say hi' test
	assert_success
	assert_equal "$(cat record.out)" "--prompt=say hi
$PWD
say hi"
}

@test "the timeout and the deadline kill a slow declarative tool" {
	stand_in
	touch a.txt
	SECONDS=0
	run --separate-stderr aim run --json -r reg -d audit -t sleepy --timeout=500 test a.txt
	assert_failure 1
	run jq -c '[.attempts[0].outcome, .attempts[0].error_class, .attempts[0].message]' <<<"$output"
	assert_output '["timeout","timeout","timed out"]'
	# 1500 ms: more than the least time a tool is started with (1000).
	run --separate-stderr aim run --json -r reg -d audit -t sleepy --deadline=1500 test a.txt
	assert_failure 1
	run jq -c '[.attempts[0].outcome, .attempts[0].error_class, .attempts[0].duration_ms < 5000]' <<<"$output"
	assert_output '["timeout","timeout",true]'
	[ "$SECONDS" -lt 10 ]
}

@test "the example registry's adapter objects are examples/declarative-registry.json's" {
	# The same tools, but for where the example registry installs them
	# from, in the registry's order: real jq (gojq iterates an object's keys
	# sorted).
	run command jq -e --slurpfile d "$TOP/examples/declarative-registry.json" \
	    '[.tools[] | select(.adapter) | del(.install)] == [$d[0].tools[]]' "$EX/AIM_registry.json"
	assert_success
}

@test "a file that is not there is refused as bad_request before any tool runs, naming it" {
	need shellcheck
	by shellcheck linting nosuch.sh
	assert_failure 1
	assert_equal "$(jq -c '[.attempts[0] | .outcome, .error_class, .message]' <<<"$output")" \
	    '["failure","bad_request","nosuch.sh: No such file or directory"]'
	assert_equal "$(jq -c '.attempts[0].duration_ms' <<<"$output")" 0
}
