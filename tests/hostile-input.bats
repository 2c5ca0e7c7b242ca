#!/usr/bin/env bats
# One input that crashed or hung a program once (found by hand and by the
# harnesses of tests/fuzz/): each now gives a record or a message, the
# stream goes on, and the program ends.  Under build-san these also catch
# the memory errors themselves.

load helper

P=$REGS/policy

setup() {
	common_setup
	export XDG_STATE_HOME=$BATS_TEST_TMPDIR/state
}

# file_req FILE: a request for the policy registry's "files" capability.
file_req() {
	jq -nc --arg f "$1" '{id:"r", capability:"files", payload:{prompt:"p", files:[$f]}}'
}

@test "payload.files: 2,000 components under a missing directory are checked, the stream goes on" {
	deep=missing$(printf '/a%.0s' $(seq 2000))
	{ file_req "$deep/x.c"; file_req "$deep/secret/x.c"; file_req ok.c; } >in.jsonl
	[ "$(head -n 1 in.jsonl | wc -c)" -gt 4000 ]
	run --separate-stderr aim-resolve -r "$P" in.jsonl
	assert_failure 1
	assert_equal "$(wc -l <<<"$output")" 3
	assert_equal "$(jq -c '[.error.code, (.route != null)]' <<<"$output" | tr -d '\n')" \
	    '[null,true]["forbidden_path",false][null,true]'
	# (The message is cut at 1 KiB, as every error record's is.)
	[[ $stderr == "aim-resolve: in.jsonl:2: payload.files: ${deep:0:900}"* ]] ||
	    fail "stderr: ${stderr:0:200}"
}

@test "payload.files: ~/x.c with HOME unset or relative is refused, not followed" {
	file_req '~/x.c' >in.jsonl
	for home in unset rel; do
		if [ "$home" = unset ]; then
			run --separate-stderr env -u HOME aim-resolve -r "$P" in.jsonl
		else
			run --separate-stderr env HOME=rel aim-resolve -r "$P" in.jsonl
		fi
		assert_failure 1
		assert_equal "$(jq -c '.error | [.code, .message]' <<<"$output")" \
		    '["invalid_request","payload.files: ~/x.c names a file under ~, but HOME is not an absolute path"]'
		assert_equal "$stderr" "aim-resolve: in.jsonl:1: payload.files: ~/x.c names a file under ~, but HOME is not an absolute path"
	done
	# Without a ~ nothing needs HOME.
	run --separate-stderr env -u HOME aim-resolve -r "$P" <<<"$(file_req x.c)"
	assert_success
}

@test "a NUL byte after a number in the config, the registry or the rules: messages, no hang" {
	printf '{"x":[1\0],"y":0}' >cfg.json
	run --separate-stderr timeout 60 aim-resolve -c cfg.json -r "$P" --check
	assert_failure 1
	assert_equal "$stderr" "$(printf 'aim-resolve: cfg.json:1:2: unknown key "x"\naim-resolve: cfg.json:1:11: unknown key "y"')"
	cp -R "$P" reg
	printf '{"tools":{"a":[1\0]},"y":0}' >reg/AIM_registry.json
	run --separate-stderr timeout 60 aim-resolve -r reg --check
	assert_failure 1
	assert_equal "$stderr" "$(printf '%s\n' \
	    "aim-resolve: $PWD/reg/AIM_registry.json:1:15: tool 'a' must be an object" \
	    "aim-resolve: $PWD/reg/AIM_registry.json:1:21: unknown member 'y'")"
	cp "$P/AIM_registry.json" reg/
	printf '{"capabilities":[1\0],"y":0}' >reg/AIM_cross-tool/AIM_coordination-rules.json
	run --separate-stderr timeout 60 aim-resolve -r reg <<<'{"capability":"x","payload":{}}'
	assert_equal "$status" 3
	assert_equal "$(jq -r .error.code <<<"$output")" registry_unavailable
	assert_equal "$stderr" "$(printf '%s\n' \
	    "aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:1:17: capabilities must be an object" \
	    "aim-resolve: $PWD/reg/AIM_cross-tool/AIM_coordination-rules.json:1:22: unknown member 'y'")"
}

@test "aim-audit verify: a prune entry with through_seq 2^63-1 is a bad entry, no overflow" {
	D=$PWD/audit
	for i in 1 2 3; do echo "{\"id\":\"r$i\",\"capability\":\"c\",\"payload\":{}}"; done |
	    aim-audit -d "$D" >/dev/null
	f=$(grep -l '"seq": 3,' "$D"/*/*.json)
	zero=$(printf '0%.0s' $(seq 64))
	sed -i 's/"seq": 3,/"seq": 3, "kind": "prune", "pruned": {"through_seq": 9223372036854775807, "through_hash": "'"$zero"'"},/' "$f"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "$(printf '%s\n' \
	    "aim-audit: $f: prune entry's through_seq is not below its own seq" \
	    "aim-audit: $f: seq 3: hash does not match the head: entry edited or replaced")"
	assert_equal "$(jq -c '[.entries, .first_seq, .last_seq, .problems]' <<<"$output")" '[3,1,3,2]'
}

@test "aim-audit verify: a head of 1024 bytes with no NUL and no white space at its end is damaged, not overread" {
	D=$PWD/audit
	echo '{"id":"r","capability":"c","payload":{}}' | aim-audit -d "$D" >/dev/null
	body=$(printf 'aim-audit-head 1\nseq 1\nhash h\npath p\npending 2 h2 ')
	ck=$(printf '%s' "$body" | b2sum -l 128 | cut -d' ' -f1)
	{ printf '%s' "$body"; printf 'check %s' "$ck"; } >head
	pad=$((1024 - $(wc -c <head)))
	head -c "$pad" /dev/zero | tr '\0' X >>head
	assert_equal "$(wc -c <head)" 1024
	cp head "$D/.aim-chain-head"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$(jq -c '[.ok, .entries]' <<<"$output")" '[false,1]'
}

@test "aim-invoke: a 300-byte capability whose one candidate fails gives the whole message, nothing more" {
	c=$(printf 'c%.0s' $(seq 300))
	jq -nc --arg c "$c" '{id:"r", capability:$c, payload:{}, route:{capability:$c,
	    strategy:"ordered", registry:"/nonexistent", candidates:[{tool_id:"a",
	    status:"not_installed", reason:"not_installed"}]}}' >in.jsonl
	run --separate-stderr aim-invoke in.jsonl
	assert_failure 1
	assert_equal "$(jq -r .result.message <<<"$output")" "All tools failed for capability '$c': a: not installed"
}
