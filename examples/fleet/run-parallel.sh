#!/bin/sh
# run-parallel.sh: shard a request stream over local processes with GNU
# parallel, then verify every shard's audit chain and sum them up
# (README.md).  Usage: run-parallel.sh [-j jobs] [-n per-shard] [-r registry]
# < requests.jsonl.  Writes OUT (default fleet-out): results-N.jsonl,
# audit-N/, joblog, stats.json.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
jobs=4 per=100 reg=
while getopts j:n:r: o; do
	case $o in
	j) jobs=$OPTARG ;;
	n) per=$OPTARG ;;
	r) reg=$OPTARG ;;
	*) echo "usage: run-parallel.sh [-j jobs] [-n per-shard] [-r registry]" >&2; exit 2 ;;
	esac
done
out=${OUT:-fleet-out}
export OUT="$out"
mkdir -p "$out"
# --pipe -N: whole lines, per requests a shard; --retries: a shard that
# fails (exit 2 and above) runs again; --joblog: what ran, how it ended.
parallel --pipe -N "$per" -j "$jobs" --retries 2 --joblog "$out/joblog" \
    --halt never "$here/shard.sh" '{#}' "$reg"
# Each chain on its own, then every shard's entries together.
set --
for d in "$out"/audit-*; do set -- "$@" -d "$d"; done
aim-audit verify "$@" >"$out/verify.jsonl"
aim-audit stats "$@" >"$out/stats.json"
