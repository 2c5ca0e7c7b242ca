#!/usr/bin/env bats
# aim: the front command (status, health, scan, git-style aim-<sub>).

load helper

setup() {
	common_setup
	unset AIM_VAULT AIM_VAULT_KEYFILE XDG_DATA_HOME XDG_CACHE_HOME
	T=$BATS_TEST_TMPDIR
	BUILD=${AIM_TEST_BUILD:-$TOP/build}
}

# A registry with two tools (one ready) and two capabilities (one routable).
status_registry() {
	mkdir -p "$T/reg/AIM_adapters" "$T/reg/AIM_cross-tool"
	cp "$ADAPTERS/ok.sh" "$T/reg/AIM_adapters/ok.sh"
	cat >"$T/reg/AIM_registry.json" <<'EOF'
{"tools": {
  "ok": {"detectCommands": ["sh"], "capabilities": ["a"], "adapterScript": "AIM_adapters/ok.sh"},
  "gone": {"detectCommands": ["aim-no-such-tool"], "capabilities": ["b"], "adapterScript": "AIM_adapters/ok.sh"}}}
EOF
	cat >"$T/reg/AIM_cross-tool/AIM_coordination-rules.json" <<'EOF'
{"capabilities": {"a": {"primary": "ok", "fallback": []}, "b": {"primary": "gone", "fallback": []}}}
EOF
}

@test "aim --help lists the subcommands; no command is a usage error" {
	run -0 aim --help
	assert_line --index 0 'usage: aim [-hV] command [argument ...]'
	for sub in status health scan resolve invoke fanout apply audit secret \
	    init metrics install upgrade uninstall rollback sync bootstrap cache; do
		assert_line --regexp "^  $sub +"
	done
	run -2 aim
	assert_output - <<'EOF'
usage: aim [-hV] command [argument ...]
       aim status [-j] [--no-cache] [-c config] [-r registry]
EOF
	run -2 aim --frobnicate
	assert_line --index 0 'aim: unknown option --frobnicate'
	assert_line --index 1 'usage: aim [-hV] command [argument ...]'
	assert_equal "${#lines[@]}" 3
}

@test "aim --help has one line per option and names the man page; -V and --version print the version" {
	run -0 aim --help
	for o in '-h, --help' '-V, --version' '-c, --config=FILE' '-j, --json' '-r, --registry=DIR'; do
		assert_line --regexp "^  $o +[a-z]"
	done
	assert_line --index -1 'See aim(1).'
	run -0 aim -V
	assert_output 'aim 0.1.0'
	run -0 aim --version
	assert_output 'aim 0.1.0'
}

@test "aim secrets is aim secret, the seeds' name for it" {
	export AIM_VAULT=$T/vault
	run -0 aim secrets init --keyfile "$T/key"
	assert_file_exists "$T/vault"
	printf 'v' | aim secrets -k "$T/key" set x/y
	run -0 aim secrets -k "$T/key" get x/y
	assert_output v
	run -0 aim --help
	assert_line --regexp '^  secret +.*also secrets'
}

@test "a mistyped command gets the nearest one suggested, git style" {
	run -127 --separate-stderr aim stauts
	assert_equal "$stderr" "aim: 'stauts' is not an aim command (no aim-stauts next to aim, in /usr/local/bin or on PATH); did you mean 'status'?"
	run -127 --separate-stderr aim heath
	assert_equal "$stderr" "aim: 'heath' is not an aim command (no aim-heath next to aim, in /usr/local/bin or on PATH); did you mean 'health'?"
	run -127 --separate-stderr aim resolv
	assert_regex "$stderr" "did you mean 'resolve'\?$"
	# Nothing near: no guess.
	run -127 --separate-stderr aim xyz
	assert_regex "$stderr" '; see aim --help$'
}

@test "aim <sub> runs aim-<sub> from aim's own directory before PATH" {
	mkdir bin
	printf '#!/bin/sh\necho impostor\n' >bin/aim-resolve
	chmod +x bin/aim-resolve
	PATH="$T/bin:$PATH" run -0 aim resolve --version
	assert_output 'aim-resolve 0.1.0'
}

