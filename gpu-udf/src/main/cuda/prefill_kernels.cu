// The kernels the Java launchers of io.prefill.cuda look up by name (KernelModule.kernel). One translation unit so
// that one nvcc call builds one fatbin. Layout and algorithms are described in the headers.
#include "block_sparse.cuh"
#include "pair_plan.cuh"
#include "gemm.cuh"
#include "gemm_tma.cuh"
#include "attention_wgmma.cuh"
#include "attention_ws.cuh"
#include "model_ops.cuh"
#include "plan_pick.cuh"
#include "search.cuh"
#include "snapkv.cuh"
#include "kept_mass.cuh"
#include "fp8.cuh"

using namespace pk;

// Attention (Java: io.prefill.cuda.AttentionKernels). Q, O [H, n, D] and K, V [Hkv, n, D] bf16;
// scaleLog2 = log2(e) / sqrt(D); plan: a CsrPlan (plan_tiles.cuh); lse [H, n] fp32, the log2
// softmax denominator of each row (the pattern search's *_lse twins, same body otherwise).
// mma.sync kernels (attention.cuh), every build: dense causal with 128-row CTAs, the 64-row plan
// kernel, and the pair-plan kernels (two 64-row blocks per CTA over pair, the pair plan of the
// 64-row plan blk).
#define ATTENTION_MMA_KERNELS(D)                                                                    \
    extern "C" __global__ void __launch_bounds__(128, 2)                                            \
        attention_dense_mma_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,       \
                                 int Hkv, int n, float scaleLog2) {                                 \
        attention_block<DenseMma<D>>(Q, K, V, O, H, Hkv, n, scaleLog2, CsrPlan{});                  \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128, 2)                                            \
        attention_dense_mma_lse_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,   \
                                     int Hkv, int n, float scaleLog2, float* lse) {                 \
        attention_block<DenseMma<D>>(Q, K, V, O, H, Hkv, n, scaleLog2, CsrPlan{}, CsrPlan{}, lse);  \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128, 2)                                            \
        attention_plan_mma_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,        \
                                int Hkv, int n, float scaleLog2, CsrPlan plan) {                    \
        attention_block<PlanMma<D>>(Q, K, V, O, H, Hkv, n, scaleLog2, plan);                        \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128, 2)                                            \
        attention_plan_mma_lse_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,    \
                                    int Hkv, int n, float scaleLog2, CsrPlan plan, float* lse) {    \
        attention_block<PlanMma<D>>(Q, K, V, O, H, Hkv, n, scaleLog2, plan, CsrPlan{}, lse);        \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128, 2)                                            \
        attention_pair_plan_mma_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,   \
                                     int Hkv, int n, float scaleLog2, CsrPlan pair, CsrPlan blk,    \
                                     const unsigned char* pairColOwn) {                             \
        attention_block<PairPlanMma<D, GridOrder::HEADS_SIDE_BY_SIDE>>(Q, K, V, O, H, Hkv, n,       \
                                                                       scaleLog2, pair, blk,        \
                                                                       nullptr, pairColOwn);        \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128, 2)                                            \
        attention_pair_plan_mma_head_major_d##D(const bf16* Q, const bf16* K, const bf16* V,        \
                                                bf16* O, int H, int Hkv, int n, float scaleLog2,    \
                                                CsrPlan pair, CsrPlan blk,                          \
                                                const unsigned char* pairColOwn) {                  \
        attention_block<PairPlanMma<D, GridOrder::HEAD_MAJOR>>(Q, K, V, O, H, Hkv, n, scaleLog2,    \
                                                               pair, blk, nullptr, pairColOwn);     \
    }
ATTENTION_MMA_KERNELS(64)
ATTENTION_MMA_KERNELS(128)
#undef ATTENTION_MMA_KERNELS

