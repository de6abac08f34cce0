// Vertical-slash online estimate and its conversion to the CSR block plan, all heads per launch.
//
// Estimate (per query head h, q = min(64, n) last queries at positions n-q+a):
//   P = softmax(Q_last K^T / sqrt(D)) in fp32, causal inside the last q x q corner;
//   column score j = sum_a P[a][j];  slash score o = sum_a P[a][n-q+a-o].
// Three passes over the keys, split in chunks of ESTIMATE_TILES * 64 keys per CTA:
//   vs_row_stats  : per chunk partial (max, sum exp) of each row   (tensor-core scores)
//   vs_row_combine: per row global (max, sum)
//   vs_sums       : recompute scores, P to shared memory, column sums (direct) and the 127 tile
//                   diagonals (partials, combined in fixed order by vs_slash_combine: deterministic)
#pragma once
#include "attention.cuh"

namespace pk {

constexpr int ESTIMATE_TILES = 16;  // 64-key tiles per CTA
constexpr int DIAGS = 127;         // diagonals crossing one 64x64 tile

template <int D>
struct EstimateSmem {
    static constexpr int BYTES = 64 * D * 2 + 2 * 64 * D * 2 + 64 * 65 * 4;
};

// Loads the last q query rows of head h (zero rows past q) and returns their fragments.
template <int D>
__device__ void load_last_queries(const bf16* Qh, int n, int q, uint32_t sQ, uint32_t (*qf)[4]) {
    constexpr int CH = D / 8;
    for (int c = threadIdx.x; c < 64 * CH; c += 128) {
        int r = c / CH, ch = c % CH;
        bool valid = r < q;
        cp_async16(sQ + swz<D>(r, ch), Qh + (size_t)(valid ? n - q + r : 0) * D + ch * 8, valid);
    }
    cp_async_commit();
    cp_async_wait_all();
    __syncthreads();
    load_q_frags<D>(sQ, qf);
}

template <int D>
__device__ __forceinline__ void load_k_tile(const bf16* Kh, int j0, int n, uint32_t sK) {
    constexpr int CH = D / 8;
    for (int c = threadIdx.x; c < 64 * CH; c += 128) {
        int r = c / CH, ch = c % CH;
        bool valid = j0 + r < n;
        cp_async16(sK + swz<D>(r, ch), Kh + (size_t)(valid ? j0 + r : 0) * D + ch * 8, valid);
    }
    cp_async_commit();
}

// Scores of one tile, scaled by 1/sqrt(D), -inf where masked (key >= n, key > query, row >= q).
template <int D>
__device__ __forceinline__ void estimate_scores(const uint32_t (*qf)[4], uint32_t sK, int j0, int n,
                                                int q, float scale, float (*s)[4]) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    qk_tile<D>(qf, sK, s);
    const int a0 = warp * 16 + (lane >> 2), a1 = a0 + 8;
    const int p0 = n - q + a0, p1 = n - q + a1;
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            int key = j0 + j * 8 + 2 * (lane & 3) + e;
            s[j][e] = (key < n && key <= p0 && a0 < q) ? s[j][e] * scale : -INFINITY;
            s[j][2 + e] = (key < n && key <= p1 && a1 < q) ? s[j][2 + e] * scale : -INFINITY;
        }
}