@test "aim <sub> finds aim-<sub> on PATH, passes the arguments and the exit status" {
	mkdir bin
	printf '#!/bin/sh\necho "$0 $*"\nexit 7\n' >bin/aim-frob
	chmod +x bin/aim-frob
	PATH="$T/bin:$PATH" run -7 aim frob -x 'two words'
	assert_output "$T/bin/aim-frob -x two words"
}

@test "no such command is exit 127, a command that can't run is 126" {
	run -127 --separate-stderr aim nosuch
	assert_equal "$stderr" "aim: 'nosuch' is not an aim command (no aim-nosuch next to aim, in /usr/local/bin or on PATH); see aim --help"
	run -127 --separate-stderr aim ../aim-resolve
	assert_equal "$stderr" "aim: '../aim-resolve' is not an aim command"
	mkdir bin
	printf '#!/bin/sh\necho no\n' >bin/aim-noexec
	chmod 644 bin/aim-noexec
	PATH="$T/bin:$PATH" run -126 --separate-stderr aim noexec
	assert_equal "$stderr" "aim: aim-noexec: not runnable: $T/bin/aim-noexec"
	printf '\177ELF-not-really' >bin/aim-badexec
	chmod 755 bin/aim-badexec
	PATH="$T/bin:$PATH" run -126 --separate-stderr aim badexec
	assert_equal "$stderr" "aim: aim-badexec: not runnable: $T/bin/aim-badexec: Exec format error"
}

@test "aim scan and aim health are aim-scan" {
	mkdir d
	head -c 2000 /dev/urandom >d/a
	cp d/a d/b
	run -1 aim scan dups -m 1 d
	assert_equal "$(jq -c .files <<<"$output")" '["d/a","d/b"]'
	status_registry
	run -1 aim health -r "$T/reg"
	assert_equal "$(jq -r 'select(.finding == "health_summary") | .overall_status' <<<"$output")" degraded
	run -0 aim health --warn-ok -r "$T/reg"
}

@test "aim status: registry, tools ready of total, capabilities routable, health, audit entries today" {
	status_registry
	day=$(date -u +%F)
	mkdir -p -m 700 "$T/reg/AIM_audit/$day" "$T/reg/AIM_audit/2000-01-01"
	touch "$T/reg/AIM_audit/$day/"{a,b,c}.json "$T/reg/AIM_audit/$day/tmp.partial" "$T/reg/AIM_audit/2000-01-01/old.json"
	run -0 --separate-stderr aim status -r "$T/reg"
	assert_output - <<EOF
registry      $T/reg
tools         1 of 2 ready
capabilities  1 of 2 routable (no ready tool: b)
health        degraded (5 pass, 3 warn, 0 fail; aim health for details)
cooldowns     none
audit         $T/reg/AIM_audit: 3 entries today ($day UTC)
EOF
}

@test "aim status shows the tools cooling down, with the class, the time left and the way out" {
	status_registry
	export XDG_STATE_HOME=$T/state
	mkdir -p "$T/state/aim"
	now=$(date +%s%3N)
	jq -nc --argjson u $((now + 90000)) --argjson p $((now - 1000)) --arg r "$(realpath "$T/reg")" \
	    '{version: 2, registries: {($r): {counters: {}, tools: {ok: {cooldown_until_ms: $u, cooldown_class: "auth", failures: [1]}, gone: {cooldown_until_ms: $p}}},
	    "/elsewhere": {tools: {other: {cooldown_until_ms: $u}}}}}' \
	    >"$T/state/aim/state.json"
	run -0 --separate-stderr aim status -r "$T/reg"
	# Generous bounds: the suite runs under ASan and under load.
	assert_line --index 4 --regexp '^cooldowns     ok until 20[0-9-]+T[0-9:.]+Z \(auth, ([3-8][0-9]|90) s left; aim-resolve --reset-cooldown ok\)$'
	run -0 aim status --json -r "$T/reg"
	run jq -c '[.cooldowns[] | [.tool_id, .class, (.retry_in_ms > 30000 and .retry_in_ms <= 90000)]]' <<<"$output"
	assert_output '[["ok","auth",true]]'
	aim-resolve -r "$T/reg" --reset-cooldown ok
	run -0 aim status -r "$T/reg"
	assert_line --index 4 'cooldowns     none'
}

