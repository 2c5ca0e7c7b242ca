#!/usr/bin/env bats
# The result cache (aim-cache(1)): a hit writes back exactly what the tool
# wrote and runs nothing; what is never cached; a damaged entry; two
# writers at once; LRU pruning; --no-cache; aim-cache itself.  The tools
# are stand-ins that count their runs in reg/runs.log:
# tests/fixtures/rcache/rc-tool (an adapter object) and AIM_gen.sh (a
# script adapter).

load helper

setup_file() {
	export PATH="$FIX/rcache:$PATH"
}

setup() {
	common_setup
	fixture_registry "$FIX/rcache"
	C=$HOME/.cache/aim/results
}

# each CAPABILITY FILE...: aim run --each, the records in out.jsonl.
each() {
	local cap=$1
	shift
	aim run --json -r reg -d audit --each "$cap" "$@" >out.jsonl
}

# runs: how many times the stand-ins ran.
runs() {
	if [ -f reg/runs.log ]; then wc -l <reg/runs.log; else echo 0; fi
}

# cached: each record's result.cached and its last attempt's, one a line.
cached() {
	jq -c '[.result.cached, .attempts[-1].cached]' out.jsonl
}

# files N: N small files f1..fN, their text kept in orig/.
files() {
	local i
	mkdir -p orig
	for ((i = 1; i <= $1; i++)); do
		printf 'text %d\nmore\n' "$i" >"f$i"
		cp "f$i" orig/
	done
}

@test "a hit writes back exactly what the tool wrote, runs nothing, and says cached" {
	files 2
	each formatting f1 f2
	assert_equal "$(runs)" 2
	assert_equal "$(cat f1)" $'TEXT 1\nMORE'
	mkdir first && cp f1 f2 first/
	cp orig/f1 orig/f2 .
	each formatting f1 f2
	assert_equal "$(runs)" 2
	cmp f1 first/f1
	cmp f2 first/f2
	assert_equal "$(cached)" $'[true,true]\n[true,true]'
	# The same result as the run gave, files_modified included.
	assert_equal "$(jq -c '.result.content.files_modified' out.jsonl)" \
	    $'["f1"]\n["f2"]'
	# The audit entries carry it too, and the words say so.
	assert_equal "$(cat audit/*/*fmt* | grep -c '"cached": true')" 4
	run -0 --separate-stderr aim-audit -H -d audit2 out.jsonl
	assert_equal "$(grep -c 'done by fmt in .*, from the cache$' <<<"$stderr")" 2
}

