#!/usr/bin/env bash
# The pre-fill job as users run it, on this GPU node: a Spark standalone master and one worker that
# announces its GPU through scripts/gpu-discovery.sh, jobs submitted with scripts/submit.sh from the
# shaded job jar, and the outputs and logs checked by io.prefill.job.DeploymentCheck. Needs the runtime
# unpacked by `run.sh stage 1` and `run.sh stage 2` (pack-spark.sh); normally run as `run.sh spark-job`.
#
# Phases ($PHASES, default all, in this order; each one skippable, e.g. PHASES="long kill"):
#   tiny   standalone, a head_dim-64 tiny Llama: the demo corpus (with its empty and null rows) on the
#          cuda backend, then on the cpu backend (local mode); compared row by row
#   local  local mode with the driver's GPU (submit.sh local): the same corpus, --mode both, the KV
#          summaries read back, first tokens compared with the cpu run
#   long   standalone: a Llama-3-8B-262k-shaped checkpoint (16 GB bf16, 4 shards + index, random
#          weights written here by io.prefill.model.SyntheticCheckpoint, then dropped from the page
#          cache) and 8 documents of 32K-128K Llama-3 tokens with MInference's pattern config: load
#          time, prefill_ms against time in the task, job wall against the sum of prefill_ms, peak GPU
#          memory (nvidia-smi every 250 ms), every id exactly once
#   fault  standalone, the tiny model under a small spark.prefill.gpuMemoryBudget: a too-long document
#          becomes a device_memory row and its task goes on with the next one
#   needle only with NEEDLE_MODEL (a Hugging Face model folder) and NEEDLE_CORPUS (JSON lines or a folder of
#          them: id, text, answer, optional length): standalone (local without the cluster), --backend
#          $backend with the default pattern (vertical-slash 1000/6096) and with every head dense
#          (--min-sparse-length above every prompt; NEEDLE_BASELINES=0 skips these two), with each of NEEDLE_PATTERNS (pattern configs,
#          comma-separated; run needle-NAME for NAME.json) when it is set; then, where time is left, --backend cpu on the
#          documents of at most NEEDLE_CPU_MAX_LENGTH (4096) tokens; accuracy (first_token_text equal to
#          the answer) per length in checks.tsv
#   kill   standalone, the 8B model on 8 documents of 32K: the executor JVM is killed (by its pid) once
#          the first partition is written; its tasks rerun on a new executor, every id exactly once
# Results ($RESULTS, default results/spark-job; flat): summary.tsv (phase, seconds, exit, peak GPU MiB,
# note), checks.tsv, documents.tsv, progress.log, logs.tar.gz (driver, executor, master, worker logs,
# GPU samples). Work files: $SPARK_JOB_WORK (default /tmp/prefill-spark-job; the 8B checkpoint there is
# reused by a rerun). Every phase is time-boxed so the whole run ends within $SPARK_JOB_DEADLINE seconds
# (default 370, so that `run.sh stage 2 spark-job` ends within 400 s); a phase that no longer fits is
# skipped and says so.
# SPARK_JOB_BACKEND (default: cuda where nvidia-smi lists a GPU, else cpu): cpu rehearses all of it without
# a GPU: the cuda runs use the cpu backend, long and kill the tiny model and the demo corpus, no fault
# phase, and scripts/gpu-discovery.sh reads an nvidia-smi stand-in that lists one GPU (put first on PATH).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rt="${SPARK_RUNTIME:-/tmp/prefill-stage}"
results="${RESULTS:-$repo/results/spark-job}"
work="${SPARK_JOB_WORK:-/tmp/prefill-spark-job}"
phases=" ${PHASES:-tiny local long fault kill} "
if [[ -z "${SPARK_JOB_BACKEND:-}" ]]; then
  if nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then backend=cuda; else backend=cpu; fi
else
  backend="$SPARK_JOB_BACKEND"
