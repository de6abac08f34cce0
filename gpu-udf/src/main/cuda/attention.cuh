// Flash attention (FA2-style) over a list of 64-key tiles: dense causal, or any block plan.
//
// Layout (all row-major, bf16): Q and O [heads, n, D], K and V [kvHeads, n, D]; query head h
// reads kv head h / (heads / kvHeads). One CTA = one head x BM = 16*WARPS query rows; each warp
// owns 16 rows, keeps its Q fragments and the O accumulator (fp32) in registers, and walks the
// key tiles with an online softmax. K/V tiles are double-buffered with cp.async; S = Q K^T and
// O += P V use mma.sync m16n8k16 with ldmatrix from an XOR-swizzled tile.
//
// Cost (dense causal, per head): 4*D*n*(n+1)/2 FLOPs (two GEMMs) against ~ 4*n*D*2 bytes of
// compulsory traffic (Q, K, V, O once): at n = 32K, D = 128 that is 2^40/2 FLOPs vs 32 MiB, so
// the kernel is bound by tensor-core issue and shared-memory bandwidth, not by HBM.
//
// Tiles come from a per-(head, 64-row query block) plan in CSR form:
//   ranges: rangePtr[h*nqb + qb] .. rangePtr[h*nqb + qb + 1] index pairs (start, end) in rangeData
//   columns: colPtr[...] .. colPtr[... + 1] sorted key indices in colData (gathered 64 at a time)
// A range is cut into 64-key tiles (its start need not be 64-aligned); columns are gathered.
// The causal mask j <= i is applied to every tile that reaches past the block's first row.
#pragma once
#include "common.cuh"
#include <limits.h>

namespace pk {

struct KeyTile {
    int start;   // first key (contiguous) or index into colData (gathered)
    int count;   // 1..64 keys
    int lastKey; // largest key in the tile
    bool gather;
};

// Walks the ranges then the gathered columns of one query block, 64 keys at a time.
struct TileCursor {
    const int* rangeData;
    const int* colData;
    int ri, rEnd, pos, end, ci, cEnd;

    __device__ void init(const int* rd, int rBeg, int rEnd_, const int* cd, int cBeg, int cEnd_) {
        rangeData = rd; colData = cd; ri = rBeg; rEnd = rEnd_; ci = cBeg; cEnd = cEnd_;
        pos = 0; end = 0;
        if (ri < rEnd) { pos = rangeData[2 * ri]; end = rangeData[2 * ri + 1]; }
    }
    __device__ bool next(KeyTile& t) {
        while (ri < rEnd) {
            if (pos < end) {
                t.gather = false; t.start = pos; t.count = min(64, end - pos);
                t.lastKey = pos + t.count - 1; pos += t.count;
                return true;
            }
            if (++ri < rEnd) { pos = rangeData[2 * ri]; end = rangeData[2 * ri + 1]; }
        }
        if (ci < cEnd) {
            t.gather = true; t.start = ci; t.count = min(64, cEnd - ci);
            t.lastKey = colData[ci + t.count - 1]; ci += t.count;
            return true;
        }
        return false;
    }
};

// S[16 x 64] = Q_warp[16 x D] * K_tile[64 x D]^T for this warp's 16 rows (fragments in qf).
template <int D>
__device__ __forceinline__ void qk_tile(const uint32_t (*qf)[4], uint32_t sK, float (*s)[4]) {
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int j = 0; j < 8; ++j) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
        for (int np = 0; np < 4; ++np) {
            int mi = lane >> 3;
            int row = np * 16 + (mi >> 1) * 8 + (lane & 7);
            int ch = kk * 2 + (mi & 1);
            uint32_t b0, b1, b2, b3;
            ldsm_x4(b0, b1, b2, b3, sK + swz<D>(row, ch));
            mma16816(s[2 * np], qf[kk], b0, b1);
            mma16816(s[2 * np + 1], qf[kk], b2, b3);
        }
    }
}

// Q fragments of this warp's 16 rows from a swizzled [rows][D] tile.
template <int D>
__device__ __forceinline__ void load_q_frags(uint32_t sQ, uint32_t (*qf)[4]) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
        int mi = lane >> 3;
        int row = warp * 16 + (mi & 1) * 8 + (lane & 7);
        int ch = kk * 2 + (mi >> 1);
        ldsm_x4(qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], sQ + swz<D>(row, ch));
    }
}

