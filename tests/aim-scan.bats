#!/usr/bin/env bats
# aim-scan: tools and pins, health, duplicate files, caches, clean.

load helper

TOOLS=$FIX/tools
# The npm CLIs of tests/tools-install, found before setup moves HOME.
NPM_BIN=${AIM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aim-test-tools}/node_modules/.bin

setup() {
	common_setup
	unset AIM_VAULT AIM_VAULT_KEYFILE XDG_DATA_HOME XDG_CACHE_HOME
	T=$BATS_TEST_TMPDIR
	PATH="$TOOLS/bin1:$TOOLS/bin2:$PATH"
}

# registry DIR TOOLS_JSON [RULES_JSON]: a registry whose tools all use ok.sh.
registry() {
	mkdir -p "$1/AIM_adapters" "$1/AIM_cross-tool"
	cp "$ADAPTERS/ok.sh" "$1/AIM_adapters/ok.sh"
	printf '{"tools": %s}\n' "$2" >"$1/AIM_registry.json"
	printf '%s\n' "${3:-{\"capabilities\": {\}\}}" \
	    >"$1/AIM_cross-tool/AIM_coordination-rules.json"
}

# tool DETECT [PIN] [VERSION_CMD]: one tool entry.
tool() {
	jq -nc --arg d "$1" --arg p "${2-}" --arg v "${3:-$1}" \
	    '{name: $d, detectCommands: [$d], versionCommand: [$v, "--version"],
	      capabilities: ["cap"], adapterScript: "AIM_adapters/ok.sh"}
	     + (if $p == "" then {} else {version: $p} end)'
}

# The registry of the tools tests: every case of the issue.
scan_registry() {
	registry "$T/reg" "$(jq -n \
	    --argjson fresh "$(tool aim-fx-fresh '^1.2.0')" \
	    --argjson stale "$(tool aim-fx-stale '1.2.3')" \
	    --argjson gone "$(tool aim-fx-gone '>=1')" \
	    --argjson hang "$(tool aim-fx-hang)" \
	    --argjson quiet "$(tool aim-fx-quiet)" \
	    --argjson err "$(tool aim-fx-stderr '~17.0')" \
	    --argjson shadow "$(tool aim-fx-shadow '>=2 <3')" \
	    '{fresh: $fresh, stale: $stale, gone: $gone, hang: $hang, quiet: $quiet,
	      stderr: $err, shadow: $shadow,
	      nodetect: {name: "no detect", capabilities: ["cap"], adapterScript: "AIM_adapters/ok.sh"}}')"
	echo '{"version_timeout_ms": 300, "kill_grace_ms": 200}' >"$T/reg/aim_config.json"
}

@test "tools: one record per registry tool, with status, command, path and version" {
	scan_registry
	run -1 --separate-stderr aim-scan -r "$T/reg"
	assert_equal "$(jq -s length <<<"$output")" 8
	run jq -c 'select(.tool_id == "fresh") | [.finding, .status, .command, .path, .version, .version_output, .pin, .pin_status, .adapter.status]' <<<"$output"
	assert_output "[\"tool\",\"ready\",\"aim-fx-fresh\",\"$TOOLS/bin1/aim-fx-fresh\",\"1.4.2\",\"aim-fx-fresh 1.4.2\",\"^1.2.0\",\"ok\",\"ready\"]"
}

@test "tools: a version outside the pin is drift, with both versions shown; the exit status is 1" {
	scan_registry
	run -1 --separate-stderr aim-scan -r "$T/reg" tools
	run jq -c 'select(.tool_id == "stale") | [.version, .pin, .pin_status, .version_output]' <<<"$output"
	assert_output '["1.1.0","1.2.3","drift","aim-fx-stale version 1.1.0"]'
}

@test "tools: a pinned tool that is not installed is missing; an unpinned one is unpinned" {
	scan_registry
	run -1 --separate-stderr aim-scan -r "$T/reg"
	run jq -c 'select(.tool_id == "gone" or .tool_id == "quiet") | [.tool_id, .status, .pin_status, .path]' <<<"$output"
	assert_line --index 0 '["gone","not_installed","missing",null]'
	assert_line --index 1 '["quiet","ready","unpinned","'"$TOOLS"'/bin1/aim-fx-quiet"]'
}

@test "tools: a hanging version command is killed at the limit and named on stderr; the scan goes on" {
	scan_registry
	AIM_FX_PIDFILE=$PWD/hang.pid run -1 --separate-stderr aim-scan -r "$T/reg"
	run jq -c 'select(.tool_id == "hang") | [.status, .version, .version_error]' <<<"$output"
	assert_output '["ready",null,"version command timed out after 300 ms"]'
	grep -qx "aim-scan: $T/reg/AIM_registry.json: tool 'hang': version command timed out after 300 ms" <<<"$stderr"
	# Nothing of it lingers (this one: other suites run the same fixture;
	# no pid file means it was killed before it got to write one).
	if [ -f hang.pid ]; then
		run kill -0 "$(cat hang.pid)"
		assert_failure
	fi
}

# counting_tool NAME VERSION: a tool in $T/bin whose version command
# prints "NAME VERSION" and adds a line to $T/NAME.runs each time it runs.
counting_tool() {
	mkdir -p "$T/bin"
	printf '#!/bin/sh\necho run >>"%s/%s.runs"\necho "%s %s"\n' \
	    "$T" "$1" "$1" "$2" >"$T/bin/$1"
	chmod +x "$T/bin/$1"
}

@test "tools: a version is asked once, then read from the cache until the binary changes; --no-cache asks" {
	counting_tool aim-fx-count 1.2.3
	PATH=$T/bin:$PATH
	registry "$T/reg" "{\"count\": $(tool aim-fx-count '^1')}"
	run -0 aim-scan -r "$T/reg" tools
	first=$output
	assert_equal "$(jq -r .version <<<"$output")" 1.2.3
	cp "$HOME/.cache/aim/versions.json" cold.json
	run -0 aim-scan -r "$T/reg" tools
	assert_equal "$output" "$first"
	assert_equal "$(wc -l <"$T/aim-fx-count.runs")" 1
	# A warm scan writes nothing (its use is kept to the day).
	cmp cold.json "$HOME/.cache/aim/versions.json"
	# aim status reads the same cache.
	run "$AIM_TEST_BUILD/aim" status -r "$T/reg" --json
	assert_equal "$(wc -l <"$T/aim-fx-count.runs")" 1
	# The key is the binary it runs (path, inode, size, time) and the command.
	run -0 jq -r '.probes | keys[]' "$HOME/.cache/aim/versions.json"
	assert_output --regexp "^$T/bin/aim-fx-count [0-9]+:[0-9]+ [0-9]+ [0-9]+\.[0-9]{9} \[\"aim-fx-count\",\"--version\"\]\$"
	# A new binary is asked again.
	counting_tool aim-fx-count 1.3.0
	touch -d '+1 second' "$T/bin/aim-fx-count"
	run -0 aim-scan -r "$T/reg" tools
	assert_equal "$(jq -r .version <<<"$output")" 1.3.0
	assert_equal "$(wc -l <"$T/aim-fx-count.runs")" 2
	# --no-cache asks, and leaves the cache as it was.
	cp "$HOME/.cache/aim/versions.json" before.json
	run -0 aim-scan --no-cache -r "$T/reg" tools
	assert_equal "$(wc -l <"$T/aim-fx-count.runs")" 3
	cmp before.json "$HOME/.cache/aim/versions.json"
	run "$AIM_TEST_BUILD/aim" status --no-cache -r "$T/reg" --json
	assert_equal "$(wc -l <"$T/aim-fx-count.runs")" 4
}