fi
deadline="${SPARK_JOB_DEADLINE:-370}"
port="${SPARK_MASTER_PORT:-7177}"
cores="$(nproc)"
mem_gib=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1048576 ))
worker_gib=$(( mem_gib * 3 / 4 < 96 ? mem_gib * 3 / 4 : 96 ))
executor_gib="${EXECUTOR_GIB:-$(( worker_gib / 2 < 24 ? worker_gib / 2 : 24 ))}"

export SPARK_HOME="$rt" JAVA_HOME="$rt/jre" SPARK_CONF_DIR="$here/spark-conf" SPARK_SCALA_VERSION=2.13
export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$work/logs/cluster" SPARK_WORKER_DIR="$work/worker"
bin="$here/spark-bin"
jar="$rt/app/job-spark.jar"
java="$rt/jre/bin/java"

mkdir -p "$results"
rm -f "$results"/{summary.tsv,checks.tsv,documents.tsv,progress.log,logs.tar.gz}
log() { echo "[spark-job $(date +%H:%M:%S) +${SECONDS}s] $*" | tee -a "$results/progress.log"; }
[[ -x "$java" && -f "$jar" ]] || { log "no runtime in $rt: run 'run.sh stage 1' and 'run.sh stage 2' first"; exit 1; }
rm -rf "$work/out" "$work/logs" "$work/worker" "$work/corpus"
mkdir -p "$work/out" "$work/logs/cluster" "$work/worker" "$work/models"
if [[ "$backend" == cpu ]]; then
  # no GPU here: a stand-in nvidia-smi that lists one, so that Spark's GPU scheduling runs as on the node
  mkdir -p "$work/fake-bin"
  cat > "$work/fake-bin/nvidia-smi" <<'SMI'
#!/usr/bin/env bash
# stand-in for a GPU-less rehearsal: one GPU, index 0, nothing used
case "$*" in
  *-L*) echo "GPU 0: rehearsal stand-in (no GPU)" ;;
  *--query-gpu=index*) echo 0 ;;
  *-lms*) echo 0; exec sleep 100000 ;;
  *--query-gpu=memory.used*) echo 0 ;;
  *) echo "rehearsal stand-in, no GPU,-,-" ;;
esac
SMI
  chmod +x "$work/fake-bin/nvidia-smi"
  export PATH="$work/fake-bin:$PATH"
fi
printf 'phase\tseconds\texit\tpeak_gpu_mib\tnote\n' > "$results/summary.tsv"
summary() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$results/summary.tsv"; }
log "runtime $(cat "$rt/RELEASE"); job jar of commit $(cat "$rt/app/COMMIT"); $cores cores, ${mem_gib} GiB;" \
    "backend $backend; phases:$phases; GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT

