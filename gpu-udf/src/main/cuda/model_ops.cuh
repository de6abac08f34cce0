// Element-wise and row-wise kernels of the transformer layer: embedding gather, RMSNorm, bias +
// RoPE + split into head-major Q/K/V, head-major -> token-major, SwiGLU, the lm_head GEMV,
// log-softmax + top-k, dtype conversion and fill. All memory-bound; each thread moves 8
// contiguous elements (16-byte loads/stores of bf16, two 16-byte accesses of fp32).
//
// Alignment: every entry point checks that its pointers are 16-byte aligned and otherwise runs the
// same code with scalar accesses (template argument V = false), so a buffer slice at any offset is
// still correct, only slower. Widths (hidden, dim, inter, cols, d) must be multiples of 8; the
// Java wrapper io.prefill.cuda.ModelKernels checks that, and the sizes of every buffer.
//
// Indexing: element offsets are 64-bit wherever a buffer can pass 2^31 elements (Q of 1M tokens x
// 4096 is 4.3e9 elements); work loops are grid-stride, so any grid size is correct.
#pragma once
#include <cuda_fp16.h>
#include <stdint.h>
#include "common.cuh"

namespace mo {

__device__ __forceinline__ bool al16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

__device__ __forceinline__ long long global_thread() {
    return static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ long long global_stride() { return static_cast<long long>(gridDim.x) * blockDim.x; }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// ---- 8 contiguous elements: one 16-byte access (bf16/f16) or two (fp32) when V, else scalar ----

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(bf16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }

template <bool V>
__device__ __forceinline__ void load8(const bf16* p, float* f) {
    if constexpr (V) {
        uint4 u = *reinterpret_cast<const uint4*>(p);
        const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int j = 0; j < 4; ++j) {  // low half = lower address = even element
            f[2 * j] = __uint_as_float(w[j] << 16);
            f[2 * j + 1] = __uint_as_float(w[j] & 0xFFFF0000u);
        }
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) f[j] = __bfloat162float(p[j]);
    }
}

template <bool V>
__device__ __forceinline__ void load8(const __half* p, float* f) {
    if constexpr (V) {
        uint4 u = *reinterpret_cast<const uint4*>(p);
        const __half2* h = reinterpret_cast<const __half2*>(&u);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            float2 t = __half22float2(h[j]);
            f[2 * j] = t.x;
            f[2 * j + 1] = t.y;
        }
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) f[j] = __half2float(p[j]);
    }
}

template <bool V>
__device__ __forceinline__ void load8(const float* p, float* f) {
    if constexpr (V) {
        float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
        f[0] = a.x; f[1] = a.y; f[2] = a.z; f[3] = a.w;
        f[4] = b.x; f[5] = b.y; f[6] = b.z; f[7] = b.w;
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) f[j] = p[j];
    }
}

template <bool V>
__device__ __forceinline__ void store8(bf16* p, const float* f) {
    if constexpr (V) {
        uint4 u;
        u.x = pk::pack_bf16(f[0], f[1]);
        u.y = pk::pack_bf16(f[2], f[3]);
        u.z = pk::pack_bf16(f[4], f[5]);
        u.w = pk::pack_bf16(f[6], f[7]);
        *reinterpret_cast<uint4*>(p) = u;
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) p[j] = __float2bfloat16_rn(f[j]);
    }
}

template <bool V>
__device__ __forceinline__ void store8(float* p, const float* f) {
    if constexpr (V) {
        reinterpret_cast<float4*>(p)[0] = make_float4(f[0], f[1], f[2], f[3]);
        reinterpret_cast<float4*>(p)[1] = make_float4(f[4], f[5], f[6], f[7]);
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) p[j] = f[j];
    }
}

// Bit-exact copy of 8 elements of one type.
template <bool V, class T>
__device__ __forceinline__ void copy8(T* dst, const T* src) {
    static_assert(sizeof(T) == 2 || sizeof(T) == 4, "copy8: 2- or 4-byte elements");
    if constexpr (V) {
        const uint4* s = reinterpret_cast<const uint4*>(src);
        uint4* d = reinterpret_cast<uint4*>(dst);
#pragma unroll
        for (int j = 0; j < (int)sizeof(T) / 2; ++j) d[j] = s[j];
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j) dst[j] = src[j];
    }
}

