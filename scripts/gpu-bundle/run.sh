#!/usr/bin/env bash
# Runs the GPU test bundle on a GPU node (no Java needed there). From the bundle directory:
#   ./run.sh [tests] [sanitize] [bench [SIZES]] [torch] [hf] [model-bench [SIZES]] [gemm] [search-bench [SIZES]]
#            [estimate-cost [SIZES]] [kernel-profile [SIZE]]
#            [semantics PEER_DIR] [minference-speed PEER_DIR [SIZES]] [minference-model PEER_DIR [SIZES]]
#     tests        JUnit console launcher, tests tagged "gpu" in io.prefill (default when no argument)
#     sanitize     the GPU tests again under compute-sanitizer memcheck and racecheck (small cases;
#                  $SANITIZE_FILTER narrows the test classes, $SANITIZER_TIMEOUT bounds each tool,
#                  $SANITIZE_TOOLS picks the tools, e.g. racecheck)
#     bench        io.prefill.cuda.AttentionBenchmark (sizes default 32768,131072,524288; $BENCH_ARGS are
#                  passed on, e.g. --no-dense --no-estimated --plan-variants PLAN_MMA,PLAN_WGMMA)
#     torch        torch SDPA timings (same sizes) and the dense cross-check against torch
#     hf           bench/hf_fixtures.py (tiny Llama/Qwen2/Phi-3/GLM checkpoints and transformers' logits, needs
#                  transformers) into $RESULTS/hf-fixtures, then HuggingFaceParityGpuTest on them
#     model-bench  whole-model pre-fill: io.prefill.cuda.forward.PrefillBenchmark (--sizes SIZES when
#                  given), io.prefill.cuda.GemmBenchmark, bench/torch_gemm_bench.py, then
#                  bench/hf_prefill_bench.py (transformers on a random Llama-3-8B at $HF_SIZES, default
#                  32768,131072 and a try at 262144: it needs minutes and memory beyond that); a
#                  missing class or script is skipped. $MODEL_BENCH_PROPS go to PrefillBenchmark's JVM
#                  (e.g. -Dprefill.cuda.traceGaps=true: where the device waited, per pre-fill)
#     gemm         io.prefill.cuda.GemmBenchmark, bench/torch_gemm_bench.py at the same shapes, and
#                  GemmGpuTest under compute-sanitizer memcheck
#     search-bench io.prefill.cuda.search.SearchBenchmark: the pattern search of a Llama-3-8B-shaped
#                  model on one document per size (default 65536), reports into $RESULTS/search
#     semantics    bench/minference_semantics.py: MInference's own index builders (PEER_DIR = a copy of
#                  the parts of its source the script names; its CUDA op is built with torch's extension
#                  builder) against our CPU planner (PlanDump) on the same Q/K, into $RESULTS/semantics;
#                  $SEMANTICS_ARGS are passed on (e.g. --quick)
#     minference-speed PEER_DIR [SIZES]  bench/minference_speed.py: MInference's vertical-slash (its estimate,
#                  index and Triton attention), block-sparse and torch SDPA on one Llama-3-8B-shaped layer,
#                  then io.prefill.cuda.AttentionBenchmark on the same sizes (default 32768,131072)
#     minference-model PEER_DIR [SIZES]  bench/minference_model_bench.py: MInference's whole-model pre-fill
#                  (transformers' Llama with its per-head kernels, its Llama-3-8B config) and transformers
#                  dense on a synthetic Llama-3-8B, then PrefillBenchmark (ours, same config) at the same
#                  sizes (default 32768,131072)
#     estimate-cost [SIZES]  the estimate and plan kernels of PrefillBenchmark (Llama-3-8B shape, sizes
#                  default 131072,524288) with MInference's config and with every head adaptive
#                  (bench/llama3-8b-adaptive.json): each run once as is (stage times), once under ncu
#                  (each kernel's GPU time), then bench/kernel_times.py: per size, each kernel summed over
#                  the layers and the estimate + plan total against the attention stage
#     kernel-profile [SIZE]  Nsight Compute (--set full) on one launch of each warp-specialised attention
#                  kernel at SIZE (default 131072): dense (DENSE_WS, DENSE_WS_TMA) and the vertical-slash
#                  realistic plan's pair kernel (PAIR_PLAN_WS, PAIR_PLAN_WS_TMA), or the kernels named in
#                  $PROFILE_KERNELS; per kernel the report, its details and SASS pages as CSV into
#                  $RESULTS/profile, then bench/profile_summary.py: headline metrics, the share of stall
#                  samples on the mbarrier waits, the most-sampled instructions
#     stage N      (from the repository, not the bundle) unpacks part N of the Spark runtime packed by
#                  pack-spark.sh (.bundle-spark/partN, sent with the repository) into $SPARK_RUNTIME
#                  (default /tmp/prefill-stage); part 1 waits there until part 2 arrives, then both
#                  are checked against the manifest and unpacked; a runtime already unpacked is kept
#     spark-job    (from the repository, after both stages) the job itself on this node:
#                  spark-job.sh (standalone cluster with GPU scheduling, cuda against cpu, an
#                  8B-shaped checkpoint, faults), results into $RESULTS (default results/spark-job)
# Results and logs go to $RESULTS (default ./results); a short summary is printed last.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Run from the repository (scripts/gpu-bundle/run.sh) for the Spark steps, or from a bundle made by pack.sh.
repo_root=""
[[ -f "$here/spark-job.sh" && -d "$here/../../scripts" ]] && repo_root="$(cd "$here/../.." && pwd)"
spark_rt="${SPARK_RUNTIME:-/tmp/prefill-stage}"
if [[ -n "$repo_root" ]]; then results="${RESULTS:-$repo_root/results/spark-job}"; else results="${RESULTS:-$here/results}"; fi
mkdir -p "$results"
[[ -f "$here/jre.tar.xz" && ! -x "$here/jre/bin/java" ]] && tar -C "$here" -xJf "$here/jre.tar.xz"
java="$here/jre/bin/java"
cp_main="$here/classes:$here/lib/jcuda-12.6.0.jar:$here/lib/jcuda-natives-12.6.0-linux-x86_64.jar"
for jar in "$here"/lib/jackson-*.jar; do [[ -f "$jar" ]] && cp_main+=":$jar"; done  # model loader (config.json)
for jar in "$here"/lib/tokenizer/*.jar; do [[ -f "$jar" ]] && cp_main+=":$jar"; done  # DJL tokenizer (engine tests)
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

has_class() {  # $1 = fully qualified class name, in the bundle's classes or test classes
  local f="${1//.//}.class"
  [[ -f "$here/classes/$f" || -f "$here/test-classes/$f" ]]
}

next_sizes() {  # the step's optional SIZES argument: prints it and returns 0 when args[i+1] is one
  if [[ $((i + 1)) -lt ${#args[@]} && "${args[$((i + 1))]}" =~ ^[0-9,]+$ ]]; then echo "${args[$((i + 1))]}"; return 0; fi
  return 1
}

stage_part() {  # $1 = part number: keep it in $spark_rt/.staging; with both parts there, unpack them
  local n="$1" src="${SPARK_PARTS:-$repo_root/.bundle-spark}/part$1" staging="$spark_rt/.staging"
  if [[ ! -f "$src/MANIFEST" ]]; then
    echo "[stage] $src/MANIFEST not found: pack with scripts/gpu-bundle/pack-spark.sh and send .bundle-spark/part$n with the repository"
    return 1
  fi
  mkdir -p "$staging"
  if [[ -f "$staging/MANIFEST" ]] && ! cmp -s "$staging/MANIFEST" "$src/MANIFEST"; then
    echo "[stage] the parts staged before belong to another pack: starting over"
    rm -rf "$staging"; mkdir -p "$staging"
  fi
  cp "$src"/* "$staging/"
  local runtime_sha app_sha
  runtime_sha="$(sed -n 's/^runtime_sha256=//p' "$staging/MANIFEST")"
  app_sha="$(sed -n 's/^app_sha256=//p' "$staging/MANIFEST")"
  if [[ ! -f "$staging/runtime.tar.xz.1" || ! -f "$staging/runtime.tar.xz.2" ]]; then
    echo "[stage] part $n kept in $staging; the runtime is unpacked when the other part arrives"
    [[ "$n" == 2 ]] && echo "[stage] part 1 is missing: this machine was started afresh since stage 1 (stage 1 and 2 must run on the same node, one after the other)"
    [[ "$n" == 2 ]] && return 1
    return 0
  fi
  if [[ "$(cat "$spark_rt/.runtime-sha256" 2>/dev/null)" != "$runtime_sha" ]]; then
    local got
    got="$(cat "$staging/runtime.tar.xz.1" "$staging/runtime.tar.xz.2" | sha256sum | cut -d' ' -f1)"
    [[ "$got" == "$runtime_sha" ]] || { echo "[stage] the joined runtime does not match its manifest ($got)"; return 1; }
    rm -rf "$spark_rt/jre" "$spark_rt/jars"
    cat "$staging/runtime.tar.xz.1" "$staging/runtime.tar.xz.2" | xz -dc -T0 | tar -x -C "$spark_rt" --strip-components=1
    echo "$runtime_sha" > "$spark_rt/.runtime-sha256"
    echo "[stage] runtime unpacked into $spark_rt: $(cat "$spark_rt/RELEASE"), $(ls "$spark_rt/jars" | wc -l) jars"
  else
    echo "[stage] runtime already in $spark_rt"
  fi
  if [[ "$(cat "$spark_rt/.app-sha256" 2>/dev/null)" != "$app_sha" ]]; then
    [[ "$(sha256sum "$staging/app.tar.xz" | cut -d' ' -f1)" == "$app_sha" ]] || { echo "[stage] app.tar.xz does not match its manifest"; return 1; }
    rm -rf "$spark_rt/app"
    xz -dc "$staging/app.tar.xz" | tar -x -C "$spark_rt" --strip-components=1
    echo "$app_sha" > "$spark_rt/.app-sha256"
  fi
  echo "[stage] job jar of commit $(cat "$spark_rt/app/COMMIT"); $("$spark_rt/jre/bin/java" -version 2>&1 | head -1)"
}

for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    stage)
      [[ -n "$repo_root" ]] || { echo "stage runs from the repository: scripts/gpu-bundle/run.sh stage N"; exit 2; }
      n="${args[$((i + 1))]:-}"; i=$((i + 1))
      [[ "$n" == 1 || "$n" == 2 ]] || { echo "stage needs 1 or 2"; exit 2; }
      stage_part "$n" 2>&1 | tee -a "$results/stage.log"
      rc=${PIPESTATUS[0]}
      summary+=("stage $n: exit $rc")
      [[ $rc == 0 ]] || { printf '%s\n' "${summary[@]}"; exit 1; } ;;
    spark-job)
      [[ -n "$repo_root" ]] || { echo "spark-job runs from the repository: scripts/gpu-bundle/run.sh spark-job"; exit 2; }
      SPARK_RUNTIME="$spark_rt" RESULTS="$results" bash "$here/spark-job.sh"
      rc=$?
      if [[ -f "$results/checks.tsv" ]]; then
        fails="$(grep -c 'FAIL' "$results/checks.tsv")"
        summary+=("spark-job: exit $rc; $fails failed checks; see $results/summary.tsv and checks.tsv")
      else
        summary+=("spark-job: exit $rc; NO checks.tsv (the check itself failed: logs/check.log in logs.tar.gz)")
      fi ;;
    tests) run_tests plain ;;
    sanitize)
      # one cuMemAlloc per buffer so memcheck sees overruns past each buffer; time-boxed
      for tool in ${SANITIZE_TOOLS:-memcheck racecheck}; do
        JAVA_PROPS=-Dprefill.cuda.separateAllocations=true \
        TEST_FILTER="${SANITIZE_FILTER:-.*(Dense|Plan|VerticalSlash|BlockSparse|LayerAttention|SnapKv|KernelError).*}" run_tests "$tool" \
          timeout "${SANITIZER_TIMEOUT:-300}" \
          compute-sanitizer --tool "$tool" --target-processes all --print-limit 20 --error-exitcode 86
        summary+=("compute-sanitizer $tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$results/tests-$tool.log" | sort | uniq -c | paste -sd ';')")
      done ;;
    bench)
      if [[ $((i + 1)) -lt ${#args[@]} && "${args[$((i + 1))]}" =~ ^[0-9,]+$ ]]; then sizes="${args[$((i + 1))]}"; i=$((i + 1)); fi
      "$java" -Xmx8g -cp "$cp_test" io.prefill.cuda.AttentionBenchmark --sizes "$sizes" ${BENCH_ARGS:-} --out "$results/bench.tsv" 2>&1 | tee "$results/bench.log"
      summary+=("bench: exit ${PIPESTATUS[0]}") ;;
    torch)
      "$java" -cp "$cp_test" io.prefill.cuda.AttentionBenchmark --dump "$results/dense-dump" > "$results/dump.log" 2>&1
      python3 "$here/bench/check_dense_vs_torch.py" "$results/dense-dump" 2>&1 | tee "$results/torch-check.log"
      summary+=("dense vs torch SDPA: exit ${PIPESTATUS[0]}")
      rm -rf "$results/dense-dump"
      PYTHONUNBUFFERED=1 python3 "$here/bench/torch_attention_bench.py" "$sizes" "$results/torch_bench.tsv" 2>&1 | tee "$results/torch-bench.log"
      summary+=("torch bench: exit ${PIPESTATUS[0]}") ;;
    hf)
      fixtures="$results/hf-fixtures"
      rm -rf "$fixtures"
      PYTHONUNBUFFERED=1 python3 "$here/bench/hf_fixtures.py" "$fixtures" 2>&1 | tee "$results/hf-fixtures.log"
      summary+=("hf fixtures: exit ${PIPESTATUS[0]}")
      if [[ -f "$fixtures/manifest.json" ]]; then
        JAVA_PROPS="-Dprefill.hf.fixtures=$fixtures" TEST_FILTER='.*HuggingFaceParityGpuTest' run_tests hf
        grep -F '[hf-parity]' "$results/tests-hf.log"
        summary+=("hf parity: $(grep -F '[hf-parity]' "$results/tests-hf.log" | grep -c '  ok') cases ok, $(grep -F '[hf-parity]' "$results/tests-hf.log" | grep -c '  FAIL') failed")
      else
        summary+=("hf parity: not run (no fixtures, see hf-fixtures.log)")
      fi ;;
    model-bench)
      msizes=""
      if msizes="$(next_sizes)"; then i=$((i + 1)); else msizes=""; fi
      if has_class io.prefill.cuda.forward.PrefillBenchmark; then
        patterns=(); [[ -f "$here/bench/llama3-8b-262k-patterns.json" ]] && patterns=(--patterns "$here/bench/llama3-8b-262k-patterns.json")
        "$java" -Xmx24g ${MODEL_BENCH_PROPS:-} -cp "$cp_test" io.prefill.cuda.forward.PrefillBenchmark ${msizes:+--sizes "$msizes"} "${patterns[@]}" \
          --out "$results/prefill.tsv" 2>&1 | tee "$results/prefill.log"
        summary+=("prefill bench: exit ${PIPESTATUS[0]}")
      else
        echo "[run] io.prefill.cuda.forward.PrefillBenchmark is not in this bundle: skipped"
        summary+=("prefill bench: skipped (class not in this bundle)")
      fi
      if has_class io.prefill.cuda.GemmBenchmark; then
        "$java" -Xmx8g -cp "$cp_test" io.prefill.cuda.GemmBenchmark --out "$results/gemm.tsv" 2>&1 | tee "$results/gemm.log"
        summary+=("gemm bench: exit ${PIPESTATUS[0]}")
      else
        echo "[run] io.prefill.cuda.GemmBenchmark is not in this bundle: skipped"
        summary+=("gemm bench: skipped (class not in this bundle)")
      fi
      if [[ -f "$here/bench/torch_gemm_bench.py" ]]; then
        PYTHONUNBUFFERED=1 python3 "$here/bench/torch_gemm_bench.py" "$results/torch_gemm.tsv" 2>&1 | tee "$results/torch-gemm.log"
        summary+=("torch gemm bench: exit ${PIPESTATUS[0]}")
      else
        echo "[run] bench/torch_gemm_bench.py is not in this bundle: skipped"
        summary+=("torch gemm bench: skipped (script not in this bundle)")
      fi
      PYTHONUNBUFFERED=1 python3 "$here/bench/hf_prefill_bench.py" "$results/hf_prefill.tsv" ${HF_SIZES:-} 2>&1 \
        | tee "$results/hf-prefill.log"
      summary+=("hf prefill bench: exit ${PIPESTATUS[0]}; $(tail -n +2 "$results/hf_prefill.tsv" 2>/dev/null | cut -f2-4 | tr '\t' ' ' | paste -sd ',')") ;;
    search-bench)
      ssizes="65536"
      if next_sizes > /dev/null; then ssizes="$(next_sizes)"; i=$((i + 1)); fi
      "$java" -Xmx24g -cp "$cp_test" io.prefill.cuda.search.SearchBenchmark --sizes "$ssizes" \
        --out "$results/search.tsv" --report "$results/search" 2>&1 | tee "$results/search.log"
      summary+=("search bench: exit ${PIPESTATUS[0]}; $(tail -n +2 "$results/search.tsv" 2>/dev/null | cut -f1-4 | tr '\t' ' ' | paste -sd ',')") ;;
    gemm)
      "$java" -Xmx8g -cp "$cp_test" io.prefill.cuda.GemmBenchmark --out "$results/gemm.tsv" 2>&1 | tee "$results/gemm.log"
      summary+=("gemm bench: exit ${PIPESTATUS[0]}")
      PYTHONUNBUFFERED=1 python3 "$here/bench/torch_gemm_bench.py" "$results/torch_gemm.tsv" 2>&1 | tee "$results/torch-gemm.log"
      summary+=("torch gemm bench: exit ${PIPESTATUS[0]}")
      JAVA_PROPS=-Dprefill.cuda.separateAllocations=true TEST_FILTER='.*GemmGpuTest' run_tests gemm-memcheck \
        timeout "${SANITIZER_TIMEOUT:-300}" \
        compute-sanitizer --tool memcheck --target-processes all --print-limit 20 --error-exitcode 86
      summary+=("compute-sanitizer memcheck (gemm): $(grep -E 'ERROR SUMMARY' "$results/tests-gemm-memcheck.log" | sort | uniq -c | paste -sd ';')") ;;
    semantics)
      if [[ $((i + 1)) -ge ${#args[@]} || ! -d "${args[$((i + 1))]}" ]]; then
        echo "semantics needs PEER_DIR, a folder with MInference's source"; exit 2
      fi
      peer="$(cd "${args[$((i + 1))]}" && pwd)"; i=$((i + 1))
      PYTHONUNBUFFERED=1 python3 "$here/bench/minference_semantics.py" "$peer" "$results/semantics" \
        --cp "$cp_test" --java "$java" ${SEMANTICS_ARGS:-} 2>&1 | tail -n 400 > "$results/semantics.log"
      rc=${PIPESTATUS[0]}
      grep -vE '^\[semantics\] c[0-9]+_' "$results/semantics.log" | tail -20
      summary+=("semantics vs MInference: exit $rc; $(tail -1 "$results/semantics.log")")
      rm -rf "$results/semantics/cases" "$results/semantics/build" ;;
    minference-model)
      if [[ $((i + 1)) -ge ${#args[@]} || ! -d "${args[$((i + 1))]}" ]]; then
        echo "minference-model needs PEER_DIR, a folder with MInference's source"; exit 2
      fi
      peer="$(cd "${args[$((i + 1))]}" && pwd)"; i=$((i + 1))
      msizes="32768,131072"
      if next_sizes > /dev/null; then msizes="$(next_sizes)"; i=$((i + 1)); fi
      patterns=(); [[ -f "$here/bench/llama3-8b-262k-patterns.json" ]] && patterns=(--patterns "$here/bench/llama3-8b-262k-patterns.json")
      PYTHONUNBUFFERED=1 python3 "$here/bench/minference_model_bench.py" "$peer" "$results/minference_model.tsv" \
        --sizes "$msizes" "${patterns[@]}" 2>&1 | grep -v Warning | tee "$results/minference-model.log"
      summary+=("minference whole model: exit ${PIPESTATUS[0]}")
      "$java" -Xmx24g -cp "$cp_test" io.prefill.cuda.forward.PrefillBenchmark --sizes "$msizes" --estimated-sizes "$msizes" \
        --dense-sizes "" "${patterns[@]}" --out "$results/prefill-vs-minference.tsv" 2>&1 | tee "$results/prefill-vs-minference.log"
      summary+=("ours (PrefillBenchmark): exit ${PIPESTATUS[0]}")
      rm -rf "$results/minference-build" ;;
    estimate-cost)
      esizes="131072,524288"
      if next_sizes > /dev/null; then esizes="$(next_sizes)"; i=$((i + 1)); fi
      for cfg in "minference:$here/bench/llama3-8b-262k-patterns.json" "adaptive:$here/bench/llama3-8b-adaptive.json"; do
        name="${cfg%%:*}"; file="${cfg#*:}"
        [[ -f "$file" ]] || { echo "[run] $file is not in this bundle: $name skipped"; summary+=("estimate-cost $name: skipped"); continue; }
        "$java" -Xmx24g -cp "$cp_test" io.prefill.cuda.forward.PrefillBenchmark --patterns "$file" --sizes "$esizes" \
          --estimated-sizes "" --dense-sizes "" --out "$results/estimate-cost-$name-stages.tsv" > "$results/estimate-cost-$name.log" 2>&1
        ncu --clock-control none --target-processes all --metrics gpu__time_duration.sum \
          -k 'regex:^(vs_|exclusive_scan|plan_entries|kept_mass)' --csv --log-file "$results/estimate-cost-$name-ncu.csv" \
          "$java" -Xmx24g -cp "$cp_test" io.prefill.cuda.forward.PrefillBenchmark --patterns "$file" --sizes "$esizes" \
          --estimated-sizes "" --dense-sizes "" --out "$results/estimate-cost-$name-profiled.tsv" >> "$results/estimate-cost-$name.log" 2>&1
        python3 "$here/bench/kernel_times.py" "$results/estimate-cost-$name-ncu.csv" "$results/estimate-cost-$name-stages.tsv" \
          "$name" > "$results/estimate-cost-$name.tsv"
        rc=$?
        grep -E 'estimate \+ plan|attention' "$results/estimate-cost-$name.tsv"
        summary+=("estimate-cost $name: exit $rc; $(grep -F '/ attention' "$results/estimate-cost-$name.tsv" | cut -f2,4 | tr '\t' '=' | paste -sd ' ')")
      done ;;
    kernel-profile)
      psize=131072
      if next_sizes > /dev/null; then psize="$(next_sizes)"; i=$((i + 1)); fi
      mkdir -p "$results/profile"
      for k in ${PROFILE_KERNELS:-attention_dense_ws_d128 attention_dense_ws_tma_d128 attention_pair_plan_ws_d128 attention_pair_plan_ws_tma_d128}; do
        case "$k" in  # the AttentionBenchmark run whose first launch of $k is profiled
          attention_dense_ws_tma_d*) bargs=(--dense-only --dense-variants DENSE_WS_TMA) ;;
          attention_dense_*) bargs=(--dense-only --dense-variants DENSE_WS) ;;
          attention_pair_plan_ws_tma_d*) bargs=(--no-dense --no-estimated --plan-variants PLAN_WGMMA --pair-variants PAIR_PLAN_WS_TMA) ;;
          *) bargs=(--no-dense --no-estimated --plan-variants PLAN_WGMMA --pair-variants PAIR_PLAN_WS) ;;
        esac
        ncu --set full --clock-control none --import-source no -k "regex:^$k\$" -c 1 -f -o "$results/profile/$k" \
          "$java" -Xmx8g -cp "$cp_test" io.prefill.cuda.AttentionBenchmark --sizes "$psize" "${bargs[@]}" \
          > "$results/profile/$k.log" 2>&1
        rc=$?
        if [[ -f "$results/profile/$k.ncu-rep" ]]; then
          ncu -i "$results/profile/$k.ncu-rep" --page details --csv > "$results/profile/$k-details.csv" 2>&1
          ncu -i "$results/profile/$k.ncu-rep" --page source --print-source sass --csv > "$results/profile/$k-sass.csv" 2>&1
        fi
        summary+=("kernel-profile $k: exit $rc")
      done
      python3 "$here/bench/profile_summary.py" "$results/profile" > "$results/profile/summary.tsv"
      summary+=("kernel-profile summary: exit $? ($results/profile/summary.tsv)") ;;
    minference-speed)
      if [[ $((i + 1)) -ge ${#args[@]} || ! -d "${args[$((i + 1))]}" ]]; then
        echo "minference-speed needs PEER_DIR, a folder with MInference's source"; exit 2
      fi
      peer="$(cd "${args[$((i + 1))]}" && pwd)"; i=$((i + 1))
      msizes="32768,131072"
      if next_sizes > /dev/null; then msizes="$(next_sizes)"; i=$((i + 1)); fi
      PYTHONUNBUFFERED=1 python3 "$here/bench/minference_speed.py" "$peer" "$results/minference_speed.tsv" --sizes "$msizes" \
        2>&1 | grep -v Warning | tee "$results/minference-speed.log"
      summary+=("minference speed: exit ${PIPESTATUS[0]}")
      "$java" -Xmx8g -cp "$cp_test" io.prefill.cuda.AttentionBenchmark --sizes "$msizes" \
        --out "$results/bench.tsv" 2>&1 | tee "$results/bench.log"
      summary+=("ours (AttentionBenchmark): exit ${PIPESTATUS[0]}")
      rm -rf "$results/minference-build" ;;
    *) echo "unknown step ${args[$i]}"; exit 2 ;;
  esac
done
echo "==== summary ($(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1))"
printf '%s\n' "${summary[@]}"
