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
	assert_output '["direct","load_balance","ordered"]'
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

@test "the validation can fail: broken real records are refused" {
	jq -c 'select(.id == "lb1") | .route.strategy = "random"' "$OUT/resolved.jsonl" >routed.json
	jq -c 'select(.id == "lb1") | .attempts[0].outcome = "meh"' "$OUT/invoked.jsonl" >result.json
	jq -c 'select(.id == "uc") | .error.code = "oops"' "$OUT/resolve-errors.jsonl" >error.json
	f=$(find "$OUT/audit-results" -type f -name '*.json' | head -1)
	jq '.timestamp |= sub("[0-9]{3}Z$"; "Z")' "$f" >audit-entry.json
	for s in routed result error audit-entry; do
		[ -s $s.json ] || fail "no record for $s"
		run ajv validate -s "$SCHEMAS/$s.json" -d $s.json
		assert_failure
		assert_line --index 0 "$s.json invalid"
	done
}

@test "fixture and example registries are valid against registry.json and rules.json; badtypes is not" {
	regs=()
	rules=()
	for d in "$REGS"/seed "$REGS"/chain "$REGS"/misbehave "$REGS"/dupkeys "$TOP"/examples/.AIM_ai-tools-registry; do
		regs+=("$d/AIM_registry.json")
		rules+=("$d/AIM_cross-tool/AIM_coordination-rules.json")
	done
	validate "$SCHEMAS/registry.json" "${regs[@]}"
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
