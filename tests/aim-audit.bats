#!/usr/bin/env bats
# aim-audit: entries, their names, modes and fields, redaction, where they go, exit codes.

load helper

CHAIN=$REGS/chain
USAGE="usage: aim-audit [-H] [-c config] [-d dir] [-r registry] [file ...]
       aim-audit [-c config] [-d dir] [-r registry] command [args]
       aim-audit keygen [-s seckey]
       aim-audit checkpoint [-s seckey]
       aim-audit verify [-k pubkey] [--checkpoint file ...]
       aim-audit prune [--days n] [--dry-run]
       aim-audit query [--capability capability] [--csv] [--failed]
              [--id id] [--kind kind] [-n count] [--since date]
              [--tool tool] [--until date]
       aim-audit stats
       aim-audit metrics [--textfile file]"
STAMP_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{6}'
ISO_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'
# Canaries of tests/fixtures/adapters/stderr-secret.sh.
CANARIES=(sk-ant-api03-CANARY abcdefghijklmnop0123456789 plain-canary-value AKIAABCDEFGHIJKLMNOP)

setup_file() {
	# The clock that stands still, for name collisions.
	frozen_clock_build
}

setup() {
	common_setup
}

# frozen CMD...: run CMD with CLOCK_REALTIME stopped at 2026-11-18T11:06:40.123456Z.
frozen() {
	frozen_at 1795000000 "$@"
}

# result_record ID [SUCCESS]: a finished result record of tool t, capability c.
result_record() {
	result_records "$1" 1 "${2:-true}"
}

# result_records PREFIX N [SUCCESS]: N of them, ids PREFIX1..PREFIXN (one jq
# run), or just PREFIX when N is 1.
result_records() {
	jq -nc --arg p "$1" --argjson n "$2" --argjson ok "${3:-true}" 'range(1; $n + 1) |
	    {id:(if $n == 1 then $p else $p + (. | tostring) end), capability:"c",
	    payload:{prompt:"p"}, actor:"pipeline",
	    route:{capability:"c", strategy:"ordered", registry:"/r", candidates:[
	      {tool_id:"t", status:"ready", argv:["/bin/true"], timeout_ms:1000}]},
	    attempts:[{tool_id:"t", outcome:(if $ok then "success" else "failure" end), exit_code:0, duration_ms:1}],
	    tool_id:(if $ok then "t" else null end),
	    result:(if $ok then {success:true, message:"done", content:{n:1}}
	      else {success:false, message:"All tools failed for capability '\''c'\'': t: nope", content:null} end)}'
}

# The day directory names of now, before and after a run, for exact messages.
today() {
	date -u +%Y-%m-%d
}

@test "--help prints the usage, every option on a line of its own and the manual page on stdout, exit 0" {
	run --separate-stderr aim-audit --help
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(head -n "$(wc -l <<<"$USAGE")" <<<"$output")" "$USAGE"
	assert_equal "${lines[-1]}" "See aim-audit(1)."
	# Every option of the synopsis and the option list, one line each.
	for o in -c,\ --config -d,\ --dir -H,\ --human -h,\ --help -r,\ --registry -V,\ --version -s -k \
	    --checkpoint --days --dry-run --capability --csv --failed --id --kind -n --since --tool --until \
	    --textfile; do
		assert_equal "$(grep -c -- "^  $o " <<<"$output")" 1
	done
	assert_equal "$(grep -c '^  -' <<<"$output")" 21
	# No line is wider than 80 columns.
	assert_equal "$(awk 'length($0) > 80' <<<"$output")" ""
	run aim-audit -h
	assert_success
	assert_equal "${lines[-1]}" "See aim-audit(1)."
	# A command's --help: its synopsis and options, then the global ones.
	run aim-audit query --help
	assert_success
	assert_equal "${lines[0]}" "usage: aim-audit [-c config] [-d dir] [-r registry] query [--capability capability] [--csv] [--failed]"
	assert_equal "${lines[-1]}" "See aim-audit(1)."
}

@test "a bad option prints the usage on stderr and exits 2" {
	run --separate-stderr aim-audit -x
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_equal "${stderr_lines[0]}" "aim-audit: invalid option -- 'x'"
	assert_equal "$(printf '%s\n' "${stderr_lines[@]:1}")" "$USAGE"
	run --separate-stderr aim-audit -d
	assert_equal "$status" 2
	assert_equal "$(printf '%s\n' "${stderr_lines[@]:1}")" "$USAGE"
}

