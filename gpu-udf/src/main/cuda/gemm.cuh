// Tensor-core GEMM for the model's projections: C[M,N] (op)= A[M,K] * W[N,K]^T (+ bias[N]).
//
// A: activations, row-major, K contiguous. W: a PyTorch Linear weight [out = N, in = K], row-major,
// K contiguous. Both operands are K-major, which is exactly what mma.sync ...row.col wants (the
// same layout as Q K^T in attention.cuh), so both go through ldmatrix without .trans.
// bf16 in, fp32 accumulate. Output modes (template OUT): GEMM_OUT_BF16 stores bf16 C,
// GEMM_OUT_F32 stores fp32 C, GEMM_ADD_F32 does C += result in fp32 (the residual add after the
// O- and down-projections). Optional fp32 bias[N] (nullptr: none) is added in fp32 before the store
// (or the add) in every mode.
// Requirements: M >= 1 (any), N and K multiples of 8 (16-byte rows), A, W, C 16-byte aligned.
// Partial tiles in M, N and K: rows past M or N and 8-element K chunks past K are zero-filled by
// cp.async (src-size 0), and the epilogue stores only rows < M, columns < N (N % 8 == 0, so an
// 8-column mma tile is entirely in or out).
//
// Cost, per GEMM: 2*M*N*K FLOPs against 2*(M*K + N*K) + (2 or 4 or 8)*M*N bytes. For the real
// shapes (M = 16384 tokens; README.md has the table) that is 137 GFLOP .. 3.85 TFLOP against
// 0.18 .. 1.3 GB, i.e. 800 .. 3000 FLOP per byte: at 3 TB/s the bytes take 0.06 .. 0.44 ms and the
// FLOPs at ~790 TFLOP/s 0.17 .. 4.9 ms. Every shape is bound by tensor-core issue, never by HBM.
//
// Design (CUTLASS-2 style multistage kernel; one CTA = one BM x BN tile of C):
//  - 8 warps (256 threads), each a WM x WN warp tile: 128x256 CTA with 64x64 warps ("L": 4-stage,
//    192 KB of shared memory, 1 CTA/SM, for Hopper) or 128x128 with 64x32 warps ("S": 3-stage,
//    96 KB, fits the 99 KB of sm_86/89 and the A100, also used for tests).
//  - BK = 64: a tile row is 128 bytes = 8 chunks of 16 B, stored with the XOR swizzle
//    chunk ^ (row & 7) (common.cuh swz<64>): the 8 rows one ldmatrix phase reads land in 8
//    different bank groups, and each warp's cp.async stores cover whole rows (conflict-free).
//  - STAGES-deep cp.async ring (cp.async.cg 16 B, zero-fill predication), one __syncthreads per
//    k-tile; fragments (ldmatrix.x4 for both operands) are double-buffered in registers across the
//    four k16 steps of a tile and across tiles, so ldmatrix of step s+1 overlaps the mma of step s.
//  - Why 64x64 warp tiles: mma.sync on Hopper is bound by shared-memory bandwidth. Per k16 step a
//    64x64 warp tile reads 8 ldmatrix.x4 (4 KB) for 32 mma (128 KFLOP) = 32 FLOP/B; with the
//    cp.async stores (128x256x64 per 48 KB = 85 FLOP/B) that is ~117 B/clk/SM at the ~2700
//    FLOP/clk/SM mma.sync can issue, just under the 128 B/clk of shared memory. 64x32 would need
//    ~170 B/clk and cannot reach that rate.
//  - Grid: 1-D, rasterised in groups of 16 M-tiles (M-tile index fastest inside a group) so that
//    the ~132 concurrent CTAs share A and W tiles in L2 (~16 A row blocks + ~8 W column blocks).
//  - Epilogue: straight from the accumulator fragments (float2 / packed bf16x2 stores; each quad
//    of lanes writes a full 32-byte sector per row in fp32). Moving C through HBM takes ~6% (bf16
//    out) to ~25% (fp32 +=, O-proj) of the compute time, and one CTA's stores overlap the other
//    CTAs' main loops, so no shared-memory staging.
//  - gemm_block_wgmma (further down): the Hopper variant of the 128x256 kernel with wgmma.
//
// GEMM_HOST_EMULATION: gpu-udf/src/test/cuda/gemm_emulator.cpp compiles this file as host C++
// with its own emulation of cp.async, ldmatrix, mma.sync, wgmma and the thread hierarchy (from
// the PTX ISA's fragment layouts) to check the index arithmetic and the pipelines on a machine
// without a GPU. Everything the kernel bodies use from the device comes through the pk:: helpers.
#pragma once
#ifndef GEMM_HOST_EMULATION
#include <type_traits>

#include "common.cuh"
#endif
#include "wgmma.cuh"