// ---- 1. embedding gather: x[t, :] = float(table[ids[t], :]) ----

template <bool V>
__device__ void embed_rows(const bf16* table, const int* ids, int count, int hidden, float* x) {
    const int cpr = hidden >> 3;  // 8-element chunks per row
    const long long units = static_cast<long long>(count) * cpr;
    for (long long u = global_thread(); u < units; u += global_stride()) {
        const long long t = u / cpr;
        const int c = static_cast<int>(u - t * cpr);
        float f[8];
        load8<V>(table + static_cast<long long>(ids[t]) * hidden + c * 8, f);
        store8<V>(x + t * hidden + c * 8, f);
    }
}

// ---- 2. RMSNorm: y = x * (1 / sqrt(mean(x^2) + eps)) * w, per row ----
// dim <= RMS_WARP_DIM: one warp per row (tiny models); otherwise the whole block per row.
// Sum of squares in fp32 per thread (at most dim/256 * 8 terms), reduced in a fixed order, so a
// row always gives the same result; the scale is formed in double like io.prefill.cpu.RmsNorm.

constexpr int RMS_WARP_DIM = 1024;

__device__ __forceinline__ float inv_rms(float ss, int dim, float eps) {
    return static_cast<float>(1.0 / sqrt(static_cast<double>(ss) / dim + static_cast<double>(eps)));
}

template <bool V, class Out>
__device__ __forceinline__ void rms_write_row(const float* xr, const float* w, int cpr, int first, int step,
                                              float inv, Out* yr) {
    for (int c = first; c < cpr; c += step) {
        float f[8], g[8];
        load8<V>(xr + c * 8, f);
        load8<V>(w + c * 8, g);
#pragma unroll
        for (int j = 0; j < 8; ++j) f[j] = (f[j] * inv) * g[j];  // CPU order: x * inv * weight
        store8<V>(yr + c * 8, f);
    }
}

template <bool V>
__device__ __forceinline__ float sum_squares(const float* xr, int cpr, int first, int step) {
    float ss = 0.f;
    for (int c = first; c < cpr; c += step) {
        float f[8];
        load8<V>(xr + c * 8, f);
#pragma unroll
        for (int j = 0; j < 8; ++j) ss = fmaf(f[j], f[j], ss);
    }
    return ss;
}

template <bool V, class Out>
__device__ void rmsnorm(const float* x, const float* w, int rows, int dim, float eps, Out* y) {
    __shared__ float part[32];
    const int cpr = dim >> 3, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (dim <= RMS_WARP_DIM) {
        for (long long row = static_cast<long long>(blockIdx.x) * nw + warp; row < rows;
             row += static_cast<long long>(gridDim.x) * nw) {
            const float* xr = x + row * dim;
            const float ss = warp_sum(sum_squares<V>(xr, cpr, lane, 32));
            rms_write_row<V>(xr, w, cpr, lane, 32, inv_rms(ss, dim, eps), y + row * dim);
        }
    } else {
        for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
            const float* xr = x + row * dim;
            const float s = warp_sum(sum_squares<V>(xr, cpr, threadIdx.x, blockDim.x));
            if (lane == 0) part[warp] = s;
            __syncthreads();
            float ss = 0.f;
            for (int i = 0; i < nw; ++i) ss += part[i];
            __syncthreads();  // part[] is rewritten for the next row
            rms_write_row<V>(xr, w, cpr, threadIdx.x, blockDim.x, inv_rms(ss, dim, eps), y + row * dim);
        }
    }
}