@test "--version and -V print the version and exit 0" {
	run --separate-stderr aim-audit --version
	assert_success
	assert_output "aim-audit 0.1.0"
	assert_equal "$stderr" ""
	run --separate-stderr aim-audit -V
	assert_success
	assert_output "aim-audit 0.1.0"
	assert_equal "$stderr" ""
}

@test "one entry per result record at DIR/YYYY-MM-DD/<stamp>_<tool>_<capability>.json with the seed's fields" {
	result_record r1 >in.jsonl
	run --separate-stderr aim-audit -d audit in.jsonl
	assert_success
	assert_equal "$stderr" ""
	path=$(jq -r .audit.path <<<"$output")
	[[ $path =~ ^$PWD/audit/([0-9]{4}-[0-9]{2}-[0-9]{2})/(${STAMP_RE})_t_c\.json$ ]] || fail "bad path $path"
	[[ ${BASH_REMATCH[2]} == "${BASH_REMATCH[1]}"T* ]] || fail "day directory and stamp disagree: $path"
	assert_equal "$(find audit -type f -name '*.json' | wc -l)" 1
	assert_file_exists "$path"
	run jq -c -S '[.actor, .tool_id, .capability, .payload, .result, .id, .attempts, .contract, has("error")]' "$path"
	assert_output '["pipeline","t","c",{"prompt":"p"},{"content":{"n":1},"message":"done","success":true},"r1",[{"duration_ms":1,"exit_code":0,"outcome":"success","tool_id":"t"}],"AIM_INTEGRATION_V1",false]'
	run jq -r .timestamp "$path"
	assert_output --regexp "$ISO_RE"
}

@test "the entry's timestamp is the same clock reading as its file name" {
	result_record r1 >in.jsonl
	path=$(aim-audit -d audit in.jsonl | jq -r .audit.path)
	stamp=$(basename "$path")
	stamp=${stamp%%_*}	# 2026-11-21T16-23-37-346932
	ts=$(jq -r .timestamp "$path")	# 2026-11-21T16:23:37.346932Z
	assert_equal "${ts:0:10}" "${stamp:0:10}"
	assert_equal "${ts:11:2}${ts:14:2}${ts:17:2}${ts:20:6}" "${stamp:11:2}${stamp:14:2}${stamp:17:2}${stamp:20:6}"
	assert_equal "$(basename "$(dirname "$path")")" "${stamp:0:10}"
	# And it is now, give or take a minute.
	[ $(($(date -u +%s) - $(date -u -d "${ts%Z}" +%s))) -lt 60 ]
}

@test "with a stopped clock the entry is exactly the record's fields, timestamp and contract" {
	result_record r1 >in.jsonl
	run frozen aim-audit -d audit in.jsonl
	assert_success
	assert_equal "$(jq -r .audit.path <<<"$output")" "$PWD/audit/2026-11-18/2026-11-18T11-06-40-123456_t_c.json"
	run jq -c -S . audit/2026-11-18/2026-11-18T11-06-40-123456_t_c.json
	assert_output '{"actor":"pipeline","attempts":[{"duration_ms":1,"exit_code":0,"outcome":"success","tool_id":"t"}],"capability":"c","contract":"AIM_INTEGRATION_V1","id":"r1","payload":{"prompt":"p"},"prev":"0000000000000000000000000000000000000000000000000000000000000000","result":{"content":{"n":1},"message":"done","success":true},"seq":1,"timestamp":"2026-11-18T11:06:40.123456Z","tool_id":"t"}'
	# The entry's fields in aim-audit's order: real jq (gojq iterates keys
	# sorted).
	run command jq -c keys_unsorted audit/2026-11-18/2026-11-18T11-06-40-123456_t_c.json
	assert_output '["timestamp","actor","tool_id","capability","payload","result","id","attempts","contract","seq","prev"]'
}

