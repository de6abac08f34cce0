#!/usr/bin/env bash
# Packs what `run.sh spark-job` needs on a GPU node without Java or Spark, in two parts of at most
# $PART_LIMIT_MIB (50, or less where the repository's files leave less room) MiB each, sent to the node one after the other with the repository's files, at most
# $TRANSFER_LIMIT_MIB (64) MiB per transfer: packing fails when a part and the
# files git tracks together need more than that less one MiB, or when a part is over 60 MiB.
#   runtime   a jlink'd Java 17 (the modules Spark needs) and the Spark 4.0 jars of this build's
#             dependencies for local and standalone jobs that read JSON lines or Parquet and write
#             Parquet through a UDF. Left out: RocksDB, ZooKeeper/Curator, ORC, Avro, DataSketches,
#             LevelDB, Python bridges, the JWT filter, netty-tcnative and the netty natives of other
#             platforms, and what only tests use. Every jar is stored uncompressed and stripped of
#             other platforms' native libraries, so that one xz stream over all of them is small
#             (about 86 MB instead of about 155 MB of deflated jars). Cached by its inputs.
#   app       the shaded job jar (natives for linux x86-64 only), the Llama-3 tokenizer and
#             MInference's Llama-3-8B-262k pattern config from the shared data beside the checkout
#             ($PREFILL_SHARED, default ../shared).
# Output (default <repo>/.bundle-spark, ignored by git):
#   part1/  runtime.tar.xz.1 (the runtime stream's first PART_LIMIT_MIB MiB), MANIFEST
#   part2/  runtime.tar.xz.2 (the rest), app.tar.xz, MANIFEST
# On the node, `run.sh stage 1` keeps part 1 in /tmp/prefill-stage (or $SPARK_RUNTIME) and
# `run.sh stage 2` joins the stream, checks it against the manifest and unpacks both.
# Usage: scripts/gpu-bundle/pack-spark.sh [OUT_DIR]   Needs: JDK 17 (jlink), mvn (offline unless MVN_FLAGS says
# otherwise: every dependency is in the local repository after a build), python3, xz.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$repo/.bundle-spark}"
transfer_limit_mib="${TRANSFER_LIMIT_MIB:-64}"
# the files every transfer carries beside a part (tracked and untracked, not ignored)
tree_bytes=$(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null \
  | awk '{ s += $1 } END { print s + 0 }')
# part1 = the first PART_LIMIT_MIB of the runtime: 50, or less where the repository leaves less room
room_mib=$(( transfer_limit_mib - 2 - (tree_bytes >> 20) - 1 ))
limit_mib="${PART_LIMIT_MIB:-$(( room_mib < 50 ? room_mib : 50 ))}"
shared="${PREFILL_SHARED:-$repo/../shared}"
tokenizer_dir="$shared/tokenizers/llama3"
patterns="$shared/minference-configs/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json"
modules=java.se,jdk.unsupported,jdk.security.auth,jdk.management,jdk.crypto.ec,jdk.zipfs,jdk.incubator.vector
# Jars the packed runtime leaves out (the job's own dependencies are inside its shaded jar).
exclude='/(gpu-udf|tokenizers|api|jna|gson|jcuda|jcuda-natives|jfreechart)-[0-9]'
exclude+='|/(scalatest|scalactic|junit|opentest4j|apiguardian|scala-compiler|jline|java-diff-utils)[-_]'
exclude+='|/(rocksdbjni|curator|zookeeper|orc|avro|datasketches|leveldbjni|hive-storage-api|py4j|pickle|jjwt)[-_]'
exclude+='|/(netty-tcnative|threeten-extra|audience-annotations)[-_]'
exclude+='|netty-transport-native-(kqueue|epoll)-.*(aarch_64|riscv64|osx)|netty-transport-classes-kqueue'

for f in "$tokenizer_dir/tokenizer.json" "$patterns"; do
  [[ -f "$f" ]] || { echo "[pack-spark] ERROR: $f not found (set PREFILL_SHARED to the shared data folder)"; exit 1; }
done

echo "[pack-spark] building the shaded job jar and listing the build's dependencies"
(cd "$repo" && ${MVN:-mvn} -B -q ${MVN_FLAGS:--o} -DskipTests package dependency:build-classpath \
   -Dmdep.outputFile=target/runtime-classpath.txt)
