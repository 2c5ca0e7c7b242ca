#!/usr/bin/env bats
# aim-audit's tamper-evident trail: the hash chain, its head, recovery,
# keygen, checkpoints, verify, prune, query, stats, events, faults.

load helper

KAT=$FIX/audit-chain
DAY=2026-11-18
BASE=2026-11-18T11-06-40-123456_t_c
ZERO=0000000000000000000000000000000000000000000000000000000000000000

setup_file() {
	# The LD_PRELOAD shims (stopped clock, failing calls) and the kill loop.
	frozen_clock_build
	FAULT= KILL_LOOP=
	if command -v cc >/dev/null; then
		cc -shared -fPIC -o "$BATS_FILE_TMPDIR/fault-fs.so" "$FIX/fault-fs.c" -ldl &&
		    FAULT=$BATS_FILE_TMPDIR/fault-fs.so
		cc -o "$BATS_FILE_TMPDIR/kill-loop" "$FIX/kill-loop.c" &&
		    KILL_LOOP=$BATS_FILE_TMPDIR/kill-loop
	fi
	export FAULT KILL_LOOP
}

setup() {
	common_setup
	D=$PWD/audit
}

# frozen CMD...: CLOCK_REALTIME stopped at 2026-11-18T11:06:40.123456Z.
frozen() {
	frozen_at 1795000000 "$@"
}

# faulty VAR=N... CMD...: run CMD with the fault shim and those failures.
faulty() {
	[ -n "$FAULT" ] || skip "no C compiler for tests/fixtures/fault-fs.c"
	env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	    LD_PRELOAD="$FAULT" "$@"
}

# records PREFIX N: N records of tool t, capability c, ids PREFIX1..PREFIXN.
records() {
	jq -nc --arg p "$1" --argjson n "$2" 'range(1; $n + 1) |
	    {id:($p + tostring), capability:"c", payload:{}, tool_id:"t",
	     attempts:[{tool_id:"t", outcome:"success", exit_code:0, duration_ms:.}],
	     result:{success:true, message:"ok", content:null}}'
}

# chain N: N entries in $D with the clock stopped; entry K is name K.
chain() {
	records r "$1" >in.jsonl
	frozen aim-audit -d "$D" in.jsonl >/dev/null
}

# name K: the path of the Kth entry chain() wrote.
name() {
	if [ "$1" -eq 1 ]; then
		echo "$D/$DAY/$BASE.json"
	else
		echo "$D/$DAY/$BASE-$1.json"
	fi
}

b2() {
	b2sum -l 256 "$1" | cut -d' ' -f1
}

@test "entries carry seq 1, 2, 3 and prev: BLAKE2b-256 of the previous entry's bytes (b2sum agrees)" {
	chain 3
	assert_equal "$(jq -c '[.seq, .prev]' "$(name 1)")" "[1,\"$ZERO\"]"
	assert_equal "$(jq -c '[.seq, .prev]' "$(name 2)")" "[2,\"$(b2 "$(name 1)")\"]"
	assert_equal "$(jq -c '[.seq, .prev]' "$(name 3)")" "[3,\"$(b2 "$(name 2)")\"]"
	# The head: seq, hash and path of the newest, nothing pending, 0600.
	run sed -n 1,5p "$D/.aim-chain-head"
	assert_output "$(printf '%s\n' 'aim-audit-head 1' 'seq 3' "hash $(b2 "$(name 3)")" "path $DAY/$BASE-3.json" 'pending -')"
	assert_equal "$(stat -c '%a %s' "$D/.aim-chain-head")" "600 1024"
	# A later run goes on from the head.
	echo '{"id":"x"}' | aim-audit -d "$D" >out.jsonl
	path=$(jq -r .audit.path out.jsonl)
	assert_equal "$(jq -c '[.seq, .prev]' "$path")" "[4,\"$(b2 "$(name 3)")\"]"
}

@test "two writers x 1000 entries: seq 1..2000, one chain, verify holds" {
	n=$(stress 1000)
	records a "$n" >a.jsonl
	records b "$n" >b.jsonl
	aim-audit -d "$D" a.jsonl >a.out &
	aim-audit -d "$D" b.jsonl >b.out &
	wait %1 && wait %2
	assert_equal "$(find "$D" -name '*.json' | wc -l)" $((2 * n))
	run sh -c "cat '$D'/*/*.json | jq -s -c '[.[].seq] | sort == [range(1; $((2 * n + 1)))]'"
	assert_output true
	run --separate-stderr aim-audit verify -d "$D"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.ok, .entries, .first_seq, .last_seq, .head_seq, .problems]' <<<"$output")" "[true,$((2 * n)),1,$((2 * n)),$((2 * n)),0]"
}

@test "verify on an intact chain: one summary line, exit 0" {
	chain 3
	run --separate-stderr aim-audit verify -d "$D"
	assert_success
	assert_equal "$stderr" ""
	assert_output "{\"ok\":true,\"dir\":\"$D\",\"entries\":3,\"first_seq\":1,\"last_seq\":3,\"head_seq\":3,\"head\":\"$(b2 "$(name 3)")\",\"checkpoints\":0,\"problems\":0}"
	# An empty or missing directory holds.
	run aim-audit verify -d "$PWD/none"
	assert_success
}

@test "verify: one flipped byte is named by file and seq" {
	chain 4
	sed -i 's/"ok"/"oK"/' "$(name 2)"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $(name 2): seq 2: hash does not match prev of seq 3: entry edited or replaced"
	assert_equal "$(jq -c '[.ok, .problems]' <<<"$output")" '[false,1]'
}

@test "verify: re-formatting an entry counts as tampering" {
	chain 2
	jq -c . "$(name 1)" >x && cat x >"$(name 1)"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $(name 1): seq 1: hash does not match prev of seq 2: entry edited or replaced"
}

@test "verify: an edited newest entry disagrees with the head" {
	chain 2
	sed -i 's/"ok"/"oK"/' "$(name 2)"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $(name 2): seq 2: hash does not match the head: entry edited or replaced"
}

@test "verify: a deleted middle entry" {
	chain 5
	rm "$(name 3)"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $(name 4): seq 4: seq 3 missing before it: deleted"
}