namespace pk {

enum GemmOut { GEMM_OUT_BF16 = 0, GEMM_OUT_F32 = 1, GEMM_ADD_F32 = 2, GEMM_SWIGLU_BF16 = 3 };
// GEMM_SWIGLU_BF16 (the 128x256 wgmma epilogues only): W is the MLP's gate and up projections with
// their rows interleaved in blocks of 128 (gate rows 128b..128b+127, then up rows 128b..128b+127,
// for b = 0, 1, ...), N = 2 x intermediate a multiple of 256, so every 256-column tile holds the
// gate and the up columns of the same 128 features; C is bf16 [M, N / 2] = silu(gate) * up, each
// rounded to bf16 first as the unfused path (a bf16 GEMM output, then swiglu_k) does, so the two
// agree bit for bit.

#ifndef GEMM_HOST_EMULATION
// Wait until at most N of this thread's committed cp.async groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait_group() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
__device__ __forceinline__ void gemm_st_f32x2(float* p, float x, float y) {
    *reinterpret_cast<float2*>(p) = make_float2(x, y);
}
__device__ __forceinline__ void gemm_add_f32x2(float* p, float x, float y) {
    float2 v = *reinterpret_cast<const float2*>(p);
    *reinterpret_cast<float2*>(p) = make_float2(v.x + x, v.y + y);
}
__device__ __forceinline__ float2 gemm_ld_f32x2(const float* p) { return *reinterpret_cast<const float2*>(p); }
// Asks L2 for the 128-byte line holding p (no register result, nothing waits for it).
__device__ __forceinline__ void gemm_prefetch_l2(const void* p) {
    asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p));
}
__device__ __forceinline__ void gemm_st_bf16x2(bf16* p, float x, float y) {
    *reinterpret_cast<uint32_t*>(p) = pack_bf16(x, y);
}
__device__ __forceinline__ void gemm_st_bf16x8(bf16* p, const uint32_t (&v)[4]) {
    *reinterpret_cast<uint4*>(p) = make_uint4(v[0], v[1], v[2], v[3]);
}
__device__ __forceinline__ void gemm_ld_bias2(const float* p, float& x, float& y) {
    float2 v = __ldg(reinterpret_cast<const float2*>(p));
    x = v.x;
    y = v.y;
}
__device__ __forceinline__ float gemm_ld_scale(const float* p) { return __ldg(p); }
#endif

template <int BM_, int BN_, int WM_, int WN_, int STAGES_>
struct GemmCfg {
    static constexpr int BM = BM_, BN = BN_, WM = WM_, WN = WN_, STAGES = STAGES_;
    static constexpr int BK = 64;                        // 128-byte rows: swz<64>
    static constexpr int WARPS_M = BM / WM, WARPS_N = BN / WN;
    static constexpr int WARPS = WARPS_M * WARPS_N, THREADS = 32 * WARPS;
    static constexpr int MT = WM / 16, NT = WN / 8;      // m16 / n8 mma tiles per warp
    static constexpr int KSTEPS = BK / 16;
    static constexpr int ROW_BYTES = BK * 2;
    static constexpr int A_BYTES = BM * ROW_BYTES, W_BYTES = BN * ROW_BYTES;
    static constexpr int STAGE_BYTES = A_BYTES + W_BYTES;
    static constexpr int SMEM = STAGES * STAGE_BYTES;
    static constexpr int LOAD_ROWS = THREADS / 8;        // rows one pass of cp.async covers
    static constexpr int A_PASSES = BM / LOAD_ROWS, W_PASSES = BN / LOAD_ROWS;
    static constexpr int GROUP_M = 16;                   // rasterisation: M-tiles per group
    static_assert(BM % WM == 0 && BN % WN == 0 && WM % 16 == 0 && WN % 16 == 0, "warp tiling");
    static_assert(BM % LOAD_ROWS == 0 && BN % LOAD_ROWS == 0 && LOAD_ROWS % 8 == 0, "load passes");
    static_assert(A_PASSES <= 32 && W_PASSES <= 32, "row masks are 32-bit");
    static_assert(KSTEPS >= 2 && KSTEPS % 2 == 0, "fragment double buffering needs an even step count >= 2");
    static_assert(STAGES >= 2, "pipeline depth");
};

using GemmL = GemmCfg<128, 256, 64, 64, 4>;  // 196608 B shared memory, Hopper
using GemmS = GemmCfg<128, 128, 64, 32, 3>;  //  98304 B, sm_80/86/89 and small problems

// Tile (tm, tn) of linear block id: groups of GROUP_M M-tiles; inside a group the M-tile index
// runs fastest and the N-tile index sweeps, so concurrent CTAs share both operands in L2.
__device__ __forceinline__ void gemm_raster(int bid, int tilesM, int tilesN, int groupM, int& tm, int& tn) {
    const int perGroup = groupM * tilesN;
    const int group = bid / perGroup;
    const int first = group * groupM;
    const int rows = min(groupM, tilesM - first);
    const int local = bid - group * perGroup;
    tm = first + local % rows;
    tn = local / rows;
}