jar="$(ls "$repo"/job/target/job-*-spark.jar | head -1)"
mapfile -t jars < <(tr ':' '\n' < "$repo/job/target/runtime-classpath.txt" | grep -E '\.jar$' | grep -vE "$exclude" | sort -u)
for need in spark-core spark-sql hadoop-client-runtime icu4j ivy arrow-vector jersey-server; do
  printf '%s\n' "${jars[@]}" | grep -q "/$need[-_]" || { echo "[pack-spark] ERROR: no $need jar in the classpath"; exit 1; }
done
spark_version="$(printf '%s\n' "${jars[@]}" | sed -n 's|.*/spark-core_2.13-\(.*\)\.jar$|\1|p')"

cache="$repo/job/target/spark-runtime-cache"
key="$( { printf '%s\n' "${jars[@]##*/}" "$modules"; java -version 2>&1 | head -1; cat "$here/repack-jars.py"; } \
        | sha256sum | cut -c1-16)"
runtime="$cache/runtime-$key.tar.xz"
if [[ ! -f "$runtime" ]]; then
  echo "[pack-spark] runtime: jlink ($modules) and ${#jars[@]} Spark $spark_version jars, stored uncompressed; xz takes minutes"
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/prefill-spark"
  jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --output "$tmp/prefill-spark/jre"
  python3 "$here/repack-jars.py" "$tmp/prefill-spark/jars" "${jars[@]}"
  echo "Spark $spark_version (Scala 2.13), jars of this build's dependencies, packed by pack-spark.sh" > "$tmp/prefill-spark/RELEASE"
  mkdir -p "$cache"
  tar -C "$tmp" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - prefill-spark \
    | xz -9 -T0 > "$runtime.tmp"
  mv "$runtime.tmp" "$runtime"
  rm -rf "$tmp"
else
  echo "[pack-spark] runtime: cached $runtime"
fi

echo "[pack-spark] app: $(basename "$jar"), the Llama-3 tokenizer, the Llama-3-8B-262k pattern config"
tmp="$(mktemp -d)"
mkdir -p "$tmp/prefill-spark/app/llama3" "$tmp/prefill-spark/app/patterns" "$tmp/repack"
python3 "$here/repack-jars.py" "$tmp/repack" "$jar"
mv "$tmp/repack/$(basename "$jar")" "$tmp/prefill-spark/app/job-spark.jar"
cp "$tokenizer_dir"/tokenizer*.json "$tmp/prefill-spark/app/llama3/"
cp "$patterns" "$tmp/prefill-spark/app/patterns/llama3-8b-262k.json"
(cd "$repo" && echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -modified)") \
  > "$tmp/prefill-spark/app/COMMIT"
tar -C "$tmp" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - prefill-spark | xz -9 -T0 > "$tmp/app.tar.xz"

rm -rf "$out"
mkdir -p "$out/part1" "$out/part2"
limit=$((limit_mib * 1024 * 1024))
size=$(stat -c %s "$runtime")
head -c "$limit" "$runtime" > "$out/part1/runtime.tar.xz.1"
tail -c +$((limit + 1)) "$runtime" > "$out/part2/runtime.tar.xz.2"
mv "$tmp/app.tar.xz" "$out/part2/app.tar.xz"
rm -rf "$tmp"
{
  echo "runtime_sha256=$(sha256sum "$runtime" | cut -d' ' -f1)"
  echo "runtime_bytes=$size"
  echo "app_sha256=$(sha256sum "$out/part2/app.tar.xz" | cut -d' ' -f1)"
  echo "spark=$spark_version"
  echo "commit=$(cat <(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown))"
} > "$out/part1/MANIFEST"
cp "$out/part1/MANIFEST" "$out/part2/MANIFEST"
for p in part1 part2; do
  bytes=$(du -sb "$out/$p" | cut -f1)
  echo "[pack-spark] $out/$p: $(( bytes >> 20 )) MiB (with the repository's $(( tree_bytes >> 20 )) MiB:" \
       "$(( (bytes + tree_bytes) >> 20 )) of $transfer_limit_mib MiB per transfer)"
  (( bytes <= 60 << 20 )) || { echo "[pack-spark] ERROR: $p is over 60 MiB"; exit 1; }
  (( bytes + tree_bytes <= (transfer_limit_mib - 1) << 20 )) \
    || { echo "[pack-spark] ERROR: $p and the repository's files are over $((transfer_limit_mib - 1)) MiB (PART_LIMIT_MIB lower?)"; exit 1; }
done
echo "[pack-spark] on the node, two steps one after the other (the runtime waits in /tmp/prefill-stage between them):"
echo "  with .bundle-spark/part1:  scripts/gpu-bundle/run.sh stage 1"
echo "  with .bundle-spark/part2:  RESULTS=DIR scripts/gpu-bundle/run.sh stage 2 spark-job"