// ---- 3. bias + RoPE + split into head-major Q, K, V ----
// Work unit: (row r, chunk c of 8 rotation pairs i = 8c..8c+7); blockIdx.y takes a contiguous
// group of the H + 2*Hkv head slots, so each thread computes its 8 cos/sin once for all heads of
// its group. Pairs: rotate_half (interleaved == 0) pairs element i with i + d/2 (HF rotate_half,
// the whole head rotates); interleaved pairs 2i with 2i + 1 (GLM), the unit's 16 elements being
// contiguous. Pairs i >= `pairs` are not rotated (a partial rotary part; only interleaved heads
// have one). Rotated pairs' cos and sin are multiplied by `scale` (longrope's attention factor).
// Angle p * invFreq[i] in double, reduced to [-pi, pi] in double, then fp32 sincospif.
// Padded heads: the qkv chunk holds heads of width d (a multiple of 16); the head-major outputs
// have rows of dPad >= d elements (dPad a multiple of 8), the first d written as above and
// [d, dPad) zero-filled (the row's units share the tail's 8-element chunks), so the attention
// kernels of width dPad see heads of width d. Q alone is then multiplied by qScale (after RoPE, in
// fp32, before the bf16 store): qScale = sqrt(dPad / d) turns those kernels' 1/sqrt(dPad) softmax
// scale into 1/sqrt(d). dPad == d with qScale == 1 is the unpadded layout, bit for bit.

constexpr double INV_PI = 0.3183098861837907;  // nearest double to 1/pi

// cos and sin of p * invFreq: the angle over pi in double (|t| < 1e6 at 1M tokens, error ~1e-10),
// minus the nearest even integer (exact), leaves t in [-1, 1]; then sincospif in fp32 (error
// ~1e-7, no large-argument reduction, unlike sincosf, whose slow path needs a stack frame).
__device__ __forceinline__ void rope_cos_sin(long long p, double invFreq, float* c, float* s) {
    const double t = static_cast<double>(p) * invFreq * INV_PI;
    const double r = t - 2.0 * rint(0.5 * t);
    sincospif(static_cast<float>(r), s, c);
}

__device__ __forceinline__ void rotate_pair(float* x1, float* x2, float c, float s) {
    const float a = *x1, b = *x2;
    *x1 = a * c - b * s;
    *x2 = b * c + a * s;
}

template <bool V>
__device__ void rope_split(const float* qkv, const float* bias, const double* invFreq, int rows, int row0, int n,
                           int H, int Hkv, int d, int dPad, int pairs, int interleaved, float scale,
                           float qScale, bf16* Q, bf16* K, bf16* Vo) {
    const int half = d >> 1, cph = half >> 3;  // chunks per half head
    const int tail = (dPad - d) >> 3;         // zero 8-element chunks per output row
    const int S = H + 2 * Hkv, rotated = H + Hkv;
    const long long width = static_cast<long long>(S) * d;
    const int per = (S + gridDim.y - 1) / gridDim.y;
    const int s0 = blockIdx.y * per, s1 = min(S, s0 + per);
    if (s0 >= s1) return;
    const long long units = static_cast<long long>(rows) * cph;
    for (long long u = global_thread(); u < units; u += global_stride()) {
        const long long r = u / cph;
        const int i0 = static_cast<int>(u - r * cph) * 8;
        const long long p = row0 + r;
        // where the unit's two runs of 8 elements start in a head
        const int offA = interleaved ? 2 * i0 : i0;
        const int offB = interleaved ? 2 * i0 + 8 : half + i0;
        float cs[8], sn[8];
        if (s0 < rotated) {
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                if (i0 + j < pairs) {
                    rope_cos_sin(p, invFreq[i0 + j], &cs[j], &sn[j]);
                    cs[j] *= scale;
                    sn[j] *= scale;
                } else {
                    cs[j] = 1.0f;
                    sn[j] = 0.0f;
                }
            }
        }
        const float* src = qkv + r * width;
        for (int s = s0; s < s1; ++s) {
            float a[8], b[8];
            load8<V>(src + s * d + offA, a);
            load8<V>(src + s * d + offB, b);
            if (bias != nullptr) {
                float ba[8], bb[8];
                load8<V>(bias + s * d + offA, ba);
                load8<V>(bias + s * d + offB, bb);
#pragma unroll
                for (int j = 0; j < 8; ++j) {
                    a[j] += ba[j];
                    b[j] += bb[j];
                }
            }
            bf16* dst;
            if (s < H) dst = Q + (static_cast<long long>(s) * n + p) * dPad;
            else if (s < rotated) dst = K + (static_cast<long long>(s - H) * n + p) * dPad;
            else dst = Vo + (static_cast<long long>(s - rotated) * n + p) * dPad;
            if (s < rotated) {
                if (interleaved) {
#pragma unroll
                    for (int j = 0; j < 4; ++j) {
                        rotate_pair(&a[2 * j], &a[2 * j + 1], cs[j], sn[j]);
                        rotate_pair(&b[2 * j], &b[2 * j + 1], cs[4 + j], sn[4 + j]);
                    }
                } else {
#pragma unroll
                    for (int j = 0; j < 8; ++j) rotate_pair(&a[j], &b[j], cs[j], sn[j]);
                }
            }
            if (s < H && qScale != 1.0f) {
#pragma unroll
                for (int j = 0; j < 8; ++j) {
                    a[j] *= qScale;
                    b[j] *= qScale;
                }
            }
            store8<V>(dst + offA, a);
            store8<V>(dst + offB, b);
            if (tail > 0) {  // chunks c, c + cph, ... of the row's zero tail
                const float z[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
                for (int t = i0 >> 3; t < tail; t += cph) store8<V>(dst + d + t * 8, z);
            }
        }
    }
}