template <int D, int WARPS>
struct AttnSmem {
    static constexpr int BM = 16 * WARPS;
    static constexpr int BYTES = BM * D * 2 + 4 * 64 * D * 2 + 2 * 64 * 4;
};

template <int D, int WARPS>
__device__ __forceinline__ void load_kv_tile(const KeyTile& t, const int* colData, const bf16* Kh,
                                             const bf16* Vh, uint32_t sK, uint32_t sV, int* sKey) {
    constexpr int CH = D / 8, NT = WARPS * 32;
    for (int c = threadIdx.x; c < 64 * CH; c += NT) {
        int r = c / CH, ch = c % CH;
        bool valid = r < t.count;
        int key = valid ? (t.gather ? colData[t.start + r] : t.start + r) : 0;
        uint32_t off = swz<D>(r, ch);
        cp_async16(sK + off, Kh + (size_t)key * D + ch * 8, valid);
        cp_async16(sV + off, Vh + (size_t)key * D + ch * 8, valid);
    }
    if (threadIdx.x < 64) {
        int r = threadIdx.x;
        sKey[r] = r < t.count ? (t.gather ? colData[t.start + r] : t.start + r) : INT_MAX;
    }
}

// PLAN=false: dense causal, BM-row blocks, keys [0, min(r0+BM, n)).
// PLAN=true: BM must be 64 (the plan's block), tiles from the CSR plan.
template <int D, int WARPS, bool PLAN>
__device__ void attention_block(const bf16* __restrict__ Q, const bf16* __restrict__ K,
                                const bf16* __restrict__ V, bf16* __restrict__ O, int H, int Hkv,
                                int n, float scaleLog2, const int* __restrict__ rangePtr,
                                const int* __restrict__ rangeData, const int* __restrict__ colPtr,
                                const int* __restrict__ colData) {
    constexpr int BM = 16 * WARPS, CH = D / 8, NT = WARPS * 32;
    constexpr int KT = D / 16;  // k-steps over head_dim
    constexpr int DT = D / 8;   // 8-wide output column tiles
    extern __shared__ __align__(128) unsigned char smem[];
    const uint32_t sQ = smem_u32(smem);
    const uint32_t sK0 = sQ + BM * D * 2;
    const uint32_t sV0 = sK0 + 2 * 64 * D * 2;
    int* sKey = reinterpret_cast<int*>(smem + BM * D * 2 + 4 * 64 * D * 2);

    const int h = blockIdx.x;
    const int nqb = gridDim.y;
    const int qb = nqb - 1 - blockIdx.y;  // longest causal rows first
    const int r0 = qb * BM;
    const int kvh = h / (H / Hkv);
    const bf16* Qh = Q + (size_t)h * n * D;
    const bf16* Kh = K + (size_t)kvh * n * D;
    const bf16* Vh = V + (size_t)kvh * n * D;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

    TileCursor cur;
    if (PLAN) {
        int idx = h * nqb + qb;
        cur.init(rangeData, rangePtr[idx], rangePtr[idx + 1], colData, colPtr[idx], colPtr[idx + 1]);
    } else {
        // one implicit range [0, kEnd): rangeData unused, emulate through pos/end
        cur.rangeData = nullptr; cur.colData = nullptr;
        cur.ri = 0; cur.rEnd = 1; cur.pos = 0; cur.end = min(r0 + BM, n); cur.ci = 0; cur.cEnd = 0;
    }

    for (int c = tid; c < BM * CH; c += NT) {
        int r = c / CH, ch = c % CH;
        bool valid = r0 + r < n;
        cp_async16(sQ + swz<D>(r, ch), Qh + (size_t)(valid ? r0 + r : 0) * D + ch * 8, valid);
    }
    KeyTile t;
    bool have = cur.next(t);
    if (have) load_kv_tile<D, WARPS>(t, colData, Kh, Vh, sK0, sV0, sKey);
    cp_async_commit();
    cp_async_wait_all();
    __syncthreads();

    uint32_t qf[KT][4];
    load_q_frags<D>(sQ, qf);

    float o[DT][4];
#pragma unroll
    for (int i = 0; i < DT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float mrow[2] = {-INFINITY, -INFINITY}, lrow[2] = {0.f, 0.f};
    const int g = lane >> 2, cq = lane & 3;
    const int i0 = r0 + warp * 16 + g, i1 = i0 + 8;
    int buf = 0;

    while (have) {
        KeyTile nt;
        bool haveNext = cur.next(nt);
        cp_async_wait_all();
        __syncthreads();
        if (haveNext)
            load_kv_tile<D, WARPS>(nt, colData, Kh, Vh, sK0 + (buf ^ 1) * 64 * D * 2,
                                   sV0 + (buf ^ 1) * 64 * D * 2, sKey + (buf ^ 1) * 64);
        cp_async_commit();

        const uint32_t sK = sK0 + buf * 64 * D * 2, sV = sV0 + buf * 64 * D * 2;
        const int* key = sKey + buf * 64;
        float s[8][4];
        qk_tile<D>(qf, sK, s);
        const bool full = t.count == 64 && t.lastKey <= r0;
        if (!full) {
#pragma unroll
            for (int j = 0; j < 8; ++j) {
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    int kj = key[j * 8 + 2 * cq + e];
                    if (kj > i0) s[j][e] = -INFINITY;
                    if (kj > i1) s[j][2 + e] = -INFINITY;
                }
            }
        }
        // online softmax, rows g (regs 0,1) and g+8 (regs 2,3)
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            mx[0] = fmaxf(mx[0], fmaxf(s[j][0], s[j][1]));
            mx[1] = fmaxf(mx[1], fmaxf(s[j][2], s[j][3]));
        }
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        }
        float alpha[2], mscaled[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            float mnew = fmaxf(mrow[r], mx[r] * scaleLog2);
            mscaled[r] = mnew == -INFINITY ? 0.f : mnew;  // fully masked so far: keep p = 0, no NaN
            alpha[r] = exp2f(mrow[r] - mscaled[r]);
            mrow[r] = mnew;
        }
        uint32_t pf[4][4];
        float rs[2] = {0.f, 0.f};
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            float p0 = exp2f(s[j][0] * scaleLog2 - mscaled[0]);
            float p1 = exp2f(s[j][1] * scaleLog2 - mscaled[0]);
            float p2 = exp2f(s[j][2] * scaleLog2 - mscaled[1]);
            float p3 = exp2f(s[j][3] * scaleLog2 - mscaled[1]);
            rs[0] += p0 + p1;
            rs[1] += p2 + p3;
            pf[j >> 1][(j & 1) * 2 + 0] = pack_bf16(p0, p1);
            pf[j >> 1][(j & 1) * 2 + 1] = pack_bf16(p2, p3);
        }
        lrow[0] = lrow[0] * alpha[0] + rs[0];
        lrow[1] = lrow[1] * alpha[1] + rs[1];
