#!/usr/bin/env bash
# spark-submit wrapper for the pre-fill job with GPU scheduling filled in.
#
#   scripts/submit.sh MODE [job options...]      MODE: local | standalone | yarn | k8s
#
# Settings (environment variables, defaults in brackets):
#   MASTER            cluster URL for standalone (spark://host:7077) or k8s (k8s://https://host:443)
#   GPUS_PER_EXECUTOR [1]    spark.executor.resource.gpu.amount: GPUs each executor owns
#   TASKS_PER_GPU     [1]    concurrent tasks per GPU; 2 gives spark.task.resource.gpu.amount=0.5.
#                            Tasks sharing a GPU take turns on it (one pre-fill owns the card at a
#                            time) while the other tokenizes, reads or writes: 2 hides that latency.
#   EXECUTOR_CORES    [4 x GPUS_PER_EXECUTOR]   CPU cores per executor (tokenizing, Parquet)
#   EXECUTOR_MEMORY   [32g]  heap per executor (local mode: the driver's, which runs the tasks); the
#                            model is memory-mapped outside the heap
#   NUM_EXECUTORS     [2]    for yarn and k8s
#   RAPIDS_JAR        []     path of the RAPIDS Accelerator jar: enables the plugin for the SQL and
#                            Parquet around the UDF, and shares each GPU between it and the engine
#   GPU_MEMORY_GIB    [80]   memory of one GPU, for that split
#   ENGINE_BUDGET_GIB [48]   the engine's share of it (the rest goes to RAPIDS, see docs/cluster.md)
#   K8S_IMAGE         []     container image for k8s (Spark + this jar + the NVIDIA runtime)
#   SPARK_SUBMIT      [spark-submit]
#   JOB_JAR           [job/target/job-*-spark.jar]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
mode="${1:?usage: scripts/submit.sh local|standalone|yarn|k8s [job options...]}"
shift
jar="${JOB_JAR:-$(ls "$root"/job/target/job-*-spark.jar 2>/dev/null | head -1 || true)}"
if [[ -z "$jar" ]]; then
  echo "no job jar: build it first with 'mvn -B -DskipTests package'" >&2
  exit 1
fi
gpus="${GPUS_PER_EXECUTOR:-1}"
per_gpu="${TASKS_PER_GPU:-1}"
task_amount=$(awk -v n="$per_gpu" 'BEGIN { printf "%g", 1 / n }')
cores="${EXECUTOR_CORES:-$((4 * gpus))}"
args=(--class io.prefill.job.PrefillJob
      --conf spark.task.cpus=1
      --conf spark.task.maxFailures=4
      --conf spark.speculation=false)
# Executors own GPUs and each task takes its share (TASKS_PER_GPU tasks per GPU).
executors=(--conf spark.executor.resource.gpu.amount="$gpus"
           --conf spark.task.resource.gpu.amount="$task_amount"
           --conf spark.executor.cores="$cores"
           --conf spark.executor.memory="${EXECUTOR_MEMORY:-32g}")
case "$mode" in
  local)
    # One JVM: the driver discovers the GPUs and runs the tasks, GPUS_PER_EXECUTOR x TASKS_PER_GPU at
    # a time. Spark's local scheduler offers its tasks no custom resources, so a task amount of GPUs
    # would leave every task waiting for ever: none is asked for, and the job spreads its tasks over
    # the driver's discovered GPUs itself (GpuBinding), one pre-fill per GPU at a time.
    n=$(( gpus * per_gpu ))
    args+=(--master "local[$n]"
           --driver-memory "${EXECUTOR_MEMORY:-32g}"
           --conf spark.driver.resource.gpu.amount="$gpus"
           --conf spark.driver.resource.gpu.discoveryScript="$here/gpu-discovery.sh")
    ;;
  standalone)
    # Workers announce their GPUs with spark.worker.resource.gpu.{amount,discoveryScript} in
    # spark-defaults.conf or SPARK_WORKER_OPTS; executors discover theirs with the same script.
    args+=("${executors[@]}" --master "${MASTER:?set MASTER=spark://host:7077}"
           --conf spark.executor.resource.gpu.discoveryScript="$here/gpu-discovery.sh"
           --files "$here/gpu-discovery.sh")
    ;;
  yarn)
    # YARN isolates GPUs (yarn.io/gpu) and hands each container its own; Spark maps the resource.
    args+=("${executors[@]}" --master yarn --deploy-mode cluster
           --num-executors "${NUM_EXECUTORS:-2}"
           --conf spark.executor.resource.gpu.discoveryScript=./gpu-discovery.sh
           --files "$here/gpu-discovery.sh")
    ;;
  k8s)
    # The NVIDIA device plugin gives each executor pod nvidia.com/gpu; the script must be in the image.
    args+=("${executors[@]}" --master "${MASTER:?set MASTER=k8s://https://host:443}" --deploy-mode cluster
           --conf spark.executor.instances="${NUM_EXECUTORS:-2}"
           --conf spark.kubernetes.container.image="${K8S_IMAGE:?set K8S_IMAGE}"
           --conf spark.executor.resource.gpu.vendor=nvidia.com
           --conf spark.executor.resource.gpu.discoveryScript=/opt/prefill/scripts/gpu-discovery.sh)
    ;;
  *)
    echo "unknown mode '$mode': expected local, standalone, yarn or k8s" >&2
    exit 2
    ;;
esac
if [[ -n "${RAPIDS_JAR:-}" ]]; then
  # RAPIDS runs the Parquet scan/write and the SQL around the UDF on the GPU; the card is split
  # between its memory pool and the engine's budget (GpuSharePlan prints the settings).
  mapfile -t share < <(java -cp "$jar" io.prefill.job.GpuSharePlan "${GPU_MEMORY_GIB:-80}" "${ENGINE_BUDGET_GIB:-48}" | tr ' ' '\n')
  args+=(--jars "$RAPIDS_JAR" "${share[@]}")
fi
# GPUs are allocated above, so the job runs the cuda backend and checks it before any work
# (a node without a usable GPU fails in one line, exit code 4), unless the options name a backend.
job=(--backend cuda)
for a in "$@"; do [[ "$a" == --backend || "$a" == --backend=* ]] && job=(); done
echo "+ ${SPARK_SUBMIT:-spark-submit} ${args[*]} $jar ${job[*]} $*" >&2
exec "${SPARK_SUBMIT:-spark-submit}" "${args[@]}" "$jar" "${job[@]}" "$@"
