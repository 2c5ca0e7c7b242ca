#!/usr/bin/env bats
# schemas/: real outputs of aim-resolve, aim-invoke and aim-audit, the fixture
# and example registries, validated with ajv-cli against schemas/*.json.

load helper

# Found now, before common_setup moves HOME.
AJV=${AJV:-${AIM_TOOLS_CACHE:-$HOME/.cache/aim-test-tools}/node_modules/.bin/ajv}
export AJV
SCHEMAS=$TOP/schemas
LINES=$FIX/lines

setup_file() {
	[ -x "$AJV" ] || return 0
	# In a subshell, so that nothing set here leaks into the tests; in the
	# background, so that set -e holds inside it.  Leaks are the business of
	# the binaries' own suites: here only the records matter.
	(
		set -e
		export HOME=$BATS_FILE_TMPDIR/home
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
		mkdir -p "$HOME"
		unset AIM_REGISTRY_PATH AIM_CONFIG AIM_AUDIT_DIR XDG_CONFIG_HOME XDG_STATE_HOME
		cd "$BATS_FILE_TMPDIR"
		generate
	) >"$BATS_FILE_TMPDIR/generate.log" 2>&1 &
	if ! wait $!; then
		echo "# generating the records failed:" >&3
		sed 's/^/# /' "$BATS_FILE_TMPDIR/generate.log" >&3
		return 1
	fi
}

# want STATUS CMD...: run CMD, which must exit with STATUS.
want() {
	local st=0 w=$1
	shift
	"$@" || st=$?
	[ "$st" -eq "$w" ] || { echo "exit $st, want $w: $*" >&2; return 1; }
}

# generate: real records of every kind in $BATS_FILE_TMPDIR.
generate() {
	cp -R "$REGS/chain" chain
	cp -R "$REGS/misbehave" misbehave
	mkdir -p profile/bin
	cp -R "$REGS/seed" profile/.AIM_ai-tools-registry
	ln -s /bin/true profile/bin/aider
	echo '{"max_payload_bytes": 100}' >small.json

	# Requests, each meant to be valid.
	{
		jq -nc '{capability:"code_generation", payload:{prompt:"Add error handling", files:["src/main.py"], context:{}}}'
		jq -nc '{id:"lb1", capability:"lb", payload:{}}'
		jq -nc '{id:"lb2", capability:"lb", payload:{}, actor:"alice"}'
		jq -nc '{id:"gh", capability:"ghost", payload:{}}'
		jq -nc '{id:"na", capability:"noadapter_chain", payload:{}, timeout_ms:1500}'
		jq -nc '{id:"dir", capability:"code_generation", tool_id:"ok2", payload:{api_key:"secret-value"}, timeout_ms:3000}'
	} >requests-chain.jsonl
	jq -r '.capabilities | keys[]' misbehave/AIM_cross-tool/AIM_coordination-rules.json |
	    jq -Rc '{id:("m-" + .), capability:., payload:{prompt:"p"}}' >requests-misbehave.jsonl
	jq -nc '{id:"seed", capability:"code_generation", payload:{prompt:"p"}}' >requests-seed.jsonl
	# Bad lines for each resolve error code.
	{
		echo 'not json'
		echo '[1,2]'
		echo '{"id":"nc","payload":{}}'
		jq -nc '{id:"big", capability:"lb", payload:{x:("a" * 200)}}'
		jq -nc '{id:"uc", capability:"teleport", payload:{}}'
		jq -nc '{id:"ut", capability:"lb", tool_id:"nope", payload:{}}'
		jq -nc '{id:"huge", capability:"lb", payload:{x:("b" * 70000)}}'
	} >bad.jsonl

	want 0 aim-resolve -r chain requests-chain.jsonl >resolved.jsonl
	want 0 aim-resolve -r misbehave requests-misbehave.jsonl >>resolved.jsonl
	USERPROFILE=$PWD/profile PATH="$FIX/bin:$PWD/profile/bin:$PATH" \
	    want 0 aim-resolve -r profile/.AIM_ai-tools-registry requests-seed.jsonl >>resolved.jsonl
	want 1 aim-resolve -c small.json -r chain bad.jsonl >resolve-errors.jsonl
	want 3 aim-resolve -r "$PWD/nowhere" requests-chain.jsonl >>resolve-errors.jsonl
	want 3 aim-resolve -r "$REGS/malformed" requests-chain.jsonl >>resolve-errors.jsonl

	PATH="$FIX/bin:$PATH" want 1 aim-invoke -j 8 resolved.jsonl >invoked.jsonl
	# aim-invoke's own error records, and resolve's passed through.
	{
		echo 'not json'
		echo '{"id":"nr","capability":"x","payload":{}}'
		echo '{"id":"bc","capability":"x","payload":{},"route":{"candidates":{}}}'
		cat resolve-errors.jsonl
	} >invoke-in.jsonl
	want 1 aim-invoke invoke-in.jsonl >invoke-errors.jsonl

	# aim-audit at the end of the pipeline, on bad lines, and mid-pipeline.
	want 1 aim-audit -d audit-results invoked.jsonl >audited.jsonl
	{ echo 'not json'; echo '[3]'; } >audit-in.jsonl
	want 1 aim-audit -d audit-bad audit-in.jsonl >audit-errors.jsonl
	want 1 aim-audit -d audit-errors invoke-errors.jsonl >>audited.jsonl
	want 0 aim-audit -d audit-routed resolved.jsonl >audited-routed.jsonl
	# The audit trail: an old day to prune, secret events, the subcommands.
	want 0 aim-audit -d "$PWD/trail" resolved.jsonl >/dev/null
	mv "trail/$(date -u +%Y-%m-%d)" trail/2000-01-01
	aim-secret -f vault init --keyfile vault.key
	printf v1234 | AIM_AUDIT_DIR=$PWD/trail aim-secret -f vault -k vault.key set a/b
	AIM_AUDIT_DIR=$PWD/trail aim-secret -f vault -k vault.key get a/b >/dev/null
	AIM_AUDIT_DIR=$PWD/trail aim-secret -f vault -k vault.key rm a/b
	want 0 aim-audit prune -d "$PWD/trail" --days 1 --dry-run >prune.jsonl
	want 0 aim-audit prune -d "$PWD/trail" --days 1 >>prune.jsonl
	want 0 aim-audit verify -d "$PWD/trail" >verify.jsonl
	want 0 aim-audit stats -d "$PWD/trail" >stats.jsonl
	want 0 aim-audit stats -d audit-results >>stats.jsonl
	cp -R trail broken
	rm "$(find broken -name '*_aim_secret_get.json')"
	want 1 aim-audit verify -d "$PWD/broken" >>verify.jsonl 2>/dev/null

	generate_policy
}