@test "every record passes through unchanged except for the added audit.path naming its entry" {
	{
		result_record r1
		result_record r2 false
		echo '{"id":"e","capability":"x","payload":{},"error":{"stage":"resolve","code":"unknown_capability","message":"unknown capability '"'x'"'","line":3}}'
		echo '{"id":"q","capability":"x","payload":{"n":[1,2,{"deep":null}]},"extra":"kept"}'
	} >in.jsonl
	run --separate-stderr aim-audit -d audit in.jsonl
	assert_failure 1
	assert_equal "${#lines[@]}" 4
	printf '%s\n' "$output" >out.jsonl
	assert_equal "$(jq -c -S 'del(.audit)' out.jsonl)" "$(jq -c -S . in.jsonl)"
	run jq -c '.audit | keys' out.jsonl
	assert_output "$(for i in 1 2 3 4; do echo '["path"]'; done)"
	# Each path is a distinct file holding that record's entry.
	mapfile -t paths < <(jq -r .audit.path out.jsonl)
	mapfile -t ids < <(jq -r .id out.jsonl)
	assert_equal "$(printf '%s\n' "${paths[@]}" | sort -u | wc -l)" 4
	for i in 0 1 2 3; do
		assert_file_exists "${paths[$i]}"
		assert_equal "$(jq -r .id "${paths[$i]}")" "${ids[$i]}"
	done
	assert_equal "$(find audit -type f -name '*.json' | wc -l)" 4
}

@test "an error record is logged with tool_id none, its error and a failed result; exit 1" {
	echo '{"id":"e","capability":"teleport","payload":{"a":1},"actor":"me","error":{"stage":"resolve","code":"unknown_capability","message":"unknown capability '"'teleport'"'","line":7}}' >in.jsonl
	run --separate-stderr aim-audit -d audit in.jsonl
	assert_failure 1
	assert_equal "$stderr" ""
	path=$(jq -r .audit.path <<<"$output")
	[[ $path =~ /${STAMP_RE}_none_teleport\.json$ ]] || fail "bad path $path"
	run jq -c -S '[.actor, .tool_id, .capability, .payload, .result, .id, .attempts, .contract, .error]' "$path"
	assert_output '["me","none","teleport",{"a":1},{"content":null,"message":"unknown capability '"'teleport'"'","success":false},"e",[],"AIM_INTEGRATION_V1",{"code":"unknown_capability","line":7,"message":"unknown capability '"'teleport'"'","stage":"resolve"}]'
}

@test "an error record whose request named a tool is still logged as tool none" {
	# aim-resolve keeps the request's tool_id in an unknown_tool error record.
	jq -nc '{capability:"lb", tool_id:"nope", payload:{}}' | aim-resolve -r "$CHAIN" 2>/dev/null >in.jsonl || true
	assert_equal "$(jq -r .error.code in.jsonl)" unknown_tool
	run aim-audit -d audit in.jsonl
	assert_failure 1
	path=$(jq -r .audit.path <<<"$output")
	assert_equal "$(jq -r .tool_id "$path")" none
	[[ $path =~ _none_lb\.json$ ]] || fail "entry named after the tool that never ran: $path"
}

@test "lines that are not JSON objects become audit error records, are logged, exit 1" {
	printf 'not json\n[1]\n\n{"id":"ok"}\n' >in.jsonl
	run --separate-stderr aim-audit -d audit in.jsonl
	assert_failure 1
	assert_equal "${#lines[@]}" 3
	assert_equal "${stderr_lines[0]}" "aim-audit: in.jsonl:1: invalid JSON at column 3: '[' or '{' expected near 'not'"
	assert_equal "${stderr_lines[1]}" "aim-audit: in.jsonl:2: a record must be a JSON object"
	assert_equal "${#stderr_lines[@]}" 2
	printf '%s\n' "$output" >out.jsonl
	id1=$(jq -r .id <<<"${lines[0]}")
	run jq -c '[.input, .error.stage, .error.code, .error.line, (.id | test("^[0-9a-f-]{36}$"))]' out.jsonl
	assert_line --index 0 '["not json","audit","invalid_json",1,true]'
	assert_line --index 1 '["[1]","audit","invalid_record",2,true]'
	assert_line --index 2 '[null,null,null,null,false]'
	# Both are on record as tool none.
	mapfile -t paths < <(jq -r .audit.path out.jsonl)
	run jq -c '[.tool_id, .error.code, .result.success, .id == $id]' --arg id "$id1" "${paths[0]}"
	assert_output '["none","invalid_json",false,true]'
	run jq -c '[.tool_id, .error.code, .error.stage]' "${paths[1]}"
	assert_output '["none","invalid_record","audit"]'
	[[ ${paths[0]} =~ _none_none\.json$ ]] || fail "bad path ${paths[0]}"
}

