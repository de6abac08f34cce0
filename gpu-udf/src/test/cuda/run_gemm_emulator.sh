#!/usr/bin/env bash
# Builds and runs the host emulation of gemm.cuh (see gemm_emulator.cpp); no GPU needed.
#   run_gemm_emulator.sh [--quick]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${TMPDIR:-/tmp}/gemm_emulator"
"${CXX:-g++}" -std=c++20 -O2 -Wall -Wno-unknown-pragmas -o "$bin" "$here/gemm_emulator.cpp"
"$bin" "$@"
