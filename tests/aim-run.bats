#!/usr/bin/env bats
# aim-run (aim run): requests from the command line, routed, run and
# audited in one process; words on a terminal, JSON Lines otherwise.
# The tools are the stand-ins of tests/fixtures/registries/run.

load helper

setup() {
	common_setup
	cp -R "$REGS/run" reg
	R=$PWD/reg
	export AIM_REGISTRY_PATH=$R AIM_AUDIT_DIR=$PWD/audit
	printf 'int main(void) { return 0; }\n' >a.c
	printf 'int b;\n' >b.c
	printf 'int c;\n' >c.c
	USAGE="usage: aim run [-ehnsV] [-c config] [-d audit-dir] [-j jobs] [-p prompt]"
}

# tty CMD...: CMD on a pseudo-terminal (script(1)); its screen, carriage
# returns taken out, in screen.txt and $output/$lines; $tty_status is CMD's.
tty() {
	tty_status=0
	script -qec "$(printf '%q ' "$@")" /dev/null >screen.raw 2>&1 ||
	    tty_status=$?
	tr -d '\r' <screen.raw >screen.txt
	run cat screen.txt
}

# audited: the number of audit entries written.
audited() {
	find audit -name '*.json' -not -name '.*' 2>/dev/null | wc -l
}

@test "--help prints the usage and every option on stdout, exits 0" {
	run -0 --separate-stderr aim-run --help
	assert_equal "$stderr" ""
	assert_equal "${lines[0]}" "$USAGE"
	for opt in "-c, --config=FILE " "-d, --audit-dir=DIR " "    --deadline=MS " \
	    "-e, --each " "-h, --help " "-j, --jobs=N " "    --json " \
	    "-n, --dry-run " "    --no-cache " "-p, --prompt=TEXT " "-r, --registry=DIR " \
	    "-s, --strict " "    --steps=CAP,... " "-t, --tool=TOOL " "    --timeout=MS " \
	    "-V, --version " "-w, --workflow=NAME "; do
		assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c -- "^  $opt")" 1
	done
	assert_equal "${lines[-1]}" "See aim-run(1)."
}

@test "-V prints the version; aim run is aim-run" {
	run -0 aim-run -V
	assert_output --regexp '^aim-run [0-9]+\.[0-9]+\.[0-9]+$'
	run -0 --separate-stderr aim run --json formatting a.c
	assert_equal "$(jq -r .tool_id <<<"$output")" fmt
}

@test "usage errors exit 2 and say what is wrong: no capability, bad -j, --each alone, bad milliseconds, bad option" {
	run -2 --separate-stderr aim-run
	assert_equal "${stderr_lines[0]}" "aim-run: no capability: say what to do, e.g. 'aim run formatting src/main.c'"
	assert_equal "${stderr_lines[1]}" "$USAGE"
	run -2 --separate-stderr aim-run -j 0 formatting a.c
	assert_equal "${stderr_lines[0]}" "aim-run: -j 0: want a number from 1 to 1024"
	run -2 --separate-stderr aim-run --each formatting
	assert_equal "${stderr_lines[0]}" "aim-run: --each: no files to take one by one"
	run -2 --separate-stderr aim-run --deadline 5s formatting a.c
	assert_equal "${stderr_lines[0]}" "aim-run: --deadline 5s: want milliseconds from 1 to 86400000"
	run -2 --separate-stderr aim-run --timeout 0 formatting a.c
	assert_equal "${stderr_lines[0]}" "aim-run: --timeout 0: want milliseconds from 1 to 86400000"
	run -2 --separate-stderr aim-run -x formatting a.c
	assert_equal "${stderr_lines[1]}" "$USAGE"
	run -2 --separate-stderr aim-run ''
	assert_equal "${stderr_lines[0]}" "aim-run: the capability is empty"
	run -2 --separate-stderr aim-run --steps formatting -w tidy a.c
	assert_equal "${stderr_lines[0]}" "aim-run: --steps and -w exclude each other"
	run -2 --separate-stderr aim-run -w tidy -t fmt a.c
	assert_equal "${stderr_lines[0]}" "aim-run: -t is for a request without steps"
	run -2 --separate-stderr aim-run --steps formatting,,linting a.c
	assert_equal "${stderr_lines[0]}" "aim-run: --steps formatting,,linting: an empty capability"
	assert_equal "$(audited)" 0
}