// grid (H, chunks), 128 threads: the heads of one chunk are launched together, so the query heads
// that share a KV head read its chunk of K while it is in L2. stats[(h*chunks + c)*64 + a] =
// (max, sum exp(s - max)).
template <int D>
__device__ void vs_row_stats(const bf16* Q, const bf16* K, int H, int Hkv, int n, float2* stats) {
    extern __shared__ __align__(128) unsigned char smem[];
    const uint32_t sQ = smem_u32(smem), sK0 = sQ + 64 * D * 2;
    const int h = blockIdx.x, chunk = blockIdx.y, chunks = gridDim.y;
    const int q = min(64, n);
    const bf16* Kh = K + (size_t)(h / (H / Hkv)) * n * D;
    uint32_t qf[D / 16][4];
    load_last_queries<D>(Q + (size_t)h * n * D, n, q, sQ, qf);
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    const float scale = rsqrtf((float)D);
    const int jBeg = chunk * ESTIMATE_TILES * 64, jEnd = min(n, jBeg + ESTIMATE_TILES * 64);
    if (jBeg < jEnd) load_k_tile<D>(Kh, jBeg, n, sK0);
    int buf = 0;
    for (int j0 = jBeg; j0 < jEnd; j0 += 64, buf ^= 1) {
        cp_async_wait_all();
        __syncthreads();
        if (j0 + 64 < jEnd) load_k_tile<D>(Kh, j0 + 64, n, sK0 + (buf ^ 1) * 64 * D * 2);
        float s[8][4];
        estimate_scores<D>(qf, sK0 + buf * 64 * D * 2, j0, n, q, scale, s);
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            float mx = -INFINITY;
#pragma unroll
            for (int j = 0; j < 8; ++j) mx = fmaxf(mx, fmaxf(s[j][2 * r], s[j][2 * r + 1]));
            float mn = fmaxf(m[r], mx);
            if (mn == -INFINITY) continue;
            float acc = 0.f;
#pragma unroll
            for (int j = 0; j < 8; ++j) acc += expf(s[j][2 * r] - mn) + expf(s[j][2 * r + 1] - mn);
            l[r] = l[r] * expf(m[r] - mn) + acc;
            m[r] = mn;
        }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
#pragma unroll
        for (int x = 1; x <= 2; x <<= 1) {
            float mo = __shfl_xor_sync(0xffffffffu, m[r], x), lo = __shfl_xor_sync(0xffffffffu, l[r], x);
            float mn = fmaxf(m[r], mo);
            if (mn != -INFINITY) l[r] = l[r] * expf(m[r] - mn) + lo * expf(mo - mn);
            m[r] = mn;
        }
        if ((lane & 3) == 0) {
            int a = warp * 16 + (lane >> 2) + 8 * r;
            stats[((size_t)h * chunks + chunk) * 64 + a] = make_float2(m[r], l[r]);
        }
    }
}

// grid H, 64 threads: rowStat[h*64 + a] = (max, sum of exp(s - max)), the sum 1 for an empty row.
__device__ void vs_row_combine(const float2* stats, int chunks, float2* rowStat) {
    const int h = blockIdx.x, a = threadIdx.x;
    float m = -INFINITY, l = 0.f;
    for (int c = 0; c < chunks; ++c) {
        float2 st = stats[((size_t)h * chunks + c) * 64 + a];
        float mn = fmaxf(m, st.x);
        if (mn == -INFINITY) continue;
        l = l * expf(m - mn) + st.y * expf(st.x - mn);
        m = mn;
    }
    rowStat[h * 64 + a] = make_float2(m, l > 0.f ? l : 1.f);
}