@test "verify: two entries swapped" {
	records r 4 | aim-audit -d "$D" >out.jsonl
	mapfile -t p < <(jq -r .audit.path out.jsonl)
	mv "${p[1]}" x && mv "${p[2]}" "${p[1]}" && mv x "${p[2]}"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "${stderr_lines[0]}" "aim-audit: ${p[2]}: seq 2: file name does not match the entry's timestamp, tool and capability: moved, renamed or swapped"
	assert_equal "${stderr_lines[1]}" "aim-audit: ${p[1]}: seq 3: file name does not match the entry's timestamp, tool and capability: moved, renamed or swapped"
	assert_equal "${#stderr_lines[@]}" 2
}

@test "verify: an entry copied in twice, and a file that is not an entry" {
	chain 3
	cp "$(name 2)" "$D/$DAY/${BASE}-9.json"
	echo 'not json' >"$D/$DAY/${BASE}-10.json"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "${stderr_lines[0]}" "aim-audit: $D/$DAY/$BASE-10.json: not a JSON object"
	assert_equal "${stderr_lines[1]}" "aim-audit: $D/$DAY/$BASE-9.json: seq 2: duplicate of $DAY/$BASE-2.json: inserted or copied"
	assert_equal "${#stderr_lines[@]}" 2
}

@test "verify: an entry written before the chain (no seq) is not covered and says so" {
	chain 1
	mkdir -p "$D/2026-01-01"
	jq 'del(.seq, .prev)' "$(name 1)" >"$D/2026-01-01/old.json"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $D/2026-01-01/old.json: no seq: not in the chain"
}

@test "verify: the newest day deleted; with the head rolled back too, only a checkpoint can tell" {
	chain 3
	cp "$D/.aim-chain-head" head-at-3
	echo '{"id":"today"}' | aim-audit -d "$D" >/dev/null
	rm -r "${D:?}/$(date -u +%Y-%m-%d)"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $D/.aim-chain-head: says seq 4, but the chain ends at seq 3 ($DAY/$BASE-3.json): the newest entries were deleted"
	# The documented limit: the chain alone cannot see this.
	cp head-at-3 "$D/.aim-chain-head"
	run aim-audit verify -d "$D"
	assert_success
}

@test "verify: a head rolled back behind the chain" {
	chain 2
	cp "$D/.aim-chain-head" head-at-2
	records s 2 | frozen aim-audit -d "$D" >/dev/null
	cp head-at-2 "$D/.aim-chain-head"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $(name 3): seq 3: seq 3..4 beyond the head (seq 2): inserted, or left by an interrupted write"
}

@test "verify: a damaged or missing head" {
	chain 2
	sed -i 's/^seq 2/seq 9/' "$D/.aim-chain-head"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $D/.aim-chain-head: damaged: check does not match"
	rm "$D/.aim-chain-head"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $D/.aim-chain-head: missing, but the directory holds entries up to seq 2"
	# The next writer rebuilds it from the entries, and says so.
	run --separate-stderr aim-audit -d "$D" < <(echo '{}')
	assert_success
	assert_equal "$stderr" "aim-audit: $D/.aim-chain-head: missing; rebuilt from the entries at seq 2"
	run aim-audit verify -d "$D"
	assert_success
	assert_equal "$(jq .last_seq <<<"$output")" 3
}

@test "a write killed after its entry got its name is adopted by the next writer" {
	chain 2
	cp "$D/.aim-chain-head" head-at-2
	chain 1	# seq 3, named like entry 1 of a fresh run: $BASE-3.json
	h3=$(b2 "$(name 3)")
	# As a writer killed between link(2) and the head update leaves it.
	{
		printf 'aim-audit-head 1\nseq 2\nhash %s\npath %s\npending 3 %s %s %s\n' \
		    "$(b2 "$(name 2)")" "$DAY/$BASE-2.json" "$h3" "$DAY/$BASE" "$DAY/.tmp-1-0"
	} >body
	ck=$(b2sum -l 128 body | cut -d' ' -f1)
	{ cat body; printf 'check %s\n' "$ck"; } >head
	pad=$((1023 - $(wc -c <head)))
	{ cat head; printf "%${pad}s\n" ""; } >"$D/.aim-chain-head"
	touch "$D/$DAY/.tmp-1-0"
	# verify takes the pending write as done.
	run --separate-stderr aim-audit verify -d "$D"
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr aim-audit -d "$D" < <(echo '{}')
	assert_success
	assert_equal "$stderr" "aim-audit: $DAY/$BASE-3.json: seq 3: entry of an interrupted write adopted"
	assert_equal "$(jq .audit.path <<<"$output" | xargs jq .seq)" 4
	assert_file_not_exists "$D/$DAY/.tmp-1-0"
	run aim-audit verify -d "$D"
	assert_success
}

# pending PREFIX TMP: the head of chain 2 with a pending write of seq 3
# naming PREFIX and TMP, its check right, as if a writer had been killed.
pending() {
	printf 'aim-audit-head 1\nseq 2\nhash %s\npath %s\npending 3 %s %s %s\n' \
	    "$(b2 "$(name 2)")" "$DAY/$BASE-2.json" "$ZERO" "$1" "$2" >body
	ck=$(b2sum -l 128 body | cut -d' ' -f1)
	{ cat body; printf 'check %s\n' "$ck"; } >head
	pad=$((1023 - $(wc -c <head)))
	{ cat head; printf "%${pad}s\n" ""; } >"$D/.aim-chain-head"
}

@test "a crafted pending line naming files outside the day directories removes nothing" {
	echo keep >victim
	mkdir abs
	echo keep >abs/x
	for tmp in ../victim "$DAY/../../victim" "$PWD/abs/x" "$DAY/.tmp-1-0/../../../victim"; do
		rm -rf "$D"
		chain 2
		pending "$DAY/$BASE" "$tmp"
		run --separate-stderr aim-audit -d "$D" < <(echo '{}')
		assert_success
		assert_equal "$stderr" "aim-audit: $D/.aim-chain-head: pending write names $DAY/$BASE and $tmp, not files of a day directory: nothing removed"
		assert_file_exists victim
		assert_file_exists abs/x
	done
	# A prefix out of the day directory is not trusted either.
	rm -rf "$D"
	chain 2
	pending "../$BASE" "$DAY/.tmp-1-0"
	touch "$D/$DAY/.tmp-1-0"
	run --separate-stderr aim-audit -d "$D" < <(echo '{}')
	assert_success
	assert_equal "$stderr" "aim-audit: $D/.aim-chain-head: pending write names ../$BASE and $DAY/.tmp-1-0, not files of a day directory: nothing removed"
	assert_file_exists "$D/$DAY/.tmp-1-0"
	# The writer went on at seq 3, and the chain holds.
	run aim-audit verify -d "$D"
	assert_success
	assert_equal "$(jq -c '[.last_seq, .problems]' <<<"$output")" '[3,0]'
}

