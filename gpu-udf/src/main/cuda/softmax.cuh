// Online softmax of one warp's 16 query rows, shared by the mma.sync (attention.cuh) and the
// wgmma (attention_wgmma.cuh) attention bodies.
//
// Both bodies hold a 64-key tile of logits S and the output accumulator O in the same fragment
// layout, the C layout of mma.sync m16n8k16 (wgmma's m64nN accumulator gives each warp of the
// warpgroup exactly this layout for its 16 rows): thread (g = lane / 4, cq = lane % 4) holds, for
// every 8-column tile j, s[4j + 0], s[4j + 1] = row g, columns 8j + 2cq and 8j + 2cq + 1, and
// s[4j + 2], s[4j + 3] = row g + 8, same columns. A row is spread over the 4 threads of a quad.
//
// Per tile, in log2 units (scaleLog2 = log2(e) / sqrt(d), so exp(x / sqrt(d)) = 2^(x scaleLog2)):
//   m' = max(m, max_j s_j * scaleLog2)      (quad-wide max: two xor shuffles)
//   alpha = 2^(m - m'), p_j = 2^(s_j scaleLog2 - m'), l' = l alpha + sum_j p_j, O' = O alpha + P V
// A row that has seen only masked keys (-inf) keeps m = -inf; it then uses 0 as the subtrahend so
// that p = 2^-inf = 0 and alpha = 2^-inf = 0 instead of NaN. l is kept per thread (its own columns)
// and summed over the quad once, after the last tile (OnlineSoftmax::finish): the sum is linear
// and every thread of a quad applies the same alpha. The attention epilogue
// (attention_epilogue.cuh) divides O by l and writes log2 of the denominator, m + log2(l).
//
// P leaves as bf16 A fragments of m16n8k16 (keys 16kk .. 16kk + 15 in p[kk]): the C layout of two
// adjacent 8-column tiles is the A layout of one 16-wide k-step, so no data moves between threads.
#pragma once
#include "common.cuh"

namespace pk {

// 2^x on the SFU; flushing denormal results to 0 skips the range fix-up exp2f would add.
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// The running max m and sum l of this thread's two rows (g and g + 8).
struct OnlineSoftmax {
    float m[2], l[2];

    __device__ __forceinline__ void init() {
        m[0] = m[1] = -INFINITY;
        l[0] = l[1] = 0.f;
    }

    // One 64-key tile: s = 32 logits in the layout above (masked entries -inf). Writes P as four
    // bf16 A fragments and the factors alpha by which O must be rescaled before P V is added.
    __device__ __forceinline__ void step(float* s, float scaleLog2, uint32_t (*p)[4], float alpha[2]) {
        exponentiate<8>(s, scaleLog2, alpha);
        pack<8>(s, p);
    }

    // step's first half: s becomes P in fp32, in place. The warp-specialised kernel
    // (attention_ws.cuh) runs it while the previous tile's P V is in flight and packs afterwards, so
    // that no register an in-flight wgmma reads is written.
    // NT: the tile's 8-column groups (8: 64 keys, 16: the 128-key tiles of attention_ws.cuh).
    template <int NT>
    __device__ __forceinline__ void exponentiate(float* s, float scaleLog2, float alpha[2]) {
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            mx[0] = fmaxf(mx[0], fmaxf(s[4 * j], s[4 * j + 1]));
            mx[1] = fmaxf(mx[1], fmaxf(s[4 * j + 2], s[4 * j + 3]));
        }
        float msc[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            const float mnew = fmaxf(m[r], mx[r] * scaleLog2);
            msc[r] = mnew == -INFINITY ? 0.f : mnew;  // fully masked so far: p = 0, no NaN
            alpha[r] = fast_exp2(m[r] - msc[r]);
            m[r] = mnew;
        }
        float rs[2] = {0.f, 0.f};
#pragma unroll
        for (int j = 0; j < NT; ++j) {
#pragma unroll
            for (int e = 0; e < 4; ++e) s[4 * j + e] = fast_exp2(fmaf(s[4 * j + e], scaleLog2, -msc[e >> 1]));
            rs[0] += s[4 * j + 0] + s[4 * j + 1];
            rs[1] += s[4 * j + 2] + s[4 * j + 3];
        }
        l[0] = l[0] * alpha[0] + rs[0];
        l[1] = l[1] * alpha[1] + rs[1];
    }

    // step's second half: P (fp32, this layout) as NT / 2 bf16 A fragments.
    template <int NT>
    __device__ __forceinline__ static void pack(const float* s, uint32_t (*p)[4]) {
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            p[j >> 1][(j & 1) * 2 + 0] = pack_bf16(s[4 * j + 0], s[4 * j + 1]);
            p[j >> 1][(j & 1) * 2 + 1] = pack_bf16(s[4 * j + 2], s[4 * j + 3]);
        }
    }

    // O *= alpha for an accumulator of NACC floats in the same layout (D / 8 column tiles of 4).
    template <int NACC>
    __device__ __forceinline__ static void rescale(float* o, const float alpha[2]) {
#pragma unroll
        for (int i = 0; i < NACC / 4; ++i) {
            o[4 * i + 0] *= alpha[0]; o[4 * i + 1] *= alpha[0];
            o[4 * i + 2] *= alpha[1]; o[4 * i + 3] *= alpha[1];
        }
    }

    // After the last tile: l = the whole row's sum (over the 4 threads of the quad).
    __device__ __forceinline__ void finish() {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
            l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
        }
    }
};

}  // namespace pk
