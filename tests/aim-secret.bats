#!/usr/bin/env bats
# aim-secret: the vault's commands, its errors, file modes, the frozen format,
# nonces, concurrency, kills during a save, and secrets through the pipeline.

load helper

USAGE=(
	"usage: aim-secret [-f vault] [-k keyfile] [--passphrase-fd fd] command [args]"
	"       aim-secret init [--keyfile file]"
	"       aim-secret set [--allow-empty] [-d description] name"
	"       aim-secret get name"
	"       aim-secret list"
	"       aim-secret rm name"
	"       aim-secret rekey [--keyfile file]"
	"       aim-secret path"
)
VFIX=$FIX/vault
ISO_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
MAGIC_HEX=41494d5641554c54
# The canary for the pipeline: quote, backslash and slash give it a distinct
# JSON-escaped form, '+' and '/' distinct base64 forms; "v4ult" is too short
# for the Bearer pattern, so only the vault redaction can catch it.
CANARY='v4ult"canary\CANARY-7f3a9/+?='
CANARY_CORE='CANARY-7f3a9'

setup() {
	common_setup
	unset AIM_VAULT AIM_VAULT_KEYFILE XDG_DATA_HOME
	V=$PWD/vault
	K=$PWD/key
}

# mkvault: a new key file vault at $V opened by $K, both exported.
mkvault() {
	aim-secret -f "$V" init --keyfile "$K"
	export AIM_VAULT=$V AIM_VAULT_KEYFILE=$K
}

# put NAME VALUE: set NAME to exactly VALUE (no newline).
put() {
	printf '%s' "$2" | aim-secret set "$1"
}

# get_is NAME VALUE: get NAME gives exactly the bytes of VALUE.
get_is() {
	aim-secret get "$1" >got
	printf '%s' "$2" >want
	cmp got want
}

mode() {
	stat -c %a "$1"
}

# notty CMD...: CMD without a controlling terminal, so nothing can prompt.
notty() {
	setsid -w "$@"
}

# poke FILE OFFSET OCTAL...: overwrite bytes of FILE from OFFSET.
poke() {
	local f=$1 off=$2
	shift 2
	printf "$(printf '\\%s' "$@")" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# flip FILE OFFSET: flip the low bit of one byte.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	poke "$1" "$2" "$(printf %03o $((b ^ 1)))"
}

# hexat FILE OFFSET LEN: the bytes as lowercase hex on one line.
hexat() {
	xxd -p -s "$2" -l "$3" "$1" | tr -d '\n'
}

# unusable MSG: get, list, set and rm each exit 3 with MSG as the only line
# on stderr and nothing on stdout, and the vault stays byte for byte the same.
unusable() {
	local cmd
	cp "$V" vault.before
	for cmd in "get anthropic/api_key" "list" "set --allow-empty new/name" "rm anthropic/api_key"; do
		# shellcheck disable=SC2086
		run --separate-stderr notty aim-secret $cmd </dev/null
		assert_equal "$cmd: $status" "$cmd: 3"
		assert_equal "$stderr" "$1"
		assert_equal "$output" ""
		cmp "$V" vault.before
	done
}

# A vault with one secret, for the error tests.
one_secret() {
	mkvault
	put anthropic/api_key sk-ant-one-secret-value
}

# The passphrase known-answer vault copied here as $V, mode 0600.
passphrase_fixture() {
	cp "$VFIX/passphrase.vault" "$V"
	chmod 600 "$V"
	export AIM_VAULT=$V
}

# ---- usage ----

@test "--help prints the usage, one line per option and the man page on stdout, exits 0" {
	run --separate-stderr aim-secret --help
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 17
	for i in "${!USAGE[@]}"; do
		assert_equal "${lines[$i]}" "${USAGE[$i]}"
	done
	for opt in "-f vault " "-k keyfile " "--passphrase-fd fd " "-h, --help " "-V, --version " "--allow-empty " "-d description " "--keyfile file "; do
		assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c -- "^  $opt")" 1
	done
	assert_equal "${lines[16]}" "See aim-secret(1)."
}

@test "-V is --version" {
	run --separate-stderr aim-secret -V
	assert_success
	assert_output --regexp '^aim-secret [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "set refuses an empty value unless --allow-empty: the misspelt variable of the README" {
	mkvault
	unset KEY
	run --separate-stderr sh -c 'printf %s "$KEY" | aim-secret set svc/key'
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-secret: the value for svc/key is empty (an unset variable?): give --allow-empty to store it"
	run aim-secret list
	assert_output ""
	printf '' | aim-secret set --allow-empty svc/key
	get_is svc/key ''
}

@test "set with --passphrase-fd 0 and the value on stdin is a clear error, not a wrong passphrase" {
	passphrase_fixture
	run --separate-stderr notty sh -c 'printf "correct horse\nvalue\n" | aim-secret --passphrase-fd 0 set svc/key'
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-secret: --passphrase-fd 0 and the value both read the standard input: give the passphrase on another descriptor (--passphrase-fd 3 3<file)"
}

@test "global options work after the command too; -d's own argument is not taken for one" {
	mkvault
	unset AIM_VAULT AIM_VAULT_KEYFILE
	printf 'v' | aim-secret set -f "$V" -k "$K" svc/key
	run -0 --separate-stderr aim-secret list -f "$V" -k "$K"
	assert_equal "$(jq -r .name <<<"$output")" svc/key
	run -0 --separate-stderr aim-secret get svc/key -f"$V" -k"$K"
	assert_equal "$output" v
	run -0 --separate-stderr aim-secret path -f "$V"
	assert_equal "$output" "$V"
	export AIM_VAULT=$V AIM_VAULT_KEYFILE=$K
	printf 'w' | aim-secret set -d -fancy svc/key2
	get_is svc/key2 w
	aim-secret list >list.jsonl
	run -0 jq -r 'select(.name == "svc/key2") | .description' list.jsonl
	assert_output -- -fancy
}

@test "a bad option prints the usage on stderr and exits 2" {
	run --separate-stderr aim-secret -x list
	assert_equal "$status" 2
	assert_equal "$output" ""
	assert_equal "${stderr_lines[0]}" "aim-secret: invalid option -- 'x'"
	assert_equal "${stderr_lines[1]}" "${USAGE[0]}"
	assert_equal "${#stderr_lines[@]}" 9
}

@test "no command, an unknown command, extra arguments: usage, exit 2" {
	run --separate-stderr aim-secret
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "${USAGE[0]}"
	run --separate-stderr aim-secret frobnicate
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" "aim-secret: unknown command 'frobnicate'"
	assert_equal "${stderr_lines[1]}" "${USAGE[0]}"
	local cmd
	for cmd in "path x" "list x" "get" "get a b" "rm" "set" "set a b" "init x" "init --keyfile" "rekey --keyfile" "set -q a"; do
		# shellcheck disable=SC2086
		run --separate-stderr aim-secret $cmd </dev/null
		assert_equal "$cmd: $status" "$cmd: 2"
		assert_equal "$output" ""
	done
}

