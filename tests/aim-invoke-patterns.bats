#!/usr/bin/env bats
# aim-invoke and the error patterns (aim-adapter(7) ERROR PATTERNS): a
# failure its adapter gave no class gets the class the patterns of the
# record's registry give its message or stderr, with error_class_from;
# no file, no match: unclassified.  A bad file is a warning naming
# file:line, and the failure stays unclassified.

load helper

setup() {
	common_setup
	mkdir -p reg/AIM_adapters
	cp "$TOP/examples/.AIM_ai-tools-registry/AIM_adapters/error-patterns" \
	    reg/AIM_adapters/
}

# fails ID PAYLOAD [REGISTRY]: a routed record of fail-stderr.sh with
# PAYLOAD, routed with REGISTRY (default reg), max_retries 1.
fails() {
	routed "$1" "$ADAPTERS/fail-stderr.sh" 5000 "$2" |
	    jq -c --arg r "${3:-$PWD/reg}" '.route.registry = $r
	    | .route.candidates[0].max_retries = 1'
}

# warnings: the lines of $stderr besides each record's "All tools failed".
warnings() {
	grep -v ': All tools failed for capability' <<<"$stderr" || true
}

# attempts: [error_class, error_class_from, retry] of each attempt.
attempts() {
	jq -c '[.attempts[] | [.error_class, .error_class_from, .retry]]' out.jsonl
}

@test "patterns: HTTP 429 on stderr is rate_limit, from stderr, and retried as rate_limit is" {
	fails r '{stderr: "error: HTTP 429 Too Many Requests\n"}' >in.jsonl
	echo '{"retry_base_ms": 1, "retry_max_ms": 2}' >cfg.json
	run --separate-stderr aim-invoke -c cfg.json in.jsonl
	assert_failure 1
	echo "$output" >out.jsonl
	assert_equal "$(warnings)" ''
	run attempts
	assert_output '[["rate_limit","stderr",null],["rate_limit","stderr",1]]'
	run jq -c '.attempts[0].backoff_ms | type' out.jsonl
	assert_output '"number"'
}

@test "patterns: the message is tried before stderr" {
	fails m '{message: "not logged in", stderr: "HTTP 429\n"}' >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	echo "$output" >out.jsonl
	run attempts
	assert_output '[["auth","message",null]]'
}

@test "patterns: nothing known on stderr stays unclassified, never retried" {
	fails u '{stderr: "Segmentation fault\n"}' >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	echo "$output" >out.jsonl
	assert_equal "$(warnings)" ''
	run attempts
	assert_output '[["unclassified",null,null]]'
}

@test "patterns: a registry without the file stays unclassified, silently" {
	rm reg/AIM_adapters/error-patterns
	fails n '{stderr: "HTTP 429 Too Many Requests\n"}' >in.jsonl
	fails x '{stderr: "HTTP 429 Too Many Requests\n"}' /nonexistent >>in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	echo "$output" >out.jsonl
	assert_equal "$(warnings)" ''
	run jq -c '[.attempts[] | [.error_class, .error_class_from]]' out.jsonl
	assert_output "$(printf '%s\n' '[["unclassified",null]]' '[["unclassified",null]]')"
}

@test "patterns: a broken line is one warning naming file:line; the file is ignored" {
	printf 'auth\t-\tnot logged in\nrate_limit\t-\t(429\n' >reg/AIM_adapters/error-patterns
	fails b1 '{stderr: "HTTP 429\n"}' >in.jsonl
	fails b2 '{stderr: "not logged in\n"}' >>in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	echo "$output" >out.jsonl
	assert_equal "$(warnings)" "aim-invoke: $PWD/reg/AIM_adapters/error-patterns:2: bad expression: Unmatched ( or \\(; error patterns ignored"
	run jq -c '[.attempts[] | .error_class]' out.jsonl
	assert_output "$(printf '%s\n' '["unclassified"]' '["unclassified"]')"
}

@test "patterns: the file of each record's own registry, read once" {
	mkdir -p other/AIM_adapters
	printf 'quota\t-\tHTTP 429\n' >other/AIM_adapters/error-patterns
	fails o1 '{stderr: "HTTP 429\n"}' >in.jsonl
	fails o2 '{stderr: "HTTP 429\n"}' "$PWD/other" >>in.jsonl
	fails o3 '{stderr: "HTTP 429\n"}' "$PWD/other" >>in.jsonl
	echo '{"retry_base_ms": 1, "retry_max_ms": 2}' >cfg.json
	run --separate-stderr strace -f -e trace=openat -o trace aim-invoke -c cfg.json in.jsonl
	assert_failure 1
	echo "$output" >out.jsonl
	run jq -c '[.attempts[] | .error_class]' out.jsonl
	assert_output "$(printf '%s\n' '["rate_limit","rate_limit"]' '["quota"]' '["quota"]')"
	assert_equal "$(grep -c 'other/AIM_adapters/error-patterns' trace)" 1
}
