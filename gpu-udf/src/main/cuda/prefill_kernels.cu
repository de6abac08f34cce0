// The kernels the Java side loads by name (io.prefill.cuda.KernelNames). One translation unit so
// that one nvcc call builds one fatbin. Layout and algorithms are described in the headers.
#include "block_sparse.cuh"

using namespace pk;

#define ATTENTION_KERNELS(D)                                                                        \
    extern "C" __global__ void __launch_bounds__(256, 1)                                            \
        attention_dense_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H, int Hkv, \
                             int n, float scaleLog2) {                                              \
        attention_block<D, 8, false>(Q, K, V, O, H, Hkv, n, scaleLog2, nullptr, nullptr, nullptr,  \
                                     nullptr);                                                      \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128, 2)                                            \
        attention_plan_d##D(const bf16* Q, const bf16* K, const bf16* V, bf16* O, int H, int Hkv,  \
                            int n, float scaleLog2, const int* rangePtr, const int* rangeData,     \
                            const int* colPtr, const int* colData) {                                \
        attention_block<D, 4, true>(Q, K, V, O, H, Hkv, n, scaleLog2, rangePtr, rangeData, colPtr, \
                                    colData);                                                       \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128) vs_row_stats_d##D(                           \
        const bf16* Q, const bf16* K, int H, int Hkv, int n, float2* stats) {                       \
        vs_row_stats<D>(Q, K, H, Hkv, n, stats);                                                    \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(128) vs_sums_d##D(                                \
        const bf16* Q, const bf16* K, int H, int Hkv, int n, const float2* rowStat, float* colScore, \
        float* diagPart) {                                                                          \
        vs_sums<D>(Q, K, H, Hkv, n, rowStat, colScore, diagPart);                                   \
    }                                                                                               \
    extern "C" __global__ void mean_pool_d##D(const bf16* Q, const bf16* K, int H, int Hkv, int n, \
                                              float* pooledQ, float* pooledK) {                     \
        mean_pool<D>(Q, K, H, Hkv, n, pooledQ, pooledK);                                            \
    }                                                                                               \
    extern "C" __global__ void __launch_bounds__(256) bs_select_d##D(                              \
        const float* pooledQ, const float* pooledK, int H, int Hkv, int n, int k,                   \
        const int* rangePtr, int* rangeData) {                                                      \
        bs_select<D>(pooledQ, pooledK, H, Hkv, n, k, rangePtr, rangeData);                          \
    }

ATTENTION_KERNELS(64)
ATTENTION_KERNELS(128)

extern "C" __global__ void vs_row_combine_k(const float2* stats, int chunks, float2* rowStat) {
    vs_row_combine(stats, chunks, rowStat);
}
extern "C" __global__ void vs_slash_combine_k(const float* diagPart, int H, int n, float* slash) {
    vs_slash_combine(diagPart, H, n, slash);
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
                         colCount, nullptr, nullptr, nullptr, nullptr);
}
extern "C" __global__ void vs_plan_fill_k(const int* selCols, const int* kCols, int kColsMax,
                                          const int* selOffs, const int* kOffs, int kOffsMax, int H,
                                          int n, const int* rangePtr, int* rangeData,
                                          const int* colPtr, int* colData) {
    vs_block_plan<true>(selCols, kCols, kColsMax, selOffs, kOffs, kOffsMax, H, n, nullptr, nullptr,
                        rangePtr, rangeData, colPtr, colData);
}
extern "C" __global__ void __launch_bounds__(1024) exclusive_scan_k(const int* counts, int len, int* ptr) {
    exclusive_scan(counts, len, ptr);
}
extern "C" __global__ void plan_entries_k(const int* rangePtr, const int* rangeData, const int* colPtr,
                                          const int* colData, int H, int n, unsigned long long* total) {
    plan_entries(rangePtr, rangeData, colPtr, colData, H, n, total);
}
extern "C" __global__ void bs_plan_pointers_k(int H, int nqb, int k, int* rangePtr, int* colPtr) {
    bs_plan_pointers(H, nqb, k, rangePtr, colPtr);
}