// grid (H, chunks), 128 threads (heads of a chunk together, as vs_row_stats). colScore[h*n + j]; diagPart[(h*tiles + t)*127 + (a - c + 63)].
template <int D>
__device__ void vs_sums(const bf16* Q, const bf16* K, int H, int Hkv, int n, const float2* rowStat,
                        float* colScore, float* diagPart) {
    extern __shared__ __align__(128) unsigned char smem[];
    const uint32_t sQ = smem_u32(smem), sK0 = sQ + 64 * D * 2;
    float* sP = reinterpret_cast<float*>(smem + 64 * D * 2 + 2 * 64 * D * 2);  // [64][65]
    const int h = blockIdx.x, chunk = blockIdx.y;
    const int q = min(64, n), tiles = (n + 63) / 64;
    const bf16* Kh = K + (size_t)(h / (H / Hkv)) * n * D;
    uint32_t qf[D / 16][4];
    load_last_queries<D>(Q + (size_t)h * n * D, n, q, sQ, qf);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, tid = threadIdx.x;
    const int a0 = warp * 16 + (lane >> 2), a1 = a0 + 8;
    const float2 st0 = rowStat[h * 64 + a0], st1 = rowStat[h * 64 + a1];
    const float scale = rsqrtf((float)D);
    const int jBeg = chunk * ESTIMATE_TILES * 64, jEnd = min(n, jBeg + ESTIMATE_TILES * 64);
    if (jBeg < jEnd) load_k_tile<D>(Kh, jBeg, n, sK0);
    int buf = 0;
    for (int j0 = jBeg; j0 < jEnd; j0 += 64, buf ^= 1) {
        cp_async_wait_all();
        __syncthreads();  // also: previous tile's sP readers are done
        if (j0 + 64 < jEnd) load_k_tile<D>(Kh, j0 + 64, n, sK0 + (buf ^ 1) * 64 * D * 2);
        float s[8][4];
        estimate_scores<D>(qf, sK0 + buf * 64 * D * 2, j0, n, q, scale, s);
#pragma unroll
        for (int j = 0; j < 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                int c = j * 8 + 2 * (lane & 3) + e;
                sP[a0 * 65 + c] = s[j][e] == -INFINITY ? 0.f : expf(s[j][e] - st0.x) / st0.y;
                sP[a1 * 65 + c] = s[j][2 + e] == -INFINITY ? 0.f : expf(s[j][2 + e] - st1.x) / st1.y;
            }
        __syncthreads();
        if (tid < 64) {
            float acc = 0.f;
            for (int a = 0; a < 64; ++a) acc += sP[a * 65 + tid];
            if (j0 + tid < n) colScore[(size_t)h * n + j0 + tid] = acc;
        }
        // diagonal partials: dd = a - c + 63, one thread each
        for (int dd = tid; dd < DIAGS; dd += 128) {
            int delta = dd - 63;  // a - c
            float acc = 0.f;
            int aBeg = max(0, delta), aEnd = min(64, 64 + delta);
            for (int a = aBeg; a < aEnd; ++a) acc += sP[a * 65 + (a - delta)];
            diagPart[((size_t)h * tiles + j0 / 64) * DIAGS + dd] = acc;
        }
    }
}

// One thread per (h, o): slash[h*n + o] = sum of the (at most two) tile partials, in tile order.
__device__ void vs_slash_combine(const float* diagPart, int H, int n, float* slash) {
    size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (size_t)H * n) return;
    const int h = (int)(idx / n), o = (int)(idx % n);
    const int q = min(64, n), tiles = (n + 63) / 64;
    const int base = n - q - o;  // j0 in [base - 63, base + 63]
    const int tLo = base - 63 <= 0 ? 0 : base / 64;       // ceil((base - 63) / 64)
    const int tHi = min((base + 63) / 64, tiles - 1);     // base >= 1 - q, so base + 63 >= 0
    float acc = 0.f;
    for (int t = tLo; t <= tHi; ++t) {
        int dd = 63 - base + 64 * t;  // a - c + 63 with a - c = o - (n-q) + j0
        if (dd >= 0 && dd < DIAGS) acc += diagPart[((size_t)h * tiles + t) * DIAGS + dd];
    }
    slash[idx] = acc;
}

constexpr int FORCED_COLUMNS = 30;
constexpr int FORCED_OFFSETS = 100;

// grid (H, 2), 1024 threads. y = 0: columns, y = 1: offsets. Budgets already clamped per head.
__device__ void vs_topk(const float* colScore, const float* slash, int n, const int* kCols,
                        const int* kOffs, int kColsMax, int kOffsMax, int* selCols, int* selOffs) {
    const int h = blockIdx.x;
    if (blockIdx.y == 0) {
        const float* sc = colScore + (size_t)h * n;
        block_topk<1024>([&](int i) { return i < FORCED_COLUMNS ? KEY_FORCED : order_key(sc[i]); }, n,
                         kCols[h], selCols + (size_t)h * kColsMax);
    } else {
        const float* sc = slash + (size_t)h * n;
        block_topk<1024>([&](int i) { return i < FORCED_OFFSETS ? KEY_FORCED : order_key(sc[i]); }, n,
                         kOffs[h], selOffs + (size_t)h * kOffsMax);
    }
}