// wgmma plan kernel (attention_wgmma.cuh), 64-row blocks on a KV-group-major grid. sm_90a only;
// every other pass runs the mma.sync body of the same launch shape and no larger shared memory
// under the same names (PlanMma), so they are correct whichever cubin the driver loads.
#ifdef PK_WGMMA
#define PK_PLAN_WGMMA_BODY(D, LSE) \
    attention_block_wgmma<D, GridOrder::KV_GROUP_MAJOR>(Q, K, V, O, H, Hkv, n, scaleLog2, plan, LSE)
#else
#define PK_PLAN_WGMMA_BODY(D, LSE) \
    attention_block<PlanMma<D>>(Q, K, V, O, H, Hkv, n, scaleLog2, plan, CsrPlan{}, LSE)
#endif
#define ATTENTION_WGMMA_KERNELS(D)                                                                  \
    extern "C" __global__ void __launch_bounds__(128, 2)                                            \
        attention_plan_wgmma_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,      \
                                  int Hkv, int n, float scaleLog2, CsrPlan plan) {                  \
        PK_PLAN_WGMMA_BODY(D, nullptr);                                                             \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128, 2)                                            \
        attention_plan_wgmma_lse_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,  \
                                      int Hkv, int n, float scaleLog2, CsrPlan plan, float* lse) {  \
        PK_PLAN_WGMMA_BODY(D, lse);                                                                 \
    }
ATTENTION_WGMMA_KERNELS(64)
ATTENTION_WGMMA_KERNELS(128)
#undef ATTENTION_WGMMA_KERNELS
#undef PK_PLAN_WGMMA_BODY

// Warp-specialised attention (attention_ws.cuh), 128-row CTAs of 3 warpgroups on a KV-group-major
// grid (query blocks of 128, heads): dense causal, and a pair plan (pair) masked by its 64-row plan
// (blk). sm_90a only: elsewhere they trap
// (AttentionKernels picks them only where gemm_wgmma_probe says the sm_90a build runs).
#ifdef PK_WGMMA
#define PK_ATTENTION_WS_BODY(D, PAIR, PLAN, BLK, OWN, LSE) \
    attention_block_ws<D, PAIR>(Q, K, V, O, H, Hkv, n, scaleLog2, PLAN, BLK, OWN, LSE)
#define PK_ATTENTION_WS_BULK_BODY(D, PAIR, PLAN, BLK, OWN) \
    attention_block_ws<D, PAIR, true>(Q, K, V, O, H, Hkv, n, scaleLog2, PLAN, BLK, OWN, nullptr, &tmK, &tmV)
#else
#define PK_ATTENTION_WS_BODY(D, PAIR, PLAN, BLK, OWN, LSE) __trap()
#define PK_ATTENTION_WS_BULK_BODY(D, PAIR, PLAN, BLK, OWN) __trap()
#endif
#define ATTENTION_WS_KERNELS(D)                                                                     \
    extern "C" __global__ void __launch_bounds__(384, 1)                                            \
        attention_dense_ws_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,        \
                                int Hkv, int n, float scaleLog2) {                                  \
        PK_ATTENTION_WS_BODY(D, false, CsrPlan{}, CsrPlan{}, nullptr, nullptr);                      \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(384, 1)                                            \
        attention_dense_ws_lse_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,    \
                                    int Hkv, int n, float scaleLog2, float* lse) {                  \
        PK_ATTENTION_WS_BODY(D, false, CsrPlan{}, CsrPlan{}, nullptr, lse);                          \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(384, 1)                                            \
        attention_pair_plan_ws_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,    \
                                    int Hkv, int n, float scaleLog2, CsrPlan pair, CsrPlan blk,     \
                                    const unsigned char* pairColOwn) {                              \
        PK_ATTENTION_WS_BODY(D, true, pair, blk, pairColOwn, nullptr);                              \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(384, 1)                                            \
        attention_dense_ws_tma_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H,    \
                                    int Hkv, int n, float scaleLog2,                                \
                                    const __grid_constant__ pk::TmaDesc tmK,                        \
                                    const __grid_constant__ pk::TmaDesc tmV) {                      \
        PK_ATTENTION_WS_BULK_BODY(D, false, CsrPlan{}, CsrPlan{}, nullptr);                         \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(384, 1)                                            \
        attention_pair_plan_ws_tma_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O,       \
                                        int H, int Hkv, int n, float scaleLog2, CsrPlan pair,       \
                                        CsrPlan blk, const unsigned char* pairColOwn,               \
                                        const __grid_constant__ pk::TmaDesc tmK,                    \
                                        const __grid_constant__ pk::TmaDesc tmV) {                  \
        PK_ATTENTION_WS_BULK_BODY(D, true, pair, blk, pairColOwn);                                  \
    }