# npm_tool NAME BIN_KEY PACKAGE VERSION: an npm package PACKAGE at VERSION
# in $T/node_modules/NAME whose bin BIN_KEY is a counting tool printing
# "NAME 9.9.9", linked from $T/bin/NAME as npm links it; a package.json
# without a bin in between, as bundles have, is passed over.
npm_tool() {
	local d=$T/node_modules/$1
	mkdir -p "$d/bin" "$T/bin"
	printf '#!/bin/sh\necho run >>"%s/%s.runs"\necho "%s 9.9.9"\n' \
	    "$T" "$1" "$1" >"$d/bin/cli.js"
	chmod +x "$d/bin/cli.js"
	printf '{"name": "%s", "version": "%s", "bin": {"%s": "./bin/cli.js"}}\n' \
	    "$3" "$4" "$2" >"$d/package.json"
	echo '{"type": "commonjs"}' >"$d/bin/package.json"
	ln -sf "../node_modules/$1/bin/cli.js" "$T/bin/$1"
}

@test "tools: an npm CLI's version is its package.json's, not run; another package, another bin name or a broken file runs the command" {
	npm_tool aim-fx-npm aim-fx-npm @x/npm 1.2.3
	npm_tool aim-fx-other aim-fx-other @x/other 1.2.3
	npm_tool aim-fx-bare aim-fx-bare bare 2.0.0
	npm_tool aim-fx-alias other-name alias 2.0.0
	npm_tool aim-fx-broken aim-fx-broken @x/broken 1.2.3
	echo '{broken' >"$T/node_modules/aim-fx-broken/package.json"
	npm_tool aim-fx-optout aim-fx-optout @x/optout 1.2.3
	PATH=$T/bin:$PATH
	registry "$T/reg" "$(jq -n --argjson npm "$(tool aim-fx-npm)" \
	    --argjson other "$(tool aim-fx-other)" --argjson bare "$(tool aim-fx-bare)" \
	    --argjson alias "$(tool aim-fx-alias)" --argjson broken "$(tool aim-fx-broken)" \
	    --argjson optout "$(tool aim-fx-optout)" \
	    '{npm: ($npm + {install: {npm: "@x/npm"}}),
	      other: ($other + {install: {npm: "@x/else"}}), bare: $bare,
	      alias: $alias, broken: ($broken + {install: {npm: "@x/broken"}}),
	      optout: ($optout + {install: {npm: "@x/optout"}, versionProbe: "command"})}')"
	run -0 aim-scan -r "$T/reg" tools
	run jq -rj '"\(.tool_id) \(.version) \(.version_file) \(.version_output)\n"' <<<"$output"
	assert_output "alias 9.9.9 null aim-fx-alias 9.9.9
bare 2.0.0 $T/node_modules/aim-fx-bare/package.json null
broken 9.9.9 null aim-fx-broken 9.9.9
npm 1.2.3 $T/node_modules/aim-fx-npm/package.json null
optout 9.9.9 null aim-fx-optout 9.9.9
other 9.9.9 null aim-fx-other 9.9.9"
	run ls "$T"
	refute_line aim-fx-npm.runs
	refute_line aim-fx-bare.runs
	# The answer is cached like a command's; turning it off asks anew.
	run -0 aim-scan -r "$T/reg" tools
	jq '.tools.npm.versionProbe = "command"' "$T/reg/AIM_registry.json" >"$T/r.json"
	mv "$T/r.json" "$T/reg/AIM_registry.json"
	run -0 aim-scan -r "$T/reg" tools
	run jq -r 'select(.tool_id == "npm") | "\(.version) \(.version_file)"' <<<"$output"
	assert_output "9.9.9 null"
	assert_equal "$(wc -l <"$T/aim-fx-npm.runs")" 1
}

@test "tools: a versionProbe other than auto or command makes the registry unusable" {
	counting_tool aim-fx-count 1.2.3
	registry "$T/reg" "{\"count\": $(tool aim-fx-count | jq -c '. + {versionProbe: "package"}')}"
	run -3 --separate-stderr aim-scan -r "$T/reg" tools
	assert_equal "$stderr" "aim-scan: $T/reg/AIM_registry.json:1:199: tool 'count': versionProbe must be one of \"auto\", \"command\""
}

@test "tools: the installed npm CLIs' package.json versions are what their versionCommands say" {
	local bin=$NPM_BIN
	[ -x "$bin/prettier" ] && [ -x "$bin/eslint" ] && [ -x "$bin/codex" ] ||
	    skip "no npm CLIs in $bin (tests/tools-install)"
	PATH=$bin:$PATH
	registry "$T/reg" "$(jq -n --argjson p "$(tool prettier)" \
	    --argjson e "$(tool eslint)" --argjson c "$(tool codex)" \
	    '{prettier: ($p + {install: {npm: "prettier"}}), eslint: $e,
	      codex: ($c + {install: {npm: "@openai/codex"}})}')"
	run -0 aim-scan --no-cache -r "$T/reg" tools
	run jq -r '"\(.tool_id) \(.version) \(.version_file | test("/package.json$"))"' <<<"$output"
	fast=$output
	jq '.tools[].versionProbe = "command"' "$T/reg/AIM_registry.json" >"$T/r.json"
	mv "$T/r.json" "$T/reg/AIM_registry.json"
	run -0 aim-scan --no-cache -r "$T/reg" tools
	run jq -r '"\(.tool_id) \(.version) \(.version_file == null)"' <<<"$output"
	assert_equal "$fast" "$output"
	refute_output --partial ' null '
}

@test "tools: a timed-out version is not cached; a broken cache file is ignored and rewritten" {
	scan_registry
	run -1 --separate-stderr aim-scan -r "$T/reg" tools
	first=$output first_err=$stderr
	run -0 jq -r '.probes | keys[] | split(" ")[0] | split("/")[-1]' "$HOME/.cache/aim/versions.json"
	assert_output "$(printf '%s\n' aim-fx-fresh aim-fx-quiet aim-fx-shadow aim-fx-stale aim-fx-stderr)"
	# The cached answers are the asked ones, warnings and errors included;
	# the hang is asked again (and times out again).
	run -1 --separate-stderr aim-scan -r "$T/reg" tools
	assert_equal "$output" "$first"
	assert_equal "$stderr" "$first_err"
	echo '{broken' >"$HOME/.cache/aim/versions.json"
	run -1 --separate-stderr aim-scan -r "$T/reg" tools
	assert_equal "$output" "$first"
	run -0 jq -r '.version' "$HOME/.cache/aim/versions.json"
	assert_output 1
}