@test "--version prints the version" {
	run --separate-stderr aim-secret --version
	assert_success
	assert_output --regexp '^aim-secret [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "--passphrase-fd wants a descriptor number" {
	run --separate-stderr aim-secret --passphrase-fd x list
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-secret: --passphrase-fd x: want a descriptor number"
	run --separate-stderr aim-secret --passphrase-fd -1 list
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-secret: --passphrase-fd -1: want a descriptor number"
}

@test "path: -f > AIM_VAULT > XDG_DATA_HOME/aim/vault > ~/.local/share/aim/vault" {
	run aim-secret path
	assert_success
	assert_output "$HOME/.local/share/aim/vault"
	XDG_DATA_HOME=$PWD/xdg run aim-secret path
	assert_output "$PWD/xdg/aim/vault"
	# A relative XDG_DATA_HOME is ignored, as the XDG spec says.
	XDG_DATA_HOME=xdg run aim-secret path
	assert_output "$HOME/.local/share/aim/vault"
	AIM_VAULT=$PWD/v XDG_DATA_HOME=$PWD/xdg run aim-secret path
	assert_output "$PWD/v"
	AIM_VAULT='' XDG_DATA_HOME=$PWD/xdg run aim-secret path
	assert_output "$PWD/xdg/aim/vault"
	AIM_VAULT=$PWD/v run aim-secret -f "$PWD/w" path
	assert_output "$PWD/w"
	# path only names the file: nothing is created.
	assert_equal "$(find . -mindepth 1 -not -path ./home | wc -l)" 0
	assert_equal "$(find "$HOME" -mindepth 1 | wc -l)" 0
}

@test "path: no AIM_VAULT, XDG_DATA_HOME or HOME is exit 3" {
	run --separate-stderr env -u HOME aim-secret path
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: no vault path: set AIM_VAULT or HOME"
}

# ---- init ----

@test "init --keyfile: a 32-byte key file and an empty vault, both 0600" {
	run --separate-stderr aim-secret -f "$V" init --keyfile "$K"
	assert_success
	assert_equal "$output$stderr" ""
	assert_equal "$(stat -c %s "$K")" 32
	assert_equal "$(mode "$K")" 600
	assert_equal "$(mode "$V")" 600
	# Header: magic, version 1, KDF 0, reserved, no limits, no salt; then an
	# empty content (4 bytes) and the 16-byte tag.
	assert_equal "$(hexat "$V" 0 44)" "${MAGIC_HEX}01000000$(printf '0%.0s' {1..64})"
	assert_equal "$(stat -c %s "$V")" $((84 + 4 + 16))
	run aim-secret -f "$V" -k "$K" list
	assert_success
	assert_output ""
	# Two key files are not the same key.
	aim-secret -f "$PWD/v2" init --keyfile "$PWD/k2"
	run cmp -s "$K" "$PWD/k2"
	assert_failure
}

@test "init at the default path makes the directories 0700" {
	run aim-secret init --keyfile "$K"
	assert_success
	assert_equal "$(mode "$HOME/.local/share/aim")" 700
	assert_equal "$(mode "$HOME/.local/share/aim/vault")" 600
	XDG_DATA_HOME=$PWD/xdg run aim-secret init --keyfile "$PWD/k2"
	assert_success
	assert_equal "$(mode "$PWD/xdg/aim")" 700
	assert_equal "$(mode "$PWD/xdg/aim/vault")" 600
}

@test "under umask 000 everything aim-secret writes is still 0600" {
	umask 000
	mkvault
	put a/b value
	assert_equal "$(mode "$K")" 600
	assert_equal "$(mode "$V")" 600
	assert_equal "$(mode "$V.lock")" 600
	aim-secret rekey --keyfile "$PWD/k2"
	assert_equal "$(mode "$PWD/k2")" 600
	assert_equal "$(mode "$V")" 600
}

@test "init refuses an existing vault and leaves it and the key file alone" {
	mkvault
	cp "$V" vault.before
	run --separate-stderr aim-secret init --keyfile "$PWD/k2"
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: vault $V exists already"
	assert_file_not_exists "$PWD/k2"
	cmp "$V" vault.before
}

@test "init refuses to overwrite an existing key file and makes no vault" {
	printf 'precious' >"$K"
	chmod 600 "$K"
	run --separate-stderr aim-secret -f "$V" init --keyfile "$K"
	assert_failure
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-secret: can't create key file $K: File exists"
	assert_equal "$(cat "$K")" precious
	assert_file_not_exists "$V"
}

@test "init without a key file or a passphrase and no terminal is a usage error, no vault" {
	run --separate-stderr notty aim-secret -f "$V" init </dev/null
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-secret: no terminal for a passphrase: use --passphrase-fd, or init --keyfile FILE"
	assert_file_not_exists "$V"
}

@test "a description over 1024 bytes is refused, the vault unchanged" {
	aim-secret -f "$V" init --keyfile "$BATS_TEST_TMPDIR/k"
	cp "$V" before
	run --separate-stderr sh -c "printf v | aim-secret -f '$V' -k '$BATS_TEST_TMPDIR/k' set -d \"\$(head -c 1025 /dev/zero | tr '\\0' d)\" a/b"
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-secret: the description is longer than 1024 bytes"
	cmp before "$V"
}

@test "init refuses an empty passphrase from --passphrase-fd too" {
	run --separate-stderr notty aim-secret -f "$V" --passphrase-fd 0 init </dev/null
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-secret: an empty passphrase is no protection"
	assert_file_not_exists "$V"
}

@test "a passphrase vault: init, set and get with --passphrase-fd; argon2id MODERATE header" {
	export AIM_VAULT=$V
	run --separate-stderr notty aim-secret --passphrase-fd 3 init 3<<<"correct horse"
	assert_success
	assert_equal "$(mode "$V")" 600
	# Version 1, KDF 1, opslimit 3, memlimit 256 MiB (MODERATE), a salt.
	assert_equal "$(hexat "$V" 0 28)" "${MAGIC_HEX}0101000003000000000000000000001000000000"
	salt=$(hexat "$V" 28 16)
	refute [ "$salt" = "00000000000000000000000000000000" ]
	nonce=$(hexat "$V" 44 24)
	printf 'pass-vault-value\n' | notty aim-secret --passphrase-fd 3 set -d "in a passphrase vault" svc/key 3<<<"correct horse"
	# A save keeps the KDF, its limits and the salt, with a fresh nonce.
	assert_equal "$(hexat "$V" 0 28)" "${MAGIC_HEX}0101000003000000000000000000001000000000"
	assert_equal "$(hexat "$V" 28 16)" "$salt"
	refute [ "$(hexat "$V" 44 24)" = "$nonce" ]
	notty aim-secret --passphrase-fd 3 get svc/key 3<<<"correct horse" >got
	printf 'pass-vault-value' >want
	cmp got want
}