# ---- GPU memory sampling: one sampler per phase; the peak goes into summary.tsv ----
sampler=""
sample_start() {  # $1 = phase
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > "$work/logs/gpu-$1.csv" 2>/dev/null &
  sampler=$!
  pids+=("$sampler")
}
sample_stop() {  # $1 = phase; prints the peak MiB
  [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null && wait "$sampler" 2>/dev/null
  sampler=""
  sort -n "$work/logs/gpu-$1.csv" 2>/dev/null | tail -1 | tr -d ' '
}

left() { echo $(( deadline - SECONDS - 45 )); }  # seconds a phase may still take (the report needs ~45)
fits() {  # $1 = phase, $2 = seconds it needs at least
  if (( $(left) < $2 )); then
    log "$1: skipped, $(left) s left before the deadline ($deadline s), it needs about $2"
    summary "$1" 0 - - "skipped: out of time"
    return 1
  fi
}

# ---- one job: driver log in logs/RUN/driver.log, executors' stderr copied beside it ----
submit() {  # $1 = run, $2 = standalone|local|plain, $3 = time limit (s), rest = job options
  local run="$1" mode="$2" limit="$3"; shift 3
  local dir="$work/logs/$run"; mkdir -p "$dir"
  local rc
  if [[ "$mode" == plain ]]; then
    timeout -k 10 "$limit" "$bin/spark-submit" --master "local[$cores]" --driver-memory "${executor_gib}g" \
      --class io.prefill.job.PrefillJob "$jar" "$@" --log-level info --conf spark.prefill.logDocuments=true \
      > "$dir/driver.log" 2>&1
  else
    MASTER="spark://127.0.0.1:$port" SPARK_SUBMIT="$bin/spark-submit" JOB_JAR="$jar" EXECUTOR_MEMORY="${executor_gib}g" \
      EXECUTOR_CORES="${EXECUTOR_CORES:-$(( cores < 4 ? cores : 4 ))}" GPUS_PER_EXECUTOR=1 TASKS_PER_GPU="${TASKS_PER_GPU:-1}" \
      timeout -k 10 "$limit" "$repo/scripts/submit.sh" "$mode" "$@" --log-level info --conf spark.prefill.logDocuments=true \
      > "$dir/driver.log" 2>&1
  fi
  rc=$?
  collect_executor_logs "$run"
  grep -E '^\[prefill\]|documents written|Exception in thread|ERROR [A-Za-z]*: ' "$dir/driver.log" | head -20 \
    | sed "s/^/    /" | tee -a "$results/progress.log"
  return $rc
}
collect_executor_logs() {  # $1 = run: the standalone application's executor stderr files
  local app
  app="$(grep -o 'app-[0-9]\{14\}-[0-9]\{4\}' "$work/logs/$1/driver.log" | head -1)"
  [[ -n "$app" && -d "$work/worker/$app" ]] || return 0
  for e in "$work/worker/$app"/*/; do
    cp "$e/stderr" "$work/logs/$1/executor-$(basename "$e").stderr" 2>/dev/null
  done
}

# ---- fixtures; the 8B checkpoint is written in the background while the tiny phases run ----
log "fixtures: tiny head_dim-64 model, demo/fault/long/kill corpora"
"$bin/spark-submit" --master local[2] --class io.prefill.job.DeploymentCheck "$jar" fixtures "$work" \
  "$rt/app/llama3/tokenizer.json" > "$work/logs/fixtures.log" 2>&1 || { log "fixtures failed:"; tail -20 "$work/logs/fixtures.log"; }
grep '^\[fixtures\]' "$work/logs/fixtures.log" | sed 's/^/    /' | tee -a "$results/progress.log"
tiny="$work/models/tiny64"
big="$work/models/llama3-8b-262k"
checkpoint_pid=""
if [[ "$phases" == *" long "* || "$phases" == *" kill "* ]]; then
  layers=(); [[ "$backend" == cpu ]] && layers=(--layers 1)
  if [[ -f "$big/.complete" ]]; then
    log "8B-shaped checkpoint already in $big"
  else
    rm -rf "$big"
    ( start=$SECONDS
      "$java" -Xmx4g -cp "$jar:$rt/jars/*" io.prefill.model.SyntheticCheckpoint --shape llama3-8b-262k "${layers[@]}" \
        --tokenizer "$rt/app/llama3/tokenizer.json" --shards 4 --out "$big" && touch "$big/.complete"
      # out of the page cache, so the first load reads the disk (the pages must be written first)
      sync "$big"/*.safetensors 2>/dev/null || sync
      python3 -c 'import os, sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$big"/*.safetensors
      echo "[synthetic-checkpoint] synced and dropped from the page cache after $((SECONDS - start)) s"
    ) > "$work/logs/checkpoint.log" 2>&1 &
    checkpoint_pid=$!
    pids+=("$checkpoint_pid")
    log "writing the 8B-shaped checkpoint to $big in the background"
  fi
fi

# ---- the standalone cluster: master and one worker announcing its GPU ----
cluster_up=false
master_pid="" worker_pid=""
if [[ "$phases" == *" tiny "* || "$phases" == *" long "* || "$phases" == *" fault "* || "$phases" == *" kill "* ]]; then
  log "standalone cluster: master on 127.0.0.1:$port, one worker ($cores cores, ${worker_gib} GiB, 1 GPU via scripts/gpu-discovery.sh)"
  SPARK_DAEMON_MEMORY=1g "$bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" \
    --webui-port "${SPARK_MASTER_WEBUI_PORT:-8180}" > "$work/logs/cluster/master.log" 2>&1 &
  master_pid=$!; pids+=("$master_pid")
  for _ in $(seq 60); do grep -q "I have been elected leader" "$work/logs/cluster/master.log" 2>/dev/null && break; sleep 1; done
  SPARK_DAEMON_MEMORY=1g SPARK_WORKER_OPTS="-Dspark.worker.resource.gpu.amount=1 -Dspark.worker.resource.gpu.discoveryScript=$repo/scripts/gpu-discovery.sh" \
    "$bin/spark-class" org.apache.spark.deploy.worker.Worker "spark://127.0.0.1:$port" --host 127.0.0.1 \
    --cores "$cores" --memory "${worker_gib}g" --work-dir "$work/worker" --webui-port "${SPARK_WORKER_WEBUI_PORT:-8181}" \
    > "$work/logs/cluster/worker.log" 2>&1 &
  worker_pid=$!; pids+=("$worker_pid")
  for _ in $(seq 60); do grep -q "Successfully registered with master" "$work/logs/cluster/worker.log" 2>/dev/null && break; sleep 1; done
  if grep -q "Successfully registered with master" "$work/logs/cluster/worker.log"; then
    cluster_up=true
    log "cluster up; the worker's resources: $(grep -A1 'Custom resources for spark.worker' "$work/logs/cluster/worker.log" | tail -1)"
  else
    log "the worker did not register:"; tail -20 "$work/logs/cluster/worker.log" | tee -a "$results/progress.log"
  fi
fi

template=$'Read the report below and answer the question.\n\n{document}\n\nQuestion: {question}\nAnswer:'
tiny_opts=(--model "$tiny" --patterns "$repo/pattern-configs/demo-model.json" --template "$template"
           --question-column question --write-mode overwrite)
steps=()  # DeploymentCheck steps for the phases that ran
add_step() { [[ ${#steps[@]} -gt 0 ]] && steps+=(+); steps+=("$@"); }

# ---- tiny: cuda on the standalone cluster, cpu in local mode ----
if [[ "$phases" == *" tiny "* ]] && $cluster_up && fits tiny 60; then
  start=$SECONDS; sample_start tiny
  log "tiny: standalone, --backend $backend, demo corpus"
  submit tiny-cuda standalone "$(( $(left) < 150 ? $(left) : 150 ))" --input "$work/corpus/demo.jsonl" \
    --output "$work/out/tiny-cuda" --backend "$backend" --partitions 4 "${tiny_opts[@]}"
  rc1=$?
  log "tiny: local[$cores], --backend cpu, the same corpus"
  submit tiny-cpu plain "$(( $(left) < 150 ? $(left) : 150 ))" --input "$work/corpus/demo.jsonl" \
    --output "$work/out/tiny-cpu" --backend cpu --partitions "$cores" "${tiny_opts[@]}"
  rc2=$?
  peak=$(sample_stop tiny)
  summary tiny $((SECONDS - start)) "$rc1,$rc2" "${peak:--}" "cuda standalone, cpu local; compared in checks.tsv"
  add_step compare tiny "$work/out/tiny-cpu" "$work/out/tiny-cuda" "$work/corpus/demo.jsonl"
  add_step documents tiny-cuda "$work/out/tiny-cuda" "$work/logs/tiny-cuda"
fi

# ---- local: the driver's GPU, --mode both ----
if [[ "$phases" == *" local "* ]] && fits local 40; then
  start=$SECONDS; sample_start local
  log "local: submit.sh local (driver GPU resources), --backend $backend --mode both"
  TASKS_PER_GPU=2 submit tiny-local local "$(( $(left) < 120 ? $(left) : 120 ))" \
    --input "$work/corpus/demo.jsonl" --output "$work/out/tiny-local" --kv-output "$work/out/tiny-local-kv" \
    --mode both --backend "$backend" --partitions 4 "${tiny_opts[@]}"
  rc=$?
  peak=$(sample_stop local)
  summary local $((SECONDS - start)) "$rc" "${peak:--}" "first tokens and KV summaries from one pre-fill"
  if [[ -d "$work/out/tiny-cpu" ]]; then
    add_step compare local "$work/out/tiny-cpu" "$work/out/tiny-local" "$work/corpus/demo.jsonl"
  else
    add_step once local "$work/out/tiny-local" "$work/corpus/demo.jsonl"
  fi
  add_step kv local "$work/out/tiny-local" "$work/out/tiny-local-kv" "$tiny"
  add_step documents tiny-local "$work/out/tiny-local" "$work/logs/tiny-local"
fi

# the long and kill phases: the 8B checkpoint and Llama-3 documents on the GPU; the tiny model when rehearsing
if [[ "$backend" == cpu ]]; then
  long_opts=("${tiny_opts[@]}"); long_corpus="$work/corpus/demo.jsonl"; kill_corpus="$work/corpus/demo.jsonl"
else
  long_opts=(--model "$big" --patterns "$rt/app/patterns/llama3-8b-262k.json" --template "$template"
             --question-column question --write-mode overwrite)
  long_corpus="$work/corpus/long.jsonl"; kill_corpus="$work/corpus/kill.jsonl"
fi
wait_checkpoint() {
  [[ -n "$checkpoint_pid" ]] || return 0
  log "waiting for the 8B-shaped checkpoint"
  wait "$checkpoint_pid"
  local rc=$?
  checkpoint_pid=""
  sed 's/^/    /' "$work/logs/checkpoint.log" | tee -a "$results/progress.log"
  summary checkpoint - "$rc" - "$(grep -o 'GB of bf16.*' "$work/logs/checkpoint.log" | head -1)"
  [[ -f "$big/.complete" ]]
}

# ---- long: 8 documents of 32K-128K tokens through the 8B-shaped checkpoint ----
if [[ "$phases" == *" long "* ]] && $cluster_up && wait_checkpoint && fits long 90; then
  start=$SECONDS; sample_start long
  log "long: standalone, --backend $backend, $(wc -l < "$long_corpus") documents, 8B-shaped checkpoint"
  submit long-cuda standalone "$(( $(left) < 300 ? $(left) : 300 ))" --input "$long_corpus" \
    --output "$work/out/long-cuda" --backend "$backend" --partitions 8 "${long_opts[@]}"
  rc=$?
  peak=$(sample_stop long)
  summary long $((SECONDS - start)) "$rc" "${peak:--}" "$(grep -o '[0-9]* documents written.*' "$work/logs/long-cuda/driver.log" | head -1)"
  add_step once long "$work/out/long-cuda" "$long_corpus"
  add_step documents long "$work/out/long-cuda" "$work/logs/long-cuda"
fi

# ---- fault: a document too long for the GPU memory budget ----
if [[ "$phases" == *" fault "* ]] && $cluster_up && [[ "$backend" != cpu ]] && fits fault 40; then
  start=$SECONDS; sample_start fault
  budget="$(cat "$work/corpus/fault-budget.txt")"
  log "fault: standalone, spark.prefill.gpuMemoryBudget=$budget, one partition: 2K, 24K (too long), 3K, 1K tokens"
  submit fault-cuda standalone "$(( $(left) < 120 ? $(left) : 120 ))" --input "$work/corpus/fault.jsonl" \
    --output "$work/out/fault-cuda" --backend "$backend" --partitions 1 --conf "spark.prefill.gpuMemoryBudget=$budget" \
    "${tiny_opts[@]}"
  rc=$?
  peak=$(sample_stop fault)
  summary fault $((SECONDS - start)) "$rc" "${peak:--}" "budget $budget bytes"
  add_step once fault "$work/out/fault-cuda" "$work/corpus/fault.jsonl"
  add_step fault fault "$work/out/fault-cuda" "$work/logs/fault-cuda"
fi

# ---- kill: the executor JVM killed mid-job ----
if [[ "$phases" == *" kill "* ]] && $cluster_up && wait_checkpoint && fits kill 90; then
  start=$SECONDS; sample_start kill
  log "kill: standalone, --backend $backend, $(wc -l < "$kill_corpus") documents in 8 partitions; the executor dies after the first"
  submit kill-cuda standalone "$(( $(left) < 300 ? $(left) : 300 ))" --input "$kill_corpus" \
    --output "$work/out/kill-cuda" --backend "$backend" --partitions 8 "${long_opts[@]}" &
  job=$!; pids+=("$job")
  killed=""
  for _ in $(seq 600); do
    if grep -q 'partition 1/[0-9]* done' "$work/logs/kill-cuda/driver.log" 2>/dev/null; then
      executor="$(pgrep -P "$worker_pid" -f CoarseGrainedExecutorBackend | head -1)"
      if [[ -n "$executor" ]]; then
        kill -9 "$executor" && killed="$executor"
        log "kill: executor JVM $executor killed (SIGKILL) after the first partition was written"
      fi
      break
    fi
    kill -0 "$job" 2>/dev/null || break
    sleep 0.5
  done
  wait "$job"; rc=$?
  peak=$(sample_stop kill)
  summary kill $((SECONDS - start)) "$rc" "${peak:--}" "${killed:+executor $killed killed; }$(grep -o '[0-9]* documents written.*' "$work/logs/kill-cuda/driver.log" | head -1)"
  add_step once kill "$work/out/kill-cuda" "$kill_corpus"
  add_step kill kill "$work/out/kill-cuda" "$work/logs/kill-cuda"
  add_step documents kill "$work/out/kill-cuda" "$work/logs/kill-cuda"
fi

# ---- needle: accuracy of a real model, default pattern against dense ----
if [[ -n "${NEEDLE_MODEL:-}" && -n "${NEEDLE_CORPUS:-}" ]] && fits needle 60; then
  start=$SECONDS; sample_start needle
  needle_mode=standalone; $cluster_up || needle_mode=local
  needle_opts=(--input "$NEEDLE_CORPUS" --model "$NEEDLE_MODEL" --write-mode overwrite --no-summary)
  rc1=-; rc2=-
  if [[ "${NEEDLE_BASELINES:-1}" != 0 ]]; then
    log "needle: $needle_mode, --backend $backend, $NEEDLE_MODEL on $NEEDLE_CORPUS, default pattern (vertical-slash 1000/6096)"
    submit needle-sparse "$needle_mode" "$(( $(left) < 240 ? $(left) : 240 ))" "${needle_opts[@]}" \
      --output "$work/out/needle-sparse" --backend "$backend"
    rc1=$?
    add_step needle needle-sparse "$work/out/needle-sparse" "$NEEDLE_CORPUS"
    if fits needle-dense 40; then
      log "needle: the same, every head dense (--min-sparse-length 1000000000)"
      submit needle-dense "$needle_mode" "$(( $(left) < 240 ? $(left) : 240 ))" "${needle_opts[@]}" \
        --output "$work/out/needle-dense" --backend "$backend" --min-sparse-length 1000000000
      rc2=$?
      add_step needle needle-dense "$work/out/needle-dense" "$NEEDLE_CORPUS"
    fi
  fi
  rc4=-
  IFS=, read -r -a needle_configs <<< "${NEEDLE_PATTERNS:-}"
  for config in "${needle_configs[@]}"; do
    [[ -n "$config" ]] || continue
    name="needle-$(basename "$config" .json)"
    fits "$name" 40 || break
    log "needle: the same with --patterns $config (run $name)"
    submit "$name" "$needle_mode" "$(( $(left) < 240 ? $(left) : 240 ))" "${needle_opts[@]}" \
      --output "$work/out/$name" --backend "$backend" --patterns "$config"
    rc=$?; [[ "$rc4" == - || "$rc4" == 0 ]] && rc4=$rc
    add_step needle "$name" "$work/out/$name" "$NEEDLE_CORPUS"
  done
  rc3=-
  if [[ "$backend" != cpu ]] && fits needle-cpu 60; then
    max_len="${NEEDLE_CPU_MAX_LENGTH:-4096}"
    python3 - "$NEEDLE_CORPUS" "$max_len" "$work/corpus/needle-short.jsonl" <<'PY'
import json, os, sys
src, max_len, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = [os.path.join(src, f) for f in sorted(os.listdir(src)) if f.endswith((".jsonl", ".json"))] if os.path.isdir(src) else [src]
with open(out, "w") as w:
    for f in files:
        for line in open(f):
            if line.strip() and json.loads(line).get("length", max_len + 1) <= max_len:
                w.write(line)
PY
    if [[ -s "$work/corpus/needle-short.jsonl" ]]; then
      log "needle: --backend cpu, local, $(wc -l < "$work/corpus/needle-short.jsonl") documents of at most $max_len tokens"
      needle_short=(--input "$work/corpus/needle-short.jsonl" --model "$NEEDLE_MODEL" --write-mode overwrite --no-summary)
      submit needle-cpu plain "$(( $(left) < 240 ? $(left) : 240 ))" "${needle_short[@]}" \
        --output "$work/out/needle-cpu" --backend cpu --partitions "$cores"
      rc3=$?
      add_step needle needle-cpu "$work/out/needle-cpu" "$work/corpus/needle-short.jsonl"
    else
      log "needle: no document of at most $max_len tokens (length column) for the cpu run"
    fi
  fi
  peak=$(sample_stop needle)
  summary needle $((SECONDS - start)) "$rc1,$rc2,$rc4,$rc3" "${peak:--}" "default pattern, dense, NEEDLE_PATTERNS, cpu (short documents); accuracy in checks.tsv"
fi

# ---- checks ----
if [[ ${#steps[@]} -gt 0 ]]; then
  start=$SECONDS
  log "checks: DeploymentCheck over the outputs and logs"
  "$bin/spark-submit" --master local[4] --driver-memory 4g --class io.prefill.job.DeploymentCheck "$jar" check \
    "$results/checks.tsv" "$results/documents.tsv" "${steps[@]}" > "$work/logs/check.log" 2>&1
  rc=$?
  grep '^\[check\]' "$work/logs/check.log" | sed 's/^/    /' | tee -a "$results/progress.log"
  [[ $rc -le 1 ]] || tail -30 "$work/logs/check.log" | tee -a "$results/progress.log"
  summary checks $((SECONDS - start)) "$rc" - "$(grep -c 'FAIL' "$results/checks.tsv" 2>/dev/null) failed of $(($(wc -l < "$results/checks.tsv" 2>/dev/null || echo 1) - 1))"
fi

cleanup; pids=()
cp "$work/logs/cluster/"*.log "$work/logs/" 2>/dev/null
tar -C "$work" -czf "$results/logs.tar.gz" logs
log "done in ${SECONDS} s; results in $results: $(ls "$results" | tr '\n' ' ')"
column -t -s $'\t' "$results/summary.tsv" 2>/dev/null || cat "$results/summary.tsv"
