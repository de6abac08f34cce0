#!/usr/bin/env bash
# The needle model's pattern search on a GPU node, with the Spark runtime that `run.sh stage 1` and
# `stage 2` unpacked there (no Maven): PatternSearchJob --backend cuda on two single-needle
# calibration prompts of LENGTH tokens (write_prompts.py, seed 21), once per target cost.
#
#   bench/needle/search-on-node.sh OUT_DIR LENGTH TARGETS [PatternSearchJob options...]
#   e.g. bench/needle/search-on-node.sh results/search 32768 0.1,0.2 --scored-rows last-block
#
# Writes OUT_DIR/needle-llama.searched-<LENGTH/1024>k-<TARGET>.json and .report.md, and the log.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:?usage: search-on-node.sh OUT_DIR LENGTH TARGETS [options]}"
length="${2:?LENGTH}"
targets="${3:?TARGETS, comma-separated}"
shift 3
rt="${SPARK_RUNTIME:-/tmp/prefill-stage}"
java="$rt/jre/bin/java"
[[ -x "$java" && -f "$rt/app/job-spark.jar" ]] || { echo "no runtime in $rt: run 'run.sh stage 1' and 'stage 2' first" >&2; exit 1; }
mkdir -p "$out"
cal="$out/calibration"
python3 "$repo/bench/needle/write_prompts.py" --out "$cal" --lengths "$length" --count 2 --seed 21 --needles 1-1
IFS=, read -r -a costs <<< "$targets"
for cost in "${costs[@]}"; do
  name="needle-llama.searched-$((length / 1024))k-$cost"
  echo "[search-on-node] $name: target cost $cost on 2 prompts of $length tokens $*"
  "$java" -Xmx16g -cp "$rt/app/job-spark.jar:$rt/jars/*" io.prefill.job.PatternSearchJob \
    --model "$repo/models/needle-llama" --model-name needle-llama --calibration "$cal/needle-$length.jsonl" \
    --target-cost "$cost" --min-sparse-length 512 --backend cuda "$@" \
    --output "$out/$name.json" --report "$out/$name.report.md" 2>&1 | tee "$out/$name.log" | grep -v 'layer .* scored' || true
done