@test "a request or routed record audited mid-pipeline: tool none, capability from route, no result" {
	jq -nc '{id:"rt", payload:{}, route:{capability:"lb", strategy:"ordered", registry:"/r", candidates:[]}}' >in.jsonl
	run aim-audit -d audit in.jsonl
	assert_success	# not a failure: nothing has run yet
	path=$(jq -r .audit.path <<<"$output")
	[[ $path =~ _none_lb\.json$ ]] || fail "bad path $path"
	run jq -c '[.tool_id, .capability, .id, .attempts, .result == null, .actor]' "$path"
	assert_output '["none","lb","rt",[],true,"pipeline"]'
}

@test "actor comes from the record, else from config actor" {
	echo '{"actor": "nightly"}' >cfg.json
	printf '%s\n' '{"id":"a","actor":"alice"}' '{"id":"b"}' >in.jsonl
	aim-audit -c cfg.json -d audit in.jsonl >out.jsonl
	run sh -c 'jq -r .audit.path out.jsonl | xargs -n1 jq -r .actor'
	assert_output "$(printf 'alice\nnightly')"
}

@test "tool and capability cannot steer the file name out of the day directory" {
	jq -nc '{id:"x", tool_id:"../../etc/passwd x", capability:".hidden/..", payload:{}}' >in.jsonl
	run aim-audit -d audit in.jsonl
	assert_success
	path=$(jq -r .audit.path <<<"$output")
	assert_equal "$(dirname "$path")" "$PWD/audit/$(basename "$(dirname "$path")")"
	assert_equal "$(basename "$path" | sed -E "s/^${STAMP_RE}//")" "_-.-..-etc-passwd-x_-hidden-...json"
	assert_equal "$(find audit -type f -name '*.json' | wc -l)" 1
}

# modes UMASK: write one entry under a new nested dir with that umask and
# check 0600 files, 0700 directories.
modes() {
	result_record r1 >in.jsonl
	(umask "$1" && aim-audit -d new/nested/audit in.jsonl >out.jsonl)
	path=$(jq -r .audit.path out.jsonl)
	assert_equal "$(stat -c %a "$path")" 600
	assert_equal "$(stat -c %a "$(dirname "$path")")" 700
	assert_equal "$(stat -c %a new/nested/audit)" 700
	assert_equal "$(stat -c %a new/nested)" 700
	assert_equal "$(stat -c %a new)" 700
	# No temporary file is left behind.
	assert_equal "$(find new -name '.tmp-*' | wc -l)" 0
}

@test "entries are 0600 and directories 0700 under umask 000" {
	modes 000
}

@test "entries are 0600 and directories 0700 under umask 077" {
	modes 077
}

@test "entries are 0600 under umask 022 in an audit dir that already exists" {
	mkdir -m 0755 audit
	result_record r1 >in.jsonl
	(umask 022 && aim-audit -d audit in.jsonl >out.jsonl)
	path=$(jq -r .audit.path out.jsonl)
	assert_equal "$(stat -c %a "$path")" 600
	assert_equal "$(stat -c %a "$(dirname "$path")")" 700
}