@test "tools: the version commands run at once, not one after the other" {
	# Each waits (up to 4 s) for the other to have started: one after the
	# other, the first would print no version.
	mkdir -p "$T/bin"
	for t in aim-fx-a:aim-fx-b aim-fx-b:aim-fx-a; do
		printf '#!/bin/sh\n: >"%s/%s.started"\ni=0\nwhile [ ! -e "%s/%s.started" ] && [ $i -lt 40 ]; do sleep 0.1; i=$((i + 1)); done\n[ -e "%s/%s.started" ] && echo "%s 1.0.0"\n' \
		    "$T" "${t%:*}" "$T" "${t#*:}" "$T" "${t#*:}" "${t%:*}" >"$T/bin/${t%:*}"
		chmod +x "$T/bin/${t%:*}"
	done
	PATH=$T/bin:$PATH
	registry "$T/reg" "{\"a\": $(tool aim-fx-a), \"b\": $(tool aim-fx-b)}"
	echo '{"version_timeout_ms": 10000}' >"$T/reg/aim_config.json"
	run -0 aim-scan --no-cache -r "$T/reg" tools
	run jq -c '[.tool_id, .version]' <<<"$output"
	assert_output $'["a","1.0.0"]\n["b","1.0.0"]'
}

@test "tools: a version command that prints nothing, and one that answers on stderr" {
	scan_registry
	run -1 --separate-stderr aim-scan -r "$T/reg"
	run jq -c 'select(.tool_id == "quiet" or .tool_id == "stderr") | [.version, .version_error, .pin_status]' <<<"$output"
	assert_line --index 0 '[null,"version command printed nothing","unpinned"]'
	assert_line --index 1 '["17.0.2",null,"ok"]'
	grep -qx "aim-scan: $T/reg/AIM_registry.json: tool 'quiet': version command printed nothing" <<<"$stderr"
}

@test "tools: a tool with no detectCommands is a warning with the registry path, and not installed" {
	scan_registry
	run -1 --separate-stderr aim-scan -r "$T/reg"
	run jq -c 'select(.tool_id == "nodetect") | [.status, .reason, .warnings]' <<<"$output"
	assert_output '["not_installed","nodetect: no detectCommands",["no detectCommands: never detected"]]'
	grep -qx "aim-scan: $T/reg/AIM_registry.json: tool 'nodetect': no detectCommands: never detected" <<<"$stderr"
}

@test "tools: other copies of the command further down PATH are shadowed duplicates; the same file twice is not" {
	scan_registry
	mkdir "$T/alias"
	ln -s "$TOOLS/bin1/aim-fx-shadow" "$T/alias/aim-fx-shadow"
	PATH="$TOOLS/bin1:$T/alias:$TOOLS/bin2:$PATH" run -1 --separate-stderr aim-scan -r "$T/reg"
	run jq -c 'select(.tool_id == "shadow") | [.path, .shadowed, .version, .pin_status]' <<<"$output"
	assert_output "[\"$TOOLS/bin1/aim-fx-shadow\",[\"$TOOLS/bin2/aim-fx-shadow\"],\"2.0.0\",\"ok\"]"
	# With bin2 first, the other one serves: drift against >=2 <3.
	PATH="$TOOLS/bin2:$TOOLS/bin1:$PATH" run -1 --separate-stderr aim-scan -r "$T/reg"
	run jq -c 'select(.tool_id == "shadow") | [.path, .shadowed, .version, .pin_status]' <<<"$output"
	assert_output "[\"$TOOLS/bin2/aim-fx-shadow\",[\"$TOOLS/bin1/aim-fx-shadow\"],\"1.0.0\",\"drift\"]"
}

@test "tools: every pin kept gives exit 0; config and log paths are reported present or not" {
	mkdir -p "$HOME/.fx"
	registry "$T/reg" "$(tool aim-fx-fresh '>=1.4.2 <1.5' | jq -c '{fresh: (. + {configPaths: ["~/.fx", "~/.fx-none"], logPaths: ["$HOME/.fx"]})}')"
	run -0 aim-scan -r "$T/reg"
	run jq -c '[.pin_status, .config_paths, .log_paths]' <<<"$output"
	assert_output "[\"ok\",[{\"path\":\"$HOME/.fx\",\"present\":true},{\"path\":\"$HOME/.fx-none\",\"present\":false}],[{\"path\":\"$HOME/.fx\",\"present\":true}]]"
}

@test "tools: a pin that does not parse is invalid, warned about, and fails the gate" {
	registry "$T/reg" "{\"fresh\": $(tool aim-fx-fresh 'latest')}"
	run -1 --separate-stderr aim-scan -r "$T/reg"
	assert_equal "$(jq -r .pin_status <<<"$output")" invalid
	assert_equal "$stderr" "aim-scan: $T/reg/AIM_registry.json: tool 'fresh': bad version pin \"latest\" at \"latest\""
}

@test "tools: no registry is exit 3 with the places looked in" {
	run -3 --separate-stderr aim-scan -r "$T/nowhere"
	assert_output ''
	assert_equal "$stderr" "aim-scan: registry not found (looked in $T/nowhere); 'aim init' makes one"
}

@test "tools: --human prints a summary on stderr, the records stay on stdout" {
	registry "$T/reg" "{\"fresh\": $(tool aim-fx-fresh '^1.2.0')}"
	run -0 --separate-stderr aim-scan -H -r "$T/reg"
	assert_equal "$(jq -r .tool_id <<<"$output")" fresh
	assert_equal "$(sed -n 2p <<<"$stderr")" "1 of 1 tools ready, 0 off their pins"
	assert_regex "$(sed -n 1p <<<"$stderr")" '^fresh +ready +1\.4\.2 +pin \^1\.2\.0: ok '
}

@test "bad command lines are exit 2" {
	run -2 aim-scan frobnicate
	assert_line --index 0 "aim-scan: unknown command 'frobnicate'"
	run -2 aim-scan dups -m lots
	assert_line --index 0 'aim-scan: bad size for -m: lots'
	run -2 aim-scan tools extra
	run -0 aim-scan --help
	assert_line --index 0 'usage: aim-scan [-H] [-c config] [-r registry] [tools]'
	for o in '-b, --build' '-c, --config=FILE' '-e, --ext=EXT' '-H, --human' '-h, --help' \
	    '-m, --min-size=BYTES' '    --no-hash' '-n, --dry-run' '-r, --registry=DIR' \
	    '-V, --version' '-W, --warn-ok' '-y, --yes'; do
		assert_line --regexp "^  $o +[a-z]"
	done
	assert_line --index -1 'See aim-scan(1).'
	# Bad usage: the synopsis only.
	run -2 aim-scan --frob
	assert_line --index 1 'usage: aim-scan [-H] [-c config] [-r registry] [tools]'
	assert_equal "${#lines[@]}" 6
}