@test "after a one-file change only that file runs again" {
	files 3
	each formatting f1 f2 f3
	cp orig/* .
	echo changed >>f2
	each formatting f1 f2 f3
	assert_equal "$(runs)" 4
	assert_equal "$(tail -n 1 reg/runs.log)" "upper f2"
	assert_equal "$(cached)" $'[true,true]\n[null,null]\n[true,true]'
	assert_equal "$(cat f2)" $'TEXT 2\nMORE\nCHANGED'
}

@test "a failure is not cached" {
	files 1
	run -1 each breaking f1
	run -1 each breaking f1
	assert_equal "$(runs)" 2
	[ ! -d "$C/entries" ]
}

@test "an AI capability is cached only when the request asks; cache false leaves a marked one alone" {
	local req='{"capability": "generating", "payload": {"prompt": "hi"}}'
	for i in 1 2; do
		echo "$req" | aim-resolve -r reg | aim-invoke -r reg >out.jsonl
	done
	assert_equal "$(runs)" 2
	req='{"capability": "generating", "payload": {"prompt": "hi"}, "cache": true}'
	for i in 1 2; do
		echo "$req" | aim-resolve -r reg | aim-invoke -r reg >out.jsonl
	done
	assert_equal "$(runs)" 3
	assert_equal "$(jq -c '[.result.cached, .result.content]' out.jsonl)" \
	    '[true,{"text":"hello"}]'
	files 1
	req='{"capability": "formatting", "payload": {"files": ["f1"]}, "cache": false}'
	for i in 1 2; do
		cp orig/f1 .
		echo "$req" | aim-resolve -r reg | aim-invoke -r reg >out.jsonl
	done
	assert_equal "$(runs)" 5
}

@test "a run that changed a file outside the payload is not cached" {
	files 1
	run -0 each spilling f1
	run -0 each spilling f1
	assert_equal "$(runs)" 2
	assert_equal "$(cached)" '[null,null]'
}

@test "a hit needs no slot: with every slot of the tool held, a cached request is served and an uncached one skipped" {
	jq '.conflict_resolution.concurrent_access = {"max_concurrent": 1, "strategy": "reject"}' \
	    reg/AIM_cross-tool/AIM_coordination-rules.json >rules.json
	mv rules.json reg/AIM_cross-tool/AIM_coordination-rules.json
	files 2
	each formatting f1
	assert_equal "$(runs)" 1
	slot=$(echo "$HOME"/.local/state/aim/slots/fmt.*.0.lock)
	assert [ -f "$slot" ]
	flock "$slot" sleep 30 &
	holder=$!
	until ! flock -n "$slot" true; do sleep 0.05; done
	cp orig/f1 .
	run -1 --separate-stderr aim run --json -r reg -d audit --each formatting f1 f2
	kill "$holder"
	echo "$output" >out.jsonl
	assert_equal "$(runs)" 1
	assert_equal "$(cat f1)" $'TEXT 1\nMORE'
	assert_equal "$(jq -c '[.payload.files[0], .result.cached, .attempts[-1].reason]' out.jsonl)" \
	    $'["f1",true,null]\n["f2",null,"max_concurrent"]'
}

@test "a damaged entry or stored file is a miss, removed, and stored anew" {
	files 1
	each formatting f1
	local e
	e=$(echo "$C"/entries/*/*.json)
	head -c 20 "$e" >"$e.cut" && mv "$e.cut" "$e"
	cp orig/f1 .
	each formatting f1
	assert_equal "$(runs)" 2
	assert_equal "$(cached)" '[null,null]'
	jq -e '.version == 1' "$e" >/dev/null
	# A stored file that no longer matches its name.
	echo tampered >"$(echo "$C"/blobs/*/*)"
	cp orig/f1 .
	each formatting f1
	assert_equal "$(runs)" 3
	assert_equal "$(cat f1)" $'TEXT 1\nMORE'
}