@test "aim status --json: one object with the same figures" {
	status_registry
	run -0 --separate-stderr aim status --json -r "$T/reg"
	run jq -c '[.registry, .tools, .capabilities, .health.overall_status, .audit.entries_today, .audit.dir]' <<<"$output"
	assert_output "[\"$T/reg\",{\"ready\":1,\"total\":2},{\"routable\":1,\"total\":2,\"unroutable\":[\"b\"]},\"degraded\",0,\"$T/reg/AIM_audit\"]"
}

@test "aim status without a registry says where it looked; exit 3" {
	run -3 --separate-stderr aim status -r "$T/nowhere"
	assert_line --index 0 "registry      registry not found (looked in $T/nowhere); 'aim init' makes one"
	assert_line --index 1 "tools         0 of 0 ready"
	assert_line --index 5 "audit         $HOME/.local/state/aim/AIM_audit: 0 entries today ($(date -u +%F) UTC)"
}

@test "aim status: bad usage is exit 2; a failed write is exit 4" {
	run -2 aim status extra
	run -2 aim status --frob
	status_registry
	run -4 sh -c 'aim status -r "$1" >/dev/full' sh "$T/reg"
	assert_output 'aim: writing output failed'
}

@test "aim status: the audit directory follows AIM_AUDIT_DIR like aim-audit" {
	status_registry
	mkdir -p "$T/elsewhere/$(date -u +%F)"
	touch "$T/elsewhere/$(date -u +%F)/x.json"
	AIM_AUDIT_DIR=$T/elsewhere run -0 aim status -j -r "$T/reg"
	assert_equal "$(jq -c '[.audit.dir, .audit.entries_today]' <<<"$output")" "[\"$T/elsewhere\",1]"
}

@test "aim status on a broken registry or config says why, with file:line:column; exit 3" {
	status_registry
	{ echo '// the tools'; cat "$T/reg/AIM_registry.json"; } >r.json
	mv r.json "$T/reg/AIM_registry.json"
	echo '{"bogus": 1, "frob": 2}' >"$T/reg/aim_config.json"
	run -3 --separate-stderr aim status -r "$T/reg"
	assert_line --index 0 "registry      $T/reg: unusable"
	assert_line --index 1 "              $T/reg/AIM_registry.json:1:1: comments are not allowed in JSON"
	assert_line --index 2 "config        $T/reg/aim_config.json:1:2: unknown key \"bogus\" (and 1 more; aim health lists them)"
	assert_line --index 3 "tools         0 of 0 ready"
	run -3 --separate-stderr aim status -j -r "$T/reg"
	run jq -c '[.registry, .registry_usable, .registry_error, .config_error, .config_error_more]' <<<"$output"
	assert_output "[\"$T/reg\",false,\"$T/reg/AIM_registry.json:1:1: comments are not allowed in JSON\",\"$T/reg/aim_config.json:1:2: unknown key \\\"bogus\\\"\",1]"
	# A bad config alone: the registry line is fine, the config line says why.
	status_registry
	echo '{"bogus": 1}' >"$T/reg/aim_config.json"
	run -3 --separate-stderr aim status -r "$T/reg"
	assert_line --index 0 "registry      $T/reg"
	assert_line --index 1 "config        $T/reg/aim_config.json:1:2: unknown key \"bogus\""
	run -3 aim status -j -r "$T/reg"
	assert_equal "$(jq -c '[.registry_usable, has("registry_error"), .config_error]' <<<"$output")" "[true,false,\"$T/reg/aim_config.json:1:2: unknown key \\\"bogus\\\"\"]"
}

@test "aim status on a registry its user can't read says so; exit 3" {
	[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null || skip "needs root and setpriv(1) to run as nobody"
	d=$(mktemp -d /tmp/aim-status.XXXXXX)
	chmod 755 "$d"
	mkdir -p "$d/reg/AIM_adapters" "$d/reg/AIM_cross-tool" "$d/home"
	chown 65534 "$d/home"
	echo '{"tools": {}}' >"$d/reg/AIM_registry.json"
	echo '{"capabilities": {}}' >"$d/reg/AIM_cross-tool/AIM_coordination-rules.json"
	chmod 600 "$d/reg/AIM_registry.json"
	HOME=$d/home run -3 --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$BUILD/aim" status -r "$d/reg"
	rm -rf "$d"
	assert_line --index 0 "registry      $d/reg: unusable"
	assert_line --index 1 --regexp "^              $d/reg/AIM_registry.json: .*Permission denied"
}
