#!/usr/bin/env bats
# aim-init (aim init): a project's registry made from the example registry,
# keeping the tools found on PATH.  PATH holds only stand-in commands here,
# so which tools are "found" is exact.

load helper

setup() {
	common_setup
	INIT=$AIM_TEST_BUILD/aim-init
	EX=$TOP/examples/.AIM_ai-tools-registry
	STUBS=$BATS_TEST_TMPDIR/stubs
	mkdir -p "$STUBS" proj
	for c in claude codex shellcheck curl; do
		printf '#!/bin/sh\nexit 0\n' >"$STUBS/$c"
		chmod +x "$STUBS/$c"
	done
	R=proj/.AIM_ai-tools-registry
}

# init ARGS...: aim-init with only the stand-ins on PATH.
init() {
	PATH=$STUBS "$INIT" "$@"
}

@test "init: the tools found, their adapters and chains; the registry passes --check" {
	run -0 --separate-stderr init proj
	assert_equal "$stderr" ""
	assert_equal "${lines[0]}" "made proj/.AIM_ai-tools-registry"
	assert_equal "${lines[1]}" "  from $(cd "$EX" && pwd -P)"
	assert_equal "${lines[2]}" "tools found: 3 of 24"
	assert_line "not found: gemini, jules, aider, clang-format, prettier, cppcheck, eslint, shfmt, black, yamllint, stylelint, markdownlint, copilot, opencode, qwen, ollama, continue, crush, droid, pi, kilo"
	assert_line "  code_generation claude -> codex"
	assert_line "  refactoring     claude -> codex"
	assert_line "  linting         shellcheck"
	assert_line "no tool found for: formatting"
	run jq -c '.tools | keys' "$R/AIM_registry.json"
	assert_output '["claude","codex","shellcheck"]'
	# Each entry is the template's, whole.
	run jq -e --slurpfile t "$EX/AIM_registry.json" \
	    '.tools.claude == $t[0].tools.claude' "$R/AIM_registry.json"
	assert_success
	# A declarative tool (an adapter object) has no script to copy.
	run jq -e --slurpfile t "$EX/AIM_registry.json" \
	    '.tools.shellcheck == $t[0].tools.shellcheck and .tools.shellcheck.adapter' \
	    "$R/AIM_registry.json"
	assert_success
	run jq -c -S '.capabilities | map_values([.primary] + .fallback)' \
	    "$R/AIM_cross-tool/AIM_coordination-rules.json"
	assert_output '{"code_generation":["claude","codex"],"linting":["shellcheck"],"refactoring":["claude","codex"],"version":["claude","codex"]}'
	# The rest of each rule and of the rules is the template's.
	run jq -c '.capabilities.code_generation.timeout_ms, .security.max_file_count' \
	    "$R/AIM_cross-tool/AIM_coordination-rules.json"
	assert_output $'180000\n50'
	run bash -c 'cd "$1" && find . -type f -printf "%P %m\n" | LC_ALL=C sort' sh "$R"
	assert_output ".gitignore 644
AIM_adapters/AIM_claude.sh 755
AIM_adapters/AIM_codex.sh 755
AIM_adapters/error-patterns 644
AIM_adapters/lib.sh 644
AIM_audit/.gitignore 600
AIM_cross-tool/AIM_coordination-rules.json 644
AIM_registry.json 644
aim_config.json 644"
	cmp "$EX/AIM_adapters/AIM_claude.sh" "$R/AIM_adapters/AIM_claude.sh"
	cmp "$EX/AIM_adapters/lib.sh" "$R/AIM_adapters/lib.sh"
	cmp "$EX/AIM_adapters/error-patterns" "$R/AIM_adapters/error-patterns"
	assert_equal "$(cat "$R/AIM_audit/.gitignore")" "*"
	# The stand-ins are on PATH for --check too: the registry is whole.
	PATH=$STUBS:$PATH run -0 aim-resolve -r "$R" --check
}

@test "init: a request routes through the new registry from the project directory" {
	init proj >/dev/null
	cd proj
	PATH=$STUBS:$PATH run -0 --separate-stderr aim-resolve <<<'{"id":"r1","capability":"code_generation","payload":{"prompt":"hi"}}'
	run jq -c '[.route.candidates[].tool_id]' <<<"$output"
	assert_output '["claude","codex"]'
}

