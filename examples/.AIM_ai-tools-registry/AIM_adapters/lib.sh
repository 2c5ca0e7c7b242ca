# lib.sh - shared helpers for the example AIM_INTEGRATION_V1 adapters.
#
# The adapter kit, version AIM_KIT_VERSION (below), installed as
# $(PREFIX)/share/aim/adapter.sh and described in aim-adapter(7) KIT.
# Sourcing it defines the aim_* functions and AIM_KIT_VERSION, nothing
# else: no other variable, trap, option or output, no file; aim_init does
# the rest (aim_start).
# Sourced (not run) by AIM_<id>.sh.  Needs POSIX sh, gojq or jq, timeout(1),
# cksum(1), diff(1), date(1) with %N, and git(1) in a git work tree.  The
# protocol: read one JSON object on stdin,
#   {"contract","id","capability","payload":{"prompt","files",...},"timeout_ms"}
# write exactly one JSON object on stdout,
#   {"success":bool,"message":string,"content":{...}}
# and exit 0, whatever happened to the tool.  A failure also carries
# "error_class", at the top level and in content, one of:
#   auth              not logged in, invalid API key, HTTP 401/403
#   rate_limit        HTTP 429, "rate limit", "too many requests",
#                     RESOURCE_EXHAUSTED (per-minute quotas too)
#   quota             out of quota, usage limit reached, billing, credits
#   context_too_long  the prompt does not fit the model's context window
#   content_policy    refused by the provider's content or safety policy
#   bad_request       the request or the tool's setup is wrong: unsupported
#                     capability or file, bad option, bad config file,
#                     syntax error in an input file (retrying cannot help)
#   transient         network, HTTP 5xx, overloaded, or a failure nothing
#                     explains (a retry may help)
#   not_installed     the tool (or jq) is missing
#   timeout           the tool was killed at the end of its time budget
# and, for rate_limit, quota and transient, when the tool's output says how
# long to wait ("Retry-After: 7", "Please retry in 12.5s", "try again in
# 20s"), "retry_after_ms" (integer milliseconds), also at the top level and
# in content.  Messages do not repeat the tool's name (aim-invoke prefixes
# it), except "<tool> not installed".
#
# After aim_init: AIM_TOOL (command name), AIM_TMP (scratch directory,
# absolute, removed on exit), AIM_REQ (the request), AIM_CAP (capability),
# AIM_BUDGET (seconds the tool may run), $AIM_TMP/files (payload.files, one
# a line), AIM_JQ (the jq aim_jq runs).  After aim_run: AIM_RC, AIM_OUT, AIM_ERR (files holding stdout,
# stderr).
#
# The functions an adapter calls (names kept stable for other adapters):
#   aim_init TOOL                 read and check the request
#   aim_unknown_capability LIST   fail: bad_request
#   aim_require_command CMD       fail not_installed unless CMD is on PATH
#   aim_require_files [ERE KINDS] payload.files must exist (and match)
#   aim_prompt                    $AIM_TMP/prompt.txt for an AI tool
#   aim_snapshot                  remember the working tree before the run
#   aim_run INPUT CMD ARGS...     run the tool within the budget
#   aim_run_files INPUT CMD ...   the same, payload.files appended
#   aim_version CMD ARGS...       answer the capability "version"
#   aim_changes FILE [EXTRA]      the content after the run (see below)
#   aim_reply_changes WHAT FILE   success, or failure when every edit failed
#   aim_reply_findings N REPORT   success of a linter
#   aim_fail_run [DETAIL [CLASS [RETRY-MS]]]  failure of the run
#   aim_fail CLASS MESSAGE [FILE [RETRY-MS]]  any failure
#   aim_fail_jq CLASS MESSAGE RETRY-MS EXPR ARGS...  the same, the content
#                                 made by a jq expression
#   aim_reply true|false MESSAGE [FILE]       any reply
#   aim_json_file FILTER ARGS...  a JSON file for the FILE arguments
#   aim_jq ARGS...                the kit's jq (AIM_JQ: gojq, else jq)
#   aim_classify FILE...          the error class the texts suggest
#   aim_retry_after FILE...       the wait the texts name, in ms
#   aim_relpaths                  paths on stdin made relative to the cwd
#   aim_flat TEXT, aim_tail FILE  one-line texts for messages
#
# The content of an AI coding tool's reply (aim-adapter(7) Standard
# output), on success and, as far as known, on failure: the adapter puts
# what its tool reports into EXTRA for aim_changes, which adds the rest:
#   response             the final text of the model (at most 4096 bytes)
#   session_id, model    as the tool reports them
#   usage                {input_tokens (cached ones included),
#                        output_tokens, cached_input_tokens}, when reported
#   cost_usd             when the tool reports money
#   tool_calls           {total, failed, edits, edits_failed}: every tool
#                        call, and those that edit files
#   files_modified, files_created, files_deleted
#                        paths relative to the working directory, each
#                        once, found from the whole working tree (see
#                        aim_snapshot), plus those the tool names outside it
#   lines_added, lines_removed   over every changed file
#   changes_scope        git, walk or walk_capped: how changes were found
#   exit_code, stdout, stderr    of the tool (capped to AIM_CAP_BYTES)
# A run that tried to edit and whose every edit failed, with no file
# changed, is a failure of class bad_request (aim_reply_changes).
#
# jq programs are in single quotes on purpose:
# shellcheck disable=SC2016

# The kit's version: aim's, as aim --version says it (read by adapters).
# shellcheck disable=SC2034
AIM_KIT_VERSION=0.1.0

