// Flash attention over a CSR block plan with Hopper's wgmma (sm_90a): the 64-row plan kernel of
// attention.cuh (PLAN_MMA: same plan walk and K/V loads of plan_tiles.cuh, same masks of
// mask.cuh, online softmax of softmax.cuh and epilogue of attention_epilogue.cuh) with its two
// products on the warpgroup tensor-core path instead of mma.sync + ldmatrix.
//
// One CTA = one warpgroup (4 warps, 128 threads) = one (head, 64-row query block).
//  - S[64 x 64] = Q K^T: 8 (d=128) or 4 (d=64) wgmma.m64n64k16, A = Q and B = the K tile both
//    from shared memory, both K-major (d contiguous), as in the GEMM.
//  - O[64 x D] += P V: 4 wgmma.m64nDk16 (one per 16 keys), A = P from registers (the fp32 S
//    accumulator of each warp is exactly the mma.sync C layout, so the bf16 P fragments are built
//    as in attention.cuh), B = the V tile, which is MN-major ([key][d], d contiguous): the
//    instruction's transpose-B immediate with an MN-major 128-byte-swizzle descriptor.
//  - Tiles (Q, K, V) are stored as D/64 panels of 64 rows x 128 bytes (64 bf16), 16-byte chunk c
//    of row r at r*128 + ((c ^ (r & 7)) << 4), panels 8 KiB apart, 1024-byte aligned: the
//    hardware's 128-byte swizzle (attention.cuh's swz<128> uses 256-byte rows, which is not).
//    Descriptors: K-major (Q, K): SBO = 1024 (8-row groups), k-step s at panel s/4, +32*(s%4)
//    bytes. MN-major (V): LBO = 8192 (the next 64 d-columns = the next panel), SBO = 1024 (the
//    next 8 keys); keys 16kk.. start 2048*kk bytes in (cute's canonical MN-major SW128 layout
//    ((8,8,m),(8,k)) : ((1,8,LBO),(64,SBO)) in elements).
//  - K/V tiles double-buffered with cp.async as before (keys loaded up front, prefetching cursor);
//    each thread fences its cp.async writes to the async proxy before the barrier that precedes
//    the wgmma reads; a buffer is refilled one iteration after the wgmma that read it was waited.
//  - Two CTAs per SM (80 KiB of shared memory each + 1 KiB alignment slack): one CTA's softmax
//    overlaps the other's tensor-core work.
//
// Cost per 64-key tile: 2 x 64 x 64 x D x 2 FLOP (2.1 MFLOP at d=128) against 2 x 64 x D x 2
// bytes of K/V brought into shared memory (32 KiB), the same as PLAN_MMA; the difference is the
// issue rate (wgmma ~990 vs mma.sync ~660 TFLOP/s dense peak) and no ldmatrix traffic for B.
//
// In every pass that is not sm_90a the entry points run attention_block<PlanMma> in the same
// launch shape; gemm_wgmma_probe says which code the driver loaded.
#pragma once
#include "attention.cuh"
#include "wgmma.cuh"

