// The block plan as kernels take it (CsrPlan), the key tiles of a query block and the CTA -> (head,
// query block) map, shared by the attention bodies of attention.cuh (mma.sync) and
// attention_wgmma.cuh (wgmma) and by kept_mass.cuh.
//
// A query block's keys come from a per-(head, 64-row query block) plan in CSR form:
//   ranges: rangePtr[h*nqb + qb] .. rangePtr[h*nqb + qb + 1] index pairs (start, end) in rangeData
//   columns: colPtr[...] .. colPtr[... + 1] sorted key indices in colData (gathered 64 at a time)
// TileCursor cuts each range into 64-key tiles (its start need not be 64-aligned), then the
// columns into 64-key gathers; a dense causal block is one implicit range [0, min(r0 + BM, n)).
// The loaders bring a tile's K and V rows into shared memory with cp.async (zero-filled past the
// tile's end) and its key indices into sKey (INT_MAX past the end), which mask.cuh compares with
// the query rows.
#pragma once
#include "common.cuh"
#include <limits.h>

namespace pk {

// A plan's four CSR lists as one kernel parameter, passed by value. Every kernel that reads a plan
// takes one CsrPlan per plan (the pair kernels and plan_pick two), and a fill pass takes the plan
// it writes as one CsrPlanOut, instead of four loose pointers per plan (12 to 16 arguments in
// all): a launch can then neither put a plan's lists out of order nor mix the lists of two plans.
// By value, not as a pointer to a struct in global memory: no upload per plan and no dependent
// load before the first read of the plan; the fields sit in the kernel's parameter space at the
// offsets the four loose pointers had and are read the same way (one ld.param each), so every
// kernel keeps its registers, spills and instruction count (sm_80, sm_90a). One difference: read
// through a struct's pointers, the attention bodies' slot bounds (four loads per CTA, at its start)
// are plain global loads, where `const __restrict__` pointer parameters let the compiler use
// non-coherent ones. The host side (io.prefill.cuda.DevicePlan) passes the 32 bytes of the four
// device addresses in this order, which the asserts below pin.
struct CsrPlan {
    const int* rangePtr;   // [slots + 1]: slot i's ranges are pairs rangePtr[i] .. rangePtr[i + 1] - 1
    const int* rangeData;  // (start, end) key pairs, end exclusive
    const int* colPtr;     // [slots + 1]: slot i's columns are colData[colPtr[i] .. colPtr[i + 1])
    const int* colData;    // leftover key columns (sorted in a 64-row plan)
};
// The plan a fill pass writes (vs_plan_fill_k, pair_plan_fill_k, plan_pick_fill_k): its pointers
// already scanned from the count pass, its ranges and columns written. CsrPlan's layout.
struct CsrPlanOut {
    const int* rangePtr;
    int* rangeData;
    const int* colPtr;
    int* colData;
};
static_assert(sizeof(CsrPlan) == 32 && alignof(CsrPlan) == 8, "DevicePlan passes four 8-byte addresses");
static_assert(sizeof(CsrPlanOut) == 32 && alignof(CsrPlanOut) == 8, "DevicePlan passes four 8-byte addresses");

struct KeyTile {
    int start;   // first key (contiguous) or index into colData (gathered)
    int count;   // 1..64 keys (1..128 from a TileCursor of 128-key tiles; <= 0: an empty tile, all padding)
    int lastKey; // largest key in the tile
    bool gather;
};

// Walks the ranges then the gathered columns of one query block, TILE (64 or 128) keys at a time.
// PREFETCH: the bounds of the next range are loaded one range ahead, so that moving to a new
// range (every tile of a block-sparse plan) does not wait on a global load.
template <bool PREFETCH = false, int TILE = 64>
struct TileCursor {
    const int* rangeData;
    const int* colData;
    int ri, rEnd, pos, end, ci, cEnd;
    int nPos, nEnd;  // PREFETCH: bounds of range ri + 1