# aim_patterns: set AIM_PATTERNS_FILE, the error patterns aim_classify
# reads (aim-adapter(7) ERROR PATTERNS): $AIM_PATTERNS, else
# error-patterns beside the adapter ($0); and AIM_RE_RETRY (below), which
# aim_retry_after uses.
aim_patterns()
{
	AIM_PATTERNS_FILE=${AIM_PATTERNS:-}
	if [ -z "$AIM_PATTERNS_FILE" ]; then
		case $0 in
		*/*) AIM_PATTERNS_FILE=${0%/*}/error-patterns ;;
		*) AIM_PATTERNS_FILE=error-patterns ;;
		esac
	fi
	# How long the tool says to wait: "Retry-After: 7", "retry after 7 seconds",
	# "Please retry in 12.5s", "try again in 1m30s", "retryDelay": "41s".
	AIM_RE_RETRY='(retry[-_ ]?after|retry in|try again in|retrydelay)[^0-9a-z]{0,4}[0-9]+(\.[0-9]+)?[[:space:]]*[a-z]*([0-9]+(\.[0-9]+)?[a-z]+)*'
}

# aim_start: what aim_init does first: choose the jq (aim_jq_pick) and
# stop with a reply when it is missing; set AIM_TMP (a new scratch directory, removed on exit),
# AIM_T0_MS (the start, in milliseconds since the epoch), AIM_CAP_BYTES and
# AIM_CHILD; trap EXIT (AIM_TMP removed), HUP, INT and TERM (passed on to
# the running tool, then exit 129, 130 or 143).
aim_start()
{
	AIM_T0_MS=$(date +%s%3N)
	AIM_CAP_BYTES=4096	# bytes of stdout / stderr embedded in a reply
	# jq builds every reply; without it, say so the only way left.
	aim_jq_pick
	if ! command -v "$AIM_JQ" >/dev/null 2>&1; then
		printf '%s\n' '{"success":false,"message":"jq not installed (the example adapters need it)","error_class":"not_installed","content":{"error_class":"not_installed"}}'
		exit 0
	fi
	# One mkdir makes the scratch directory, a new name (the pid and the
	# start; mode 700, never an existing one), and aim_snapshot's; mktemp
	# when the name is taken.
	AIM_TMP=${TMPDIR:-/tmp}/aim-adapter.$$.$AIM_T0_MS
	if mkdir -m 700 "$AIM_TMP" "$AIM_TMP/snap" "$AIM_TMP/snap/out" \
	    "$AIM_TMP/snap/before.d" 2>/dev/null ||
	    AIM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/aim-adapter.XXXXXX"); then
		AIM_TMP=$(cd "$AIM_TMP" && pwd -P)
	else
		printf '%s\n' '{"success":false,"message":"cannot create a temporary directory","error_class":"transient","content":{"error_class":"transient"}}'
		exit 0
	fi
	AIM_CHILD=
	trap 'rm -rf "$AIM_TMP"' EXIT
	# aim-invoke signals the adapter's process group, but timeout(1) puts
	# the tool in a group of its own: pass the signal on before leaving.
	trap 'aim_on_signal 129' HUP
	trap 'aim_on_signal 130' INT
	trap 'aim_on_signal 143' TERM
}

# aim_jq_pick: set AIM_JQ, the jq every program of the kit and the
# adapters runs (through aim_jq): $AIM_JQ when set, else gojq when on PATH
# (it starts in about 5 ms, jq 1.6 in 20 to 40), else jq; and AIM_JQ_SORT,
# -S unless AIM_JQ is a gojq, which always sorts object keys: either way
# the same reply, keys sorted (aim-adapter(7) KIT).
aim_jq_pick()
{
	if [ -z "${AIM_JQ:-}" ]; then
		AIM_JQ=jq
		! command -v gojq >/dev/null 2>&1 || AIM_JQ=gojq
	fi
	case ${AIM_JQ##*/} in
	gojq*) AIM_JQ_SORT= ;;
	*) AIM_JQ_SORT=-S ;;
	esac
}

# aim_jq ARGS...: run AIM_JQ (aim_jq_pick) with ARGS.
aim_jq()
{
	"$AIM_JQ" ${AIM_JQ_SORT:+"$AIM_JQ_SORT"} "$@"
}

# aim_on_signal STATUS: the traps' action: stop the running tool, exit.
aim_on_signal()
{
	[ -n "$AIM_CHILD" ] && kill -TERM "$AIM_CHILD" 2>/dev/null
	exit "$1"
}

# aim_reply true|false MESSAGE [CONTENT-FILE]: print the reply, exit 0.
aim_reply()
{
	if [ -n "${3:-}" ] && [ -s "$3" ]; then
		aim_jq -c --argjson s "$1" --arg m "$2" \
		    '{success: $s, message: $m, content: .}' "$3"
	else
		aim_jq -nc --argjson s "$1" --arg m "$2" \
		    '{success: $s, message: $m, content: null}'
	fi
	exit 0
}

# aim_fail CLASS MESSAGE [CONTENT-FILE [RETRY-MS]]: print a failure reply
# (with retry_after_ms when RETRY-MS is given), exit 0.
aim_fail()
{
	if [ -n "${3:-}" ] && [ -s "$3" ]; then
		aim_fail_jq "$1" "$2" "${4:-}" '$c[0]' --slurpfile c "$3"
	else
		aim_fail_jq "$1" "$2" "${4:-}" '{}'
	fi
}

# aim_fail_jq CLASS MESSAGE RETRY-MS CONTENT [JQ-ARGS...]: print the
# failure reply of aim_fail whose content is what the jq expression
# CONTENT gives (jq -n with JQ-ARGS), exit 0: the reply in one jq.
aim_fail_jq()
{
	_k=$1 _m=$2 _r=$3 _c=$4
	shift 4
	aim_jq -nc --arg k "$_k" --arg m "$_m" --arg r "$_r" "$@" '
	    (if $r == "" then {} else {retry_after_ms: ($r | tonumber)} end)
	    as $ra
	    | ('"$_c"') + {error_class: $k} + $ra
	    | {success: false, message: $m, error_class: $k} + $ra
	      + {content: .}'
	exit 0
}

# aim_json_file JQ-FILTER [JQ-ARGS...]: write the output of jq -n to a new
# file in AIM_TMP and print its name (for CONTENT-FILE arguments).
aim_json_file()
{
	_f=$(mktemp "$AIM_TMP/json.XXXXXX")
	_filter=$1
	shift
	aim_jq -nc "$@" "$_filter" >"$_f"
	printf '%s\n' "$_f"
}

