#!/bin/bash
# demo.sh - run examples/requests.jsonl through aim-resolve | aim-invoke |
# aim-audit on a scratch copy of examples/sample and explain what happened.
#
# usage: demo.sh BUILD_DIR
#
# BUILD_DIR (the directory holding the aim-* binaries) goes first on PATH;
# the example registry is examples/.AIM_ai-tools-registry.  Tools that are
# missing and a pipeline that exits non-zero are part of the demo: the exit
# statuses are shown and demo.sh still exits 0.  It exits 1 only when it
# cannot run at all (no aim binaries, no jq), 2 on a usage error.
#
# The demo stays on this machine: every proxy variable points at a closed
# loopback port, so a coding CLI that tries to reach its service fails
# there.  AIM_DEMO_ONLINE=1 leaves the environment as it is (for a machine
# where the CLIs are logged in).
set -u

prog=${0##*/}
if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: $prog BUILD_DIR" >&2
	exit 2
fi
build=$(cd "$1" 2>/dev/null && pwd) || {
	echo "$prog: $1: no such directory" >&2
	exit 1
}
here=$(cd "$(dirname "$0")" && pwd)
registry=$here/.AIM_ai-tools-registry
for bin in aim-resolve aim-invoke aim-audit; do
	if [ ! -x "$build/$bin" ]; then
		echo "$prog: $build/$bin: not found (build aim first)" >&2
		exit 1
	fi
done
if ! command -v jq >/dev/null; then
	echo "$prog: jq not found (the demo and the example adapters need it)" >&2
	exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/aim-demo.XXXXXX") || exit 1
tree=$scratch/tree
cp -R "$here/sample" "$tree" || exit 1
cd "$tree" || exit 1
export PATH="$build:$PATH"
# Cooldowns and load-balancing counters of this run only: a tool that
# failed in an earlier demo is not held back in this one.
export XDG_STATE_HOME="$scratch/state"
if [ "${AIM_DEMO_ONLINE:-0}" != 1 ]; then
	export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
	    https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9 \
	    NO_PROXY='' no_proxy=''
	network="offline (proxies at 127.0.0.1:9; AIM_DEMO_ONLINE=1 to lift)"
else
	network="online"
fi

cat <<EOF
aim demo
  registry:  $registry
  requests:  $here/requests.jsonl
  tree:      $tree (a copy of examples/sample; the requests run here)
  PATH:      $build first
  network:   $network

Running aim-resolve | aim-invoke | aim-audit ...
EOF

aim-resolve -c "$registry/aim_config.json" -r "$registry" \
    <"$here/requests.jsonl" 2>>"$scratch/stderr.log" |
    aim-invoke -c "$registry/aim_config.json" -r "$registry" \
    2>>"$scratch/stderr.log" |
    aim-audit -c "$registry/aim_config.json" -r "$registry" \
    -d "$scratch/audit" >"$scratch/results.jsonl" 2>>"$scratch/stderr.log"
status=("${PIPESTATUS[@]}")

cat <<EOF
exit status: aim-resolve ${status[0]}, aim-invoke ${status[1]}, aim-audit ${status[2]}
  (0 all succeeded, 1 some request failed, 2 usage, 3 registry/config
  unusable, 4 I/O error)

Requests ($(wc -l <"$scratch/results.jsonl") result records in $scratch/results.jsonl):
EOF

# One block per record: the request, who served it, then every attempt.
jq -rR '
def cut(n): tostring | if length > n then .[0:n] + "..." else . end;
def ms: if .duration_ms then " \(.duration_ms) ms" else "" end;
(fromjson? // {unparsed: .}) as $r
| if $r.unparsed then
    "\n?  unparsed output line: \($r.unparsed | cut(120))"
  elif $r.error then
    "\n\($r.id // "(no id)")  \($r.capability // "?")"
    + "  ERROR at \($r.error.stage) (\($r.error.code), input line \($r.error.line)): "
    + ($r.error.message | cut(200))
    + (if $r.input then "\n    input: \($r.input | cut(100))" else "" end)
  else
    "\n\($r.id)  \($r.capability)"
    + (if $r.tool_id then "  served by \($r.tool_id)" else "  NOT SERVED" end)
    + (if $r.route.strategy == "direct" then " (tool_id given)" else "" end)
    + (if $r.degraded then " (degraded: fallback depth \($r.fallback_depth))"
       else "" end)
    + "\n    result: "
    + (if $r.result.success then "success" else "failure" end)
    + ": " + ($r.result.message // "" | cut(if $r.result.success then 300 else 160 end))
    + ([$r.attempts // [] | to_entries[] | .key as $i | .value
        | "\n    \($i + 1). \(.tool_id)  \(.outcome)"
          + (if .reason then " (\(.reason))" else "" end)
          + (if .error_class then " [\(.error_class)]" else "" end) + ms
          + (if .message then ": " + (.message | cut(200)) else "" end)]
       | join(""))
  end
  + (if $r.audit.path then "\n    audit: \($r.audit.path)"
     elif $r.audit.error then "\n    audit FAILED: \($r.audit.error)"
     else "" end)
' "$scratch/results.jsonl"

echo
echo "Audit entries under $scratch/audit:"
if [ -d "$scratch/audit" ]; then
	(cd "$scratch/audit" && find . -type f | sed 's|^\./|  |' | sort)
else
	echo "  (none written)"
fi

echo
echo "Files changed in the tree (compared with examples/sample):"
changes=$(diff -rq "$here/sample" "$tree" 2>&1 |
    sed -e "s|$here/sample|sample|g" -e "s|$tree|tree|g" -e 's/^/  /')
echo "${changes:-  (none)}"

echo
echo "Diagnostics (stderr of the pipeline):"
if [ -s "$scratch/stderr.log" ]; then
	sed 's/^/  /' "$scratch/stderr.log"
else
	echo "  (none)"
fi
# Act 2: the real claude, codex and gemini against a stand-in model.
top=$(cd "$here/.." && pwd)
stub=$top/tests/providers/stub-provider
act2=$scratch/act2
act2_skip=
command -v python3 >/dev/null || act2_skip="python3 not found"
[ -x "$stub" ] || act2_skip="$stub not found"
for cli in claude codex gemini; do
	command -v "$cli" >/dev/null || act2_skip="${act2_skip:-$cli not on PATH (make demo installs it)}"
done
echo
echo "=== Act 2: the real claude, codex and gemini CLIs, answered by a STAND-IN"
echo "=== model on 127.0.0.1 (tests/providers/stub-provider; no real model)"
if [ -n "$act2_skip" ]; then
	echo "skipped: $act2_skip"
else
	mkdir -p "$act2/home"
	cp -R "$here/sample" "$act2/tree"
	cp -R "$registry" "$act2/reg"
	# Retries off, and a chain claude -> codex -> gemini.
	jq '.capabilities[].max_retries = 0
	    | .capabilities.code_generation.fallback = ["codex", "gemini"]' \
	    "$registry/AIM_cross-tool/AIM_coordination-rules.json" \
	    >"$act2/reg/AIM_cross-tool/AIM_coordination-rules.json"
	echo '{"scenario":"answer"}' >"$act2/scenario.json"
	"$stub" --port-file "$act2/port" --log "$act2/requests.jsonl" \
	    --scenario-file "$act2/scenario.json" 2>"$act2/stub.log" &
	stub_pid=$!
	for _ in $(seq 200); do
		[ -s "$act2/port" ] && break
		sleep 0.1
	done
	(
		export HOME=$act2/home XDG_STATE_HOME=$act2/state \
		    XDG_CONFIG_HOME=$act2/home/.config \
		    XDG_CACHE_HOME=$act2/home/.cache NO_PROXY=127.0.0.1 \
		    no_proxy=127.0.0.1
		url=http://127.0.0.1:$(cat "$act2/port")
		# shellcheck source=/dev/null
		. "$top/tests/integration/cli-env.sh"
		aim_cli_env "$url"
		cd "$act2/tree" || exit 1
		echo "model stand-in: $url (its requests: $act2/requests.jsonl)"
		# act2_run TITLE SCENARIO REQUEST: one request through the pipeline.
		act2_run() {
			echo
			echo "--- $1"
			printf '%s\n' "$2" >"$act2/scenario.json"
			printf '%s\n' "$3" |
			    aim-resolve -r "$act2/reg" 2>>"$act2/stderr.log" |
			    aim-invoke 2>>"$act2/stderr.log" |
			    aim-audit -d "$act2/audit" 2>>"$act2/stderr.log" |
			    tee -a "$act2/results.jsonl" | jq -r '
			    def n: if . == null then "-" else tostring end;
			    ([.attempts[] | "  \(.tool_id) \(.outcome)"
			      + (if .error_class then " [\(.error_class)"
			         + (if .retry_after_ms then ", wait \(.retry_after_ms) ms"
			            else "" end) + "]" else "" end)
			      + (if .duration_ms then " \(.duration_ms) ms" else "" end)
			      + (if .message then ": " + (.message | .[0:150])
			         else "" end)] | join("\n")),
			    (if .result.success then
			      (.result.content as $c
			       | "  served by \(.tool_id): \(.result.message)",
			         "  files: modified \($c.files_modified | join(" ") | if . == "" then "-" else . end)"
			         + ", created \($c.files_created | join(" ") | if . == "" then "-" else . end)"
			         + ", deleted \($c.files_deleted | join(" ") | if . == "" then "-" else . end)",
			         "  tokens: in \($c.usage.input_tokens | n) (cached \($c.usage.cached_input_tokens | n)), out \($c.usage.output_tokens | n); cost_usd \($c.cost_usd | n); model \($c.model | n); session \($c.session_id | n)",
			         "  response: \($c.response | n | .[0:120])")
			     else "  NOT SERVED" end)'
		}
		act2_run "code_generation by claude: add clamp() to src/util.c and src/util.h" \
		    '{"scenario":"steps","steps":[
		      {"scenario":"edit","file":"src/util.c","old":"#include \"util.h\"","new":"#include \"util.h\"\n\nint clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }"},
		      {"scenario":"shell_edit","command":"printf \"int clamp(int v, int lo, int hi);\\n\" >> src/util.h"}],
		      "text":"Added clamp()."}' \
		    '{"id":"act2-claude","capability":"code_generation","tool_id":"claude","payload":{"prompt":"Add int clamp(int v, int lo, int hi) to src/util.c and declare it in src/util.h.","files":["src/util.c","src/util.h"]}}'
		act2_run "refactoring by codex: a new file, an old one removed" \
		    '{"scenario":"steps","steps":[
		      {"scenario":"create","file":"src/sum.c","content":"#include \"util.h\"\n\nint sum_counts(int argc, char **argv)\n{\n\tint i, total = 0;\n\n\tfor (i = 1; i < argc; i++)\n\t\ttotal += parse_count(argv[i]);\n\treturn total;\n}\n"},
		      {"scenario":"delete","file":"scripts/build.sh"}],
		      "text":"Moved the loop into src/sum.c."}' \
		    '{"id":"act2-codex","capability":"refactoring","tool_id":"codex","payload":{"prompt":"Move the summing loop of main() into sum_counts() in src/sum.c.","files":["src/main.c"]}}'
		act2_run "code_generation by gemini: a comment on main()" \
		    '{"scenario":"edit","file":"src/main.c","old":"int main(","new":"/* main: sums the counts given as arguments. */\nint main(","text":"Commented main()."}' \
		    '{"id":"act2-gemini","capability":"code_generation","tool_id":"gemini","payload":{"prompt":"Comment main() in src/main.c.","files":["src/main.c"]}}'
		act2_run "code_generation, scripted HTTP 429 (Retry-After: 7) for claude: the chain falls back to codex" \
		    '{"scenario":"http","status":429,"retry_after":"7","times":2,
		      "then":{"scenario":"create","file":"CHANGES.md","content":"clamp() added\n","text":"Wrote CHANGES.md."}}' \
		    '{"id":"act2-429","capability":"code_generation","payload":{"prompt":"Write CHANGES.md.","files":["src/util.c"]}}'
	)
	kill "$stub_pid" 2>/dev/null
	wait "$stub_pid" 2>/dev/null
	echo
	echo "Act 2 records: $act2/results.jsonl; audit: $act2/audit; tree: $act2/tree"
fi

cat <<EOF

The AI tools (claude, codex, gemini, aider, jules) fail with
"authentication failed" until they are logged in or given a key (claude /login or
ANTHROPIC_API_KEY, codex login or OPENAI_API_KEY, GEMINI_API_KEY, ...);
a key reaches an adapter only when its registry entry names it in passEnv,
or in "secrets" from the encrypted vault (see aim-secret(1)).

Everything is kept in $scratch (remove it when done).
EOF
exit 0