# ---- set, get, list, rm ----

@test "set reads the value from stdin and strips exactly one trailing newline" {
	mkvault
	printf 'hello\n' | aim-secret set t/one
	get_is t/one hello
	printf 'two lines\n\n' | aim-secret set t/two
	get_is t/two $'two lines\n'
	printf 'no newline' | aim-secret set t/three
	get_is t/three 'no newline'
	printf '\n' | aim-secret set --allow-empty t/four
	get_is t/four ''
	printf 'cr\r\n' | aim-secret set t/five
	get_is t/five $'cr\r'
}

@test "get gives the exact bytes: empty, special characters, UTF-8, NUL, 100 KB" {
	mkvault
	aim-secret set --allow-empty t/empty </dev/null
	get_is t/empty ''
	assert_equal "$(stat -c %s got)" 0
	special=$'q"uo\'te \\back $HOME `x` %s %n\ttab * ? [a] ; | & < > !'
	put t/special "$special"
	get_is t/special "$special"
	utf8='pässwörd ✓ 日本語 🔑 Ω'
	put t/utf8 "$utf8"
	get_is t/utf8 "$utf8"
	printf 'a\0b\377\001\n\0\n' >bin
	aim-secret set t/binary <bin
	aim-secret get t/binary >got
	head -c 7 bin >want
	cmp got want
	{ head -c 102399 /dev/urandom; printf Z; } >big
	aim-secret set t/big <big
	aim-secret get t/big >got
	cmp got big
	# Every one still there after the others were saved.
	get_is t/special "$special"
	get_is t/utf8 "$utf8"
}

@test "a value of exactly 1 MiB is kept, one byte more is exit 2 and changes nothing" {
	mkvault
	head -c 1048576 /dev/zero | tr '\0' v >mib
	aim-secret set t/mib <mib
	aim-secret get t/mib >got
	cmp got mib
	cp "$V" vault.before
	{ cat mib; printf w; } >over
	run --separate-stderr aim-secret set t/over <over
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-secret: the value is longer than 1048576 bytes"
	cmp "$V" vault.before
}

@test "a value of 1 MiB followed by its newline is 1 MiB: accepted" {
	mkvault
	head -c 1048576 /dev/zero | tr '\0' v >mib
	{ cat mib; echo; } | aim-secret set t/mib
	aim-secret get t/mib >got
	cmp got mib
}

@test "set -d sets the description, a later set without -d keeps it, -d '' clears it" {
	mkvault
	printf 'v1' | aim-secret set -d "first key" svc/key
	run jq -r .description < <(aim-secret list)
	assert_output "first key"
	printf 'v2' | aim-secret set svc/key
	get_is svc/key v2
	run jq -r .description < <(aim-secret list)
	assert_output "first key"
	printf 'v3' | aim-secret set -d '' svc/key
	run jq -c . < <(aim-secret list)
	assert_output --partial '"description":""'
	get_is svc/key v3
}

@test "list: NDJSON name, description, created_at, updated_at in order, never a value" {
	mkvault
	printf 'value-one-CANARY-list' | aim-secret set -d "the first" anthropic/api_key
	printf 'value-two-CANARY-list' | aim-secret set github/token
	before=$(date -u +%s)
	run --separate-stderr aim-secret list
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 2
	refute_output --partial CANARY
	refute_output --partial value-
	# The order of the fields: real jq (gojq iterates keys sorted).
	run command jq -c '[keys_unsorted, .name, .description]' <<<"$output"
	assert_line --index 0 '[["name","description","created_at","updated_at"],"anthropic/api_key","the first"]'
	assert_line --index 1 '[["name","description","created_at","updated_at"],"github/token",""]'
	for f in created_at updated_at; do
		for t in $(aim-secret list | jq -r ".$f"); do
			[[ $t =~ $ISO_RE ]]
			s=$(date -u -d "$t" +%s)
			((s <= before && s >= before - 60))
		done
	done
}

@test "set of an existing name keeps created_at and the other secrets, moves updated_at" {
	cp "$VFIX/fixture.key" "$VFIX/keyfile.vault" .
	chmod 600 fixture.key keyfile.vault
	export AIM_VAULT=$PWD/keyfile.vault AIM_VAULT_KEYFILE=$PWD/fixture.key
	printf 'ghp_new' | aim-secret set github/token
	run jq -c '[.name, .description, .created_at]' < <(aim-secret list)
	assert_line --index 0 '["anthropic/api_key","Anthropic API key (fixture)","2026-11-18T11:06:40Z"]'
	assert_line --index 1 '["github/token","","2026-11-18T11:08:20Z"]'
	run jq -r 'select(.name == "github/token") | .updated_at' < <(aim-secret list)
	refute_output "2026-11-18T12:06:40Z"
	assert_output --regexp "$ISO_RE"
	get_is github/token ghp_new
	get_is anthropic/api_key sk-ant-fixture-0123456789
}

@test "an empty vault lists nothing and exits 0" {
	mkvault
	run --separate-stderr aim-secret list
	assert_success
	assert_equal "$output$stderr" ""
}

@test "rm removes one secret, the others stay" {
	mkvault
	put a/one 1111
	put a/two 2222
	run --separate-stderr aim-secret rm a/one
	assert_success
	assert_equal "$output$stderr" ""
	run jq -r .name < <(aim-secret list)
	assert_output a/two
	get_is a/two 2222
	run --separate-stderr aim-secret get a/one
	assert_equal "$status" 1
}

@test "get and rm of a missing name: exit 1, 'no secret NAME in PATH', vault untouched" {
	mkvault
	put a/one 1111
	cp "$V" vault.before
	run --separate-stderr aim-secret get a/two
	assert_equal "$status" 1
	assert_equal "$output" ""
	assert_equal "$stderr" "aim-secret: no secret a/two in $V"
	run --separate-stderr aim-secret rm a/two
	assert_equal "$status" 1
	assert_equal "$stderr" "aim-secret: no secret a/two in $V"
	cmp "$V" vault.before
	# -f names the vault in the message as given.
	run --separate-stderr aim-secret -f vault get nope
	assert_equal "$status" 1
	assert_equal "$stderr" "aim-secret: no secret nope in vault"
}

@test "bad names are exit 2 with the rule, for set, get and rm; the vault is untouched" {
	mkvault
	cp "$V" vault.before
	long=$(printf 'n%.0s' {1..256})
	for name in "" /lead trail/ a//b "sp ace" 'd$ollar' 'qu"ote' é "$long" "a/b\\c" "*"; do
		for cmd in set get rm; do
			run --separate-stderr aim-secret "$cmd" "$name" </dev/null
			assert_equal "$cmd '$name': $status" "$cmd '$name': 2"
			assert_equal "$stderr" "aim-secret: bad secret name '$name': letters, digits, '.', '_', '-' in parts joined by '/' (anthropic/api_key)"
		done
	done
	cmp "$V" vault.before
	# 255 bytes and every allowed character are fine.
	put "${long:1}" x
	put A-z_0.9/b.c/d-e x
	get_is A-z_0.9/b.c/d-e x
}