# aim_init TOOL: read and check the request; set AIM_CAP, AIM_BUDGET and
# $AIM_TMP/files, and keep the prompt for aim_prompt.  One jq reads the
# request and prints, as shell assignments (@sh), what the kit needs from
# it, or the aim_fail of the first check that fails.
aim_init()
{
	aim_start
	AIM_TOOL=$1
	AIM_REQ=$AIM_TMP/request.json
	cat >"$AIM_REQ" || aim_fail transient "cannot read the request"
	_aim_files='' _aim_timeout_ms='' _aim_prompt='' _aim_prompt_more=''
	_sh=$(aim_jq -rs --arg envcap "${AIM_CAPABILITY:-}" '
	    def put($k; $v): "\($k)=\($v | @sh)";
	    def fail($m): "aim_fail bad_request \($m | @sh)";
	    # As "$(jq -r ...)" reads a string: trailing newlines dropped.
	    def chomp: until(endswith("\n") | not; .[:-1]);
	    # Keys sorted at every depth, as gojq keeps them: one prompt
	    # whichever jq runs.
	    def sorted: if type == "object" then . as $o
	        | reduce keys[] as $k ({}; .[$k] = ($o[$k] | sorted))
	        elif type == "array" then map(sorted) else . end;
	    if length != 1 or (.[0] | type) != "object" then
	        fail("the request is not one JSON object")
	    else .[0]
	    | ((.capability | strings | chomp) // ""
	       | if . == "" then $envcap else . end) as $cap
	    | .payload as $p
	    | if $cap == "" then fail("the request has no capability")
	      elif ($p // {} | type) != "object" then
	        fail("payload is not an object")
	      elif ($p.files // [] | type == "array" and all(.[];
	            type == "string" and length > 0 and (test("\n") | not)))
	           | not then
	        fail("payload.files must be an array of file names")
	      else
	        put("AIM_CAP"; $cap),
	        # A leading "-" gets "./" so that no file name can become an
	        # option.
	        put("_aim_files"; [$p.files // [] | .[]
	            | (if startswith("-") then "./" + . else . end) + "\n"]
	            | add // ""),
	        (.timeout_ms | numbers | floor | put("_aim_timeout_ms"; tostring)),
	        (if ($p.prompt | strings | test("\\S")) // false then
	           put("_aim_prompt"; $p.prompt),
	           put("_aim_prompt_more"; [
	             (if ($p.files // []) != [] then
	                "Files to work on: " + ($p.files | join(", "))
	              else empty end),
	             (if ($p.context // {}) != {} then
	                "Context (JSON): " + ($p.context | sorted | tojson)
	              else empty end)] | map("\n\n" + .) | add // "")
	         else empty end)
	      end
	    end' "$AIM_REQ" 2>/dev/null) ||
	    aim_fail bad_request "the request is not one JSON object"
	eval "$_sh"
	printf '%s' "$_aim_files" >"$AIM_TMP/files"
	# The start stands for now (a date less): aim_run counts again.
	aim_budget "$_aim_timeout_ms" "$AIM_T0_MS"
}

# The tool may run until the smaller of the request's timeout_ms and
# AIM_TIMEOUT_MS (default 30000), counted from the adapter's start, less a
# reserve that lets the adapter answer before aim-invoke's own timeout
# strikes (aim-adapter(7) Timeouts and signals): 1 s for a tool that
# ignores SIGTERM to be killed (timeout -k 1) and 10% (1 to 10 s) to read
# its output and reply; at least 1 s.  aim_budget [TIMEOUT-MS] (the
# request's, as aim_init read it; else read from AIM_REQ) sets
# AIM_DEADLINE_MS (milliseconds since the epoch by which the tool must be
# gone) and AIM_BUDGET (whole seconds left for the tool now; at NOW-MS,
# aim_budget_left's, when given).
aim_budget()
{
	if [ $# -gt 0 ]; then
		_ms=$1
	else
		_ms=$(aim_jq -r '.timeout_ms | numbers | floor' "$AIM_REQ")
	fi
	_env=${AIM_TIMEOUT_MS:-}
	case $_env in '' | *[!0-9]*) _env= ;; esac
	case $_ms in '' | *[!0-9]*) _ms=$_env ;; esac
	if [ -n "$_env" ] && [ "$_env" -lt "$_ms" ]; then
		_ms=$_env
	fi
	[ -n "$_ms" ] || _ms=30000
	_margin=$((_ms / 10))
	[ "$_margin" -ge 1000 ] || _margin=1000
	[ "$_margin" -le 10000 ] || _margin=10000
	AIM_DEADLINE_MS=$((AIM_T0_MS + _ms - _margin - 1000))
	aim_budget_left ${2:+"$2"}
}

# aim_budget_left [NOW-MS]: AIM_BUDGET, the whole seconds (at least 1)
# left until AIM_DEADLINE_MS from NOW-MS (milliseconds since the epoch),
# else from now (one date(1)).
aim_budget_left()
{
	_now=${1:-$(date +%s%3N)}
	AIM_BUDGET=$(((AIM_DEADLINE_MS - _now) / 1000))
	[ "$AIM_BUDGET" -ge 1 ] || AIM_BUDGET=1
}

aim_unknown_capability()
{
	aim_fail bad_request "unsupported capability '$AIM_CAP' (supported: $1)"
}

# aim_require_command CMD: fail with "CMD not installed" unless on PATH.
aim_require_command()
{
	command -v "$1" >/dev/null 2>&1 ||
	    aim_fail_jq not_installed "$1 not installed" "" \
	    '{command: $c, path: $p}' --arg c "$1" --arg p "${PATH:-}"
}

# aim_require_files [EXT-ERE KINDS]: payload.files must be non-empty and
# name existing regular files, each matching EXT-ERE when given.
aim_require_files()
{
	[ -s "$AIM_TMP/files" ] || aim_fail bad_request "payload.files is empty"
	# The line of the first name EXT-ERE does not match (the first line
	# for a bad ERE), by one grep; the names are checked in order.
	_bad=0
	if [ -n "${1:-}" ]; then
		_bad=$(grep -Evn -m 1 -e "$1" "$AIM_TMP/files")
		[ $? -ne 2 ] || _bad=1
		_bad=${_bad%%:*}
	fi
	_i=0
	while IFS= read -r _f; do
		_i=$((_i + 1))
		[ -f "$_f" ] || aim_fail bad_request "no such file: $_f"
		[ "$_i" != "$_bad" ] ||
		    aim_fail bad_request "unsupported file type: $_f (handles $2)"
	done <"$AIM_TMP/files"
}

# aim_nfiles: the number of payload.files.
aim_nfiles()
{
	echo $(($(wc -l <"$AIM_TMP/files")))
}

# aim_prompt: write an AI tool's prompt to $AIM_TMP/prompt.txt:
# payload.prompt, a note for refactoring, the files, payload.context (as
# aim_init read them).
aim_prompt()
{
	[ -n "${_aim_prompt:-}" ] ||
	    aim_fail bad_request "payload.prompt is required"
	{
		printf '%s' "$_aim_prompt"
		[ "$AIM_CAP" != refactoring ] ||
		    printf '\n\n%s' "This is a refactoring: keep the external behaviour unchanged."
		printf '%s\n' "$_aim_prompt_more"
	} >"$AIM_TMP/prompt.txt"
}

# aim_run INPUT CMD [ARGS...]: run CMD under timeout(1), stdin from INPUT;
# sets AIM_RC (124 or 137: timed out), AIM_OUT and AIM_ERR.
aim_run()
{
	AIM_OUT=$AIM_TMP/out
	AIM_ERR=$AIM_TMP/err
	_in=$1
	shift
	aim_budget_left
	timeout -k 1 "$AIM_BUDGET" "$@" <"$_in" >"$AIM_OUT" 2>"$AIM_ERR" &
	AIM_CHILD=$!
	wait "$AIM_CHILD"
	AIM_RC=$?
	AIM_CHILD=
}

# aim_run_files INPUT CMD [ARGS...]: aim_run with payload.files appended.
aim_run_files()
{
	_in=$1
	shift
	while IFS= read -r _f; do
		set -- "$@" "$_f"
	done <"$AIM_TMP/files"
	aim_run "$_in" "$@"
}

# aim_version CMD [ARGS...]: answer the capability "version".
aim_version()
{
	aim_require_command "$1"
	aim_run /dev/null "$@"
	[ "$AIM_RC" -eq 0 ] || aim_fail_run ""
	aim_version_reply
}

# aim_version_reply: answer "version" from the last run's output: the first
# line with a dotted number in it, else the first non-blank line.
aim_version_reply()
{
	_line=$(cat "$AIM_OUT" "$AIM_ERR" | grep -E -m 1 '[0-9]+\.[0-9]+')
	[ -n "$_line" ] ||
	    _line=$(cat "$AIM_OUT" "$AIM_ERR" | sed -n '/[^[:space:]]/{p;q;}')
	_v=$(printf '%s\n' "$_line" | grep -Eo '[0-9]+(\.[0-9]+)+' | head -n 1)
	[ -n "$_v" ] || _v=$_line
	# aim_reply's, in one jq.
	aim_jq -nc --arg m "$AIM_TOOL $_v" --arg v "$_v" --arg l "$_line" \
	    '{success: true, message: $m,
	      content: {version: $v, version_output: $l, exit_code: 0}}'
	exit 0
}

# aim_classify FILE...: print the error class the texts suggest, from the
# first FILE that suggests one (nothing when none does), by the rules of
# AIM_PATTERNS_FILE (nothing but a warning when it cannot be read).  One
# sed reads every FILE (-s: each its own lines, a line "-" before the
# first), one awk drops repeated numbers.
aim_classify()
{
	aim_patterns
	if [ ! -r "$AIM_PATTERNS_FILE" ]; then
		echo "aim_classify: cannot read $AIM_PATTERNS_FILE (set AIM_PATTERNS)" >&2
		return 0
	fi
	aim_classify_rules
	# sed stops at a directory, where grep went on.
	for _cf in "$@"; do
		shift
		[ -d "$_cf" ] || set -- "$@" "$_cf"
	done
	[ $# -gt 0 ] || return 0
	_hits=
	while read -r _h; do
		if [ "$_h" = - ]; then
			[ -z "$_hits" ] || ! aim_classify_hits "$_hits" || return 0
			_hits="
"
		else
			_hits="$_hits$_h
"
		fi
	done <<EOF
$(sed -s -n -E -e '1i -' -e "$AIM_CLASSIFY_SED" "$@" 2>/dev/null |
    awk '$0 == "-" { n++ } !s[n, $0]++')
-
EOF
}

# aim_classify_rules: read AIM_PATTERNS_FILE once into what
# aim_classify_text needs: AIM_CLASSIFY_SED, one sed(1) program printing
# the number (line in the file) of every pattern a line of the text
# matches, a plain pattern after a strip one tried on the line stripped;
# and AIM_CLASSIFY_RULES, the patterns in order, one a line: "N CLASS
# plain", "N - and", "N - unless" or "- - strip".  One sed where there
# was a grep per pattern and text: both take GNU EREs, a line at a time.
aim_classify_rules()
{
	_d=$(printf '\001')
	AIM_CLASSIFY_SED=
	AIM_CLASSIFY_RULES=
	_strip=
	_n=0
	while IFS='	' read -r _k _fl _re; do
		_n=$((_n + 1))
		case $_k in '' | '#'*) continue ;; esac
		_i=I
		case ,$_fl, in *,case,*) _i= ;; esac
		# An empty ERE matches every line, as grep's does.
		[ -n "$_re" ] || _re=^
		_test="\\$_d$_re$_d$_i i $_n"
		case ,$_fl, in
		*,and,* | *,unless,*) _r="$_n - $_fl" ;;
		*,strip,*)
			_strip="s$_d$_re$_d$_d${_i}g"
			_r="- - strip"
			_test=
			;;
		*)
			_r="$_n $_k plain"
			[ -z "$_strip" ] || _test="h
