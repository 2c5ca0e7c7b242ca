#!/bin/sh
# AIM_shellcheck.sh - AIM_INTEGRATION_V1 adapter for ShellCheck.
#
# linting: shellcheck -f gcc FILES...
#   Only shell scripts are taken (.sh .bash .ksh .dash .bats, or a #! line
#   naming sh, bash, dash, ksh or busybox); anything else is refused as
#   bad_request so the next linter gets the request.  Exit 0 (clean) and 1
#   (findings) both mean the linter ran: success with content
#   {findings, exit_code, stdout: "file:line:col: level: message [SCxxxx]"}.
# version: shellcheck --version
# Failures: exit 2-4 (unreadable file, bad option, ...) -> bad_request
#   with the last lines of stderr; killed at the time budget -> timeout.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init shellcheck
case $AIM_CAP in
version) aim_version shellcheck --version ;;
linting) ;;
*) aim_unknown_capability "linting, version" ;;
esac
aim_require_command shellcheck
aim_require_files "" ""
while IFS= read -r f; do
	case $f in
	*.sh | *.bash | *.ksh | *.dash | *.bats) continue ;;
	esac
	head -n 1 "$f" | grep -Eq '^#!.*[/ ](sh|bash|dash|ksh|mksh|busybox)([[:space:]]|$)' ||
	    aim_fail bad_request "not a shell script: $f"
done <"$AIM_TMP/files"
aim_run_files /dev/null shellcheck -f gcc
[ "$AIM_RC" -le 1 ] || aim_fail_run "" bad_request
aim_reply_findings "$(grep -Ec '^.+:[0-9]+:[0-9]+: ' "$AIM_OUT")" "$AIM_OUT"