// The global -> shared loader every kernel here uses: thread `tid` owns 16-byte chunk lc of rows
// lr + i * LOAD_ROWS of the A and W tiles, stored swizzled (swz<64>); rows past M or N and chunks
// past K are zero-filled. Row pointers are formed only for rows that exist (clamped to the tile's
// first row otherwise); a zero-filled chunk is given the matrix base as its never-read source.
// It works in bytes: EB is the element size (2: bf16, 8 per chunk; 1: E4M3, 16 per chunk), and a
// k-tile is always one 128-byte row (BK = 64 bf16 or 128 E4M3 elements).
template <class Cfg, int EB = 2>
struct TileLoader {
    static constexpr int LOAD_ROWS = Cfg::LOAD_ROWS, RB = Cfg::ROW_BYTES;
    const unsigned char *A, *W, *aRow, *wRow;
    int rowBytes, lc;
    uint32_t ldOff, aMask = 0, wMask = 0;  // mask bit i: row lr + i * LOAD_ROWS of the tile exists
    size_t passStride;

    __device__ __forceinline__ TileLoader(const void* A_, const void* W_, int M, int N, int K, int m0, int n0,
                                          int tid)
        : A(static_cast<const unsigned char*>(A_)), W(static_cast<const unsigned char*>(W_)), rowBytes(K * EB),
          lc(tid & 7) {
        const int lr = tid >> 3;
        ldOff = static_cast<uint32_t>(lr * RB + ((lc ^ (lr & 7)) << 4));
#pragma unroll
        for (int i = 0; i < Cfg::A_PASSES; ++i)
            if (m0 + lr + i * LOAD_ROWS < M) aMask |= 1u << i;
#pragma unroll
        for (int i = 0; i < Cfg::W_PASSES; ++i)
            if (n0 + lr + i * LOAD_ROWS < N) wMask |= 1u << i;
        aRow = A + (size_t)(aMask ? m0 + lr : 0) * rowBytes + lc * 16;
        wRow = W + (size_t)(wMask ? n0 + lr : 0) * rowBytes + lc * 16;
        passStride = (size_t)LOAD_ROWS * rowBytes;
    }

    // k-tile kt into ring stage `stage` of the shared buffer starting at sBase
    __device__ __forceinline__ void load(uint32_t sBase, int stage, int kt) const {
        const int kOff = kt * RB;  // bytes
        const bool kOk = kOff + lc * 16 < rowBytes;
        const uint32_t sA = sBase + stage * Cfg::STAGE_BYTES + ldOff;
        const uint32_t sW = sA + Cfg::A_BYTES;
#pragma unroll
        for (int i = 0; i < Cfg::A_PASSES; ++i) {
            const bool v = kOk && ((aMask >> i) & 1u);
            cp_async16(sA + i * LOAD_ROWS * RB, v ? aRow + i * passStride + kOff : A, v);
        }
#pragma unroll
        for (int i = 0; i < Cfg::W_PASSES; ++i) {
            const bool v = kOk && ((wMask >> i) & 1u);
            cp_async16(sW + i * LOAD_ROWS * RB, v ? wRow + i * passStride + kOff : W, v);
        }
    }
};

