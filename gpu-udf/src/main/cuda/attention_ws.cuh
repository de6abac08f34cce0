// Warp-specialised flash attention on wgmma (sm_90a): 128 query rows per CTA, one producer
// warpgroup that only loads, two consumer warpgroups that only compute. Dense causal (no plan: one
// implicit key range [0, min(r0 + 128, n)) per CTA), or (PAIR) a pair plan: the union of the keys
// of the two 64-row blocks the CTA holds (pair_plan.cuh), each key masked for the rows of the block
// whose own plan lacks it, as the mma.sync pair kernels of attention.cuh do. The masks (mask.cuh), the online softmax
// (softmax.cuh), the epilogue (attention_epilogue.cuh), the tile cursor and loads (plan_tiles.cuh)
// and the wgmma tile layout and instructions (attention_wgmma.cuh, wgmma.cuh) are the 64-row wgmma
// kernel's.
//
// Why. Counted per 64-key tile, a 64-row CTA does 2 x 64 x 64 x D x 2 FLOP (2.1 MFLOP at D = 128)
// for 2 x 64 x D x 2 bytes of K and V brought from L2 into shared memory (32 KiB): 64 FLOP/B. At
// the ~400 TFLOP/s the 64-row kernel reaches that is ~6.3 TB/s out of L2, about all the card gives
// (gemm_tma.cuh counts the same limit for the GEMM). Two warpgroups of 64 rows each that read the
// same K/V tile double that ratio to 128 FLOP/B. Two other costs of the 64-row kernel go with it:
// every thread issued its share of the tile's cp.async (16 per thread at D = 128) between its
// tensor-core work, and the CTA met at a block barrier before every tile.
//
// What each step gave (H200, dense causal, 32 heads, d = 128, 128K; AttentionBenchmark, same call
// as the 64-row kernel's ~395 TFLOP/s; raw bench/results/attention-ws/):
//  - 128 rows per CTA, producer warpgroup, softmax overlapped with the previous P V: 478.
//  - Q in registers (S = Q K^T reads only K from shared memory; an m64n64k16 step from shared
//    memory reads 4 KiB, all the 128 B/clock shared memory gives in the 32 cycles its product
//    takes): 498.
//  - the O rescale skipped where no row of the warp moved its maximum: 505.
//  - 128-key tiles (half the barrier waits, proxy fences, row reductions and rescales per key): 549.
//  - Tried and dropped: the two consumers issuing their products in turns through named barriers
//    (FlashAttention-3's ping-pong): 465-472, below the 478 of the same kernel without it.
//
// Design (384 threads = 3 warpgroups, one CTA per SM):
//  - Tiles of BN = 128 keys, in dense and over a pair plan. A tile is two wgmma tiles of 64 keys
//    in K and in V (the 64-row kernel's layout), so S = Q K^T is two m64n64 products per k-step
//    and O += P V walks the 128 keys 16 at a time.
//  - Producer, warpgroup 0 (setmaxnreg to 56): loads the CTA's 128 Q rows once (arrive on qFull),
//    then walks the key tiles; for tile it waits until stage it % STAGES is free (empty barrier),
//    copies the tile's K and V rows with cp.async (load_kv_tile_keys_first, zero past the tile's
//    end) and its key indices into the stage's slot, then arrives twice on full[stage]: once with
//    a plain arrive (release: orders the key-index stores) and once with
//    cp.async.mbarrier.arrive.noinc, which the hardware performs when this thread's copies have
//    landed. The producer never waits for its own copies (why a cp.async producer lost in the
//    GEMM: bench/results/retired-kernels/).
//  - Consumers, warpgroups 1 and 2 (setmaxnreg to 224): rows r0 + 64(w - 1) .. + 63, Q as A
//    fragments in registers. Each waits on full[stage] with the parity of the stage's use, fences
//    the proxies (the cp.async writes are generic-proxy writes, wgmma reads through the async
//    proxy), and runs the tile pipelined within the warpgroup as FlashAttention-3 does: S(j) =
//    Q K(j)^T is issued, then O += P(j-1) V(j-1); the softmax of S(j) (P kept in fp32 in S's
//    registers) runs while the P V product is on the tensor cores; then stage j - 1 is released
//    (lane 0 of each consumer warp arrives on empty[stage] after __syncwarp: 8 arrivals; the pair
//    form: every consumer thread, see EMPTY_ARRIVALS), O rescaled and P(j)
//    packed to bf16 (only now: the product just retired read the previous P's registers, and a
//    write to them while it ran would make ptxas serialise every wgmma).
//  - PAIR: the producer walks the item's TileCursor one tile ahead and writes, next to each
//    stage's keys, the tile's WsTileInfo: its key count and last key (for the causal mask) and
//    whether it is the item's last. The consumers walk no plan: the dependent global loads of a
//    cursor (a slot's pointers and first range at an item's start, a gathered tile's last key)
//    stay off their path. An item without keys is one stage with none. Measured (128K,
//    alternating builds in one call): VS (1000, 6096) 31.64-31.68 ms against 31.82-31.84, A-shape
//    (128, 4096) 20.53-20.56 against 20.70. Dense: the consumers count the tiles of the item's one
//    range themselves (no load either), so that they read a stage only through wgmma, which its 8
//    arrivals need (EMPTY_ARRIVALS; racecheck reported the descriptor's reads otherwise). Tried:
//    the descriptor read by lane 0 alone and passed on by shuffles between the products: the
//    dense kernel took 271-274 ms against 255-258. Every tile is computed by both consumers (the
//    diagonal tile of a dense block is masked for consumer 0 above its rows; a tile of a pair plan
//    that none of a block's keys has costs that block a masked product): skipping one would put
//    the wgmma on a data-dependent path, which ptxas serialises. PAIR: the producer also writes,
//    per stage, which keys of the tile each block's own 64-row plan holds (4 words of membership
//    bits per block), and a consumer masks the others. The producer is on the consumers' path
//    whenever a tile's bits take it longer than the consumers' product (~2.6 us per 128-key
//    tile), as at a CTA's first tiles, so the bits cost it no dependent global load on the common
//    tiles: a gathered key's bits were written by the pair plan's build (pair_plan.cuh, colOwn);
//    a contiguous key is tested against the block's ranges through a cursor (a thread's keys only
//    grow over the range tiles), and against its columns (in_block_plan) only where no range holds
//    it and a row of the block can see it (a range's first 64 keys that the other block's range
//    adds). Measured (vertical-slash (1000, 6096), 128K, same calls): one binary search per key and
//    block over the block's plan and 64-key tiles: 35.2 ms; 128-key tiles with those searches:
//    37.1; with the bits as now: 32.7-33.2; with no membership work at all (wrong output, the
//    floor of this route): 30.9.
//  - PAIR is persistent (PERSIST): a grid of at most one CTA per SM walks the work items (head,
//    128-row block) blockIdx.x, + gridDim.x, ... in the KV_GROUP_MAJOR order. The grid has no
//    factor in common with the GQA group (AttentionKernels.persistentGrid: 131 CTAs for groups of
//    4 on 132 SMs), so that each CTA takes items of every head of a group: with 132 each CTA held
//    one head per group, and as a layer's heads have budgets several times apart the whole model
//    lost what the kernel gained (1M attention 5856 ms against 5036 with 131). Both sides keep counting
//    tiles across items (a stage's parity follows the count), the consumers arrive on qEmpty once
//    Q is in their registers, and the producer then loads the next item's Q and first tiles while
//    the consumers finish this item and write its O. A pair CTA holds ~54 tiles at 128K on a
//    vertical-slash plan (a dense one ~512), so a CTA's start (its launch, Q from memory, the first
//    tile's unpipelined S) and end weighed ~4% there: persistent, VS (1000, 6096) went 33.1-33.7
//    -> 32.1-32.4 ms at 128K and A-shape (128, 4096) 22.0-22.2 -> 20.9-21.1 ms (alternating
//    builds in one call; dense, which keeps one item per CTA, unchanged in the same call).
//  - Bulk K/V (BULK_KV; DENSE_WS_TMA, PAIR_PLAN_WS_TMA, not yet a default: no measurement yet).
//    A tile of consecutive keys is 2 x D / 64 boxes of 64 rows x 128 bytes in K and as many in V
//    ([Hkv * n, D] row-major tensor maps), so one producer thread issues 8 copies (D = 128) where
//    cp.async has every producer thread issue 32 (4096 of 16 bytes per tile), each after an address
//    computation and a predicate, between the membership work of a pair plan. The bytes are the same
//    (64 KiB per tile) and so are the consumers; what it can change is how far ahead the producer
//    stays when its own work per tile is long (a pair plan's first tiles, its membership ballots).
//    The full barrier keeps its 256 arrivals: thread 0 announces the tile's bytes with one of its
//    two, the other producer threads arrive twice. The copies do not stop at the tile's end (the
//    cp.async loader zero-fills past it): the rows there are the next keys, the next KV head's
//    first keys or the tensor map's zeros past its last row, all finite values that the consumers
//    mask by their key slot (INT_MAX past the end), so P is exactly 0 there and the outputs are the
//    cp.async kernel's bit for bit (AttentionBulkLoadGpuTest). Gathered tiles keep cp.async (Hopper's
//    tensor maps copy boxes, not lists of rows); a stage a gathered tile filled is fenced to the
//    async proxy before the copy engine writes it again. Dense, every tile is a bulk copy, so the
//    producer warpgroup drops to 24 registers and the consumers take 240 (FlashAttention-3's split).
//  - Registers: 384 x 168 at launch (__launch_bounds__(384, 1)) = 128 x 56 + 256 x 224 (dense bulk
//    copies: 128 x 24 + 256 x 240).
// Shared memory (1024-byte aligned, WsLayout): Q (two 64 x D wgmma tiles), per stage BN / 64 K
// tiles and as many V tiles, BN key indices per stage, 8 membership words per stage (PAIR), a
// WsTileInfo per stage (PAIR), then the barriers (full[STAGES], empty[STAGES], qFull, qEmpty).
// Stages: 3 at D = 128 (226.7 KiB), else 4.
#pragma once
#include "attention_wgmma.cuh"
#include "tma.cuh"