// For K thresholds t[0] < ... < t[K-1] (float bits), the mass and the count of the entries
// f(i), i in [0, n), whose bits are >= t[k], into mass[k] and count[k] (shared memory): one pass
// of 1024 threads, each thread's strided partials, then a fixed tree (shuffles within the warp,
// then the 32 warps in order): the same bits every run. scratch: 32 * K doubles and 32 * K ints.
template <int K, typename F>
__device__ void block_masses_from(F f, int n, const uint32_t (&t)[K], double* mass, int* count,
                                  double* scratch, int* scratchCount) {
    double acc[K];
    int cnt[K];
#pragma unroll
    for (int k = 0; k < K; ++k) { acc[k] = 0.0; cnt[k] = 0; }
    for (int i = threadIdx.x; i < n; i += 1024) {
        const float x = f(i);
        const uint32_t u = __float_as_uint(x);
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const bool in = u >= t[k];
            acc[k] += in ? (double)x : 0.0;
            cnt[k] += in;
        }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int k = 0; k < K; ++k) {
#pragma unroll
        for (int x = 16; x > 0; x >>= 1) {
            acc[k] += __shfl_xor_sync(0xffffffffu, acc[k], x);
            cnt[k] += __shfl_xor_sync(0xffffffffu, cnt[k], x);
        }
        if (lane == 0) {
            scratch[warp * K + k] = acc[k];
            scratchCount[warp * K + k] = cnt[k];
        }
    }
    __syncthreads();
    if (threadIdx.x < K) {  // the 32 warps' partials in order
        const int k = threadIdx.x;
        double m = 0.0;
        int c = 0;
        for (int w = 0; w < 32; ++w) {
            m += scratch[w * K + k];
            c += scratchCount[w * K + k];
        }
        mass[k] = m;
        count[k] = c;
    }
    __syncthreads();
}

// Adaptive heads (FlexPrefill's query-aware budget), grid (H, 2), 1024 threads; y = 0 columns,
// y = 1 offsets. Head h with gamma[h] > 0 gets the fewest entries of its scores whose sum reaches
// gamma of the total: the forced ones (kept anyway) first, then the rest in descending order;
// held within [minBudget, maxBudget] and then clamped like a fixed head (>= MIN_VERTICAL/SLASH,
// <= n); written into kCols[h] / kOffs[h] for vs_topk. Heads with gamma[h] <= 0 keep their budget.
// The CPU reference is VerticalSlashEstimator.massBudget.
//
// Scores are >= 0, so their float bits order them. An 8-way search on the bits finds the largest
// value t with S(t) = mass of the non-forced entries >= t reaching need = gamma * total - forced
// mass; the entries above t all go in, then as many entries equal to t as the remainder needs.
// Each pass evaluates S at 7 thresholds splitting [lo, hi) evenly (a bisection would take 31
// passes; at 512K tokens the 64 blocks' scores do not stay in L2, so passes are what costs):
// 3 passes for the total, the forced mass and S(0), then 11 over the 31 bits of a non-negative float.
constexpr int MIN_VERTICAL = 30;
constexpr int MIN_SLASH = 50;
constexpr int MASS_SEARCH_WAYS = 8;

__device__ void vs_mass_budget(const float* colScore, const float* slash, int n, const double* gamma,
                               const int* minBudget, const int* maxBudget, int* kCols, int* kOffs) {
    constexpr int K = MASS_SEARCH_WAYS - 1;
    __shared__ double scratch[32 * K], mass[K];
    __shared__ int scratchCount[32 * K], count[K];
    const int h = blockIdx.x;
    if (!(gamma[h] > 0.0)) return;
    const bool cols = blockIdx.y == 0;
    const float* sc = (cols ? colScore : slash) + (size_t)h * n;
    const int forced = min(cols ? FORCED_COLUMNS : FORCED_OFFSETS, n);
    const int rest = n - forced;
    const float* rs = sc + forced;
    const uint32_t all[1] = {0u};  // one threshold, 0: the mass of every entry
    block_masses_from<1>([&](int i) { return sc[i]; }, n, all, mass, count, scratch, scratchCount);
    const double total = mass[0];
    block_masses_from<1>([&](int i) { return sc[i]; }, forced, all, mass, count, scratch, scratchCount);
    const double need = gamma[h] * total - mass[0];
    int chosen = forced;
    if (need > 0.0 && rest > 0) {
        block_masses_from<1>([&](int i) { return rs[i]; }, rest, all, mass, count, scratch, scratchCount);
        if (mass[0] < need) {
            chosen = n;  // gamma 1 and rounding: every entry
        } else {
            // invariant S(lo) >= need > S(hi); massHi, countHi: the mass and count of entries >= hi
            uint32_t lo = 0, hi = 0x7f800001u;  // finite scores: none reaches hi
            double massHi = 0.0;
            int countHi = 0;
            uint32_t t[K];
            while (hi - lo > 1) {
                const uint32_t span = hi - lo;
#pragma unroll
                for (int k = 0; k < K; ++k)
                    t[k] = span > K + 1 ? lo + (uint32_t)((uint64_t)(k + 1) * span / (K + 1)) : min(lo + 1 + k, hi - 1);
                block_masses_from<K>([&](int i) { return rs[i]; }, rest, t, mass, count, scratch, scratchCount);
                int last = -1;  // S does not grow with t: the thresholds that reach need are a prefix
                for (int k = 0; k < K; ++k) if (mass[k] >= need) last = k;
                if (last + 1 < K) {
                    hi = t[last + 1];
                    massHi = mass[last + 1];
                    countHi = count[last + 1];
                }
                if (last >= 0) lo = t[last];
            }
            const double tie = (double)__uint_as_float(lo);  // > 0: S(lo) > S(hi)
            const double ties = ceil((need - massHi) / tie);
            chosen = (int)fmin((double)n, forced + countHi + fmax(1.0, ties));
        }
    }
    if (threadIdx.x == 0) {
        int b = min(n, max(minBudget[h], min(maxBudget[h], chosen)));
        if (cols) kCols[h] = min(max(b, MIN_VERTICAL), n);
        else kOffs[h] = min(max(b, MIN_SLASH), n);
    }
}

