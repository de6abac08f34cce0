// Standalone check of the wgmma operand descriptors attention_wgmma.cuh uses (run on an H100):
//  (1) S[64x64] = Q[64x128] K[64x128]^T, 8 x wgmma.m64n64k16, both operands K-major from the
//      wgmma tile layout (swz_wg<128>), SBO = 1024;
//  (2) O[64x128] = P[64x64] V[64x128], A = P from registers (mma.sync A fragments), B = V
//      MN-major with imm-trans-b = 1, for candidate (LBO, SBO) assignments:
//      mode 0: one m64n128k16 per 16 keys, LBO = 8192 (next panel), SBO = 1024 (next 8 keys)
//      mode 1: the same with LBO and SBO swapped
//      mode 2: one m64n64k16 per 64-column panel, LBO = SBO = 1024 (LBO never used)
// Build: nvcc -std=c++17 -O2 -gencode arch=compute_90a,code=sm_90a -I../../main/cuda wgmma_attn_desc_test.cu
// Prints the largest |error| / max|ref| of each case against a double-precision CPU product.
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>
#include "attention_wgmma.cuh"

using namespace pk;

__global__ void __launch_bounds__(128) desc_test(const bf16* Qg, const bf16* Kg, const bf16* Pg, const bf16* Vg,
                                                 float* S, float* Ov, int mode) {
#ifdef PK_WGMMA
    extern __shared__ __align__(1024) unsigned char sm[];
    const uint32_t raw = smem_u32(sm), base = (raw + 1023u) & ~1023u;
    constexpr int TB = 64 * 128 * 2;
    const uint32_t sQ = base, sK = base + TB, sV = base + 2 * TB;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, cq = lane & 3;
    for (int c = tid; c < 64 * 16; c += 128) {
        int r = c / 16, ch = c % 16;
        cp_async16(sQ + swz_wg<128>(r, ch), Qg + r * 128 + ch * 8, true);
        cp_async16(sK + swz_wg<128>(r, ch), Kg + r * 128 + ch * 8, true);
        cp_async16(sV + swz_wg<128>(r, ch), Vg + r * 128 + ch * 8, true);
    }
    cp_async_commit();
    cp_async_wait_all();
    fence_proxy_async_smem();
    __syncthreads();
    float s[32];
    for (int i = 0; i < 32; ++i) s[i] = 0.f;
    const uint64_t dQ = wg_desc(sQ, 16, 1024), dK = wg_desc(sK, 16, 1024);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < 8; ++kk) {
        const uint32_t off = ((kk >> 2) * 64 * 128 + (kk & 3) * 32) >> 4;
        wgmma_m64n64k16_ss<1>(s, dQ + off, dK + off);
    }
    wgmma_commit();
    wgmma_wait<0>();
    const int row = warp * 16 + g;
    for (int j = 0; j < 8; ++j)
        for (int e = 0; e < 2; ++e) {
            S[row * 64 + j * 8 + 2 * cq + e] = s[4 * j + e];
            S[(row + 8) * 64 + j * 8 + 2 * cq + e] = s[4 * j + 2 + e];
        }
    // P fragments: a0 = (g, 16kk+2cq..), a1 = (g+8, ..), a2 = (g, 16kk+8+2cq..), a3 = (g+8, ..)
    uint32_t pf[4][4];
    auto pr = [&](int r, int c) {
        return (uint32_t)__bfloat16_as_ushort(Pg[r * 64 + c]) | ((uint32_t)__bfloat16_as_ushort(Pg[r * 64 + c + 1]) << 16);
    };
    for (int kk = 0; kk < 4; ++kk) {
        pf[kk][0] = pr(row, 16 * kk + 2 * cq);
        pf[kk][1] = pr(row + 8, 16 * kk + 2 * cq);
        pf[kk][2] = pr(row, 16 * kk + 8 + 2 * cq);
        pf[kk][3] = pr(row + 8, 16 * kk + 8 + 2 * cq);
    }
    float o[64];
    for (int i = 0; i < 64; ++i) o[i] = 0.f;
    wgmma_fence();
    if (mode == 0 || mode == 1) {
        const uint64_t dV = mode == 0 ? wg_desc(sV, 8192, 1024) : wg_desc(sV, 1024, 8192);
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) wgmma_m64n128k16_rs_tb(o, pf[kk], dV + (kk * 2048 >> 4));
    } else {
        const uint64_t dV = wg_desc(sV, 1024, 1024);
#pragma unroll
        for (int kk = 0; kk < 4; ++kk)
#pragma unroll
            for (int p = 0; p < 2; ++p) wgmma_m64n64k16_rs_tb(o + 32 * p, pf[kk], dV + ((p * 8192 + kk * 2048) >> 4));
    }
    wgmma_commit();
    wgmma_wait<0>();
    for (int j = 0; j < 16; ++j)
        for (int e = 0; e < 2; ++e) {
            Ov[row * 128 + j * 8 + 2 * cq + e] = o[4 * j + e];
            Ov[(row + 8) * 128 + j * 8 + 2 * cq + e] = o[4 * j + 2 + e];
        }
