// Flash attention (FA2-style) with mma.sync over a list of 64-key tiles: dense causal, any block
// plan, or a pair plan. The pieces it shares with the wgmma body (attention_wgmma.cuh) have their
// own headers: plan_tiles.cuh (the tile cursor over a plan, K/V tile loads, the CTA -> head /
// query block map), mask.cuh (causal and own-plan masks), softmax.cuh (online softmax) and
// attention_epilogue.cuh (normalise and write O, and the row lse).
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
// Tiles come from a per-(head, 64-row query block) plan in CSR form (plan_tiles.cuh). The causal
// mask j <= i is applied to every tile that reaches past the block's first row.
#pragma once
#include "attention_epilogue.cuh"
#include "mask.cuh"
#include "plan_tiles.cuh"
#include "softmax.cuh"

namespace pk {

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

// The options of the one mma.sync attention body (attention_block<Traits>); the kernels of
// prefill_kernels.cu instantiate it with the aliases below.
//  - PLAN=false: dense causal, BM-row blocks, keys [0, min(r0+BM, n)).
//    PLAN=true: BM must be 64 (the plan's block), tiles from the CSR plan.
//  - MT = 16-row m-tiles per warp (4 warps). MT=2 halves the shared-memory reads of K and V per
//    FLOP (each B fragment feeds two MMAs), which is what bounds an mma.sync kernel on Hopper; Q
//    fragments then come from shared memory each tile instead of living in registers (the O
//    accumulator needs them).
//  - PAIR (PLAN, MT=2): one CTA = two adjacent 64-row blocks A = 2p, B = 2p+1; it walks the pair
//    plan (union of both blocks' keys, see pair_plan.cuh) so every K/V tile feeds 128 rows, and
//    masks each key by the own block's plan (blk: the 64-row plan; mask.cuh) - warps 0,1 hold A's
//    rows, warps 2,3 B's; the membership bits are computed by all four warps while the tile loads.
//  - PREFETCH_KEYS: the cursor loads the next range's bounds one range ahead, and each thread
//    loads the key indices of all its rows before issuing its copies (load_kv_tile_keys_first):
//    moving to a new range or a gathered tile does not wait on a dependent global load.
//  - ORDER: the grid's (head, query block) order (plan_tiles.cuh).
template <int D_, int MT_, bool PLAN_, bool PAIR_, bool PREFETCH_KEYS_, GridOrder ORDER_>
struct MmaAttentionTraits {
    static constexpr int D = D_, WARPS = 4, MT = MT_;
    static constexpr bool PLAN = PLAN_, PAIR = PAIR_, PREFETCH_KEYS = PREFETCH_KEYS_;
    static constexpr GridOrder ORDER = ORDER_;
    static_assert(!PAIR || (PLAN && MT == 2 && PREFETCH_KEYS), "PAIR needs the 4 x 2 plan body with prefetched keys");
};
// dense causal, 128 rows per CTA (the dense kernel outside sm_90a)
template <int D>
using DenseMma = MmaAttentionTraits<D, 2, false, false, false, GridOrder::HEADS_SIDE_BY_SIDE>;
// one 64-row plan block per CTA (the plan kernel outside sm_90a, and the wgmma plan kernels' body there)
template <int D>
using PlanMma = MmaAttentionTraits<D, 1, true, false, true, GridOrder::KV_GROUP_MAJOR>;
// two 64-row plan blocks per CTA over their pair plan
template <int D, GridOrder ORDER>
using PairPlanMma = MmaAttentionTraits<D, 2, true, true, true, ORDER>;

// plan: the plan whose tiles the CTA walks (PLAN; PAIR: the pair plan); blk: PAIR's 64-row plan,
// whose slots mask each block's keys.
template <class T>
__device__ void attention_block(const bf16* __restrict__ Q, const bf16* __restrict__ K,
                                const bf16* __restrict__ V, bf16* __restrict__ O, int H, int Hkv,
                                int n, float scaleLog2, CsrPlan plan, CsrPlan blk = CsrPlan{},
                                float* __restrict__ lse = nullptr, const unsigned char* __restrict__ pairColOwn = nullptr) {
    constexpr int D = T::D, WARPS = T::WARPS, MT = T::MT;
    constexpr bool PLAN = T::PLAN, PAIR = T::PAIR, PREFETCH_KEYS = T::PREFETCH_KEYS;
    constexpr int BM = 16 * WARPS * MT, CH = D / 8, NT = WARPS * 32;
    constexpr int KT = D / 16;  // k-steps over head_dim
    constexpr int DT = D / 8;   // 8-wide output column tiles
    constexpr bool Q_IN_REGS = MT == 1;
    extern __shared__ __align__(128) unsigned char smem[];
    constexpr int Q_BYTES = BM * D * 2;
    const uint32_t sK0 = smem_u32(smem) + Q_BYTES;
    const uint32_t sV0 = sK0 + 2 * 64 * D * 2;
    const uint32_t sQ = smem_u32(smem);
    int* sKey = reinterpret_cast<int*>(smem + Q_BYTES + 4 * 64 * D * 2);
    // PAIR: per buffer, membership bits of the 64 keys for block A (2 words), block B, and
    // whether the tile needs no mask at all
    uint32_t* sMask = reinterpret_cast<uint32_t*>(sKey + 2 * 64);  // [buf][A0 A1 B0 B1 full0 full1]

    int h, qb;
    const int nqb = cta_head_block<T::ORDER>(H, Hkv, h, qb);
    const int r0 = qb * BM;
    const int kvh = h / (H / Hkv);
    const int nqb64 = (n + 63) / 64;
    const int slotA = h * nqb64 + 2 * qb, slotB = slotA + 1;
    const bool hasB = PAIR && 2 * qb + 1 < nqb64;
    const bf16* Qh = Q + (size_t)h * n * D;
    const bf16* Kh = K + (size_t)kvh * n * D;
    const bf16* Vh = V + (size_t)kvh * n * D;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

    TileCursor<PREFETCH_KEYS> cur;
    if (PLAN) {
        int idx = h * nqb + qb;
        cur.init(plan, idx);
    } else {
        // one implicit range [0, kEnd)
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
    // PAIR: this thread's block (A for warps 0,1, B for warps 2,3) bounds, in registers
    const int mySlot = tid < 64 ? slotA : slotB;
    const bool myHas = tid < 64 || hasB;
    int myRb = 0, myRe = 0, myCb = 0, myCe = 0;
    if (PAIR && myHas) {
        myRb = blk.rangePtr[mySlot]; myRe = blk.rangePtr[mySlot + 1];
        myCb = blk.colPtr[mySlot]; myCe = blk.colPtr[mySlot + 1];
    }
    // words per buffer: [A0 A1 B0 B1 C0 C1], C = valid key <= r0; full = A & B & C all ones
    auto pairMasks = [&](const KeyTile& tt, int b) {
        if (!PAIR) return;
        const int kt = tid & 63;
        bool valid = kt < tt.count;
        int key = valid ? (tt.gather ? plan.colData[tt.start + kt] : tt.start + kt) : INT_MAX;
        // a gathered key's owner bits come from the pair plan's build (pair_plan.cuh)
        bool m = valid && (!myHas || (tt.gather ? (pairColOwn[tt.start + kt] >> (tid >> 6)) & 1
                                                : in_block_plan(key, blk.rangeData, myRb, myRe, blk.colData, myCb, myCe)));
        unsigned w = __ballot_sync(0xffffffffu, m);
        unsigned wc = __ballot_sync(0xffffffffu, valid && key <= r0);
        if (lane == 0) {
            uint32_t* mk = sMask + b * 6;
            mk[warp] = w;  // warps 0,1 -> A0 A1, warps 2,3 -> B0 B1
            if (warp < 2) mk[4 + warp] = wc;
        }
    };
    auto loadTile = [&](const KeyTile& tt, uint32_t k, uint32_t v, int* sk) {
        if (PREFETCH_KEYS) load_kv_tile_keys_first<D, WARPS>(tt, plan.colData, Kh, Vh, k, v, sk);
        else load_kv_tile<D, WARPS>(tt, plan.colData, Kh, Vh, k, v, sk);
    };
    if (have) { loadTile(t, sK0, sV0, sKey); pairMasks(t, 0); }
    cp_async_commit();
    cp_async_wait_all();
    __syncthreads();

    // A-fragment address of m-tile mt, k-step kk for this lane
    auto qAddr = [&](int mt, int kk) {
        int mi = lane >> 3;
        int row = (warp * MT + mt) * 16 + (mi & 1) * 8 + (lane & 7);
        return sQ + swz<D>(row, kk * 2 + (mi >> 1));
    };
    uint32_t qf[Q_IN_REGS ? KT : 1][4];
    if (Q_IN_REGS) {
#pragma unroll
        for (int kk = 0; kk < KT; ++kk) ldsm_x4(qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], qAddr(0, kk));
    }

    float o[MT][DT][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int i = 0; i < DT; ++i) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
    OnlineSoftmax sm[MT];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) sm[mt].init();
    const int g = lane >> 2, cq = lane & 3;
    const int rowBase = r0 + warp * MT * 16 + g;  // row of (mt, half) = rowBase + mt*16 + half*8
    int buf = 0;

