#!/bin/sh
# shard.sh: one shard of a request stream (README.md).  Reads requests
# (JSON Lines) on stdin; routes, runs and audits them into OUT/audit-N, its
# own chain; writes the results to OUT/results-N.jsonl.  N is the shard's
# number ({#} of GNU parallel, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX).
# A retried shard starts its results afresh; its audit directory keeps the
# entries of every try, each chained after the last.
set -eu
n=${1:?usage: shard.sh N [registry]}
out=${OUT:-fleet-out}
mkdir -p "$out"
set -- ${2:+-r "$2"}
# aim-invoke exits 1 when a request failed everywhere: the shard is done
# all the same (the failure is in its results); 2 and above are not.
rc=0
aim-resolve "$@" | aim-invoke "$@" | aim-audit -d "$out/audit-$n" "$@" \
    >"$out/results-$n.jsonl" || rc=$?
[ "$rc" -le 1 ]