@test "-k and AIM_VAULT_KEYFILE: -k wins, an empty AIM_VAULT_KEYFILE counts as unset" {
	mkvault
	put a/b value
	AIM_VAULT_KEYFILE=$PWD/nope run --separate-stderr aim-secret -k "$K" get a/b
	assert_success
	assert_equal "$output" value
	AIM_VAULT_KEYFILE='' run --separate-stderr aim-secret get a/b
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: vault $V opens with a key file: set AIM_VAULT_KEYFILE"
}

# ---- errors: each distinct, exit 3, the vault untouched ----

@test "no vault: exit 3 saying how to make one" {
	export AIM_VAULT=$V AIM_VAULT_KEYFILE=$K
	run --separate-stderr aim-secret get a/b
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: no vault at $V: create one with aim-secret init"
	run --separate-stderr aim-secret set a/b <<<x
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: no vault at $V: create one with aim-secret init"
	assert_file_not_exists "$V"
}

@test "a key file vault without a key file: exit 3, vault untouched" {
	one_secret
	unset AIM_VAULT_KEYFILE
	unusable "aim-secret: vault $V opens with a key file: set AIM_VAULT_KEYFILE"
}

@test "a key file that is missing: exit 3, vault untouched" {
	one_secret
	export AIM_VAULT_KEYFILE=$PWD/gone
	unusable "aim-secret: key file $PWD/gone: No such file or directory"
}

@test "the wrong key file: exit 3, vault untouched" {
	one_secret
	aim-secret -f "$PWD/other" init --keyfile "$PWD/k2"
	export AIM_VAULT_KEYFILE=$PWD/k2
	unusable "aim-secret: wrong key file for vault $V"
}

@test "a key file of the wrong length: exit 3 with its length, vault untouched" {
	one_secret
	head -c 31 "$K" >k31
	{ cat "$K"; printf x; } >k33
	: >k0
	chmod 600 k31 k33 k0
	AIM_VAULT_KEYFILE=$PWD/k31 unusable "aim-secret: key file $PWD/k31 holds 31 bytes, not 32"
	AIM_VAULT_KEYFILE=$PWD/k33 unusable "aim-secret: key file $PWD/k33 holds 33 bytes, not 32"
	AIM_VAULT_KEYFILE=$PWD/k0 unusable "aim-secret: key file $PWD/k0 holds 0 bytes, not 32"
}

@test "a truncated vault: exit 3 with its size, vault untouched" {
	one_secret
	cp "$V" full
	for n in 99 84 50 8; do
		head -c "$n" full >"$V"
		unusable "aim-secret: vault $V is truncated ($n bytes)"
	done
}

@test "a vault cut inside its content does not authenticate: exit 3, untouched" {
	one_secret
	cp "$V" full
	head -c $(($(stat -c %s full) - 1)) full >"$V"
	unusable "aim-secret: vault $V is corrupted: the key is right but the content does not authenticate"
}

@test "not a vault (bad magic, empty file, a directory): exit 3, untouched" {
	one_secret
	poke "$V" 0 141	# 'a'
	unusable "aim-secret: $V is not an aim vault"
	: >"$V"
	unusable "aim-secret: $V is not an aim vault"
	printf 'AIMVAUL' >"$V"
	unusable "aim-secret: $V is not an aim vault"
	rm "$V"
	mkdir "$V"
	run --separate-stderr aim-secret get anthropic/api_key
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: vault $V is not a regular file"
}

@test "an unknown format version (byte 8): exit 3 naming both versions, untouched" {
	one_secret
	poke "$V" 8 002
	unusable "aim-secret: vault $V has format version 2; this aim reads version 1"
	poke "$V" 8 000
	unusable "aim-secret: vault $V has format version 0; this aim reads version 1"
	poke "$V" 8 377
	unusable "aim-secret: vault $V has format version 255; this aim reads version 1"
}

@test "an unknown key derivation (byte 9): exit 3, untouched" {
	one_secret
	poke "$V" 9 007
	unusable "aim-secret: vault $V: unknown key derivation 7"
}

@test "corrupted ciphertext, tag, nonce or header: exit 3 'corrupted', untouched" {
	one_secret
	cp "$V" good
	size=$(stat -c %s good)
	# The first content byte, one in the middle, the last tag byte, a nonce
	# byte, a reserved header byte (the header is associated data).
	for off in 84 $(((84 + size) / 2)) $((size - 1)) 50 10; do
		cp good "$V"
		flip "$V" "$off"
		unusable "aim-secret: vault $V is corrupted: the key is right but the content does not authenticate"
	done
}

@test "the wrong passphrase: exit 3, vault untouched" {
	passphrase_fixture
	cp "$V" vault.before
	run --separate-stderr notty aim-secret --passphrase-fd 3 get openai/api_key 3<<<"not the passphrase"
	assert_equal "$status" 3
	assert_equal "$output" ""
	assert_equal "$stderr" "aim-secret: wrong passphrase for vault $V"
	run --separate-stderr notty aim-secret --passphrase-fd 3 set openai/api_key 3<<<"not the passphrase" <<<"new value"
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: wrong passphrase for vault $V"
	cmp "$V" vault.before
}

@test "a passphrase vault with no passphrase: exit 3 without a terminal, or with only a key file" {
	passphrase_fixture
	cp "$V" vault.before
	run --separate-stderr notty aim-secret get openai/api_key </dev/null
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: no key: set AIM_VAULT_KEYFILE, use -k, or give a passphrase with --passphrase-fd"
	cp "$VFIX/fixture.key" .
	chmod 600 fixture.key
	export AIM_VAULT_KEYFILE=$PWD/fixture.key
	unusable "aim-secret: vault $V opens with a passphrase: give it on a terminal or with --passphrase-fd"
	cmp "$V" vault.before
}

@test "--passphrase-fd on a closed descriptor is exit 4" {
	passphrase_fixture
	run --separate-stderr notty aim-secret --passphrase-fd 9 get openai/api_key 9<&-
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-secret: can't read the passphrase: Bad file descriptor"
}

@test "KDF limits out of range in the file are refused before argon2id runs: exit 3, untouched" {
	passphrase_fixture
	# opslimit 2^64-1.
	poke "$V" 12 377 377 377 377 377 377 377 377
	# The message is only written before argon2id runs: with 2^64-1
	# passes it would never return.
	unusable "aim-secret: vault $V asks for argon2id limits out of range (18446744073709551615 ops, 268435456 bytes)"
	# opslimit 0.
	poke "$V" 12 000 000 000 000 000 000 000 000
	unusable "aim-secret: vault $V asks for argon2id limits out of range (0 ops, 268435456 bytes)"
	# opslimit back to 3, memlimit 1 TiB, then 1 KiB.
	poke "$V" 12 003
	poke "$V" 20 000 000 000 000 000 001 000 000
	unusable "aim-secret: vault $V asks for argon2id limits out of range (3 ops, 1099511627776 bytes)"
	poke "$V" 20 000 004 000 000 000 000 000 000
	unusable "aim-secret: vault $V asks for argon2id limits out of range (3 ops, 1024 bytes)"
}

