#!/bin/sh
# AIM_jules.sh - AIM_INTEGRATION_V1 adapter for Jules Tools, Google's
# asynchronous coding agent (npm @google/jules, command "jules").
#
# code_generation, refactoring:
#   jules remote new --repo . --session PROMPT
#   Starts a remote session on the GitHub repository of the working
#   directory and returns at once: Jules works in the cloud, so the reply
#   reports the session (content.session, content.stdout) and no local
#   file changes; fetch the result later with
#   "jules remote pull --session ID".  Needs "jules login" beforehand.
# version: jules version
# Failures mapped: the npm package is a wrapper that downloads the real
#   binary on first use; "Failed to start jules binary" (no network at
#   install time) -> not_installed; "login", "unauthenticated", 401/403 ->
#   auth; "quota" -> quota; 429 -> rate_limit; network errors -> transient;
#   "not a git repository", "unknown flag" -> bad_request; killed at the
#   time budget -> timeout.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

# jules_check: fail when the last run did not succeed.
jules_check()
{
	if grep -q 'Failed to start jules binary' "$AIM_ERR" "$AIM_OUT"; then
		start=$(grep -h 'Failed to start jules binary' "$AIM_ERR" \
		    "$AIM_OUT" | head -n 1)
		fetch=$(sed -n 's/.*critical error occurred during the process\. *//p' \
		    "$AIM_ERR" "$AIM_OUT" | head -n 1)
		aim_fail_run "$(aim_flat "the npm wrapper has no jules binary: \
$start${fetch:+ (download failed: $fetch)}")" not_installed
	fi
	[ "$AIM_RC" -eq 0 ] && return 0
	class=
	grep -Eiqs 'jules login|not logged in|log ?in (first|again)' \
	    "$AIM_ERR" "$AIM_OUT" && class=auth
	grep -Eiqs 'not a git repository|unknown (flag|command)' \
	    "$AIM_ERR" "$AIM_OUT" && class=bad_request
	aim_fail_run "" "$class"
}

# jules_require: jules on PATH, and when it is the npm wrapper, the binary
# the wrapper downloads on first use already there: otherwise running it
# would reach for the network only to fail.
jules_require()
{
	aim_require_command jules
	wrapper=$(command -v jules)
	if head -c 100 "$wrapper" | grep -q node &&
	    [ ! -x "${TMPDIR:-/tmp}/jules_tmp/jules" ]; then
		aim_fail not_installed "the npm wrapper has not downloaded the \
jules binary (${TMPDIR:-/tmp}/jules_tmp/jules); run jules once with network access"
	fi
}

aim_init jules
case $AIM_CAP in
version)
	jules_require
	aim_run /dev/null jules version
	jules_check
	aim_version_reply
	;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
jules_require
aim_prompt
prompt=$(cat "$AIM_TMP/prompt.txt")
[ "${#prompt}" -le 100000 ] ||
    aim_fail bad_request "the prompt is too long for the command line (over 100000 bytes)"
aim_run /dev/null jules remote new --repo . --session "$prompt"
jules_check
session=$(grep -Eo '[0-9]{6,}' "$AIM_OUT" | head -n 1)
aim_run_content "$AIM_TMP/run.json"
aim_jq -c --arg s "$session" '. + {session: (if $s == "" then null else $s end),
    files_modified: [], files_created: [], files_deleted: [],
    lines_added: 0, lines_removed: 0,
    note: "remote session started; fetch its changes with jules remote pull --session ID"}' \
    "$AIM_TMP/run.json" >"$AIM_TMP/content.json"
aim_reply true "remote session started${session:+ ($session)}" \
    "$AIM_TMP/content.json"