__device__ __forceinline__ int lower_bound(const int* a, int len, int x) {
    int lo = 0, hi = len;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (a[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo;
}

// lower_bound for a whole warp that wants the same answer (every lane calls it with the same
// arguments and gets the result): each round the 32 lanes probe 32 points that split [lo, hi)
// into 33 parts, and one ballot keeps the part holding the answer, so ~log33(len) dependent loads
// instead of log2(len) (3 rounds for 6096 offsets, against 13).
__device__ __forceinline__ int warp_lower_bound(const int* a, int len, int x) {
    const int lane = threadIdx.x & 31;
    int lo = 0, hi = len;  // the first index with a[i] >= x is in [lo, hi]
    while (hi - lo > 32) {
        const int w = hi - lo;
        const int p = lo + (int)((long long)(lane + 1) * w / 33);  // in [lo, hi), ascending in lane
        const unsigned below = __ballot_sync(0xffffffffu, a[p] < x);  // a prefix of the lanes
        const int c = __popc(below);
        const int pLast = __shfl_sync(0xffffffffu, p, max(c - 1, 0)), pNext = __shfl_sync(0xffffffffu, p, min(c, 31));
        if (c > 0) lo = pLast + 1;
        if (c < 32) hi = pNext;
    }
    return lo + __popc(__ballot_sync(0xffffffffu, lo + lane < hi && a[lo + lane] < x));
}

// A warp's cursor over one head's sorted selected columns cols[0, mc): the 32 columns from `base`
// on, one per lane. first_at_least(x, from) is the first index i >= from with cols[i] >= x (mc if
// none); `from` never decreases between calls. Scattered diagonals make thousands of ranges per
// query block, most of them holding no column: those are answered by one ballot on the window,
// without a load (two binary searches in global memory per range before).
struct ColumnWindow {
    const int* cols;
    int mc, base, c;
    __device__ __forceinline__ void load(int b) {
        base = b;
        const int i = b + (threadIdx.x & 31);
        c = i < mc ? cols[i] : INT_MAX;
    }
    __device__ __forceinline__ int first_at_least(int x, int from) {
        const int lane = threadIdx.x & 31;
        for (;;) {
            if (from >= base + 32) load(from);
            // sorted: the lanes at or past `from` whose column is below x are one run from `from`
            const int i = from + __popc(__ballot_sync(0xffffffffu, base + lane >= from && c < x));
            if (i < base + 32 || i >= mc) return min(i, mc);
            load(i);  // every column of the window from `from` on is below x
            from = i;
        }
    }
};

// Causal entries of key range [s, e) over the block's rows r0..r1-1, as G(e) - G(s) with
// G(x) = sum over those rows i of min(x, i + 1) (each row counts keys s..min(e, i+1)-1).
__device__ __forceinline__ long long rows_min_sum(int x, int r0, int r1) {
    const long long a = r0 + 1, b = r1, len = b - a + 1;  // i + 1 runs over [a, b]
    if (x <= a) return (long long)x * len;
    if (x >= b) return (a + b) * len / 2;
    return (a + x) * (x - a + 1) / 2 + (long long)x * (b - x);
}

// One warp per (h, 64-row query block): the ranges of MInference's index builder, as
// RangePlan.fromVerticalSlash builds them. With E = r0 + 64 (the last, partial block too), each
// selected offset o < E is the 64-key band ending at s = max(E - o, 64). Walking the bands by
// ascending s (offsets descending), a range opened by the band ending at sf whose latest band
// ends at t runs to sf + 64 * ceil((t - sf) / 64) (it grows in whole bands); the next band, ending
// at u, opens a new range when u > that end + 64, else joins. A band within 64 keys of the one
// before it (u - t <= 64) always joins, so only the others are decided one by one: one ballot per
// 32 offsets finds them, and the warp walks them in order. Ranges are clipped to r1. Leftover
// columns: the selected c < r1 outside every range, found between consecutive ranges.
// FILL = false, COST = false: per-slot sizes; FILL: the ranges and leftover columns, into out; COST: no
// plan at all, only the causal entries it would compute, added per head into entries[h] (the
// pattern search fits budgets to a cost without materialising a plan per trial budget).
template <bool FILL, bool COST = false>
__device__ void vs_block_plan(const int* selCols, const int* kCols, int kColsMax, const int* selOffs,
                              const int* kOffs, int kOffsMax, int H, int n, int* rangeCount,
                              int* colCount, CsrPlanOut out, unsigned long long* entries = nullptr) {
    const int nqb = (n + 63) / 64;
    const int gw = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (gw >= H * nqb) return;
    const int h = gw / nqb, qb = gw % nqb;
    const int r0 = qb * 64, r1 = min(r0 + 64, n), E = r0 + 64;
    const int* offs = selOffs + (size_t)h * kOffsMax;
    const int* cols = selCols + (size_t)h * kColsMax;
    const int m = warp_lower_bound(offs, kOffs[h], E);    // offsets o < E
    const int mc = warp_lower_bound(cols, kCols[h], r1);  // columns c < r1
    int* rangeOut = FILL ? out.rangeData + 2 * (size_t)out.rangePtr[gw] : nullptr;
    int* colOut = FILL ? out.colData + out.colPtr[gw] : nullptr;
    // Warp-uniform state: ranges and leftover columns so far, the first column not yet placed,
    // the open range's first band end sf and the latest band end.
    int numRanges = 0, left = 0, nextCol = 0, sf = 0, latest = 0;
    ColumnWindow win{cols, mc, 0, 0};
    win.load(0);
    // FILL: ranges are stored 32 at a time, range r held by lane r % 32 until its batch is full
    int heldStart = 0, heldEnd = 0;
    auto flush = [&](int count) {  // the batch holding ranges [numRanges - count, numRanges)
        if (lane < count)
            reinterpret_cast<int2*>(rangeOut)[numRanges - count + lane] = make_int2(heldStart, heldEnd);
    };
    long long cost = 0;  // per lane, summed over the warp at the end
    auto leftovers = [&](int from, int to) {  // columns [from, to) of the list are leftovers
        for (int x = from + lane; x < to; x += 32) {
            if (FILL) colOut[left + x - from] = cols[x];
            if (COST) cost += r1 - max(r0, cols[x]);
        }
        left += to - from;
    };
    auto emit = [&](int start, int end) {  // range [start, end), end already clipped to r1
        const int below = win.first_at_least(start, nextCol);
        leftovers(nextCol, below);
        nextCol = win.first_at_least(end, below);
        if (FILL && lane == (numRanges & 31)) {
            heldStart = start;
            heldEnd = end;
        }
        if (COST && lane == 0) cost += rows_min_sum(end, r0, r1) - rows_min_sum(start, r0, r1);
        ++numRanges;
        if (FILL && (numRanges & 31) == 0) flush(32);
    };
    // The bands' offsets are read one round ahead: the walk's stores (FILL) keep the compiler from
    // hoisting the next round's load above them, and that load would otherwise wait a full round trip.
    int nextOff = lane < m ? offs[m - 1 - lane] : 0;
    for (int base = 0; base < m; base += 32) {
        const int k = base + lane;  // k-th band by ascending end: offset index m - 1 - k
        const bool valid = k < m;
        const int s = valid ? max(E - nextOff, 64) : 0;
        if (k + 32 < m) nextOff = offs[m - 1 - (k + 32)];
        int before = __shfl_up_sync(0xffffffffu, s, 1);
        if (lane == 0) before = latest;
        unsigned decide = __ballot_sync(0xffffffffu, valid && (k == 0 || s - before > 64));
        while (decide) {
            const int c = __ffs(decide) - 1;
            decide &= decide - 1;
            const int sc = __shfl_sync(0xffffffffu, s, c), tc = __shfl_sync(0xffffffffu, before, c);
            if (base + c == 0) {
                sf = sc;
            } else {
                const int end = sf + 64 * ((tc - sf + 63) / 64);
                if (sc > end + 64) {
                    emit(sf - 64, min(end, r1));
                    sf = sc;
                }
            }
        }
        latest = __shfl_sync(0xffffffffu, s, min(31, m - 1 - base));
    }
    if (m > 0) emit(sf - 64, min(sf + 64 * ((latest - sf + 63) / 64), r1));
    if (FILL) flush(numRanges & 31);
    leftovers(nextCol, mc);
    if (COST) {
        for (int x = 16; x > 0; x >>= 1) cost += __shfl_xor_sync(0xffffffffu, cost, x);
        if (lane == 0 && cost) atomicAdd(entries + h, (unsigned long long)cost);
        return;
    }
    if (!FILL && lane == 0) {
        rangeCount[gw] = numRanges;
        colCount[gw] = left;
    }
}

// One CTA of 1024 threads: ptr[0..len) = exclusive prefix sum of counts, ptr[len] = total. Each
// thread takes TOPK_UNROLL consecutive counts, so one block scan covers 8K slots.
__device__ void exclusive_scan(const int* counts, int len, int* ptr) {
    constexpr int U = TOPK_UNROLL;
    __shared__ int warpTotals[32];
    int carry = 0;
    for (int base = 0; base < len; base += 1024 * U) {
        const int first = base + threadIdx.x * U;
        int v[U], sum = 0;
#pragma unroll
        for (int j = 0; j < U; ++j) {
            v[j] = first + j < len ? counts[first + j] : 0;
            sum += v[j];
        }
        int total;
        int run = carry + block_exclusive_scan<1024>(sum, warpTotals, &total);
#pragma unroll
        for (int j = 0; j < U; ++j) {
            if (first + j < len) ptr[first + j] = run;
            run += v[j];
        }
        carry += total;
    }
    if (threadIdx.x == 0) ptr[len] = carry;
}

// One thread per (h, query block): computed entries (causal) of the plan, summed into *total.
__device__ void plan_entries(CsrPlan p, int H, int n, unsigned long long* total, int perHead) {
    const int nqb = (n + 63) / 64;
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned long long cnt = 0;
    if (idx < H * nqb) {
        const int qb = idx % nqb, r0 = qb * 64, r1 = min(r0 + 64, n);
        for (int r = p.rangePtr[idx]; r < p.rangePtr[idx + 1]; ++r) {
            int s = p.rangeData[2 * r], e = p.rangeData[2 * r + 1];
            cnt += (unsigned long long)(rows_min_sum(e, r0, r1) - rows_min_sum(s, r0, r1));  // sum_i max(0, min(e, i+1) - s)
        }
        for (int c = p.colPtr[idx]; c < p.colPtr[idx + 1]; ++c) {
            int col = p.colData[c];
            cnt += (unsigned long long)max(0, r1 - max(r0, col));
        }
    }
    if (perHead) {  // total[h]: slots of one warp may span two heads
        if (cnt) atomicAdd(total + idx / nqb, cnt);
        return;
    }
    for (int x = 16; x > 0; x >>= 1) cnt += __shfl_xor_sync(0xffffffffu, cnt, x);
    if ((threadIdx.x & 31) == 0 && cnt) atomicAdd(total, cnt);
}

}  // namespace pk
