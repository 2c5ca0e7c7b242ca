#!/bin/sh
# AIM_prettier.sh - AIM_INTEGRATION_V1 adapter for Prettier (npm prettier).
#
# formatting: prettier --write --no-color FILES...
#   Formats payload.files in place with the project's Prettier config
#   (defaults when there is none); Prettier picks the parser by file type.
#   files_modified comes from cksum before/after; lines from diff(1).
# version: prettier --version
# Failures: "No parser could be inferred for file" (exit 2) and missing
#   files -> bad_request; a syntax error in a file -> tool_error with the
#   last lines of stderr.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

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
	class=
	grep -q 'No parser could be inferred' "$AIM_ERR" && class=bad_request
	aim_fail_run "" "${class:-tool_error}"
fi
aim_changes "$AIM_TMP/content.json"
aim_reply_changes "formatted $(aim_nfiles) file(s)" \
    "$AIM_TMP/content.json"
