#!/usr/bin/env bash
# Offline pattern search (io.prefill.job.PatternSearchJob) on this machine's CPU, or on its GPU with
# --backend cuda [--device N]: dense pre-fill of the calibration documents, every layer and head
# searched at the target cost, config + report.
#
#   scripts/pattern-search.sh --demo       # the demo model; writes demo-output/pattern-search/demo-model.json
#   scripts/pattern-search.sh --model DIR --calibration DOCS.jsonl --target-cost 0.1 --output CONFIG.json \
#       [--report REPORT.md] [--min-sparse-length 8192] [--max-tokens N] [--pinned CONFIG] [--model-name NAME] \
#       [--backend cpu|cuda] [--device N] [--scored-rows all|last-block] [--families a_shape,block_sparse,vertical_slash,adaptive]
#
# On a cluster the same main class runs on the driver:
#   spark-submit --class io.prefill.job.PatternSearchJob job/target/job-<version>-spark.jar --model ...
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f job/target/classes/io/prefill/job/PatternSearchJob.class ]; then
  echo "[pattern-search] building (mvn -pl job -am package -DskipTests) ..."
  mvn -B -q -pl job -am -DskipTests package
fi
classpath_file=job/target/pattern-search.classpath
if [ ! -s "$classpath_file" ] || [ job/pom.xml -nt "$classpath_file" ]; then
  mvn -B -q -f job/pom.xml dependency:build-classpath -Dmdep.includeScope=compile \
      -Dmdep.outputFile=target/pattern-search.classpath
fi
# This checkout's classes first, ahead of whatever gpu-udf snapshot the local Maven repository holds.
cp="gpu-udf/target/classes:job/target/classes:$(cat "$classpath_file")"
run() { java -Xmx6g -Dlog4j2.configurationFile=job/src/main/resources/demo-log4j2.properties -cp "$cp" "$@"; }

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  echo "scripts/pattern-search.sh --demo [options]   the demo model and two demo documents, options as below"
  echo "scripts/pattern-search.sh [options]          PatternSearchJob on this machine"
  echo
  run io.prefill.job.PatternSearchJob --help
  exit 0
fi
if [ "${1:-}" = "--demo" ]; then
  shift
  dir=demo-output/pattern-search
  # Two demo-corpus documents (4K and 6K tokens) of another seed than the demo job's corpus.
  run io.prefill.job.DemoSearchInputs "$dir" 4096 6144
  set -- --model "$dir/model" --model-name demo-model --calibration "$dir/calibration.jsonl" \
         --min-sparse-length 1024 --target-cost 0.1 --output "$dir/demo-model.json" "$@"
fi
run io.prefill.job.PatternSearchJob "$@"