@test "no registry: exit 3, the places looked and 'aim init'; nothing runs" {
	unset AIM_REGISTRY_PATH
	run -3 --separate-stderr aim-run formatting a.c
	assert_equal "$output" ""
	assert_equal "$stderr" "aim-run: registry not found (looked in $PWD/.AIM_ai-tools-registry, $(dirname "$PWD")/.AIM_ai-tools-registry, $(dirname "$(dirname "$PWD")")/.AIM_ai-tools-registry, $(dirname "$(dirname "$(dirname "$PWD")")")/.AIM_ai-tools-registry$(p=$(dirname "$(dirname "$(dirname "$PWD")")"); while [ "$p" != / ]; do p=$(dirname "$p"); printf ', %s' "${p%/}/.AIM_ai-tools-registry"; done), $HOME/.AIM_ai-tools-registry); 'aim init' makes one"
	assert_equal "$(cat a.c)" "int main(void) { return 0; }"
}

@test "a broken registry or config: exit 3 naming the file and line; nothing runs" {
	printf '{"tools": {\n  "fmt": 3,\n}}\n' >"$R/AIM_registry.json"
	run -3 --separate-stderr aim-run formatting a.c
	assert_equal "$output" ""
	assert_regex "$stderr" "$R/AIM_registry.json:[0-9]+"
	cp -R "$REGS/run/AIM_registry.json" "$R/"
	printf '{"timeout_ms": "soon"}\n' >cfg.json
	run -3 --separate-stderr aim-run -c cfg.json formatting a.c
	assert_regex "$stderr" "cfg.json"
	assert_equal "$(cat a.c)" "int main(void) { return 0; }"
	assert_equal "$(audited)" 0
}

@test "JSON Lines when stdout is not a terminal: the result record, the file changed, its audit entry written" {
	run -0 --separate-stderr aim-run formatting a.c
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 1
	rec=$output
	run jq -c '[.capability, .payload, .tool_id, .result.success, .result.content.files_modified, .attempts[0].outcome, .route.strategy]' <<<"$output"
	assert_output '["formatting",{"files":["a.c"]},"fmt",true,["a.c"],"success","ordered"]'
	assert_equal "$(tail -n 1 a.c)" formatted
	path=$(jq -r '.audit.path' <<<"$rec")
	assert_file_exists "$path"
	assert_equal "$(jq -r '[.tool_id, .capability, .result.success] | @tsv' "$path")" "$(printf 'fmt\tformatting\ttrue')"
	run -0 aim-audit verify -d audit
}

@test "one request for all the files; --each one per file, in order, also with -j" {
	run -0 aim-run formatting a.c b.c
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -c .payload.files <<<"$output")" '["a.c","b.c"]'
	for j in 1 3; do
		run -0 aim-run --each -j "$j" formatting a.c b.c c.c
		assert_equal "${#lines[@]}" 3
		assert_equal "$(printf '%s\n' "${lines[@]}" | jq -sc 'map(.payload.files)')" '[["a.c"],["b.c"],["c.c"]]'
		assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r .id | sort -u | wc -l)" 3
	done
	assert_equal "$(grep -c formatted c.c)" 2
	assert_equal "$(audited)" 7
}

@test "-p gives the prompt, -p - reads it from stdin; the tool's answer, tokens and cost are in the record" {
	run -0 --separate-stderr aim-run -t ai -p 'add a test' code_generation a.c
	run jq -c -S '[.payload.prompt, .tool_id, .result.content.response, .result.content.usage, .result.content.cost_usd]' <<<"$output"
	assert_output '["add a test","ai","Hello from ai\nprompt: add a test",{"cached_input_tokens":5,"input_tokens":12,"output_tokens":34},0.0123]'
	printf 'from\nstdin\n' | {
		run -0 --separate-stderr aim-run -t ai -p - code_generation
		assert_equal "$(jq -c .payload <<<"$output")" '{"prompt":"from\nstdin\n"}'
	}
}