@test "a payload file that is a symlink is not cached; an entry naming a file the request does not is a miss" {
	files 2
	ln -s f1 link
	each formatting link
	[ ! -d "$C/entries" ]
	each formatting f2
	local e
	e=$(echo "$C"/entries/*/*.json)
	jq -c '.files[0].path = "f1"' "$e" >e.json && mv e.json "$e"
	cp f1 f1.before
	cp orig/f2 .
	each formatting f2
	assert_equal "$(runs)" 3
	assert_equal "$(cached)" '[null,null]'
	cmp f1 f1.before
}

@test "two writers at once leave a whole cache; the same output is stored once" {
	local i a=() b=()
	for ((i = 1; i <= 12; i++)); do
		printf 'same\n' >"a$i"
		printf 'same\n' >"b$i"
		a+=("a$i")
		b+=("b$i")
	done
	aim run --json -r reg -d audit1 -j 4 --each formatting "${a[@]}" >a.jsonl &
	aim run --json -r reg -d audit2 -j 4 --each formatting "${b[@]}" >b.jsonl &
	wait
	assert_equal "$(runs)" 24
	run -0 aim cache --json stats
	assert_equal "$(jq -c '[.entries, .blobs, .stores, .misses, .hits]' <<<"$output")" \
	    '[24,1,24,24,0]'
	for ((i = 1; i <= 12; i++)); do
		printf 'same\n' >"a$i"
		printf 'same\n' >"b$i"
	done
	each formatting "${a[@]}" "${b[@]}"
	assert_equal "$(runs)" 24
	assert_equal "$(grep -c '"cached":true' out.jsonl)" 24
	assert_equal "$(sort -u a1 b12)" SAME
	# Hits end together: their entries are group commits, a whole chain.
	assert_equal "$(find audit -name '*.json' | wc -l)" 24
	assert_equal "$(jq -r .audit.path out.jsonl | sort -u | wc -l)" 24
	run -0 aim-audit -d audit verify
	# aim-invoke too takes more records as hits end them at once.
	for i in 1 2; do
		for f in "${a[@]}" "${b[@]}"; do
			printf 'same\n' >"$f"
			printf '{"capability": "formatting", "payload": {"files": ["%s"]}}\n' "$f"
		done | aim-resolve -r reg | aim-invoke -r reg >out.jsonl
	done
	assert_equal "$(grep -c '"cached":true' out.jsonl)" 24
}

@test "a warm aim run commits the entries of all its hits as one group, more than the engine holds at once" {
	command -v strace >/dev/null || skip "no strace"
	# LeakSanitizer cannot run under ptrace(2).
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	files 60
	each formatting f*
	cp orig/f* .
	# -j 1 holds 20 requests at once (jobs * 4 + 16): three groups or
	# more if each batch were audited alone.  A group is one syncfs, or
	# two when its files were made before the lock (aim-audit(1) "Group
	# commit"), so one group is at most 2 and three at least 3.
	strace -f -c -o sc.txt -e trace=syncfs \
	    aim run --json -r reg -d audit -j 1 --each formatting f* >out.jsonl
	assert_equal "$(runs)" 60
	assert_equal "$(grep -c '"cached":true' out.jsonl)" 60
	run awk '$NF == "syncfs" { print ($4 <= 2) }' sc.txt
	assert_output 1
	run -0 aim-audit -d audit verify
}

@test "prune keeps the most recently used entries within the size; a hit counts as a use" {
	files 2
	each formatting f1
	run -0 aim cache --json stats
	local one
	one=$(jq .size_bytes <<<"$output")
	each formatting f2
	touch -d '1 hour ago' "$C"/entries/*/*.json
	cp orig/f1 .
	each formatting f1
	assert_equal "$(cached)" '[true,true]'
	run -0 aim cache --json prune --max-bytes "$one"
	assert_equal "$(jq -c '[.removed_entries, .removed_blobs, .entries, .size_bytes == '"$one"']' <<<"$output")" \
	    '[1,1,1,true]'
	cp orig/f1 orig/f2 .
	each formatting f1 f2
	assert_equal "$(cached)" $'[true,true]\n[null,null]'
	assert_equal "$(runs)" 3
}

@test "cache_max_bytes prunes after a run; 0 turns the cache off" {
	files 2
	echo '{"cache_max_bytes": 1}' >reg/aim_config.json
	each formatting f1 f2
	assert_equal "$(find "$C/entries" -type f)" ""
	echo '{"cache_max_bytes": 0}' >reg/aim_config.json
	cp orig/* .
	each formatting f1 f2
	[ ! -f "$C/stats.json" ] || [ "$(jq .hits "$C/stats.json")" = 0 ]
	assert_equal "$(runs)" 4
}

@test "--no-cache and AIM_NO_CACHE run every tool and leave the cache as it was" {
	files 1
	each formatting f1
	cp -r "$C" before
	cp orig/f1 .
	aim run --json -r reg -d audit --no-cache formatting f1 >out.jsonl
	cp orig/f1 .
	AIM_NO_CACHE=1 each formatting f1
	cp orig/f1 .
	aim-resolve -r reg <<<'{"capability": "formatting", "payload": {"files": ["f1"]}}' |
	    aim-invoke --no-cache >out.jsonl
	assert_equal "$(runs)" 4
	assert_equal "$(cached)" '[null,null]'
	diff -r before "$C"
}

@test "aim cache stats counts hits, misses and stores; clear empties it" {
	files 2
	each formatting f1 f2
	cp orig/f1 .
	each formatting f1
	run -0 aim cache --json stats
	assert_equal "$(jq -c '[.hits, .misses, .stores, .entries, .blobs, .hit_rate, .max_bytes, (.dir | endswith("/.cache/aim/results"))]' <<<"$output")" \
	    '[1,2,2,2,2,0.3333333333333333,536870912,true]'
	run -0 aim-cache clear
	assert_equal "$(jq -c '[.removed_entries, .removed_blobs, .entries, .size_bytes]' <<<"$output")" \
	    '[2,2,0,0]'
	run -0 aim-cache stats
	assert_equal "$(jq -c '[.hits, .entries, .size_bytes, .hit_rate]' <<<"$output")" \
	    '[0,0,0,null]'
}

@test "aim-cache: usage errors exit 2, a bad request's cache is an error, output to a full disk exits 4" {
	run -2 --separate-stderr aim-cache
	assert_equal "${stderr_lines[0]}" "aim-cache: no command: stats, clear or prune"
	assert_equal "${stderr_lines[1]}" "usage: aim-cache [-hV] [-c config] [-r registry] [--json] command"
	assert_equal "${stderr_lines[4]}" "       aim-cache prune [--max-bytes n]"
	run -2 --separate-stderr aim-cache frob
	assert_equal "${stderr_lines[0]}" "aim-cache: unknown command 'frob'"
	run -2 --separate-stderr aim-cache prune --max-bytes=-1
	assert_equal "${stderr_lines[0]}" "aim-cache: --max-bytes -1: want a number of bytes, 0 or more"
	run -2 --separate-stderr aim-cache stats --max-bytes 5
	assert_equal "$stderr" "aim-cache: --max-bytes is an option of prune: aim-cache prune --max-bytes"
	run -2 --separate-stderr aim-cache clear now
	assert_equal "${stderr_lines[0]}" "aim-cache: clear takes no operand: 'now'"
	run -0 aim-cache --help
	assert_equal "${lines[-1]}" "See aim-cache(1)."
	run -0 aim-cache prune --help
	assert_equal "${lines[0]}" "usage: aim-cache [-c config] [-r registry] [--json] prune [--max-bytes n]"
	run -4 --separate-stderr sh -c 'aim-cache stats >/dev/full'
	assert_equal "$stderr" "aim-cache: writing output failed"
	run -1 --separate-stderr aim-resolve -r reg <<<'{"capability": "formatting", "payload": {}, "cache": 1}'
	assert_equal "$stderr" "aim-resolve: <stdin>:1: \"cache\" must be true or false"
}

# audit_status: the status of the audit_dir check in $output.
audit_status() {
	grep '"name":"audit_dir"' <<<"$output" | grep -o '"status":"[a-z]*"'
}

@test "health_cache_ms: health gives its checks again within it; --no-cache, and 0 by default, check afresh" {
	# The first run's event makes the audit directory, 0700.
	run -1 aim-scan -r reg health
	chmod 777 reg/AIM_audit
	run -1 aim-scan -r reg health
	assert_equal "$(audit_status)" '"status":"fail"'
	chmod 700 reg/AIM_audit
	echo '{"health_cache_ms": 600000}' >reg/aim_config.json
	run -1 aim-scan -r reg health
	assert_equal "$(audit_status)" '"status":"pass"'
	chmod 777 reg/AIM_audit
	run -1 aim-scan -r reg health
	assert_equal "$(audit_status)" '"status":"pass"'
	cp "$HOME/.cache/aim/health.json" kept.json
	run -1 aim-scan -r reg --no-cache health
	assert_equal "$(audit_status)" '"status":"fail"'
	cmp kept.json "$HOME/.cache/aim/health.json"
}