@test "a new audit directory gets a 0600 .gitignore of *; verify, query, stats and prune pass it by" {
	mkdir repo
	result_record r1 | frozen aim-audit -d repo/x/audit >/dev/null
	assert_equal "$(cat repo/x/audit/.gitignore)" '*'
	assert_equal "$(stat -c '%a %s' repo/x/audit/.gitignore)" "600 2"
	if command -v git >/dev/null; then
		git init -q repo
		assert_equal "$(git -C repo status --porcelain --untracked-files=all)" ""
	fi
	# No temporary file left beside it.
	assert_equal "$(cd repo/x/audit && echo .g*)" .gitignore
	# Written once: kept as the user leaves it.
	echo '!keep' >>repo/x/audit/.gitignore
	result_record r2 | aim-audit -d repo/x/audit >/dev/null
	assert_equal "$(cat repo/x/audit/.gitignore)" $'*\n!keep'
	run aim-audit verify -d repo/x/audit
	assert_success
	assert_equal "$(jq -c '[.entries, .problems]' <<<"$output")" '[2,0]'
	assert_equal "$(aim-audit query -d repo/x/audit | jq -r .id | tr '\n' ' ')" "r1 r2 "
	size=$(cat repo/x/audit/*/*.json | wc -c)
	assert_equal "$(aim-audit stats -d repo/x/audit | jq -c '[.entries, .size_bytes]')" "[2,$size]"
	run --separate-stderr aim-audit prune -d repo/x/audit --days 1
	assert_success
	assert_equal "$stderr" ""
	assert_file_exists repo/x/audit/.gitignore
	# A directory that was there already is the user's: nothing added.
	mkdir mine
	result_record r3 | aim-audit -d mine >/dev/null
	assert_file_not_exists mine/.gitignore
}

@test "500 entries of one tool and capability written fast all survive" {
	result_records r 500 >in.jsonl
	run aim-audit -d audit in.jsonl
	assert_success
	assert_equal "${#lines[@]}" 500
	assert_equal "$(find audit -type f -name '*_t_c*.json' | wc -l)" 500
	assert_equal "$(find audit -name '.tmp-*' | wc -l)" 0
	assert_equal "$(cat audit/*/*.json | jq -r .id | sort -u | wc -l)" 500
	assert_equal "$(jq -r .audit.path <<<"$output" | sort -u | wc -l)" 500
}

@test "a name taken in the same microsecond gets -2, -3, ... and a later run goes on counting" {
	result_record r1 >in.jsonl
	result_record r2 >>in.jsonl
	result_record r3 >>in.jsonl
	run frozen aim-audit -d audit in.jsonl
	assert_success
	base=$PWD/audit/2026-11-18/2026-11-18T11-06-40-123456_t_c
	run jq -r .audit.path <<<"$output"
	assert_output "$(printf '%s\n' "$base.json" "$base-2.json" "$base-3.json")"
	run frozen aim-audit -d audit in.jsonl
	assert_equal "$(jq -r .audit.path <<<"${lines[0]}")" "$base-4.json"
	assert_equal "$(jq -r .id "$base.json") $(jq -r .id "$base-2.json") $(jq -r .id "$base-3.json")" "r1 r2 r3"
	assert_equal "$(find audit -type f -name '*.json' | wc -l)" 6
}

@test "two aim-audit processes at once in the same microsecond lose no entry" {
	result_records a 200 >a.jsonl
	result_records b 200 >b.jsonl
	frozen aim-audit -d audit a.jsonl >a.out &
	frozen aim-audit -d audit b.jsonl >b.out &
	wait %1 && wait %2
	assert_equal "$(find audit -type f -name '*.json' | wc -l)" 400
	assert_equal "$(cat audit/*/*.json | jq -r .id | sort -u | wc -l)" 400
	assert_equal "$(cat a.out b.out | jq -r .audit.path | sort -u | wc -l)" 400
	# Every path a process reported holds that process's record.
	jq -r '"\(.audit.path) \(.id)"' a.out b.out | sort >reported.txt
	jq -r '"\(input_filename) \(.id)"' "$PWD"/audit/*/*.json | sort >on-disk.txt
	assert_files_equal reported.txt on-disk.txt
	assert_equal "$(wc -l <on-disk.txt)" 400
}

@test "audit dir: -d > AIM_AUDIT_DIR > config audit_dir > registry AIM_audit > XDG_STATE_HOME" {
	cp -R "$CHAIN" reg
	echo "{\"audit_dir\": \"$PWD/from-config\"}" >cfg.json
	export XDG_STATE_HOME=$PWD/state AIM_AUDIT_DIR=$PWD/from-env
	where() { echo '{"id":"x"}' | aim-audit "$@" 2>/dev/null | jq -r .audit.path | sed -E 's|/[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]*$||'; }
	assert_equal "$(where -d "$PWD/from-opt" -c cfg.json -r reg)" "$PWD/from-opt"
	assert_equal "$(where -c cfg.json -r reg)" "$PWD/from-env"
	unset AIM_AUDIT_DIR
	assert_equal "$(where -c cfg.json -r reg)" "$PWD/from-config"
	assert_equal "$(where -r reg)" "$PWD/reg/AIM_audit"
	assert_equal "$(AIM_REGISTRY_PATH=$PWD/reg where)" "$PWD/reg/AIM_audit"
	assert_equal "$(where)" "$PWD/state/aim/AIM_audit"
}

@test "without a registry entries go to XDG_STATE_HOME with a note on stderr" {
	export XDG_STATE_HOME=$PWD/state
	run --separate-stderr aim-audit < <(echo '{"id":"x"}')
	assert_success
	assert_equal "$stderr" "aim-audit: no registry found; writing audit entries to $PWD/state/aim/AIM_audit"
	[[ $(jq -r .audit.path <<<"$output") == "$PWD/state/aim/AIM_audit/"*/*_none_none.json ]] || fail "$output"
	# XDG_STATE_HOME unset: under HOME.
	unset XDG_STATE_HOME
	run --separate-stderr aim-audit < <(echo '{"id":"x"}')
	assert_success
	assert_equal "$stderr" "aim-audit: no registry found; writing audit entries to $HOME/.local/state/aim/AIM_audit"
	assert_file_exists "$(jq -r .audit.path <<<"$output")"
}