ATTENTION_WS_KERNELS(64)
ATTENTION_WS_KERNELS(128)
#undef ATTENTION_WS_KERNELS
#undef PK_ATTENTION_WS_BODY
#undef PK_ATTENTION_WS_BULK_BODY

// The estimators' per-head_dim kernels (vertical_slash.cuh, kept_mass.cuh, block_sparse.cuh).
#define ESTIMATOR_KERNELS(D)                                                                        \
    extern "C" __global__ void __launch_bounds__(128) vs_row_stats_d##D(                           \
        const bf16* Q, const bf16* K, int H, int Hkv, int n, float2* stats) {                       \
        vs_row_stats<D>(Q, K, H, Hkv, n, stats);                                                    \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128) vs_sums_d##D(                                \
        const bf16* Q, const bf16* K, int H, int Hkv, int n, const float2* rowStat, float* colScore, \
        float* diagPart) {                                                                          \
        vs_sums<D>(Q, K, H, Hkv, n, rowStat, colScore, diagPart);                                   \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128) kept_mass_d##D(                              \
        const bf16* Q, const bf16* K, int H, int Hkv, int n, const float2* rowStat, CsrPlan plan,   \
        float* keptPart) {                                                                          \
        kept_mass<D>(Q, K, H, Hkv, n, rowStat, plan, keptPart);                                     \
    }                                                                                               \
    extern "C" __global__ void mean_pool_d##D(const bf16* Q, const bf16* K, int H, int Hkv, int n, \
                                              float* pooledQ, float* pooledK) {                     \
        mean_pool<D>(Q, K, H, Hkv, n, pooledQ, pooledK);                                            \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(BS_THREADS) bs_block_scores_d##D(                 \
        const float* pooledQ, const float* pooledK, int H, int Hkv, int nqb, int h0, int row0,      \
        int rowEnd, uint32_t* keys, long long headStride) {                                         \
        bs_block_scores<D>(pooledQ, pooledK, H, Hkv, nqb, h0, row0, rowEnd, keys, headStride);      \
    }

ESTIMATOR_KERNELS(64)
ESTIMATOR_KERNELS(128)
#undef ESTIMATOR_KERNELS

