#!/bin/sh
# AIM_eslint.sh - AIM_INTEGRATION_V1 adapter for ESLint (npm eslint, 9+).
#
# linting: eslint -f json --no-color FILES...
#   Only JavaScript files (.js .mjs .cjs .jsx) are taken; anything else is
#   refused as bad_request so the next linter gets the request.  The
#   project's flat config (eslint.config.js) applies; when ESLint finds
#   none ("couldn't find an eslint.config"), the run is repeated with
#   --no-config-lookup and a few core rules (no-undef off: no globals are
#   known then).  Exit 0 (clean) and 1 (findings) both mean the linter ran:
#   success with content {findings, exit_code,
#   stdout: "file:line:col: error|warning: message [rule]"}.
# version: eslint --version
# Failures: exit 2 (bad config, syntax error in the config, parser
#   missing) -> bad_request with the last lines of stderr; killed at the
#   time budget -> timeout.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
case $0 in */*) . "${0%/*}/lib.sh" ;; *) . ./lib.sh ;; esac

aim_init eslint
case $AIM_CAP in
version) aim_version eslint --version ;;
linting) ;;
*) aim_unknown_capability "linting, version" ;;
esac
aim_require_command eslint
aim_require_files '\.(js|mjs|cjs|jsx)$' "JavaScript: .js .mjs .cjs .jsx"
aim_run_files /dev/null eslint -f json --no-color
note=
if [ "$AIM_RC" -eq 2 ] &&
    grep -Eiq "find an eslint\.config|could not find config file" "$AIM_ERR"; then
	note="no ESLint config found: used --no-config-lookup with core rules"
	aim_run_files /dev/null eslint -f json --no-color --no-config-lookup \
	    --rule 'no-unused-vars: warn' --rule 'no-unreachable: warn' \
	    --rule 'no-dupe-keys: error' --rule 'eqeqeq: warn'
fi
# One jq prints, as shell assignments (@sh): "ok" when the (last) output
# is an array (or there is none, as jq -e took it), "report", one
# finding a line, and "n", the count.
ok='' report='' n=''
eval "$(aim_jq -rs --arg pwd "$(pwd)/" '
    def put($k; $v): "\($k)=\($v | @sh)";
    if length > 0 and (last | type) != "array" then empty else
      put("ok"; "yes"),
      (try put("report"; [.[] | .[] | (.filePath | ltrimstr($pwd)) as $f
        | .messages[] | "\($f):\(.line // 0):\(.column // 0): "
          + (if .severity == 2 then "error" else "warning" end)
          + ": \(.message) [\(.ruleId // "eslint")]\n"] | add // "")
       catch empty),
      (try put("n"; [.[] | [.[] | .errorCount + .warningCount] | add // 0
        | tostring] | join("\n")) catch empty)
    end' "$AIM_OUT" 2>/dev/null)"
if [ "$AIM_RC" -gt 1 ] || [ -z "$ok" ]; then
	aim_fail_run "" bad_request
fi
printf '%s' "$report" >"$AIM_TMP/report"
[ -z "$note" ] || printf '%s\n' "$note" >>"$AIM_ERR"
aim_reply_findings "$n" "$AIM_TMP/report"