    while (have) {
        KeyTile nt;
        bool haveNext = cur.next(nt);
        cp_async_wait_all();
        __syncthreads();
        if (haveNext) {
            loadTile(nt, sK0 + (buf ^ 1) * 64 * D * 2, sV0 + (buf ^ 1) * 64 * D * 2, sKey + (buf ^ 1) * 64);
            pairMasks(nt, buf ^ 1);
        }
        cp_async_commit();

        const uint32_t sK = sK0 + buf * 64 * D * 2, sV = sV0 + buf * 64 * D * 2;
        const int* key = sKey + buf * 64;
        float s[MT][8][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int j = 0; j < 8; ++j) s[mt][j][0] = s[mt][j][1] = s[mt][j][2] = s[mt][j][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < KT; ++kk) {
            uint32_t a[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                if (Q_IN_REGS) { a[mt][0] = qf[kk][0]; a[mt][1] = qf[kk][1]; a[mt][2] = qf[kk][2]; a[mt][3] = qf[kk][3]; }
                else ldsm_x4(a[mt][0], a[mt][1], a[mt][2], a[mt][3], qAddr(mt, kk));
            }
#pragma unroll
            for (int np = 0; np < 4; ++np) {
                int mi = lane >> 3;
                int row = np * 16 + (mi >> 1) * 8 + (lane & 7);
                uint32_t b0, b1, b2, b3;
                ldsm_x4(b0, b1, b2, b3, sK + swz<D>(row, kk * 2 + (mi & 1)));
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    mma16816(s[mt][2 * np], a[mt], b0, b1);
                    mma16816(s[mt][2 * np + 1], a[mt], b2, b3);
                }
            }
        }
        const uint32_t* pm = sMask + buf * 6;
        const bool full = PAIR ? ((pm[0] & pm[2] & pm[4]) & (pm[1] & pm[3] & pm[5])) == ~0u
                               : tile_fully_visible(t.count, t.lastKey, r0);
        const uint32_t own0 = PAIR ? pm[warp < 2 ? 0 : 2] : ~0u, own1 = PAIR ? pm[warp < 2 ? 1 : 3] : ~0u;
        if (!full) mask_tile<MT, PAIR>(&s[0][0][0], key, rowBase, cq, own0, own1);
        uint32_t pf[MT][4][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
            float alpha[2];
            sm[mt].step(&s[mt][0][0], scaleLog2, pf[mt], alpha);
            OnlineSoftmax::rescale<4 * DT>(&o[mt][0][0], alpha);
        }
        // O += P V ; the A fragment of keys 16kk..16kk+15 is (tile 2kk rows g, g+8 ; tile 2kk+1)
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
#pragma unroll
            for (int dp = 0; dp < D / 16; ++dp) {
                int mi = lane >> 3;
                int row = kk * 16 + (mi & 1) * 8 + (lane & 7);
                uint32_t b0, b1, b2, b3;
                ldsm_x4_t(b0, b1, b2, b3, sV + swz<D>(row, dp * 2 + (mi >> 1)));
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    mma16816(o[mt][2 * dp], pf[mt][kk], b0, b1);
                    mma16816(o[mt][2 * dp + 1], pf[mt][kk], b2, b3);
                }
            }
        }
        t = nt;
        have = haveNext;
        buf ^= 1;
    }

    bf16* Oh = O + (size_t)h * n * D;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        sm[mt].finish();
        write_o_lse<D>(&o[mt][0][0], sm[mt], Oh, lse, h, n, rowBase + mt * 16, cq);
    }
}

}  // namespace pk