// ---- 4. head-major O [H, n, dPad] rows row0.. -> token-major [rows, H*d] (first d of each head) ----

template <bool V>
__device__ void heads_to_rows(const bf16* O, int H, int n, int d, int dPad, int row0, int rows, bf16* out) {
    const int cph = d >> 3, cpr = H * cph;
    const long long units = static_cast<long long>(rows) * cpr;
    for (long long u = global_thread(); u < units; u += global_stride()) {
        const long long r = u / cpr;
        const int rem = static_cast<int>(u - r * cpr);
        const int h = rem / cph, c = rem - h * cph;
        copy8<V>(out + u * 8, O + (static_cast<long long>(h) * n + row0 + r) * dPad + c * 8);
    }
}

// ---- 5. SwiGLU: out[r, j] = silu(gu[r, j]) * gu[r, inter + j] ----

template <bool V>
__device__ void swiglu(const bf16* gu, int rows, int inter, bf16* out) {
    const int cpr = inter >> 3;
    const long long units = static_cast<long long>(rows) * cpr;
    for (long long u = global_thread(); u < units; u += global_stride()) {
        const long long r = u / cpr;
        const int c = static_cast<int>(u - r * cpr);
        const bf16* g = gu + r * 2 * inter + c * 8;
        float gf[8], uf[8];
        load8<V>(g, gf);
        load8<V>(g + inter, uf);
#pragma unroll
        for (int j = 0; j < 8; ++j) gf[j] = gf[j] / (1.f + expf(-gf[j])) * uf[j];
        store8<V>(out + u * 8, gf);
    }
}

// ---- 6. y[r] = sum_c W[r, c] * x[c]: one warp per row, fp32 accumulation ----

template <bool V>
__device__ void gemv_rows(const bf16* W, const float* x, int rows, int cols, float* y) {
    const int cpr = cols >> 3, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    for (long long r = static_cast<long long>(blockIdx.x) * nw + (threadIdx.x >> 5); r < rows;
         r += static_cast<long long>(gridDim.x) * nw) {
        const bf16* wr = W + r * cols;
        float acc = 0.f;
#pragma unroll 4
        for (int c = lane; c < cpr; c += 32) {
            float wf[8], xf[8];
            load8<V>(wr + c * 8, wf);
            load8<V>(x + c * 8, xf);
#pragma unroll
            for (int j = 0; j < 8; ++j) acc = fmaf(wf[j], xf[j], acc);
        }
        acc = warp_sum(acc);
        if (lane == 0) y[r] = acc;
    }
}

// ---- 7. log-softmax over the vocabulary and the k largest logits, one block ----
// Same answer as io.prefill.engine.TokenLogprobs: ids by descending logit, ties to the smaller id (-0 and
// +0 count as equal, as their log-probabilities are); log p = (z - max) - log(sum exp(z - max)),
// the sum accumulated in double. NaN logits are not supported.

constexpr int TOPK_THREADS = 1024;
constexpr int TOPK_MAX = 64;

__device__ __forceinline__ uint32_t logit_key(float z) { return pk::order_key(z == 0.f ? 0.f : z); }