@test "-V and --version print the version" {
	run -0 aim-scan -V
	assert_output 'aim-scan 0.1.0'
	run -0 aim-scan --version
	assert_output 'aim-scan 0.1.0'
}

@test "a failed write to stdout is exit 4" {
	registry "$T/reg" "{\"fresh\": $(tool aim-fx-fresh)}"
	run -4 sh -c 'aim-scan -r "$1" tools >/dev/full' sh "$T/reg"
	assert_output 'aim-scan: writing output failed'
}

# ---- health ----

# A healthy world: git found, every capability routable, a private vault
# file, a private audit directory.
healthy() {
	registry "$T/reg" "{\"fresh\": $(tool aim-fx-fresh '^1')}" \
	    '{"capabilities": {"cap": {"primary": "fresh", "fallback": []}}}'
	mkdir -m 700 "$T/reg/AIM_audit"
	export AIM_VAULT=$T/vault
	: >"$AIM_VAULT"
	chmod 600 "$AIM_VAULT"
}

@test "health: every check passes: healthy, exit 0, one record per check and the summary" {
	healthy
	run -0 aim-scan -r "$T/reg" health
	run jq -c '[.finding, .name, .status]' <<<"$output"
	assert_output - <<'EOF'
["health","required_commands","pass"]
["health","ai_tools","pass"]
["health","adapters","pass"]
["health","registry","pass"]
["health","pins","pass"]
["health","vault","pass"]
["health","secrets","pass"]
["health","audit_dir","pass"]
["health_summary",null,null]
EOF
	run -0 aim-scan -r "$T/reg" health
	run jq -c -S 'select(.finding == "health_summary") | [.overall_status, .summary]' <<<"$output"
	assert_output '["healthy",{"fail":0,"pass":8,"warn":0}]'
}

@test "health: a warning is degraded, exit 1; --warn-ok accepts it" {
	healthy
	rm "$AIM_VAULT"
	run -1 aim-scan -r "$T/reg" health
	run jq -c -S 'select(.name == "vault" or .finding == "health_summary") | [.status // .overall_status, .message // .summary]' <<<"$output"
	assert_line --index 0 "[\"warn\",\"no vault at $T/vault (aim-secret init creates one)\"]"
	assert_line --index 1 '["degraded",{"fail":0,"pass":7,"warn":1}]'
	run -0 aim-scan -r "$T/reg" health --warn-ok
}

@test "health: a missing required command fails: unhealthy, exit 1 even with --warn-ok" {
	healthy
	echo '{"required_commands": ["git", "aim-no-such-command"]}' >"$T/reg/aim_config.json"
	run -1 aim-scan -r "$T/reg" health -W
	run jq -c 'select(.name == "required_commands") | [.status, .message, .details.missing]' <<<"$output"
	assert_output '["fail","1 of 2 required commands missing",["aim-no-such-command"]]'
	echo '{"required_commands": ["git", "sh", "aim-no-such-command"]}' >"$T/reg/aim_config.json"
	run -1 aim-scan -r "$T/reg" health
	assert_equal "$(jq -r 'select(.name == "required_commands") | .status' <<<"$output")" warn
}

@test "health: registry problems fail with file, line and message; no ready tool warns" {
	healthy
	registry "$T/reg" '{"nodetect": {"capabilities": ["cap"], "adapterScript": "AIM_adapters/ok.sh"}}' \
	    '{"capabilities": {"cap": {"primary": "nodetect", "fallback": []}}}'
	run -1 aim-scan -r "$T/reg" health
	run jq -c 'select(.name == "registry" or .name == "ai_tools" or .name == "adapters") | [.name, .status, .message]' <<<"$output"
	assert_line --index 0 '["ai_tools","warn","0 of 1 registered tools ready"]'
	assert_line --index 1 '["adapters","fail","1 of 1 capabilities have no ready tool"]'
	assert_line --index 2 '["registry","fail","1 problems in the registry, rules or config"]'
	run -1 aim-scan -r "$T/reg" health
	assert_equal "$(jq -c 'select(.name == "registry") | .details.problems' <<<"$output")" \
	    "[\"$T/reg/AIM_registry.json:1:12: tool 'nodetect' has no detectCommands\"]"
}

@test "health: no registry fails the registry check" {
	run -1 aim-scan -r "$T/nowhere" health
	run jq -c 'select(.name == "registry") | [.status, .message]' <<<"$output"
	assert_output "[\"fail\",\"registry not found (looked in $T/nowhere); 'aim init' makes one\"]"
}

@test "health: pins off warn" {
	healthy
	registry "$T/reg" "{\"fresh\": $(tool aim-fx-fresh '^2')}" \
	    '{"capabilities": {"cap": {"primary": "fresh", "fallback": []}}}'
	run -1 aim-scan -r "$T/reg" health
	run jq -c 'select(.name == "pins") | [.status, .message, .details]' <<<"$output"
	assert_output '["warn","1 of 1 pinned tools off their pins",{"off":{"fresh":"drift"}}]'
}

@test "health: a vault open to others fails; with a key file the vault must open" {
	healthy
	chmod 644 "$AIM_VAULT"
	run -1 aim-scan -r "$T/reg" health
	run jq -c 'select(.name == "vault") | [.status, .message]' <<<"$output"
	assert_output "[\"fail\",\"vault $T/vault is open to group or others (mode 644): chmod 600 $T/vault\"]"
	cp "$FIX/vault/keyfile.vault" "$T/vault"
	cp "$FIX/vault/fixture.key" "$T/key"
	chmod 600 "$T/vault" "$T/key"
	AIM_VAULT_KEYFILE=$T/key run -0 aim-scan -r "$T/reg" health
	run jq -c 'select(.name == "vault") | [.status, .details.secrets]' <<<"$output"
	assert_output '["pass",2]'
	head -c 32 /dev/zero >"$T/key"
	AIM_VAULT_KEYFILE=$T/key run -1 aim-scan -r "$T/reg" health
	assert_equal "$(jq -r 'select(.name == "vault") | .status' <<<"$output")" fail
}