$_strip
$_test
g"
			_strip=
			;;
		esac
		AIM_CLASSIFY_RULES="$AIM_CLASSIFY_RULES$_r
"
		[ -z "$_test" ] || AIM_CLASSIFY_SED="$AIM_CLASSIFY_SED$_test
"
	done <"$AIM_PATTERNS_FILE"
}

# aim_classify_text FILE: print the class of the first rule (as
# aim_classify_rules read them) that FILE matches; status 1 when none
# does.
aim_classify_text()
{
	aim_classify_hits "
$(sed -n -E -e "$AIM_CLASSIFY_SED" "$1" 2>/dev/null | sort -u)
"
}

# aim_classify_hits HITS: print the class of the first rule whose
# patterns the numbers in HITS (one a line, between newlines) say a text
# matches; status 1 when none.  A rule: its strip line, its plain line,
# its "and" and "unless" lines; a strip or plain line ends the rule
# before it.
aim_classify_hits()
{
	_rule=
	_ok=0
	while read -r _n _k _fl; do
		_m=unless
		case $1 in *"
$_n
"*) _m=and ;; esac
		case ,$_fl, in
		*,and,* | *,unless,*)
			[ "$_ok" = 1 ] || continue
			case ,$_fl, in *,"$_m",*) ;; *) _ok=0 ;; esac
			continue
			;;
		esac
		[ "$_ok" = 0 ] || break
		[ "$_fl" = plain ] || continue
		_rule=$_k
		[ "$_m" = unless ] || _ok=1
	done <<RULES