#pragma unroll
        for (int i = 0; i < DT; ++i) {
            o[i][0] *= alpha[0]; o[i][1] *= alpha[0];
            o[i][2] *= alpha[1]; o[i][3] *= alpha[1];
        }
        // O += P V ; the A fragment of keys 16kk..16kk+15 is (tile 2kk rows g, g+8 ; tile 2kk+1)
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
            uint32_t a[4] = {pf[kk][0], pf[kk][1], pf[kk][2], pf[kk][3]};
#pragma unroll
            for (int dp = 0; dp < D / 16; ++dp) {
                int mi = lane >> 3;
                int row = kk * 16 + (mi & 1) * 8 + (lane & 7);
                int ch = dp * 2 + (mi >> 1);
                uint32_t b0, b1, b2, b3;
                ldsm_x4_t(b0, b1, b2, b3, sV + swz<D>(row, ch));
                mma16816(o[2 * dp], a, b0, b1);
                mma16816(o[2 * dp + 1], a, b2, b3);
            }
        }
        t = nt;
        have = haveNext;
        buf ^= 1;
    }

#pragma unroll
    for (int r = 0; r < 2; ++r) {
        lrow[r] += __shfl_xor_sync(0xffffffffu, lrow[r], 1);
        lrow[r] += __shfl_xor_sync(0xffffffffu, lrow[r], 2);
    }
    float inv0 = lrow[0] > 0.f ? 1.f / lrow[0] : 0.f;
    float inv1 = lrow[1] > 0.f ? 1.f / lrow[1] : 0.f;
    bf16* Oh = O + (size_t)h * n * D;
#pragma unroll
    for (int i = 0; i < DT; ++i) {
        int col = i * 8 + 2 * cq;
        if (i0 < n)
            *reinterpret_cast<uint32_t*>(Oh + (size_t)i0 * D + col) = pack_bf16(o[i][0] * inv0, o[i][1] * inv0);
        if (i1 < n)
            *reinterpret_cast<uint32_t*>(Oh + (size_t)i1 * D + col) = pack_bf16(o[i][2] * inv1, o[i][3] * inv1);
    }
}

}  // namespace pk