@test "health: secrets: every vault secret a tool names must be in the vault; a vault that asks is a warning" {
	healthy
	# The secrets in the order written (the message lists them so): real
	# jq (gojq sorts keys).
	registry "$T/reg" "$(command jq -n --argjson a "$(tool aim-fx-fresh)" --argjson b "$(tool aim-fx-stale)" \
	    '{a: ($a + {secrets: {KEY: "anthropic/api_key", GH: "github/token"}}),
	      b: ($b + {secrets: {KEY: "anthropic/api_key", OAI: "openai/api_key"}})}')"
	# No tool names a secret: pass (healthy() checks that).
	rm "$AIM_VAULT"
	run -1 aim-scan -r "$T/reg" health
	run jq -c 'select(.name == "secrets") | [.status, .message, .details.missing]' <<<"$output"
	assert_output "[\"fail\",\"3 of 3 secrets the tools name are missing (no vault at $T/vault: create one with aim-secret init): anthropic/api_key (a, b), github/token (a), openai/api_key (b)\",{\"anthropic/api_key\":[\"a\",\"b\"],\"github/token\":[\"a\"],\"openai/api_key\":[\"b\"]}]"
	cp "$FIX/vault/keyfile.vault" "$T/vault"
	cp "$FIX/vault/fixture.key" "$T/key"
	chmod 600 "$T/vault" "$T/key"
	AIM_VAULT_KEYFILE=$T/key run -1 aim-scan -r "$T/reg" health
	run jq -c 'select(.name == "secrets") | [.status, .message, .details.found]' <<<"$output"
	assert_output '["fail","1 of 3 secrets the tools name are missing (not in the vault): openai/api_key (b)",["anthropic/api_key","github/token"]]'
	# Without the key file, or with a passphrase vault: not checked, a warning.
	run -1 aim-scan -r "$T/reg" health
	run jq -c 'select(.name == "secrets") | [.status, .message]' <<<"$output"
	assert_output "[\"warn\",\"3 secrets the tools name not checked (health asks nobody): vault $T/vault opens with a key file: set AIM_VAULT_KEYFILE\"]"
	cp "$FIX/vault/passphrase.vault" "$T/vault"
	chmod 600 "$T/vault"
	run -1 aim-scan -r "$T/reg" health
	assert_equal "$(jq -r 'select(.name == "secrets") | .status' <<<"$output")" warn
	# Every one there: pass.
	cp "$FIX/vault/keyfile.vault" "$T/vault"
	chmod 600 "$T/vault"
	printf 'sk-x' | aim-secret -k "$T/key" set openai/api_key
	AIM_VAULT_KEYFILE=$T/key run -0 aim-scan -r "$T/reg" health
	run jq -c 'select(.name == "secrets") | [.status, .message]' <<<"$output"
	assert_output '["pass","all 3 secrets the tools name are in the vault"]'
}

@test "health: the audit directory must not be open to others, and must be creatable" {
	healthy
	chmod 777 "$T/reg/AIM_audit"
	run -1 aim-scan -r "$T/reg" health
	run jq -c 'select(.name == "audit_dir") | [.status, .message]' <<<"$output"
	assert_output "[\"fail\",\"audit directory $T/reg/AIM_audit is writable by group or others (mode 777): chmod 700 $T/reg/AIM_audit\"]"
	chmod 755 "$T/reg/AIM_audit"
	run -1 aim-scan -r "$T/reg" health
	assert_equal "$(jq -r 'select(.name == "audit_dir") | .status' <<<"$output")" warn
	: >"$T/file"
	AIM_AUDIT_DIR=$T/file/audit run -1 --separate-stderr aim-scan -r "$T/reg" health
	assert_equal "$stderr" "aim-scan: can't log health_check in $T/file/audit: can't create $T/file/audit: Not a directory"
	run jq -c 'select(.name == "audit_dir") | .status' <<<"$output"
	assert_output '"fail"'
}

# ---- dups ----

# b2 FILE: BLAKE2b-256 of FILE, as aim-scan writes it.
b2() {
	b2sum -l 256 "$1" | cut -d' ' -f1
}

# A tree with duplicates across sizes, near misses, hard links, symlinks.
dup_tree() {
	mkdir -p "$T/t/a/deep/er" "$T/t/b" "$T/t/c"
	cd "$T/t"
	head -c 300000 /dev/urandom >a/big
	cp a/big b/big.copy
	cp a/big a/deep/er/big.bin
	ln a/big c/big.link			# same inode: counted once
	# Random but for the first and last byte, which the near copies change.
	{ printf A; head -c 149998 /dev/urandom; printf A; } >a/mid
	cp a/mid b/mid.copy
	# Same size, same first block, different last byte: not duplicates.
	cp a/mid c/mid.near
	printf 'X' | dd of=c/mid.near bs=1 seek=149999 conv=notrunc status=none
	# Same size, different first block.
	cp a/mid c/mid.head
	printf 'Y' | dd of=c/mid.head bs=1 seek=0 conv=notrunc status=none
	printf 'small' >a/small.txt
	printf 'small' >b/small.txt
	: >a/empty
	: >b/empty
	ln -s ../a/big b/sym-to-big		# never followed
	ln -s .. a/deep/loop			# a loop if it were followed
	cd "$T"
}

@test "dups: groups across sizes, largest waste first, hard links once, symlinks never followed" {
	dup_tree
	run -1 aim-scan dups -m 1 t
	assert_equal "$(jq -c '[.files, .size_bytes, .wasted_bytes]' <<<"$output")" "$(cat <<EOF
[["t/a/big","t/a/deep/er/big.bin","t/b/big.copy"],300000,600000]
[["t/a/mid","t/b/mid.copy"],150000,150000]
[["t/a/small.txt","t/b/small.txt"],5,5]
EOF
)"
	run -1 aim-scan dups -m 1 t
	assert_equal "$(jq -r .hash <<<"$output")" "$(b2 t/a/big; b2 t/a/mid; b2 t/a/small.txt)"
}

@test "dups --no-hash: the same groups, compared byte for byte, hash null" {
	dup_tree
	# The same bytes, fields in aim-scan's order: real jq (gojq sorts keys).
	aim-scan dups -m 1 t | command jq -c '.hash = null' >want.jsonl || true
	run -1 aim-scan dups --no-hash -m 1 t
	assert_output "$(cat want.jsonl)"
}

@test "dups: the default minimum size is 100 KiB; -m takes K and M; empty files never count" {
	dup_tree
	run -1 aim-scan dups t
	assert_equal "$(jq -c .size_bytes <<<"$output")" "$(printf '300000\n150000')"
	run -1 aim-scan dups -m 200K t
	assert_equal "$(jq -c .size_bytes <<<"$output")" 300000
	run -0 aim-scan dups -m 1M t
	assert_output ''
	run -1 aim-scan dups -m 0 t
	assert_equal "$(jq -s 'map(.size_bytes) | min' <<<"$output")" 5
}

@test "dups: the extension filter, and config scan_min_size_bytes and scan_roots" {
	dup_tree
	run -1 aim-scan dups -m 1 -e txt t
	assert_equal "$(jq -c .files <<<"$output")" '["t/a/small.txt","t/b/small.txt"]'
	run -1 aim-scan dups -m 1 -e .bin -e copy t
	assert_equal "$(jq -c .files <<<"$output")" '["t/a/deep/er/big.bin","t/b/big.copy"]'
	echo "{\"scan_min_size_bytes\": 200000, \"scan_roots\": [\"$T/t/a\", \"$T/t/b\"]}" >cfg.json
	run -1 aim-scan -c cfg.json dups
	assert_equal "$(jq -c .files <<<"$output")" "[\"$T/t/a/big\",\"$T/t/a/deep/er/big.bin\",\"$T/t/b/big.copy\"]"
}