@test "-t asks one tool directly; --timeout and --deadline go into the request" {
	run -0 aim-run -t fmt --timeout 5000 --deadline 9000 formatting a.c
	run jq -c '[.tool_id, .route.strategy, .timeout_ms, .deadline_ms, .route.deadline_ms, .route.candidates[0].timeout_ms]' <<<"$output"
	assert_output '["fmt","direct",5000,9000,9000,5000]'
}

@test "the fallback chain: the first tool fails with rate_limit, the next serves; exit 0" {
	run -0 --separate-stderr aim-run -p hi code_generation
	assert_equal "$stderr" ""
	run jq -c '[.tool_id, .degraded, .fallback_depth, [.attempts[] | [.tool_id, .outcome, .error_class]]]' <<<"$output"
	assert_output '["ai",true,1,[["flaky","failure","rate_limit"],["ai","success",null]]]'
}

@test "-s: no fallback; the failed request is one stderr line naming files, capability and why, exit 1, audited" {
	run -1 --separate-stderr aim-run -s -p hi code_generation a.c b.c
	assert_equal "$stderr" "aim-run: a.c b.c: code_generation: All tools failed for capability 'code_generation': flaky: HTTP 429: slow down; ai: fallback is off for this request"
	run jq -c '[.tool_id, .result.success, [.attempts[] | [.tool_id, .outcome, .reason]]]' <<<"$output"
	assert_output '[null,false,[["flaky","failure",null],["ai","skipped","fallback_disabled"]]]'
	assert_equal "$(audited)" 1
}

@test "an unroutable request (unknown capability, tool not installed) is an error record, one stderr line, exit 1" {
	run -1 --separate-stderr aim-run painting a.c
	assert_equal "$stderr" "aim-run: a.c: painting: unknown capability 'painting'; did you mean 'waiting'? known: formatting, code_generation, waiting"
	assert_equal "$(jq -r '.error.code' <<<"$output")" unknown_capability
	run -1 --separate-stderr aim-run -t missing code_generation
	assert_equal "$stderr" "aim-run: -: code_generation: All tools failed for capability 'code_generation': missing: not installed"
	assert_equal "$(audited)" 2
}

@test "-n prints the plan: nothing runs, nothing is audited, exit 0" {
	run -0 --separate-stderr aim-run -n formatting a.c
	run jq -c '[.plan[] | [.tool_id, .action]], .attempts' <<<"$output"
	assert_output $'[["fmt","run"]]\nnull'
	assert_equal "$(cat a.c)" "int main(void) { return 0; }"
	assert_equal "$(audited)" 0
}

@test "--deadline cuts a slow tool short: class timeout, exit 1, in about the deadline" {
	t0=$(date +%s%N)
	run -1 --separate-stderr aim-run --deadline 2000 waiting
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -lt 10000 ] || fail "took $ms ms"
	assert_equal "$(jq -r '.attempts[0].outcome' <<<"$output")" timeout
	assert_regex "$stderr" "^aim-run: -: waiting: "
}

@test "SIGTERM stops the running tool: the record says interrupted, exit 143, audited" {
	aim-run waiting >out.jsonl 2>err.txt &
	pid=$!
	for _ in $(seq 100); do
		pgrep -P "$pid" >/dev/null && break
		sleep 0.05
	done
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	assert_equal "$(jq -r '.result.message' out.jsonl)" "interrupted by SIGTERM"
	assert_equal "$(audited)" 1
}

@test "the same records as aim-resolve | aim-invoke | aim-audit" {
	run -0 aim-run -p hi code_generation a.c
	printf '%s\n' "$output" | jq -S 'del(.id, .audit, .attempts[].duration_ms, .attempts[].stderr)' >run.json
	jq -nc '{capability: "code_generation", payload: {files: ["a.c"], prompt: "hi"}}' |
	    aim-resolve | aim-invoke | aim-audit >pipe.jsonl
	jq -S 'del(.id, .audit, .attempts[].duration_ms, .attempts[].stderr)' pipe.jsonl >pipe.json
	run diff run.json pipe.json
	assert_success
}

