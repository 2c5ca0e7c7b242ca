#!/usr/bin/env bats
# schemas/: real outputs of aim-resolve, aim-invoke and aim-audit, the fixture
# and example registries, validated with ajv-cli against schemas/*.json.
# Starting node and compiling a schema cost far more than a validation, so
# setup_file makes every record, queues every test's ajv-cli commands
# (queue_KEY, beside the test that reads them) and runs them all in one node
# process (tests/fixtures/ajv-batch.js); each test then asserts its own
# answers (validated, ajv_results).

load helper

# Found now, before common_setup moves HOME.
AJV=${AJV:-${AIM_TOOLS_CACHE:-$HOME/.cache/aim-test-tools}/node_modules/.bin/ajv}
export AJV
SCHEMAS=$TOP/schemas
LINES=$FIX/lines
# What setup_file made; bats makes the directory before loading this file.
OUT=$BATS_FILE_TMPDIR

setup_file() {
	# The tests only read what is made here: one at a time, they cost less
	# than the processes that would run them in parallel.
	# shellcheck disable=SC2034 # read by bats
	BATS_NO_PARALLELIZE_WITHIN_FILE=true
	[ -x "$AJV" ] || return 0
	# In a subshell, so that nothing set here leaks into the tests; in the
	# background, so that set -e holds inside it.
	(
		set -e
		# Without bats's tracing, whose traps run at every command
		# (they doubled run_queues' CPU): its log says what failed.
		trap - DEBUG ERR
		export HOME=$OUT/home
		mkdir -p "$HOME"
		unset AIM_REGISTRY_PATH AIM_CONFIG AIM_AUDIT_DIR XDG_CONFIG_HOME XDG_STATE_HOME
		cd "$OUT"
		# Leaks are the business of the binaries' own suites: here
		# only the records matter.  queue_scan and queue_secret run
		# theirs with leak detection, as a test would.
		(
			export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
			generate
		)
		run_queues
		ajv_batch
	) >"$OUT/generate.log" 2>&1 &
	if ! wait $!; then
		echo "# generating the records failed:" >&3
		sed 's/^/# /' "$OUT/generate.log" >&3
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

# generate: real records of every kind in $OUT.
generate() {
	local a200 b70000
	cp -R "$REGS/chain" chain
	cp -R "$REGS/misbehave" misbehave
	mkdir -p profile/bin
	cp -R "$REGS/seed" profile/.AIM_ai-tools-registry
	ln -s /bin/true profile/bin/aider
	echo '{"max_payload_bytes": 100}' >small.json

	# Requests, each meant to be valid.
	cat >requests-chain.jsonl <<'EOF'
{"capability":"code_generation","payload":{"prompt":"Add error handling","files":["src/main.py"],"context":{}}}
{"id":"lb1","capability":"lb","payload":{}}
{"id":"lb2","capability":"lb","payload":{},"actor":"alice"}
{"id":"gh","capability":"ghost","payload":{}}
{"id":"na","capability":"noadapter_chain","payload":{},"timeout_ms":1500}
{"id":"dir","capability":"code_generation","tool_id":"ok2","payload":{"api_key":"secret-value"},"timeout_ms":3000}
EOF
	jq -c '.capabilities | keys[] | {id:("m-" + .), capability:., payload:{prompt:"p"}}' \
	    misbehave/AIM_cross-tool/AIM_coordination-rules.json >requests-misbehave.jsonl
	echo '{"id":"seed","capability":"code_generation","payload":{"prompt":"p"}}' >requests-seed.jsonl
	# Bad lines for each resolve error code (the payloads made by doubling:
	# bash's ${x// /b} is quadratic).
	a200=a b70000=b
	while [ ${#a200} -lt 200 ]; do a200+=$a200; done
	while [ ${#b70000} -lt 70000 ]; do b70000+=$b70000; done
	cat >bad.jsonl <<EOF
not json
[1,2]
{"id":"nc","payload":{}}
{"id":"big","capability":"lb","payload":{"x":"${a200:0:200}"}}
{"id":"uc","capability":"teleport","payload":{}}
{"id":"ut","capability":"lb","tool_id":"nope","payload":{}}
{"id":"huge","capability":"lb","payload":{"x":"${b70000:0:70000}"}}
EOF

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
	local P=$REGS/policy cap t
	export XDG_STATE_HOME=$PWD/state
	echo '{"retry_base_ms": 1, "retry_max_ms": 5, "allowed_fails": 2, "cooldown_ms": 60000}' >pol.json
	# Before any cooldown: every strategy, a deadline, fallback false.
	{
		for cap in gen strict lb weighted cheap lrf; do
			printf '{"id":"p-%s","capability":"%s","payload":{}}\n' "$cap" "$cap"
		done
		cat <<'EOF'
{"id":"p-deadline","capability":"gen","payload":{},"deadline_ms":20000}
{"id":"p-rule-deadline","capability":"deadline","payload":{}}
{"id":"p-ctx","capability":"ctx","payload":{"prompt":"p","files":["a.c"]}}
EOF
	} >policy-requests.jsonl
	want 0 aim-resolve -c pol.json -r "$P" policy-requests.jsonl >policy-routed.jsonl
	# A retry skipped for the deadline; a candidate skipped for the
	# deadline (a fails twice: it cools down, reset after).
	want 0 aim-resolve -c pol.json -r "$P" >in.jsonl <<'EOF'
{"id":"p-retry-deadline","capability":"gen","deadline_ms":20000,"payload":{"fail_a":"rate_limit","retry_after_ms":30000,"fail_b":"timeout"}}
{"id":"p-skip-deadline","capability":"deadline","deadline_ms":700,"payload":{"fail_a":"transient","sleep_ms":500}}
EOF
	want 1 aim-invoke -c pol.json in.jsonl >policy-results.jsonl
	want 0 aim-resolve -r "$P" --reset-cooldown a
	# Retries (a transient, then cooling down), a degraded success.
	want 0 aim-resolve -c pol.json -r "$P" >in.jsonl \
	    <<<'{"id":"p-retry","capability":"gen","payload":{"fail_a":"transient","retry_after_ms":3}}'
	want 0 aim-invoke -c pol.json in.jsonl >>policy-results.jsonl
	# --strict: fallback_disabled.
	want 0 aim-resolve -c pol.json -r "$P" >in.jsonl \
	    <<<'{"id":"p-strict","capability":"lb","payload":{"fail_a":"bad_request","fail_b":"content_policy","fail_c":"not_installed"}}'
	want 1 aim-invoke -s -c pol.json in.jsonl >>policy-results.jsonl
	# a cools down now: a cooldown candidate, and dry runs.
	want 0 aim-resolve -c pol.json -r "$P" >>policy-routed.jsonl \
	    <<<'{"id":"p-cool","capability":"gen","payload":{}}'
	{ tail -n 1 policy-routed.jsonl; head -n 1 policy-routed.jsonl; } >plan-in.jsonl
	want 0 aim-invoke -n -c pol.json plan-in.jsonl >policy-plans.jsonl
	want 0 aim-invoke -n -s -c pol.json plan-in.jsonl >>policy-plans.jsonl
	# b (auth) and c (quota) cool down too (the third b is skipped):
	# every tool of gen is cooling.
	for t in b b b c c; do
		printf '{"capability":"gen","tool_id":"%s","payload":{"fail_b":"auth","fail_c":"quota"}}\n' "$t"
	done | want 0 aim-resolve -c pol.json -r "$P" >in.jsonl
	want 1 aim-invoke -c pol.json in.jsonl >>policy-results.jsonl
	# Error records of the limits, and all_cooling_down.
	mkdir -p sec && touch sec/a.c sec/b.txt
	want 1 aim-resolve -c pol.json -r "$P" >policy-errors.jsonl <<'EOF'
{"id":"e-all","capability":"gen","payload":{}}
{"id":"e-ctx","capability":"ctx","payload":{"files":[]}}
{"id":"e-many","capability":"files","payload":{"files":["1.c","2.c","3.c","4.c"]}}
{"id":"e-forbidden","capability":"files","payload":{"files":["/etc/passwd"]}}
{"id":"e-allowed","capability":"files","payload":{"files":["sec/b.txt"]}}
{"id":"e-notarray","capability":"files","payload":{"files":"a.c"}}
{"id":"e-deadline","capability":"gen","payload":{},"deadline_ms":0}
EOF
	want 1 aim-audit -d audit-policy policy-results.jsonl policy-errors.jsonl >policy-audited.jsonl
	want 0 aim-audit -d audit-plans policy-plans.jsonl >policy-plans-audited.jsonl
}

# run_queues: runs every queue_KEY function, each in a directory KEY of its
# own, where it makes the files its test reads and queues that test's
# ajv-cli commands under KEY.  One that fails leaves KEY.failed and its
# output in KEY.log, for its test to fail with (queued); the others go
# on.
run_queues() {
	local f k
	: >ajv-queue
	: >ajv-keys
	for f in $(compgen -A function queue_); do
		k=${f#queue_}
		mkdir "$k"
		# In the background, so that set -e holds inside.
		(set -e && cd "$k" && "$f") >"$k.log" 2>&1 &
		wait $! || { echo "$f failed" >>"$k.log"; touch "$k.failed"; }
	done
}

# q_ajv COMMAND ARGS...: queues an ajv-cli command as
# tests/fixtures/check-schemas.sh runs it, under the key of the queue
# function running (the directory's name).
q_ajv() {
	q_line - "$@"
}

# q_validate SCHEMA DIR-OR-FILE... [-- REF...]: queues the validation of
# every file (a directory's *.json) against SCHEMA, for validated.
q_validate() {
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
	q_line "$((${#files[@]} / 2)) ${schema##*/}" validate -s "$schema" "${refs[@]}" "${files[@]}"
}

# q_line WHAT COMMAND ARGS...: queues the command; WHAT is "-", or for a
# validation the number of data files and the schema's name.  Relative
# paths are made absolute: the batch runs in $OUT, not in KEY.
q_line() {
	local what=$1 c=$2 a args=() IFS=$'\t'
	shift 2
	for a in "$@"; do
		case $a in
		-* | /*) args+=("$a") ;;
		*) args+=("$PWD/$a") ;;
		esac
	done
	printf '%s\n' "$c	--spec=draft2020	--strict-types=true	--strict-tuples=true	--errors=text	${args[*]}" >>"$OUT/ajv-queue"
	printf '%s\t%s\n' "${PWD##*/}" "$what" >>"$OUT/ajv-keys"
}

# ajv_batch: runs the queued commands in one node process
# (tests/fixtures/ajv-batch.js) and files each answer under ajv/KEY, one
# line each, in order: the exit status, a tab, what q_line was given, a
# tab, and ajv-cli's output as one JSON string.
ajv_batch() {
	node "$FIX/ajv-batch.js" "$AJV" <ajv-queue >ajv-answers
	[ "$(wc -l <ajv-answers)" -eq "$(wc -l <ajv-keys)" ] ||
	    { echo "ajv-batch.js answered $(wc -l <ajv-answers) of $(wc -l <ajv-keys) commands"; return 1; }
	mkdir ajv
	paste ajv-keys ajv-answers | awk -F '\t' '{ print $3 "\t" $2 "\t" $4 >("ajv/" $1) }'
}

setup() {
	[ -x "$AJV" ] || skip "ajv-cli not installed: no $AJV (npm install --prefix \"\${AIM_TOOLS_CACHE:-\$HOME/.cache/aim-test-tools}\" ajv-cli, or set AJV)"
	common_setup
}

# queued KEY: queue_KEY did not fail.
queued() {
	[ ! -e "$OUT/$1.failed" ] || fail "queue_$1: $(cat "$OUT/$1.log")"
}

# ajv_results KEY: the answers to queue_KEY's commands, in order:
# ${ajv_status[i]}, ${ajv_output[i]} and ${ajv_what[i]} (q_line's WHAT).
ajv_results() {
	local st what out all=
	queued "$1"
	[ -s "$OUT/ajv/$1" ] || fail "queue_$1 queued nothing"
	ajv_status=() ajv_what=()
	while IFS=$'\t' read -r st what out; do
		ajv_status+=("$st")
		ajv_what+=("$what")
		all+=$out$'\n'
	done <"$OUT/ajv/$1"
	mapfile -d '' ajv_output < <(gojq -j '. + "\u0000"' <<<"$all")
	[ ${#ajv_output[@]} -eq ${#ajv_status[@]} ] || fail "ajv/$1: ${#ajv_status[@]} statuses, ${#ajv_output[@]} outputs"
}

# ajv_run I: status, output and lines as "run" would set them for the I-th
# answer.
ajv_run() {
	status=${ajv_status[$1]}
	output=${ajv_output[$1]%$'\n'}
	mapfile -t lines <<<"$output"
}

# validated KEY N: queue_KEY's answers (ajv_results), among which N
# validations (q_validate), each passed with every file valid.
validated() {
	local i n v=0
	ajv_results "$1"
	for i in "${!ajv_what[@]}"; do
		[ "${ajv_what[i]}" != - ] || continue
		v=$((v + 1))
		n=${ajv_what[i]%% *}
		[ "$n" -gt 0 ] || fail "nothing to validate against ${ajv_what[i]#* }"
		ajv_run "$i"
		assert_success
		assert_equal "$(grep -c ' valid$' <<<"$output")" "$n"
	done
	assert_equal "$v" "$2"
}

# records DIR FILE [FILTER]: splits the records of FILE that FILTER (jq, a
# boolean) selects, all by default, into one file each in the new DIR.
records() {
	mkdir "$1"
	if [ $# -gt 2 ]; then
		gojq -c "select($3)" "$2"
	else
		cat "$2"
	fi | split -l 1 -d -a 4 --additional-suffix=.json - "$1/r"
}

# count DIR: how many records split into DIR.
count() {
	find "$1" -name '*.json' | wc -l
}

RECORD_REFS=("$SCHEMAS/request.json" "$SCHEMAS/routed.json" "$SCHEMAS/result.json" "$SCHEMAS/error.json")

queue_requests() {
	records d "$OUT/requests-chain.jsonl"
	gojq -c . "$OUT/requests-misbehave.jsonl" "$OUT/requests-seed.jsonl" "$TOP/examples/requests.jsonl" |
	    split -l 1 -d -a 4 --additional-suffix=.json - d/x
	q_validate "$SCHEMAS/request.json" d
}

@test "requests, ours and examples/requests.jsonl, are valid requests" {
	[ "$(count "$OUT/requests/d")" -ge 30 ]
	validated requests 1
}

queue_routed() {
	records d "$OUT/resolved.jsonl" 'has("error") | not'
	q_validate "$SCHEMAS/routed.json" d
}

@test "aim-resolve's routed records are valid routed records" {
	assert_equal "$(count "$OUT/routed/d")" "$(wc -l <"$OUT/resolved.jsonl")"
	# They cover every strategy and candidate status, and a .ps1 adapter.
	run gojq -sc '[.[].route.strategy] | unique' "$OUT/resolved.jsonl"
	assert_output '["direct","ordered","round_robin"]'
	run gojq -sc '[.[].route.candidates[].status] | unique' "$OUT/resolved.jsonl"
	assert_output '["no_adapter","not_installed","ready","unknown_tool"]'
	run gojq -r 'select(.id == "seed") | .route.candidates[1].argv[1:4] | join(" ")' "$OUT/resolved.jsonl"
	assert_output "-NoProfile -NonInteractive -File"
	validated routed 1
}

queue_resolve_errors() {
	records d "$OUT/resolve-errors.jsonl"
	q_validate "$SCHEMAS/error.json" d
}

@test "aim-resolve's error records are valid error records, every resolve code" {
	assert_equal "$(gojq -c 'select(has("error") | not)' "$OUT/resolve-errors.jsonl")" ""
	run gojq -sc '[.[].error.code] | unique' "$OUT/resolve-errors.jsonl"
	assert_output '["invalid_json","invalid_request","payload_too_large","registry_unavailable","unknown_capability","unknown_tool"]'
	validated resolve_errors 1
}

queue_invoked() {
	records d "$OUT/invoked.jsonl"
	q_validate "$SCHEMAS/result.json" d
}

@test "aim-invoke's result records are valid result records, every outcome" {
	assert_equal "$(gojq -c 'select(has("error"))' "$OUT/invoked.jsonl")" ""
	assert_equal "$(count "$OUT/invoked/d")" "$(wc -l <"$OUT/resolved.jsonl")"
	run gojq -sc '[.[].attempts[].outcome] | unique' "$OUT/invoked.jsonl"
	assert_output '["bad_output","exit","failure","signal","skipped","spawn_error","success","timeout"]'
	run gojq -sc '[.[].result.success] | unique' "$OUT/invoked.jsonl"
	assert_output '[false,true]'
	validated invoked 1
}

queue_invoke_errors() {
	records d "$OUT/invoke-errors.jsonl"
	q_validate "$SCHEMAS/error.json" d
}

@test "aim-invoke's error records, its own and resolve's passed through, are valid error records" {
	assert_equal "$(count "$OUT/invoke_errors/d")" "$(wc -l <"$OUT/invoke-in.jsonl")"
	run gojq -c '[.error.stage, .error.code]' "$OUT/invoke-errors.jsonl"
	assert_line --index 0 '["invoke","invalid_json"]'
	assert_line --index 1 '["invoke","invalid_record"]'
	assert_line --index 2 '["invoke","invalid_record"]'
	assert_line --index 3 '["resolve","invalid_json"]'
	validated invoke_errors 1
}

queue_audit_errors() {
	records d "$OUT/audit-errors.jsonl"
	q_validate "$SCHEMAS/error.json" d
}

@test "aim-audit's error records for lines that are not JSON objects (stage audit) are valid error records" {
	run gojq -c '[.error.stage, .error.code, (.audit.path | startswith("/"))]' "$OUT/audit-errors.jsonl"
	assert_output "$(printf '%s\n' '["audit","invalid_json",true]' '["audit","invalid_record",true]')"
	validated audit_errors 1
}

queue_audited() {
	records d "$OUT/audited.jsonl" 'has("error") | not'
	records e "$OUT/audited.jsonl" 'has("error")'
	records r "$OUT/audited-routed.jsonl"
	q_validate "$SCHEMAS/result.json" d
	q_validate "$SCHEMAS/error.json" e
	q_validate "$SCHEMAS/routed.json" r
}

@test "aim-audit's output records, each with audit added, are valid against their schemas" {
	[ "$(count "$OUT/audited/e")" -ge 10 ]
	assert_equal "$(gojq -c 'select(.audit.path | not)' "$OUT/audited.jsonl")" ""
	# The third: routed records audited before aim-invoke stay valid
	# routed records.
	validated audited 3
}

queue_lines() {
	gojq -s . "$OUT/resolved.jsonl" "$OUT/resolve-errors.jsonl" >resolve.json
	gojq -s . "$OUT/invoked.jsonl" "$OUT/invoke-errors.jsonl" >invoke.json
	gojq -s . "$OUT/audited.jsonl" "$OUT/audit-errors.jsonl" "$OUT/audited-routed.jsonl" >audit.json
	q_validate "$LINES/resolve-output.json" resolve.json -- "${RECORD_REFS[@]}"
	q_validate "$LINES/invoke-output.json" invoke.json -- "${RECORD_REFS[@]}"
	q_validate "$LINES/audit-output.json" audit.json -- "${RECORD_REFS[@]}"
}

@test "whole stage outputs validate against tests/fixtures/lines/*.json" {
	validated lines 3
}

queue_audit_results() {
	mkdir e && find "$OUT/audit-results" -type f -name '*.json' -exec cp -t e {} +
	q_validate "$SCHEMAS/audit-entry.json" e
}

@test "audit entries of result records are valid audit entries" {
	n=$(find "$OUT/audit-results" -type f -name '*.json' | wc -l)
	assert_equal "$n" "$(wc -l <"$OUT/invoked.jsonl")"
	validated audit_results 1
}

queue_audit_error_entries() {
	mkdir e && find "$OUT/audit-errors" "$OUT/audit-bad" -type f -name '*.json' -exec cp -t e {} +
	q_validate "$SCHEMAS/audit-entry.json" e
}

@test "audit entries of error records (resolve, invoke and audit stages) are valid audit entries" {
	assert_equal "$(count "$OUT/audit_error_entries/e")" $(($(wc -l <"$OUT/invoke-errors.jsonl") + 2))
	validated audit_error_entries 1
}

queue_audit_routed() {
	mkdir e && find "$OUT/audit-routed" -type f -name '*.json' -exec cp -t e {} +
	q_validate "$SCHEMAS/audit-entry.json" e
}

@test "audit entries of routed records audited before aim-invoke are valid audit entries" {
	assert_equal "$(count "$OUT/audit_routed/e")" "$(wc -l <"$OUT/resolved.jsonl")"
	validated audit_routed 1
}

BROKEN=(routed result error audit-entry)
queue_broken_records() {
	local s f
	gojq -c 'select(.id == "lb1") | .route.strategy = "random"' "$OUT/resolved.jsonl" >routed.json
	gojq -c 'select(.id == "lb1") | .attempts[0].outcome = "meh"' "$OUT/invoked.jsonl" >result.json
	gojq -c 'select(.id == "uc") | .error.code = "oops"' "$OUT/resolve-errors.jsonl" >error.json
	f=$(find "$OUT/audit-results" -type f -name '*.json' | head -1)
	gojq '.timestamp |= sub("[0-9]{3}Z$"; "Z")' "$f" >audit-entry.json
	for s in "${BROKEN[@]}"; do
		q_ajv validate -s "$SCHEMAS/$s.json" -d "$s.json"
	done
}

@test "the validation can fail: broken real records are refused" {
	for s in "${BROKEN[@]}"; do
		[ -s "$OUT/broken_records/$s.json" ] || fail "no record for $s"
	done
	ajv_results broken_records
	assert_equal "${ajv_status[*]}" "1 1 1 1"
	i=0
	for s in "${BROKEN[@]}"; do
		[[ ${ajv_output[i++]} == "$OUT/broken_records/$s.json invalid"$'\n'* ]] || fail "$s: ${ajv_output[i - 1]}"
	done
}

queue_registries() {
	local regs=() rules=() d
	for d in "$REGS"/seed "$REGS"/chain "$REGS"/misbehave "$REGS"/dupkeys "$TOP"/examples/.AIM_ai-tools-registry; do
		regs+=("$d/AIM_registry.json")
		rules+=("$d/AIM_cross-tool/AIM_coordination-rules.json")
	done
	q_validate "$SCHEMAS/registry.json" "${regs[@]}" "$TOP/examples/declarative-registry.json"
	q_validate "$SCHEMAS/rules.json" "${rules[@]}"
	q_ajv validate -s "$SCHEMAS/registry.json" -d "$REGS/badtypes/AIM_registry.json"
	q_ajv validate -s "$SCHEMAS/rules.json" -d "$REGS/badtypes/AIM_cross-tool/AIM_coordination-rules.json"
}

@test "fixture and example registries are valid against registry.json and rules.json; badtypes is not" {
	validated registries 2
	ajv_run 2
	assert_failure
	assert_line "data/tools/aider/detectCommands must be array"
	ajv_run 3
	assert_failure
	assert_line "data/capabilities/code_generation/primary must be string"
}

queue_config() {
	printf '%s\n' '{"timeout_ms": 7000, "max_payload_bytes": 100, "max_output_bytes": 65536, "stderr_tail_bytes": 0, "kill_grace_ms": 200, "actor": "nightly", "audit_dir": "~/audit", "audit_log_retention_days": 7}' >full.json
	# The state on Redis: one that answers nobody (port 1), so the
	# result says "state": "degraded".
	echo '{"state_backend": "redis://127.0.0.1:1/0", "state_password_secret": "redis/aim", "state_lease_ttl_ms": 5000}' >redis.json
	q_validate "$SCHEMAS/config.json" "$REGS/misbehave/aim_config.json" "$TOP/examples/.AIM_ai-tools-registry/aim_config.json" full.json redis.json
	echo '{"timeout": 5}' >typo.json
	q_ajv validate -s "$SCHEMAS/config.json" -d typo.json
	echo '{"state_backend": "redis://127.0.0.1:1/0"}' >down.json
	# shellcheck disable=SC2016 # $a is gojq's
	gojq -nc --arg a "$ADAPTERS/ok.sh" '{id:"d", capability:"t", payload:{},
	    route:{capability:"t", strategy:"ordered", registry:"/r", candidates:[
	      {tool_id:"ok", status:"ready", argv:[$a], timeout_ms:2000}]}}' |
	    aim-invoke -c down.json >degraded.json 2>/dev/null
	q_validate "$SCHEMAS/result.json" degraded.json
}

@test "config files are valid against config.json; a misspelt key is not; a degraded result is valid" {
	validated config 2
	ajv_run 1
	assert_failure
	assert_equal "$(gojq -c .state "$OUT/config/degraded.json")" '"degraded"'
}

# check-schemas.sh's ajv-cli commands join the batch; it prints its TAP
# from their answers (its --queue and --answers).
queue_check_schemas() {
	"$FIX/check-schemas.sh" --queue "$PWD"
	cat batch >>"$OUT/ajv-queue"
	sed 's/.*/check_schemas\t-/' batch >>"$OUT/ajv-keys"
}

@test "the fixture records, registries and shared \$defs pass check-schemas.sh" {
	[ -x "$AJV" ] || skip "ajv-cli not installed"
	ajv_results check_schemas
	cut -f 1,3 "$OUT/ajv/check_schemas" >"$OUT/check_schemas/results"
	run "$FIX/check-schemas.sh" --answers "$OUT/check_schemas"
	assert_success
	refute_line --partial "not ok"
}

queue_secret() {
	cp "$FIX/vault/fixture.key" key && chmod 600 key
	cp "$FIX/vault/keyfile.vault" vault && chmod 600 vault
	export AIM_VAULT=$PWD/vault AIM_VAULT_KEYFILE=$PWD/key
	aim-secret list >list.jsonl
	mkdir -p l && split -l 1 -d --additional-suffix=.json list.jsonl l/
	q_validate "$SCHEMAS/secret-list.json" l
	# A tool whose secret the vault lacks is skipped: missing_secret.
	# shellcheck disable=SC2016 # $a is gojq's
	gojq -nc --arg a "$ADAPTERS/ok.sh" '{id:"m", capability:"t", payload:{}, actor:"a",
	    route:{capability:"t", strategy:"ordered", registry:"/r", candidates:[
	      {tool_id:"s", status:"ready", argv:[$a], timeout_ms:2000, secrets:{API_KEY:"no/such"}},
	      {tool_id:"ok", status:"ready", argv:[$a], timeout_ms:2000}]}}' | aim-invoke >r.json
	q_validate "$SCHEMAS/result.json" r.json
}

@test "aim-secret list records and a missing_secret result are valid" {
	[ -x "$AJV" ] || skip "ajv-cli not installed"
	queued secret
	cd "$OUT/secret"
	assert_equal "$(wc -l <list.jsonl)" 2
	assert_equal "$(gojq -c '.attempts[0] | [.reason, .message]' r.json)" '["missing_secret","missing_secret: no/such"]'
	validated secret 2
}

# Issue 6: the routing policy's records.

queue_policy_routed() {
	records d "$OUT/policy-routed.jsonl"
	q_validate "$SCHEMAS/routed.json" d
}

@test "policy: routed records of every strategy, a deadline, fallback false and a cooldown candidate are valid" {
	assert_equal "$(count "$OUT/policy_routed/d")" 10
	run gojq -sc '[.[].route.strategy] | unique' "$OUT/policy-routed.jsonl"
	assert_output '["cheapest","least_recent_failure","ordered","round_robin","weighted"]'
	run gojq -c 'select(.id == "p-deadline" or .id == "p-rule-deadline") | [.route.deadline_ms, .route.min_attempt_ms]' "$OUT/policy-routed.jsonl"
	assert_output "$(printf '%s\n' '[20000,1000]' '[1500,300]')"
	run gojq -c 'select(.id == "p-strict") | [.route.fallback, (.route.candidates | length)]' "$OUT/policy-routed.jsonl"
	assert_output '[false,1]'
	run gojq -c 'select(.id == "p-cool") | .route.candidates[0] | [.tool_id, .status, (.until | test("Z$")), (.until_ms > 0), (.reason | startswith("cooling down until "))]' "$OUT/policy-routed.jsonl"
	assert_output '["a","cooldown",true,true,true]'
	run gojq -c 'select(.id == "p-gen") | .route.candidates[0] | [.max_retries, .max_concurrent, .concurrency]' "$OUT/policy-routed.jsonl"
	assert_output '[2,1,"queue"]'
	validated policy_routed 1
}

queue_policy_results() {
	records d "$OUT/policy-results.jsonl"
	q_validate "$SCHEMAS/result.json" d
}

@test "policy: results with retries, back-off, cooldowns, deadline skips, --strict and degraded service are valid" {
	assert_equal "$(count "$OUT/policy_results/d")" 9
	# What they cover.
	run gojq -c 'select(.id == "p-retry") | [.attempts[] | [.tool_id, .error_class, .retry, (.backoff_ms != null), (.cooldown_until != null)]], [.fallback_depth, .degraded]' "$OUT/policy-results.jsonl"
	assert_output "$(printf '%s\n' '[["a","transient",null,true,false],["a","transient",1,false,true],["b",null,null,false,false]]' '[1,true]')"
	run gojq -c 'select(.id == "p-retry-deadline") | [.attempts[] | [.tool_id, .error_class, .retry_skipped]], [.fallback_depth, .degraded]' "$OUT/policy-results.jsonl"
	assert_output "$(printf '%s\n' '[["a","rate_limit","deadline"],["b","timeout",null],["c",null,null]]' '[2,true]')"
	run gojq -c 'select(.id == "p-skip-deadline") | .attempts[1] | [.tool_id, .outcome, .reason, .error_class]' "$OUT/policy-results.jsonl"
	assert_output '["b","skipped","deadline",null]'
	run gojq -c 'select(.id == "p-strict") | [.attempts[] | .reason] | .[1:]' "$OUT/policy-results.jsonl"
	assert_output '["fallback_disabled","fallback_disabled"]'
	run gojq -sc '[.[].attempts[].error_class | values] | unique' "$OUT/policy-results.jsonl"
	assert_output '["auth","not_installed","quota","rate_limit","timeout","transient"]'
	run gojq -sc '[.[].attempts[].reason | values] | unique' "$OUT/policy-results.jsonl"
	assert_output '["cooldown","deadline","fallback_disabled"]'
	validated policy_results 1
}

queue_policy_errors() {
	records d "$OUT/policy-errors.jsonl"
	q_validate "$SCHEMAS/error.json" d
}

@test "policy: error records (missing_context, security limits, all_cooling_down, a bad deadline_ms) are valid" {
	run gojq -c '[.id, .error.code]' "$OUT/policy-errors.jsonl"
	assert_output "$(printf '%s\n' '["e-all","all_cooling_down"]' '["e-ctx","missing_context"]' '["e-many","too_many_files"]' \
	    '["e-forbidden","forbidden_path"]' '["e-allowed","file_not_allowed"]' '["e-notarray","invalid_request"]' '["e-deadline","invalid_request"]')"
	run gojq -c 'select(.id == "e-all") | .error | [.tool_id, (.retry_after_ms > 0), (.until | test("^[0-9-]+T[0-9:]+[.][0-9]{3}Z$"))]' "$OUT/policy-errors.jsonl"
	assert_output '["a",true,true]'
	run gojq -r 'select(.id == "e-ctx") | .error.message' "$OUT/policy-errors.jsonl"
	assert_output "missing_context: prompt"
	validated policy_errors 1
}

queue_policy_plans() {
	records d "$OUT/policy-plans.jsonl"
	q_validate "$SCHEMAS/routed.json" d
	gojq -s . "$OUT/policy-plans.jsonl" "$OUT/policy-results.jsonl" >invoke.json
	q_validate "$LINES/invoke-output.json" invoke.json -- "${RECORD_REFS[@]}"
}

@test "policy: --dry-run records (routed records with a plan) are valid, and lines/invoke-output.json takes them" {
	assert_equal "$(count "$OUT/policy_plans/d")" 4
	run gojq -c '[.plan[] | [.tool_id, .action, .reason]]' "$OUT/policy-plans.jsonl"
	assert_line --index 0 '[["a","skip","cooldown"],["b","run",null],["c","run",null]]'
	# a opened its cooldown after being routed: the plan sees it.
	assert_line --index 1 '[["a","skip","cooldown"],["b","run",null],["c","run",null]]'
	assert_line --index 3 '[["a","skip","cooldown"],["b","skip","fallback_disabled"],["c","skip","fallback_disabled"]]'
	run gojq -c '[.plan[0] | has("until"), has("message")]' "$OUT/policy-plans.jsonl"
	assert_output "$(printf '%s\n' '[false,true]' '[true,false]' '[false,true]' '[true,false]')"
	assert_equal "$(gojq -c 'select(has("attempts") or has("result"))' "$OUT/policy-plans.jsonl")" ""
	# The second: lines/invoke-output.json.
	validated policy_plans 2
}

queue_policy_audit() {
	mkdir e && find "$OUT/audit-policy" "$OUT/audit-plans" -type f -name '*.json' -exec cp -t e {} +
	q_validate "$SCHEMAS/audit-entry.json" e
	records d "$OUT/policy-plans-audited.jsonl"
	q_validate "$SCHEMAS/routed.json" d
	gojq -s . "$OUT/policy-plans-audited.jsonl" "$OUT/policy-audited.jsonl" >audit.json
	q_validate "$LINES/audit-output.json" audit.json -- "${RECORD_REFS[@]}"
}

@test "policy: audit entries of policy results, errors and dry runs are valid audit entries; audited dry runs stay valid" {
	assert_equal "$(count "$OUT/policy_audit/e")" $(($(wc -l <"$OUT/policy-results.jsonl") + $(wc -l <"$OUT/policy-errors.jsonl") + $(wc -l <"$OUT/policy-plans.jsonl")))
	validated policy_audit 3
}

# The broken policy records: schema # file # jq edit of a real record # a
# line of ajv's answer.
read -r -d '' POLICY_BREAKS <<'EOF' || :
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

queue_policy_breaks() {
	local s file filter want schemas=() prog='' args=() i=0 line
	local -A var
	# One jq for every edit: each file slurped once, the first record
	# each edit makes on a line (an empty line when none).
	while IFS='#' read -r s file filter want; do
		if [ -z "${var[$file]-}" ]; then
			var[$file]=f${#var[@]}
			args+=(--slurpfile "${var[$file]}" "$OUT/$file")
		fi
		prog+="${prog:+, }([\$${var[$file]}[] | $filter] | if . == [] then \"\" else (.[0] | tojson) end)"
		schemas+=("$s")
	done <<<"$POLICY_BREAKS"
	jq -nr "${args[@]}" "$prog" >bad.jsonl
	while IFS= read -r line; do
		printf '%s' "$line${line:+$'\n'}" >"bad$i.json"
		q_ajv validate -s "$SCHEMAS/${schemas[i]}.json" -d "bad$i.json"
		i=$((i + 1))
	done <bad.jsonl
}

@test "policy: broken policy records are refused" {
	local i=0 wants=() filters=()
	while IFS='#' read -r s file filter want; do
		[ -s "$OUT/policy_breaks/bad$i.json" ] || fail "no record for $filter"
		filters+=("$filter")
		wants+=("$want")
		i=$((i + 1))
	done <<<"$POLICY_BREAKS"
	ajv_results policy_breaks
	assert_equal ${#ajv_status[@]} 27
	for i in "${!wants[@]}"; do
		[ "${ajv_status[i]}" -ne 0 ] || fail "valid, want invalid: ${filters[i]}"
		[[ ${ajv_output[i]} == *"${wants[i]}"* ]] ||
		    fail "${filters[i]}: no '${wants[i]}' in: ${ajv_output[i]}"
	done
}

# q_edits SCHEMA FILE EDIT...: queues the validation against SCHEMA of
# each EDIT (jq) of FILE, made by one jq, as bad$nbad.json, nbad counting on.
q_edits() {
	local schema=$1 file=$2 prog='' e line
	shift 2
	for e in "$@"; do prog+="${prog:+, }($e)"; done
	while IFS= read -r line; do
		printf '%s\n' "$line" >"bad$nbad.json"
		q_ajv validate -s "$schema" -d "bad$((nbad++)).json"
	done < <(jq -c "$prog" "$file")
}

queue_policy_config() {
	local nbad=0 bad
	q_validate "$SCHEMAS/registry.json" "$REGS/policy/AIM_registry.json"
	q_validate "$SCHEMAS/rules.json" "$REGS/policy/AIM_cross-tool/AIM_coordination-rules.json"
	printf '%s\n' '{"deadline_ms": 0, "min_attempt_ms": 0, "retry_base_ms": 0, "retry_max_ms": 100, "retry_after_max_ms": 0, "allowed_fails": 1, "failure_window_ms": 1, "cooldown_ms": 0, "cooldown_long_ms": 0}' >cfg.json
	q_validate "$SCHEMAS/config.json" cfg.json
	for bad in '{"allowed_fails": 0}' '{"failure_window_ms": 0}' '{"deadline_ms": -1}' '{"cooldown_ms": 1.5}' '{"retry_after_ms": 5}'; do
		echo "$bad" >"bad$nbad.json"
		q_ajv validate -s "$SCHEMAS/config.json" -d "bad$((nbad++)).json"
	done
	q_edits "$SCHEMAS/rules.json" "$REGS/policy/AIM_cross-tool/AIM_coordination-rules.json" \
	    '.capabilities.gen.loadBalanceStrategy = "random"' '.capabilities.gen.fallback = true' \
	    '.capabilities.ctx.context_requirements.prompt = "maybe"' '.conflict_resolution.concurrent_access.strategy = "drop"' \
	    '.conflict_resolution.concurrent_access.max_concurrent = 0' '.security.max_file_count = -1' '.capabilities.gen.deadline_ms = -5'
	q_edits "$SCHEMAS/registry.json" "$REGS/policy/AIM_registry.json" \
	    '.tools.a.weight = -1' '.tools.a.cost = "cheap"' '.tools.b.max_retries = 0.5'
}

@test "policy: the policy registry and rules are valid; policy config keys are valid, bad values are not" {
	validated policy_config 3
	# Each of the 15 others is invalid (exit 1), none an error of ajv's (exit 2).
	assert_equal "${ajv_status[*]:3}" "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"
}

queue_scan() {
	PATH="$FIX/tools/bin1:$FIX/tools/bin2:$PATH"
	mkdir -p reg/AIM_adapters reg/AIM_cross-tool t/a t/b t/__pycache__
	cp "$ADAPTERS/ok.sh" reg/AIM_adapters/
	cat >reg/AIM_registry.json <<'EOF'
{"tools": {
  "fresh": {"detectCommands": ["aim-fx-fresh"], "versionCommand": ["aim-fx-fresh"], "version": "^1", "capabilities": ["cap"], "adapterScript": "AIM_adapters/ok.sh"},
  "stale": {"detectCommands": ["aim-fx-stale"], "versionCommand": ["aim-fx-stale"], "version": "1.2.3", "capabilities": ["cap"], "adapterScript": "AIM_adapters/ok.sh"},
  "shadow": {"detectCommands": ["aim-fx-shadow"], "versionCommand": ["aim-fx-shadow"], "configPaths": ["~/.x"], "capabilities": ["cap"]},
  "gone": {"detectCommands": ["aim-fx-gone"], "version": ">=1", "capabilities": ["cap"], "adapterScript": "AIM_adapters/ok.sh"},
  "bad": {"detectCommands": ["aim-fx-quiet"], "versionCommand": ["aim-fx-quiet"], "version": "latest", "capabilities": ["cap"], "adapterScript": "AIM_adapters/ok.sh"}}}
EOF
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
	records d scan.jsonl
	q_validate "$SCHEMAS/finding.json" d
	q_validate "$SCHEMAS/config.json" "$FIX/records/valid-config.scanner.json"
}

@test "aim-scan's finding records are valid finding records, every kind" {
	[ -x "$AJV" ] || skip "ajv-cli not installed"
	queued scan
	run gojq -sc '[.[].finding] | unique' "$OUT/scan/scan.jsonl"
	assert_output '["cache","clean","duplicate","health","health_summary","tool"]'
	run gojq -sc '[.[] | select(.finding == "tool") | .pin_status] | unique' "$OUT/scan/scan.jsonl"
	assert_output '["drift","invalid","missing","ok","unpinned"]'
	validated scan 2
}

queue_trail_entries() {
	mkdir e && find "$OUT/trail" -type f -name '*_aim_*.json' -exec cp -t e {} +
	q_validate "$SCHEMAS/audit-entry.json" e
}

@test "event and prune entries of the audit trail are valid audit entries" {
	assert_equal "$(count "$OUT/trail_entries/e")" 4
	run gojq -r .kind "$OUT/trail_entries/e"/*.json
	assert_output "$(printf '%s\n' secret_set secret_get secret_delete prune)"
	validated trail_entries 1
}

queue_audit_outputs() {
	records s "$OUT/stats.jsonl"
	records v "$OUT/verify.jsonl"
	records p "$OUT/prune.jsonl"
	q_validate "$SCHEMAS/audit-stats.json" s
	q_validate "$SCHEMAS/audit-verify.json" v
	q_validate "$SCHEMAS/audit-prune.json" p
}

@test "aim-audit stats, verify and prune outputs are valid against their schemas" {
	validated audit_outputs 3
	assert_equal "$(gojq -c .ok "$OUT/verify.jsonl" | tr '\n' ' ')" "true false "
	assert_equal "$(gojq -c 'has("entry")' "$OUT/prune.jsonl" | tr '\n' ' ')" "false true "
}

queue_result_cache() {
	fixture_registry "$FIX/rcache"
	local i
	# The first run stores, the second is a hit.
	for i in 1 2; do
		echo text >f1
		echo '{"capability": "formatting", "payload": {"files": ["f1"]}}' |
		    PATH=$FIX/rcache:$PATH aim-resolve -r reg >routed.json
		PATH=$FIX/rcache:$PATH aim-invoke <routed.json >result.json
	done
	aim-audit -d audit <result.json >/dev/null
	mkdir e && cp audit/*/*.json e/
	q_validate "$SCHEMAS/routed.json" routed.json
	q_validate "$SCHEMAS/result.json" result.json
	q_validate "$SCHEMAS/audit-entry.json" e
}

@test "the result cache's records are valid: a cache candidate, a cached result, its audit entry" {
	validated result_cache 3
	assert_equal "$(gojq -c '[.route.candidates[0].cache, .result.cached, .attempts[0].cached]' "$OUT/result_cache/result.json")" \
	    '[true,true,true]'
}

queue_verify_rounds() {
	fixture_registry "$FIX/workflow"
	echo start >a.txt
	# Rounds that fail verify, then a fallback that passes.
	echo '{"capability": "stuck", "payload": {"prompt": "p", "files": ["a.txt"]}}' |
	    aim-resolve -r reg >routed.json
	aim-invoke <routed.json >result.json
	aim-audit -d audit <result.json >/dev/null
	aim-audit stats -d audit >stats.json
	mkdir e && cp audit/*/*.json e/
	q_validate "$SCHEMAS/routed.json" routed.json
	q_validate "$SCHEMAS/result.json" result.json
	q_validate "$SCHEMAS/audit-entry.json" e
	q_validate "$SCHEMAS/audit-stats.json" stats.json
	q_validate "$SCHEMAS/rules.json" reg/AIM_cross-tool/AIM_coordination-rules.json
}

@test "verify-and-retry records are valid: the route's verify and max_rounds, rounds that failed verify, their audit entry and stats" {
	validated verify_rounds 5
	assert_equal "$(gojq -c '[.route.max_rounds, [.attempts[] | .outcome, .round, .verify.status]]' "$OUT/verify_rounds/result.json")" \
	    '[2,["verify_failed",1,"failed","verify_failed",2,"failed","success",1,"passed"]]'
}

queue_workflow() {
	fixture_registry "$FIX/workflow"
	echo start >a.txt
	# A named workflow that succeeds, steps whose middle one fails.
	printf '%s\n' '{"workflow": "tidy", "payload": {"files": ["a.txt"]}}' \
	    '{"steps": [{"capability": "refactoring", "prompt": "p"}, {"capability": "breaking"}, {"capability": "formatting"}], "payload": {"files": ["a.txt"]}}' >req.jsonl
	PATH=$FIX/workflow:$PATH aim-resolve -r reg <req.jsonl >routed.jsonl
	PATH=$FIX/workflow:$PATH want 1 aim-invoke <routed.jsonl >result.jsonl
	want 1 aim-audit -d audit <result.jsonl >/dev/null
	mkdir e && cp audit/*/*.json e/
	records q req.jsonl
	records r routed.jsonl
	records s result.jsonl
	q_validate "$SCHEMAS/request.json" q
	q_validate "$SCHEMAS/routed.json" r
	q_validate "$SCHEMAS/result.json" s
	q_validate "$SCHEMAS/audit-entry.json" e
}

@test "workflow records are valid: requests of steps, their routed and result records, their audit entries" {
	validated workflow 4
	assert_equal "$(gojq -c '[.result.success, [.steps[].result.success], [.attempts[].step]]' "$OUT/workflow/result.jsonl")" \
	    $'[true,[true,true,true],[0,1,2]]\n[false,[true,false,null],[0,1]]'
}