# generate_policy: real records of the routing policy (issue 6) from the
# policy registry, with a state directory of their own: policy-routed.jsonl,
# policy-results.jsonl, policy-errors.jsonl, policy-plans.jsonl.
generate_policy() {
	local P=$REGS/policy
	export XDG_STATE_HOME=$PWD/state
	echo '{"retry_base_ms": 1, "retry_max_ms": 5, "allowed_fails": 2, "cooldown_ms": 60000}' >pol.json
	# Before any cooldown: every strategy, a deadline, fallback false.
	{
		for cap in gen strict lb weighted cheap lrf; do
			jq -nc --arg c "$cap" '{id:("p-" + $c), capability:$c, payload:{}}'
		done
		jq -nc '{id:"p-deadline", capability:"gen", payload:{}, deadline_ms:20000}'
		jq -nc '{id:"p-rule-deadline", capability:"deadline", payload:{}}'
		jq -nc '{id:"p-ctx", capability:"ctx", payload:{prompt:"p", files:["a.c"]}}'
	} >policy-requests.jsonl
	want 0 aim-resolve -c pol.json -r "$P" policy-requests.jsonl >policy-routed.jsonl
	# A retry skipped for the deadline; a candidate skipped for the
	# deadline (a fails twice: it cools down, reset after).
	{
		jq -nc '{id:"p-retry-deadline", capability:"gen", deadline_ms:20000, payload:{fail_a:"rate_limit", retry_after_ms:30000, fail_b:"timeout"}}'
		jq -nc '{id:"p-skip-deadline", capability:"deadline", deadline_ms:700, payload:{fail_a:"transient", sleep_ms:500}}'
	} | want 0 aim-resolve -c pol.json -r "$P" >in.jsonl
	want 1 aim-invoke -c pol.json in.jsonl >policy-results.jsonl
	want 0 aim-resolve -r "$P" --reset-cooldown a
	# Retries (a transient, then cooling down), a degraded success.
	jq -nc '{id:"p-retry", capability:"gen", payload:{fail_a:"transient", retry_after_ms:3}}' |
	    want 0 aim-resolve -c pol.json -r "$P" >in.jsonl
	want 0 aim-invoke -c pol.json in.jsonl >>policy-results.jsonl
	# --strict: fallback_disabled.
	jq -nc '{id:"p-strict", capability:"lb", payload:{fail_a:"bad_request", fail_b:"content_policy", fail_c:"not_installed"}}' |
	    want 0 aim-resolve -c pol.json -r "$P" >in.jsonl
	want 1 aim-invoke -s -c pol.json in.jsonl >>policy-results.jsonl
	# a cools down now: a cooldown candidate, and dry runs.
	jq -nc '{id:"p-cool", capability:"gen", payload:{}}' |
	    want 0 aim-resolve -c pol.json -r "$P" >>policy-routed.jsonl
	{ tail -n 1 policy-routed.jsonl; head -n 1 policy-routed.jsonl; } >plan-in.jsonl
	want 0 aim-invoke -n -c pol.json plan-in.jsonl >policy-plans.jsonl
	want 0 aim-invoke -n -s -c pol.json plan-in.jsonl >>policy-plans.jsonl
	# b (auth) and c (quota) cool down too (the third b is skipped):
	# every tool of gen is cooling.
	for t in b b b c c; do
		jq -nc --arg t "$t" '{capability:"gen", tool_id:$t, payload:{fail_b:"auth", fail_c:"quota"}}'
	done | want 0 aim-resolve -c pol.json -r "$P" >in.jsonl
	want 1 aim-invoke -c pol.json in.jsonl >>policy-results.jsonl
	# Error records of the limits, and all_cooling_down.
	mkdir -p sec && touch sec/a.c sec/b.txt
	{
		jq -nc '{id:"e-all", capability:"gen", payload:{}}'
		jq -nc '{id:"e-ctx", capability:"ctx", payload:{files:[]}}'
		jq -nc '{id:"e-many", capability:"files", payload:{files:["1.c","2.c","3.c","4.c"]}}'
		jq -nc '{id:"e-forbidden", capability:"files", payload:{files:["/etc/passwd"]}}'
		jq -nc '{id:"e-allowed", capability:"files", payload:{files:["sec/b.txt"]}}'
		jq -nc '{id:"e-notarray", capability:"files", payload:{files:"a.c"}}'
		jq -nc '{id:"e-deadline", capability:"gen", payload:{}, deadline_ms:0}'
	} | want 1 aim-resolve -c pol.json -r "$P" >policy-errors.jsonl
	want 1 aim-audit -d audit-policy policy-results.jsonl policy-errors.jsonl >policy-audited.jsonl
	want 0 aim-audit -d audit-plans policy-plans.jsonl >policy-plans-audited.jsonl
}