@test "terminal: the result in words, without colour under NO_COLOR" {
	NO_COLOR=1 tty aim-run formatting a.c b.c
	assert_equal "$tty_status" 0
	assert_line --index 0 --regexp '^formatting a\.c, b\.c: done by fmt in [0-9.]+ m?s$'
	assert_line --index 1 "  modified  a.c, b.c"
	assert_line --index 2 "  lines     +2 -0"
	assert_line --index 3 --regexp "^  audit     $PWD/audit/"
	run grep -c $'\033' screen.txt
	assert_output 0
}

@test "terminal: an AI tool's answer, tokens and cost; the fallback's attempts; colour on a terminal" {
	TERM=xterm tty aim-run -p 'add a test' code_generation
	assert_equal "$tty_status" 0
	run grep -c $'\033\\[32mdone' screen.txt
	assert_output 1
	sed 's/\x1b\[[0-9;]*m//g' screen.txt >plain.txt
	run cat plain.txt
	assert_line --index 0 --regexp '^code_generation: done by ai in [0-9.]+ m?s, fallback 1 down the chain$'
	assert_line --index 1 --regexp '^  failure  flaky        rate_limit [0-9]+ ms  HTTP 429: slow down$'
	assert_line --index 2 --regexp '^  success  ai           [0-9]+ ms$'
	assert_line "  tokens    12 in, 34 out (5 cached)"
	assert_line "  cost      \$0.0123"
	assert_line "    Hello from ai"
	assert_line "    prompt: add a test"
}

@test "terminal: a failure in words, exit 1; --json on a terminal is JSON; TERM=dumb has no colour" {
	TERM=dumb tty aim-run -t missing code_generation
	assert_equal "$tty_status" 1
	assert_line --index 0 "code_generation: failed: All tools failed for capability 'code_generation': missing: not installed"
	assert_line --index 1 "  skipped  missing      not_installed  aim-no-such-tool: not found on PATH"
	run grep -c $'\033' screen.txt
	assert_output 0
	tty aim-run --json formatting a.c
	assert_equal "$(head -n 1 screen.txt | jq -r .tool_id)" fmt
}

@test "terminal: a live line names the running tool and its time, then is cleared" {
	tty aim-run --deadline 2500 waiting
	assert_equal "$tty_status" 1
	grep -q 'running slow [0-9.]* m\?s' screen.txt || fail "no live line: $(cat -v screen.txt)"
	# Cleared before the result: the last screen line is the result's.
	run grep -c $'\033\\[K' screen.txt
	[ "$output" -ge 1 ]
}

@test "the filters' -H: each record in words on stderr, the JSON on stdout as without it" {
	jq -nc '{capability: "formatting", payload: {files: ["a.c"]}}' >req.jsonl
	aim-resolve -H req.jsonl >routed.jsonl 2>resolve.txt
	assert_equal "$(head -n 1 resolve.txt)" "formatting a.c: routed (ordered)"
	assert_equal "$(sed -n 2p resolve.txt)" "  ready         fmt"
	aim-invoke -H routed.jsonl >done.jsonl 2>invoke.txt
	assert_regex "$(head -n 1 invoke.txt)" '^formatting a\.c: done by fmt in [0-9.]+ m?s$'
	assert_equal "$(sed -n 2p invoke.txt)" "  modified  a.c"
	aim-audit -H done.jsonl >audited.jsonl 2>audit.txt
	assert_regex "$(tail -n 1 audit.txt)" "^  audit     $PWD/audit/"
	assert_equal "$(jq -c '[.tool_id, .result.success]' audited.jsonl)" '["fmt",true]'
	# Words only on stderr: stdout is the JSON the filters write without -H.
	aim-invoke routed.jsonl >plain.jsonl 2>/dev/null
	assert_equal "$(jq -c 'del(.attempts[].duration_ms)' plain.jsonl)" \
	    "$(jq -c 'del(.attempts[].duration_ms)' done.jsonl)"
	run -2 --separate-stderr aim-audit -H verify
	assert_equal "${stderr_lines[0]}" "aim-audit: -H: only the filter shows records in words"
}