@test "the errors are distinct: every unusable vault has its own message" {
	one_secret
	cp "$V" good
	head -c 32 /dev/urandom >k2
	chmod 600 k2
	msgs=()
	msg() { msgs+=("$(notty aim-secret get anthropic/api_key 2>&1 >/dev/null </dev/null || true)"); }
	AIM_VAULT_KEYFILE=$PWD/k2 msg	# wrong key
	head -c 90 good >"$V"; msg	# truncated
	cp good "$V"; poke "$V" 0 141; msg	# bad magic
	cp good "$V"; poke "$V" 8 002; msg	# version
	cp good "$V"; flip "$V" 90; msg	# corrupted
	cp "$VFIX/passphrase.vault" "$V"; poke "$V" 12 377 377; unset AIM_VAULT_KEYFILE; msg	# limits
	cp good "$V"; msg	# no key
	assert_equal "${#msgs[@]}" 7
	printf '%s\n' "${msgs[@]}" >msgs
	assert_equal "$(sort -u msgs | wc -l)" 7
	run grep -c "^aim-secret: .*$V" msgs
	assert_output 7
	cp good "$V"
}

# ---- permissions ----

@test "permission matrix: a vault open to group or others is exit 3 with the chmod 600 hint" {
	one_secret
	for m in 640 604 660 644 606 666 620 602 610 601 700 400; do
		chmod "$m" "$V"
		run --separate-stderr aim-secret get anthropic/api_key
		case $m in
		700|400)
			assert_equal "$m: $status" "$m: 0"
			assert_equal "$output" sk-ant-one-secret-value
			;;
		*)
			assert_equal "$m: $status" "$m: 3"
			assert_equal "$stderr" "aim-secret: vault $V is open to group or others (mode $m): chmod 600 $V"
			assert_equal "$output" ""
			# A writer refuses too, and does not quietly fix the mode.
			cp "$V" vault.before
			run --separate-stderr aim-secret set x/y <<<v
			assert_equal "$status" 3
			cmp "$V" vault.before
			assert_equal "$(mode "$V")" "$m"
			;;
		esac
	done
	chmod 600 "$V"
	get_is anthropic/api_key sk-ant-one-secret-value
}

@test "a vault whose path holds printf directives is named as it is" {
	V=$PWD/'v%s%n%x' K=$PWD/'k%n'
	mkvault
	put a/b value
	chmod 644 "$V"
	run --separate-stderr aim-secret get a/b
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: vault $V is open to group or others (mode 644): chmod 600 $V"
}

@test "permission matrix: a key file open to group or others is exit 3 with the chmod 600 hint" {
	one_secret
	cp "$V" vault.before
	for m in 640 604 660 644 606 666 620 602 700 400; do
		chmod "$m" "$K"
		run --separate-stderr aim-secret get anthropic/api_key
		case $m in
		700|400)
			assert_equal "$m: $status" "$m: 0"
			;;
		*)
			assert_equal "$m: $status" "$m: 3"
			assert_equal "$stderr" "aim-secret: key file $K is open to group or others (mode $m): chmod 600 $K"
			run --separate-stderr aim-secret set x/y <<<v
			assert_equal "$status" 3
			;;
		esac
	done
	cmp "$V" vault.before
}

@test "a vault or key file that is a symbolic link is refused: exit 3" {
	one_secret
	mv "$V" real-vault
	ln -s real-vault "$V"
	cp real-vault vault.before
	run --separate-stderr aim-secret get anthropic/api_key
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: vault $V is a symbolic link: refusing it (use the real path)"
	run --separate-stderr aim-secret set x/y <<<v
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: vault $V is a symbolic link: refusing it (use the real path)"
	assert [ -L "$V" ]
	cmp real-vault vault.before
	rm "$V"
	mv real-vault "$V"
	mv "$K" real-key
	ln -s real-key "$K"
	run --separate-stderr aim-secret get anthropic/api_key
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: key file $K is a symbolic link: refusing it (use the real path)"
	cmp "$V" vault.before
}

@test "a vault or key file owned by someone else is refused: exit 3" {
	[ "$(id -u)" = 0 ] || skip "needs root to chown a file to nobody"
	nobody=$(id -u nobody 2>/dev/null) || skip "no user nobody"
	one_secret
	cp "$V" vault.before
	chown nobody "$V"
	run --separate-stderr aim-secret get anthropic/api_key
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: vault $V is owned by uid $nobody, not you (chown it or use your own)"
	run --separate-stderr aim-secret set x/y <<<v
	assert_equal "$status" 3
	assert_equal "$(stat -c %u "$V")" "$nobody"
	cmp "$V" vault.before
	chown 0 "$V"
	chown nobody "$K"
	run --separate-stderr aim-secret get anthropic/api_key
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: key file $K is owned by uid $nobody, not you (chown it or use your own)"
}

@test "a lock file planted as a symbolic link is not followed: exit 4" {
	one_secret
	cp "$V" vault.before
	rm -f "$V.lock"
	ln -s "$PWD/elsewhere" "$V.lock"
	run --separate-stderr aim-secret set x/y <<<v
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-secret: can't open $V.lock: Too many levels of symbolic links"
	assert_file_not_exists "$PWD/elsewhere"
	cmp "$V" vault.before
}

# ---- rekey ----

@test "rekey --keyfile NEW: the old key no longer opens, the new one does, secrets kept" {
	mkvault
	printf 'value-a' | aim-secret set -d "desc a" svc/a
	printf 'value-b' | aim-secret set svc/b
	aim-secret list >list.before
	run --separate-stderr aim-secret rekey --keyfile "$PWD/new.key"
	assert_success
	assert_equal "$output$stderr" ""
	assert_equal "$(stat -c %s new.key)" 32
	assert_equal "$(mode new.key)" 600
	assert_equal "$(mode "$V")" 600
	run cmp -s "$K" new.key
	assert_failure
	run --separate-stderr aim-secret get svc/a
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: wrong key file for vault $V"
	export AIM_VAULT_KEYFILE=$PWD/new.key
	get_is svc/a value-a
	get_is svc/b value-b
	aim-secret list >list.after
	cmp list.before list.after
}

