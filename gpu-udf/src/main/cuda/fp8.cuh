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
//
// The same body quantises rows that another kernel would have written as bf16 first, made where
// they are read instead (a row source: the bf16 values, 8 at a time, recomputed in each pass):
//  - rmsnorm_e4m3_k: the RMSNorm of fp32 rows (model_ops.cuh's rmsnorm with a bf16 output, the
//    same per-thread sums and reduction order for the same block size, so the same bf16 values);
//  - heads_to_rows_e4m3_k: the token-major rows of the head-major attention output (heads_to_rows).
// Each gives the codes and scales of that kernel followed by quantize_rows_e4m3_k, bit for bit
// (Fp8FusedQuantisationGpuTest), without writing the bf16 rows and reading them back: per element
// 4 + 1 bytes instead of 4 + 2 + 2 + 1 (RMSNorm), 2 + 1 instead of 2 + 2 + 2 + 1 (heads to rows).
#pragma once
#include <cuda_fp8.h>
#include "model_ops.cuh"

namespace fp8 {

// The row source of quantize_rows_e4m3_k: row r of a bf16 [rows, cols] matrix.
template <bool V>
struct Bf16Rows {
    const bf16* x;
    int cols;
    __device__ void begin(long long, float*) const {}
    __device__ void load8(long long r, int u, float* f) const { mo::load8<V>(x + r * cols + u * 8, f); }
};

// RMSNorm of fp32 rows x [rows, cols] with weight w [cols], rounded to bf16 as rmsnorm_bf16_k
// stores it: begin() forms the row's 1 / rms exactly as mo::rmsnorm does for a block of the same
// size (one warp's sums for a row of at most RMS_WARP_DIM, else every thread's), into part[0].
template <bool V>
struct RmsNormRows {
    const float* x;
    const float* w;
    int cols;
    float eps;
    __device__ void begin(long long r, float* part) {
        const int cpr = cols >> 3, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
        const float* xr = x + r * cols;
        float ss = 0.f;
        if (cols <= mo::RMS_WARP_DIM) {
            if (warp == 0) {
                ss = mo::warp_sum(mo::sum_squares<V>(xr, cpr, lane, 32));
                if (lane == 0) part[0] = ss;
            }
            __syncthreads();
            ss = part[0];
        } else {
            const float s = mo::warp_sum(mo::sum_squares<V>(xr, cpr, threadIdx.x, blockDim.x));
            if (lane == 0) part[warp] = s;
            __syncthreads();
            for (int i = 0; i < nw; ++i) ss += part[i];
        }
        __syncthreads();  // part[] is the max pass's next
        inv = mo::inv_rms(ss, cols, eps);
    }
    __device__ void load8(long long r, int u, float* f) const {
        float g[8];
        mo::load8<V>(x + r * cols + u * 8, f);
        mo::load8<V>(w + u * 8, g);
#pragma unroll
        for (int j = 0; j < 8; ++j) f[j] = __bfloat162float(__float2bfloat16_rn((f[j] * inv) * g[j]));
    }
    float inv = 0.f;
};

// Row r of the token-major chunk heads_to_rows makes from the head-major attention output O
// [H, n, dPad]: element h * d + e is O[h, row0 + r, e].
template <bool V>
struct HeadsRows {
    const bf16* O;
    int n, d, dPad, row0;
    __device__ void begin(long long, float*) const {}
    __device__ void load8(long long r, int u, float* f) const {
        const int cph = d >> 3, h = u / cph, c = u - h * cph;
        mo::load8<V>(O + (static_cast<long long>(h) * n + row0 + r) * dPad + c * 8, f);
    }
};

// q, scale of rows [0, rows) of src, cols columns each (see the top of this file).
template <bool V, class Rows>
__device__ void quantize_rows_e4m3(Rows src, int rows, int cols, uint8_t* __restrict__ q, float* __restrict__ scale) {
    __shared__ float partial[32];
    const int units = cols >> 3, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        src.begin(r, partial);
        float m = 0.f;
        for (int u = threadIdx.x; u < units; u += blockDim.x) {
            float f[8];
            src.load8(r, u, f);
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
            src.load8(r, u, f);
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

// Blocks of 256 threads, any grid (rows are grid-strided); rmsnorm_e4m3_k's block size must be
// rmsnorm_bf16_k's for the same sums (ModelKernels launches both with 256).
extern "C" __global__ void __launch_bounds__(256)
    quantize_rows_e4m3_k(const bf16* x, int rows, int cols, uint8_t* q, float* scale) {
    if (mo::al16(x) && (reinterpret_cast<uintptr_t>(q) & 7u) == 0)
        fp8::quantize_rows_e4m3<true>(fp8::Bf16Rows<true>{x, cols}, rows, cols, q, scale);
    else fp8::quantize_rows_e4m3<false>(fp8::Bf16Rows<false>{x, cols}, rows, cols, q, scale);
}

extern "C" __global__ void __launch_bounds__(256)
    rmsnorm_e4m3_k(const float* x, const float* w, int rows, int dim, float eps, uint8_t* q, float* scale) {
    if (mo::al16(x) && mo::al16(w) && (reinterpret_cast<uintptr_t>(q) & 7u) == 0)
        fp8::quantize_rows_e4m3<true>(fp8::RmsNormRows<true>{x, w, dim, eps}, rows, dim, q, scale);
    else fp8::quantize_rows_e4m3<false>(fp8::RmsNormRows<false>{x, w, dim, eps}, rows, dim, q, scale);
}

extern "C" __global__ void __launch_bounds__(256)
    heads_to_rows_e4m3_k(const bf16* O, int H, int n, int d, int dPad, int row0, int rows, uint8_t* q, float* scale) {
    if (mo::al16(O) && (reinterpret_cast<uintptr_t>(q) & 7u) == 0)
        fp8::quantize_rows_e4m3<true>(fp8::HeadsRows<true>{O, n, d, dPad, row0}, rows, H * d, q, scale);
    else fp8::quantize_rows_e4m3<false>(fp8::HeadsRows<false>{O, n, d, dPad, row0}, rows, H * d, q, scale);
}