@test "init: an existing registry is refused, untouched; --force rewrites its files, keeps the audit trail" {
	init proj >/dev/null
	echo '{"tools":{}}' >"$R/AIM_registry.json"
	echo entry >"$R/AIM_audit/kept.json"
	run -1 --separate-stderr init proj
	assert_equal "$stderr" "aim-init: proj/.AIM_ai-tools-registry already exists: --force rewrites its registry, rules, config and adapters"
	assert_output ""
	assert_equal "$(cat "$R/AIM_registry.json")" '{"tools":{}}'
	run -0 init --force proj
	run jq -c '.tools | keys' "$R/AIM_registry.json"
	assert_output '["claude","codex","shellcheck"]'
	assert_equal "$(cat "$R/AIM_audit/kept.json")" "entry"
}

@test "init -n: the report of what would be made, nothing written" {
	run -0 init -n -j proj
	run jq -c '[.dry_run, .registry, [.tools[].tool_id], .written]' <<<"$output"
	assert_output '[true,"proj/.AIM_ai-tools-registry",["claude","codex","shellcheck"],[]]'
	assert_not_exist "$R"
	run -0 init -n proj
	assert_line --index 0 "would make proj/.AIM_ai-tools-registry"
	assert_not_exist "$R"
}

@test "init -j: one JSON object naming what it found, missed and wrote" {
	cd proj
	run -0 init --json
	run jq -c -S '.tools[0], .missing[0], .missing[15], .uncovered, (.written | length)' <<<"$output"
	assert_line --index 0 "{\"capabilities\":[\"code_generation\",\"refactoring\",\"version\"],\"name\":\"Claude Code\",\"path\":\"$STUBS/claude\",\"tool_id\":\"claude\"}"
	assert_line --index 1 '{"name":"Gemini CLI","tool_id":"gemini","why":"gemini: not found on PATH"}'
	# curl is there, but an endpoint is never taken as found.
	assert_line --index 2 '{"name":"Ollama (any OpenAI-compatible endpoint)","tool_id":"ollama","why":"an endpoint (http://localhost:11434/v1): add it when it serves (aim-registry(5))"}'
	assert_line --index 3 '["formatting"]'
	assert_line --index 4 '9'
}

@test "init: a directory that is not one, or not there, is a usage error" {
	touch afile
	run -2 --separate-stderr init afile
	assert_equal "$stderr" "aim-init: afile: not a directory"
	run -2 --separate-stderr init nothere
	assert_equal "$stderr" "aim-init: nothere: No such file or directory"
	run -2 --separate-stderr init a b
	assert_equal "$stderr" "usage: aim-init [-fhjnV] [--from=DIR] [DIR]"
}

@test "init --from: a broken template names its file and line; a missing one, itself" {
	run -3 --separate-stderr init --from "$REGS/malformed" proj
	assert_equal "$stderr" "aim-init: template $REGS/malformed/AIM_registry.json:4:24: ':' expected near '\"Aider CLI\"'"
	run -3 --separate-stderr init --from "$BATS_TEST_TMPDIR/none" proj
	assert_equal "$stderr" "aim-init: template $BATS_TEST_TMPDIR/none: No such file or directory"
	assert_not_exist "$R"
}

@test "init: the template itself is never the registry it makes" {
	cp -R "$EX" proj/
	run -2 --separate-stderr init --force --from "$R" proj
	assert_equal "$stderr" "aim-init: proj/.AIM_ai-tools-registry is the template itself"
}

@test "aim init runs aim-init; --help and -V" {
	run -0 --separate-stderr env PATH="$STUBS" "$AIM_TEST_BUILD/aim" init -n proj
	assert_line --index 0 "would make proj/.AIM_ai-tools-registry"
	run -0 "$INIT" --help
	assert_line --index 0 "usage: aim-init [-fhjnV] [--from=DIR] [DIR]"
	assert_line "See aim-init(1)."
	run -0 "$INIT" -V
	assert_output --regexp '^aim-init [0-9]+\.[0-9]+\.[0-9]+$'
	run -2 "$INIT" --bogus
}