@test "rekey refuses an existing key file, a wrong current key, a passphrase without a terminal" {
	mkvault
	put svc/a value-a
	cp "$V" vault.before
	printf 'precious' >taken.key
	run --separate-stderr aim-secret rekey --keyfile taken.key
	assert_equal "$status" 4
	assert_equal "$stderr" "aim-secret: can't create key file taken.key: File exists"
	assert_equal "$(cat taken.key)" precious
	cmp "$V" vault.before
	head -c 32 /dev/urandom >wrong.key
	chmod 600 wrong.key
	AIM_VAULT_KEYFILE=$PWD/wrong.key run --separate-stderr aim-secret rekey --keyfile new.key
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-secret: wrong key file for vault $V"
	assert_file_not_exists new.key
	run --separate-stderr notty aim-secret rekey </dev/null
	assert_equal "$status" 2
	assert_equal "$stderr" "aim-secret: rekey to a passphrase needs a terminal; use --keyfile FILE"
	cmp "$V" vault.before
	get_is svc/a value-a
}

@test "rekey a passphrase vault to a key file: KDF 0, no salt, secrets kept" {
	passphrase_fixture
	notty aim-secret --passphrase-fd 3 rekey --keyfile "$PWD/new.key" 3<<<"fixture passphrase"
	assert_equal "$(hexat "$V" 0 44)" "${MAGIC_HEX}01000000$(printf '0%.0s' {1..64})"
	export AIM_VAULT_KEYFILE=$PWD/new.key
	get_is openai/api_key sk-fixture-passphrase-vault
	run jq -c -S . < <(aim-secret list)
	assert_output '{"created_at":"2026-11-18T11:06:40Z","description":"in the passphrase fixture","name":"openai/api_key","updated_at":"2026-11-18T11:07:22Z"}'
}

# ---- the frozen format ----

@test "known answer: the committed key file vault still opens to its exact values" {
	cp "$VFIX/fixture.key" "$VFIX/keyfile.vault" .
	chmod 600 fixture.key keyfile.vault
	assert_equal "$(hexat fixture.key 0 64)" 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
	export AIM_VAULT=$PWD/keyfile.vault AIM_VAULT_KEYFILE=$PWD/fixture.key
	get_is anthropic/api_key sk-ant-fixture-0123456789
	get_is github/token ghp_fixture
	run --separate-stderr aim-secret list
	assert_success
	assert_line --index 0 '{"name":"anthropic/api_key","description":"Anthropic API key (fixture)","created_at":"2026-11-18T11:06:40Z","updated_at":"2026-11-18T11:06:40Z"}'
	assert_line --index 1 '{"name":"github/token","description":"","created_at":"2026-11-18T11:08:20Z","updated_at":"2026-11-18T12:06:40Z"}'
	assert_equal "${#lines[@]}" 2
	# Reading never writes.
	cmp keyfile.vault "$VFIX/keyfile.vault"
}

@test "known answer: the committed passphrase vault still opens with 'fixture passphrase'" {
	passphrase_fixture
	notty aim-secret --passphrase-fd 3 get openai/api_key 3<<<"fixture passphrase" >got
	printf 'sk-fixture-passphrase-vault' >want
	cmp got want
	cmp "$V" "$VFIX/passphrase.vault"
}

@test "known answer: make-fixtures.c still writes the committed key file fixture" {
	command -v cc >/dev/null || skip "no C compiler"
	cc -o "$BATS_TEST_TMPDIR/make-fixtures" "$VFIX/make-fixtures.c" -lsodium || skip "no libsodium to link"
	mkdir gen
	"$BATS_TEST_TMPDIR/make-fixtures" gen
	cmp gen/fixture.key "$VFIX/fixture.key"
	cmp gen/keyfile.vault "$VFIX/keyfile.vault"
}

@test "a vault written now reads back after a save of the fixture (same layout)" {
	cp "$VFIX/fixture.key" "$VFIX/keyfile.vault" .
	chmod 600 fixture.key keyfile.vault
	export AIM_VAULT=$PWD/keyfile.vault AIM_VAULT_KEYFILE=$PWD/fixture.key
	put new/one fresh
	# Same header but the nonce and the key check of the same key.
	assert_equal "$(hexat keyfile.vault 0 44)" "$(hexat "$VFIX/keyfile.vault" 0 44)"
	assert_equal "$(hexat keyfile.vault 68 16)" "$(hexat "$VFIX/keyfile.vault" 68 16)"
	refute [ "$(hexat keyfile.vault 44 24)" = "$(hexat "$VFIX/keyfile.vault" 44 24)" ]
	get_is anthropic/api_key sk-ant-fixture-0123456789
	get_is new/one fresh
}

# ---- nonces, concurrency, kills ----

@test "every save has a fresh nonce (bytes 44..67): 4 x 50 sets, every nonce distinct" {
	mkvault
	n=$(stress 50)
	# Same name, same value length: every save is the same size, so one xxd
	# at the end cuts the saves apart (a process less per save).
	put n/x v0000
	size=$(stat -c %s "$V")
	hexat "$V" 44 24 >nonces
	echo >>nonces
	# Four copies of the vault under the same key, n saves each, at once:
	# nonces must not repeat under one key, whichever file they went to.
	for w in 1 2 3 4; do
		cp "$V" "v$w"
		(
			export AIM_VAULT=$PWD/v$w
			for i in $(seq "$n"); do
				printf 'v%04d' "$i" | aim-secret set n/x || echo "v$w $i" >>failed
				cat "$AIM_VAULT" >>"saves$w"
			done
		) &
	done
	wait
	assert_file_not_exists failed
	for w in 1 2 3 4; do
		assert_equal "$(stat -c %s "saves$w")" $((size * n))
		AIM_VAULT=$PWD/v$w get_is n/x "$(printf 'v%04d' "$n")"
		xxd -p -c "$size" "saves$w" | cut -c 89-136 >>nonces
	done
	assert_equal "$(wc -l <nonces)" $((4 * n + 1))
	assert_equal "$(sort -u nonces | wc -l)" $((4 * n + 1))
	run grep -vcE '^[0-9a-f]{48}$' nonces
	assert_output 0
	# The rest of the header did not move.
	run sh -c "cat saves? | xxd -p -c $size | cut -c 1-88 | sort -u | wc -l"
	assert_output 1
}

@test "two concurrent loops of 50 sets each lose nothing" {
	mkvault
	n=$(stress 50)
	for w in a b; do
		(
			for i in $(seq "$n"); do
				printf '%s-%d' "$w" "$i" | aim-secret set "$w/$i" || echo "$w/$i" >>failed
			done
		) &
	done
	wait
	assert_file_not_exists failed
	aim-secret list | jq -r .name | sort >names
	for w in a b; do for i in $(seq "$n"); do echo "$w/$i"; done; done | sort >want
	cmp names want
	for i in 1 "$n"; do
		get_is "a/$i" "a-$i"
		get_is "b/$i" "b-$i"
	done
}

