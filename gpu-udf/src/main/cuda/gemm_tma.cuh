// The persistent, warp-specialised GEMM with TMA loads (sm_90a): gemm.cuh's 128x256 wgmma tile,
// k-tiles, stage layout and epilogues (wgmma_k_tile, wgmma_epilogue), fed by tma.cuh's copies and
// mbarriers. The default projection kernel on Hopper (io.prefill.cuda.Gemm, Tile.TMA_128x256);
// gpu-udf/src/main/cuda/README.md has the measurements. Not covered by the host emulation of
// gemm.cuh: checked on the GPU (GemmGpuTest, Fp8GemmGpuTest, compute-sanitizer memcheck).
#pragma once
#include "gemm.cuh"
#include "tma.cuh"

namespace pk {

// ---- The warp-specialised, persistent TMA kernel (gemm_block_tma; sm_90a only). The same 128x256
// tile, 128-byte k-tiles, 4-stage ring, shared-memory layout and wgmma instructions as
// gemm_block_wgmma, with the loads taken off the tensor-core warps, the W tile shared by a cluster
// of two CTAs, and the tiles scheduled in a loop.
//
// Why. In gemm_block_wgmma all 256 threads issue 12 cp.async per k-tile and the CTA meets at a
// block barrier before each k-tile's wgmma, so the two warpgroups stall on each other and on the
// slowest load once per k-tile (a k-tile is ~0.5 us of tensor-core work at bf16); and a CTA's
// epilogue (up to 25% of the compute time for the fp32 += of the O-projection) leaves its SM's
// tensor cores idle, with one CTA per SM. A producer warpgroup that issued cp.async itself was
// slower still (bench/results/retired-kernels: it must wait for its own copies before it can
// signal them, which keeps fewer k-tiles in flight). TMA removes that: one thread issues the
// copies of a k-tile and the mbarrier counts their bytes. Counted, the operands are what the
// tensor cores wait for: a k-tile is 2 x 128 x 256 x 64 FLOP for 48 KiB read from L2, 85 FLOP/B,
// so ~650 TFLOP/s on 132 SMs needs ~7.6 TB/s out of L2, about what it gives. Two CTAs on
// neighbouring M-tiles read the same W tile; in a cluster each fetches half of it once for both
// (TMA multicast), so a CTA pulls 32 KiB per k-tile from L2 instead of 48 (128 FLOP/B).
//
// Design (384 threads, 3 warpgroups, one CTA per SM, clusters of GEMM_TMA_CLUSTER = 2 CTAs):
//  - Work units: pairs of M-tiles with one N-tile, (tm = 2 pm + rank, tn), rank = the CTA's rank in
//    its cluster. Cluster c takes units c, c + clusters, ... in gemm_raster's order over (pm, tn),
//    so the units in flight at any time are neighbours in L2, as with one CTA per tile. When the
//    tile count in M is odd, the last pair's second tile lies past M: it loads zeros and stores
//    nothing, but still fetches its half of W for its partner.
//  - Producer, warpgroup 0: gives registers back (setmaxnreg to 56); thread 0 alone walks every
//    k-tile of every unit (counter `it` across units), waits until stage it % STAGES is free in
//    both CTAs (empty barrier, the releases of use it - STAGES by the consumers of both), announces
//    the stage's 48 KiB on its full barrier and issues its A box (64 x 128 rows; 128 x 128 E4M3)
//    to itself and W rows 128 rank .. 128 rank + 127 of the N-tile to both CTAs. Rows past M or N
//    and elements past K arrive as zeros (the tensor map has the true sizes).
//  - Consumers, warpgroups 1 and 2 (setmaxnreg to 224: 128 accumulators each, rows 64(w-1) ..
//    64(w-1)+63 of the tile): wait on full[it % STAGES] with the parity of that use, issue the
//    k-tile's wgmma k-steps, and once wgmma.wait_group 1 says the previous k-tile's group retired,
//    lane 0 of each consumer warp arrives on that stage's empty barrier in both CTAs (expected
//    count 2 x 8). After a unit's last k-tile they retire everything, release its stage, and store
//    the tile from their registers while the producer already fills the ring with the next unit.
//  - Deadlock-free: the producer's wait for the release of use u - STAGES needs the consumers of
//    both CTAs at use u - STAGES + 1, whose full barriers both producers armed before use u; both
//    CTAs walk the same units, so every armed stage is consumed on both sides. A peer's multicast
//    into stage s for use u can only land after this CTA's consumers released use u - STAGES, so
//    this CTA's full barrier is already in the phase of use u (an early complete_tx before this
//    producer's expect_tx only leaves the phase waiting for its arrive).
//  - The cluster meets after the barriers' initialisation (no multicast into a barrier not yet
//    made) and before exit (no arrive into the shared memory of a CTA that has left).
//  - Registers: the CTA keeps what it launched with, 168 per thread at 384 threads
//    (__launch_bounds__(384, 1)); 128 x 56 + 256 x 224 = 384 x 168 exactly, so setmaxnreg.inc
//    always finds what setmaxnreg.dec gave back. (At 40 the producer spilled.)
// Shared memory: the ring (4 x 48 KiB), then 2 x STAGES mbarriers, + 1024 bytes of alignment slack.
// The grid is 2 x min(units, clusters that fit at once): a cluster that had to wait for another
// to finish would run its units after everyone else's.
constexpr int GEMM_TMA_THREADS = 384, GEMM_TMA_LAUNCH_REGS = 168, GEMM_TMA_CLUSTER = 2;
constexpr int GEMM_TMA_PRODUCER_REGS = 56, GEMM_TMA_CONSUMER_REGS = 224;
static_assert(128 * GEMM_TMA_PRODUCER_REGS + 256 * GEMM_TMA_CONSUMER_REGS <= GEMM_TMA_THREADS * GEMM_TMA_LAUNCH_REGS,
              "the consumers' registers must come from the producer's");

#ifdef PK_WGMMA
template <int OUT, bool FP8 = false>
__device__ __forceinline__ void gemm_block_tma(unsigned char* smem, const TmaDesc* tmA, const TmaDesc* tmW,
                                               void* __restrict__ Cv, const float* __restrict__ bias, int M, int N,
                                               int K, Fp8Scales scales = Fp8Scales{nullptr, nullptr}) {
    using Cfg = GemmL;
    constexpr int BM = Cfg::BM, BN = Cfg::BN, STAGES = Cfg::STAGES, RB = Cfg::ROW_BYTES, CS = GEMM_TMA_CLUSTER;
    constexpr int EB = FP8 ? 1 : 2, BK = RB / EB;
    constexpr int W_PART = BN / CS;  // W rows each CTA of the cluster fetches for both
    static_assert(Cfg::A_BYTES % 1024 == 0 && Cfg::STAGE_BYTES % 1024 == 0 && (W_PART * RB) % 1024 == 0,
                  "1024-byte aligned swizzle atoms");
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wg = warp >> 2, wq = warp & 3;
    const uint32_t rank = cluster_cta_rank();

    const int tilesM = (M + BM - 1) / BM, tilesN = (N + BN - 1) / BN;
    const int pairsM = (tilesM + CS - 1) / CS, units = pairsM * tilesN;
    const int KT = (K + BK - 1) / BK;

    const uint32_t sBase = (smem_u32(smem) + 1023u) & ~1023u;
    const uint32_t bars = sBase + STAGES * Cfg::STAGE_BYTES;
    auto fullBar = [&](uint32_t s) { return bars + 8u * s; };
    auto emptyBar = [&](uint32_t s) { return bars + 8u * (STAGES + s); };
    if (tid == 0) {
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(fullBar(s), 1);        // this CTA's producer, plus the stage's bytes
            mbar_init(emptyBar(s), CS * 8);  // lane 0 of each consumer warp of every CTA of the cluster
        }
        mbar_init_fence();
    }
    cluster_sync();

