// E4M3 activations for the FP8 projections (gemm.cuh's gemm_fp8_wgmma_*): the tensor cores
// multiply E4M3 codes only, so each GEMM's input rows are quantised first, per row (token) and per
// call, the dynamic per-token scheme FP8 inference engines use with per-channel weight scales.
//
// quantize_rows_e4m3: for each row r of x [rows, cols] (bf16), scale[r] = max|x[r, :]| / 448 (1
// for an all-zero row), so the row's largest element maps to E4M3's largest value, and
// q[r, c] = E4M3(x[r, c] / scale[r]), rounded to the nearest code (ties to even), saturating.
// The division is IEEE (__fdiv_rn), as the cpu backend's float division, so both backends make
// the same codes from the same bf16 row. The GEMM's epilogue multiplies by scale[r] again.
//
// One 256-thread block per row (grid-stride over rows): the max pass reads the row, a block
// reduction gives the scale, the second pass re-reads it (from L1/L2: a row is at most 56 KB at
// 28672 columns) and writes 8 codes per thread step. Memory-bound: 2 + 1 bytes per element
// (plus the L2 re-read); cols must be a multiple of 16 (the FP8 GEMM's 16-byte rows).
#pragma once
#include <cuda_fp8.h>
#include "model_ops.cuh"

namespace fp8 {

template <bool V>
__device__ void quantize_rows_e4m3(const bf16* __restrict__ x, int rows, int cols, uint8_t* __restrict__ q,
                                   float* __restrict__ scale) {
    __shared__ float partial[32];
    const int units = cols >> 3, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const bf16* xr = x + r * cols;
        float m = 0.f;
        for (int u = threadIdx.x; u < units; u += blockDim.x) {
            float f[8];
            mo::load8<V>(xr + u * 8, f);
#pragma unroll
            for (int j = 0; j < 8; ++j) m = fmaxf(m, fabsf(f[j]));
        }
        m = mo::warp_max(m);
        if (lane == 0) partial[warp] = m;
        __syncthreads();
        float amax = 0.f;
        for (int w = 0; w < warps; ++w) amax = fmaxf(amax, partial[w]);
        const float s = amax > 0.f ? __fdiv_rn(amax, 448.f) : 1.f;
        if (threadIdx.x == 0) scale[r] = s;
        uint8_t* qr = q + r * cols;
        for (int u = threadIdx.x; u < units; u += blockDim.x) {
            float f[8];
            mo::load8<V>(xr + u * 8, f);
            uint32_t w[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const __nv_fp8x2_storage_t lo = __nv_cvt_float2_to_fp8x2(
                    make_float2(__fdiv_rn(f[4 * h], s), __fdiv_rn(f[4 * h + 1], s)), __NV_SATFINITE, __NV_E4M3);
                const __nv_fp8x2_storage_t hi = __nv_cvt_float2_to_fp8x2(
                    make_float2(__fdiv_rn(f[4 * h + 2], s), __fdiv_rn(f[4 * h + 3], s)), __NV_SATFINITE, __NV_E4M3);
                w[h] = (uint32_t)lo | ((uint32_t)hi << 16);
            }
            if constexpr (V) *reinterpret_cast<uint2*>(qr + u * 8) = make_uint2(w[0], w[1]);
            else
#pragma unroll
                for (int j = 0; j < 8; ++j) qr[u * 8 + j] = (uint8_t)(w[j >> 2] >> (8 * (j & 3)));
        }
        __syncthreads();  // partial[] is rewritten by the next row
    }
}

}  // namespace fp8

// quantize_rows_e4m3_k(x, rows, cols, q, scale): blocks of 256 threads, any grid (rows are grid-strided).
extern "C" __global__ void __launch_bounds__(256)
    quantize_rows_e4m3_k(const bf16* x, int rows, int cols, uint8_t* q, float* scale) {
    if (mo::al16(x) && (reinterpret_cast<uintptr_t>(q) & 7u) == 0) fp8::quantize_rows_e4m3<true>(x, rows, cols, q, scale);
    else fp8::quantize_rows_e4m3<false>(x, rows, cols, q, scale);
}