template <class Cfg, int OUT>
__device__ __forceinline__ void gemm_block(unsigned char* smem, const bf16* __restrict__ A,
                                           const bf16* __restrict__ W, void* __restrict__ Cv,
                                           const float* __restrict__ bias, int M, int N, int K) {
    constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, STAGES = Cfg::STAGES;
    constexpr int MT = Cfg::MT, NT = Cfg::NT, KSTEPS = Cfg::KSTEPS, RB = Cfg::ROW_BYTES;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;

    const int tilesM = (M + BM - 1) / BM, tilesN = (N + BN - 1) / BN;
    int tm, tn;
    gemm_raster(blockIdx.x, tilesM, tilesN, Cfg::GROUP_M, tm, tn);
    const int m0 = tm * BM, n0 = tn * BN;
    const int KT = (K + BK - 1) / BK;  // k-tiles; the last one may be partial (K % 8 == 0)

    const uint32_t sBase = smem_u32(smem);

    const TileLoader<Cfg> loader(A, W, M, N, K, m0, n0, tid);
    auto load_tile = [&](int stage, int kt) { loader.load(sBase, stage, kt); };

    // ---- fragment addresses (the ldmatrix lane roles of attention.cuh's load_q_frags/qk_tile)
    const int wm = warp / Cfg::WARPS_N, wn = warp % Cfg::WARPS_N;
    const int mi = lane >> 3, r8 = lane & 7;
    // A, m-tile mt, k-step s: matrices (rows 0-7, k 0-7) (rows 8-15, k 0-7) (rows 0-7, k 8-15)
    // (rows 8-15, k 8-15) = a0..a3 of mma.m16n8k16; lane supplies row (mi & 1) * 8 + r8 at
    // chunk 2s + (mi >> 1). All rows here are = r8 mod 8, so the swizzle XORs with r8.
    const uint32_t aLane = static_cast<uint32_t>((wm * Cfg::WM + (mi & 1) * 8 + r8) * RB);
    const int aHi = mi >> 1;
    // W, n-tile pair p, k-step s: matrices (n 0-7, k 0-7) (n 0-7, k 8-15) (n 8-15, k 0-7)
    // (n 8-15, k 8-15) = b0, b1 of n-tile 2p and b0, b1 of n-tile 2p+1.
    const uint32_t bLane = static_cast<uint32_t>(Cfg::A_BYTES + (wn * Cfg::WN + (mi >> 1) * 8 + r8) * RB);
    const int bHi = mi & 1;

    uint32_t af[2][MT][4], bfr[2][NT][2];
    auto load_frags = [&](int stage, int s, uint32_t (*a)[4], uint32_t (*b)[2]) {
        const uint32_t st = sBase + stage * Cfg::STAGE_BYTES;
        const uint32_t ca = static_cast<uint32_t>(((2 * s + aHi) ^ r8) << 4);
        const uint32_t cb = static_cast<uint32_t>(((2 * s + bHi) ^ r8) << 4);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
            ldsm_x4(a[mt][0], a[mt][1], a[mt][2], a[mt][3], st + aLane + mt * 16 * RB + ca);
#pragma unroll
        for (int p = 0; p < NT / 2; ++p)
            ldsm_x4(b[2 * p][0], b[2 * p][1], b[2 * p + 1][0], b[2 * p + 1][1], st + bLane + p * 16 * RB + cb);
    };

    float acc[MT][NT][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) acc[mt][nt][0] = acc[mt][nt][1] = acc[mt][nt][2] = acc[mt][nt][3] = 0.f;

    // ---- pipeline. Group g of cp.async holds k-tile g (groups past KT are empty), in stage g % STAGES.
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KT) load_tile(s, s);
        cp_async_commit();
    }
    cp_async_wait_group<STAGES - 2>();  // tile 0 landed (this thread's part) ...
    __syncthreads();                    // ... and everyone's
    int rs = 0;                // stage being read
    int ws = STAGES - 1;       // stage the next load writes: the one read in the previous k-tile
    int kLoad = STAGES - 1;    // k-tile the next load fetches
    load_frags(0, 0, af[0], bfr[0]);

    for (int kt = 0; kt < KT; ++kt) {
#pragma unroll
        for (int s = 0; s < KSTEPS; ++s) {
            // Fragments of step s+1; after the last step, step 0 of the next k-tile (next stage,
            // made visible by the barrier at step KSTEPS-2 below). After the final k-tile this
            // reads a stage nobody fills: harmless, the registers are never used.
            if (s == KSTEPS - 1) rs = (rs + 1 == STAGES) ? 0 : rs + 1;
            load_frags(rs, (s + 1) % KSTEPS, af[(s + 1) & 1], bfr[(s + 1) & 1]);
            if (s == 0) {
                // Refill the stage read in k-tile kt-1: every warp finished its ldmatrix of that
                // stage before the barrier at step KSTEPS-2 of k-tile kt-1.
                if (kLoad < KT) load_tile(ws, kLoad);
                cp_async_commit();  // always, so that group index == k-tile index
                ws = (ws + 1 == STAGES) ? 0 : ws + 1;
                ++kLoad;
            }
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int nt = 0; nt < NT; ++nt)
                    mma16816(acc[mt][nt], af[s & 1][mt], bfr[s & 1][nt][0], bfr[s & 1][nt][1]);
            if (s == KSTEPS - 2) {
                // STAGES + kt groups committed so far; leaving STAGES-2 in flight means groups
                // 0..kt+1 are complete: k-tile kt+1, read from the next step on, is in place.
                cp_async_wait_group<STAGES - 2>();
                __syncthreads();
            }
        }
    }
    cp_async_wait_group<0>();  // only empty groups can be left; retire them before exiting

    // ---- epilogue: acc[mt][nt] = rows (g, g+8) x cols (2*t4, 2*t4+1) of its 16x8 tile
    const int g = lane >> 2, t4 = lane & 3;
    const int rowBase = m0 + wm * Cfg::WM + g;
    const int colBase = n0 + wn * Cfg::WN + 2 * t4;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
        const int col = colBase + nt * 8;
        if (col >= N) continue;  // N % 8 == 0: the whole 8-column tile is out
        float b0 = 0.f, b1 = 0.f;
        if (bias != nullptr) gemm_ld_bias2(bias + col, b0, b1);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int row = rowBase + mt * 16 + h * 8;
                if (row >= M) continue;
                const float x = acc[mt][nt][2 * h] + b0, y = acc[mt][nt][2 * h + 1] + b1;
                const size_t off = (size_t)row * N + col;
                if (OUT == GEMM_OUT_BF16) gemm_st_bf16x2(static_cast<bf16*>(Cv) + off, x, y);
                else if (OUT == GEMM_OUT_F32) gemm_st_f32x2(static_cast<float*>(Cv) + off, x, y);
                else gemm_add_f32x2(static_cast<float*>(Cv) + off, x, y);
            }
        }
    }
}


// ---- Hopper wgmma (sm_90a only). Its body is compiled where __CUDA_ARCH_FEAT_SM90_ALL is defined
// (the -gencode arch=compute_90a,code=sm_90a pass); in every other pass the gemm_wgmma_* entry
// points run the mma.sync 128x256 body instead (same tile, threads and shared memory), so they
// compute the same result on any card whichever cubin the driver picks; gemm_wgmma_probe says
// which one runs.

