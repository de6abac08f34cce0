#!/usr/bin/env bash
# The README's first command: builds the project and runs the pre-fill job in Spark local mode on
# the CPU backend with the trained needle model (models/needle-llama) over its demo corpus, writes
# Parquet, prints whether each first token is the planted answer, and writes a report. Output goes
# to ./demo-output (or the folder given as the last argument).
#
#   scripts/demo.sh [--backend cuda] [DIR]   cuda: 12K-16K-token documents on this machine's GPU
#
# The build's own output (Maven, nvcc) goes to target/demo-build.log and is shown only if the
# build fails; meanwhile a progress line says how long it has been running.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=cpu
if [[ "${1:-}" == --backend ]]; then backend="${2:?--backend needs cpu or cuda}"; shift 2; fi
case "$backend" in cpu|cuda) ;; *) echo "[demo] --backend: expected cpu or cuda, got '$backend'" >&2; exit 2;; esac
dir="${1:-demo-output}"
mkdir -p target
build_log=target/demo-build.log
# Some Maven builds print ANSI colour resets even in batch mode; the demo's output is plain text.
plain() { sed -u 's/\x1b\[[0-9;]*m//g'; }

mvn -B -q -DskipTests install > "$build_log" 2>&1 &
build=$!
started=$SECONDS
if [[ -t 1 ]]; then
  while kill -0 "$build" 2>/dev/null; do
    printf '\r[demo] building (mvn install -DskipTests, about 2 minutes the first time) ... %d s' $((SECONDS - started))
    sleep 1
  done
  printf '\r\033[K'
else
  echo "[demo] building (mvn install -DskipTests, about 2 minutes the first time) ..."
  while kill -0 "$build" 2>/dev/null; do
    sleep 1
    if (( (SECONDS - started) % 30 == 0 )); then echo "[demo] still building ... $((SECONDS - started)) s"; fi
  done
fi
if ! wait "$build"; then
  echo "[demo] the build failed after $((SECONDS - started)) s; its output ($build_log):" >&2
  plain < "$build_log" >&2
  exit 1
fi
echo "[demo] built in $((SECONDS - started)) s (build output: $build_log)"
mvn -B -q -f job/pom.xml exec:exec@demo -Ddemo.dir="$(realpath -m "$dir")" -Ddemo.backend="$backend" | plain
