#!/bin/sh
# AIM_prettier.sh - AIM_INTEGRATION_V1 adapter for Prettier (npm prettier).
#
# formatting: prettier --write --no-color FILES...
#   Formats payload.files in place with the project's Prettier config
#   (defaults when there is none); Prettier picks the parser by file type.
#   files_modified comes from cksum before/after; lines from diff(1).
# version: prettier --version
# Failures: "No parser could be inferred for file" (exit 2), missing
#   files, a syntax error in a file, a bad config -> bad_request with the
#   last lines of stderr; killed at the time budget -> timeout.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init prettier
case $AIM_CAP in
version) aim_version prettier --version ;;
formatting) ;;
*) aim_unknown_capability "formatting, version" ;;
esac
aim_require_command prettier
aim_require_files "" ""
aim_snapshot
aim_run_files /dev/null prettier --write --no-color
if [ "$AIM_RC" -ne 0 ]; then
	aim_fail_run "" bad_request
fi
aim_changes "$AIM_TMP/content.json"
aim_reply_changes "formatted $(aim_nfiles) file(s)" \
    "$AIM_TMP/content.json"