    __device__ void init(const int* rd, int rBeg, int rEnd_, const int* cd, int cBeg, int cEnd_) {
        rangeData = rd; colData = cd; ri = rBeg; rEnd = rEnd_; ci = cBeg; cEnd = cEnd_;
        pos = 0; end = 0; nPos = 0; nEnd = 0;
        if (ri < rEnd) { pos = rangeData[2 * ri]; end = rangeData[2 * ri + 1]; }
        if (PREFETCH && ri + 1 < rEnd) { nPos = rangeData[2 * ri + 2]; nEnd = rangeData[2 * ri + 3]; }
    }
    // The ranges and columns of slot `slot` (h * nqb + qb) of plan p.
    __device__ void init(const CsrPlan& p, int slot) {
        init(p.rangeData, p.rangePtr[slot], p.rangePtr[slot + 1], p.colData, p.colPtr[slot], p.colPtr[slot + 1]);
    }
    __device__ bool next(KeyTile& t) {
        while (ri < rEnd) {
            if (pos < end) {
                t.gather = false; t.start = pos; t.count = min(TILE, end - pos);
                t.lastKey = pos + t.count - 1; pos += t.count;
                return true;
            }
            if (++ri < rEnd) {
                if (PREFETCH) {
                    pos = nPos; end = nEnd;
                    if (ri + 1 < rEnd) { nPos = rangeData[2 * ri + 2]; nEnd = rangeData[2 * ri + 3]; }
                } else {
                    pos = rangeData[2 * ri]; end = rangeData[2 * ri + 1];
                }
            }
        }
        if (ci < cEnd) {
            t.gather = true; t.start = ci; t.count = min(TILE, cEnd - ci);
            t.lastKey = colData[ci + t.count - 1]; ci += t.count;
            return true;
        }
        return false;
    }
};

// Copies a tile's K and V rows (64 x D bf16 each, zero past the tile's end) into swizzled shared
// memory (swz<D>) and its key indices into sKey; thread tid copies chunks tid, tid + NT, ...
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

// Byte offset of 16-byte chunk ch (0 .. D/8-1) of row r (0..63) of a wgmma tile: 64-column panels
// of 128-byte rows, chunk ^ (row & 7), the hardware's 128-byte swizzle when the tile starts
// 1024-byte aligned (attention_wgmma.cuh).
template <int D>
__device__ __forceinline__ uint32_t swz_wg(int r, int ch) {
    return static_cast<uint32_t>((ch >> 3) * (64 * 128) + r * 128 + (((ch & 7) ^ (r & 7)) << 4));
}

// load_kv_tile, but each thread loads the keys of all its rows first (independent loads in flight
// together) before issuing its copies; thread tid copies chunk tid % CH of rows tid / CH + i * RS.
// WG: the wgmma tile layout (swz_wg) instead of swz.
template <int D, int WARPS, bool WG = false>
__device__ __forceinline__ void load_kv_tile_keys_first(const KeyTile& t, const int* colData, const bf16* Kh,
                                              const bf16* Vh, uint32_t sK, uint32_t sV, int* sKey) {
    constexpr int CH = D / 8, NT = WARPS * 32, RS = NT / CH, IT = 64 / RS;
    static_assert(NT % CH == 0 && 64 % RS == 0, "tile shape");
    const int ch = threadIdx.x % CH, r0 = threadIdx.x / CH;
    int key[IT];
#pragma unroll
    for (int i = 0; i < IT; ++i) {
        int r = r0 + i * RS;
        key[i] = r < t.count ? (t.gather ? colData[t.start + r] : t.start + r) : -1;
    }
#pragma unroll
    for (int i = 0; i < IT; ++i) {
        int r = r0 + i * RS;
        bool valid = key[i] >= 0;
        uint32_t off = WG ? swz_wg<D>(r, ch) : swz<D>(r, ch);
        const size_t g = (size_t)(valid ? key[i] : 0) * D + ch * 8;
        cp_async16(sK + off, Kh + g, valid);
        cp_async16(sV + off, Vh + g, valid);
    }
    if (ch == 0) {
#pragma unroll
        for (int i = 0; i < IT; ++i) sKey[r0 + i * RS] = key[i] >= 0 ? key[i] : INT_MAX;
    }
}

// How a kernel's 2-D grid maps to (head, query block); the CTAs resident together (2 per SM, ~264
// on an H100) then share different K/V in L2.
//  - HEADS_SIDE_BY_SIDE: grid (heads, query blocks); the resident CTAs are the heads of a few
//    query blocks (best for plans of ranges only, whose keys are the same few regions per head).
//  - HEAD_MAJOR: grid (query blocks, heads); the resident CTAs are ~264 query blocks of one head,
//    whose KV head's tiles stay in L2 (best where a plan gathers scattered columns).
//  - KV_GROUP_MAJOR: the HEAD_MAJOR grid walked KV-head-major with the query heads of one GQA
//    group side by side (CTA index = (kvh * nqb + qb) * group + head in group): the resident CTAs
//    are ~66 query blocks x the 4 heads of one KV group, which read the same K/V tiles.
enum class GridOrder { HEADS_SIDE_BY_SIDE, HEAD_MAJOR, KV_GROUP_MAJOR };

// The (head, query block) of this CTA in the given grid order. Query blocks run last to first
// (longest causal rows first). Returns the number of query blocks.
template <GridOrder ORDER>
__device__ __forceinline__ int cta_head_block(int H, int Hkv, int& h, int& qb) {
    constexpr bool GM = ORDER == GridOrder::KV_GROUP_MAJOR, HM = ORDER != GridOrder::HEADS_SIDE_BY_SIDE;
    const int nqb = HM ? gridDim.x : gridDim.y;
    int qbi;
    if (GM) {
        const int G = H / Hkv, lin = blockIdx.y * gridDim.x + blockIdx.x, rest = lin / G;
        h = (rest / nqb) * G + lin % G;
        qbi = rest % nqb;
    } else {
        h = HM ? blockIdx.y : blockIdx.x;
        qbi = HM ? blockIdx.x : blockIdx.y;
    }
    qb = nqb - 1 - qbi;
    return nqb;
}

// Work item `item` of a persistent grid in KV_GROUP_MAJOR order over nqb query blocks per head:
// the (head, query block) that CTA `item` of cta_head_block<KV_GROUP_MAJOR> would hold.
__device__ __forceinline__ void ws_item_head_block(int item, int H, int Hkv, int nqb, int& h, int& qb) {
    const int G = H / Hkv, rest = item / G;
    h = (rest / nqb) * G + item % G;
    qb = nqb - 1 - rest % nqb;
}

}  // namespace pk