@test "a pending write in a day directory that is a symbolic link is left alone" {
	chain 2
	mkdir elsewhere
	echo keep >elsewhere/.tmp-1-0
	ln -s "$PWD/elsewhere" "$D/2026-11-17"
	pending "2026-11-17/2026-11-17T11-06-40-123456_t_c" "2026-11-17/.tmp-1-0"
	run --separate-stderr aim-audit -d "$D" < <(echo '{}')
	assert_success
	assert_equal "$stderr" "aim-audit: $D/2026-11-17: a symbolic link: pending write left alone"
	assert_file_exists elsewhere/.tmp-1-0
	assert_equal "$(jq .audit.path <<<"$output" | xargs jq .seq)" 3
	# The pending line is gone: the next writer says nothing.
	run --separate-stderr aim-audit -d "$D" < <(echo '{}')
	assert_success
	assert_equal "$stderr" ""
}

@test "a pending temporary file in its day directory is still removed" {
	chain 2
	pending "$DAY/$BASE" "$DAY/.tmp-1-0"
	touch "$D/$DAY/.tmp-1-0"
	run --separate-stderr aim-audit -d "$D" < <(echo '{}')
	assert_success
	assert_equal "$stderr" ""
	assert_file_not_exists "$D/$DAY/.tmp-1-0"
	assert_equal "$(jq .audit.path <<<"$output" | xargs jq .seq)" 3
}

@test "kill -9 in the middle of writes, 200 times: every entry parses, verify holds" {
	[ -n "$KILL_LOOP" ] || skip "no C compiler for tests/fixtures/kill-loop.c"
	k=$(stress 200)
	records k 300 >in.jsonl
	run "$KILL_LOOP" "$k" in.jsonl "$D"
	assert_success
	assert_output --regexp "^killed [0-9]+ of $k\$"
	n=$(find "$D" -name '*.json' | wc -l)
	[ "$n" -ge "$k" ] || fail "only $n entries"
	# Every visible entry is whole.
	find "$D" -name '*.json' -print0 | xargs -0 jq -e .seq >/dev/null
	run --separate-stderr aim-audit verify -d "$D"
	assert_success
	assert_equal "$stderr" ""
	# The next writer cleans up and goes on.
	echo '{}' | aim-audit -d "$D" >/dev/null 2>&1
	assert_equal "$(find "$D" -name '.tmp-*' | wc -l)" 0
	run aim-audit verify -d "$D"
	assert_success
}

# fault VAR=N MESSAGE-REGEX: with the chain at seq 1, write r1 r2 r3 one
# entry at a time (audit_group_max 1) where the call of VAR fails during
# r2; r1 and r3 are written, r2 is not.
fault() {
	records r 1 | aim-audit -d "$D" >/dev/null
	records r 3 >in3.jsonl
	echo '{"audit_group_max": 1}' >one.json
	run --separate-stderr faulty "$1" aim-audit -c one.json -d "$D" in3.jsonl
	assert_equal "$status" 4
	assert_equal "${#stderr_lines[@]}" 1
	[[ ${stderr_lines[0]} =~ ^aim-audit:\ in3.jsonl:2:\ $2$ ]] || fail "stderr: $stderr"
	run jq -r '.id + " " + (.audit.path // "-")' <<<"$output"
	assert_line --index 1 "r2 -"
	assert_equal "$(cat "$D"/*/*.json | jq -r .id | sort | tr '\n' ' ')" "r1 r1 r3 "
	assert_equal "$(find "$D" -name '.tmp-*' | wc -l)" 0
	run aim-audit verify -d "$D"
	assert_success
	assert_equal "$(jq .last_seq <<<"$output")" 3
}

@test "an injected write failure (ENOSPC): exit 4, no entry under its name, chain intact" {
	fault AIM_FAULT_WRITE=2 "can't write $D/[0-9-]{10}/\.tmp-[0-9]+-1: No space left on device"
}

@test "an injected fsync failure of the entry: exit 4, no entry, chain intact" {
	fault AIM_FAULT_FSYNC=3 "can't write $D/[0-9-]{10}/\.tmp-[0-9]+-1: Input/output error"
}

@test "an injected fsync failure of the day directory: the entry is taken back" {
	fault AIM_FAULT_FSYNC=4 "can't sync $D/[0-9-]{10}: Input/output error"
}

@test "an injected failure to sync the head: exit 4, no entry, chain intact" {
	fault AIM_FAULT_FDATASYNC=2 "can't write $D/\.aim-chain-head: Input/output error"
}

@test "an injected rename failure: exit 4, no entry, chain intact" {
	fault AIM_FAULT_RENAMEAT2=2 "can't rename to $D/[0-9-]{10}/[^ ]+_t_c\.json: No space left on device"
}