@test "relative -d and AIM_AUDIT_DIR are taken from the working directory, config audit_dir from the registry" {
	cp -R "$CHAIN" reg
	echo '{"audit_dir": "rel-audit"}' >reg/aim_config.json
	mkdir wd && cd wd
	path=$(echo '{}' | aim-audit -d d1 | jq -r .audit.path)
	[[ $path == "$PWD/d1/"* ]] || fail "$path"
	path=$(echo '{}' | AIM_AUDIT_DIR=d2 aim-audit | jq -r .audit.path)
	[[ $path == "$PWD/d2/"* ]] || fail "$path"
	path=$(echo '{}' | aim-audit -r ../reg | jq -r .audit.path)
	assert_equal "$(cd "$(dirname "$path")/.." && pwd -P)" "$(cd ../reg && pwd -P)/rel-audit"
}

@test "the canary secrets of stderr-secret.sh never reach the audit files" {
	routed sec "$ADAPTERS/stderr-secret.sh" 5000 '{prompt:"p"}' | aim-invoke >invoked.jsonl
	assert_equal "$(jq -r .result.success invoked.jsonl)" true
	# The canaries are really there before aim-audit.
	for c in "${CANARIES[@]}"; do
		grep -q -- "$c" invoked.jsonl || fail "canary $c missing from aim-invoke output"
	done
	run aim-audit -d audit invoked.jsonl
	assert_success
	for c in "${CANARIES[@]}"; do
		run grep -r -- "$c" audit
		assert_failure 1
	done
	path=$(find audit -type f -name '*.json')
	run jq -c '[.result.message, .result.content.api_key, .result.content.nested.url, .attempts[0].stderr, .attempts[0].message]' "$path"
	assert_output '["used Authorization: Bearer [REDACTED]","[REDACTED]","https://x.invalid/?key=[REDACTED]","token [REDACTED]\n","used Authorization: Bearer [REDACTED]"]'
}