@test "dups: more identical files than are compared in lock step are hashed one by one" {
	mkdir many
	head -c 5000 /dev/urandom >many/f0
	for i in $(seq 1 69); do cp many/f0 "many/f$i"; done
	run -1 aim-scan dups -m 1 many
	assert_equal "$(jq -c '[(.files | length), .wasted_bytes, .hash]' <<<"$output")" "[70,345000,\"$(b2 many/f0)\"]"
}

@test "dups: no duplicates is exit 0 and no output" {
	mkdir one
	head -c 200000 /dev/urandom >one/a
	head -c 200000 /dev/urandom >one/b
	run -0 aim-scan dups one
	assert_output ''
}

@test "dups: a root that is a symlink loop or not a directory is a warning; the scan goes on (exit 4)" {
	dup_tree
	ln -s loop2 loop1
	ln -s loop1 loop2
	: >plain
	run -4 --separate-stderr aim-scan dups -m 1 loop1 plain/x t
	assert_equal "$(jq -s length <<<"$output")" 3
	assert_equal "$stderr" "aim-scan: loop1: can't scan: Too many levels of symbolic links
aim-scan: plain/x: can't scan: Not a directory"
}

@test "dups: an unreadable directory is a warning with its path; the rest is scanned" {
	command -v setpriv >/dev/null || skip "setpriv not installed"
	dup_tree
	mkdir t/locked
	cp t/a/big t/locked/big.hidden
	chmod -R a+rX t
	chmod 700 t/locked
	chmod 755 "$T"
	run -4 --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$(command -v aim-scan)" dups -m 1 t
	assert_equal "$stderr" "aim-scan: t/locked: can't open directory: Permission denied"
	assert_equal "$(jq -c '.files | length' <<<"$output" | head -1)" 3
}

@test "dups: --human sums up on stderr" {
	dup_tree
	run -1 --separate-stderr aim-scan dups -H -m 1 t
	assert_equal "$(tail -1 <<<"$stderr")" "3 duplicate groups, 7 files, 732.4 KiB wasted; 20 entries walked, 0 warnings"
}

# ---- caches ----

cache_tree() {
	mkdir -p p/node_modules/.cache/x p/__pycache__ p/.git/objects/ab p/src/xdist \
	    p/build/__pycache__ central/proj/__pycache__ p/.venv
	head -c 1000 /dev/zero >p/node_modules/.cache/x/a
	head -c 500 /dev/zero >p/node_modules/.cache/b
	head -c 10 /dev/zero >p/__pycache__/m.pyc
	head -c 3000 /dev/zero >p/.git/objects/ab/cdef
	head -c 20 /dev/zero >p/build/out.o
	head -c 20 /dev/zero >p/build/__pycache__/n.pyc
	head -c 99 /dev/zero >p/.eslintcache
	head -c 7 /dev/zero >p/src/xdist/not-a-cache
	head -c 5000 /dev/zero >central/proj/__pycache__/big.pyc
	echo "{\"central_cache\": \"$T/central\"}" >cfg.json
}

@test "caches: matches outside the central cache, largest first, with size and file count; a match is not entered" {
	cache_tree
	run -1 aim-scan -c cfg.json caches p central
	run jq -c '[.path, .pattern, .class, .kind, .size_bytes, .files]' <<<"$output"
	assert_output - <<'EOF'
["p/node_modules/.cache","node_modules/.cache","cache","directory",1500,2]
["p/.eslintcache",".eslintcache","cache","file",99,1]
["p/build","build","build","directory",40,2]
["p/__pycache__","__pycache__","cache","directory",10,1]
["p/.venv",".venv","build","directory",0,0]
EOF
}

@test "caches: nothing inside a version-control directory is a cache, whatever the patterns say" {
	cache_tree
	mkdir -p p/.hg/cache p/.svn/pristine p/.jj/repo p/.bzr/x/__pycache__ p/.git/x/__pycache__
	echo '{"cache_patterns": [".git/objects", ".git", "objects", ".hg/cache", "pristine", ".jj", "__pycache__"]}' >vcs.json
	run -1 aim-scan -c vcs.json caches p
	assert_equal "$(jq -r .path <<<"$output" | xargs)" 'p/build/__pycache__ p/__pycache__'
	# Nor is anything below a root that is one.
	run -0 aim-scan -c vcs.json caches p/.git
	assert_output ''
}

@test "caches: the central cache defaults to XDG_CACHE_HOME; patterns come from the config" {
	cache_tree
	XDG_CACHE_HOME=$T/central run -1 aim-scan caches .
	assert_equal "$(jq -r .path <<<"$output" | grep -c central)" 0
	echo '{"cache_patterns": ["xdist"]}' >cfg2.json
	run -1 aim-scan -c cfg2.json caches p
	assert_equal "$(jq -c '[.path, .files]' <<<"$output")" '["p/src/xdist",1]'
	run -0 aim-scan -c cfg2.json caches central
}

@test "caches: a bad config is exit 3 after the scan on defaults" {
	cache_tree
	echo '{"cache_patterns": "build"}' >bad.json
	run -3 --separate-stderr aim-scan -c bad.json caches p
	assert_equal "$stderr" "aim-scan: bad.json:1:20: cache_patterns must be an array of strings"
	assert_equal "$(jq -s length <<<"$output")" 5
}

# ---- clean ----

@test "clean --dry-run: says what it would remove, removes nothing" {
	dup_tree
	aim-scan dups -m 1 t >found.jsonl || true
	run -0 aim-scan clean --dry-run found.jsonl
	run jq -c '[.finding, .action, .kind, .path, .bytes, .kept]' <<<"$output"
	assert_output - <<'EOF'
["clean","would_remove","duplicate","t/a/deep/er/big.bin",300000,"t/a/big"]
["clean","would_remove","duplicate","t/b/big.copy",300000,"t/a/big"]
["clean","would_remove","duplicate","t/b/mid.copy",150000,"t/a/mid"]
["clean","would_remove","duplicate","t/b/small.txt",5,"t/a/small.txt"]
EOF
	assert_file_exists t/b/big.copy
	assert_file_exists t/b/small.txt
}

@test "clean --yes: removes the extra copies, keeps the first of each group; a rescan finds none" {
	dup_tree
	aim-scan dups -m 1 t | aim-scan clean --yes >out.jsonl
	assert_equal "$(jq -r '.action' out.jsonl | sort | uniq -c | xargs)" "4 removed"
	assert_file_not_exists t/b/big.copy
	assert_file_not_exists t/a/deep/er/big.bin
	assert_file_exists t/a/big
	assert_file_exists t/c/big.link
	assert_file_exists t/c/mid.near
	run -0 aim-scan dups -m 1 t
	assert_output ''
}

