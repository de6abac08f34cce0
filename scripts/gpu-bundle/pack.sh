#!/usr/bin/env bash
# Packs a self-contained GPU test bundle (<= 60 MiB) for a GPU node without Java:
#   jre.tar.xz      jlink'd Java 17 runtime
#   lib/            jcuda + linux natives, Jackson (config.json, safetensors headers), JNA and DJL tokenizers (lib/tokenizer), JUnit console launcher (no Spark)
#   classes/        gpu-udf classes (with the nvcc-built fatbin) and test classes
#   bench/          python reference scripts (torch; transformers for the hf and model-bench steps)
#   run.sh          the command to run on the node (see run.sh)
# Usage: scripts/gpu-bundle/pack.sh [OUT_DIR]   (default: <repo>/.bundle)
# Needs: JDK 17 (jlink), mvn, nvcc (else the bundle has no kernels and the GPU tests skip).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$repo/.bundle}"
m2="${M2_REPO:-$HOME/.m2/repository}"
jcuda_version=12.6.0
junit_platform_version=1.14.1

echo "[pack] building gpu-udf classes, fatbin and test classes"
(cd "$repo" && mvn -B -q -pl gpu-udf -DskipTests test-compile)
[[ -f "$repo/gpu-udf/target/classes/io/prefill/cuda/prefill-kernels.fatbin" ]] \
  || echo "[pack] WARNING: no fatbin (nvcc missing?): GPU tests will skip on the node"

console="$m2/org/junit/platform/junit-platform-console-standalone/$junit_platform_version/junit-platform-console-standalone-$junit_platform_version.jar"
if [[ ! -f "$console" ]]; then
  (cd "$repo" && mvn -B -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:$junit_platform_version)
fi

rm -rf "$out"
mkdir -p "$out/lib" "$out/classes" "$out/test-classes" "$out/bench"
cp "$m2/org/jcuda/jcuda/$jcuda_version/jcuda-$jcuda_version.jar" "$out/lib/"
cp "$m2/org/jcuda/jcuda-natives/$jcuda_version/jcuda-natives-$jcuda_version-linux-x86_64.jar" "$out/lib/"
cp "$console" "$out/lib/junit-platform-console-standalone.jar"
# Jackson: the model loader (config.json, safetensors headers, pattern configs) needs it; same jars as the build
jackson_cp="$(mktemp)"
(cd "$repo" && mvn -B -q -pl gpu-udf dependency:build-classpath -DincludeGroupIds=com.fasterxml.jackson.core \
   -Dmdep.outputFile="$jackson_cp")
tr ':' '\n' < "$jackson_cp" | grep -E '/jackson-(core|databind|annotations)-[^/]*\.jar$' | while read -r jar; do
  cp "$jar" "$out/lib/"
done
rm -f "$jackson_cp"
[[ $(ls "$out"/lib/jackson-*.jar 2>/dev/null | wc -l) -eq 3 ]] || { echo "[pack] ERROR: Jackson jars not found"; exit 1; }
# DJL's tokenizer (the engine-level GPU tests load tokenizer.json) and what it needs; its jar keeps
# only the linux-x86_64 native library (the others would push the bundle past 60 MiB).
deps_cp="$(mktemp)"
(cd "$repo" && mvn -B -q -pl gpu-udf dependency:build-classpath -Dmdep.outputFile="$deps_cp")
mkdir -p "$out/lib/tokenizer"
tr ':' '\n' < "$deps_cp" | grep -E '/(api|tokenizers|gson|jna|slf4j-api|commons-compress)-[0-9][^/]*\.jar$' | while read -r jar; do
  cp "$jar" "$out/lib/tokenizer/"
done
rm -f "$deps_cp"
tok="$(ls "$out"/lib/tokenizer/tokenizers-*.jar)"
zip -q -d "$tok" 'native/lib/win-*' 'native/lib/osx-*' 'native/lib/linux-aarch64/*' >/dev/null || true
# the Llama-3-8B pattern config for the whole-model benchmark, when the shared data is beside the checkout
patterns="$repo/../shared/minference-configs/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json"
[[ -f "$patterns" ]] && cp "$patterns" "$out/bench/llama3-8b-262k-patterns.json"
patterns70="$repo/../shared/minference-configs/Llama_3_70B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json"
[[ -f "$patterns70" ]] && cp "$patterns70" "$out/bench/llama3-70b-262k-patterns.json"
cp -r "$repo/gpu-udf/target/classes/." "$out/classes/"
cp -r "$repo/gpu-udf/target/test-classes/." "$out/test-classes/"
cp "$repo"/bench/*.py "$repo"/bench/*.json "$out/bench/" 2>/dev/null || true
cp "$repo/scripts/gpu-bundle/run.sh" "$out/run.sh"
chmod +x "$out/run.sh"

jre_cache="$repo/gpu-udf/target/gpu-bundle-jre.tar.xz"
if [[ ! -f "$jre_cache" ]]; then
  echo "[pack] jlink a Java 17 runtime"
  tmp="$(mktemp -d)"
  jlink --add-modules java.base,jdk.unsupported,java.logging,java.xml,java.management,jdk.management \
        --strip-debug --no-header-files --no-man-pages --compress=2 --output "$tmp/jre"
  tar -C "$tmp" -cJf "$jre_cache" jre
  rm -rf "$tmp"
fi
cp "$jre_cache" "$out/jre.tar.xz"
size=$(du -sm "$out" | cut -f1)
echo "[pack] bundle at $out: ${size} MiB"
(( size <= 60 )) || { echo "[pack] ERROR: bundle over 60 MiB"; exit 1; }
# For a node that takes at most 64 MiB per transfer, the repository's files included: when the bundle and
# those files need more than 63 MiB, the bundle is cut in two parts, sent one after the other, each copied
# into one folder outside the repository's copy on the node.
repo_mib=$(cd "$repo" && git ls-files -z | du -cm --files0-from=- 2>/dev/null | tail -1 | cut -f1)
if (( size + ${repo_mib:-0} > 63 )); then
  mkdir -p "$out/part1" "$out/part2"
  mv "$out/jre.tar.xz" "$out/lib" "$out/part1/"
  for f in "$out"/*; do [[ "$f" == "$out/part1" || "$f" == "$out/part2" ]] || mv "$f" "$out/part2/"; done
  echo "[pack] bundle and the repository's ${repo_mib} MiB are over 64 MiB per transfer: two parts," \
       "part1 $(du -sm "$out/part1" | cut -f1) MiB, part2 $(du -sm "$out/part2" | cut -f1) MiB; on the node, one after the other:"
  echo "  with $(basename "$out")/part1:  mkdir -p /tmp/prefill-gpu-bundle && cp -r $(basename "$out")/part1/. /tmp/prefill-gpu-bundle/"
  echo "  with $(basename "$out")/part2:  cp -r $(basename "$out")/part2/. /tmp/prefill-gpu-bundle/ && cd /tmp/prefill-gpu-bundle && RESULTS=DIR ./run.sh tests"
fi
