#!/usr/bin/env bash
# Compiles prefill_kernels.cu into one fatbin (sm_80, sm_86, sm_89, sm_90, sm_90a SASS + compute_90 PTX)
# and writes it with a status note into the classes directory given as $1, e.g.
#   build-kernels.sh gpu-udf/target/classes
# Without nvcc it writes only the note and exits 0, so CPU-only builds keep working; the CUDA
# backend reads the note to say why kernels are missing. NVCC=/path/to/nvcc overrides the lookup.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_root="${1:?usage: build-kernels.sh <classes-dir>}"
out_dir="$out_root/io/prefill/cuda"
fatbin="$out_dir/prefill-kernels.fatbin"
status="$out_dir/prefill-kernels.status"
mkdir -p "$out_dir"

nvcc_bin="${NVCC:-}"
if [[ -z "$nvcc_bin" ]]; then
  nvcc_bin="$(command -v nvcc || true)"
  [[ -z "$nvcc_bin" && -x /usr/local/cuda/bin/nvcc ]] && nvcc_bin=/usr/local/cuda/bin/nvcc
fi
if [[ -z "$nvcc_bin" ]]; then
  rm -f "$fatbin"
  echo "kernels were not built (nvcc was not found at build time)" > "$status"
  echo "[build-kernels] NOTE: nvcc not found; CUDA kernels were not built. CPU backend unaffected."
  exit 0
fi

# Up to date: skip (nvcc takes ~1-2 min on 2 cores for all targets).
if [[ -f "$fatbin" ]]; then
  newer="$(find "$here" -name '*.cu*' -newer "$fatbin" | head -1)"
  if [[ -z "$newer" ]]; then
    echo "[build-kernels] $fatbin is up to date"
    exit 0
  fi
fi

# sm_90a: Hopper's arch-specific build, where gemm.cuh's gemm_wgmma_* kernels use wgmma (in every
# other build they run the mma.sync code; gemm_wgmma_probe tells which one the driver loaded).
archs=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86
       -gencode arch=compute_89,code=sm_89 -gencode "arch=compute_90,code=[sm_90,compute_90]"
       -gencode arch=compute_90a,code=sm_90a)
jobs="$(nproc 2>/dev/null || echo 2)"
echo "[build-kernels] $("$nvcc_bin" --version | tail -1)"
tmp="$fatbin.tmp"
"$nvcc_bin" -fatbin -O3 -std=c++17 --threads "$jobs" "${archs[@]}" -o "$tmp" "$here/prefill_kernels.cu"
mv "$tmp" "$fatbin"
echo "kernels built by $("$nvcc_bin" --version | tail -1) for sm_80 sm_86 sm_89 sm_90 sm_90a +compute_90 PTX" > "$status"
echo "[build-kernels] wrote $fatbin ($(wc -c < "$fatbin") bytes)"