@test "vault secrets holding every key pattern are redacted whole, plain, JSON-escaped and base64, through aim-invoke and aim-audit" {
	export AIM_VAULT=$PWD/vault AIM_VAULT_KEYFILE=$PWD/vault.key
	aim-secret init --keyfile "$AIM_VAULT_KEYFILE" >/dev/null 2>&1
	i=0
	map='{}'
	for p in sk-abcdefghijklmnop0123 AKIAABCDEFGHIJKLMNOP ghp_abcdefghijklmnopqrst12 \
	    gho_abcdefghijklmnopqrst12 ghu_abcdefghijklmnopqrst12 ghs_abcdefghijklmnopqrst12 \
	    ghr_abcdefghijklmnopqrst12 github_pat_abcdefghijklmnopqrstuv \
	    AIzaabcdefghijklmnopqrstuvwxyz0123456 xoxb-1234567890-TOKENPART \
	    xoxp-1234567890-TOKENPART 'Bearer abcdefgh12345678' 'bearer abcdefgh12345678'; do
		i=$((i + 1))
		printf '%s"tail-%d-of-secret' "$p" "$i" | aim-secret set "s/$i" 2>/dev/null
		map=$(jq -c --arg i "$i" '. + {("SECRET_" + $i): ("s/" + $i)}' <<<"$map")
	done
	jq -nc --arg a "$ADAPTERS/echo-secrets.sh" --argjson s "$map" \
	    '{id:"s", capability:"test", payload:{}, route:{capability:"test", strategy:"ordered",
	      registry:"/nonexistent", candidates:[{tool_id:"t", status:"ready", argv:[$a],
	      timeout_ms:5000, secrets:$s}]}}' | aim-invoke >invoked.jsonl
	# The same values in a record no aim-invoke redacted: aim-audit's own vault.
	SECRET_ALL=$(for k in $(seq 1 13); do aim-secret get "s/$k" 2>/dev/null; echo; done)
	export SECRET_ALL
	jq -nc '[env.SECRET_ALL | split("\n")[] | select(. != "")] as $v |
	    {id:"raw", capability:"test", payload:{}, tool_id:"t",
	     result:{success:true, message:($v | join(" ")),
	       content:{plain:$v, json:($v | tojson), b64:($v | map(@base64))}}}' >raw.jsonl
	assert_equal "$(grep -c 'tail-13-of-secret' raw.jsonl)" 1
	run --separate-stderr aim-audit -d audit invoked.jsonl raw.jsonl
	assert_success
	run grep -r -- '-of-secret' invoked.jsonl audit
	assert_failure 1
	for e in audit/*/*.json; do
		assert_equal "$(jq -c '[.result.content.plain[], .result.content.b64[], (.result.content.b64url // [])[], (.result.content.json | fromjson)[]] | unique' "$e")" '["[REDACTED]"]'
		assert_equal "$(jq -r '.result.message | split(" ") | unique | join(" ")' "$e")" '[REDACTED]'
	done
	assert_equal "$(jq -r 'select(.id == "s") | .attempts[0].stderr | rtrimstr("\n")' audit/*/*.json | sort)" \
	    "$(for k in $(seq 1 13); do echo "SECRET_$k=[REDACTED]"; done | sort)"
}

@test "secret payload keys are redacted in the entry, max_tokens is not; stdout passes through unredacted" {
	routed sec "$ADAPTERS/ok.sh" 5000 '{api_key:"k-canary-1", password:"pw-canary-2", GITHUB_TOKEN:"gh-canary-3", apiKey:"camel-canary-4", "X-Api-Key":"hdr-canary-5", max_tokens:77, key:"plain", keys:["k"], empty_token:"", null_secret:null}' |
	    aim-invoke >invoked.jsonl
	run aim-audit -d audit invoked.jsonl
	assert_success
	# The record on stdout is not redacted: only audit files are.
	assert_equal "$(jq -c -S 'del(.audit)' <<<"$output")" "$(jq -c -S . invoked.jsonl)"
	assert_equal "$(jq -r .payload.api_key <<<"$output")" k-canary-1
	path=$(jq -r .audit.path <<<"$output")
	run jq -c -S '.payload' "$path"
	assert_output '{"GITHUB_TOKEN":"[REDACTED]","X-Api-Key":"[REDACTED]","apiKey":"[REDACTED]","api_key":"[REDACTED]","empty_token":"","key":"plain","keys":["k"],"max_tokens":77,"null_secret":null,"password":"[REDACTED]"}'
	# ok.sh echoes the payload: the copy in the result is redacted too.
	assert_equal "$(jq -c '.result.content.echo' "$path")" "$(jq -c .payload "$path")"
	run grep -rE -- '-canary-[0-9]' audit
	assert_failure 1
}

@test "an audit dir below a regular file: can't create ...: Not a directory, audit.error, exit 4" {
	touch afile
	result_record r1 >in.jsonl
	run --separate-stderr aim-audit -d afile/audit <in.jsonl
	assert_equal "$status" 4
	msg="can't create $PWD/afile/audit: Not a directory"
	assert_equal "$stderr" "aim-audit: <stdin>:1: $msg"
	# The record still passes through, with the reason instead of a path.
	assert_equal "$(jq -c -S 'del(.audit)' <<<"$output")" "$(jq -c -S . in.jsonl)"
	run jq -r '.audit | keys[0], .error' <<<"$output"
	assert_line --index 0 error
	assert_line --index 1 "$msg"
}

