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

// grid (nqb, H / hg), 256 threads, dynamic smem hg * (D + nqb) * 4 bytes: the hg query heads of
// one CTA share a KV head (hg divides H / Hkv), so each pooled key row read from L2 feeds hg dot
// products; at long n these reads, not the arithmetic, set the time.
constexpr int BS_MAX_HEADS_PER_CTA = 8;

template <int D>
__device__ void bs_select(const float* pooledQ, const float* pooledK, int H, int Hkv, int n, int k,
                          int hg, const int* rangePtr, int* rangeData) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int qb = blockIdx.x, nqb = gridDim.x, h0 = blockIdx.y * hg;
    float* pq = reinterpret_cast<float*>(smem);                      // [hg][D]
    uint32_t* keys = reinterpret_cast<uint32_t*>(smem + hg * D * 4);  // [hg][nqb]
    const int kvh = h0 / (H / Hkv);
    for (int x = threadIdx.x; x < hg * D; x += blockDim.x)
        pq[x] = pooledQ[((size_t)(h0 + x / D) * nqb + qb) * D + x % D];
    __syncthreads();
    const float* pk = pooledK + (size_t)kvh * nqb * D;
    const double scale = 1.0 / sqrt((double)D);
    for (int kb = threadIdx.x; kb <= qb; kb += blockDim.x) {
        const float4* row = reinterpret_cast<const float4*>(pk + (size_t)kb * D);
        double acc[BS_MAX_HEADS_PER_CTA];
#pragma unroll
        for (int g = 0; g < BS_MAX_HEADS_PER_CTA; ++g) acc[g] = 0.0;
#pragma unroll 2
        for (int d4 = 0; d4 < D / 4; ++d4) {
            float4 v = row[d4];  // read once, used by every head of the CTA
#pragma unroll
            for (int g = 0; g < BS_MAX_HEADS_PER_CTA; ++g) {
                if (g >= hg) break;
                const float* q = pq + g * D + 4 * d4;
                acc[g] = __dadd_rn(acc[g], __dmul_rn((double)q[0], (double)v.x));
                acc[g] = __dadd_rn(acc[g], __dmul_rn((double)q[1], (double)v.y));
                acc[g] = __dadd_rn(acc[g], __dmul_rn((double)q[2], (double)v.z));
                acc[g] = __dadd_rn(acc[g], __dmul_rn((double)q[3], (double)v.w));
            }
        }
#pragma unroll
        for (int g = 0; g < BS_MAX_HEADS_PER_CTA; ++g) {
            if (g >= hg) break;
            float score = __double2float_rn(__dmul_rn(acc[g], scale));
            keys[g * nqb + kb] = (kb == 0 || kb == qb) ? KEY_FORCED : order_key(score);
        }
    }
    __syncthreads();
    const int take = min(k, qb + 1);
    for (int g = 0; g < hg; ++g) {
        int* out = rangeData + 2 * (size_t)rangePtr[(h0 + g) * nqb + qb];
        // indices first (into the second half of the output slot), then expand to ranges in place
        int* idx = out + take;
        const uint32_t* kg = keys + g * nqb;
        block_topk<256>([&](int i) { return kg[i]; }, qb + 1, take, idx);
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int r = 0; r < take; ++r) {  // forward walk: idx[r] lives at out[take + r] >= out[2r+1]
                int kb = idx[r];
                out[2 * r] = kb * 64;
                out[2 * r + 1] = min(kb * 64 + 64, n);
            }
        }
        __syncthreads();
    }
}

}  // namespace pk