#if defined(PK_WGMMA) || defined(GEMM_HOST_EMULATION)
// Shared-memory matrix descriptor of a K-major operand stored as our swizzled tiles: rows of 128
// bytes (64 bf16 or 128 E4M3), chunk ^ (row & 7), 8-row groups 1024 bytes apart (= the hardware's
// 128-byte swizzle when the tile starts 1024-byte aligned: it XORs address bits 4-6 with bits
// 7-9). Leading byte offset 16 (unused by swizzled K-major layouts, 1 by convention), stride byte
// offset 1024 between 8-row groups (wgmma.cuh has the fields). A k-step (k16 bf16, k32 E4M3) reads
// 32 bytes of each row, so step s of a tile starts 32*s bytes further (start field + 2*s); the
// swizzle then lands on the same chunks our loader wrote.
__device__ __forceinline__ uint64_t wgmma_desc_sw128(uint32_t smemAddr) { return wg_desc(smemAddr, 16, 1024); }

// Per-row and per-column scales of the FP8 kernel's epilogue: C = acc * aScale[row] * wScale[col].
struct Fp8Scales {
    const float* a;  // [M]: one per activation row (token), from quantize_rows_e4m3
    const float* w;  // [N]: one per weight row (output channel)
};

// Transposes 4 x 4 32-bit values across the 4 lanes of a quad: lane t's x[jj] becomes lane jj's
// x[t]. Two butterfly steps (lanes t ^ 2, then t ^ 1), each two shuffles; which value a lane sends
// and keeps is a select on its lane bits, so the array stays in registers.
__device__ __forceinline__ void quad_transpose4(uint32_t (&x)[4], int t) {
    const bool b1 = (t >> 1) & 1, b0 = t & 1;
#pragma unroll
    for (int k = 0; k < 2; ++k) {  // lane t keeps x[jj] where jj's bit 1 is t's bit 1
        const uint32_t r = __shfl_xor_sync(0xffffffffu, b1 ? x[k] : x[2 + k], 2);
        if (b1) x[k] = r;
        else x[2 + k] = r;
    }
#pragma unroll
    for (int k = 0; k < 2; ++k) {  // then x[jj] where jj's bit 0 is t's bit 0
        const uint32_t r = __shfl_xor_sync(0xffffffffu, b0 ? x[2 * k] : x[2 * k + 1], 1);
        if (b0) x[2 * k] = r;
        else x[2 * k + 1] = r;
    }
}