@test "SIGKILL during 50 saves leaves the old or the new vault, never a broken one" {
	mkvault
	put keep/me sentinel
	{ head -c 600000 /dev/urandom; printf A; } >A
	{ head -c 600000 /dev/urandom; printf B; } >B
	aim-secret set big <A
	for i in $(seq "$(stress 50)"); do
		if ((i % 2)); then src=B; else src=A; fi
		aim-secret set big <"$src" &
		pid=$!
		sleep "0.0$(printf %02d $((RANDOM % 21)))"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run --separate-stderr aim-secret list
		assert_equal "iteration $i: $status $stderr" "iteration $i: 0 "
		assert_equal "${#lines[@]}" 2
		aim-secret get big >got
		cmp -s got A || cmp -s got B || fail "iteration $i: big is neither the old nor the new value"
	done
	get_is keep/me sentinel
	assert_equal "$(mode "$V")" 600
	# Leftover temporary files (a kill before the rename) hold only
	# ciphertext, are private, and do not matter.
	for f in "$V".tmp-*; do
		[ -e "$f" ] || continue
		assert_equal "$f: $(mode "$f")" "$f: 600"
	done
	put after/kills ok
	get_is after/kills ok
}

# ---- secrets through the pipeline ----

# vault_pipeline: a key file vault holding the canary as anthropic/api_key,
# and reg/, a copy of the chain registry with these tools:
#   vaulted       echo-secret.sh, secrets {ANTHROPIC_API_KEY: anthropic/api_key}
#   vaultenv      env.sh, the same secret
#   plainenv      env.sh, no secrets
#   needs_missing env.sh, secrets {OPENAI_API_KEY: openai/api_key} (not in the vault)
# and capabilities secret_gen (vaulted), secret_chain (vaulted, then plainenv),
# missing_chain (needs_missing, then plainenv).
vault_pipeline() {
	unset ANTHROPIC_API_KEY OPENAI_API_KEY
	mkvault
	put anthropic/api_key "$CANARY"
	put other/secret "other-secret-value-9d2"
	cp -R "$REGS/chain" reg
	cp "$VFIX/echo-secret.sh" "$ADAPTERS/env.sh" reg/AIM_adapters/
	jq '.tools += ({
	    vaulted: {adapter: "echo-secret.sh", caps: ["secret_gen", "secret_chain"],
	      secrets: {ANTHROPIC_API_KEY: "anthropic/api_key"}},
	    vaultenv: {adapter: "env.sh", caps: ["secret_env"],
	      secrets: {ANTHROPIC_API_KEY: "anthropic/api_key"}},
	    plainenv: {adapter: "env.sh", caps: ["secret_chain", "missing_chain"]},
	    needs_missing: {adapter: "env.sh", caps: ["missing_chain"],
	      secrets: {OPENAI_API_KEY: "openai/api_key"}}
	  } | with_entries(.value = ({name: .key, detectCommands: ["sh"],
	      versionCommand: ["sh", "-c", "echo 1.0"], configPaths: [], logPaths: [],
	      capabilities: .value.caps,
	      adapterScript: ("%AIM_REGISTRY_PATH%/AIM_adapters/" + .value.adapter)}
	    + (if .value.secrets then {secrets: .value.secrets} else {} end))))' \
	    "$REGS/chain/AIM_registry.json" >reg/AIM_registry.json
	jq '.capabilities += {
	    secret_gen: {primary: "vaulted", fallback: [], loadBalance: false},
	    secret_env: {primary: "vaultenv", fallback: [], loadBalance: false},
	    secret_chain: {primary: "vaulted", fallback: ["plainenv"], loadBalance: false},
	    missing_chain: {primary: "needs_missing", fallback: ["plainenv"], loadBalance: false}}' \
	    "$REGS/chain/AIM_cross-tool/AIM_coordination-rules.json" >reg/AIM_cross-tool/AIM_coordination-rules.json
}

# req ID CAPABILITY [PAYLOAD]
req() {
	jq -nc --arg id "$1" --arg c "$2" --argjson p "${3:-{\}}" '{id:$id, capability:$c, payload:$p}'
}

# pipeline: aim-resolve | aim-invoke | aim-audit on in.jsonl; aim-invoke's
# stdout in invoke.jsonl, the end in out.jsonl, all stderr in err.txt,
# entries under audit/, statuses in st (tee's too).
pipeline() {
	{
		aim-resolve -r reg in.jsonl 2>err.txt | aim-invoke -r reg 2>>err.txt |
		    tee invoke.jsonl | aim-audit -r reg -d "$PWD/audit" >out.jsonl 2>>err.txt
		st=("${PIPESTATUS[@]}")
	} || true
}

# no_canary FILE...: no form of the canary in any of them.
no_canary() {
	local form
	for form in "$CANARY_CORE" \
	    "$(printf '%s' "$CANARY" | base64 | tr -d '\n')" \
	    "$(printf '%s' "$CANARY" | base64 | tr -d '\n=')" \
	    "$(printf '%s' "$CANARY" | base64 | tr -d '\n' | tr '+/' '-_')" \
	    "$(printf '%s' "$CANARY" | base64 | tr -d '\n=' | tr '+/' '-_')" \
	    other-secret-value-9d2; do
		run grep -rlF -- "$form" "$@"
		assert_equal "canary form $form in: $output" "canary form $form in: "
	done
}

@test "aim-resolve passes the names of a tool's secrets, never a value" {
	vault_pipeline
	req s1 secret_gen >in.jsonl
	run --separate-stderr aim-resolve -r reg in.jsonl
	assert_success
	run jq -c '.route.candidates[0] | [.tool_id, .status, .secrets]' <<<"$output"
	assert_output '["vaulted","ready",{"ANTHROPIC_API_KEY":"anthropic/api_key"}]'
}

@test "the canary echoed by the adapter is redacted everywhere: stdout, stderr, audit entries" {
	vault_pipeline
	{ req s1 secret_gen; req s2 secret_chain '{"fail":true}'; } >in.jsonl
	pipeline
	assert_equal "${st[*]}" "0 0 0 0"
	# The adapter did get the key.
	run jq -c 'select(.id == "s1") | .result.content.has_key' out.jsonl
	assert_output true
	no_canary out.jsonl invoke.jsonl err.txt audit
	# Every form it echoed became [REDACTED], wherever it stood.
	run jq -c 'select(.id == "s1") | .result | [.message, .content.nested.deeper[0],
	    .content.nested.deeper[1].note, .content.url, .content.header, .content.basic,
	    .content.embedded]' out.jsonl
	assert_output '["echoing [REDACTED]","[REDACTED]","before [REDACTED] after","https://api.invalid/v1/messages?key=[REDACTED]&x=1","Authorization: Bearer [REDACTED]","[REDACTED]","{\"api\":\"[REDACTED]\"}"]'
	# Its stderr (kept in the failed attempt) too.
	run jq -r 'select(.id == "s2") | .attempts[0] | .outcome, .message, .stderr' out.jsonl
	assert_line --index 0 failure
	assert_line --index 1 "echoing [REDACTED]"
	assert_line --index 2 "adapter stderr: the key is [REDACTED]"
	assert_line --index 3 "Authorization: Bearer [REDACTED]"
	assert_equal "$(find audit -type f -name '*.json' | wc -l)" 2
	run grep -rlF '[REDACTED]' audit
	assert_equal "${#lines[@]}" 2
}

