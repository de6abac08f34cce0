// Block-sparse estimate: mean-pool Q and K over 64-row blocks, score pooled query block qb against
// pooled key blocks kb <= qb, keep the top-k key blocks per query block (block 0 and the diagonal
// block always, so k >= 2 is passed in), emit them as 64-key ranges. The plan has exactly
// min(k, qb+1) ranges per block, so its CSR pointers are closed-form.
// Numerics follow the CPU planner (io.prefill.sparse.BlockSparseEstimator) bit for bit: means
// summed in double and rounded to float, scores float(double dot * (1/sqrt(d))) with the dot
// product summed in double in index order, so the GPU plan is identical.
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

// Block scores and their top-k, in two kernels over passes of rows (BlockSparseGpu sizes the
// passes to a scratch bound): bs_block_scores writes every causal score of the pass's rows as an
// order key, bs_row_topk selects each row's kept blocks from them.
//
// Cost at n = 512K (nqb = 8192, 32 heads, d = 128): the causal scores are 32 * nqb(nqb+1)/2 =
// 1.07e9 dot products of 128, 1.37e11 FP64 multiply-adds. The CPU's sum (double products of two
// floats, which are exact in double, added in index order) is reproduced by one DFMA per term,
// fma(q, k, acc) = round(q * k + acc) = the CPU's round(acc + q * k) since q * k is exact, so the
// floor is the FP64 pipe: 64 DFMA per clock per SM, 1.37e11 / (132 * 64 * 1.98e9) = 8.2 ms. A
// 64 x 64 tile per CTA feeds each pooled row it stages to 64 dot products (the earlier fused
// kernel fed each pooled key row to the 1-8 heads of its CTA and held one CTA of 8 warps per SM
// for the row's keys in shared memory: 127 ms at 512K). The keys, 4 bytes per causal block pair
// (4.3 GB at 512K for all heads), go through global memory in passes; the top-k re-reads a row's
// keys (at most 4 * nqb bytes) from L2 in its radix passes.
// Measured (H200, EstimateBenchmark, Nsight Compute per kernel): at 512K the whole estimate + plan
// takes 26.0 ms (the fused kernel: 128.7), of which block scores 16.6 ms (51% of the FP64 pipe's
// peak; 19.4 ms with 4 x 4 outputs per thread; 8 x 8 gave 26.4 ms in all against 25.8 in one
// call), top-k 7.6 ms, pooling 1.6 ms.

// Keys before row x of one head: sum over qb < x of (qb + 1).
__device__ __forceinline__ long long bs_keys_before(long long x) { return x * (x + 1) / 2; }

// A thread's outputs: BS_TR rows x BS_TC columns of the 64 x 64 tile.
constexpr int BS_TILE = 64, BS_SLICE = 32, BS_TR = 8, BS_TC = 4;
constexpr int BS_TX = BS_TILE / BS_TC, BS_THREADS = BS_TX * (BS_TILE / BS_TR);