@test "an audit dir under /proc cannot be created: exit 4, every record still passes" {
	[ -d /proc/self ] || skip "no /proc"
	{ result_record r1; result_record r2; } >in.jsonl
	run --separate-stderr aim-audit -d /proc/aim-test-audit in.jsonl
	assert_equal "$status" 4
	assert_equal "${#lines[@]}" 2
	assert_equal "${#stderr_lines[@]}" 2
	assert_equal "${stderr_lines[1]}" "aim-audit: in.jsonl:2: can't create /proc/aim-test-audit: No such file or directory"
	run jq -r '.id + " " + .audit.error' <<<"$output"
	assert_line --index 0 "r1 can't create /proc/aim-test-audit: No such file or directory"
	assert_line --index 1 "r2 can't create /proc/aim-test-audit: No such file or directory"
}

@test "exit 0 when every record succeeded, 1 for an error record or a failed result" {
	{ result_record a; result_record b; } >ok.jsonl
	run aim-audit -d audit ok.jsonl
	assert_success
	result_record c false >failed.jsonl
	run aim-audit -d audit failed.jsonl
	assert_failure 1
	echo '{"id":"e","error":{"stage":"resolve","code":"invalid_json","message":"m","line":1},"input":"x"}' >err.jsonl
	run aim-audit -d audit err.jsonl
	assert_failure 1
	# A result whose success is not true is a failure too.
	echo '{"id":"s","result":{"success":"yes"}}' >odd.jsonl
	run aim-audit -d audit odd.jsonl
	assert_failure 1
	run aim-audit -d audit ok.jsonl failed.jsonl ok.jsonl
	assert_failure 1
	assert_equal "${#lines[@]}" 5
}

@test "writing to a full device fails with exit 4" {
	result_record r1 >in.jsonl
	run --separate-stderr sh -c 'aim-audit -d audit in.jsonl >/dev/full'
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: writing output failed"
	# The entry itself was written before the output failed.
	assert_equal "$(find audit -type f -name '*.json' | wc -l)" 1
}

@test "a file that cannot be opened is exit 4, the others are still audited" {
	result_record a >a.jsonl
	result_record b false >b.jsonl
	run --separate-stderr aim-audit -d audit a.jsonl nope.jsonl b.jsonl
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-audit: can't open nope.jsonl: No such file or directory"
	run jq -r .id <<<"$output"
	assert_output "$(printf 'a\nb')"
	assert_equal "$(find audit -type f -name '*.json' | wc -l)" 2
}

@test "a malformed config: file:line:column, exit 3, entries still written with the defaults" {
	printf '{\n  "actor": 5\n}\n' >cfg.json
	result_record r1 | jq -c 'del(.actor)' >in.jsonl
	run --separate-stderr aim-audit -c cfg.json -d audit in.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-audit: cfg.json:2:12: actor must be a string"
	path=$(jq -r .audit.path <<<"$output")
	assert_equal "$(jq -r .actor "$path")" pipeline
}

@test "-r naming a missing registry: a warning, exit 3, entries still written" {
	export XDG_STATE_HOME=$PWD/state
	run --separate-stderr aim-audit -r "$PWD/nowhere" < <(result_record r1)
	assert_equal "$status" 3
	assert_equal "${stderr_lines[0]}" "aim-audit: registry not found (looked in $PWD/nowhere); 'aim init' makes one"
	assert_equal "${stderr_lines[1]}" "aim-audit: no registry found; writing audit entries to $PWD/state/aim/AIM_audit"
	assert_file_exists "$(jq -r .audit.path <<<"$output")"
}

@test "the whole pipeline on the chain registry leaves one entry per request in the registry's AIM_audit" {
	cp -R "$CHAIN" reg
	{
		jq -nc '{id:"g", capability:"code_generation", payload:{}}'
		jq -nc '{id:"h", capability:"ghost", payload:{}}'
		jq -nc '{id:"u", capability:"teleport", payload:{}}'
	} >in.jsonl
	{
		aim-resolve -r reg in.jsonl 2>/dev/null | aim-invoke -r reg 2>/dev/null | aim-audit -r reg >out.jsonl
		st=("${PIPESTATUS[@]}")
	} || true
	assert_equal "${st[*]}" "1 1 1"
	run jq -r '.id + " " + (.audit.path | sub(".*/"; "") | sub("^[0-9T-]{26}"; ""))' out.jsonl
	assert_output "$(printf '%s\n' 'g _ok1_code_generation.json' 'h _none_ghost.json' 'u _none_teleport.json')"
	assert_equal "$(find reg/AIM_audit -type f -name '*.json' | wc -l)" 3
}