// The wgmma kernels' epilogue, from the accumulators of one thread of a warpgroup's 64x256 tile:
// acc[4j + {0,1,2,3}] = (row g, col 8j+2t), (g, 8j+2t+1), (g+8, 8j+2t), (g+8, 8j+2t+1), with
// g = lane / 4, t = lane % 4; rowBase = the global row of g, colBase = the global column of 2t.
// FP8 scales each product by its row's and column's scale, then every mode adds the bias. Rows past
// M and columns past N are not stored.
// bf16 output: a quad's four lanes hold 2 columns each of an 8-column block, 16 bytes of a row;
// stored as they are, every row gets half of a 32-byte sector per store, and the L2 fetches the
// other half of each sector from HBM before it can write back (on qkv at M = 16384 that cost 11%
// against the fp32 output, which writes whole sectors). So the quad transposes four blocks
// (quad_transpose4) and each lane stores one whole block, 16 bytes: 64 contiguous bytes per row.
template <int OUT, bool FP8>
__device__ __forceinline__ void wgmma_epilogue(const float* acc, void* __restrict__ Cv, const float* __restrict__ bias,
                                               Fp8Scales scales, int M, int N, int rowBase, int colBase) {
    float rowScale[2] = {1.f, 1.f};
    if constexpr (FP8) {
#pragma unroll
        for (int h = 0; h < 2; ++h)
            if (rowBase + h * 8 < M) rowScale[h] = gemm_ld_scale(scales.a + rowBase + h * 8);
    }
    // (x, y) of row half h of block j: scaled and biased
    auto value = [&](int j, int h, float& x, float& y) {
        const int col = colBase + j * 8;
        float b0 = 0.f, b1 = 0.f, w0 = 1.f, w1 = 1.f;
        if (col < N) {
            if (bias != nullptr) gemm_ld_bias2(bias + col, b0, b1);
            if constexpr (FP8) gemm_ld_bias2(scales.w + col, w0, w1);
        }
        x = acc[4 * j + 2 * h];
        y = acc[4 * j + 2 * h + 1];
        if constexpr (FP8) {
            x *= rowScale[h] * w0;
            y *= rowScale[h] * w1;
        }
        x += b0;
        y += b1;
    };
    // bf16 stores: GROUPS groups of 4 blocks of 8 output columns from col0 (a multiple of 8) in rows
    // of ldc elements; pack(j, h) is this lane's two packed columns 2t, 2t + 1 of block j in row
    // half h; the quad transposes each group so that lane t stores block 4q + t whole.
    const int t = (colBase & 7) >> 1;  // colBase = (a multiple of 8) + 2t
    auto store_bf16_blocks = [&](auto groups, int col0, int ldc, auto pack) {
#pragma unroll
        for (int q = 0; q < decltype(groups)::value; ++q) {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                uint32_t v[4];
#pragma unroll
                for (int jj = 0; jj < 4; ++jj) v[jj] = pack(4 * q + jj, h);
                quad_transpose4(v, t);  // v = columns 0..7 of block 4q + t, in order
                const int row = rowBase + h * 8, col = col0 + 8 * (4 * q + t);
                if (row < M && col < ldc) gemm_st_bf16x8(static_cast<bf16*>(Cv) + (size_t)row * ldc + col, v);
            }
        }
    };
    if constexpr (OUT == GEMM_OUT_BF16) {
        store_bf16_blocks(std::integral_constant<int, 8>{}, colBase - 2 * t, N, [&](int j, int h) {
            float x, y;
            value(j, h, x, y);
            return pack_bf16(x, y);
        });
    } else if constexpr (OUT == GEMM_SWIGLU_BF16) {
        // blocks j < 16 are gate columns of features 8j .. 8j+7 of the tile, block j + 16 their up
        // columns; the output tile is 128 features wide
        auto bf = [](float x) { return __bfloat162float(__float2bfloat16_rn(x)); };
        store_bf16_blocks(std::integral_constant<int, 4>{}, (colBase - 2 * t) / 2, N / 2, [&](int j, int h) {
            float gx, gy, ux, uy;
            value(j, h, gx, gy);
            value(j + 16, h, ux, uy);
            gx = bf(gx), gy = bf(gy), ux = bf(ux), uy = bf(uy);
            return pack_bf16(gx / (1.f + expf(-gx)) * ux, gy / (1.f + expf(-gy)) * uy);
        });
    } else if constexpr (OUT == GEMM_OUT_F32) {
#pragma unroll
        for (int j = 0; j < 32; ++j) {
            const int col = colBase + j * 8;
            if (col >= N) continue;
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int row = rowBase + h * 8;
                if (row >= M) continue;
                float x, y;
                value(j, h, x, y);
                gemm_st_f32x2(static_cast<float*>(Cv) + (size_t)row * N + col, x, y);
            }
        }
    } else {
        // C += result. The compiler cannot tell a load of C from the previous store to C, so a
        // plain load-add-store per element would wait for 64 round trips to memory one after the
        // other; here each group of 8 blocks loads its 16 old values first, then adds and stores.
        float* C = static_cast<float*>(Cv);
#pragma unroll
        for (int j0 = 0; j0 < 32; j0 += 8) {
            float2 old[8][2];
#pragma unroll
            for (int jj = 0; jj < 8; ++jj)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int row = rowBase + h * 8, col = colBase + (j0 + jj) * 8;
                    old[jj][h] = row < M && col < N ? gemm_ld_f32x2(C + (size_t)row * N + col) : make_float2(0.f, 0.f);
                }
#pragma unroll
            for (int jj = 0; jj < 8; ++jj)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int row = rowBase + h * 8, col = colBase + (j0 + jj) * 8;
                    if (row >= M || col >= N) continue;
                    float x, y;
                    value(j0 + jj, h, x, y);
                    gemm_st_f32x2(C + (size_t)row * N + col, old[jj][h].x + x, old[jj][h].y + y);
                }
        }
    }
}

// ADD_F32: asks L2 for this thread's share of the tile's C rows a few k-tiles before the epilogue
// reads them (lane t of each quad takes 128-byte lines t and t + 4 of its two 1 KiB row segments).
template <int OUT>
__device__ __forceinline__ void wgmma_epilogue_prefetch(const void* Cv, int M, int N, int rowBase, int colBase) {
    if constexpr (OUT == GEMM_ADD_F32) {
        const int t = (colBase & 7) >> 1, seg = colBase - 2 * t;
#pragma unroll
        for (int h = 0; h < 2; ++h)
#pragma unroll
            for (int line = t; line < 8; line += 4) {
                const int row = rowBase + h * 8, col = seg + line * 32;
                if (row < M && col < N) gemm_prefetch_l2(static_cast<const float*>(Cv) + (size_t)row * N + col);
            }
    }
}

// One k-tile of a 128x256 wgmma CTA tile (GemmL's stage layout: A's 128 rows, then W's 256, each
// row one 128-byte swizzled k-tile row) for warpgroup `half`'s 64 rows: the 4 k-steps of
// m64n256k16 (bf16) or m64n256k32 (E4M3), committed as one group, then waits until at most this
// group is in flight, i.e. the previous k-tile's group has retired and its stage may be refilled.
template <bool FP8>
__device__ __forceinline__ void wgmma_k_tile(float* acc, uint32_t stage, int half) {
    using Cfg = GemmL;
    const uint64_t dA = wgmma_desc_sw128(stage + half * 64 * Cfg::ROW_BYTES), dB = wgmma_desc_sw128(stage + Cfg::A_BYTES);
    constexpr int KSTEPS = Cfg::ROW_BYTES / 32;  // a k-step (k16 bf16, k32 E4M3) reads 32 bytes of each row
    wgmma_fence();
#pragma unroll
    for (int s = 0; s < KSTEPS; ++s) {
        if constexpr (FP8) wgmma_m64n256k32_e4m3(acc, dA + 2 * s, dB + 2 * s);
        else wgmma_m64n256k16(acc, dA + 2 * s, dB + 2 * s);
    }
    wgmma_commit();
    wgmma_wait<1>();
}