__device__ void log_softmax_topk(const float* logits, int vocab, int k, int* ids, float* logProbs) {
    __shared__ float redF[TOPK_THREADS / 32];
    __shared__ double redD[TOPK_THREADS / 32];
    __shared__ int sel[TOPK_MAX];
    __shared__ float sMax;
    __shared__ double sLogSum;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, nw = TOPK_THREADS / 32;
    if (k > vocab) k = vocab;
    if (k > TOPK_MAX) k = TOPK_MAX;
    if (k <= 0) return;

    float mx = -INFINITY;
    for (int i = tid; i < vocab; i += TOPK_THREADS) mx = fmaxf(mx, logits[i]);
    mx = warp_max(mx);
    if (lane == 0) redF[warp] = mx;
    __syncthreads();
    mx = redF[0];
    for (int i = 1; i < nw; ++i) mx = fmaxf(mx, redF[i]);

    double sum = 0.0;
    for (int i = tid; i < vocab; i += TOPK_THREADS) sum += static_cast<double>(expf(logits[i] - mx));
    sum = warp_sum(sum);
    if (lane == 0) redD[warp] = sum;
    __syncthreads();
    if (tid == 0) {  // kept in shared memory, not in registers, across the top-k
        sum = 0.0;
        for (int i = 0; i < nw; ++i) sum += redD[i];
        sMax = mx;
        sLogSum = log(sum);
    }

    pk::block_topk<TOPK_THREADS>([&](int i) { return logit_key(logits[i]); }, vocab, k, sel);
    __syncthreads();
    if (tid < k) {  // rank among the k: by key descending, then index ascending
        const int i = sel[tid];
        const float z = logits[i];
        const uint32_t key = logit_key(z);
        int rank = 0;
        for (int j = 0; j < k; ++j) {
            const int o = sel[j];
            const uint32_t ko = logit_key(logits[o]);
            rank += (ko > key || (ko == key && o < i)) ? 1 : 0;
        }
        ids[rank] = i;
        logProbs[rank] = static_cast<float>((static_cast<double>(z) - static_cast<double>(sMax)) - sLogSum);
    }
}

// ---- 8, 9. conversion and fill ----

template <class A, class B> struct same_type { static constexpr bool value = false; };
template <class A> struct same_type<A, A> { static constexpr bool value = true; };

__device__ __forceinline__ void store1(bf16* p, float v) { *p = __float2bfloat16_rn(v); }
__device__ __forceinline__ void store1(float* p, float v) { *p = v; }

// dst[i] = Dst(src[i]) for i < count (round to nearest even); same type: bit copy.
template <bool V, class Src, class Dst>
__device__ void convert(const Src* src, long long count, Dst* dst) {
    constexpr bool copy = same_type<Src, Dst>::value;
    const long long units = count >> 3;
    for (long long u = global_thread(); u < units; u += global_stride()) {
        if constexpr (copy) {
            copy8<V>(dst + u * 8, src + u * 8);
        } else {
            float f[8];
            load8<V>(src + u * 8, f);
            store8<V>(dst + u * 8, f);
        }
    }
    for (long long i = (units << 3) + global_thread(); i < count; i += global_stride()) {  // last count % 8
        if constexpr (copy) dst[i] = src[i];
        else store1(dst + i, to_f32(src[i]));
    }
}

template <class Dst>
__device__ void convert_any(const void* src, int srcDtype, long long count, Dst* dst) {
    const bool v = al16(src) && al16(dst);
    switch (srcDtype) {  // codes of io.prefill.cuda.ModelKernels.SourceType
        case 0: {
            const float* s = static_cast<const float*>(src);
            if (v) convert<true>(s, count, dst); else convert<false>(s, count, dst);
            break;
        }
        case 1: {
            const __half* s = static_cast<const __half*>(src);
            if (v) convert<true>(s, count, dst); else convert<false>(s, count, dst);
            break;
        }
        case 2: {
            const bf16* s = static_cast<const bf16*>(src);
            if (v) convert<true>(s, count, dst); else convert<false>(s, count, dst);
            break;
        }
        default: break;  // rejected by the Java wrapper
    }
}

template <bool V>
__device__ void fill_f32(float* x, long long count, float value) {
    const long long units = count >> 3;
    float f[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) f[j] = value;
    for (long long u = global_thread(); u < units; u += global_stride()) store8<V>(x + u * 8, f);
    for (long long i = (units << 3) + global_thread(); i < count; i += global_stride()) x[i] = value;
}

}  // namespace mo

