# matrix.bash: the CLI x scenario matrix of `make check-clis`
# (tests/integration/matrix-*.bats), its spec the table
# tests/fixtures/matrix/expected.tsv: one row a cell, tab-separated,
#   tool  scenario  outcome  error_class  retry_after_ms  message
# tool is the tool id (ollama: the openai-compat adapter; crush: its
# stand-in, tests/fixtures/crush); outcome success, failure or unchanged
# (a success whose result does not hold the change); error_class and
# retry_after_ms as the attempt gives them (- and null: none); message an
# ERE the attempt's message matches (a success: its response).  A cell
# `make check`'s suites already assert is not in the table.
#
# Every CLI's recipe is set up at once (cli_env), so that one request
# can walk them all:
# matrix_chain SCENARIO-JSON NAME [TIMEOUT-MS [TOOLS-ERE]]   one request,
#     no tool_id, down the table's tools of scenario NAME (those whose
#     whole id TOOLS-ERE matches) in the table's order (the first primary,
#     the others its fallback, no retry; after a success, one more request
#     down the rest): one CLI run a cell; each attempt asserted against
#     its row
# matrix_success TOOL NAME...   one request for TOOL, the model making the
#     changes NAMEd (edit, create, delete, shell_edit; ask_steps) or just
#     answering (answer); the table's rows of TOOL and each NAME asserted,
#     each change found in the result's files (ollama, which has no
#     tools: delete only, the answer a diff deleting web/app.js)

load clis

MATRIX=$TOP/tests/fixtures/matrix/expected.tsv

# Every CLI's recipe at once (clis.bash and cli-env.sh), so that one
# request can walk them all.
cli_env() {
	local r
	aim_cli_env "$PROVIDER_URL"
	for r in copilot qwen continue droid pi crush opencode kilo ollama; do
		"recipe_$r"
	done
}

# matrix_rows NAME [TOOL]: the table's rows of scenario NAME (of TOOL).
matrix_rows() {
	awk -F'\t' -v s="$1" -v t="${2:-}" \
	    '!/^#/ && NF && $2 == s && (t == "" || $1 == t)' "$MATRIX"
}

# matrix_check ROWS ACTUAL: each expected row against the actual one
# (tool, scenario, outcome, class, retry_after_ms, message; the actual
# ones then the attempt's duration_ms), in order;
# on a mismatch, the actual rows as table rows.  With MATRIX_RECORD set,
# the actual rows are appended to that file too (a new CLI's rows drafted
# from what it does).
matrix_check() {
	local want=$1 got=$2 bad='' i w g
	local -a wl gl wf gf
	if [ -z "$want" ]; then
		echo "matrix: no row in $MATRIX" >&2
		return 1
	fi
	[ -z "${MATRIX_RECORD:-}" ] || printf '%s\n' "$got" >>"$MATRIX_RECORD"
	mapfile -t wl <<<"$want"
	mapfile -t gl <<<"$got"
	[ "${#wl[@]}" -eq "${#gl[@]}" ] || bad="${#gl[@]} attempts, not ${#wl[@]}"
	for ((i = 0; i < ${#wl[@]}; i++)); do
		IFS=$'\t' read -r -a wf <<<"${wl[i]}"
		IFS=$'\t' read -r -a gf <<<"${gl[i]:-}"
		w="${wf[*]:0:5}" g="${gf[*]:0:5}"
		if [ "$w" != "$g" ]; then
			bad+=$'\n'"row $((i + 1)): want $w"$'\n'"        got  $g"
		elif ! [[ ${gf[5]:-} =~ ${wf[5]} ]]; then
			bad+=$'\n'"row $((i + 1)) (${wf[0]} ${wf[1]}): message does not match ${wf[5]}"
		fi
	done
	[ -z "$bad" ] && return 0
	printf 'matrix: %s\nthe actual rows:\n%s\n' "$bad" "$got" >&2
	return 1
}

matrix_chain() {
	local rows left tools got='' n
	rows=$(matrix_rows "$2" | awk -F'\t' -v t="${4:-.*}" '$1 ~ "^(" t ")$"')
	left=$rows
	provider_scenario "$1"
	# A success ends the chain: the tools after it get a request of
	# their own.
	while [ -n "$left" ]; do
		tools=$(cut -f1 <<<"$left" | jq -Rsc 'split("\n") | map(select(. != ""))')
		jq --argjson t "$tools" '.capabilities.code_generation.primary = $t[0]
		    | .capabilities.code_generation.fallback = $t[1:]
		    | .capabilities.code_generation.max_retries = 0' \
		    "$EXAMPLE/AIM_cross-tool/AIM_coordination-rules.json" \
		    >../reg/AIM_cross-tool/AIM_coordination-rules.json
		pipeline "$(jq -nc --argjson ms "${3:-240000}" '{capability:
		    "code_generation", timeout_ms: $ms, payload: {prompt:
		    "edit the file", files: ["src/main.c"]}}')"
		got+=$(jq -r --arg s "$2" '.attempts[] | [.tool_id, $s, .outcome,
		    .error_class // "-", .retry_after_ms // "null",
		    (.message // "" | gsub("[\t\n]"; " ")), .duration_ms]
		    | @tsv' ../out.jsonl)$'\n'
		n=$(jq '.attempts | length' ../out.jsonl)
		[ "$n" -gt 0 ] || break
		left=$(tail -n +"$((n + 1))" <<<"$left")
	done
	matrix_check "$rows" "${got%$'\n'}"
}

matrix_success() {
	local tool=$1 rows name steps=() got
	shift
	rows=$(for name in "$@"; do matrix_rows "$name" "$tool"; done)
	# shellcheck disable=SC2034 # ask reads them
	CLI=$tool CLI_TIMEOUT_MS=240000
	for name in "$@"; do
		[ "$name" = answer ] || steps+=("$name")
	done
	if [ "$tool" = ollama ]; then
		# No tools: the change is the answer's diff, as git writes it.
		git rm -q web/app.js
		provider_scenario "$(git diff --cached | jq -Rsc \
		    '{scenario: "answer", text: ("Deleted:\n```diff\n" + . + "```\n")}')"
		git reset -q --hard
		ask "delete web/app.js"
	elif [ ${#steps[@]} -eq 0 ]; then
		provider_scenario '{"scenario":"answer","text":"main.c sums its arguments."}'
		ask "what does src/main.c do?"
	else
		# No "/*" in the command: copilot takes it for a path
		# outside the tree and denies the call.
		ASK_SHELL_EDIT='echo "int aim_shell_edit;" >> src/util.h' \
		    ask_steps "change the tree" "Changed the tree." "${steps[@]}"
	fi
	# Each change found where its scenario puts it.
	got=$(for name in "$@"; do
		jq -r --arg t "$tool" --arg s "$name" '.result as $r
		    | ($r.content // {}) as $c
		    | {edit: ["files_modified", "src/main.c"],
		       create: ["files_created", "NOTES.md"],
		       delete: ["files_deleted", "web/app.js"],
		       shell_edit: ["files_modified", "src/util.h"]}[$s] as $w
		    | [$t, $s,
		       (if $r.success != true then "failure"
		        elif $w == null or ($c[$w[0]] // [] | index($w[1]) != null)
		        then "success" else "unchanged" end),
		       (.error.error_class // .attempts[-1].error_class // "-"),
		       (.attempts[-1].retry_after_ms // "null"),
		       ($c.response // .attempts[-1].message // ""
		        | gsub("[\t\n]"; " "))] | @tsv' ../out.jsonl
	done)
	matrix_check "$rows" "$got"
}