// 128x256 CTA tile, one 128-byte k-tile row (BK = 64 bf16, or 128 E4M3 when FP8), 4 stages (as
// GemmL), 2 warpgroups: warpgroup w computes rows 64w..64w+63 x all 256 columns with m64n256k16
// (bf16) or m64n256k32 (E4M3), 128 fp32 accumulators per thread. All 256 threads load with
// cp.async as in gemm_block. wgmma reads shared memory asynchronously, so a stage is refilled only
// two k-tiles after it was read: in k-tile kt the loads fetch tile kt + STAGES - 2 into the stage
// of tile kt - 2, whose wgmma group every warpgroup retired with wgmma.wait_group 1 in k-tile
// kt - 1, before the barrier that starts k-tile kt.
// FP8: A and W hold E4M3 codes (K a multiple of 16), and the epilogue scales each product by its
// row's and column's scale before the bias; the shared-memory bytes, descriptors and pipeline are
// the bf16 kernel's.
template <int OUT, bool FP8 = false>
__device__ __forceinline__ void gemm_block_wgmma(unsigned char* smem, const void* __restrict__ A,
                                                 const void* __restrict__ W, void* __restrict__ Cv,
                                                 const float* __restrict__ bias, int M, int N, int K,
                                                 Fp8Scales scales = Fp8Scales{nullptr, nullptr}) {
    using Cfg = GemmL;
    constexpr int BM = Cfg::BM, BN = Cfg::BN, STAGES = Cfg::STAGES, RB = Cfg::ROW_BYTES;
    constexpr int EB = FP8 ? 1 : 2;      // operand bytes per element
    constexpr int BK = RB / EB;          // elements per k-tile
    static_assert(Cfg::THREADS == 256 && BM == 128 && BN == 256 && RB == 128 && STAGES >= 3, "wgmma tiling");
    static_assert(Cfg::A_BYTES % 1024 == 0 && Cfg::STAGE_BYTES % 1024 == 0, "1024-byte aligned swizzle atoms");
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wg = warp >> 2, wq = warp & 3;  // warpgroup, warp within it

    const int tilesM = (M + BM - 1) / BM, tilesN = (N + BN - 1) / BN;
    int tm, tn;
    gemm_raster(blockIdx.x, tilesM, tilesN, Cfg::GROUP_M, tm, tn);
    const int m0 = tm * BM, n0 = tn * BN;
    const int KT = (K + BK - 1) / BK;

    // the launch asks for Cfg::SMEM + 1024 bytes, so the ring fits after aligning to 1024
    const uint32_t sBase = (smem_u32(smem) + 1023u) & ~1023u;

    const TileLoader<Cfg, EB> loader(A, W, M, N, K, m0, n0, tid);
    auto load_tile = [&](int stage, int kt) { loader.load(sBase, stage, kt); };

    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;

    // Group g of cp.async holds k-tile g; prologue: tiles 0 .. STAGES-3.
#pragma unroll
    for (int s = 0; s < STAGES - 2; ++s) {
        if (s < KT) load_tile(s, s);
        cp_async_commit();
    }
    for (int kt = 0; kt < KT; ++kt) {
        // STAGES-2+kt groups committed; leaving STAGES-3 in flight completes groups 0..kt.
        cp_async_wait_group<STAGES - 3>();
        fence_proxy_async_smem();
        __syncthreads();
        const int next = kt + STAGES - 2;
        if (next < KT) load_tile(next % STAGES, next);  // the stage of tile kt-2 (retired, see above)
        cp_async_commit();

        wgmma_k_tile<FP8>(acc, sBase + (kt % STAGES) * Cfg::STAGE_BYTES, wg);  // retires tile kt-1's group
    }
    wgmma_wait<0>();
    cp_async_wait_group<0>();  // only empty groups can be left

    // epilogue: this warp's 16 rows (64 wg + 16 wq) of the warpgroup's 64x256 tile
    const int g = lane >> 2, t4 = lane & 3;
    wgmma_epilogue<OUT, FP8>(acc, Cv, bias, scales, M, N, m0 + wg * 64 + wq * 16 + g, n0 + 2 * t4);
}
#endif

}  // namespace pk

#ifndef GEMM_HOST_EMULATION
// Entry points: gemm_<BM>x<BN>_<out>(A, W, C, bias or null, M, N, K); 1-D grid of
// ceil(M/BM) * ceil(N/BN) CTAs, 256 threads, dynamic shared memory Cfg::SMEM (see Gemm.java).
#define PK_GEMM_KERNEL(NAME, CFG, MINB, OUT, CTYPE)                                                  \
    extern "C" __global__ void __launch_bounds__(CFG::THREADS, MINB)                                \
        NAME(const bf16* __restrict__ A, const bf16* __restrict__ W, CTYPE* __restrict__ C,        \
             const float* __restrict__ bias, int M, int N, int K) {                                 \
        extern __shared__ __align__(128) unsigned char gemm_smem[];                                 \
        pk::gemm_block<CFG, OUT>(gemm_smem, A, W, C, bias, M, N, K);                                \
    }

