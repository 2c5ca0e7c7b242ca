#!/usr/bin/env bats
# Standard descriptors, the same in every binary (aim(7) EXIT STATUS): a
# closed stdout is exit 4 with "standard output is closed" and no internal
# file ever takes fds 0-2; a reader that goes away (| head -1) ends the
# writer quietly with status 141, as SIGPIPE at its default would.

load helper

setup() {
	common_setup
	unset AIM_VAULT AIM_VAULT_KEYFILE XDG_DATA_HOME XDG_CACHE_HOME
	routed_ok 1 >one.jsonl
}

# routed_ok N: N routed records, each served by the ok adapter.
routed_ok() {
	routed_many r "$1" "$ADAPTERS/ok.sh"
}

# A request stream of N lines for aim-resolve against a registry of ours.
requests() {
	local i
	for ((i = 1; i <= $1; i++)); do
		echo '{"capability":"test","payload":{}}'
	done
}

registry() {
	mkdir -p reg/AIM_adapters reg/AIM_cross-tool
	cp "$ADAPTERS/ok.sh" reg/AIM_adapters/ok.sh
	echo '{"tools":{"ok":{"detectCommands":["sh"],"capabilities":["test"],"adapterScript":"AIM_adapters/ok.sh"}}}' \
	    >reg/AIM_registry.json
	echo '{"capabilities":{"test":{"primary":"ok","fallback":[]}}}' \
	    >reg/AIM_cross-tool/AIM_coordination-rules.json
}

@test "closed stdout: aim-resolve is exit 4 and routes nothing" {
	registry
	requests 3 >req.jsonl
	run --separate-stderr sh -c 'aim-resolve -r reg req.jsonl >&-'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-resolve: standard output is closed"
}

@test "closed stdout: aim-resolve --check still works" {
	registry
	run --separate-stderr sh -c 'aim-resolve --check -r reg >&-'
	assert_equal "$status" 0
	assert_equal "$stderr" ""
}

@test "closed stdout: aim-invoke is exit 4 and runs no adapter" {
	jq -c '.route.candidates[0].argv = ["'"$ADAPTERS"'/echo-request.sh"]' \
	    one.jsonl >in.jsonl
	run --separate-stderr sh -c 'aim-invoke in.jsonl >&-'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-invoke: standard output is closed"
}

@test "closed stdout: aim-audit writes no entry and never touches its head file" {
	routed_ok 5 >in.jsonl
	run --separate-stderr sh -c 'aim-audit -d aud <in.jsonl >&-'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: standard output is closed"
	# Stopped before the trail was opened: nothing logged, no head file.
	assert_not_exist aud
}

@test "closed stdout: aim-audit subcommands that print are exit 4" {
	routed_ok 2 | aim-audit -d aud >/dev/null
	run --separate-stderr sh -c 'aim-audit query -d aud >&-'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: standard output is closed"
	run --separate-stderr sh -c 'aim-audit stats -d aud >&-'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: standard output is closed"
	# verify still checks the chain, and says so where it can.
	run --separate-stderr sh -c 'aim-audit verify -d aud >&-'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: standard output is closed"
}

@test "closed stdout: aim status, aim-scan and aim-secret are exit 4" {
	registry
	run --separate-stderr sh -c 'aim status -r reg >&-'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim: standard output is closed"
	mkdir tree
	run --separate-stderr sh -c 'aim-scan dups -m 1 tree >&-'
	# Nothing found prints nothing: nothing was lost.
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	printf 'x%.0s' $(seq 200) >tree/a
	cp tree/a tree/b
	run --separate-stderr sh -c 'aim-scan dups -m 1 tree >&-'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-scan: standard output is closed"
	run --separate-stderr sh -c 'aim-secret path >&-'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-secret: standard output is closed"
}

@test "closed stdin and stderr: the filters still work and keep their files" {
	routed_ok 3 >in.jsonl
	run --separate-stderr sh -c 'aim-invoke in.jsonl <&- 2>&- | aim-audit -d aud 2>&-'
	assert_equal "$status" 0
	assert_equal "${#lines[@]}" 3
	run find aud -name '*.json'
	assert_equal "${#lines[@]}" 3
	run -0 aim-audit verify -d aud
}

@test "a reader that goes away: every filter ends quietly with 141" {
	registry
	requests 3000 >req.jsonl
	routed_ok 400 >in.jsonl
	run --separate-stderr bash -c 'aim-resolve -r reg req.jsonl | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 141
	assert_equal "$stderr" ""
	run --separate-stderr bash -c 'aim-invoke -j 4 in.jsonl | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 141
	assert_equal "$stderr" ""
	run --separate-stderr bash -c 'aim-audit -d aud in.jsonl | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 141
	assert_equal "$stderr" ""
}

@test "a reader that goes away: aim-scan and aim-audit query end quietly with 141" {
	# More output than a pipe holds (64 KiB), so aim-scan must still be
	# writing when head is gone: 300 pairs with 150-byte names, ~140 KB.
	mkdir tree
	long=$(printf 'n%.0s' $(seq 150))
	for i in $(seq 300); do
		printf 'same %0200d\n' "$i" >"tree/a$i$long"
		cp "tree/a$i$long" "tree/b$i$long"
	done
	run --separate-stderr bash -c 'aim-scan dups -m 1 tree | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 141
	assert_equal "$stderr" ""
	routed_ok 400 | aim-audit -d aud >/dev/null
	run --separate-stderr bash -c 'aim-audit query -d aud | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_output 141
	assert_equal "$stderr" ""
}

@test "a full device is still 'writing output failed', exit 4" {
	routed_ok 2 >in.jsonl
	run --separate-stderr sh -c 'aim-audit -d aud in.jsonl >/dev/full'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: writing output failed"
}