extern "C" __global__ void vs_row_combine_k(const float2* stats, int chunks, float2* rowStat) {
    vs_row_combine(stats, chunks, rowStat);
}
extern "C" __global__ void kept_mass_combine_k(const float* keptPart, int n, double* kept) {
    kept_mass_combine(keptPart, n, kept);
}
extern "C" __global__ void vs_slash_combine_k(const float* diagPart, int H, int n, float* slash) {
    vs_slash_combine(diagPart, H, n, slash);
}
extern "C" __global__ void __launch_bounds__(1024) vs_mass_budget_k(const float* colScore, const float* slash,
                                                                    int n, const double* gamma,
                                                                    const int* minBudget, const int* maxBudget,
                                                                    int* kCols, int* kOffs) {
    vs_mass_budget(colScore, slash, n, gamma, minBudget, maxBudget, kCols, kOffs);
}
extern "C" __global__ void __launch_bounds__(1024) vs_topk_k(const float* colScore, const float* slash,
                                                             int n, const int* kCols, const int* kOffs,
                                                             int kColsMax, int kOffsMax, int* selCols,
                                                             int* selOffs) {
    vs_topk(colScore, slash, n, kCols, kOffs, kColsMax, kOffsMax, selCols, selOffs);
}
extern "C" __global__ void vs_plan_count_k(const int* selCols, const int* kCols, int kColsMax,
                                           const int* selOffs, const int* kOffs, int kOffsMax, int H,
                                           int n, int* rangeCount, int* colCount) {
    vs_block_plan<false>(selCols, kCols, kColsMax, selOffs, kOffs, kOffsMax, H, n, rangeCount,
                         colCount, CsrPlanOut{});
}
extern "C" __global__ void vs_plan_fill_k(const int* selCols, const int* kCols, int kColsMax,
                                          const int* selOffs, const int* kOffs, int kOffsMax, int H,
                                          int n, CsrPlanOut out) {
    vs_block_plan<true>(selCols, kCols, kColsMax, selOffs, kOffs, kOffsMax, H, n, nullptr, nullptr, out);
}
// grid 2: CTA 0 scans the range counts, CTA 1 the column counts, side by side.
extern "C" __global__ void __launch_bounds__(1024) exclusive_scan_pair_k(const int* rangeCount, int* rangePtr,
                                                                         const int* colCount, int* colPtr, int len) {
    if (blockIdx.x == 0) exclusive_scan(rangeCount, len, rangePtr);
    else exclusive_scan(colCount, len, colPtr);
}
extern "C" __global__ void plan_entries_k(CsrPlan plan, int H, int n, unsigned long long* total, int perHead) {
    plan_entries(plan, H, n, total, perHead);
}
extern "C" __global__ void vs_plan_cost_k(const int* selCols, const int* kCols, int kColsMax, const int* selOffs,
                                          const int* kOffs, int kOffsMax, int H, int n,
                                          unsigned long long* entries) {
    vs_block_plan<false, true>(selCols, kCols, kColsMax, selOffs, kOffs, kOffsMax, H, n, nullptr, nullptr,
                               CsrPlanOut{}, entries);
}
extern "C" __global__ void __launch_bounds__(256) head_sq_diff_k(const bf16* a, const bf16* ref, long long perHead,
                                                                 long long from, double* diffSq, double* refSq) {
    head_sq_diff(a, ref, perHead, from, diffSq, refSq);
}
extern "C" __global__ void recall_rows_k(const float* lsePlan, const float* lseDense, const int* rows, int m, int H,
                                         int n, double* recall) {
    recall_rows(lsePlan, lseDense, rows, m, H, n, recall);
}
extern "C" __global__ void __launch_bounds__(256) bs_row_topk_k(const uint32_t* keys, long long headStride, int nqb,
                                                                int n, int k, int h0, int row0, const int* rangePtr,
                                                                int* rangeData) {
    bs_row_topk(keys, headStride, nqb, n, k, h0, row0, rangePtr, rangeData);
}
extern "C" __global__ void bs_plan_pointers_k(int H, int nqb, int k, int* rangePtr, int* colPtr) {
    bs_plan_pointers(H, nqb, k, rangePtr, colPtr);
}

// Test and benchmark inputs made on the device (a 512K-token layer does not fit a Java array):
// x[i] = bf16(sigma * N(0,1)) from a counter hash and Box-Muller; same seed, same values.
__device__ __forceinline__ uint32_t mix32(uint32_t x) {
    x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
    return x;
}
extern "C" __global__ void fill_random_bf16_k(bf16* x, long long count, unsigned seed, float sigma) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long)gridDim.x * blockDim.x) {
        uint32_t a = mix32((uint32_t)i * 2u + seed * 0x9E3779B9u), b = mix32(a ^ (uint32_t)(i >> 31) ^ 0x85ebca6bu);
        float u1 = ((a >> 8) + 1) * (1.0f / 16777217.0f), u2 = (b >> 8) * (1.0f / 16777216.0f);
        x[i] = __float2bfloat16_rn(sigma * sqrtf(-2.f * logf(u1)) * cospif(2.f * u2));
    }
}

