#!/usr/bin/env bash
# Times kernel experiments against the kernels as they are, alternating in one call on a GPU node.
#
#   bench/kernel_ab.sh BUNDLE_DIR OUT_DIR ROUNDS "BENCH_ARGS" [PATCH ...]
#
# BUNDLE_DIR  an unpacked GPU bundle (scripts/gpu-bundle/pack.sh: jre/, classes/, test-classes/, lib/)
# OUT_DIR     where the builds, the runs and summary.tsv go
# ROUNDS      how many times the whole set runs (2 shows the spread between rounds)
# BENCH_ARGS  io.prefill.cuda.AttentionBenchmark's arguments, e.g.
#             "--sizes 131072 --no-dense --no-estimated --plan-variants PLAN_WGMMA --pair-variants PAIR_PLAN_WS"
# PATCH       a patch to gpu-udf/src/main/cuda (bench/experiments/*.patch; paths a/FILE, b/FILE)
#
# Every variant, "base" (the sources as they are) included, is built the same way: a copy of
# gpu-udf/src/main/cuda, the patch applied, nvcc for sm_90a only, into
# OUT_DIR/NAME/io/prefill/cuda/prefill-kernels.fatbin. That folder goes in front of the bundle's
# classes on the class path, and the kernel loader takes the first fatbin it finds, so the Java side
# is the bundle's for every variant (a patch must keep the kernels' names and parameters). Each round
# runs base, then each patch in order; summary.tsv has one row per benchmark case and a column per
# variant and round (ms). Run from the repository root (the sources come from there).
set -uo pipefail
[[ $# -ge 4 ]] || { sed -n 2,22p "$0"; exit 2; }
bundle="$(cd "$1" && pwd)"; out="$2"; rounds="$3"; bench_args="$4"; shift 4
src="$(pwd)/gpu-udf/src/main/cuda"
[[ -f "$src/prefill_kernels.cu" ]] || { echo "[kernel-ab] run from the repository root ($src has no prefill_kernels.cu)"; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
java="$bundle/jre/bin/java"
cp_bundle="$bundle/test-classes:$bundle/classes:$bundle/lib/*:$bundle/lib/tokenizer/*"

names=(base)
patches=("")
for p in "$@"; do
  names+=("$(basename "$p" .patch)")
  patches+=("$(cd "$(dirname "$p")" && pwd)/$(basename "$p")")
done

for i in "${!names[@]}"; do
  name="${names[$i]}"; patch="${patches[$i]}"
  work="$out/src-$name"
  rm -rf "$work" && cp -r "$src" "$work"
  if [[ -n "$patch" ]] && ! patch -s -p1 -d "$work" < "$patch"; then
    echo "[kernel-ab] $name: the patch does not apply"; exit 1
  fi
  mkdir -p "$out/$name/io/prefill/cuda"
  echo "[kernel-ab] building $name"
  if ! nvcc -fatbin -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -o "$out/$name/io/prefill/cuda/prefill-kernels.fatbin" \
      "$work/prefill_kernels.cu" > "$out/build-$name.log" 2>&1; then
    echo "[kernel-ab] $name: nvcc failed (build-$name.log)"; tail -5 "$out/build-$name.log"; exit 1
  fi
  rm -rf "$work"
done

for r in $(seq 1 "$rounds"); do
  for name in "${names[@]}"; do
    echo "[kernel-ab] round $r: $name"
    # shellcheck disable=SC2086
    "$java" -Xmx8g -cp "$out/$name:$cp_bundle" io.prefill.cuda.AttentionBenchmark $bench_args \
      --out "$out/$name-r$r.tsv" > "$out/$name-r$r.log" 2>&1 || { echo "[kernel-ab] $name round $r failed"; tail -5 "$out/$name-r$r.log"; }
  done
done

python3 - "$out" "$rounds" "${names[@]}" <<'EOF'
import csv, pathlib, sys
out, rounds, names = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
cols, table = [], {}
for r in range(1, rounds + 1):
    for name in names:
        col = f"{name} r{r}"
        cols.append(col)
        path = out / f"{name}-r{r}.tsv"
        if not path.exists():
            continue
        with open(path, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                table.setdefault((row["n"], row["case"]), {})[col] = row["ms"]
with open(out / "summary.tsv", "w") as f:
    f.write("n\tcase\t" + "\t".join(cols) + "\n")
    for (n, case), v in table.items():
        f.write(f"{n}\t{case}\t" + "\t".join(v.get(c, "") for c in cols) + "\n")
print((out / "summary.tsv").read_text())
EOF
