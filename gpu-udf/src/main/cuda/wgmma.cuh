// Hopper's warpgroup matrix multiply-accumulate (wgmma, sm_90a): the PTX wrappers every wgmma
// kernel uses (gemm.cuh's projections, attention_wgmma.cuh's plan attention), in one place.
//
//  - wg_desc: the shared-memory matrix descriptor of an operand stored with the hardware's
//    128-byte swizzle (16-byte chunk c of a 128-byte row r at r*128 + ((c ^ (r & 7)) << 4),
//    8-row groups 1024 bytes apart, the tile 1024-byte aligned). Fields: start address >> 4
//    (bits 0-13), leading byte offset >> 4 (16-29), stride byte offset >> 4 (32-45), base offset
//    0 (49-51), layout 1 = 128-byte swizzle (62-63). Plain integer code: the host emulation of
//    gemm.cuh (src/test/cuda/gemm_emulator.cpp) uses it too.
//  - fence / commit / wait, and the proxy fence that orders cp.async (generic proxy) writes before
//    wgmma (async proxy) reads.
//  - The instructions, named by shape and operand sources: _ss both from shared memory, _rs A from
//    registers (the mma.sync m16n8k16 A fragment of each warp's 16 rows), _tb B MN-major
//    (imm-trans-b = 1). A k16 step of bf16 and a k32 step of E4M3 both read 32 bytes of each row.
//
// The instructions exist only where __CUDA_ARCH_FEAT_SM90_ALL is defined (the
// -gencode arch=compute_90a,code=sm_90a pass); PK_WGMMA says so, and kernels fall back to their
// mma.sync bodies (or refuse) elsewhere.
#pragma once
#ifndef GEMM_HOST_EMULATION
#include "common.cuh"
#endif

namespace pk {

// Shared-memory descriptor, 128-byte swizzle, with the given leading / stride byte offsets.
__device__ __forceinline__ uint64_t wg_desc(uint32_t addr, uint32_t lbo, uint32_t sbo) {
    return (uint64_t)((addr & 0x3FFFFu) >> 4) | ((uint64_t)(lbo >> 4) << 16) | ((uint64_t)(sbo >> 4) << 32) |
           ((uint64_t)1 << 62);
}

#if defined(__CUDA_ARCH_FEAT_SM90_ALL) && !defined(GEMM_HOST_EMULATION)
#define PK_WGMMA 1
// The accumulator operands of an m64nN instruction: N/2 fp32 registers per thread, d[0 .. N/2), as
// the instruction's register list and as the asm's read-write operands, so that each wrapper below
// is its instruction string around them.
#define PK_WG_D32_REGS "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}"
#define PK_WG_D64_REGS "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}"
#define PK_WG_D128_REGS "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}"
// accumulator registers 0-31, 32-63 and 64-127 as read-write asm operands
#define PK_WG_D_0_31 \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
    "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
    "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
    "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
#define PK_WG_D_32_63 \
    "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
    "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
    "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
    "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define PK_WG_D_64_127 \
    "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
    "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
    "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
    "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), \
    "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
    "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
    "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
    "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
#define PK_WG_D32_OPERANDS PK_WG_D_0_31
#define PK_WG_D64_OPERANDS PK_WG_D_0_31, PK_WG_D_32_63
#define PK_WG_D128_OPERANDS PK_WG_D_0_31, PK_WG_D_32_63, PK_WG_D_64_127

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Orders this thread's generic-proxy shared-memory writes (cp.async) before later async-proxy
// reads (wgmma) once a barrier has joined the threads.
__device__ __forceinline__ void fence_proxy_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// d[64x256 fragment, 128 fp32 per thread] += A(desc, 64x16, K-major) * B(desc, 256x16, K-major)^T
__device__ __forceinline__ void wgmma_m64n256k16(float* d, uint64_t descA, uint64_t descB) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 " PK_WG_D128_REGS ","
        " %128, %129, p, 1, 1, 0, 0;\n"
        "}\n"
        : PK_WG_D128_OPERANDS
        : "l"(descA), "l"(descB), "n"(1));
}

// d[64x256 fragment, 128 fp32 per thread] += A(desc, 64x32 E4M3, K-major) * B(desc, 256x32 E4M3, K-major)^T.
// FP8 operands have no transpose immediates: both must be K-major (they are: activations and
// Linear weights are K-contiguous). The fragment layout of d is the bf16 instruction's.
__device__ __forceinline__ void wgmma_m64n256k32_e4m3(float* d, uint64_t descA, uint64_t descB) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3 " PK_WG_D128_REGS ","
        " %128, %129, p, 1, 1;\n"
        "}\n"
        : PK_WG_D128_OPERANDS
        : "l"(descA), "l"(descB), "n"(1));
}

// d[64x64] (+)= A(desc, 64x16, K-major) * B(desc, 64x16, K-major)^T; SCALE_D = 0 ignores d's old value.
template <int SCALE_D>
__device__ __forceinline__ void wgmma_m64n64k16_ss(float* d, uint64_t descA, uint64_t descB) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %34, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " PK_WG_D32_REGS ","
        " %32, %33, p, 1, 1, 0, 0;\n"
        "}\n"
        : PK_WG_D32_OPERANDS
        : "l"(descA), "l"(descB), "n"(SCALE_D));
}

// d[64x64] += A(registers: the mma.sync m16n8k16 A fragment of each warp's 16 rows) * B(desc, 16x64, MN-major:
// imm-trans-b = 1).
__device__ __forceinline__ void wgmma_m64n64k16_rs_tb(float* d, const uint32_t* a, uint64_t descB) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %37, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " PK_WG_D32_REGS ","
        " {%32,%33,%34,%35}, %36, p, 1, 1, 1;\n"
        "}\n"
        : PK_WG_D32_OPERANDS
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "n"(1));
}

// d[64x128] += A(registers: the mma.sync m16n8k16 A fragment of each warp's 16 rows) * B(desc, 16x128, MN-major:
// imm-trans-b = 1).
__device__ __forceinline__ void wgmma_m64n128k16_rs_tb(float* d, const uint32_t* a, uint64_t descB) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %69, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " PK_WG_D64_REGS ","
        " {%64,%65,%66,%67}, %68, p, 1, 1, 1;\n"
        "}\n"
        : PK_WG_D64_OPERANDS
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "n"(1));
}

// d[64x64] (+)= A(registers, mma.sync A fragments) * B(desc, 64x16, K-major)^T (imm-trans-b = 0);
// SCALE_D = 0 ignores d's old value.
template <int SCALE_D>
__device__ __forceinline__ void wgmma_m64n64k16_rs(float* d, const uint32_t* a, uint64_t descB) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %37, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " PK_WG_D32_REGS ","
        " {%32,%33,%34,%35}, %36, p, 1, 1, 0;\n"
        "}\n"
        : PK_WG_D32_OPERANDS
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "n"(SCALE_D));
}
#endif  // PK_WGMMA

}  // namespace pk