# group_fault VAR=N MESSAGE-REGEX: with the chain at seq 1, r1 r2 r3 in one
# group commit where the call of VAR fails: the group is taken back and
# said once, then its entries are written one by one; exit 0, nothing of
# the group left behind.
group_fault() {
	records r 1 | aim-audit -d "$D" >/dev/null
	records r 3 >in3.jsonl
	run --separate-stderr faulty "$1" aim-audit -d "$D" in3.jsonl
	assert_equal "$status" 0
	assert_equal "${#stderr_lines[@]}" 1
	[[ ${stderr_lines[0]} =~ ^aim-audit:\ $2\;\ writing\ the\ group\'s\ 3\ entries\ one\ by\ one$ ]] ||
	    fail "stderr: $stderr"
	assert_equal "$(jq -r '.audit.path | test("/[0-9-]{10}/[^/]+_t_c(-[0-9]+)?\\.json$")' <<<"$output" | sort -u)" true
	assert_equal "$(cat "$D"/*/*.json | jq -r .id | sort | tr '\n' ' ')" "r1 r1 r2 r3 "
	assert_equal "$(find "$D" -name '.tmp-*' -o -name '.group-*' | wc -l)" 0
	run aim-audit verify -d "$D"
	assert_success
	assert_equal "$(jq .last_seq <<<"$output")" 4
}

@test "group commit: an injected write failure of its second file takes the group back" {
	group_fault AIM_FAULT_WRITE=2 "can't write $D/[0-9-]{10}/\.tmp-[0-9]+-[0-9]+: No space left on device"
}

@test "group commit: an injected failure of its first syncfs takes the group back" {
	group_fault AIM_FAULT_SYNCFS=1 "can't sync $D: Input/output error"
}

@test "group commit: an injected failure to link its second entry takes the first back too" {
	group_fault AIM_FAULT_LINKAT=2 "can't link to $D/[0-9-]{10}/[^ ]+_t_c\.json: No space left on device"
}

@test "group commit: an injected failure of the syncfs after the links takes every name back" {
	group_fault AIM_FAULT_SYNCFS=2 "can't sync $D/[0-9-]{10}: Input/output error"
}

@test "group commit without O_TMPFILE: an injected failure to rename its second entry takes the first back too" {
	AIM_FAULT_TMPFILE=1 group_fault AIM_FAULT_RENAMEAT2=2 "can't rename to $D/[0-9-]{10}/[^ ]+_t_c\.json: No space left on device"
}

@test "group commit without O_TMPFILE: an injected failure to sync the day directory takes every name back" {
	AIM_FAULT_TMPFILE=1 group_fault AIM_FAULT_FSYNC=1 "can't sync $D/[0-9-]{10}: Input/output error"
}

@test "where the filesystem cannot rename without replacing, link and unlink name the entries" {
	records r 3 >in3.jsonl
	echo '{"audit_group_max": 1}' >one.json
	run --separate-stderr faulty AIM_FAULT_NOREPLACE=1 AIM_FAULT_TMPFILE=1 aim-audit -d "$D" in3.jsonl
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr faulty AIM_FAULT_NOREPLACE=1 aim-audit -c one.json -d "$D" in3.jsonl
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(find "$D" -name '*.json' | wc -l)" 6
	assert_equal "$(find "$D" -name '.tmp-*' -o -name '.group-*' | wc -l)" 0
	run -0 aim-audit verify -d "$D"
	assert_equal "$(jq .last_seq <<<"$output")" 6
}

@test "group commit: two syncs for a group of 256 entries, where one by one takes three each" {
	command -v strace >/dev/null || skip "no strace"
	# LeakSanitizer cannot run under ptrace(2).
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	records g 256 >g.jsonl
	strace -f -c -o sc.txt -e trace=fsync,fdatasync,syncfs aim-audit -d "$D" g.jsonl >/dev/null
	# The first entry also makes the directory, its .gitignore and the head.
	records h 256 >h.jsonl
	strace -f -c -o sc2.txt -e trace=fsync,fdatasync,syncfs aim-audit -d "$D" h.jsonl >/dev/null
	# Its files made before the lock (O_TMPFILE): a syncfs for the links.
	assert_equal "$(awk '$NF == "syncfs" { print $4 }' sc2.txt)" 2
	assert_equal "$(awk '$NF == "fsync" { print $4 }' sc2.txt)" ""
	assert_equal "$(awk '$NF == "fdatasync" { print $4 }' sc2.txt)" ""
	n=522
	if [ -n "$FAULT" ]; then	# without O_TMPFILE: the directory's fsync
		strace -f -c -o sc4.txt -e trace=fsync,fdatasync,syncfs env \
		    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
		    LD_PRELOAD="$FAULT" AIM_FAULT_TMPFILE=1 aim-audit -d "$D" h.jsonl >/dev/null
		assert_equal "$(awk '$NF == "syncfs" { print $4 }' sc4.txt)" 1
		assert_equal "$(awk '$NF == "fsync" { print $4 }' sc4.txt)" 1
		n=778
	fi
	echo '{"audit_group_max": 1}' >one.json
	records i 10 >i.jsonl
	strace -f -c -o sc3.txt -e trace=fsync,fdatasync,syncfs aim-audit -c one.json -d "$D" i.jsonl >/dev/null
	assert_equal "$(awk '$NF == "fsync" { print $4 }' sc3.txt)" 20
	assert_equal "$(awk '$NF == "fdatasync" { print $4 }' sc3.txt)" 10
	run -0 aim-audit verify -d "$D"
	assert_equal "$(jq .last_seq <<<"$output")" "$n"
}

@test "group commit: a record alone on a pipe is committed and passed on at once, not kept for more" {
	mkfifo in.fifo
	aim-audit -d "$D" <in.fifo >out.jsonl &
	pid=$!
	exec 7>in.fifo
	records a 1 >&7
	for _ in $(seq 100); do
		[ -s out.jsonl ] && break
		sleep 0.05
	done
	assert_equal "$(jq -r .id out.jsonl)" a1
	assert_file_exists "$(jq -r .audit.path out.jsonl)"
	records b 1 >&7
	exec 7>&-
	wait "$pid"
	assert_equal "$(jq -r .id out.jsonl | tr '\n' ' ')" "a1 b1 "
}

@test "kill -9 in the middle of groups of 100, 100 times: every entry parses, verify holds, the next writer adopts or forgets" {
	[ -n "$KILL_LOOP" ] || skip "no C compiler for tests/fixtures/kill-loop.c"
	k=$(stress 100)
	records k 400 >in.jsonl
	echo '{"audit_group_max": 100}' >cfg.json
	export AIM_CONFIG=$PWD/cfg.json
	run "$KILL_LOOP" "$k" in.jsonl "$D"
	assert_success
	find "$D" -name '*.json' -print0 | xargs -0 jq -e .seq >/dev/null
	run --separate-stderr aim-audit verify -d "$D"
	assert_success
	assert_equal "$stderr" ""
	echo '{}' | aim-audit -d "$D" >/dev/null 2>&1
	assert_equal "$(find "$D" -name '.tmp-*' -o -name '.group-*' | wc -l)" 0
	run aim-audit verify -d "$D"
	assert_success
}

@test "keygen: a 0600 secret key and a public key, never over an existing one" {
	run --separate-stderr aim-audit keygen
	assert_success
	key=$HOME/.local/share/aim/audit.key
	assert_equal "$(jq -r '.secret_key, .public_key' <<<"$output")" "$(printf '%s\n' "$key" "$key.pub")"
	assert_equal "$(stat -c %a "$key")" 600
	assert_equal "$(head -1 "$key")" "aim-audit secret key 1"
	assert_equal "$(sed -n 2p "$key" | tr -d '\n' | wc -c)" 128
	assert_equal "$(cat "$key.pub")" "$(printf 'aim-audit public key 1\n%s' "$(jq -r .public <<<"$output")")"
	run --separate-stderr aim-audit keygen
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: can't create $key: File exists"
	XDG_DATA_HOME=$PWD/xdg run aim-audit keygen
	assert_success
	assert_file_exists xdg/aim/audit.key
	AIM_AUDIT_KEY=k2 run aim-audit keygen
	assert_success
	assert_file_exists k2.pub
	# A public key already there: refused, kept, and no secret key left.
	echo mine >k3.pub
	AIM_AUDIT_KEY=k3 run -4 --separate-stderr aim-audit keygen
	assert_equal "$stderr" "aim-audit: can't write $PWD/k3.pub: File exists"
	assert_equal "$(cat k3.pub)" mine
	assert_file_not_exists k3
	run aim-audit keygen extra
	assert_equal "$status" 2
}

@test "checkpoint: a signed text of directory, seq, head and time that verify accepts" {
	chain 3
	aim-audit keygen -s key >/dev/null
	run --separate-stderr frozen aim-audit checkpoint -d "$D" -s key
	assert_success
	assert_equal "${lines[0]}" "aim-audit checkpoint 1"
	assert_equal "${lines[1]}" "directory $D"
	assert_equal "${lines[2]}" "seq 3"
	assert_equal "${lines[3]}" "head $(b2 "$(name 3)")"
	assert_equal "${lines[4]}" "time 2026-11-18T11:06:40.123456Z"
	assert_equal "${lines[5]}" "key $(sed -n 2p key.pub)"
	[[ ${lines[6]} =~ ^signature\ [0-9a-f]{128}$ ]] || fail "${lines[6]}"
	assert_equal "${#lines[@]}" 7
	printf '%s\n' "$output" >cp3
	records n 2 | aim-audit -d "$D" >/dev/null
	run --separate-stderr aim-audit verify -d "$D" -k key.pub --checkpoint cp3
	assert_success
	assert_equal "$(jq .checkpoints <<<"$output")" 1
	# The default public key is the default secret key's .pub.
	AIM_AUDIT_KEY=$PWD/key run aim-audit verify -d "$D" cp3 --checkpoint cp3
	assert_success
	assert_equal "$(jq .checkpoints <<<"$output")" 2
}

@test "checkpoint: forged with the wrong key, or edited, is a bad signature" {
	chain 2
	aim-audit keygen -s key >/dev/null
	aim-audit keygen -s other >/dev/null
	aim-audit checkpoint -d "$D" -s other >forged
	run --separate-stderr aim-audit verify -d "$D" -k key.pub --checkpoint forged
	assert_failure 1
	assert_equal "$stderr" "aim-audit: forged: bad signature: not signed by the key given"
	aim-audit checkpoint -d "$D" -s key >cp
	sed 's/^seq 2/seq 1/' cp >edited
	run --separate-stderr aim-audit verify -d "$D" -k key.pub --checkpoint edited
	assert_failure 1
	assert_equal "$stderr" "aim-audit: edited: bad signature: not signed by the key given"
	echo junk >junk
	run --separate-stderr aim-audit verify -d "$D" -k key.pub --checkpoint junk
	assert_failure 1
	assert_equal "$stderr" "aim-audit: junk: not an aim-audit checkpoint"
	run --separate-stderr aim-audit verify -d "$D" -k key.pub --checkpoint nothere
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: nothere: can't read: No such file or directory"
	run --separate-stderr aim-audit verify -d "$D" -k nokey --checkpoint cp
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-audit: can't read nokey: No such file or directory"
	run --separate-stderr aim-audit verify -d "$D" -k key --checkpoint cp
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-audit: key: not an aim-audit public key"
}

@test "checkpoint: a log truncated or rolled back behind it is caught" {
	chain 2
	cp "$D/.aim-chain-head" head-at-2
	chain 1
	aim-audit keygen -s key >/dev/null
	aim-audit checkpoint -d "$D" -s key >cp
	# The newest entry and the head rolled back: the chain alone holds.
	rm "$(name 3)"
	cp head-at-2 "$D/.aim-chain-head"
	run aim-audit verify -d "$D"
	assert_success
	run --separate-stderr aim-audit verify -d "$D" -k key.pub --checkpoint cp
	assert_failure 1
	assert_equal "$stderr" "aim-audit: cp: seq 3: the log ends at seq 2: truncated or rolled back"
	# Rewritten instead: seq 3 is there, with another hash.
	records z 1 | aim-audit -d "$D" >/dev/null
	run --separate-stderr aim-audit verify -d "$D" -k key.pub --checkpoint cp
	assert_failure 1
	[[ $stderr =~ ^aim-audit:\ cp:\ seq\ 3:\ hash\ does\ not\ match\ $D/.*:\ the\ log\ was\ rewritten$ ]] || fail "$stderr"
}

@test "checkpoint without a key: exit 3; with a key open to others: exit 3" {
	chain 1
	run --separate-stderr aim-audit checkpoint -d "$D"
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-audit: no key $HOME/.local/share/aim/audit.key: make one with aim-audit keygen"
	aim-audit keygen -s key >/dev/null
	chmod 644 key
	run --separate-stderr aim-audit checkpoint -d "$D" -s key
	assert_equal "$status" 3
	[[ $stderr == "aim-audit: key file $PWD/key"* ]] || fail "$stderr"
}

@test "prune: removes old days behind a prune entry; verify still holds; a touched prune entry fails" {
	chain 3
	records t 2 | aim-audit -d "$D" >/dev/null
	run aim-audit prune -d "$D" --days 1 --dry-run
	assert_success
	assert_equal "$(jq -c '[.dry_run, .removed_days, .removed_entries, .through_seq, .through_hash == $h]' --arg h "$(b2 "$(name 3)")" <<<"$output")" "[true,[\"$DAY\"],3,3,true]"
	assert_dir_exists "$D/$DAY"
	run --separate-stderr aim-audit prune -d "$D" --days 1
	assert_success
	assert_equal "$stderr" ""
	assert_dir_not_exists "$D/$DAY"
	entry=$(jq -r .entry <<<"$output")
	[[ $entry == *_aim_prune.json ]] || fail "$entry"
	run jq -c '[.kind, .seq, .pruned.through_seq, .pruned.days, .pruned.entries, .pruned.retention_days]' "$entry"
	assert_output '["prune",6,3,["2026-11-18"],3,1]'
	run aim-audit verify -d "$D"
	assert_success
	assert_equal "$(jq -c '[.entries, .first_seq, .last_seq]' <<<"$output")" '[3,4,6]'
	# Nothing older: nothing to do, no entry.
	run aim-audit prune -d "$D" --days 1
	assert_success
	assert_equal "$(jq -c '[.removed_entries, has("entry")]' <<<"$output")" '[0,false]'
	# A later entry covers the prune entry; touching it breaks the chain.
	echo '{}' | aim-audit -d "$D" >/dev/null
	sed -i 's/"retention_days": 1/"retention_days": 9/' "$entry"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $entry: seq 6: hash does not match prev of seq 7: entry edited or replaced"
}

@test "prune never follows a day directory that is a symbolic link" {
	chain 3
	mkdir precious
	echo keep >precious/keep.txt
	ln -s "$PWD/precious" "$D/2020-01-01"
	run --separate-stderr aim-audit prune -d "$D" --days 1
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: can't read $D/2020-01-01: not a directory"
	assert_file_exists precious/keep.txt
	assert_dir_not_exists "$D/$DAY"
}

@test "prune: days from the config's audit_log_retention_days; bad --days is a usage error" {
	chain 1
	echo '{"audit_log_retention_days": 100000}' >cfg.json
	run aim-audit prune -c cfg.json -d "$D"
	assert_success
	assert_equal "$(jq -c '[.days, .removed_days]' <<<"$output")" '[100000,[]]'
	run aim-audit prune -d "$D"
	assert_equal "$(jq -c '.days' <<<"$output")" 30
	for bad in 0 -1 x 1x; do
		run --separate-stderr aim-audit prune -d "$D" --days "$bad"
		assert_equal "$status" 2
		assert_equal "$stderr" "aim-audit: --days $bad: want a number of days from 1"
	done
}

@test "query: filters, oldest first, NDJSON; --csv" {
	records r 2 | frozen aim-audit -d "$D" >/dev/null
	jq -nc '{id:"f1", capability:"k", tool_id:null, payload:{}, result:{success:false, message:"no", content:null}}' |
	    frozen aim-audit -d "$D" >/dev/null || true
	echo '{"id":"n1"}' | aim-audit -d "$D" >/dev/null
	run aim-audit query -d "$D"
	assert_success
	assert_equal "$(jq -r .id <<<"$output" | tr '\n' ' ')" "r1 r2 f1 n1 "
	assert_equal "$(aim-audit query -d "$D" --failed | jq -r .id)" f1
	assert_equal "$(aim-audit query -d "$D" --capability k | jq -r .id)" f1
	assert_equal "$(aim-audit query -d "$D" --tool t | jq -r .id | tr '\n' ' ')" "r1 r2 "
	assert_equal "$(aim-audit query -d "$D" --id r2 | jq -c '[.id, .seq]')" '["r2",2]'
	assert_equal "$(aim-audit query -d "$D" --until 2026-11-18 | jq -r .id | tr '\n' ' ')" "r1 r2 f1 "
	assert_equal "$(aim-audit query -d "$D" --since 2026-11-19 | jq -r .id)" n1
	assert_equal "$(aim-audit query -d "$D" --since 2026-11-18T11:06:40.123456Z --until 2026-11-18T11:06:40Z | jq -r .id | tr '\n' ' ')" "r1 r2 f1 "
	assert_equal "$(aim-audit query -d "$D" --kind invocation --id n1 | jq -r .id)" n1
	run aim-audit query -d "$D" --csv --until 2026-11-18
	assert_success
	assert_equal "${lines[0]}" $'seq,timestamp,kind,actor,tool_id,capability,id,outcome,duration_ms,path\r'
	assert_equal "${lines[1]}" "1,2026-11-18T11:06:40.123456Z,invocation,pipeline,t,c,r1,success,1,$D/$DAY/$BASE.json"$'\r'
	assert_equal "${lines[3]}" "3,2026-11-18T11:06:40.123456Z,invocation,pipeline,none,k,f1,failure,,$D/$DAY/2026-11-18T11-06-40-123456_none_k.json"$'\r'
	assert_equal "${#lines[@]}" 4
	run --separate-stderr aim-audit query -d "$D" --since lastweek
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-audit: --since lastweek: want a date YYYY-MM-DD, a time YYYY-MM-DDTHH:MM:SS[.ffffff]Z, today, yesterday, or an age Nd, Nh or Nm"
}

# at SECONDS CMD...: CMD with the clock stopped SECONDS before 2026-11-18T11:06:40.123456Z.
at() {
	local t=$((1795000000 - $1))
	shift
	frozen_at "$t" "$@"
}

@test "query: relative --since and --until (Nd, Nh, Nm, today, yesterday) and -n, the newest N oldest first" {
	# o1 3 days ago, o2 yesterday 10:06, o3 today 09:06, o4 ten minutes ago.
	records o1 1 | at $((3 * 86400)) aim-audit -d "$D" >/dev/null
	records o2 1 | at $((86400 + 3600)) aim-audit -d "$D" >/dev/null
	records o3 1 | at 7200 aim-audit -d "$D" >/dev/null
	records o4 1 | at 600 aim-audit -d "$D" >/dev/null
	q() {
		at 0 aim-audit query -d "$D" "$@" | jq -r .id | tr '\n' ' '
	}
	assert_equal "$(q --since 2d)" "o21 o31 o41 "
	assert_equal "$(q --since 12h)" "o31 o41 "
	assert_equal "$(q --since 30m)" "o41 "
	assert_equal "$(q --since today)" "o31 o41 "
	assert_equal "$(q --since yesterday --until yesterday)" "o21 "
	assert_equal "$(q --until yesterday)" "o11 o21 "
	assert_equal "$(q --until 1h)" "o11 o21 o31 "
	assert_equal "$(q -n 2)" "o31 o41 "
	assert_equal "$(q -n 1 --until yesterday)" "o21 "
	assert_equal "$(q -n 10)" "o11 o21 o31 o41 "
	run at 0 aim-audit query -d "$D" -n 2 --csv
	assert_equal "${#lines[@]}" 3
	assert_equal "$(cut -d, -f7 <<<"$output" | tr -d '\r' | tr '\n' ' ')" "id o31 o41 "
	for n in 0 -1 x 2x; do
		run --separate-stderr aim-audit query -d "$D" -n "$n"
		assert_equal "$status" 2
		assert_equal "$stderr" "aim-audit: -n $n: want a number of entries from 1"
	done
	for a in 2w d -3d 1.5h; do
		run --separate-stderr aim-audit query -d "$D" --until "$a"
		assert_equal "$status" 2
		assert_equal "$stderr" "aim-audit: --until $a: want a date YYYY-MM-DD, a time YYYY-MM-DDTHH:MM:SS[.ffffff]Z, today, yesterday, or an age Nd, Nh or Nm"
	done
}

@test "query --kind takes the known kinds only: exit 2 with the list" {
	records r 1 | aim-audit -d "$D" >/dev/null
	run --separate-stderr aim-audit query -d "$D" --kind secret_sett
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-audit: --kind secret_sett: want one of invocation, prune, secret_set, secret_get, secret_delete, health_check, scan_execute, config_update, error, tool_install, tool_upgrade, tool_rollback, tool_uninstall"
	assert_equal "$output" ""
	for k in invocation prune secret_set error; do
		run aim-audit query -d "$D" --kind "$k"
		assert_success
	done
	assert_equal "$(aim-audit query -d "$D" --kind invocation | jq -r .id)" r1
}

@test "query --csv quotes fields with commas and quotes" {
	jq -nc '{id:"a,\"b\"", capability:"c", payload:{}}' | frozen aim-audit -d "$D" >/dev/null
	run aim-audit query -d "$D" --csv
	assert_equal "${lines[1]}" "1,2026-11-18T11:06:40.123456Z,invocation,pipeline,none,c,\"a,\"\"b\"\"\",none,,$D/$DAY/2026-11-18T11-06-40-123456_none_c.json"$'\r'
}

@test "stats: counts by kind, tool, capability and outcome; success rate and duration percentiles; size; oldest and newest" {
	records r 10 | frozen aim-audit -d "$D" >/dev/null
	jq -nc '{id:"f", capability:"k", tool_id:"t", payload:{}, attempts:[{tool_id:"t", outcome:"exit", exit_code:1, duration_ms:100}], result:{success:false, message:"no", content:null}}' |
	    frozen aim-audit -d "$D" >/dev/null || true
	run aim-audit stats -d "$D"
	assert_success
	size=$(cat "$D"/*/*.json | wc -c)
	assert_equal "$(jq -c -S 'del(.dir) | .by_tool.t.success_rate |= (. * 11 | round)' <<<"$output")" "{\"by_capability\":{\"c\":10,\"k\":1},\"by_kind\":{\"invocation\":11},\"by_outcome\":{\"failure\":1,\"success\":10},\"by_tool\":{\"t\":{\"attempts\":11,\"by_error_class\":{},\"by_outcome\":{\"exit\":1},\"duration_ms\":{\"max\":100,\"min\":1,\"p50\":6,\"p90\":10,\"p99\":100},\"failure\":1,\"served\":10,\"skipped\":0,\"success\":10,\"success_rate\":10}},\"entries\":11,\"newest\":\"2026-11-18T11:06:40.123456Z\",\"oldest\":\"2026-11-18T11:06:40.123456Z\",\"size_bytes\":$size,\"unserved\":1}"
	run aim-audit stats -d "$PWD/empty"
	assert_success
	assert_equal "$(jq -c -S 'del(.dir)' <<<"$output")" '{"by_capability":{},"by_kind":{},"by_outcome":{},"by_tool":{},"entries":0,"newest":null,"oldest":null,"size_bytes":0,"unserved":0}'
}

@test "stats: every attempt counts for its tool; a record every tool failed is unserved, never a tool none" {
	# a times out, b is rate limited, c was skipped: nobody served it.
	jq -nc '{id:"all-failed", capability:"c", payload:{}, tool_id:null,
	    attempts:[{tool_id:"a", outcome:"timeout", error_class:"timeout", duration_ms:50},
	      {tool_id:"b", outcome:"failure", error_class:"rate_limit", exit_code:0, duration_ms:5},
	      {tool_id:"b", outcome:"failure", error_class:"rate_limit", exit_code:0, duration_ms:7, retry:1},
	      {tool_id:"c", outcome:"skipped", reason:"cooldown"}],
	    result:{success:false, message:"All tools failed", content:null}}' >in.jsonl
	# a fails on exit 1, then b serves it.
	jq -nc '{id:"fell-back", capability:"c", payload:{}, tool_id:"b",
	    attempts:[{tool_id:"a", outcome:"exit", exit_code:1, error_class:"transient", duration_ms:10},
	      {tool_id:"b", outcome:"success", exit_code:0, duration_ms:20}],
	    result:{success:true, message:"ok", content:null}}' >>in.jsonl
	echo '{"id":"bad", "error":{"code":"invalid_record", "message":"x"}}' >>in.jsonl
	aim-audit -d "$D" in.jsonl >/dev/null || true
	run aim-audit stats -d "$D"
	assert_success
	assert_equal "$(jq -c -S '[.by_outcome, .unserved, (.by_tool | keys)]' <<<"$output")" '[{"error":1,"failure":1,"success":1},2,["a","b","c"]]'
	assert_equal "$(jq -c -S .by_tool.a <<<"$output")" '{"attempts":2,"by_error_class":{"timeout":1,"transient":1},"by_outcome":{"exit":1,"timeout":1},"duration_ms":{"max":50,"min":10,"p50":10,"p90":50,"p99":50},"failure":2,"served":0,"skipped":0,"success":0,"success_rate":0}'
	assert_equal "$(jq -c -S '.by_tool.b | .success_rate |= (. * 3 | round)' <<<"$output")" '{"attempts":3,"by_error_class":{"rate_limit":2},"by_outcome":{"failure":2},"duration_ms":{"max":20,"min":5,"p50":7,"p90":20,"p99":20},"failure":2,"served":1,"skipped":0,"success":1,"success_rate":1}'
	assert_equal "$(jq -c -S .by_tool.c <<<"$output")" '{"attempts":0,"by_error_class":{},"by_outcome":{},"duration_ms":null,"failure":0,"served":0,"skipped":1,"success":0,"success_rate":null}'
}

@test "aim-secret set, get and rm put events on the chain, never the value" {
	export AIM_VAULT=$PWD/vault AIM_VAULT_KEYFILE=$PWD/vault.key AIM_AUDIT_DIR=$D
	aim-secret init --keyfile "$AIM_VAULT_KEYFILE"
	printf 'value-canary-1234' | aim-secret set -d "the description" svc/token
	assert_equal "$(aim-secret get svc/token)" value-canary-1234
	aim-secret rm svc/token
	run aim-audit query -d "$D"
	assert_equal "$(jq -c '[.seq, .kind, .event.name, .event.vault == env.AIM_VAULT, .actor == "'"$(id -un)"'", .program]' <<<"$output")" "$(printf '%s\n' \
	    '[1,"secret_set","svc/token",true,true,"aim-secret"]' \
	    '[2,"secret_get","svc/token",true,true,"aim-secret"]' \
	    '[3,"secret_delete","svc/token",true,true,"aim-secret"]')"
	for f in "$D"/*/*.json; do
		[[ $f == *_aim_secret_* ]] || fail "$f"
	done
	run grep -r value-canary "$D"
	assert_failure 1
	run aim-audit verify -d "$D"
	assert_success
	assert_equal "$(aim-audit query -d "$D" --kind secret_get | jq -r .kind)" secret_get
}

@test "aim-secret logs nothing without an audit directory, and only warns when it cannot log" {
	export AIM_VAULT=$PWD/vault AIM_VAULT_KEYFILE=$PWD/vault.key
	aim-secret init --keyfile "$AIM_VAULT_KEYFILE" >/dev/null 2>&1
	run --separate-stderr sh -c 'printf v1234 | aim-secret set a/b'
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(find "$PWD" -name '*.json' | wc -l)" 0
	# From the registry's AIM_audit when one is found.
	cp -R "$REGS/chain" reg
	AIM_REGISTRY_PATH=$PWD/reg aim-secret get a/b >/dev/null
	assert_equal "$(aim-audit query -d reg/AIM_audit | jq -r .kind)" secret_get
	touch afile
	AIM_AUDIT_DIR=$PWD/afile/audit run --separate-stderr aim-secret get a/b
	assert_success
	assert_equal "$output" v1234
	assert_equal "$stderr" "aim-secret: can't log secret_get of a/b in $PWD/afile/audit: can't create $PWD/afile/audit: Not a directory"
}

@test "known answer: the frozen fixture verifies with its key, and the same records give the same bytes" {
	cp -R "$KAT" kat
	chmod 600 kat/fixture.key
	run --separate-stderr aim-audit verify -d "$PWD/kat/AIM_audit" -k kat/fixture.key.pub --checkpoint kat/checkpoint.txt
	assert_success
	assert_equal "$(jq -c '[.entries, .last_seq, .head, .checkpoints]' <<<"$output")" '[3,3,"f5342943db1afd7f0a6a703d61bece8acc7177fce51a2564be46824112a5aa5e",1]'
	assert_equal "$(b2 "kat/AIM_audit/$DAY/2026-11-18T11-06-40-123456_none_x.json")" f5342943db1afd7f0a6a703d61bece8acc7177fce51a2564be46824112a5aa5e
	# The format is frozen: today's aim-audit writes the very same bytes.
	frozen aim-audit -d "$PWD/again" "$KAT/records.jsonl" >/dev/null || true
	run diff -r -x .gitignore kat/AIM_audit again
	assert_success
	assert_equal "$(cat again/.gitignore)" '*'
	# And signs the same checkpoint but for the directory line.
	frozen aim-audit checkpoint -d "$PWD/kat/AIM_audit" -s kat/fixture.key >cp
	assert_equal "$(grep -v '^directory\|^signature' cp)" "$(grep -v '^directory\|^signature' "$KAT/checkpoint.txt")"
}

@test "an independent writer of the format (bench/make-chain.py, Python hashlib) verifies; one changed byte does not" {
	command -v python3 >/dev/null || skip "no python3"
	python3 "$TOP/bench/make-chain.py" 30 "$D"
	run --separate-stderr aim-audit verify -d "$D"
	assert_success
	assert_equal "$(jq -c '[.entries, .last_seq]' <<<"$output")" '[30,30]'
	f=$(find "$D" -name '*-000004_echo_bench.json')
	sed -i 's/"b-4"/"b-X"/' "$f"
	run --separate-stderr aim-audit verify -d "$D"
	assert_failure 1
	assert_equal "$stderr" "aim-audit: $f: seq 5: hash does not match prev of seq 6: entry edited or replaced"
	# And aim-audit goes on from its head.
	echo '{}' | aim-audit -d "$D" >out.jsonl
	assert_equal "$(jq -r .audit.path out.jsonl | xargs jq .seq)" 31
}

@test "subcommand usage errors exit 2" {
	for args in "verify -x" "prune extra" "query -z" "stats extra" "metrics extra" "checkpoint extra" "verify extra"; do
		# shellcheck disable=SC2086
		run --separate-stderr aim-audit $args
		assert_equal "$status" 2
		assert_equal "${stderr_lines[-1]}" "       aim-audit metrics [--textfile file]"
	done
	run aim-audit verify --help
	assert_success
	assert_line --index 0 "usage: aim-audit [-c config] [-d dir] [-r registry] verify [-k pubkey] [--checkpoint file ...]"
	# A usage error prints the synopsis only.
	run --separate-stderr aim-audit query -z
	assert_equal "$status" 2
	assert_equal "${#stderr_lines[@]}" 12
	assert_equal "$(grep -c 'See aim-audit' <<<"$stderr")" 0
}

@test "subcommands find the audit directory as the filter does" {
	cp -R "$REGS/chain" reg
	echo '{}' | aim-audit -r reg >/dev/null
	run aim-audit verify -r reg
	assert_success
	assert_equal "$(jq -r .dir <<<"$output")" "$(cd reg && pwd -P)/AIM_audit"
	AIM_AUDIT_DIR=$PWD/env run aim-audit stats
	assert_equal "$(jq -r .dir <<<"$output")" "$PWD/env"
}
