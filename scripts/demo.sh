#!/usr/bin/env bash
# The README's first command: builds the project, generates a tiny model and a corpus of long
# documents, runs the pre-fill job in Spark local mode on the CPU backend, writes Parquet and
# prints a summary. Output goes to ./demo-output (or the folder given as the first argument).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-demo-output}"
echo "[demo] building (mvn install -DskipTests) ..."
mvn -B -q -DskipTests install
mvn -B -q -f job/pom.xml exec:exec@demo -Ddemo.dir="$(realpath -m "$dir")"
