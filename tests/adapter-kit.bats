#!/usr/bin/env bats
# aim-test: no-san
# The adapter kit (examples/.AIM_ai-tools-registry/AIM_adapters/lib.sh,
# installed as share/aim/adapter.sh): sourcing it defines functions and
# AIM_KIT_VERSION and does nothing else; its functions are those
# aim-adapter(7) KIT lists; aim_init does what sourcing no longer does.

load helper

KIT=$TOP/examples/.AIM_ai-tools-registry/AIM_adapters/lib.sh

setup() {
	common_setup
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir "$TMPDIR"
}

# state DIR: the variables, traps, options and working directory of the
# shell, into DIR/vars, DIR/traps, DIR/opts, DIR/pwd.
STATE='state() { set >"$1/vars"; trap >"$1/traps"; echo "$-" >"$1/opts"; pwd >"$1/pwd"; }'

@test "kit: sourcing it in sh sets AIM_KIT_VERSION and nothing else" {
	mkdir before after
	run --separate-stderr env -i PATH="$PATH" HOME="$HOME" TMPDIR="$TMPDIR" \
	    sh -c "$STATE"'
	    state before
	    . "$1"
	    state after' sh "$KIT"
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
	run sh -c 'diff "$@" | grep "^[<>]"' sh before/vars after/vars
	assert_output "> AIM_KIT_VERSION='0.1.0'"
	cmp before/traps after/traps
	cmp before/opts after/opts
	cmp before/pwd after/pwd
	# No file, no scratch directory.
	run ls -A "$TMPDIR"
	assert_output ''
}

@test "kit: nothing happens at sourcing without jq either" {
	mkdir nojq
	ln -s "$(command -v date)" nojq/date
	run env -i PATH="$PWD/nojq" HOME="$HOME" TMPDIR="$TMPDIR" /bin/sh -c \
	    '. "$1"; echo "still here, kit $AIM_KIT_VERSION"' sh "$KIT"
	assert_success
	assert_output 'still here, kit 0.1.0'
	# aim_init says jq is missing, the way an adapter answers.
	run env -i PATH="$PWD/nojq" HOME="$HOME" TMPDIR="$TMPDIR" /bin/sh -c \
	    '. "$1"; aim_init mytool; echo not reached' sh "$KIT" </dev/null
	assert_success
	assert_output '{"success":false,"message":"jq not installed (the example adapters need it)","error_class":"not_installed","content":{"error_class":"not_installed"}}'
}

@test "kit: the version is aim's" {
	run sh -c '. "$1"; echo "$AIM_KIT_VERSION"' sh "$KIT"
	assert_output "$(aim --version | awk '{ print $NF }')"
}

@test "kit: its functions are the ones aim-adapter(7) KIT lists" {
	run env -i PATH="$PATH" bash --posix -c \
	    '. "$1"; declare -F | sed "s/^declare -f //"' bash "$KIT"
	assert_success
	defined=$output
	# The function names of the item heads (.It Ic aim_x ...) of KIT.
	run sh -c 'sed -n "/^\.Sh KIT/,/^\.Sh /{/^\.It Ic aim_/p;}" "$1" |
	    grep -o "Ic aim_[a-z_]*" | cut -c 4-' sh "$TOP/man/aim-adapter.7"
	documented=$output
	assert_equal "$(echo "$documented" | LC_ALL=C sort)" \
	    "$(echo "$defined" | LC_ALL=C sort)"
	# And every one of them is there.
	[ "$(echo "$defined" | wc -l)" -ge 30 ]
}

@test "kit: aim_init sets up what sourcing no longer does" {
	echo '{"capability":"linting","payload":{"files":["a.txt"]}}' >req
	run sh -c '. "$1"; aim_init mytool
	    echo "cap=$AIM_CAP tool=$AIM_TOOL"
	    t=$(cd "$TMPDIR" && pwd -P)
	    case $AIM_TMP in "$t"/aim-adapter.*) [ -d "$AIM_TMP" ] &&
	        echo "tmp under TMPDIR: yes" ;; esac
	    cat "$AIM_TMP/files"
	    trap >traps
	    grep -c "aim_on_signal\|rm -rf" traps
	    [ "$AIM_BUDGET" -ge 1 ] && echo budget ok
	    echo "$AIM_TMP" >"$2"' sh "$KIT" "$PWD/tmpname" <req
	assert_success
	assert_output "$(printf '%s\n' 'cap=linting tool=mytool' \
	    'tmp under TMPDIR: yes' a.txt 4 'budget ok')"
	# The scratch directory is gone with the shell.
	assert_not_exist "$(cat tmpname)"
}

@test "kit: the classifier works without aim_init (it sets its patterns)" {
	printf 'HTTP 429 Too Many Requests; retry after 7 seconds\n' >text
	run sh -c '. "$1"; aim_classify text; aim_retry_after text' sh "$KIT"
	assert_success
	assert_output "$(printf '%s\n' rate_limit 7000)"
}

@test "kit: the error patterns beside the adapter, else AIM_PATTERNS, else a warning" {
	mkdir reg
	cp "$KIT" "$TOP/examples/.AIM_ai-tools-registry/AIM_adapters/error-patterns" reg/
	printf '#!/bin/sh\n. "$(dirname "$0")/lib.sh"\naim_classify "$1"\n' >reg/AIM_x.sh
	chmod +x reg/AIM_x.sh
	printf 'HTTP 429 Too Many Requests\n' >text
	run env -u AIM_PATTERNS reg/AIM_x.sh text
	assert_success
	assert_output rate_limit
	# AIM_PATTERNS first: rules of its own.
	printf 'auth\t-\ttoo many\n' >mine
	run env AIM_PATTERNS="$PWD/mine" reg/AIM_x.sh text
	assert_output auth
	rm reg/error-patterns
	run --separate-stderr env -u AIM_PATTERNS reg/AIM_x.sh text
	assert_success
	assert_output ''
	assert_equal "$stderr" "aim_classify: cannot read reg/error-patterns (set AIM_PATTERNS)"
}

@test "kit: the quota rules of the error patterns: strip, and, unless" {
	t() { printf '%s\n' "$1" >text; sh -c '. "$1"; aim_classify text' sh "$KIT"; }
	assert_equal "$(t 'Resource has been exhausted (e.g. check quota).')" rate_limit
	assert_equal "$(t 'Quota exceeded for requests per minute')" rate_limit
	assert_equal "$(t 'Quota exceeded: requests per minute, per day')" quota
	assert_equal "$(t 'quota exceeded')" quota
	assert_equal "$(t 'ECONNRESET')" transient
	assert_equal "$(t 'econnreset')" ''
}
