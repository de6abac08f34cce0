// Block-sparse estimate: mean-pool Q and K over 64-row blocks, score pooled query block qb against
// pooled key blocks kb <= qb, keep the top-k key blocks per query block (block 0 and the diagonal
// block always, so k >= 2 is passed in), emit them as 64-key ranges. The plan has exactly
// min(k, qb+1) ranges per block, so its CSR pointers are closed-form.
// Numerics follow the CPU planner (io.prefill.sparse.BlockSparseEstimator) bit for bit: means
// summed in double and rounded to float, scores float(double dot * (1/sqrt(d))) with products
// and sums rounded separately in index order (no FMA contraction), so the GPU plan is identical.
#pragma once
#include "vertical_slash.cuh"

namespace pk {

// grid (nqb, H + Hkv), D threads: pooled[(head) * nqb + qb][d], Q heads first then K heads.
template <int D>
__device__ void mean_pool(const bf16* Q, const bf16* K, int H, int Hkv, int n, float* pooledQ,
                          float* pooledK) {
    const int qb = blockIdx.x, hh = blockIdx.y, d = threadIdx.x, nqb = gridDim.x;
    const bool isQ = hh < H;
    const bf16* src = isQ ? Q + (size_t)hh * n * D : K + (size_t)(hh - H) * n * D;
    const int r0 = qb * 64, r1 = min(r0 + 64, n);
    double acc = 0.0;
    for (int r = r0; r < r1; ++r) acc = __dadd_rn(acc, (double)__bfloat162float(src[(size_t)r * D + d]));
    float* dst = isQ ? pooledQ + ((size_t)hh * nqb + qb) * D : pooledK + ((size_t)(hh - H) * nqb + qb) * D;
    dst[d] = __double2float_rn(__ddiv_rn(acc, (double)(r1 - r0)));
}

__device__ __forceinline__ long long bs_prefix(long long qb, long long k) {
    // sum_{x < qb} min(k, x + 1)
    return qb <= k ? qb * (qb + 1) / 2 : k * (k + 1) / 2 + (qb - k) * k;
}

// One thread per (h, qb) (+1): rangePtr for the closed-form plan; colPtr all zero.
__device__ void bs_plan_pointers(int H, int nqb, int k, int* rangePtr, int* colPtr) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx > H * nqb) return;
    const long long perHead = bs_prefix(nqb, k);
    const int h = idx / nqb, qb = idx % nqb;
    rangePtr[idx] = (int)(h * perHead + bs_prefix(qb, k));
    colPtr[idx] = 0;
}

// grid (nqb, H), 256 threads, dynamic smem nqb * 4 bytes (+ D floats): scores then top-k.
template <int D>
__device__ void bs_select(const float* pooledQ, const float* pooledK, int H, int Hkv, int n, int k,
                          const int* rangePtr, int* rangeData) {
    extern __shared__ __align__(128) unsigned char smem[];
    float* pq = reinterpret_cast<float*>(smem);
    uint32_t* keys = reinterpret_cast<uint32_t*>(smem + D * 4);
    const int qb = blockIdx.x, h = blockIdx.y, nqb = gridDim.x;
    const int kvh = h / (H / Hkv);
    for (int d = threadIdx.x; d < D; d += blockDim.x) pq[d] = pooledQ[((size_t)h * nqb + qb) * D + d];
    __syncthreads();
    const float* pk = pooledK + (size_t)kvh * nqb * D;
    const double scale = 1.0 / sqrt((double)D);
    for (int kb = threadIdx.x; kb <= qb; kb += blockDim.x) {
        const float4* row = reinterpret_cast<const float4*>(pk + (size_t)kb * D);
        double acc = 0.0;
#pragma unroll 4
        for (int d4 = 0; d4 < D / 4; ++d4) {
            float4 v = row[d4];
            acc = __dadd_rn(acc, __dmul_rn((double)pq[4 * d4], (double)v.x));
            acc = __dadd_rn(acc, __dmul_rn((double)pq[4 * d4 + 1], (double)v.y));
            acc = __dadd_rn(acc, __dmul_rn((double)pq[4 * d4 + 2], (double)v.z));
            acc = __dadd_rn(acc, __dmul_rn((double)pq[4 * d4 + 3], (double)v.w));
        }
        float score = __double2float_rn(__dmul_rn(acc, scale));
        keys[kb] = (kb == 0 || kb == qb) ? KEY_FORCED : order_key(score);
    }
    __syncthreads();
    const int take = min(k, qb + 1);
    int* out = rangeData + 2 * (size_t)rangePtr[h * nqb + qb];
    // indices first (into the second half of the output slot), then expand to ranges in place
    int* idx = out + take;
    block_topk<256>([&](int i) { return keys[i]; }, qb + 1, take, idx);
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int r = 0; r < take; ++r) {  // forward walk: idx[r] lives at out[take + r] >= out[2r+1]
            int kb = idx[r];
            out[2 * r] = kb * 64;
            out[2 * r + 1] = min(kb * 64 + 64, n);
        }
    }
}

}  // namespace pk
