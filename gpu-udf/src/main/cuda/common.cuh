// Shared device helpers: cp.async, ldmatrix, mma.sync m16n8k16 (bf16 in, fp32 accumulate),
// a swizzled shared-memory tile layout, and a block-wide top-k by radix select.
#pragma once
#include <cuda_bf16.h>
#include <stdint.h>

typedef __nv_bfloat16 bf16;

namespace pk {

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy global -> shared; when !valid nothing is read and the 16 bytes are zeroed
// (so padded key rows hold zeros, never NaN garbage that P=0 would turn into NaN).
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid) {
    int bytes = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }

__device__ __forceinline__ void ldsm_x4(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(addr));
}

// c += a * b, a: 16x16 bf16 (row), b: 16x8 bf16 (col), c: 16x8 fp32.
__device__ __forceinline__ void mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

// Byte offset of 16-byte chunk `chunk` of row `row` in a [rows][D] bf16 tile. The XOR swizzle
// puts the 8 rows an ldmatrix reads at one logical column into 8 different bank groups.
template <int D>
__device__ __forceinline__ uint32_t swz(int row, int chunk) {
    return static_cast<uint32_t>(row * D * 2 + ((chunk ^ (row & 7)) << 4));
}

// Float -> unsigned key whose unsigned order equals the float order (NaN excluded).
__device__ __forceinline__ uint32_t order_key(float f) {
    uint32_t u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
constexpr uint32_t KEY_FORCED = 0xFF800000u;  // order_key(+inf): forced entries beat any score

// Exclusive prefix sum of v over the block's threads in thread order (NT threads, all call it);
// *total gets the block's sum. warpTotals: NT / 32 ints of shared memory.
template <int NT>
__device__ int block_exclusive_scan(int v, int* warpTotals, int* total) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int x = v;
#pragma unroll
    for (int d = 1; d < 32; d <<= 1) {
        int y = __shfl_up_sync(0xffffffffu, x, d);
        if (lane >= d) x += y;
    }
    if (lane == 31) warpTotals[warp] = x;
    __syncthreads();
    if (warp == 0) {
        int w = lane < NT / 32 ? warpTotals[lane] : 0;
#pragma unroll
        for (int d = 1; d < 32; d <<= 1) {
            int y = __shfl_up_sync(0xffffffffu, w, d);
            if (lane >= d) w += y;
        }
        if (lane < NT / 32) warpTotals[lane] = w;  // inclusive over warps
    }
    __syncthreads();
    const int excl = (warp > 0 ? warpTotals[warp - 1] : 0) + x - v;
    *total = warpTotals[NT / 32 - 1];
    __syncthreads();  // warpTotals may be reused at once
    return excl;
}

// Keys read per thread before any is used: the passes below are bound by the latency of these
// loads (the scores are read from L2 or memory), so each thread keeps TOPK_UNROLL in flight.
constexpr int TOPK_UNROLL = 8;

// Top-k of n keys (key(i) for i in [0,n)), ties broken by the smaller index; writes the chosen
// indices in ascending index order to out[0..k). Exactly min(k,n) indices. Whole block calls it.
// Radix select on the 32-bit keys finds the k-th largest key T, then one ordered compaction pass
// takes every key > T and the first (k - #greater) keys == T: each thread takes TOPK_UNROLL
// consecutive keys, so one pair of block scans orders NT * TOPK_UNROLL keys.
template <int NT, class KeyFn>
__device__ void block_topk(KeyFn key, int n, int k, int* out) {
    constexpr int U = TOPK_UNROLL;
    __shared__ unsigned hist[256];
    __shared__ unsigned sPick, sNeed;
    __shared__ int warpTotals[NT / 32];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    if (k > n) k = n;
    if (k <= 0) return;
    uint32_t prefix = 0, mask = 0;
    unsigned need = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = tid; b < 256; b += NT) hist[b] = 0;
        __syncthreads();
        for (int base = 0; base < n; base += NT * U) {
            uint32_t u[U];
#pragma unroll
            for (int j = 0; j < U; ++j) {
                int i = base + j * NT + tid;
                u[j] = i < n ? key(i) : 0u;
            }
#pragma unroll
            for (int j = 0; j < U; ++j) {
                int i = base + j * NT + tid;
                bool in = i < n && (u[j] & mask) == prefix;
                unsigned bin = (u[j] >> shift) & 255u;
                // warp-aggregated: scores share few exponents, so one bin takes most of the adds
                unsigned peers = __match_any_sync(0xffffffffu, in ? bin : 0xFFFFFFFFu);
                if (in && (__ffs(peers) - 1) == lane) atomicAdd(&hist[bin], (unsigned)__popc(peers));
            }
        }
        __syncthreads();
        if (warp == 0) {  // find the bin where the count from the top reaches `need`
            unsigned local[8], sum = 0;
#pragma unroll
            for (int x = 0; x < 8; ++x) { local[x] = hist[255 - (lane * 8 + x)]; sum += local[x]; }
            unsigned incl = sum;  // inclusive prefix over lanes (lane 0 = highest bins)
#pragma unroll
            for (int d = 1; d < 32; d <<= 1) {
                unsigned y = __shfl_up_sync(0xffffffffu, incl, d);
                if (lane >= d) incl += y;
            }
            unsigned before = incl - sum;
            bool crosses = before < need && incl >= need;
            unsigned who = __ballot_sync(0xffffffffu, crosses);
            if (lane == (who ? __ffs(who) - 1 : 31)) {
                unsigned cum = before;
                int x = 0;
                for (; x < 7; ++x) {
                    if (cum + local[x] >= need) break;
                    cum += local[x];
                }
                sPick = 255 - (lane * 8 + x);
                sNeed = need - cum;
            }
        }
        __syncthreads();
        prefix |= sPick << shift;
        mask |= 255u << shift;
        need = sNeed;
        __syncthreads();
    }
    const uint32_t T = prefix;
    const int takeEq = static_cast<int>(need);  // how many keys equal to T to take, lowest index first
    int placed = 0, eqSeen = 0;  // over the keys before this chunk: the same in every thread
    for (int base = 0; base < n; base += NT * U) {
        const int first = base + tid * U;  // this thread's U consecutive keys
        uint32_t u[U];
#pragma unroll
        for (int j = 0; j < U; ++j) u[j] = first + j < n ? key(first + j) : 0u;
        int eq = 0;
#pragma unroll
        for (int j = 0; j < U; ++j) eq += first + j < n && u[j] == T;
        int eqTotal, selTotal;
        int eqBefore = eqSeen + block_exclusive_scan<NT>(eq, warpTotals, &eqTotal);
        unsigned pick = 0;  // bit j: key first + j is chosen
#pragma unroll
        for (int j = 0; j < U; ++j) {
            const bool valid = first + j < n;
            const bool isEq = valid && u[j] == T;
            if ((valid && u[j] > T) || (isEq && eqBefore < takeEq)) pick |= 1u << j;
            eqBefore += isEq;
        }
        int pos = placed + block_exclusive_scan<NT>(__popc(pick), warpTotals, &selTotal);
#pragma unroll
        for (int j = 0; j < U; ++j)
            if (pick & (1u << j)) out[pos++] = first + j;
        placed += selTotal;
        eqSeen += eqTotal;
    }
}

}  // namespace pk