$AIM_CLASSIFY_RULES
RULES
	[ "$_ok" = 1 ] && echo "$_rule"
}

# aim_retry_after FILE...: print the wait the texts ask for, in whole
# milliseconds, from the first FILE that names one (nothing when none
# does): the first match of AIM_RE_RETRY, found by one sed over every
# FILE in order, converted by awk.
aim_retry_after()
{
	aim_patterns
	_r=$AIM_RE_RETRY
	_r=$(sed -n -E "\\#$_r#I{s#$_r#\\n&\\n#I;s#^[^\\n]*\\n##;s#\\n.*##;p;q;}" \
	    "$@" 2>/dev/null)
	# No wait named (the usual case): no awk.
	[ -n "$_r" ] || return 0
	printf '%s\n' "$_r" | awk '{
		s = tolower($0)
		sub(/^[^0-9]*/, "", s)
		ms = 0
		while (match(s, /^[0-9]+(\.[0-9]+)?/)) {
			n = substr(s, 1, RLENGTH) + 0
			s = substr(s, RLENGTH + 1)
			sub(/^[ \t]*/, "", s)
			match(s, /^[a-z]*/)
			u = substr(s, 1, RLENGTH)
			s = substr(s, RLENGTH + 1)
			if (u ~ /^(ms|msecs?|milliseconds?)$/) f = 1
			else if (u ~ /^(m|mins?|minutes?)$/) f = 60000
			else if (u ~ /^(h|hrs?|hours?)$/) f = 3600000
			else f = 1000
			ms += n * f
			if (f == 1000 && u !~ /^(s|secs?|seconds?)$/) break
		}
		printf "%d\n", ms + 0.5
	}'
}

# aim_flat TEXT: TEXT on one line, at most 400 bytes.
aim_flat()
{
	[ -n "$1" ] || return 0
	# One record (RS \001), as tr saw the text: a final newline counts.
	printf '%s' "$1" | awk 'BEGIN { RS = "\001" }
	    { s = s (NR > 1 ? RS : "") $0 }
	    END { gsub(/[\n\t]/, " ", s); if (s != "") print substr(s, 1, 400) }'
}

# aim_tail FILE: the last 3 lines of FILE that are neither blank nor stack
# frames, ANSI escapes removed, joined with " | " (tabs too), at most 400
# bytes: one awk.
aim_tail()
{
	awk 'BEGIN { esc = sprintf("%c", 27) }
	    { gsub(esc "\\[[0-9;]*[A-Za-z]", "") }
	    /^[[:space:]]+at |^[[:space:]]*$/ { next }
	    { l[++n % 3] = $0 }
	    END { k = n > 3 ? n - 2 : 1
	          for (i = k; i <= n; i++) s = s (i > k ? "\t" : "") l[i % 3]
	          gsub(/\t/, " | ", s)
	          if (n) print substr(s, 1, 400) }' "$1" 2>/dev/null
}

# aim_caps: set AIM_OUT_CAP and AIM_ERR_CAP, files holding the last run's
# stdout and stderr capped to AIM_CAP_BYTES (the head of stdout, the tail
# of stderr) for a reply's content; /dev/null for an empty one (no head
# or tail run).
aim_caps()
{
	AIM_OUT_CAP=/dev/null
	AIM_ERR_CAP=/dev/null
	if [ -s "$AIM_OUT" ]; then
		AIM_OUT_CAP=$AIM_TMP/out.cap
		head -c "$AIM_CAP_BYTES" "$AIM_OUT" >"$AIM_OUT_CAP"
	fi
	if [ -s "$AIM_ERR" ]; then
		AIM_ERR_CAP=$AIM_TMP/err.cap
		tail -c "$AIM_CAP_BYTES" "$AIM_ERR" >"$AIM_ERR_CAP"
	fi
}

# aim_run_content FILE: write {exit_code, stdout, stderr} of the last run,
# capped to AIM_CAP_BYTES (aim_caps).
aim_run_content()
{
	aim_caps
	aim_jq -nc --argjson rc "$AIM_RC" \
	    --rawfile o "$AIM_OUT_CAP" --rawfile e "$AIM_ERR_CAP" \
	    '{exit_code: $rc, stdout: $o, stderr: $e}' >"$1"
}