namespace pk {

constexpr int ATTN_WS_THREADS = 384, ATTN_WS_ROWS = 128;
constexpr int ATTN_WS_PRODUCER_REGS = 56, ATTN_WS_CONSUMER_REGS = 224;
static_assert(128 * ATTN_WS_PRODUCER_REGS + 256 * ATTN_WS_CONSUMER_REGS <= ATTN_WS_THREADS * 168,
              "the consumers' registers must come from the producer's");
// A dense producer of bulk copies (BULK_KV, no plan) keeps only its loop state: FlashAttention-3's
// split of 24 and 240 (ptxas: no spills on either side at d = 64 and 128).
constexpr int ATTN_WS_LEAN_PRODUCER_REGS = 24, ATTN_WS_LEAN_CONSUMER_REGS = 240;
static_assert(128 * ATTN_WS_LEAN_PRODUCER_REGS + 256 * ATTN_WS_LEAN_CONSUMER_REGS <= ATTN_WS_THREADS * 168,
              "the consumers' registers must come from the producer's");

// BN keys per tile as BN / 64 wgmma tiles of 64 keys each in K and in V; stages: as many as fit
// next to Q in the 227 KiB of an SM.
template <int D, int BN>
struct WsLayout {
    static constexpr int TB = WgTile<D>::BYTES, HALVES = BN / 64;
    static constexpr int S = BN == 128 ? (D == 128 ? 3 : 4) : 4;
    // OWN_WORDS: per stage, each block's membership bits of the tile's keys (pair plans)
    static constexpr int OWN_WORDS = 2 * BN / 32;
    static constexpr int Q = 0, K = 2 * TB, V = K + S * HALVES * TB, KEYS = V + S * HALVES * TB;
    static constexpr int OWN = KEYS + S * BN * 4;
    // INFO: per stage the tile's WsTileInfo (16 bytes)
    static constexpr int INFO = OWN + S * OWN_WORDS * 4;
    static constexpr int BARS = INFO + S * 16;
    static constexpr int BYTES = BARS + (2 * S + 2) * 8;  // full[S], empty[S], qFull, qEmpty
    // dynamic shared memory of a launch: the layout + 1024 bytes of alignment slack
    static constexpr int SMEM = BYTES + 1024;
};

// What the consumers need of a stage's tile besides its keys, written by the producer next to them:
// the consumers then walk no plan themselves (no global load on their path).
struct alignas(16) WsTileInfo {
    int count;    // keys in the tile (0: the one stage of an item without keys)
    int lastKey;  // its largest key
    int last;     // 1: the item's last tile
    int pad;
};

#if defined(PK_WGMMA)
// Arrives on the barrier once this thread's cp.async copies issued so far have landed; counts as
// one of the barrier's expected arrivals (.noinc).
__device__ __forceinline__ void mbar_arrive_on_copies(uint32_t bar) {
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}

// pair: the pair plan whose tiles the CTA walks, blk: the 64-row plan whose slots say which keys
// each block's rows see (PAIR only). BULK_KV: a tile of consecutive keys (every dense tile, a pair
// plan's range tiles) comes in as tensor-map copies of K and V (tmK, tmV: [Hkv * n, D] row-major,
// boxes of 64 rows x 64 columns; io.prefill.cuda.TensorMap.rowMajor) issued by one producer
// thread, instead of 32 cp.async per producer thread (see "Bulk K/V" above).
template <int D, bool PAIR, bool BULK_KV = false>
__device__ void attention_block_ws(const bf16* __restrict__ Q, const bf16* __restrict__ K,
                                   const bf16* __restrict__ V, bf16* __restrict__ O, int H, int Hkv, int n,
                                   float scaleLog2, CsrPlan pair, CsrPlan blk,
                                   const unsigned char* __restrict__ pairColOwn, float* __restrict__ lse,
                                   const TmaDesc* tmK = nullptr, const TmaDesc* tmV = nullptr) {
    static_assert(D == 64 || D == 128, "head_dim 64 or 128");
    constexpr int BN = 128, NT = BN / 8;
    using L = WsLayout<D, BN>;
    // Arrivals that free a stage. Dense: lane 0 of each consumer warp after __syncwarp (8), which
    // the PTX memory model orders (the warp barrier orders the lanes' reads before lane 0's
    // release); the consumers read a stage only through wgmma. Pair: every consumer thread (256),
    // as CUTLASS's pipelines release a stage, because its consumers also read the stage's key
    // slots and membership words with plain loads, and compute-sanitizer's racecheck does not
    // follow the warp barrier's ordering: with 8 arrivals it reported the producer's next writes
    // of those slots against the other lanes' reads. 256 arrivals cost the dense kernel 4% (same
    // call, 128K: 265-269 ms against 254-257), and the pair kernel nothing measurable.
    constexpr int EMPTY_ARRIVALS = PAIR ? 256 : 8;
    constexpr bool PERSIST = PAIR;
    constexpr int TB = L::TB, S = L::S, HALVES = L::HALVES, KT = D / 16, NACC = D / 2;
    static_assert(L::BYTES + 1024 <= 227 * 1024, "shared memory of one SM");
    extern __shared__ __align__(1024) unsigned char ws_smem[];
    const uint32_t raw = smem_u32(ws_smem), base = (raw + 1023u) & ~1023u;
    unsigned char* gen = ws_smem + (base - raw);
    const uint32_t sQ = base + L::Q, sK0 = base + L::K, sV0 = base + L::V;
    int* sKey = reinterpret_cast<int*>(gen + L::KEYS);
    constexpr int OW = L::OWN_WORDS;
    // [stage][block A, B][keys 0-31, 32-63, ...]: bit k of a word = the key in that block's own plan
    uint32_t* sOwn = reinterpret_cast<uint32_t*>(gen + L::OWN);
    WsTileInfo* sInfo = reinterpret_cast<WsTileInfo*>(gen + L::INFO);
    const uint32_t full0 = base + L::BARS, empty0 = full0 + 8 * S, qFull = full0 + 16 * S, qEmpty = qFull + 8;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, wg = warp >> 2;
    // Work items: (head, 128-row block). Dense: this CTA's one. PERSIST: items blockIdx.x,
    // + gridDim.x, ... of the KV_GROUP_MAJOR order (AttentionKernels.persistentGrid), so that the
    // producer loads the next item's Q and first tiles while the consumers finish this one.
    const int nqb = PERSIST ? (n + ATTN_WS_ROWS - 1) / ATTN_WS_ROWS : 0;
    const int firstItem = PERSIST ? blockIdx.x : 0, items = PERSIST ? H * nqb : 1, step = PERSIST ? gridDim.x : 1;
    struct Item { int h, qb, nqb, r0, kvh; const bf16 *Qh, *Kh, *Vh; };
    auto place = [&](int item) {
        Item w;
        if (PERSIST) {
            ws_item_head_block(item, H, Hkv, nqb, w.h, w.qb);
            w.nqb = nqb;
        } else {
            w.nqb = cta_head_block<GridOrder::KV_GROUP_MAJOR>(H, Hkv, w.h, w.qb);
        }
        w.r0 = w.qb * ATTN_WS_ROWS;
        w.kvh = w.h / (H / Hkv);
        w.Qh = Q + (size_t)w.h * n * D;
        w.Kh = K + (size_t)w.kvh * n * D;
        w.Vh = V + (size_t)w.kvh * n * D;
        return w;
    };
    auto cursor = [&](const Item& w) {
        TileCursor<true, BN> c;
        if (PAIR) {
            c.init(pair, w.h * w.nqb + w.qb);
        } else {
            c.init(nullptr, 0, 0, nullptr, 0, 0);
            c.rEnd = 1;
            c.end = min(w.r0 + ATTN_WS_ROWS, n);
        }
        return c;
    };

    if (tid == 0) {
        for (int s = 0; s < S; ++s) {
            // 128 plain arrives + 128 arrives on landed copies (cp.async), or + 127 plain ones and one
            // that announces the bulk copies' bytes (BULK_KV)
            mbar_init(full0 + 8 * s, 256);
            mbar_init(empty0 + 8 * s, EMPTY_ARRIVALS);
        }
        mbar_init(qFull, 128);
        mbar_init(qEmpty, 256);  // PERSIST: every consumer thread has read Q into registers
        mbar_init_fence();
    }
    __syncthreads();

    constexpr bool LEAN = BULK_KV && !PAIR;  // every tile a bulk copy: no cp.async path in the producer
    constexpr int PRODUCER_REGS = LEAN ? ATTN_WS_LEAN_PRODUCER_REGS : ATTN_WS_PRODUCER_REGS;
    constexpr int CONSUMER_REGS = LEAN ? ATTN_WS_LEAN_CONSUMER_REGS : ATTN_WS_CONSUMER_REGS;
    if (wg == 0) {  // ---- producer
        setmaxnreg_dec<PRODUCER_REGS>();
        if (BULK_KV && tid == 0) {
            tma_prefetch_desc(tmK);
            tma_prefetch_desc(tmV);
        }
        int it = 0;  // tiles loaded so far, over all items: stage it % S, its use it / S
        for (int item = firstItem, k = 0; item < items; item += step, ++k) {
            const Item w = place(item);
            const int r0 = w.r0;
            if (k > 0) mbar_wait(qEmpty, (k - 1) & 1);
            for (int c = tid; c < ATTN_WS_ROWS * (D / 8); c += 128) {
                const int r = c / (D / 8), ch = c % (D / 8);
                const bool valid = r0 + r < n;
                cp_async16(sQ + (r >> 6) * TB + swz_wg<D>(r & 63, ch), w.Qh + (size_t)(valid ? r0 + r : 0) * D + ch * 8,
                           valid);
            }
            mbar_arrive_on_copies(qFull);
            // PAIR: thread tid tests keys tid % 64 and 64 + tid % 64 of each tile against block x =
            // tid / 64's own plan (A = 64-row block 2 qb, B = 2 qb + 1; a B past the sequence masks
            // nothing: its rows are not written)
            const int x = tid >> 6, nqb64 = (n + 63) / 64, blkSlot = w.h * nqb64 + 2 * w.qb + x;
            const int lastRow = r0 + 64 * x + 63;  // a key past it is masked for every row of the block
            const bool hasBlk = PAIR && 2 * w.qb + x < nqb64;
            int re = 0, cb = 0, ce = 0;
            int ri = 0, rs = INT_MAX, rEnd = INT_MAX;  // the block's first range not wholly below the last key tested
            if (hasBlk) {
                ri = blk.rangePtr[blkSlot]; re = blk.rangePtr[blkSlot + 1];
                cb = blk.colPtr[blkSlot]; ce = blk.colPtr[blkSlot + 1];
                if (ri < re) { rs = blk.rangeData[2 * ri]; rEnd = blk.rangeData[2 * ri + 1]; }
            }
            TileCursor<true, BN> cur = cursor(w);
            KeyTile t;
            bool have = cur.next(t);
            if (!have) t = KeyTile{0, 0, -1, false};  // no keys: one empty stage tells the consumers
            for (bool more = true; more; ++it) {
                KeyTile nt;
                more = have && cur.next(nt);  // one tile ahead, to mark the item's last
                const int s = it % S, use = it / S;
                if (use > 0) mbar_wait(empty0 + 8 * s, (use - 1) & 1);
                const bool bulk = BULK_KV && !t.gather && t.count > 0;
                if (bulk) {
                    // keys t.start .. + 127 of KV head kvh are rows kvh * n + t.start .. of the maps: each
                    // 64-key half as D / 64 boxes, one per 128-byte panel of the wgmma tile (swz_wg is
                    // the hardware's 128-byte swizzle the maps write). Rows past the tile's end are
                    // copied too (the next keys, the next head's, zeros past the tensor): the consumers
                    // mask them by their key slot (INT_MAX), as they mask cp.async's zero rows.
                    if (tid == 0) {
                        const uint32_t bar = full0 + 8 * s;
                        // a stage a gathered tile filled last was written by cp.async (the generic
                        // proxy): order those writes before the copy engine's (tma.cuh, HOPPER)
                        if (PAIR) fence_proxy_async_smem();
                        mbar_arrive_expect_tx(bar, 2 * HALVES * TB);
                        const int y = w.kvh * n + t.start;
#pragma unroll
                        for (int hf = 0; hf < HALVES; ++hf)
#pragma unroll
                            for (int p = 0; p < D / 64; ++p) {
                                const uint32_t at = (s * HALVES + hf) * TB + p * (64 * 128);
                                tma_load_2d(sK0 + at, tmK, 64 * p, y + 64 * hf, bar);
                                tma_load_2d(sV0 + at, tmV, 64 * p, y + 64 * hf, bar);
                            }
                    }
                    static_assert(BN == 128, "one key slot per producer thread");
                    sKey[BN * s + tid] = tid < t.count ? t.start + tid : INT_MAX;
                } else if constexpr (!LEAN) {  // (a dense tile always has keys)
#pragma unroll
                    for (int hf = 0; hf < HALVES; ++hf) {  // keys 64 hf .. 64 hf + 63 of the tile
                        KeyTile sub = t;
                        sub.start += 64 * hf;
                        sub.count -= 64 * hf;
                        load_kv_tile_keys_first<D, 4, true>(sub, pair.colData, w.Kh, w.Vh, sK0 + (s * HALVES + hf) * TB,
                                                            sV0 + (s * HALVES + hf) * TB, sKey + BN * s + 64 * hf);
                    }
                }
                if (PAIR) {
#pragma unroll
                    for (int hf = 0; hf < HALVES; ++hf) {
                        const int kt = 64 * hf + (tid & 63);
                        bool own = kt < t.count;
                        if (own && hasBlk) {
                            if (t.gather) {
                                own = (pairColOwn[t.start + kt] >> x) & 1;
                            } else {
                                const int key = t.start + kt;
                                while (key >= rEnd && ++ri < re) { rs = blk.rangeData[2 * ri]; rEnd = blk.rangeData[2 * ri + 1]; }
                                if (ri >= re) rs = rEnd = INT_MAX;
                                own = (key >= rs && key < rEnd) ||
                                      (key <= lastRow && in_block_plan(key, blk.rangeData, 0, 0, blk.colData, cb, ce));
                            }
                        }
                        const uint32_t bits = __ballot_sync(0xffffffffu, own);
                        // warps 0, 1: A's keys 64 hf + 0-31, + 32-63; warps 2, 3: B's
                        if (lane == 0) sOwn[OW * s + (warp >> 1) * (OW / 2) + 2 * hf + (warp & 1)] = bits;
                    }
                }
                if (PAIR && tid == 0) sInfo[s] = WsTileInfo{t.count, t.lastKey, more ? 0 : 1, 0};
                mbar_arrive(full0 + 8 * s);
                if (!bulk) mbar_arrive_on_copies(full0 + 8 * s);
                else if (tid != 0) mbar_arrive(full0 + 8 * s);  // thread 0's second arrival announced the bytes
                t = nt;
            }
        }
        cp_async_wait_all();
        return;
    }

    // ---- consumers: warpgroup c = wg - 1 holds rows r0 + 64c .. r0 + 64c + 63
    setmaxnreg_inc<CONSUMER_REGS>();
    const int c = wg - 1, wq = warp & 3;
    const int g = lane >> 2, cq = lane & 3;
    const uint64_t dK0 = wg_tile_desc_kmajor(sK0), dV0 = wg_tile_desc_mnmajor(sV0);

    auto release = [&](int s) {
        if (EMPTY_ARRIVALS == 8) __syncwarp();
        if (EMPTY_ARRIVALS == 256 || lane == 0) mbar_arrive(empty0 + 8 * s);
    };
    int it = 0;  // tiles consumed so far, over all items (the producer's count)
    for (int item = firstItem, k = 0; item < items; item += step, ++k) {
        const Item w = place(item);
        const int rowFirst = w.r0 + 64 * c;
        const int rowBase = rowFirst + wq * 16 + g;  // rows rowBase and rowBase + 8

        float o[NACC];
#pragma unroll
        for (int i = 0; i < NACC; ++i) o[i] = 0.f;
        OnlineSoftmax sm;
        sm.init();
        uint32_t pf[NT / 2][4];  // P of the tile whose P V is next
        int pending = 0;    // its stage
        // Q stays in registers: this warp's 16 rows as the A fragments of the D / 16 k-steps of S = Q K^T
        // (the mma.sync m16n8k16 A layout wgmma takes from registers), so that the products read only K
        // from shared memory.
        mbar_wait(qFull, k & 1);
        uint32_t qf[KT][4];
#pragma unroll
        for (int kk = 0; kk < KT; ++kk) {
            const int mi = lane >> 3, row = wq * 16 + (mi & 1) * 8 + (lane & 7), ch = kk * 2 + (mi >> 1);
            ldsm_x4(qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], sQ + c * TB + swz_wg<D>(row, ch));
        }
        if (PERSIST) mbar_arrive(qEmpty);  // the producer may load the next item's Q

        // O += P V(stage s): keys 16kk.. of a 64-key half are rows 16kk.. of its V tile (2048 bytes per 16 rows)
        auto issue_pv = [&](int s) {
#pragma unroll
            for (int hf = 0; hf < HALVES; ++hf) {
                const uint64_t dV = dV0 + (uint64_t)((s * HALVES + hf) * TB >> 4);
#pragma unroll
                for (int kk = 0; kk < 4; ++kk) {
                    if (D == 128) wgmma_m64n128k16_rs_tb(o, pf[4 * hf + kk], dV + (kk * 2048 >> 4));
                    else wgmma_m64n64k16_rs_tb(o, pf[4 * hf + kk], dV + (kk * 2048 >> 4));
                }
            }
        };

        // S = Q K(stage s)^T for the tile t, masked where some key is not visible to some row
        // (S of keys 64 hf .. 64 hf + 63 in sc[32 hf .. 32 hf + 31]). Tried: the stage's two K tiles
        // with their panels interleaved into one 128-key operand, S as one m64n128k16 per k-step
        // (FlashAttention-3's): the same time at 32K and 128K (alternating builds in one call,
        // bench/results/attention-ws/2026-12-04-h200-dense-ws-n128-s-ab.tsv), so the two m64n64 stay.
        auto issue_s = [&](float* sc, int s) {
            wgmma_fence();
#pragma unroll
            for (int hf = 0; hf < HALVES; ++hf) {
                const uint64_t dK = dK0 + (uint64_t)((s * HALVES + hf) * TB >> 4);
                wgmma_m64n64k16_rs<0>(sc + 32 * hf, qf[0], dK);  // the first k-step ignores sc's old value
#pragma unroll
                for (int kk = 1; kk < KT; ++kk) {
                    const uint32_t off = ((kk >> 2) * 64 * 128 + (kk & 3) * 32) >> 4;
                    wgmma_m64n64k16_rs<1>(sc + 32 * hf, qf[kk], dK + off);
                }
            }
            wgmma_commit();
        };
        // sc becomes P (fp32, in place): masked where some key is not visible to some row (PAIR: or
        // not in this block's own plan)
        auto softmax = [&](float* sc, const WsTileInfo& t, int s, float* alpha) {
            if (PAIR) {
                const uint32_t* own = sOwn + OW * s + c * (OW / 2);
                uint32_t all = ~0u;
#pragma unroll
                for (int i = 0; i < OW / 2; ++i) all &= own[i];
                if (!(all == ~0u && t.count == BN && t.lastKey <= rowFirst)) {
#pragma unroll
                    for (int hf = 0; hf < HALVES; ++hf)
                        mask_tile<1, true>(sc + 32 * hf, sKey + BN * s + 64 * hf, rowBase, cq, own[2 * hf], own[2 * hf + 1]);
                }
            } else if (!(t.count == BN && t.lastKey <= rowFirst)) {
#pragma unroll
                for (int hf = 0; hf < HALVES; ++hf)
                    mask_tile<1, false>(sc + 32 * hf, sKey + BN * s + 64 * hf, rowBase, cq, ~0u, ~0u);
            }
            sm.exponentiate<NT>(sc, scaleLog2, alpha);
        };

        // Every tile is computed: in dense, the last one (the diagonal, keys r0 .. r0 + 127) is
        // masked for consumer 0 above its rows. PAIR: the item's tiles come as the producer's
        // stages, each with its WsTileInfo (an item without keys: one stage with none). Dense: the
        // consumers count the tiles of the item's one range [0, min(r0 + 128, n)) themselves, so
        // that they read nothing of a stage but through wgmma (see EMPTY_ARRIVALS).
        int densePos = 0;
        const int denseEnd = min(w.r0 + ATTN_WS_ROWS, n);
        auto info = [&](int s) {
            if (PAIR) return sInfo[s];
            const int count = min(BN, denseEnd - densePos);
            const WsTileInfo x{count, densePos + count - 1, densePos + count >= denseEnd ? 1 : 0, 0};
            densePos += count;
            return x;
        };
        WsTileInfo t;
        bool any;
        {
            const int s = it % S;
            mbar_wait(full0 + 8 * s, (it / S) & 1);
            t = info(s);
            any = t.count > 0;
            if (any) {
                fence_proxy_async_smem();
                float sc[BN / 2];
                issue_s(sc, s);
                wgmma_wait<0>();
                float alpha[2];
                softmax(sc, t, s, alpha);
                OnlineSoftmax::pack<NT>(sc, pf);
                pending = s;
            } else {
                release(s);
            }
            ++it;
        }
        for (; !t.last; ++it) {
            const int s = it % S;
            mbar_wait(full0 + 8 * s, (it / S) & 1);
            t = info(s);
            fence_proxy_async_smem();
            float sc[BN / 2];
            issue_s(sc, s);
            wgmma_fence();
            issue_pv(pending);  // the previous tile's P V runs while this tile's softmax does
            wgmma_commit();
            wgmma_wait<1>();
            float alpha[2];
            softmax(sc, t, s, alpha);
            wgmma_wait<0>();
            release(pending);
            // Once a row's maximum has settled (most tiles of a long causal row), alpha is exactly 1:
            // the warp skips the D / 2 multiplies when none of its rows moved.
            if (__any_sync(0xffffffffu, alpha[0] != 1.f || alpha[1] != 1.f)) OnlineSoftmax::rescale<NACC>(o, alpha);
            OnlineSoftmax::pack<NT>(sc, pf);  // only now: the P V just retired read pf
            pending = s;
        }
        if (any) {
            wgmma_fence();
            issue_pv(pending);
            wgmma_commit();
            wgmma_wait<0>();
            release(pending);
        }
        sm.finish();
        write_o_lse<D>(o, sm, O + (size_t)w.h * n * D, lse, w.h, n, rowBase, cq);
    }
}
#endif  // PK_WGMMA

}  // namespace pk