// E4M3 codes of the N(0,1) draws fill_random_bf16_k makes for the same seed, unscaled; with a
// row scale of sigma they stand for N(0, sigma) weights (DeviceModel.synthetic in FP8).
extern "C" __global__ void fill_random_e4m3_k(uint8_t* x, long long count, unsigned seed) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long)gridDim.x * blockDim.x) {
        uint32_t a = mix32((uint32_t)i * 2u + seed * 0x9E3779B9u), b = mix32(a ^ (uint32_t)(i >> 31) ^ 0x85ebca6bu);
        float u1 = ((a >> 8) + 1) * (1.0f / 16777217.0f), u2 = (b >> 8) * (1.0f / 16777216.0f);
        x[i] = (uint8_t)__nv_cvt_float_to_fp8(sqrtf(-2.f * logf(u1)) * cospif(2.f * u2), __NV_SATFINITE, __NV_E4M3);
    }
}

// Plan builders over plans (pair_plan.cuh, plan_pick.cuh): a count pass, then (after
// exclusive_scan_k made out's pointers) a fill pass into out.
extern "C" __global__ void pair_plan_count_k(CsrPlan plan, int H, int n, int* rangeCount, int* colCount) {
    pair_plan<false>(plan, H, n, rangeCount, colCount, CsrPlanOut{}, nullptr);
}
extern "C" __global__ void pair_plan_fill_k(CsrPlan plan, int H, int n, CsrPlanOut out, unsigned char* colOwn) {
    pair_plan<true>(plan, H, n, nullptr, nullptr, out, colOwn);
}

extern "C" __global__ void plan_pick_count_k(CsrPlan a, CsrPlan b, const int* useB, int H, int n, int* rangeCount,
                                             int* colCount) {
    plan_pick<false>(a, b, useB, H, n, rangeCount, colCount, CsrPlanOut{});
}
extern "C" __global__ void plan_pick_fill_k(CsrPlan a, CsrPlan b, const int* useB, int H, int n, CsrPlanOut out) {
    plan_pick<true>(a, b, useB, H, n, nullptr, nullptr, out);
}

#define SNAPKV_KERNELS(D)                                                                               \
    extern "C" __global__ void __launch_bounds__(SNAP_THREADS) snap_row_stats_d##D(                     \
        const bf16* Q, const bf16* K, int H, int Hkv, int n, int w, float scale, float2* partial) {     \
        snap_row_stats<D>(Q, K, H, Hkv, n, w, scale, partial);                                          \
    }                                                                                                   \
    extern "C" __global__ void __launch_bounds__(SNAP_THREADS) snap_votes_d##D(                         \
        const bf16* Q, const bf16* K, int H, int Hkv, int n, int w, int prefixEnd, float scale,         \
        const float2* rowStat, float* votes) {                                                          \
        snap_votes<D>(Q, K, H, Hkv, n, w, prefixEnd, scale, rowStat, votes);                            \
    }
SNAPKV_KERNELS(64)
SNAPKV_KERNELS(128)

extern "C" __global__ void snap_row_combine_k(const float2* partial, int chunks, int H, int w, float2* rowStat) {
    snap_row_combine(partial, chunks, H, w, rowStat);
}
extern "C" __global__ void __launch_bounds__(1024) snap_select_k(const float* votes, int prefixEnd, int sinks, int k,
                                                                 int kernel, int poolMax, int* winners) {
    snap_select(votes, prefixEnd, sinks, k, kernel, poolMax, winners);
}
extern "C" __global__ void gather_rows_k(const bf16* src, const int* positions, int n, int d, int maxKept, int kept,
                                         int Hkv, bf16* dst) {
    gather_rows(src, positions, n, d, maxKept, kept, Hkv, dst);
}