PK_GEMM_KERNEL(gemm_128x256_bf16, pk::GemmL, 1, pk::GEMM_OUT_BF16, bf16)
PK_GEMM_KERNEL(gemm_128x256_f32, pk::GemmL, 1, pk::GEMM_OUT_F32, float)
PK_GEMM_KERNEL(gemm_128x256_add_f32, pk::GemmL, 1, pk::GEMM_ADD_F32, float)
PK_GEMM_KERNEL(gemm_128x128_bf16, pk::GemmS, 1, pk::GEMM_OUT_BF16, bf16)
PK_GEMM_KERNEL(gemm_128x128_f32, pk::GemmS, 1, pk::GEMM_OUT_F32, float)
PK_GEMM_KERNEL(gemm_128x128_add_f32, pk::GemmS, 1, pk::GEMM_ADD_F32, float)
#undef PK_GEMM_KERNEL

// gemm_wgmma_128x256_<out>: same arguments and grid as gemm_128x256_<out>; dynamic shared memory
// GemmL::SMEM + 1024 (alignment slack for the 1024-byte swizzle atoms).
#ifdef PK_WGMMA
#define PK_GEMM_WGMMA_BODY(OUT) pk::gemm_block_wgmma<OUT>(gemm_smem, A, W, C, bias, M, N, K)
#else
#define PK_GEMM_WGMMA_BODY(OUT) pk::gemm_block<pk::GemmL, OUT>(gemm_smem, A, W, C, bias, M, N, K)
#endif
#define PK_GEMM_WGMMA_KERNEL(NAME, OUT, CTYPE)                                                       \
    extern "C" __global__ void __launch_bounds__(256, 1)                                            \
        NAME(const bf16* __restrict__ A, const bf16* __restrict__ W, CTYPE* __restrict__ C,        \
             const float* __restrict__ bias, int M, int N, int K) {                                 \
        extern __shared__ __align__(128) unsigned char gemm_smem[];                                 \
        PK_GEMM_WGMMA_BODY(OUT);                                                                    \
    }
PK_GEMM_WGMMA_KERNEL(gemm_wgmma_128x256_bf16, pk::GEMM_OUT_BF16, bf16)
PK_GEMM_WGMMA_KERNEL(gemm_wgmma_128x256_f32, pk::GEMM_OUT_F32, float)
PK_GEMM_WGMMA_KERNEL(gemm_wgmma_128x256_add_f32, pk::GEMM_ADD_F32, float)
#undef PK_GEMM_WGMMA_KERNEL
#undef PK_GEMM_WGMMA_BODY

// gemm_fp8_wgmma_128x256_<out>(A, aScale, W, wScale, C, bias or null, M, N, K): C (op)=
// (A . W^T) * aScale[row] * wScale[col] (+ bias[col]) with A [M, K] and W [N, K] E4M3 codes (K a
// multiple of 16), the scales fp32. Grid and shared memory as gemm_wgmma_128x256_<out>. FP8 tensor
// cores exist only in the sm_90a build; elsewhere these kernels trap, and Gemm.java refuses FP8
// before launching them (it asks gemm_wgmma_probe).
#ifdef PK_WGMMA
#define PK_GEMM_FP8_BODY(OUT) \
    pk::gemm_block_wgmma<OUT, true>(gemm_smem, A, W, C, bias, M, N, K, pk::Fp8Scales{aScale, wScale})
#else
#define PK_GEMM_FP8_BODY(OUT) __trap()
#endif
#define PK_GEMM_FP8_KERNEL(NAME, OUT, CTYPE)                                                         \
    extern "C" __global__ void __launch_bounds__(256, 1)                                            \
        NAME(const uint8_t* __restrict__ A, const float* __restrict__ aScale,                      \
             const uint8_t* __restrict__ W, const float* __restrict__ wScale, CTYPE* __restrict__ C, \
             const float* __restrict__ bias, int M, int N, int K) {                                 \
        extern __shared__ __align__(128) unsigned char gemm_smem[];                                 \
        PK_GEMM_FP8_BODY(OUT);                                                                      \
    }
PK_GEMM_FP8_KERNEL(gemm_fp8_wgmma_128x256_bf16, pk::GEMM_OUT_BF16, bf16)
PK_GEMM_FP8_KERNEL(gemm_fp8_wgmma_128x256_f32, pk::GEMM_OUT_F32, float)
PK_GEMM_FP8_KERNEL(gemm_fp8_wgmma_128x256_add_f32, pk::GEMM_ADD_F32, float)
#undef PK_GEMM_FP8_KERNEL
#undef PK_GEMM_FP8_BODY

// out[0] = 1 where the code that runs is the sm_90a build (the gemm_wgmma_* kernels use wgmma),
// else 0 (they run the mma.sync body). One thread.
extern "C" __global__ void gemm_wgmma_probe(int* out) {
#ifdef PK_WGMMA
    out[0] = 1;
#else
    out[0] = 0;
#endif
}
#endif
