#!/bin/sh
# slurm-array.sh: the request stream split beforehand into shards
# (split -l 100 -d -a 3 requests.jsonl requests/shard-), one array task
# each (README.md).  Submit with: sbatch --array=0-N slurm-array.sh.
# Each task keeps its own audit chain under OUT; verify and stats run over
# all of them once the array is done:
#   sbatch --dependency=afterany:JOBID --wrap 'aim-audit verify -d ... '
#SBATCH --job-name=aim-fleet
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --time=01:00:00
#SBATCH --output=fleet-out/slurm-%A_%a.log
set -eu
i=${SLURM_ARRAY_TASK_ID:?run as a Slurm array task}
export OUT="${OUT:-fleet-out}"
shard=$(printf 'requests/shard-%03d' "$i")
exec "$(dirname "$0")/shard.sh" "$i" "${AIM_REGISTRY_PATH:-}" <"$shard"