namespace pk {

// 64 x D bf16 bytes of one wgmma tile.
template <int D>
struct WgTile {
    static constexpr int BYTES = 64 * D * 2;
    // dynamic shared memory: Q, K0, K1, V0 .. V(VB-1), keys [2][64], + 1024 alignment slack
    static constexpr int smem(int vb) { return (3 + vb) * BYTES + 2 * 64 * 4 + 1024; }
};

// load_kv_tile_keys_first with the wgmma tile layout.
template <int D>
__device__ __forceinline__ void load_kv_tile_wg(const KeyTile& t, const int* colData, const bf16* Kh,
                                                const bf16* Vh, uint32_t sK, uint32_t sV, int* sKey) {
    load_kv_tile_keys_first<D, 4, true>(t, colData, Kh, Vh, sK, sV, sKey);
}

// Descriptors of a wgmma tile stored as WgTile lays it out (start-address field in 16-byte units:
// +1 = 16 bytes): K-major (Q and K, d contiguous: the next 8 rows 1024 bytes on) and MN-major (V as
// the transposed B of P V: the next 64 d-columns one 64 x 128-byte panel on, the next 8 keys 1024
// bytes on).
__device__ __forceinline__ uint64_t wg_tile_desc_kmajor(uint32_t addr) { return wg_desc(addr, 16, 1024); }
__device__ __forceinline__ uint64_t wg_tile_desc_mnmajor(uint32_t addr) { return wg_desc(addr, 64 * 128, 1024); }

#if defined(PK_WGMMA)
template <int D, GridOrder ORDER>
__device__ void attention_block_wgmma(const bf16* __restrict__ Q, const bf16* __restrict__ K,
                                   const bf16* __restrict__ V, bf16* __restrict__ O, int H, int Hkv, int n,
                                   float scaleLog2, CsrPlan plan, float* __restrict__ lse) {
    static_assert(D == 64 || D == 128, "head_dim 64 or 128");
    constexpr int TB = WgTile<D>::BYTES, KT = D / 16, NACC = D / 2, VB = 2;
    extern __shared__ __align__(1024) unsigned char wg_smem[];
    const uint32_t raw = smem_u32(wg_smem), base = (raw + 1023u) & ~1023u;
    // Q | K0 K1 | V0 V1 | keys [2][64]
    const uint32_t sQ = base, sK0 = base + TB, sV0 = base + 3 * TB;
    int* sKey = reinterpret_cast<int*>(wg_smem + (base - raw) + (3 + VB) * TB);

    int h, qb;
    const int nqb = cta_head_block<ORDER>(H, Hkv, h, qb);
    const int r0 = qb * 64;
    const int kvh = h / (H / Hkv);
    const bf16* Qh = Q + (size_t)h * n * D;
    const bf16* Kh = K + (size_t)kvh * n * D;
    const bf16* Vh = V + (size_t)kvh * n * D;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

    TileCursor<true> cur;
    cur.init(plan, h * nqb + qb);
    for (int c = tid; c < 64 * (D / 8); c += 128) {
        const int r = c / (D / 8), ch = c % (D / 8);
        const bool valid = r0 + r < n;
        cp_async16(sQ + swz_wg<D>(r, ch), Qh + (size_t)(valid ? r0 + r : 0) * D + ch * 8, valid);
    }
    KeyTile t;
    bool have = cur.next(t);
    if (have) load_kv_tile_wg<D>(t, plan.colData, Kh, Vh, sK0, sV0, sKey);
    cp_async_commit();

    const uint64_t dQ = wg_tile_desc_kmajor(sQ), dK0 = wg_tile_desc_kmajor(sK0), dV0 = wg_tile_desc_mnmajor(sV0);

    float o[NACC];
#pragma unroll
    for (int i = 0; i < NACC; ++i) o[i] = 0.f;
    OnlineSoftmax sm;
    sm.init();
    const int g = lane >> 2, cq = lane & 3;
    const int rowBase = r0 + warp * 16 + g;  // rows rowBase and rowBase + 8
    int kb = 0, vb = 0;                      // K/key buffer and V buffer of tile t

    // O += P V(buffer b): keys 16kk..16kk+15 are rows 16kk.. of the V tile (2048 bytes per 16 rows)
    auto pv = [&](const uint32_t (*pf)[4], int b) {
        const uint64_t dV = dV0 + (uint64_t)(b * TB >> 4);
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
            if (D == 128) wgmma_m64n128k16_rs_tb(o, pf[kk], dV + (kk * 2048 >> 4));
            else wgmma_m64n64k16_rs_tb(o, pf[kk], dV + (kk * 2048 >> 4));
        }
    };

    while (have) {
        KeyTile nt;
        const bool haveNext = cur.next(nt);
        cp_async_wait_all();
        fence_proxy_async_smem();
        __syncthreads();
        const int nvb = vb + 1 == VB ? 0 : vb + 1;
        if (haveNext)
            load_kv_tile_wg<D>(nt, plan.colData, Kh, Vh, sK0 + (kb ^ 1) * TB, sV0 + nvb * TB, sKey + (kb ^ 1) * 64);
        cp_async_commit();

        const int* key = sKey + kb * 64;
        float s[32];
#pragma unroll
        for (int i = 0; i < 32; ++i) s[i] = 0.f;
        wgmma_fence();
        const uint64_t dK = dK0 + (uint64_t)(kb * TB >> 4);
#pragma unroll
        for (int kk = 0; kk < KT; ++kk) {
            const uint32_t off = ((kk >> 2) * 64 * 128 + (kk & 3) * 32) >> 4;
            wgmma_m64n64k16_ss<1>(s, dQ + off, dK + off);
        }
        wgmma_commit();
        wgmma_wait<0>();

        if (!tile_fully_visible(t.count, t.lastKey, r0)) mask_tile<1, false>(s, key, rowBase, cq, ~0u, ~0u);
        uint32_t pf[4][4];
        float alpha[2];
        sm.step(s, scaleLog2, pf, alpha);
        OnlineSoftmax::rescale<NACC>(o, alpha);
        wgmma_fence();
        pv(pf, vb);
        wgmma_commit();
        wgmma_wait<0>();
        t = nt;
        have = haveNext;
        kb ^= 1;
        vb = nvb;
    }
    cp_async_wait_all();

    // epilogue as attention_block's: the accumulator has the same layout (softmax.cuh)
    sm.finish();
    write_o_lse<D>(o, sm, O + (size_t)h * n * D, lse, h, n, rowBase, cq);
}

#endif  // PK_WGMMA

}  // namespace pk
