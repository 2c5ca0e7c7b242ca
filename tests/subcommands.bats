#!/usr/bin/env bats
# One subcommand convention for aim-scan, aim-audit and aim-secret (aim(7)
# COMMAND LINES): global options before the command or after it, a command's
# own options after it, COMMAND --help, the same unknown-command message.

load helper

setup() {
	common_setup
	unset AIM_VAULT AIM_VAULT_KEYFILE XDG_DATA_HOME
}

@test "COMMAND --help prints that command's synopsis and options, exit 0" {
	run -0 --separate-stderr aim-scan health --help
	assert_equal "${lines[0]}" "usage: aim-scan [-H] [-c config] [-r registry] health [-W]"
	assert_line "  -W, --warn-ok         health: exit 0 when degraded too"
	refute_line --partial "--min-size"
	assert_equal "$stderr" ""
	run -0 --separate-stderr aim-scan dups -h
	assert_equal "${lines[0]}" "usage: aim-scan [-H] [-c config] dups [--no-hash] [-e ext] [-m bytes] [root ...]"
	run -0 --separate-stderr aim-audit prune --help
	assert_equal "${lines[0]}" "usage: aim-audit [-c config] [-d dir] [-r registry] prune [--days n] [--dry-run]"
	refute_line --partial "--csv"
	run -0 --separate-stderr aim-secret set --help
	assert_equal "${lines[0]}" "usage: aim-secret [-f vault] [-k keyfile] [--passphrase-fd fd] set [--allow-empty] [-d description] name"
	refute_line --partial "--keyfile"
	assert_equal "${lines[-1]}" "See aim-secret(1)."
}

@test "a command's option before the command names where it goes, exit 2" {
	run -2 --separate-stderr aim-scan -W health
	assert_equal "$stderr" "aim-scan: -W is an option of health: aim-scan health -W"
	assert_equal "$output" ""
	run -2 --separate-stderr aim-scan --min-size=1 dups
	assert_equal "$stderr" "aim-scan: --min-size is an option of dups: aim-scan dups --min-size"
	run -2 --separate-stderr aim-audit --days 3 prune
	assert_equal "$stderr" "aim-audit: --days is an option of prune: aim-audit prune --days"
	run -2 --separate-stderr aim-secret -d x set a/b
	assert_equal "$stderr" "aim-secret: -d is an option of set: aim-secret set -d"
}

@test "another command's option after a command names the command it belongs to, exit 2" {
	run -2 --separate-stderr aim-scan health -m 1
	assert_equal "$stderr" "aim-scan: -m is an option of dups: aim-scan dups -m"
	run -2 --separate-stderr aim-scan clean --warn-ok
	assert_equal "$stderr" "aim-scan: --warn-ok is an option of health: aim-scan health --warn-ok"
	run -2 --separate-stderr aim-audit stats -n 3
	assert_equal "$stderr" "aim-audit: -n is an option of query: aim-audit query -n"
	run -2 --separate-stderr aim-secret get --allow-empty a/b
	assert_equal "$stderr" "aim-secret: --allow-empty is an option of set: aim-secret set --allow-empty"
}

@test "global options work before and after the command" {
	# aim-scan: -c before and after dups reads the same configuration.
	mkdir -p t/a t/b
	printf 'same bytes\n' >t/a/x
	printf 'same bytes\n' >t/b/x
	echo '{}' >cfg.json
	run -1 aim-scan -c cfg.json dups -m 1 t
	before=$output
	run -1 aim-scan dups -m 1 t -c cfg.json
	assert_equal "$output" "$before"
	run -3 --separate-stderr aim-scan dups -c nosuch.json -m 1 t
	# aim-audit: -d before and after verify finds the same directory.
	echo '{"id":"r"}' | aim-audit -d aud >/dev/null
	run -0 aim-audit -d aud verify
	assert_equal "$(jq -r .entries <<<"$output")" 1
	run -0 aim-audit verify -d aud
	assert_equal "$(jq -r .entries <<<"$output")" 1
	# aim-secret: -f before and after path.
	run -0 aim-secret -f "$PWD/v1" path
	assert_output "$PWD/v1"
	run -0 aim-secret path -f "$PWD/v1"
	assert_output "$PWD/v1"
}

@test "an unknown command: the same message in all three, the usage, exit 2" {
	run -2 --separate-stderr aim-scan frobnicate
	assert_equal "${stderr_lines[0]}" "aim-scan: unknown command 'frobnicate'"
	assert_equal "${stderr_lines[1]}" "usage: aim-scan [-H] [-c config] [-r registry] [tools]"
	run -2 --separate-stderr aim-audit -d aud frobnicate
	assert_equal "${stderr_lines[0]}" "aim-audit: unknown command 'frobnicate'"
	assert_equal "${stderr_lines[1]}" "usage: aim-audit [-H] [-c config] [-d dir] [-r registry] [file ...]"
	[ ! -e aud ]
	run -2 --separate-stderr aim-secret frobnicate
	assert_equal "${stderr_lines[0]}" "aim-secret: unknown command 'frobnicate'"
	# A file of that name is the filter's input, not a command.
	echo '{"id":"f"}' >frobnicate
	run -0 --separate-stderr aim-audit -d aud frobnicate
	assert_equal "$(jq -r .id <<<"$output")" f
}