# aim_fail_run [DETAIL [CLASS [RETRY-MS]]]: failure reply for a run that
# went wrong.  CLASS defaults to what DETAIL, else stderr, else stdout
# suggest, and to transient when nothing does.  A run killed at the end of
# its budget is timeout, unless its texts name what the tool was waiting
# out (auth, quota, rate_limit, context_too_long, content_policy,
# transient, not_installed).  The message says the class, the exit status
# or timeout, and DETAIL (default: the last lines of stderr, else of
# stdout); retry_after_ms (rate_limit, quota, transient only) is RETRY-MS
# when given, else read from the texts.
aim_fail_run()
{
	_detail=${1:-}
	_class=${2:-}
	_retry=${3:-}
	printf '%s\n' "$_detail" >"$AIM_TMP/detail"
	[ -n "$_class" ] ||
	    _class=$(aim_classify "$AIM_TMP/detail" "$AIM_ERR" "$AIM_OUT")
	[ -n "$_detail" ] || _detail=$(aim_tail "$AIM_ERR")
	[ -n "$_detail" ] || _detail=$(aim_tail "$AIM_OUT")
	_status="exit $AIM_RC"
	case $AIM_RC in
	124 | 137)
		_status="timed out after $AIM_BUDGET s"
		case $_class in
		auth | quota | rate_limit | context_too_long | content_policy | \
		    transient | not_installed) ;;
		*) _class=timeout ;;
		esac
		;;
	esac
	case $_class in
	auth) _why="authentication failed (not logged in or invalid API key)" ;;
	rate_limit) _why="rate limited" ;;
	quota) _why="out of quota (usage limit or billing)" ;;
	context_too_long) _why="the prompt is too long for the model's context window" ;;
	content_policy) _why="refused by the content policy" ;;
	transient) _why="temporary failure (network or service)" ;;
	bad_request) _why="request rejected" ;;
	not_installed) _why="not installed" ;;
	timeout) _why= ;;
	*)
		_class=transient
		_why="failed for a reason not recognised (taken as temporary)"
		;;
	esac
	case $_class in
	rate_limit | quota | transient)
		[ -n "$_retry" ] || _retry=$(aim_retry_after "$AIM_TMP/detail" \
		    "$AIM_ERR" "$AIM_OUT")
		;;
	*) _retry= ;;
	esac
	if [ "$_class" = timeout ]; then
		_msg="$_status${_detail:+: $_detail}"
	else
		_msg="$_why, $_status${_detail:+: $_detail}"
	fi
	# The content of aim_run_content, made by the reply's own jq.
	aim_caps
	aim_fail_jq "$_class" "$_msg" "$_retry" \
	    '{exit_code: $rc, stdout: $o, stderr: $e}' --argjson rc "$AIM_RC" \
	    --rawfile o "$AIM_OUT_CAP" --rawfile e "$AIM_ERR_CAP"
}

# Changes to the working tree.  aim_snapshot before the run and
# aim_changes after it compare the whole working directory, so that files
# a tool changed through its shell count as well as those it names:
#   - in a git work tree, two trees written from temporary indexes
#     (GIT_INDEX_FILE; the repository's index, HEAD and stash are never
#     touched, only blobs are added to its object store): "git add -A"
#     sees untracked files too, except the ignored ones; payload.files that
#     are ignored are added by force; "git diff-tree --numstat" counts the
#     lines;
#   - elsewhere, a walk of at most AIM_SNAPSHOT_MAX_FILES regular files
#     (default 20000), skipping .git and node_modules, compared by cksum;
#     copies for the line counts when they total at most
#     AIM_SNAPSHOT_MAX_BYTES (default 67108864), else a modified file counts
#     no lines; content "changes_scope" says "walk_capped" when the cap cut
#     the walk short (changes past it are not seen);
#   - payload.files outside the working directory, copied one by one.
# Paths are relative to the working directory (absolute ones under it are
# made relative), each listed once.