    if (wg == 0) {  // producer
        setmaxnreg_dec<GEMM_TMA_PRODUCER_REGS>();
        if (tid == 0) {
            tma_prefetch_desc(tmA);
            tma_prefetch_desc(tmW);
            uint32_t it = 0;
            for (int unit = blockIdx.x / CS; unit < units; unit += gridDim.x / CS) {
                int pm, tn;
                gemm_raster(unit, pairsM, tilesN, Cfg::GROUP_M / CS, pm, tn);
                const int m0 = (pm * CS + rank) * BM, w0 = tn * BN + rank * W_PART;
                for (int kt = 0; kt < KT; ++kt, ++it) {
                    const uint32_t st = it % STAGES;
                    if (it >= STAGES) mbar_wait(emptyBar(st), (it / STAGES - 1) & 1);
                    mbar_arrive_expect_tx(fullBar(st), Cfg::STAGE_BYTES);
                    const uint32_t so = sBase + st * Cfg::STAGE_BYTES;
                    tma_load_2d(so, tmA, kt * BK, m0, fullBar(st));
                    tma_load_2d_multicast(so + Cfg::A_BYTES + rank * W_PART * RB, tmW, kt * BK, w0, fullBar(st),
                                          (1u << CS) - 1);
                }
            }
        }
    } else {
        setmaxnreg_inc<GEMM_TMA_CONSUMER_REGS>();
        const int cw = wg - 1;  // consumer warpgroup: rows 64 cw .. 64 cw + 63 of the tile
        const int g = lane >> 2, t4 = lane & 3;
        auto release = [&](uint32_t st) {
            if (lane == 0)
#pragma unroll
                for (int c = 0; c < CS; ++c) mbar_arrive_cta(emptyBar(st), c);
        };
        float acc[128];
        uint32_t it = 0;
        for (int unit = blockIdx.x / CS; unit < units; unit += gridDim.x / CS) {
            int pm, tn;
            gemm_raster(unit, pairsM, tilesN, Cfg::GROUP_M / CS, pm, tn);
#pragma unroll
            for (int i = 0; i < 128; ++i) acc[i] = 0.f;
            for (int kt = 0; kt < KT; ++kt, ++it) {
                const uint32_t st = it % STAGES;
                mbar_wait(fullBar(st), (it / STAGES) & 1);
                wgmma_k_tile<FP8>(acc, sBase + st * Cfg::STAGE_BYTES, cw);
                if (kt > 0) release((it - 1) % STAGES);  // the previous k-tile's group retired
                if (kt == max(KT - 4, 0))
                    wgmma_epilogue_prefetch<OUT>(Cv, M, N, (pm * CS + rank) * BM + cw * 64 + wq * 16 + g, tn * BN + 2 * t4);
            }
            wgmma_wait<0>();
            release((it - 1) % STAGES);
            const int m0 = (pm * CS + rank) * BM;
            wgmma_epilogue<OUT, FP8>(acc, Cv, bias, scales, M, N, m0 + cw * 64 + wq * 16 + g, tn * BN + 2 * t4);
        }
    }
    cluster_sync();
}
#endif  // PK_WGMMA

}  // namespace pk

