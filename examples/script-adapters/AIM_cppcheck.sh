#!/bin/sh
# AIM_cppcheck.sh - AIM_INTEGRATION_V1 adapter for Cppcheck.
#
# linting: cppcheck --quiet --enable=warning,style,performance,portability
#              --inline-suppr --error-exitcode=0 --output-file=REPORT
#              --template='{file}:{line}:{column}: {severity}: {message} [{id}]'
#              FILES...
#   Only C and C++ files are taken; anything else is refused as bad_request
#   so the next linter gets the request.  When cppcheck ran, success with
#   content {findings, exit_code, stdout: the report, one finding a line}.
# version: cppcheck --version
# Failures: a non-zero exit ("cppcheck: error: ...", bad option) ->
#   bad_request with the last lines of stderr; killed at the time budget
#   -> timeout.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init cppcheck
case $AIM_CAP in
version) aim_version cppcheck --version ;;
linting) ;;
*) aim_unknown_capability "linting, version" ;;
esac
aim_require_command cppcheck
aim_require_files '\.(c|h|cc|cpp|cxx|c\+\+|hh|hpp|hxx|h\+\+|inl)$' "C, C++"
report=$AIM_TMP/report
: >"$report"
aim_run_files /dev/null cppcheck --quiet \
    --enable=warning,style,performance,portability --inline-suppr \
    --error-exitcode=0 --output-file="$report" \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]'
[ "$AIM_RC" -eq 0 ] || aim_fail_run "" bad_request
aim_reply_findings "$(grep -Ec '^.+:[0-9]+:[0-9]+: [a-z]+: ' "$report")" "$report"