@test "clean: a group filtered with jq first; without --yes and no terminal nothing is removed (exit 2)" {
	dup_tree
	aim-scan dups -m 1 t | jq -c 'select(.size_bytes == 5)' >small.jsonl || true
	run -2 --separate-stderr aim-scan clean small.jsonl </dev/null
	assert_equal "$stderr" "aim-scan: refusing to remove anything without --yes: no terminal to confirm on"
	assert_output ''
	assert_file_exists t/b/small.txt
	run -0 setsid aim-scan clean --yes small.jsonl
	assert_file_not_exists t/b/small.txt
	assert_file_exists t/b/big.copy
}

@test "clean: asks on the terminal when there is one" {
	command -v script >/dev/null || skip "script(1) not installed"
	dup_tree
	aim-scan dups -m 1 t | jq -c 'select(.size_bytes == 5)' >small.jsonl || true
	echo n | script -qec "aim-scan clean small.jsonl >out-no.jsonl" /dev/null >tty.txt || true
	assert_file_exists t/b/small.txt
	grep -q 'remove 1 paths (5 B)? \[y/N\]' tty.txt
	grep -q '^ *5 B  t/b/small.txt (a copy of t/a/small.txt)' tty.txt
	echo y | script -qec "aim-scan clean small.jsonl >out-yes.jsonl" /dev/null >tty.txt
	assert_file_not_exists t/b/small.txt
	assert_equal "$(jq -r .action out-yes.jsonl)" removed
}

@test "clean: never removes the last copy: a kept copy that changed or went refuses its whole group" {
	dup_tree
	aim-scan dups -m 1 t >found.jsonl || true
	printf 'Z' | dd of=t/a/big bs=1 seek=10 conv=notrunc status=none
	rm t/a/mid
	run -1 --separate-stderr aim-scan clean --yes found.jsonl
	run jq -c '[.action, .path, .reason]' <<<"$output"
	assert_output - <<'EOF'
["refused","t/a/deep/er/big.bin","kept copy t/a/big: changed: content no longer matches the group's hash"]
["refused","t/b/big.copy","kept copy t/a/big: changed: content no longer matches the group's hash"]
["refused","t/b/mid.copy","kept copy t/a/mid: No such file or directory"]
["removed","t/b/small.txt",null]
EOF
	assert_file_exists t/b/big.copy
	assert_file_exists t/b/mid.copy
	grep -qx "aim-scan: found.jsonl:1: kept copy t/a/big: changed: content no longer matches the group's hash: nothing removed from its group" <<<"$stderr"
}

@test "clean: an extra copy that changed, or is a hard link of the kept one, is refused alone" {
	dup_tree
	aim-scan dups -m 1 t | jq -c 'select(.size_bytes == 300000) | .files += ["t/c/big.link"]' >found.jsonl
	echo extra >>t/b/big.copy
	run -1 --separate-stderr aim-scan clean --yes found.jsonl
	run jq -c '[.action, .path, .reason]' <<<"$output"
	assert_output - <<'EOF'
["removed","t/a/deep/er/big.bin",null]
["refused","t/b/big.copy","changed: 300006 bytes, not 300000"]
["refused","t/c/big.link","same file as the kept copy (a hard link or the same path)"]
EOF
	assert_file_exists t/c/big.link
}

@test "clean: removes cache directories; refuses a path that does not end in its pattern" {
	cache_tree
	aim-scan -c cfg.json caches p >found.jsonl || true
	jq -nc '{finding:"cache", path:"p/src", pattern:"build", class:"build", size_bytes:1, files:1}' >>found.jsonl
	run -1 --separate-stderr aim-scan clean --yes --build found.jsonl
	err=$stderr
	run jq -c '[.action, .kind, .path, .bytes]' <<<"$output"
	assert_line --index 0 '["removed","cache","p/node_modules/.cache",1500]'
	assert_line --index 2 '["removed","cache","p/build",40]'
	assert_line --index 5 '["refused","cache","p/src",0]'
	assert_dir_not_exists p/node_modules/.cache
	assert_dir_not_exists p/build
	assert_dir_not_exists p/.venv
	assert_file_not_exists p/.eslintcache
	assert_dir_exists p/node_modules
	assert_dir_exists p/src/xdist
	assert_file_exists p/.git/objects/ab/cdef
	grep -qx 'aim-scan: found.jsonl:6: p/src: refused: path does not end in its pattern build' <<<"$err"
	grep -qx 'aim-scan: removed p/node_modules/.cache (1.5 KiB)' <<<"$err"
}

@test "clean: build outputs are skipped unless --build names them; -y says on stderr what it removed" {
	cache_tree
	aim-scan -c cfg.json caches p >found.jsonl || true
	run -0 --separate-stderr aim-scan clean -y found.jsonl
	assert_equal "$stderr" "aim-scan: removed p/node_modules/.cache (1.5 KiB)
aim-scan: removed p/.eslintcache (99 B)
aim-scan: found.jsonl:3: p/build: skipped: a build output: removed only with --build
aim-scan: removed p/__pycache__ (10 B)
aim-scan: found.jsonl:5: p/.venv: skipped: a build output: removed only with --build"
	run jq -c '[.action, .path, .bytes, .reason]' <<<"$output"
	assert_output - <<'EOF'
["removed","p/node_modules/.cache",1500,null]
["removed","p/.eslintcache",99,null]
["skipped","p/build",0,"a build output: removed only with --build"]
["removed","p/__pycache__",10,null]
["skipped","p/.venv",0,"a build output: removed only with --build"]
EOF
	assert_dir_exists p/build
	assert_dir_exists p/.venv
	# The pattern decides, whatever the record's class says.
	jq -c 'select(.class == "build") | .class = "cache"' found.jsonl >builds.jsonl
	run -0 --separate-stderr aim-scan clean -y builds.jsonl
	assert_equal "$(jq -r .action <<<"$output" | xargs)" 'skipped skipped'
	run -0 --separate-stderr aim-scan clean -y --build builds.jsonl
	assert_equal "$(jq -r .action <<<"$output" | xargs)" 'removed removed'
	assert_dir_not_exists p/build
	assert_dir_not_exists p/.venv
}

@test "clean: a git clone still passes git fsck after caches | clean -y" {
	git init -q src
	mkdir -p src/pkg
	echo 'print(1)' >src/pkg/m.py
	printf 'node_modules/\n__pycache__/\n' >src/.gitignore
	git -C src add .
	git -C src -c user.name=t -c user.email=t@t.invalid commit -qm one
	git clone -q "file://$T/src" clone
	[ -n "$(ls clone/.git/objects/pack)" ]
	mkdir -p clone/node_modules/.cache clone/pkg/__pycache__
	head -c 3000 /dev/urandom >clone/node_modules/.cache/blob
	echo x >clone/pkg/__pycache__/m.pyc
	aim-scan caches clone | aim-scan clean -y >out.jsonl
	assert_equal "$(jq -r '[.action, .path] | join(" ")' out.jsonl)" "removed clone/node_modules/.cache
removed clone/pkg/__pycache__"
	run -0 git -C clone fsck --full
	run -0 git -C clone log --format=%s
	assert_output one
}