// gemm_tma_128x256_<out>(tmA, tmW, C, bias or null, M, N, K) and gemm_fp8_tma_128x256_<out>(tmA,
// aScale, tmW, wScale, C, bias or null, M, N, K): the persistent warp-specialised bodies, with A
// [M, K] and W [N, K] given as tensor maps (io.prefill.cuda.TensorMaps: bf16 or E4M3 as uint8,
// boxes of one 128-byte k-tile row by 128 rows, 128-byte swizzle, zero fill). Clusters of 2 CTAs
// (GEMM_TMA_CLUSTER, compiled in), 384 threads, grid 2 x min(units, clusters that fit at once)
// (units = ceil(tiles in M / 2) x tiles in N), dynamic shared memory GemmL::SMEM + 2 * STAGES * 8
// + 1024.
// sm_90a only: elsewhere they trap (Gemm.java picks them only where gemm_wgmma_probe says the
// sm_90a build runs).
#ifdef PK_WGMMA
#define PK_GEMM_TMA_CLUSTER_DIMS __cluster_dims__(pk::GEMM_TMA_CLUSTER, 1, 1)
#define PK_GEMM_TMA_BODY(OUT) pk::gemm_block_tma<OUT>(gemm_smem, &tmA, &tmW, C, bias, M, N, K)
#define PK_GEMM_FP8_TMA_BODY(OUT) \
    pk::gemm_block_tma<OUT, true>(gemm_smem, &tmA, &tmW, C, bias, M, N, K, pk::Fp8Scales{aScale, wScale})
