#!/bin/sh
# AIM_crush.sh - AIM_INTEGRATION_V1 adapter for Charm's Crush
# (npm @charmland/crush, command "crush").
#
# code_generation, refactoring:
#   crush --yolo run -q <prompt
#   Non-interactive run; the prompt comes on stdin; --yolo accepts the
#   tools' permission prompts (nobody is there to answer them).  The model
#   is the config's (crushrc or crush.json, in the project or under
#   $XDG_CONFIG_HOME/crush; a provider of one's own is {"type":
#   "openai-compat", "base_url": URL, "api_key", "models": [...]}) or
#   AIM_CRUSH_MODEL (-m).  stdout is the answer as text; nothing names
#   files or tokens: the changes come from the working tree.
#   CRUSH_DISABLE_PROVIDER_AUTO_UPDATE=1: no provider list download.
# version: crush --version
# Failures mapped (lib.sh, from stderr, else stdout): 401/403, "API key"
#   texts -> auth; 429 -> rate_limit; quota texts -> quota; 5xx, network
#   errors -> transient; 400/404 -> bad_request; killed at the time budget
#   -> timeout.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init crush
case $AIM_CAP in
version) aim_version crush --version ;;
code_generation | refactoring) ;;
*) aim_unknown_capability "code_generation, refactoring, version" ;;
esac
aim_require_command crush
aim_prompt
aim_snapshot
CRUSH_DISABLE_PROVIDER_AUTO_UPDATE=1
export CRUSH_DISABLE_PROVIDER_AUTO_UPDATE
set -- crush --yolo run -q
[ -z "${AIM_CRUSH_MODEL:-}" ] || set -- "$@" -m "$AIM_CRUSH_MODEL"
aim_run "$AIM_TMP/prompt.txt" "$@"
[ "$AIM_RC" -eq 0 ] || aim_fail_run ""
head -c 4096 "$AIM_OUT" >"$AIM_TMP/answer"
aim_jq -nc --rawfile r "$AIM_TMP/answer" '{response: ($r | sub("\\s+$"; ""))}' \
    >"$AIM_TMP/extra.json"
aim_changes "$AIM_TMP/content.json" "$AIM_TMP/extra.json"
aim_reply_changes "done" "$AIM_TMP/content.json"
