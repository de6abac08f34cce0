#!/usr/bin/env bash
# Runs the GPU test bundle on a GPU node (no Java needed there). From the bundle directory:
#   ./run.sh [tests] [sanitize] [bench [SIZES]] [torch]
#     tests     JUnit console launcher, tests tagged "gpu" in io.prefill (default when no argument)
#     sanitize  the GPU tests again under compute-sanitizer memcheck and racecheck (small cases)
#     bench     io.prefill.cuda.AttentionBenchmark (sizes default 32768,131072,524288)
#     torch     torch SDPA timings (same sizes) and the dense cross-check against torch
#     gemm      io.prefill.cuda.GemmBenchmark, bench/torch_gemm_bench.py at the same shapes, and
#               GemmGpuTest under compute-sanitizer memcheck
# Results and logs go to $RESULTS (default ./results); a short summary is printed last.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
results="${RESULTS:-$here/results}"
mkdir -p "$results"
[[ -x "$here/jre/bin/java" ]] || tar -C "$here" -xJf "$here/jre.tar.xz"
java="$here/jre/bin/java"
cp_main="$here/classes:$here/lib/jcuda-12.6.0.jar:$here/lib/jcuda-natives-12.6.0-linux-x86_64.jar"
cp_test="$here/test-classes:$cp_main"
launcher="$here/lib/junit-platform-console-standalone.jar"
args=("$@"); [[ ${#args[@]} -eq 0 ]] && args=(tests)
sizes="32768,131072,524288"
summary=()

run_tests() {  # $1 = label, rest = prefix command (e.g. compute-sanitizer ...)
  local label="$1"; shift
  "$@" "$java" -Xmx24g ${JAVA_PROPS:-} -jar "$launcher" execute --class-path "$cp_test" --select-package io.prefill \
     --include-tag gpu --details=summary --disable-banner --reports-dir "$results/junit-$label" \
     ${TEST_FILTER:+--include-classname "$TEST_FILTER"} > "$results/tests-$label.log" 2>&1
  local rc=$?
  summary+=("tests[$label]: exit $rc; $(grep -E 'tests (successful|failed|skipped|aborted)' "$results/tests-$label.log" | tr -s ' ' | paste -sd ',')")
  grep -E "MethodSource|=>|Error|Exception|=========" "$results/tests-$label.log" | head -40
  return 0
}

for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    tests) run_tests plain ;;
    sanitize)
      # one cuMemAlloc per buffer so memcheck sees overruns past each buffer; time-boxed
      for tool in memcheck racecheck; do
        JAVA_PROPS=-Dprefill.cuda.separateAllocations=true \
        TEST_FILTER='.*(Dense|Plan|VerticalSlash|BlockSparse).*' run_tests "$tool" \
          timeout "${SANITIZER_TIMEOUT:-300}" \
          compute-sanitizer --tool "$tool" --target-processes all --print-limit 20 --error-exitcode 86
        summary+=("compute-sanitizer $tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$results/tests-$tool.log" | sort | uniq -c | paste -sd ';')")
      done ;;
    bench)
      if [[ $((i + 1)) -lt ${#args[@]} && "${args[$((i + 1))]}" =~ ^[0-9,]+$ ]]; then sizes="${args[$((i + 1))]}"; i=$((i + 1)); fi
      "$java" -Xmx8g -cp "$cp_test" io.prefill.cuda.AttentionBenchmark --sizes "$sizes" --out "$results/bench.tsv" 2>&1 | tee "$results/bench.log"
      summary+=("bench: exit ${PIPESTATUS[0]}") ;;
    torch)
      "$java" -cp "$cp_test" io.prefill.cuda.AttentionBenchmark --dump "$results/dense-dump" > "$results/dump.log" 2>&1
      python3 "$here/bench/check_dense_vs_torch.py" "$results/dense-dump" 2>&1 | tee "$results/torch-check.log"
      summary+=("dense vs torch SDPA: exit ${PIPESTATUS[0]}")
      rm -rf "$results/dense-dump"
      PYTHONUNBUFFERED=1 python3 "$here/bench/torch_attention_bench.py" "$sizes" "$results/torch_bench.tsv" 2>&1 | tee "$results/torch-bench.log"
      summary+=("torch bench: exit ${PIPESTATUS[0]}") ;;
    gemm)
      "$java" -Xmx8g -cp "$cp_test" io.prefill.cuda.GemmBenchmark --out "$results/gemm.tsv" 2>&1 | tee "$results/gemm.log"
      summary+=("gemm bench: exit ${PIPESTATUS[0]}")
      PYTHONUNBUFFERED=1 python3 "$here/bench/torch_gemm_bench.py" "$results/torch_gemm.tsv" 2>&1 | tee "$results/torch-gemm.log"
      summary+=("torch gemm bench: exit ${PIPESTATUS[0]}")
      JAVA_PROPS=-Dprefill.cuda.separateAllocations=true TEST_FILTER='.*GemmGpuTest' run_tests gemm-memcheck \
        timeout "${SANITIZER_TIMEOUT:-300}" \
        compute-sanitizer --tool memcheck --target-processes all --print-limit 20 --error-exitcode 86
      summary+=("compute-sanitizer memcheck (gemm): $(grep -E 'ERROR SUMMARY' "$results/tests-gemm-memcheck.log" | sort | uniq -c | paste -sd ';')") ;;
    *) echo "unknown step ${args[$i]}"; exit 2 ;;
  esac
done
echo "==== summary ($(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1))"
printf '%s\n' "${summary[@]}"