setup() {
	[ -x "$AJV" ] || skip "ajv-cli not installed: no $AJV (npm install --prefix \"\${AIM_TOOLS_CACHE:-\$HOME/.cache/aim-test-tools}\" ajv-cli, or set AJV)"
	common_setup
	OUT=$BATS_FILE_TMPDIR
}

ajv() {	# command args...: as tests/fixtures/check-schemas.sh runs it
	local c=$1
	shift
	"$AJV" "$c" --spec=draft2020 --strict-types=true --strict-tuples=true --errors=text "$@"
}

# ajv_queue COMMAND ARGS...: an ajv command, as for ajv, kept for ajv_batch.
ajv_queue() {
	local c=$1 IFS=$'\t'
	shift
	printf '%s\n' "$c	--spec=draft2020	--strict-types=true	--strict-tuples=true	--errors=text	$*" >>ajv-queue
}

# ajv_batch: runs the queued commands in one node process (starting node
# costs more than a validation: tests/fixtures/ajv-batch.js); then
# ${ajv_status[i]} and ${ajv_output[i]} are the exit status and output of
# the i-th, from 0.
ajv_batch() {
	node "$FIX/ajv-batch.js" "$AJV" <ajv-queue >ajv-results || fail "ajv-batch.js failed"
	rm ajv-queue
	mapfile -t ajv_status < <(cut -f 1 ajv-results)
	mapfile -d '' ajv_output < <(cut -f 2- ajv-results | jq -j '. + "\u0000"')
	[ ${#ajv_output[@]} -eq ${#ajv_status[@]} ] || fail "ajv-batch.js: ${#ajv_status[@]} statuses, ${#ajv_output[@]} outputs"
}

# records FILE FILTER: split the records of FILE that FILTER (jq, a boolean)
# selects into one file each under a new directory; prints the directory.
records() {
	local d
	d=$(mktemp -d "$BATS_TEST_TMPDIR/records.XXXX")
	jq -c "select($2)" "$1" | split -l 1 -d -a 4 --additional-suffix=.json - "$d/r"
	echo "$d"
}

# validate SCHEMA DIR-OR-FILE... [-- REF...]: every file is valid against SCHEMA.
validate() {
	local schema=$1 files=() refs=() f
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		if [ -d "$1" ]; then
			for f in "$1"/*.json; do [ -e "$f" ] && files+=(-d "$f"); done
		else
			files+=(-d "$1")
		fi
		shift
	done
	[ "${1-}" = -- ] && shift
	for f in "$@"; do refs+=(-r "$f"); done
	[ ${#files[@]} -gt 0 ] || fail "nothing to validate against $schema"
	run ajv validate -s "$schema" "${refs[@]}" "${files[@]}"
	assert_success
	assert_equal "$(grep -c ' valid$' <<<"$output")" $((${#files[@]} / 2))
}

# count DIR: how many records split into DIR.
count() {
	find "$1" -name '*.json' | wc -l
}

RECORD_REFS=("$SCHEMAS/request.json" "$SCHEMAS/routed.json" "$SCHEMAS/result.json" "$SCHEMAS/error.json")

@test "requests, ours and examples/requests.jsonl, are valid requests" {
	d=$(records "$OUT/requests-chain.jsonl" true)
	jq -c . "$OUT/requests-misbehave.jsonl" "$OUT/requests-seed.jsonl" "$TOP/examples/requests.jsonl" |
	    split -l 1 -d -a 4 --additional-suffix=.json - "$d/x"
	[ "$(count "$d")" -ge 30 ]
	validate "$SCHEMAS/request.json" "$d"
}

@test "aim-resolve's routed records are valid routed records" {
	d=$(records "$OUT/resolved.jsonl" 'has("error") | not')
	assert_equal "$(count "$d")" "$(wc -l <"$OUT/resolved.jsonl")"
	# They cover every strategy and candidate status, and a .ps1 adapter.
	run jq -sc '[.[].route.strategy] | unique' "$OUT/resolved.jsonl"
	assert_output '["direct","ordered","round_robin"]'
	run jq -sc '[.[].route.candidates[].status] | unique' "$OUT/resolved.jsonl"
	assert_output '["no_adapter","not_installed","ready","unknown_tool"]'
	run jq -r 'select(.id == "seed") | .route.candidates[1].argv[1:4] | join(" ")' "$OUT/resolved.jsonl"
	assert_output "-NoProfile -NonInteractive -File"
	validate "$SCHEMAS/routed.json" "$d"
}

@test "aim-resolve's error records are valid error records, every resolve code" {
	d=$(records "$OUT/resolve-errors.jsonl" true)
	assert_equal "$(jq -c 'select(has("error") | not)' "$OUT/resolve-errors.jsonl")" ""
	run jq -sc '[.[].error.code] | unique' "$OUT/resolve-errors.jsonl"
	assert_output '["invalid_json","invalid_request","payload_too_large","registry_unavailable","unknown_capability","unknown_tool"]'
	validate "$SCHEMAS/error.json" "$d"
}

@test "aim-invoke's result records are valid result records, every outcome" {
	d=$(records "$OUT/invoked.jsonl" true)
	assert_equal "$(jq -c 'select(has("error"))' "$OUT/invoked.jsonl")" ""
	assert_equal "$(count "$d")" "$(wc -l <"$OUT/resolved.jsonl")"
	run jq -sc '[.[].attempts[].outcome] | unique' "$OUT/invoked.jsonl"
	assert_output '["bad_output","exit","failure","signal","skipped","spawn_error","success","timeout"]'
	run jq -sc '[.[].result.success] | unique' "$OUT/invoked.jsonl"
	assert_output '[false,true]'
	validate "$SCHEMAS/result.json" "$d"
}

@test "aim-invoke's error records, its own and resolve's passed through, are valid error records" {
	d=$(records "$OUT/invoke-errors.jsonl" true)
	assert_equal "$(count "$d")" "$(wc -l <"$OUT/invoke-in.jsonl")"
	run jq -c '[.error.stage, .error.code]' "$OUT/invoke-errors.jsonl"
	assert_line --index 0 '["invoke","invalid_json"]'
	assert_line --index 1 '["invoke","invalid_record"]'
	assert_line --index 2 '["invoke","invalid_record"]'
	assert_line --index 3 '["resolve","invalid_json"]'
	validate "$SCHEMAS/error.json" "$d"
}

@test "aim-audit's error records for lines that are not JSON objects (stage audit) are valid error records" {
	d=$(records "$OUT/audit-errors.jsonl" true)
	run jq -c '[.error.stage, .error.code, (.audit.path | startswith("/"))]' "$OUT/audit-errors.jsonl"
	assert_output "$(printf '%s\n' '["audit","invalid_json",true]' '["audit","invalid_record",true]')"
	validate "$SCHEMAS/error.json" "$d"
}

@test "aim-audit's output records, each with audit added, are valid against their schemas" {
	d=$(records "$OUT/audited.jsonl" 'has("error") | not')
	e=$(records "$OUT/audited.jsonl" 'has("error")')
	[ "$(count "$e")" -ge 10 ]
	assert_equal "$(jq -c 'select(.audit.path | not)' "$OUT/audited.jsonl")" ""
	validate "$SCHEMAS/result.json" "$d"
	validate "$SCHEMAS/error.json" "$e"
	# Routed records audited before aim-invoke stay valid routed records.
	r=$(records "$OUT/audited-routed.jsonl" true)
	validate "$SCHEMAS/routed.json" "$r"
}

@test "whole stage outputs validate against tests/fixtures/lines/*.json" {
	jq -s . "$OUT/resolved.jsonl" "$OUT/resolve-errors.jsonl" >resolve.json
	jq -s . "$OUT/invoked.jsonl" "$OUT/invoke-errors.jsonl" >invoke.json
	jq -s . "$OUT/audited.jsonl" "$OUT/audit-errors.jsonl" "$OUT/audited-routed.jsonl" >audit.json
	validate "$LINES/resolve-output.json" resolve.json -- "${RECORD_REFS[@]}"
	validate "$LINES/invoke-output.json" invoke.json -- "${RECORD_REFS[@]}"
	validate "$LINES/audit-output.json" audit.json -- "${RECORD_REFS[@]}"
}

@test "audit entries of result records are valid audit entries" {
	n=$(find "$OUT/audit-results" -type f -name '*.json' | wc -l)
	assert_equal "$n" "$(wc -l <"$OUT/invoked.jsonl")"
	mkdir e && find "$OUT/audit-results" -type f -name '*.json' -exec cp {} e/ \;
	validate "$SCHEMAS/audit-entry.json" e
}

@test "audit entries of error records (resolve, invoke and audit stages) are valid audit entries" {
	mkdir e
	find "$OUT/audit-errors" "$OUT/audit-bad" -type f -name '*.json' -exec cp {} e/ \;
	assert_equal "$(count e)" $(($(wc -l <"$OUT/invoke-errors.jsonl") + 2))
	validate "$SCHEMAS/audit-entry.json" e
}

@test "audit entries of routed records audited before aim-invoke are valid audit entries" {
	mkdir e
	find "$OUT/audit-routed" -type f -name '*.json' -exec cp {} e/ \;
	assert_equal "$(count e)" "$(wc -l <"$OUT/resolved.jsonl")"
	validate "$SCHEMAS/audit-entry.json" e
}

@test "the validation can fail: broken real records are refused" {
	jq -c 'select(.id == "lb1") | .route.strategy = "random"' "$OUT/resolved.jsonl" >routed.json
	jq -c 'select(.id == "lb1") | .attempts[0].outcome = "meh"' "$OUT/invoked.jsonl" >result.json
	jq -c 'select(.id == "uc") | .error.code = "oops"' "$OUT/resolve-errors.jsonl" >error.json
	f=$(find "$OUT/audit-results" -type f -name '*.json' | head -1)
	jq '.timestamp |= sub("[0-9]{3}Z$"; "Z")' "$f" >audit-entry.json
	for s in routed result error audit-entry; do
		[ -s $s.json ] || fail "no record for $s"
		ajv_queue validate -s "$SCHEMAS/$s.json" -d $s.json
	done
	ajv_batch
	assert_equal "${ajv_status[*]}" "1 1 1 1"
	i=0
	for s in routed result error audit-entry; do
		[[ ${ajv_output[i++]} == "$s.json invalid"$'\n'* ]] || fail "$s: ${ajv_output[i - 1]}"
	done
}

@test "fixture and example registries are valid against registry.json and rules.json; badtypes is not" {
	regs=()
	rules=()
	for d in "$REGS"/seed "$REGS"/chain "$REGS"/misbehave "$REGS"/dupkeys "$TOP"/examples/.AIM_ai-tools-registry; do
		regs+=("$d/AIM_registry.json")
		rules+=("$d/AIM_cross-tool/AIM_coordination-rules.json")
	done
	validate "$SCHEMAS/registry.json" "${regs[@]}" "$TOP/examples/declarative-registry.json"
	validate "$SCHEMAS/rules.json" "${rules[@]}"
	run ajv validate -s "$SCHEMAS/registry.json" -d "$REGS/badtypes/AIM_registry.json"
	assert_failure
	assert_line "data/tools/aider/detectCommands must be array"
	run ajv validate -s "$SCHEMAS/rules.json" -d "$REGS/badtypes/AIM_cross-tool/AIM_coordination-rules.json"
	assert_failure
	assert_line "data/capabilities/code_generation/primary must be string"
}

@test "config files are valid against config.json; a misspelt key is not" {
	printf '%s\n' '{"timeout_ms": 7000, "max_payload_bytes": 100, "max_output_bytes": 65536, "stderr_tail_bytes": 0, "kill_grace_ms": 200, "actor": "nightly", "audit_dir": "~/audit", "audit_log_retention_days": 7}' >full.json
	validate "$SCHEMAS/config.json" "$REGS/misbehave/aim_config.json" "$TOP/examples/.AIM_ai-tools-registry/aim_config.json" full.json
	echo '{"timeout": 5}' >typo.json
	run ajv validate -s "$SCHEMAS/config.json" -d typo.json
	assert_failure
}

@test "the fixture records, registries and shared \$defs pass check-schemas.sh" {
	[ -x "$AJV" ] || skip "ajv-cli not installed"
	run "$FIX/check-schemas.sh"
	assert_success
	refute_line --partial "not ok"
}

@test "aim-secret list records and a missing_secret result are valid" {
	[ -x "$AJV" ] || skip "ajv-cli not installed"
	cp "$FIX/vault/fixture.key" key && chmod 600 key
	cp "$FIX/vault/keyfile.vault" vault && chmod 600 vault
	export AIM_VAULT=$PWD/vault AIM_VAULT_KEYFILE=$PWD/key
	aim-secret list >list.jsonl
	assert_equal "$(wc -l <list.jsonl)" 2
	mkdir -p l && split -l 1 -d --additional-suffix=.json list.jsonl l/
	validate "$SCHEMAS/secret-list.json" l
	# A tool whose secret the vault lacks is skipped: missing_secret.
	jq -nc --arg a "$ADAPTERS/ok.sh" '{id:"m", capability:"t", payload:{}, actor:"a",
	    route:{capability:"t", strategy:"ordered", registry:"/r", candidates:[
	      {tool_id:"s", status:"ready", argv:[$a], timeout_ms:2000, secrets:{API_KEY:"no/such"}},
	      {tool_id:"ok", status:"ready", argv:[$a], timeout_ms:2000}]}}' | aim-invoke >r.json
	assert_equal "$(jq -c '.attempts[0] | [.reason, .message]' r.json)" '["missing_secret","missing_secret: no/such"]'
	validate "$SCHEMAS/result.json" r.json
}

# Issue 6: the routing policy's records.

@test "policy: routed records of every strategy, a deadline, fallback false and a cooldown candidate are valid" {
	d=$(records "$OUT/policy-routed.jsonl" true)
	assert_equal "$(count "$d")" 10
	run jq -sc '[.[].route.strategy] | unique' "$OUT/policy-routed.jsonl"
	assert_output '["cheapest","least_recent_failure","ordered","round_robin","weighted"]'
	run jq -c 'select(.id == "p-deadline" or .id == "p-rule-deadline") | [.route.deadline_ms, .route.min_attempt_ms]' "$OUT/policy-routed.jsonl"
	assert_output "$(printf '%s\n' '[20000,1000]' '[1500,300]')"
	run jq -c 'select(.id == "p-strict") | [.route.fallback, (.route.candidates | length)]' "$OUT/policy-routed.jsonl"
	assert_output '[false,1]'
	run jq -c 'select(.id == "p-cool") | .route.candidates[0] | [.tool_id, .status, (.until | test("Z$")), (.until_ms > 0), (.reason | startswith("cooling down until "))]' "$OUT/policy-routed.jsonl"
	assert_output '["a","cooldown",true,true,true]'
	run jq -c 'select(.id == "p-gen") | .route.candidates[0] | [.max_retries, .max_concurrent, .concurrency]' "$OUT/policy-routed.jsonl"
	assert_output '[2,1,"queue"]'
	validate "$SCHEMAS/routed.json" "$d"
}

@test "policy: results with retries, back-off, cooldowns, deadline skips, --strict and degraded service are valid" {
	d=$(records "$OUT/policy-results.jsonl" true)
	assert_equal "$(count "$d")" 9
	# What they cover.
	run jq -c 'select(.id == "p-retry") | [.attempts[] | [.tool_id, .error_class, .retry, (.backoff_ms != null), (.cooldown_until != null)]], [.fallback_depth, .degraded]' "$OUT/policy-results.jsonl"
	assert_output "$(printf '%s\n' '[["a","transient",null,true,false],["a","transient",1,false,true],["b",null,null,false,false]]' '[1,true]')"
	run jq -c 'select(.id == "p-retry-deadline") | [.attempts[] | [.tool_id, .error_class, .retry_skipped]], [.fallback_depth, .degraded]' "$OUT/policy-results.jsonl"
	assert_output "$(printf '%s\n' '[["a","rate_limit","deadline"],["b","timeout",null],["c",null,null]]' '[2,true]')"
	run jq -c 'select(.id == "p-skip-deadline") | .attempts[1] | [.tool_id, .outcome, .reason, .error_class]' "$OUT/policy-results.jsonl"
	assert_output '["b","skipped","deadline",null]'
	run jq -c 'select(.id == "p-strict") | [.attempts[] | .reason] | .[1:]' "$OUT/policy-results.jsonl"
	assert_output '["fallback_disabled","fallback_disabled"]'
	run jq -sc '[.[].attempts[].error_class | values] | unique' "$OUT/policy-results.jsonl"
	assert_output '["auth","not_installed","quota","rate_limit","timeout","transient"]'
	run jq -sc '[.[].attempts[].reason | values] | unique' "$OUT/policy-results.jsonl"
	assert_output '["cooldown","deadline","fallback_disabled"]'
	validate "$SCHEMAS/result.json" "$d"
}

@test "policy: error records (missing_context, security limits, all_cooling_down, a bad deadline_ms) are valid" {
	d=$(records "$OUT/policy-errors.jsonl" true)
	run jq -c '[.id, .error.code]' "$OUT/policy-errors.jsonl"
	assert_output "$(printf '%s\n' '["e-all","all_cooling_down"]' '["e-ctx","missing_context"]' '["e-many","too_many_files"]' \
	    '["e-forbidden","forbidden_path"]' '["e-allowed","file_not_allowed"]' '["e-notarray","invalid_request"]' '["e-deadline","invalid_request"]')"
	run jq -c 'select(.id == "e-all") | .error | [.tool_id, (.retry_after_ms > 0), (.until | test("^[0-9-]+T[0-9:]+[.][0-9]{3}Z$"))]' "$OUT/policy-errors.jsonl"
	assert_output '["a",true,true]'
	run jq -r 'select(.id == "e-ctx") | .error.message' "$OUT/policy-errors.jsonl"
	assert_output "missing_context: prompt"
	validate "$SCHEMAS/error.json" "$d"
}

@test "policy: --dry-run records (routed records with a plan) are valid, and lines/invoke-output.json takes them" {
	d=$(records "$OUT/policy-plans.jsonl" true)
	assert_equal "$(count "$d")" 4
	run jq -c '[.plan[] | [.tool_id, .action, .reason]]' "$OUT/policy-plans.jsonl"
	assert_line --index 0 '[["a","skip","cooldown"],["b","run",null],["c","run",null]]'
	# a opened its cooldown after being routed: the plan sees it.
	assert_line --index 1 '[["a","skip","cooldown"],["b","run",null],["c","run",null]]'
	assert_line --index 3 '[["a","skip","cooldown"],["b","skip","fallback_disabled"],["c","skip","fallback_disabled"]]'
	run jq -c '[.plan[0] | has("until"), has("message")]' "$OUT/policy-plans.jsonl"
	assert_output "$(printf '%s\n' '[false,true]' '[true,false]' '[false,true]' '[true,false]')"
	assert_equal "$(jq -c 'select(has("attempts") or has("result"))' "$OUT/policy-plans.jsonl")" ""
	validate "$SCHEMAS/routed.json" "$d"
	jq -s . "$OUT/policy-plans.jsonl" "$OUT/policy-results.jsonl" >invoke.json
	validate "$LINES/invoke-output.json" invoke.json -- "${RECORD_REFS[@]}"
}

@test "policy: audit entries of policy results, errors and dry runs are valid audit entries; audited dry runs stay valid" {
	mkdir e
	find "$OUT/audit-policy" "$OUT/audit-plans" -type f -name '*.json' -exec cp {} e/ \;
	assert_equal "$(count e)" $(($(wc -l <"$OUT/policy-results.jsonl") + $(wc -l <"$OUT/policy-errors.jsonl") + $(wc -l <"$OUT/policy-plans.jsonl")))
	validate "$SCHEMAS/audit-entry.json" e
	d=$(records "$OUT/policy-plans-audited.jsonl" true)
	validate "$SCHEMAS/routed.json" "$d"
	jq -s . "$OUT/policy-plans-audited.jsonl" "$OUT/policy-audited.jsonl" >audit.json
	validate "$LINES/audit-output.json" audit.json -- "${RECORD_REFS[@]}"
}

@test "policy: broken policy records are refused" {
	# schema # file # jq edit of a real record # a line of ajv's answer
	local i=0 wants=() filters=()
	while IFS='#' read -r s file filter want; do
		jq -c "$filter" "$OUT/$file" | head -n 1 >bad$i.json
		[ -s bad$i.json ] || fail "no record for $filter"
		ajv_queue validate -s "$SCHEMAS/$s.json" -d bad$i.json
		filters+=("$filter")
		wants+=("$want")
		i=$((i + 1))
	done <<'EOF'
routed#policy-routed.jsonl#select(.id == "p-cool") | del(.route.candidates[0].until)#must have required property 'until'
routed#policy-routed.jsonl#select(.id == "p-cool") | .route.candidates[0].argv = ["/bin/true"]#argv boolean schema is false
routed#policy-routed.jsonl#select(.id == "p-gen") | .route.candidates[0].until_ms = 5#until_ms boolean schema is false
routed#policy-routed.jsonl#select(.id == "p-gen") | .route.candidates[0].concurrency = "drop"#must be equal to one of the allowed values
routed#policy-routed.jsonl#select(.id == "p-gen") | del(.route.candidates[0].concurrency)#must have property concurrency
routed#policy-routed.jsonl#select(.id == "p-deadline") | del(.route.min_attempt_ms)#must have property min_attempt_ms
routed#policy-routed.jsonl#select(.id == "p-strict") | .route.fallback = true#must be equal to constant
routed#policy-routed.jsonl#select(.id == "p-lb") | .route.strategy = "load_balance"#must be equal to one of the allowed values
routed#policy-plans.jsonl#.plan[0].action = "maybe"#must be equal to one of the allowed values
routed#policy-plans.jsonl#.plan[1].reason = "cooldown"#reason boolean schema is false
routed#policy-plans.jsonl#.plan[0].extra = 1#must NOT have additional properties
routed#policy-plans.jsonl#.attempts = []#attempts boolean schema is false
result#policy-results.jsonl#select(.id == "p-retry") | .attempts[0].error_class = "tool_error"#must be equal to one of the allowed values
result#policy-results.jsonl#select(.id == "p-retry") | .attempts[2].error_class = "transient"#error_class boolean schema is false
result#policy-results.jsonl#select(.id == "p-retry") | .attempts[0].retry = 0#must be >= 1
result#policy-results.jsonl#select(.id == "p-retry") | .attempts[0].error_class = "auth"#must be equal to one of the allowed values
result#policy-results.jsonl#select(.id == "p-retry") | .attempts[1].cooldown_until = "soon"#must match pattern
result#policy-results.jsonl#select(.id == "p-retry") | .degraded = false#must be equal to constant
result#policy-results.jsonl#select(.id == "p-retry") | del(.degraded)#must have property degraded
result#policy-results.jsonl#select(.id == "p-strict") | .fallback_depth = 0#fallback_depth boolean schema is false
result#policy-results.jsonl#select(.id == "p-strict") | .attempts[1].error_class = "auth"#error_class boolean schema is false
result#policy-results.jsonl#select(.id == "p-retry-deadline") | .attempts[0].retry_skipped = "budget"#must be equal to constant
result#policy-results.jsonl#select(.id == "p-skip-deadline") | .attempts[1].reason = "late"#must be equal to one of the allowed values
error#policy-errors.jsonl#select(.id == "e-all") | del(.error.until)#must have required property 'until'
error#policy-errors.jsonl#select(.id == "e-all") | .error.stage = "invoke"#data/error/stage must be equal to constant
error#policy-errors.jsonl#select(.id == "e-ctx") | .error.retry_after_ms = 5#retry_after_ms boolean schema is false
error#policy-errors.jsonl#select(.id == "e-many") | .error.code = "too_many"#must be equal to one of the allowed values
EOF
	ajv_batch
	assert_equal ${#ajv_status[@]} 27
	for i in "${!wants[@]}"; do
		[ "${ajv_status[i]}" -ne 0 ] || fail "valid, want invalid: ${filters[i]}"
		[[ ${ajv_output[i]} == *"${wants[i]}"* ]] ||
		    fail "${filters[i]}: no '${wants[i]}' in: ${ajv_output[i]}"
	done
}

@test "policy: the policy registry and rules are valid; policy config keys are valid, bad values are not" {
	validate "$SCHEMAS/registry.json" "$REGS/policy/AIM_registry.json"
	validate "$SCHEMAS/rules.json" "$REGS/policy/AIM_cross-tool/AIM_coordination-rules.json"
	printf '%s\n' '{"deadline_ms": 0, "min_attempt_ms": 0, "retry_base_ms": 0, "retry_max_ms": 100, "retry_after_max_ms": 0, "allowed_fails": 1, "failure_window_ms": 1, "cooldown_ms": 0, "cooldown_long_ms": 0}' >cfg.json
	validate "$SCHEMAS/config.json" cfg.json
	local n=0 bad
	for bad in '{"allowed_fails": 0}' '{"failure_window_ms": 0}' '{"deadline_ms": -1}' '{"cooldown_ms": 1.5}' '{"retry_after_ms": 5}'; do
		echo "$bad" >bad$n.json
		ajv_queue validate -s "$SCHEMAS/config.json" -d bad$((n++)).json
	done
	for bad in '.capabilities.gen.loadBalanceStrategy = "random"' '.capabilities.gen.fallback = true' \
	    '.capabilities.ctx.context_requirements.prompt = "maybe"' '.conflict_resolution.concurrent_access.strategy = "drop"' \
	    '.conflict_resolution.concurrent_access.max_concurrent = 0' '.security.max_file_count = -1' '.capabilities.gen.deadline_ms = -5'; do
		jq "$bad" "$REGS/policy/AIM_cross-tool/AIM_coordination-rules.json" >bad$n.json
		ajv_queue validate -s "$SCHEMAS/rules.json" -d bad$((n++)).json
	done
	for bad in '.tools.a.weight = -1' '.tools.a.cost = "cheap"' '.tools.b.max_retries = 0.5'; do
		jq "$bad" "$REGS/policy/AIM_registry.json" >bad$n.json
		ajv_queue validate -s "$SCHEMAS/registry.json" -d bad$((n++)).json
	done
	ajv_batch
	# Each of the 15 is invalid (exit 1), none an error of ajv's (exit 2).
	assert_equal "${ajv_status[*]}" "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"
}

@test "aim-scan's finding records are valid finding records, every kind" {
	[ -x "$AJV" ] || skip "ajv-cli not installed"
	PATH="$FIX/tools/bin1:$FIX/tools/bin2:$PATH"
	mkdir -p reg/AIM_adapters reg/AIM_cross-tool t/a t/b t/__pycache__
	cp "$ADAPTERS/ok.sh" reg/AIM_adapters/
	jq -n '{tools: {
	    fresh: {detectCommands: ["aim-fx-fresh"], versionCommand: ["aim-fx-fresh"], version: "^1", capabilities: ["cap"], adapterScript: "AIM_adapters/ok.sh"},
	    stale: {detectCommands: ["aim-fx-stale"], versionCommand: ["aim-fx-stale"], version: "1.2.3", capabilities: ["cap"], adapterScript: "AIM_adapters/ok.sh"},
	    shadow: {detectCommands: ["aim-fx-shadow"], versionCommand: ["aim-fx-shadow"], configPaths: ["~/.x"], capabilities: ["cap"]},
	    gone: {detectCommands: ["aim-fx-gone"], version: ">=1", capabilities: ["cap"], adapterScript: "AIM_adapters/ok.sh"},
	    bad: {detectCommands: ["aim-fx-quiet"], versionCommand: ["aim-fx-quiet"], version: "latest", capabilities: ["cap"], adapterScript: "AIM_adapters/ok.sh"}}}' >reg/AIM_registry.json
	echo '{"capabilities": {"cap": {"primary": "fresh", "fallback": ["stale"]}}}' >reg/AIM_cross-tool/AIM_coordination-rules.json
	head -c 3000 /dev/urandom >t/a/f
	cp t/a/f t/b/f
	echo x >t/__pycache__/m.pyc
	aim-scan -r reg tools >scan.jsonl 2>/dev/null || true
	aim-scan -r reg health >>scan.jsonl || true
	aim-scan dups -m 1 t >dups.jsonl || true
	aim-scan caches t >>scan.jsonl || true
	cat dups.jsonl >>scan.jsonl
	{ cat dups.jsonl; echo '[1]'; } | aim-scan clean --dry-run >>scan.jsonl 2>/dev/null || true
	aim-scan clean --yes dups.jsonl >>scan.jsonl
	run jq -sc '[.[].finding] | unique' scan.jsonl
	assert_output '["cache","clean","duplicate","health","health_summary","tool"]'
	run jq -sc '[.[] | select(.finding == "tool") | .pin_status] | unique' scan.jsonl
	assert_output '["drift","invalid","missing","ok","unpinned"]'
	d=$(records scan.jsonl true)
	validate "$SCHEMAS/finding.json" "$d"
	validate "$SCHEMAS/config.json" "$FIX/records/valid-config.scanner.json"
}

@test "event and prune entries of the audit trail are valid audit entries" {
	mkdir e
	find "$OUT/trail" -type f -name '*_aim_*.json' -exec cp {} e/ \;
	assert_equal "$(count e)" 4
	run jq -r .kind e/*.json
	assert_output "$(printf '%s\n' secret_set secret_get secret_delete prune)"
	validate "$SCHEMAS/audit-entry.json" e
}

@test "aim-audit stats, verify and prune outputs are valid against their schemas" {
	validate "$SCHEMAS/audit-stats.json" "$(records "$OUT/stats.jsonl" true)"
	validate "$SCHEMAS/audit-verify.json" "$(records "$OUT/verify.jsonl" true)"
	validate "$SCHEMAS/audit-prune.json" "$(records "$OUT/prune.jsonl" true)"
	assert_equal "$(jq -c .ok "$OUT/verify.jsonl" | tr '\n' ' ')" "true false "
	assert_equal "$(jq -c 'has("entry")' "$OUT/prune.jsonl" | tr '\n' ' ')" "false true "
}

@test "the result cache's records are valid: a cache candidate, a cached result, its audit entry" {
	mkdir -p reg/AIM_cross-tool
	cp "$FIX/rcache/AIM_registry.json" reg/
	cp "$FIX/rcache/rules.json" reg/AIM_cross-tool/AIM_coordination-rules.json
	local i
	for i in 1 2; do
		echo text >f1
		echo '{"capability": "formatting", "payload": {"files": ["f1"]}}' |
		    PATH=$FIX/rcache:$PATH aim-resolve -r reg >routed.json
		PATH=$FIX/rcache:$PATH aim-invoke <routed.json >result.json
	done
	aim-audit -d audit <result.json >/dev/null
	assert_equal "$(jq -c '[.route.candidates[0].cache, .result.cached, .attempts[0].cached]' result.json)" \
	    '[true,true,true]'
	mkdir e && cp audit/*/*.json e/
	validate "$SCHEMAS/routed.json" routed.json
	validate "$SCHEMAS/result.json" result.json
	validate "$SCHEMAS/audit-entry.json" e
}
