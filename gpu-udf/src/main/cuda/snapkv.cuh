// SnapKV-style selection of the positions a KV summary keeps, per layer and KV head, on the
// device; the CPU reference is io.prefill.kv.SnapKvSelector. The last w prompt queries (rows
// n-w .. n-1) of every query head in the group vote with their causal softmax probabilities on
// the prefix keys [0, prefixEnd = n - w); votes are pooled by a centred 1-D max/average filter and
// the top-k prefix positions after the sinks win (ties to the earlier position).
// Q [H, n, D] and K [Hkv, n, D] bf16 head-major, as the attention reads them.
#pragma once
#include "common.cuh"

namespace pk {

constexpr int SNAP_THREADS = 256;  // keys per block in the score passes

template <int D>
__device__ __forceinline__ float snap_dot(const float* q, const bf16* k) {
    float acc = 0.f;
    const __nv_bfloat162* k2 = reinterpret_cast<const __nv_bfloat162*>(k);
#pragma unroll 8
    for (int c = 0; c < D / 2; ++c) {
        float2 kv = __bfloat1622float2(k2[c]);
        acc = fmaf(q[2 * c], kv.x, acc);
        acc = fmaf(q[2 * c + 1], kv.y, acc);
    }
    return acc;
}

__device__ __forceinline__ float block_reduce(float v, bool isMax, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float y = __shfl_xor_sync(0xffffffffu, v, o);
        v = isMax ? fmaxf(v, y) : v + y;
    }
    __syncthreads();  // scratch may still be read from the previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = scratch[0];
    for (int x = 1; x < SNAP_THREADS / 32; ++x) v = isMax ? fmaxf(v, scratch[x]) : v + scratch[x];
    return v;
}

// Per (head, key chunk, window row): the chunk's max score and sum of exp(score - max), over the
// causal keys j <= n - w + r. partial[(h * chunks + chunk) * w + r].
template <int D>
__device__ void snap_row_stats(const bf16* Q, const bf16* K, int H, int Hkv, int n, int w, float scale,
                               float2* partial) {
    __shared__ float q[D];
    __shared__ float scratch[SNAP_THREADS / 32];
    const int h = blockIdx.y, g = h / (H / Hkv), chunk = blockIdx.x, chunks = gridDim.x;
    const int j = chunk * SNAP_THREADS + threadIdx.x;
    const bf16* krow = K + ((size_t)g * n + min(j, n - 1)) * D;
    for (int r = 0; r < w; ++r) {
        const int i = n - w + r;
        __syncthreads();
        for (int c = threadIdx.x; c < D; c += SNAP_THREADS) q[c] = __bfloat162float(Q[((size_t)h * n + i) * D + c]);
        __syncthreads();
        float s = j <= i ? snap_dot<D>(q, krow) * scale : -INFINITY;
        float m = block_reduce(s, true, scratch);
        float e = (j <= i && m != -INFINITY) ? __expf(s - m) : 0.f;
        float l = block_reduce(e, false, scratch);
        if (threadIdx.x == 0) partial[((size_t)h * chunks + chunk) * w + r] = make_float2(m, l);
    }
}

// rowStat[h * w + r] = (max, sum) over all chunks.
__device__ void snap_row_combine(const float2* partial, int chunks, int H, int w, float2* rowStat) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= H * w) return;
    const int h = t / w, r = t % w;
    float m = -INFINITY, l = 0.f;
    for (int c = 0; c < chunks; ++c) {
        float2 p = partial[((size_t)h * chunks + c) * w + r];
        if (p.x == -INFINITY) continue;
        float nm = fmaxf(m, p.x);
        l = l * __expf(m - nm) + p.y * __expf(p.x - nm);
        m = nm;
    }
    rowStat[t] = make_float2(m, l);
}

// votes[g * prefixEnd + j] = sum over the group's heads and window rows of softmax probability.
template <int D>
__device__ void snap_votes(const bf16* Q, const bf16* K, int H, int Hkv, int n, int w, int prefixEnd, float scale,
                           const float2* rowStat, float* votes) {
    __shared__ float q[D];
    const int g = blockIdx.y, group = H / Hkv;
    const int j = blockIdx.x * SNAP_THREADS + threadIdx.x;
    const bf16* krow = K + ((size_t)g * n + min(j, n - 1)) * D;
    float vote = 0.f;
    for (int hh = 0; hh < group; ++hh) {
        const int h = g * group + hh;
        for (int r = 0; r < w; ++r) {
            __syncthreads();
            for (int c = threadIdx.x; c < D; c += SNAP_THREADS)
                q[c] = __bfloat162float(Q[((size_t)h * n + (n - w + r)) * D + c]);
            __syncthreads();
            if (j < prefixEnd) {
                float2 st = rowStat[h * w + r];
                vote += __expf(snap_dot<D>(q, krow) * scale - st.x) / st.y;
            }
        }
    }
    if (j < prefixEnd) votes[(size_t)g * prefixEnd + j] = vote;
}

// Per KV head: the top-k pooled votes among positions [sinks, prefixEnd), ascending, into
// winners[g * k ..]; min(k, prefixEnd - sinks) of them.
__device__ void snap_select(const float* votes, int prefixEnd, int sinks, int k, int kernel, int poolMax,
                            int* winners) {
    const int g = blockIdx.x, half = kernel / 2;
    const float* v = votes + (size_t)g * prefixEnd;
    auto pooled = [&](int i) -> uint32_t {
        const int p = sinks + i, lo = max(0, p - half), hi = min(prefixEnd - 1, p + half);
        float acc = poolMax ? -INFINITY : 0.f;
        for (int x = lo; x <= hi; ++x) acc = poolMax ? fmaxf(acc, v[x]) : acc + v[x];
        if (!poolMax) acc /= (float)(hi - lo + 1);
        return order_key(acc);
    };
    int* out = winners + (size_t)g * k;
    block_topk<1024>(pooled, prefixEnd - sinks, k, out);
    __syncthreads();
    const int m = min(k, prefixEnd - sinks);
    for (int x = threadIdx.x; x < m; x += 1024) out[x] += sinks;
}

// dst[g, x, :] = src[g, positions[g * maxKept + x], :] for x < kept (same count for every head).
__device__ void gather_rows(const bf16* src, const int* positions, int n, int d, int maxKept, int kept, int Hkv,
                            bf16* dst) {
    const size_t total = (size_t)Hkv * kept * (d / 8);
    for (size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (size_t)gridDim.x * blockDim.x) {
        const size_t row = t / (d / 8);
        const int c = (int)(t % (d / 8));
        const int g = (int)(row / kept), x = (int)(row % kept);
        const int p = positions[(size_t)g * maxKept + x];
        reinterpret_cast<uint4*>(dst + ((size_t)g * kept + x) * d)[c] =
            reinterpret_cast<const uint4*>(src + ((size_t)g * n + p) * d)[c];
    }
}

}  // namespace pk