#else  // clusters exist from sm_90 on; here the kernels only trap
#define PK_GEMM_TMA_CLUSTER_DIMS
#define PK_GEMM_TMA_BODY(OUT) __trap()
#define PK_GEMM_FP8_TMA_BODY(OUT) __trap()
#endif
#define PK_GEMM_TMA_KERNEL(NAME, OUT, CTYPE)                                                         \
    extern "C" __global__ void __launch_bounds__(pk::GEMM_TMA_THREADS, 1) PK_GEMM_TMA_CLUSTER_DIMS   \
        NAME(const __grid_constant__ pk::TmaDesc tmA, const __grid_constant__ pk::TmaDesc tmW,     \
             CTYPE* __restrict__ C, const float* __restrict__ bias, int M, int N, int K) {         \
        extern __shared__ __align__(128) unsigned char gemm_smem[];                                 \
        PK_GEMM_TMA_BODY(OUT);                                                                      \
    }
#define PK_GEMM_FP8_TMA_KERNEL(NAME, OUT, CTYPE)                                                     \
    extern "C" __global__ void __launch_bounds__(pk::GEMM_TMA_THREADS, 1) PK_GEMM_TMA_CLUSTER_DIMS   \
        NAME(const __grid_constant__ pk::TmaDesc tmA, const float* __restrict__ aScale,            \
             const __grid_constant__ pk::TmaDesc tmW, const float* __restrict__ wScale,            \
             CTYPE* __restrict__ C, const float* __restrict__ bias, int M, int N, int K) {         \
        extern __shared__ __align__(128) unsigned char gemm_smem[];                                 \
        PK_GEMM_FP8_TMA_BODY(OUT);                                                                  \
    }
PK_GEMM_TMA_KERNEL(gemm_tma_128x256_bf16, pk::GEMM_OUT_BF16, bf16)
PK_GEMM_TMA_KERNEL(gemm_tma_128x256_f32, pk::GEMM_OUT_F32, float)
PK_GEMM_TMA_KERNEL(gemm_tma_128x256_add_f32, pk::GEMM_ADD_F32, float)
PK_GEMM_TMA_KERNEL(gemm_tma_128x256_swiglu_bf16, pk::GEMM_SWIGLU_BF16, bf16)
PK_GEMM_FP8_TMA_KERNEL(gemm_fp8_tma_128x256_bf16, pk::GEMM_OUT_BF16, bf16)
PK_GEMM_FP8_TMA_KERNEL(gemm_fp8_tma_128x256_f32, pk::GEMM_OUT_F32, float)
PK_GEMM_FP8_TMA_KERNEL(gemm_fp8_tma_128x256_add_f32, pk::GEMM_ADD_F32, float)
PK_GEMM_FP8_TMA_KERNEL(gemm_fp8_tma_128x256_swiglu_bf16, pk::GEMM_SWIGLU_BF16, bf16)
#undef PK_GEMM_TMA_KERNEL
#undef PK_GEMM_FP8_TMA_KERNEL
#undef PK_GEMM_TMA_BODY
#undef PK_GEMM_FP8_TMA_BODY
#undef PK_GEMM_TMA_CLUSTER_DIMS