@test "clean: a finding naming a path in a version-control directory is refused with a record and a message" {
	git init -q repo
	mkdir -p repo/.git/objects/ab repo/.hg/store
	ln -s repo/.git gitlink
	{
		jq -nc '{finding:"cache", path:"repo/.git/objects", pattern:".git/objects", size_bytes:1, files:1}'
		jq -nc '{finding:"cache", path:"repo/.hg/store", pattern:"store", size_bytes:1, files:1}'
		jq -nc '{finding:"cache", path:"gitlink/objects", pattern:"objects", size_bytes:1, files:1}'
		jq -nc '{finding:"cache", path:"repo", pattern:"repo", size_bytes:1, files:1}'
	} >vcs.jsonl
	run -1 --separate-stderr aim-scan clean -y vcs.jsonl
	assert_equal "$(sed -n 1p <<<"$stderr")" "aim-scan: vcs.jsonl:1: repo/.git/objects: refused: inside a version-control directory (.git): never removed"
	run jq -c '[.action, .kind, .path, .bytes, .reason]' <<<"$output"
	assert_output - <<EOF
["refused","cache","repo/.git/objects",0,"inside a version-control directory (.git): never removed"]
["refused","cache","repo/.hg/store",0,"inside a version-control directory (.hg): never removed"]
["refused","cache","gitlink/objects",0,"inside a version-control directory (.git, in $T/repo/.git): never removed"]
["refused","cache","repo",0,"holds a version-control directory, repo/.git: never removed"]
EOF
	assert_dir_exists repo/.git/objects/ab
	assert_dir_exists repo/.hg/store
	# Nor a duplicate file in one.
	head -c 500 /dev/urandom >a
	cp a repo/.git/objects/ab/c
	jq -nc '{finding:"duplicate", hash:null, size_bytes:500, files:["a", "repo/.git/objects/ab/c"]}' >dup.jsonl
	run -1 --separate-stderr aim-scan clean -y dup.jsonl
	assert_equal "$(jq -c '[.action, .reason]' <<<"$output")" '["refused","inside a version-control directory (.git): never removed"]'
	assert_file_exists repo/.git/objects/ab/c
}

@test "clean: lines that are not cleanable findings are refused records and stderr lines; exit 1" {
	{
		echo 'not json'
		echo '[1]'
		echo '{"finding":"tool","tool_id":"x"}'
		echo '{"finding":"duplicate","files":["a"],"hash":"00","size_bytes":1}'
	} >bad.jsonl
	run -1 --separate-stderr aim-scan clean --yes bad.jsonl
	assert_equal "$stderr" "aim-scan: bad.jsonl:1: invalid JSON at column 3: '[' or '{' expected near 'not'
aim-scan: bad.jsonl:2: a record must be a JSON object
aim-scan: bad.jsonl:3: nothing to clean in this finding (only cache and duplicate findings)
aim-scan: bad.jsonl:4: duplicate finding without two \"files\""
	assert_equal "$(jq -c '[.action, .line]' <<<"$output" | xargs)" '[refused,1] [refused,2] [refused,3] [refused,4]'
}

@test "clean: without a hash, every extra copy is compared byte for byte with the kept one" {
	dup_tree
	aim-scan dups --no-hash -m 1 t | jq -c 'select(.size_bytes == 300000)' >found.jsonl || true
	# Its last byte changed: to Q, or to R when the random one was a Q.
	if [ "$(tail -c 1 t/b/big.copy)" = Q ]; then b=R; else b=Q; fi
	printf '%s' "$b" | dd of=t/b/big.copy bs=1 seek=299999 conv=notrunc status=none
	run -1 --separate-stderr aim-scan clean --yes found.jsonl
	run jq -c '[.action, .path, .reason]' <<<"$output"
	assert_output - <<'EOF'
["removed","t/a/deep/er/big.bin",null]
["refused","t/b/big.copy","changed: content differs from the kept copy"]
EOF
	assert_file_exists t/b/big.copy
	assert_file_exists t/a/big
}

@test "each run is a management event in the audit chain: health_check with the summary, scan_execute with the command" {
	registry "$T/reg" "{\"fresh\": $(tool aim-fx-fresh)}" '{"capabilities": {"cap": {"primary": "fresh"}}}'
	mkdir -p "$T/tree" && head -c 5000 /dev/urandom >"$T/tree/a" && cp "$T/tree/a" "$T/tree/b"
	export AIM_AUDIT_DIR=$T/audit
	run -0 aim-scan -r "$T/reg" health --warn-ok
	run -1 aim-scan dups -m 1 "$T/tree"
	run jq -c '[.seq, .kind, .program, .event.command, .event.operands, .event.records, .event.exit_status, .event.overall_status]' "$T"/audit/*/*.json
	assert_line --index 0 '[1,"health_check","aim-scan","health",[],9,0,"degraded"]'
	assert_line --index 1 "[2,\"scan_execute\",\"aim-scan\",\"dups\",[\"$T/tree\"],1,1,null]"
	run -0 aim-audit verify -d "$T/audit"
	# Without an audit directory of this setup: no trail, no complaint.
	unset AIM_AUDIT_DIR
	run -1 --separate-stderr aim-scan dups -m 1 "$T/tree"
	assert_equal "$stderr" ""
	assert_equal "$(find "$T" -name '*_aim_*.json' | wc -l)" 2
	# An audit directory that cannot be made: a warning, the scan's own status.
	export AIM_AUDIT_DIR=$T/tree/a/audit
	run -1 --separate-stderr aim-scan dups -m 1 "$T/tree"
	assert_equal "$stderr" "aim-scan: can't log scan_execute in $T/tree/a/audit: can't create $T/tree/a/audit: Not a directory"
}

@test "clean: a directory that can't be looked into for a version-control directory is refused" {
	[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null || skip "needs root and setpriv(1) to run as nobody"
	d=$(mktemp -d /tmp/aim-clean.XXXXXX)
	chmod 755 "$d"
	mkdir -p "$d/x/sub"
	chmod 777 "$d/x"
	chmod 000 "$d/x/sub"
	echo '{"finding":"cache","path":"x","pattern":"x","size_bytes":1,"files":1}' >"$d/f.jsonl"
	run -1 --separate-stderr sh -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$2" clean -y f.jsonl' \
	    sh "$d" "$(command -v aim-scan)"
	kept=0
	[ -d "$d/x/sub" ] || kept=1
	rm -rf "$d"
	assert_equal "$kept" 0
	assert_equal "$stderr" "aim-scan: f.jsonl:1: x: refused: can't look for a version-control directory in x/sub: Permission denied"
	assert_equal "$(jq -c '[.action, .reason]' <<<"$output")" "[\"refused\",\"can't look for a version-control directory in x/sub: Permission denied\"]"
}
