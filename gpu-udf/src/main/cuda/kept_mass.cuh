// The accuracy certificate on the device: how much of its last queries' attention a head's block
// plan keeps (the CPU reference is io.prefill.sparse.KeptMass).
//
// For query head h and the last q = min(64, n) queries at positions p_a = n - q + a:
//   P[a][j] = exp(s_aj - m_a) / l_a,  s_aj = q_a . k_j / sqrt(D),  (m_a, l_a) the estimate's row
//   statistics (vs_row_stats + vs_row_combine: max and sum over every key j <= p_a);
//   kept_a  = sum of P[a][j] over the keys j <= p_a that the plan gives p_a's query block;
//   kept[h] = mean over a of kept_a.
// Work per head: S for 64 rows against the tiles of the last one or two query blocks' plans
// (~120 tiles of 64 keys for MInference's vertical-slash (1000, 6096); n/64 for a dense head):
// at most 2*64*n*D FLOPs, the cost of the estimate's row statistics, which it also needs.
#pragma once
#include "vertical_slash.cuh"

namespace pk {

constexpr int KEPT_SPLITS = 8;  // CTAs per head, each taking every KEPT_SPLITS-th tile

// grid (H, KEPT_SPLITS), 128 threads (warp w holds rows 16w .. 16w+15); dynamic shared memory
// 2 * 64 * D * 2 + 64 * 4 bytes. keptPart[(h * KEPT_SPLITS + split) * 64 + a] = this split's kept_a.
template <int D>
__device__ void kept_mass(const bf16* Q, const bf16* K, int H, int Hkv, int n, const float2* rowStat,
                          CsrPlan plan, float* keptPart) {
    extern __shared__ __align__(128) unsigned char smem[];
    constexpr int CH = D / 8;
    const uint32_t sQ = smem_u32(smem), sK = sQ + 64 * D * 2;
    int* sKey = reinterpret_cast<int*>(smem + 2 * 64 * D * 2);
    const int h = blockIdx.x, split = blockIdx.y;
    const int q = min(64, n), nqb = (n + 63) / 64;
    const bf16* Kh = K + (size_t)(h / (H / Hkv)) * n * D;
    uint32_t qf[D / 16][4];
    load_last_queries<D>(Q + (size_t)h * n * D, n, q, sQ, qf);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int a[2] = {warp * 16 + (lane >> 2), warp * 16 + (lane >> 2) + 8};
    float2 st[2];
    int pos[2];
    float kept[2] = {0.f, 0.f};
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        st[r] = rowStat[h * 64 + a[r]];
        pos[r] = a[r] < q ? n - q + a[r] : -1;  // -1: no such row (n < 64)
    }
    const float scale = rsqrtf((float)D);
    for (int qb = (n - q) / 64; qb < nqb; ++qb) {  // the one or two blocks holding the last rows
        TileCursor<> cursor;
        cursor.init(plan, h * nqb + qb);
        KeyTile t;
        for (int i = 0; cursor.next(t); ++i) {  // uniform across the CTA
            if (i % KEPT_SPLITS != split) continue;
            for (int c = threadIdx.x; c < 64 * CH; c += 128) {
                int r = c / CH, ch = c % CH;
                bool valid = r < t.count;
                int key = valid ? (t.gather ? plan.colData[t.start + r] : t.start + r) : 0;
                cp_async16(sK + swz<D>(r, ch), Kh + (size_t)key * D + ch * 8, valid);
            }
            if (threadIdx.x < 64) {
                int r = threadIdx.x;
                sKey[r] = r < t.count ? (t.gather ? plan.colData[t.start + r] : t.start + r) : INT_MAX;
            }
            cp_async_commit();
            cp_async_wait_all();
            __syncthreads();
            float s[8][4];
            qk_tile<D>(qf, sK, s);
#pragma unroll
            for (int j = 0; j < 8; ++j)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const int key = sKey[j * 8 + 2 * (lane & 3) + e];
#pragma unroll
                    for (int r = 0; r < 2; ++r) {
                        bool in = pos[r] >= 0 && pos[r] / 64 == qb && key <= pos[r];
                        if (in) kept[r] += expf(s[j][2 * r + e] * scale - st[r].x) / st[r].y;
                    }
                }
            __syncthreads();  // the next tile overwrites sK and sKey
        }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        kept[r] += __shfl_xor_sync(0xffffffffu, kept[r], 1);
        kept[r] += __shfl_xor_sync(0xffffffffu, kept[r], 2);
        if ((lane & 3) == 0) keptPart[((size_t)h * KEPT_SPLITS + split) * 64 + a[r]] = kept[r];
    }
}

// grid H, 64 threads: kept[h] = mean over the last q rows of the splits' sums (fixed order).
__device__ void kept_mass_combine(const float* keptPart, int n, double* kept) {
    __shared__ double rows[64];
    const int h = blockIdx.x, a = threadIdx.x, q = min(64, n);
    double sum = 0.0;
    for (int s = 0; s < KEPT_SPLITS; ++s) sum += keptPart[((size_t)h * KEPT_SPLITS + s) * 64 + a];
    rows[a] = a < q ? sum : 0.0;
    __syncthreads();
    if (a == 0) {
        double total = 0.0;
        for (int r = 0; r < q; ++r) total += rows[r];
        kept[h] = total / q;
    }
}

}  // namespace pk