#endif
}

static float bf(unsigned short u) { unsigned x = (unsigned)u << 16; float f; memcpy(&f, &x, 4); return f; }
static unsigned short tobf(float f) { unsigned x; memcpy(&x, &f, 4); return (unsigned short)((x + 0x7FFF + ((x >> 16) & 1)) >> 16); }
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__); exit(1); } } while (0)

int main() {
    srand(7);
    auto rnd = [] { return (float)rand() / RAND_MAX * 2.f - 1.f; };
    std::vector<unsigned short> q(64 * 128), k(64 * 128), p(64 * 64), v(64 * 128);
    for (auto& x : q) x = tobf(rnd());
    for (auto& x : k) x = tobf(rnd());
    for (auto& x : p) x = tobf(rnd() * 0.5f + 0.5f);
    for (auto& x : v) x = tobf(rnd());
    std::vector<double> sref(64 * 64), oref(64 * 128);
    double smax = 0, omax = 0;
    for (int i = 0; i < 64; ++i)
        for (int j = 0; j < 64; ++j) {
            double a = 0;
            for (int d = 0; d < 128; ++d) a += (double)bf(q[i * 128 + d]) * bf(k[j * 128 + d]);
            sref[i * 64 + j] = a; smax = fmax(smax, fabs(a));
        }
    for (int i = 0; i < 64; ++i)
        for (int d = 0; d < 128; ++d) {
            double a = 0;
            for (int j = 0; j < 64; ++j) a += (double)bf(p[i * 64 + j]) * bf(v[j * 128 + d]);
            oref[i * 128 + d] = a; omax = fmax(omax, fabs(a));
        }
    bf16 *dq, *dk, *dp, *dv; float *ds, *dO;
    CK(cudaMalloc(&dq, 2 * q.size())); CK(cudaMalloc(&dk, 2 * k.size())); CK(cudaMalloc(&dp, 2 * p.size()));
    CK(cudaMalloc(&dv, 2 * v.size())); CK(cudaMalloc(&ds, 4 * 64 * 64)); CK(cudaMalloc(&dO, 4 * 64 * 128));
    CK(cudaMemcpy(dq, q.data(), 2 * q.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dk, k.data(), 2 * k.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dp, p.data(), 2 * p.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dv, v.data(), 2 * v.size(), cudaMemcpyHostToDevice));
    const int smem = 3 * 64 * 128 * 2 + 1024;
    CK(cudaFuncSetAttribute(desc_test, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    int ok = 1;
    for (int mode = 0; mode < 3; ++mode) {
        CK(cudaMemset(ds, 0xFF, 4 * 64 * 64)); CK(cudaMemset(dO, 0xFF, 4 * 64 * 128));  // NaN poison
        desc_test<<<1, 128, smem>>>(dq, dk, dp, dv, ds, dO, mode);
        CK(cudaGetLastError());
        CK(cudaDeviceSynchronize());
        std::vector<float> s(64 * 64), o(64 * 128);
        CK(cudaMemcpy(s.data(), ds, 4 * s.size(), cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(o.data(), dO, 4 * o.size(), cudaMemcpyDeviceToHost));
        double es = 0, eo = 0;
        for (size_t i = 0; i < s.size(); ++i) es = std::isfinite(s[i]) ? fmax(es, fabs(s[i] - sref[i])) : INFINITY;
        for (size_t i = 0; i < o.size(); ++i) eo = std::isfinite(o[i]) ? fmax(eo, fabs(o[i] - oref[i])) : INFINITY;
        const char* name[] = {"m64n128k16 LBO=8192 SBO=1024", "m64n128k16 LBO=1024 SBO=8192", "2 x m64n64k16 per panel, LBO=SBO=1024"};
        printf("[wg-desc] QK^T (K-major SS) err %.3g of max %.3g: %s | PV mode %d (%s) err %.3g of max %.3g: %s\n",
               es / smax, smax, es / smax < 1e-5 ? "OK" : "WRONG", mode, name[mode], eo / omax, omax,
               eo / omax < 1e-5 ? "OK" : "WRONG");
        if (mode == 0 && !(eo / omax < 1e-5 && es / smax < 1e-5)) ok = 0;
    }
    printf("[wg-desc] kernel's choice (mode 0): %s\n", ok ? "OK" : "WRONG");
    return ok ? 0 : 1;
}
