// Which keys of a 64-key tile each query row may attend to, for the attention bodies of
// attention.cuh (mma.sync) and attention_wgmma.cuh (wgmma).
//
// Two rules, applied to the logits S in the fragment layout of softmax.cuh before the softmax:
//  - causal: key j is visible to row i iff j <= i. The tile's keys (sKey: their indices, INT_MAX
//    for slots past the tile's end) are compared with each row, so one rule covers the diagonal
//    tile, the gathered columns of a plan (any order of keys within the tile), and the padding.
//  - own plan (pair kernels only): a CTA of two 64-row blocks walks the union of both blocks'
//    plans; a key that only the other block's plan holds is masked out (treated as INT_MAX) for
//    this warp's rows. The per-key membership bits come from in_block_plan below, one bit per
//    key and block, computed while the tile is loaded.
// Masked logits become -inf; OnlineSoftmax turns them into p = 0. A tile that lies wholly at or
// below the block's first row and holds 64 keys that every row may see skips the mask
// (tile_fully_visible): the common case of dense and of plan ranges below the diagonal.
#pragma once
#include "common.cuh"
#include <limits.h>

namespace pk {

// Whether key is in one 64-row block's plan, its CSR bounds in registers: ranges [rb, re) of rd
// (pairs start, end exclusive, sorted by start), columns [cb, ce) of cd (sorted): a binary search
// in each.
__device__ __forceinline__ bool in_block_plan(int key, const int* rd, int rb, int re, const int* cd, int cb,
                                              int ce) {
    int lo = rb, hi = re;
    while (lo < hi) {  // last range with start <= key
        int mid = (lo + hi) >> 1;
        if (rd[2 * mid] <= key) lo = mid + 1; else hi = mid;
    }
    if (lo > rb && key < rd[2 * (lo - 1) + 1]) return true;
    int a = cb, e = ce;
    while (a < e) {
        int mid = (a + e) >> 1;
        if (cd[mid] < key) a = mid + 1; else e = mid;
    }
    return a < ce && cd[a] == key;
}

// No key of the tile needs masking for any row of the block that starts at r0: 64 keys, all <= r0.
__device__ __forceinline__ bool tile_fully_visible(int count, int lastKey, int r0) {
    return count == 64 && lastKey <= r0;
}

// Masks MT 16-row strips of logits (strip mt: 32 floats, rows rowBase + 16 mt and + 8) against
// the tile's keys. OWN_BITS: own0 / own1 are the membership bits of keys 0..31 / 32..63 in this
// warp's block plan (pair kernels); keys without their bit are masked for every row.
template <int MT, bool OWN_BITS>
__device__ __forceinline__ void mask_tile(float* s, const int* key, int rowBase, int cq, uint32_t own0,
                                          uint32_t own1) {
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int col = j * 8 + 2 * cq + e;
            int kj = key[col];
            if (OWN_BITS && !(((col < 32 ? own0 : own1) >> (col & 31)) & 1u)) kj = INT_MAX;
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                if (kj > rowBase + mt * 16) s[32 * mt + 4 * j + e] = -INFINITY;
                if (kj > rowBase + mt * 16 + 8) s[32 * mt + 4 * j + 2 + e] = -INFINITY;
            }
        }
}

}  // namespace pk
