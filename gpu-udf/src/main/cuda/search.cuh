// Reductions of the offline pattern search (io.prefill.cuda.search): how far a candidate plan's
// attention output is from dense, per head, and how much dense softmax mass the plan keeps.
#pragma once
#include "common.cuh"

namespace pk {

// grid (chunks, H), 256 threads: diffSq[h] += sum (a - ref)^2 and refSq[h] += sum ref^2 over head
// h's elements [from, perHead) (bf16; perHead and from multiples of 8: 16-byte loads; from > 0 scores
// the last rows only). Doubles: 2^31 squares per head.
__device__ void head_sq_diff(const bf16* a, const bf16* ref, long long perHead, long long from, double* diffSq,
                             double* refSq) {
    const int h = blockIdx.y;
    const uint4* pa = reinterpret_cast<const uint4*>(a + (size_t)h * perHead + from);
    const uint4* pr = reinterpret_cast<const uint4*>(ref + (size_t)h * perHead + from);
    double dd = 0, rr = 0;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (perHead - from) / 8;
         i += (long long)gridDim.x * blockDim.x) {
        uint4 va = pa[i], vr = pr[i];
        const __nv_bfloat162* xa = reinterpret_cast<const __nv_bfloat162*>(&va);
        const __nv_bfloat162* xr = reinterpret_cast<const __nv_bfloat162*>(&vr);
        float d2 = 0, r2 = 0;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            float2 fa = __bfloat1622float2(xa[j]), fr = __bfloat1622float2(xr[j]);
            d2 += (fa.x - fr.x) * (fa.x - fr.x) + (fa.y - fr.y) * (fa.y - fr.y);
            r2 += fr.x * fr.x + fr.y * fr.y;
        }
        dd += d2;
        rr += r2;
    }
    for (int x = 16; x > 0; x >>= 1) {
        dd += __shfl_xor_sync(0xffffffffu, dd, x);
        rr += __shfl_xor_sync(0xffffffffu, rr, x);
    }
    __shared__ double part[2][8];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    if (lane == 0) { part[0][warp] = dd; part[1][warp] = rr; }
    __syncthreads();
    if (threadIdx.x == 0) {
        double sd = 0, sr = 0;
        for (int w = 0; w < (int)(blockDim.x >> 5); ++w) { sd += part[0][w]; sr += part[1][w]; }
        atomicAdd(diffSq + h, sd);
        atomicAdd(refSq + h, sr);
    }
}

// One thread per (head, sampled row): recall[h] += exp2(lsePlan - lseDense), the dense softmax
// mass inside the plan (both log2 denominators; the plan's keys are a subset of the causal ones).
__device__ void recall_rows(const float* lsePlan, const float* lseDense, const int* rows, int m, int H, int n,
                            double* recall) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= m * H) return;
    const int h = idx / m, r = rows[idx % m];
    const float diff = lsePlan[(size_t)h * n + r] - lseDense[(size_t)h * n + r];
    atomicAdd(recall + h, diff >= 0.f ? 1.0 : exp2((double)diff));
}

}  // namespace pk