// grid (tiles of rows [row0, rowEnd) in causal order: row tile rt holds rt + 1 column tiles, hp
// heads from h0), BS_THREADS threads: the order keys of rows [row0, rowEnd) of heads h0.. into
// keys[(h - h0) * headStride + bs_keys_before(qb) - bs_keys_before(row0) + kb]; block 0 and the
// diagonal block get KEY_FORCED. row0 is a multiple of BS_TILE.
template <int D>
__device__ void bs_block_scores(const float* pooledQ, const float* pooledK, int H, int Hkv, int nqb, int h0,
                                int row0, int rowEnd, uint32_t* keys, long long headStride) {
    static_assert(D % BS_SLICE == 0, "head width must be a multiple of the staged slice");
    __shared__ __align__(16) double sQ[BS_SLICE][BS_TILE];  // [d][row]: a thread's 4 rows are one double2 pair
    __shared__ __align__(16) double sK[BS_SLICE][BS_TILE];
    // tile index -> (row tile rt, column tile ct <= rt), counting from row tile rt0
    const long long rt0 = row0 / BS_TILE, x = blockIdx.x + bs_keys_before(rt0);
    long long rt = (long long)((sqrt(8.0 * (double)x + 1.0) - 1.0) * 0.5);
    while (bs_keys_before(rt + 1) <= x) ++rt;
    while (bs_keys_before(rt) > x) --rt;
    const int ct = (int)(x - bs_keys_before(rt));
    const int h = h0 + blockIdx.y, kvh = h / (H / Hkv);
    const int qBase = (int)rt * BS_TILE, kBase = ct * BS_TILE;
    const float* q = pooledQ + ((size_t)h * nqb + qBase) * D;
    const float* k = pooledK + ((size_t)kvh * nqb + kBase) * D;
    // rows BS_TR ty ..; column pairs 2tx + 2 BS_TX p (a warp's BS_TX pairs of one p are one
    // contiguous run; its row groups broadcast). Per d: BS_TR / 2 + BS_TC / 2 double2 loads for
    // BS_TR * BS_TC DFMA.
    const int tx = threadIdx.x % BS_TX, ty = threadIdx.x / BS_TX;
    auto column = [&](int j) { return 2 * tx + (j & 1) + 2 * BS_TX * (j >> 1); };
    double acc[BS_TR][BS_TC];
#pragma unroll
    for (int i = 0; i < BS_TR; ++i)
#pragma unroll
        for (int j = 0; j < BS_TC; ++j) acc[i][j] = 0.0;
    for (int d0 = 0; d0 < D; d0 += BS_SLICE) {
        // stage 64 rows x BS_SLICE of Q and K as doubles, [d][row]: a warp stores 32 rows of one d
        for (int e = threadIdx.x; e < BS_TILE * BS_SLICE / 4; e += blockDim.x) {
            const int r = e % BS_TILE, d4 = e / BS_TILE;
            const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
            const float4 a = qBase + r < nqb ? *reinterpret_cast<const float4*>(q + (size_t)r * D + d0 + 4 * d4) : zero;
            const float4 b = kBase + r < nqb ? *reinterpret_cast<const float4*>(k + (size_t)r * D + d0 + 4 * d4) : zero;
            sQ[4 * d4][r] = a.x; sQ[4 * d4 + 1][r] = a.y; sQ[4 * d4 + 2][r] = a.z; sQ[4 * d4 + 3][r] = a.w;
            sK[4 * d4][r] = b.x; sK[4 * d4 + 1][r] = b.y; sK[4 * d4 + 2][r] = b.z; sK[4 * d4 + 3][r] = b.w;
        }
        __syncthreads();
#pragma unroll 4
        for (int dd = 0; dd < BS_SLICE; ++dd) {
            double a[BS_TR], b[BS_TC];
#pragma unroll
            for (int i = 0; i < BS_TR; i += 2) {
                const double2 x = *reinterpret_cast<const double2*>(&sQ[dd][BS_TR * ty + i]);
                a[i] = x.x;
                a[i + 1] = x.y;
            }
#pragma unroll
            for (int j = 0; j < BS_TC; j += 2) {
                const double2 x = *reinterpret_cast<const double2*>(&sK[dd][column(j)]);
                b[j] = x.x;
                b[j + 1] = x.y;
            }
#pragma unroll
            for (int i = 0; i < BS_TR; ++i)
#pragma unroll
                for (int j = 0; j < BS_TC; ++j) acc[i][j] = __fma_rn(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
    const double scale = 1.0 / sqrt((double)D);
    uint32_t* out = keys + (size_t)blockIdx.y * headStride - bs_keys_before(row0);
#pragma unroll
    for (int i = 0; i < BS_TR; ++i) {
        const int qb = qBase + BS_TR * ty + i;
        if (qb >= rowEnd) break;
        uint32_t* row = out + bs_keys_before(qb);
#pragma unroll
        for (int j = 0; j < BS_TC; ++j) {
            const int kb = kBase + column(j);
            if (kb > qb) break;
            row[kb] = kb == 0 || kb == qb ? KEY_FORCED : order_key(__double2float_rn(__dmul_rn(acc[i][j], scale)));
        }
    }
}

// grid (rowEnd - row0, hp), 256 threads: row qb = row0 + blockIdx.x of head h0 + blockIdx.y keeps
// its min(k, qb + 1) best key blocks (ties to the smaller block), written as 64-key ranges in
// ascending order at its closed-form place in the plan (bs_plan_pointers).
__device__ void bs_row_topk(const uint32_t* keys, long long headStride, int nqb, int n, int k, int h0, int row0,
                            const int* rangePtr, int* rangeData) {
    constexpr int NT = 256;
    const int qb = row0 + blockIdx.x, h = h0 + blockIdx.y, take = min(k, qb + 1);
    const uint32_t* row = keys + (size_t)blockIdx.y * headStride + (bs_keys_before(qb) - bs_keys_before(row0));
    int* out = rangeData + 2 * (size_t)rangePtr[(size_t)h * nqb + qb];
    // indices first (into the second half of the output slot), then expanded to ranges in place
    block_topk<NT>([&](int i) { return row[i]; }, qb + 1, take, out + take);
    __syncthreads();
    // index r sits at out[take + r]; chunk c's ranges reach out[2(c+1)NT) at most, and the indices
    // of later chunks start at out[take + (c+1)NT], beyond it unless chunk c is the last: so each
    // chunk is read, then written
    for (int c0 = 0; c0 < take; c0 += NT) {
        const int r = c0 + threadIdx.x;
        const int kb = r < take ? out[take + r] : 0;
        __syncthreads();
        if (r < take) {
            out[2 * r] = kb * 64;
            out[2 * r + 1] = min(kb * 64 + 64, n);
        }
        __syncthreads();
    }
}

}  // namespace pk
