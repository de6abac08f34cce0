#!/usr/bin/env bash
# Rehearses the two node calls of `run.sh spark-job` on this machine, as the node runs them: each call
# gets a fresh copy of the repository's files (tracked and untracked-not-ignored, as a call carries them)
# with one part of .bundle-spark, the runtime is staged outside both copies, and the job runs from the
# packed runtime (its JRE, its jars, the packed job jar), never from Maven's class path. Without a GPU
# spark-job.sh rehearses on the cpu backend with a stand-in nvidia-smi.
# Usage: scripts/gpu-bundle/rehearse-spark-job.sh [SCRATCH]   (after pack-spark.sh; default SCRATCH
# /tmp/prefill-rehearsal). The results land in SCRATCH/out, as they would in the second call's $OUT.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
scratch="${1:-/tmp/prefill-rehearsal}"
[[ -f "$repo/.bundle-spark/part1/MANIFEST" ]] || { echo "no .bundle-spark: run scripts/gpu-bundle/pack-spark.sh first"; exit 1; }
rm -rf "$scratch"
mkdir -p "$scratch/out"
export SPARK_RUNTIME="${SPARK_RUNTIME:-$scratch/stage}" SPARK_JOB_WORK="${SPARK_JOB_WORK:-$scratch/work}"
copy() {  # $1 = folder, $2 = part carried
  mkdir -p "$1/.bundle-spark"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$1" 2>/dev/null)
  cp -r "$repo/.bundle-spark/$2" "$1/.bundle-spark/"
}
copy "$scratch/call1" part1
echo "== call 1: scripts/gpu-bundle/run.sh stage 1"
(cd "$scratch/call1" && time scripts/gpu-bundle/run.sh stage 1) || exit 1
rm -rf "$scratch/call1"
copy "$scratch/call2" part2
echo "== call 2: RESULTS=\$OUT scripts/gpu-bundle/run.sh stage 2 spark-job"
(cd "$scratch/call2" && time RESULTS="$scratch/out" scripts/gpu-bundle/run.sh stage 2 spark-job)
rc=$?
echo "== results in $scratch/out:"; ls -l "$scratch/out"
exit $rc