@test "the secret reaches only the tool that names it; no tool sees the vault's key file" {
	vault_pipeline
	{ req s2 secret_chain '{"fail":true}'; req s3 secret_env; } >in.jsonl
	pipeline
	assert_equal "${st[*]}" "0 0 0 0"
	# secret_chain: vaulted failed, plainenv served without the key.
	run jq -c 'select(.id == "s2") | [.tool_id, [.attempts[].outcome],
	    (.result.content.env | has("ANTHROPIC_API_KEY"), has("AIM_VAULT"), has("AIM_VAULT_KEYFILE"))]' out.jsonl
	assert_output '["plainenv",["failure","success"],false,false,false]'
	# vaultenv has it in its environment (redacted on the way out), only it.
	run jq -c 'select(.id == "s3") | .result.content.env | [.ANTHROPIC_API_KEY, has("OPENAI_API_KEY"), has("AIM_VAULT"), has("AIM_VAULT_KEYFILE")]' out.jsonl
	assert_output '["[REDACTED]",false,false,false]'
	no_canary out.jsonl invoke.jsonl err.txt audit
}

@test "a secret missing from the vault: skipped missing_secret, the chain moves on" {
	vault_pipeline
	req m1 missing_chain >in.jsonl
	pipeline
	assert_equal "${st[*]}" "0 0 0 0"
	run jq -c -S '.attempts[0]' out.jsonl
	assert_output '{"error_class":"auth","message":"missing_secret: openai/api_key","outcome":"skipped","reason":"missing_secret","tool_id":"needs_missing"}'
	run jq -c '[.tool_id, .attempts[1].outcome, (.result.content.env | has("OPENAI_API_KEY"), has("ANTHROPIC_API_KEY"))]' out.jsonl
	assert_output '["plainenv","success",false,false]'
	no_canary out.jsonl invoke.jsonl err.txt audit
}

@test "no key file set: the same skip with the vault's reason, said once on stderr" {
	vault_pipeline
	unset AIM_VAULT_KEYFILE
	{ req k1 secret_gen; req k2 missing_chain; req k3 secret_chain; } >in.jsonl
	{
		aim-resolve -r reg in.jsonl 2>err.txt | aim-invoke -r reg >out.jsonl 2>>err.txt
		st=("${PIPESTATUS[@]}")
	} || true
	assert_equal "${st[*]}" "0 1"
	why="vault $V opens with a key file: set AIM_VAULT_KEYFILE"
	run jq -c -S 'select(.id == "k1") | [.attempts[0], .result.success]' out.jsonl
	assert_output "[{\"error_class\":\"auth\",\"message\":\"missing_secret: anthropic/api_key ($why)\",\"outcome\":\"skipped\",\"reason\":\"missing_secret\",\"tool_id\":\"vaulted\"},false]"
	run jq -c 'select(.id == "k2") | [.attempts[0].message, .tool_id]' out.jsonl
	assert_output "[\"missing_secret: openai/api_key ($why)\",\"plainenv\"]"
	run jq -c 'select(.id == "k3") | [.attempts[0].reason, .tool_id]' out.jsonl
	assert_output '["missing_secret","plainenv"]'
	# The vault is tried once per run (the failed k1 quotes it once more).
	assert_equal "$(grep -F "$why" err.txt | grep -vc '^aim-invoke: <stdin>:1: k1: ')" 1
	assert_equal "$(grep -cxF "aim-invoke: $why" err.txt)" 1
}

@test "aim-audit redacts vault values it is handed in every form, from entries and stdout" {
	mkvault
	put anthropic/api_key "$CANARY"
	put other/secret "other-secret-value-9d2"
	b64=$(printf '%s' "$CANARY" | base64 | tr -d '\n')
	jq -nc --arg k "$CANARY" --arg b "$b64" '{id:"a1", capability:"c", payload:{prompt:("use " + $k)},
	    route:{capability:"c", strategy:"ordered", registry:"/r", candidates:[]},
	    attempts:[{tool_id:"t", outcome:"failure", exit_code:0, duration_ms:1, message:$k,
	      stderr:("Authorization: Bearer " + $k + "\nbasic " + $b + "\n")}],
	    tool_id:"t",
	    result:{success:true, message:("got other-secret-value-9d2 and " + $k),
	      content:{deep:{list:[$k, ({v:$k} | tojson)]}, url:("https://x.invalid/?key=" + $k)}}}' >rec.jsonl
	# The control: without the key file the canary gets through.
	AIM_VAULT_KEYFILE='' run --separate-stderr aim-audit -d "$PWD/plain" rec.jsonl
	assert_success
	assert_output --partial "$CANARY_CORE"
	run --separate-stderr aim-audit -d "$PWD/audit" rec.jsonl
	assert_success
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >out.jsonl
	no_canary out.jsonl audit
	run jq -c '[.result.message, .result.content.deep.list, .result.content.url, .attempts[0].message]' out.jsonl
	assert_output '["got [REDACTED] and [REDACTED]",["[REDACTED]","{\"v\":\"[REDACTED]\"}"],"https://x.invalid/?key=[REDACTED]","[REDACTED]"]'
	run jq -c '[.result.message, .attempts[0].stderr]' "$(jq -r .audit.path out.jsonl)"
	assert_output '["got [REDACTED] and [REDACTED]","Authorization: Bearer [REDACTED]\nbasic [REDACTED]\n"]'
}

@test "aim-audit with a key file that does not open the vault: says so, exit 3, still writes" {
	one_secret
	head -c 32 /dev/urandom >k2
	chmod 600 k2
	jq -nc '{id:"a1", capability:"c", payload:{}}' >rec.jsonl
	AIM_VAULT_KEYFILE=$PWD/k2 run --separate-stderr aim-audit -d "$PWD/audit" rec.jsonl
	assert_equal "$status" 3
	assert_equal "$stderr" "aim-audit: can't redact vault secrets: wrong key file for vault $V"
	assert_equal "$(find audit -type f -name '*.json' | wc -l)" 1
}

@test "aim-invoke with a passphrase vault names the real fix: rekey to a key file, AIM_VAULT_KEYFILE" {
	passphrase_fixture
	routed vaulted "$ADAPTERS/env.sh" | jq -c '.route.candidates[0].secrets = {X_KEY: "svc/key"}' >in.jsonl
	run --separate-stderr notty aim-invoke in.jsonl
	assert_failure 1
	why="vault $V opens with a passphrase, which aim-invoke cannot ask for: aim-secret rekey --keyfile FILE, then set AIM_VAULT_KEYFILE=FILE"
	assert_equal "${stderr_lines[0]}" "aim-invoke: $why"
	assert_equal "$(jq -r '.attempts[0].message' <<<"$output")" "missing_secret: svc/key ($why)"
	refute_output --partial passphrase-fd
}