# aim_snapshot: remember the working tree before a run.
aim_snapshot()
{
	# Made by aim_start's mkdir, unless mktemp made AIM_TMP; before.d for
	# aim_walk's copies.
	[ -d "$AIM_TMP/snap/before.d" ] || mkdir -p "$AIM_TMP/snap/out" \
	    "$AIM_TMP/snap/before.d"
	AIM_SNAP_MODE=walk
	AIM_SNAP_CAPPED=false
	: >"$AIM_TMP/snap/payload"
	[ ! -s "$AIM_TMP/files" ] ||
	    aim_relpaths <"$AIM_TMP/files" >"$AIM_TMP/snap/payload"
	if aim_git_near && command -v git >/dev/null 2>&1 &&
	    [ "$(git rev-parse --is-inside-work-tree 2>/dev/null)" = true ]; then
		_gi=$(git rev-parse --git-path index 2>/dev/null)
		[ ! -f "$_gi" ] || cp "$_gi" "$AIM_TMP/snap/index"
		# payload.files under it, ignored or not: one git add, else
		# (a file git refuses must not keep the others out) one a file.
		set --
		while IFS= read -r _f; do
			case $_f in /* | ../*) continue ;; esac
			[ ! -f "$_f" ] || set -- "$@" "$_f"
		done <"$AIM_TMP/snap/payload"
		if [ $# -gt 0 ] && ! GIT_INDEX_FILE=$AIM_TMP/snap/index \
		    git add -f -- "$@" >/dev/null 2>&1; then
			for _f; do
				GIT_INDEX_FILE=$AIM_TMP/snap/index \
				    git add -f -- "$_f" >/dev/null 2>&1
			done
		fi
		if AIM_SNAP_TREE=$(aim_git_tree "$AIM_TMP/snap/index"); then
			AIM_SNAP_MODE=git
		fi
	fi
	[ "$AIM_SNAP_MODE" = git ] || aim_walk "$AIM_TMP/snap/before" copy
	# payload.files outside the working directory, the old way.
	: >"$AIM_TMP/snap/outside"
	_i=0
	while IFS= read -r _f; do
		case $_f in /* | ../*) ;; *) continue ;; esac
		_i=$((_i + 1))
		printf '%s\n' "$_f" >>"$AIM_TMP/snap/outside"
		if [ -f "$_f" ]; then
			cp -p -- "$_f" "$AIM_TMP/snap/out/$_i"
			cksum <"$_f" >"$AIM_TMP/snap/out/$_i.sum"
		fi
	done <"$AIM_TMP/snap/payload"
}

# aim_git_near: status 0 when git may find a work tree here: GIT_DIR or
# GIT_WORK_TREE set, or a .git (directory or file) in the working
# directory (its physical path, as git sees it) or above; else 1, and no
# git need run to say no.
aim_git_near()
{
	[ -z "${GIT_DIR:-}${GIT_WORK_TREE:-}" ] || return 0
	_gd=$(pwd -P)
	while :; do
		[ ! -e "$_gd/.git" ] || return 0
		case $_gd in */*) _gd=${_gd%/*} ;; *) return 1 ;; esac
	done
}

# aim_relpaths: paths on stdin, one a line, made relative to the working
# directory when under it ("./" dropped), on stdout.
aim_relpaths()
{
	awk -v p1="$(pwd -P)/" -v p2="$(pwd)/" '{
		if (index($0, p1) == 1) $0 = substr($0, length(p1) + 1)
		else if (index($0, p2) == 1) $0 = substr($0, length(p2) + 1)
		while (substr($0, 1, 2) == "./") $0 = substr($0, 3)
		if ($0 != "") print
	}'
}

# aim_git_tree INDEX: add the working directory to the temporary INDEX
# and print the tree written from it.
aim_git_tree()
{
	GIT_INDEX_FILE=$1 git -c gc.auto=0 add -A -- . >/dev/null 2>&1 &&
	    GIT_INDEX_FILE=$1 git write-tree 2>/dev/null
}

# aim_walk PREFIX [copy]: PREFIX.sums, "cksum size path" of the regular
# files under the working directory (bounded, see above); with "copy",
# PREFIX.d/ holds their copies when they fit AIM_SNAPSHOT_MAX_BYTES.
aim_walk()
{
	_max=${AIM_SNAPSHOT_MAX_FILES:-20000}
	case $_max in '' | *[!0-9]*) _max=20000 ;; esac
	_maxb=${AIM_SNAPSHOT_MAX_BYTES:-67108864}
	case $_maxb in '' | *[!0-9]*) _maxb=67108864 ;; esac
	# awk keeps the first _max and fails when there are more.
	find . \( -name .git -o -name node_modules \) -prune -o -type f \
	    -print 2>/dev/null |
	    awk -v max="$_max" 'NR > max { exit 1 } { print }' >"$1.list" ||
	    AIM_SNAP_CAPPED=true
	: >"$1.sums"
	[ ! -s "$1.list" ] ||
	    tr '\n' '\0' <"$1.list" | xargs -0 cksum >"$1.sums" 2>/dev/null
	[ "${2:-}" = copy ] || return 0
	[ -d "$1.d" ] || mkdir "$1.d"
	[ -s "$1.list" ] || return 0
	_bytes=$(awk '{ n += $2 } END { printf "%d\n", n }' "$1.sums")
	[ "$_bytes" -le "$_maxb" ] || return 0
	tar -cf - -T "$1.list" 2>/dev/null | tar -xf - -C "$1.d" 2>/dev/null
}

# aim_lines OLD NEW: "added removed" lines from OLD to NEW (either may be
# /dev/null).
aim_lines()
{
	diff -- "$1" "$2" 2>/dev/null |
	    awk '/^>/ { a++ } /^</ { r++ } END { printf "%d %d\n", a, r }'
}

# aim_changes FILE [EXTRA-FILE]: compare the working tree with the
# snapshot and write the content: the last run's {exit_code, stdout,
# stderr}, EXTRA (a JSON object: the normalised fields the adapter read
# from its tool, see the top of this file) and files_modified,
# files_created, files_deleted, lines_added, lines_removed, changes_scope.
# The files EXTRA names in files_* are kept only where the snapshot could
# not see them (outside the working directory, ignored by git, past the
# walk's cap); their lines are not counted.
aim_changes()
{
	: >"$AIM_TMP/mod"
	: >"$AIM_TMP/new"
	: >"$AIM_TMP/del"
	: >"$AIM_TMP/seen"
	: >"$AIM_TMP/numstat"
	: >"$AIM_TMP/counts"
	if [ "$AIM_SNAP_MODE" = git ]; then
		_scope=git
		cp "$AIM_TMP/snap/index" "$AIM_TMP/snap/index2" 2>/dev/null
		if _t2=$(aim_git_tree "$AIM_TMP/snap/index2"); then
			git diff-tree -r -z --no-renames --relative --name-status \
			    "$AIM_SNAP_TREE" "$_t2" | tr '\0' '\n' | awk '
			    NR % 2 == 1 { s = $0; next }
			    { f = s == "A" ? "new" : s == "D" ? "del" : "mod"
			      print > (dir "/" f) }' dir="$AIM_TMP"
			git diff-tree -r -z --no-renames --relative --numstat \
			    "$AIM_SNAP_TREE" "$_t2" | tr '\0' '\n' >"$AIM_TMP/numstat"
			{
				git ls-tree -r -z --name-only "$AIM_SNAP_TREE"
				git ls-tree -r -z --name-only "$_t2"
			} | tr '\0' '\n' >"$AIM_TMP/seen"
		fi
	else
		_scope=walk
		[ "$AIM_SNAP_CAPPED" = false ] || _scope=walk_capped
		_b=$AIM_TMP/snap/before
		aim_walk "$AIM_TMP/snap/after"
		awk -v dir="$AIM_TMP" '{ p = $0; sub(/^[0-9]+ [0-9]+ (\.\/)?/, "", p)
		       k = $1 " " $2
		       if (FILENAME == ARGV[1]) { old[p] = k; next }
		       seen[p] = 1
		       if (!(p in old)) print p > (dir "/new")
		       else if (old[p] != k) print p > (dir "/mod") }
		     END { for (p in old) if (!(p in seen)) print p > (dir "/del")
		           for (p in old) print p > (dir "/seen")
		           for (p in seen) print p > (dir "/seen") }' \
		    "$_b.sums" "$AIM_TMP/snap/after.sums"
		{
			while IFS= read -r _f; do
				if [ -f "$_b.d/$_f" ]; then
					aim_lines "$_b.d/$_f" "$_f"
				else
					echo "0 0"
				fi
			done <"$AIM_TMP/mod"
			while IFS= read -r _f; do
				aim_lines /dev/null "$_f"
			done <"$AIM_TMP/new"
			while IFS= read -r _f; do
				aim_lines "$_b.d/$_f" /dev/null
			done <"$AIM_TMP/del"
		} >>"$AIM_TMP/counts"
	fi
	# payload.files outside the working directory.
	_i=0
	while IFS= read -r _f; do
		_i=$((_i + 1))
		_old=$AIM_TMP/snap/out/$_i
		if [ -f "$_old" ] && [ -f "$_f" ]; then
			[ "$(cksum <"$_f")" != "$(cat "$_old.sum")" ] || continue
			printf '%s\n' "$_f" >>"$AIM_TMP/mod"
			aim_lines "$_old" "$_f"
		elif [ -f "$_f" ]; then
			printf '%s\n' "$_f" >>"$AIM_TMP/new"
			aim_lines /dev/null "$_f"
		elif [ -f "$_old" ]; then
			printf '%s\n' "$_f" >>"$AIM_TMP/del"
			aim_lines "$_old" /dev/null
		fi
	done <"$AIM_TMP/snap/outside" >>"$AIM_TMP/counts"
	awk -F '\t' 'NF >= 3 && $1 ~ /^[0-9]+$/ { print $1 " " $2 }' \
	    "$AIM_TMP/numstat" >>"$AIM_TMP/counts"
	_add=$(awk '{ a += $1; r += $2 } END { printf "%d %d\n", a, r }' \
	    "$AIM_TMP/counts")
	_rem=${_add#* }
	_add=${_add% *}
	# The content of aim_run_content, and EXTRA (else {}), in the one jq.
	aim_caps
	aim_jq -c --rawfile m "$AIM_TMP/mod" --rawfile n "$AIM_TMP/new" \
	    --rawfile d "$AIM_TMP/del" --rawfile seen "$AIM_TMP/seen" \
	    --arg p1 "$(pwd -P)/" --arg p2 "$(pwd)/" \
	    --argjson a "$_add" --argjson r "$_rem" --arg scope "$_scope" \
	    --argjson rc "$AIM_RC" --rawfile o "$AIM_OUT_CAP" \
	    --rawfile e "$AIM_ERR_CAP" '
	    def lines: split("\n") | map(select(length > 0));
	    def rel: if startswith($p1) then .[($p1 | length):]
	        elif startswith($p2) then .[($p2 | length):] else . end
	        | until(startswith("./") | not; .[2:]);
	    ($seen | lines | map({(.): true}) | add // {}) as $known
	    | def theirs($k): [(.[$k] // [])[] | strings | rel
	        | select(length > 0 and ($known[.] | not))];
	    . as $x
	    | ($m | lines) as $mod | ($n | lines) as $new | ($d | lines) as $del
	    | ($new + ($x | theirs("files_created")) | unique) as $cr
	    | ($del + ($x | theirs("files_deleted")) | unique) as $dl
	    | {exit_code: $rc, stdout: $o, stderr: $e} + $x + {
	        files_modified: ($mod + ($x | theirs("files_modified")) | unique
	                         - $cr - $dl),
	        files_created: $cr, files_deleted: ($dl - $cr),
	        lines_added: $a, lines_removed: $r, changes_scope: $scope}' \
	    "${2:-/dev/stdin}" >"$1" <<EOF
{}
EOF
}

# aim_reply_changes WHAT CONTENT-FILE: the reply for a run that ended
# well: a success with WHAT and a summary of the changes in CONTENT (from
# aim_changes), unless CONTENT's tool_calls says the tool tried to edit
# files and every such call failed ("edits" > 0 and "edits_failed" equal
# to it) while no file changed: then a failure of class bad_request (the
# request could not be carried out as asked; another tool may).
aim_reply_changes()
{
	# One jq prints the success reply (an object: its keys sorted, as
	# every reply's), else what the failure says (as shell assignments).
	_n='' _r=''
	_sh=$(aim_jq -rc --arg what "$1" '
	    def chomp: until(endswith("\n") | not; .[:-1]);
	    . as $c
	    | if (try ((.tool_calls.edits // 0) > 0
	          and .tool_calls.edits_failed == .tool_calls.edits
	          and (.files_modified + .files_created + .files_deleted
	               | length) == 0) catch false) then
	        "_n=\(.tool_calls.edits | tostring | @sh)",
	        "_r=\(.response // "" | tostring | chomp | @sh)"
	      else
	        ([(.files_modified | length | "\(.) modified"),
	          (.files_created | length | "\(.) created"),
	          (.files_deleted | length | select(. > 0) | "\(.) deleted")]
	         | join(", ")) + "; +\(.lines_added) -\(.lines_removed) lines"
	        | {success: true, message: "\($what) (\(.))", content: $c}
	      end' "$2" 2>/dev/null) || aim_reply true "$1 ()" "$2"
	case $_sh in
	'{'*)
		printf '%s\n' "$_sh"
		exit 0
		;;
	esac
	eval "$_sh"
	_r=$(aim_flat "$_r")
	aim_fail bad_request "every edit failed ($_n of $_n edit tool calls), no file changed${_r:+: $_r}" "$2"
}

# aim_reply_findings N REPORT-FILE: success reply of a linter that ran:
# content {findings: N, exit_code, stdout: REPORT (capped), stderr}.
aim_reply_findings()
{
	_m="$1 finding(s) in $(aim_nfiles) file(s)"
	# The content of aim_run_content, and the reply, in one jq; a count
	# that is not JSON leaves no content, as before.
	aim_caps
	head -c "$AIM_CAP_BYTES" "$2" >"$AIM_TMP/report.cap"
	aim_jq -nc --argjson n "$1" --arg m "$_m" --argjson rc "$AIM_RC" \
	    --rawfile o "$AIM_OUT_CAP" --rawfile e "$AIM_ERR_CAP" \
	    --rawfile r "$AIM_TMP/report.cap" '{success: true, message: $m,
	    content: ({exit_code: $rc, stdout: $o, stderr: $e}
	              + {findings: $n, stdout: $r})}' ||
	    aim_reply true "$_m"
	exit 0
}
