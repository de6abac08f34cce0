#!/usr/bin/env bash
# Rehearses the two node steps of `run.sh spark-job` on this machine, as the node runs them: each step
# gets a fresh copy of the repository's files (tracked and untracked-not-ignored, as they are sent)
# with one part of .bundle-spark, the runtime is staged outside both copies, and the job runs from the
# packed runtime (its JRE, its jars, the packed job jar), never from Maven's class path. Without a GPU
# spark-job.sh rehearses on the cpu backend with a stand-in nvidia-smi.
# Usage: scripts/gpu-bundle/rehearse-spark-job.sh [SCRATCH]   (after pack-spark.sh; default SCRATCH
# /tmp/prefill-rehearsal). The results land in SCRATCH/out (RESULTS of step 2).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
scratch="${1:-/tmp/prefill-rehearsal}"
[[ -f "$repo/.bundle-spark/part1/MANIFEST" ]] || { echo "no .bundle-spark: run scripts/gpu-bundle/pack-spark.sh first"; exit 1; }
rm -rf "$scratch"
mkdir -p "$scratch/out"
export SPARK_RUNTIME="${SPARK_RUNTIME:-$scratch/stage}" SPARK_JOB_WORK="${SPARK_JOB_WORK:-$scratch/work}"
copy() {  # $1 = folder, $2 = part sent
  mkdir -p "$1/.bundle-spark"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$1" 2>/dev/null)
  cp -r "$repo/.bundle-spark/$2" "$1/.bundle-spark/"
}
copy "$scratch/step1" part1
echo "== step 1: scripts/gpu-bundle/run.sh stage 1"
(cd "$scratch/step1" && time scripts/gpu-bundle/run.sh stage 1) || exit 1
rm -rf "$scratch/step1"
copy "$scratch/step2" part2
echo "== step 2: RESULTS=$scratch/out scripts/gpu-bundle/run.sh stage 2 spark-job"
(cd "$scratch/step2" && time RESULTS="$scratch/out" scripts/gpu-bundle/run.sh stage 2 spark-job)
rc=$?
echo "== results in $scratch/out:"; ls -l "$scratch/out"
exit $rc