// ---- entry points (io.prefill.cuda.ModelKernels launches them; block size 256 unless noted) ----

extern "C" __global__ void __launch_bounds__(256)
    embed_rows_k(const bf16* table, const int* ids, int count, int hidden, float* x) {
    if (mo::al16(table) && mo::al16(x)) mo::embed_rows<true>(table, ids, count, hidden, x);
    else mo::embed_rows<false>(table, ids, count, hidden, x);
}

extern "C" __global__ void __launch_bounds__(256)
    rmsnorm_bf16_k(const float* x, const float* w, int rows, int dim, float eps, bf16* y) {
    if (mo::al16(x) && mo::al16(w) && mo::al16(y)) mo::rmsnorm<true>(x, w, rows, dim, eps, y);
    else mo::rmsnorm<false>(x, w, rows, dim, eps, y);
}

extern "C" __global__ void __launch_bounds__(256)
    rmsnorm_f32_k(const float* x, const float* w, int rows, int dim, float eps, float* y) {
    if (mo::al16(x) && mo::al16(w) && mo::al16(y)) mo::rmsnorm<true>(x, w, rows, dim, eps, y);
    else mo::rmsnorm<false>(x, w, rows, dim, eps, y);
}

extern "C" __global__ void __launch_bounds__(256)
    rope_split_k(const float* qkv, const float* biasOrNull, const double* invFreq, int rows, int row0, int n,
                 int H, int Hkv, int d, int dPad, int pairs, int interleaved, float scale, float qScale, bf16* Q,
                 bf16* K, bf16* V) {
    if (mo::al16(qkv) && mo::al16(biasOrNull) && mo::al16(Q) && mo::al16(K) && mo::al16(V))
        mo::rope_split<true>(qkv, biasOrNull, invFreq, rows, row0, n, H, Hkv, d, dPad, pairs, interleaved, scale,
                             qScale, Q, K, V);
    else
        mo::rope_split<false>(qkv, biasOrNull, invFreq, rows, row0, n, H, Hkv, d, dPad, pairs, interleaved, scale,
                              qScale, Q, K, V);
}

extern "C" __global__ void __launch_bounds__(256)
    heads_to_rows_k(const bf16* O, int H, int n, int d, int dPad, int row0, int rows, bf16* out) {
    if (mo::al16(O) && mo::al16(out)) mo::heads_to_rows<true>(O, H, n, d, dPad, row0, rows, out);
    else mo::heads_to_rows<false>(O, H, n, d, dPad, row0, rows, out);
}

extern "C" __global__ void __launch_bounds__(256) swiglu_k(const bf16* gu, int rows, int inter, bf16* out) {
    if (mo::al16(gu) && mo::al16(out)) mo::swiglu<true>(gu, rows, inter, out);
    else mo::swiglu<false>(gu, rows, inter, out);
}

extern "C" __global__ void __launch_bounds__(256)
    gemv_rows_k(const bf16* W, const float* x, int rows, int cols, float* y) {
    if (mo::al16(W) && mo::al16(x)) mo::gemv_rows<true>(W, x, rows, cols, y);
    else mo::gemv_rows<false>(W, x, rows, cols, y);
}

// One block of mo::TOPK_THREADS (1024) threads.
extern "C" __global__ void __launch_bounds__(mo::TOPK_THREADS)
    log_softmax_topk_k(const float* logits, int vocab, int k, int* ids, float* logProbs) {
    mo::log_softmax_topk(logits, vocab, k, ids, logProbs);
}

extern "C" __global__ void __launch_bounds__(256)
    convert_to_bf16_k(const void* src, int srcDtype, long long count, bf16* dst) {
    mo::convert_any(src, srcDtype, count, dst);
}

extern "C" __global__ void __launch_bounds__(256)
    convert_to_f32_k(const void* src, int srcDtype, long long count, float* dst) {
    mo::convert_any(src, srcDtype, count, dst);
}

extern "C" __global__ void __launch_bounds__(256) fill_f32_k(float* x, long long count, float value) {
    if (mo::al16(x)) mo::fill_f32<true>(x, count, value);
    else mo::fill_f32<false>(x, count, value);
}
