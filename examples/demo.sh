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
cat <<EOF

The AI tools (claude, codex, gemini, aider, jules) fail with
"authentication failed" until they are logged in or given a key (claude /login or
ANTHROPIC_API_KEY, codex login or OPENAI_API_KEY, GEMINI_API_KEY, ...);
a key reaches an adapter only when its registry entry names it in passEnv,
or in "secrets" from the encrypted vault (see aim-secret(1)).

Everything is kept in $scratch (remove it when done).
EOF
exit 0
