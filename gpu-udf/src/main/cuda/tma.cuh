// Hopper's asynchronous copy machinery (sm_90a): tensor-map (TMA) loads, the mbarriers that count
// their bytes and the threads that wait on them, and register reallocation between warpgroups.
// Used by gemm_tma.cuh's persistent, warp-specialised GEMM.
//
//  - TmaDesc: the 128-byte tensor map the driver's cuTensorMapEncodeTiled writes on the host
//    (io.prefill.cuda.TensorMaps), passed to a kernel by value as a `const __grid_constant__`
//    parameter so that its address is a parameter-space address the TMA unit can read.
//  - mbarrier: a 64-bit shared-memory object with an expected arrival count and, per phase, a
//    transaction count of bytes. A phase completes when every expected thread has arrived and every
//    byte announced with expect_tx has landed; then the next phase starts (0, 1, 2, ...). A waiter
//    names the parity of the phase it waits for. arrive releases and try_wait acquires at CTA scope,
//    and a TMA load's bytes are visible to the threads that waited on the phase they completed.
//  - tma_load_2d: one thread copies a box of a 2-D tensor (coordinates in elements, innermost
//    first) into shared memory, written with the tensor map's swizzle, and the bytes are counted
//    on the mbarrier; elements outside the tensor are zero-filled and still counted.
//  - Clusters: CTAs launched together on one GPC (the kernel's __cluster_dims__) that can read and
//    signal each other's shared memory. tma_load_2d_multicast writes one box into the same offset
//    of every CTA in a mask and counts its bytes on the mbarrier at the same offset in each;
//    mbar_arrive_cta arrives on the barrier at a shared-memory offset of any CTA of the cluster.
//  - setmaxnreg: a warpgroup gives registers back (dec) or takes them (inc); inc waits until the
//    CTA's pool holds enough, so the two sides must balance within what the CTA launched with.
#pragma once
#include "common.cuh"

namespace pk {

// CUtensorMap's size and alignment (cuda.h: CU_TENSOR_MAP_NUM_QWORDS = 16, 64-byte aligned).
struct alignas(64) TmaDesc {
    unsigned long long opaque[16];
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// Makes the initialised barriers visible to the async proxy (the TMA unit) and the other threads
// once a block barrier follows.
__device__ __forceinline__ void mbar_init_fence() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Arrives and announces `bytes` more bytes that this phase must see land before it completes.
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
// Arrives on the mbarrier at the same shared-memory offset in CTA `cta` of the cluster (this CTA
// included). Default semantics (release at CTA scope), as CUTLASS's cluster pipelines use: what it
// orders is the arriving warp's retired wgmma reads (async proxy, complete once wgmma.wait_group
// returned) before the TMA writes the waiting producer issues next, not generic memory accesses;
// .release.cluster would also wait for this thread's outstanding global stores (the previous
// tile's epilogue) on every k-tile.
__device__ __forceinline__ void mbar_arrive_cta(uint32_t bar, uint32_t cta) {
    asm volatile(
        "{\n"
        ".reg .b32 remote;\n"
        "mapa.shared::cluster.u32 remote, %0, %1;\n"
        "mbarrier.arrive.shared::cluster.b64 _, [remote];\n"
        "}\n" ::"r"(bar),
        "r"(cta)
        : "memory");
}
// Spins until the phase of the given parity has completed.
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
    asm volatile(
        "{\n"
        ".reg .pred done;\n"
        "MBAR_WAIT:\n"
        "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
        "@done bra MBAR_DONE;\n"
        "bra MBAR_WAIT;\n"
        "MBAR_DONE:\n"
        "}\n" ::"r"(bar),
        "r"(parity)
        : "memory");
}

// Fetches the tensor map into the TMA unit's cache ahead of the first load.
__device__ __forceinline__ void tma_prefetch_desc(const TmaDesc* desc) {
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(desc)) : "memory");
}
// Box at (x = innermost coordinate, y) of the 2-D tensor `desc` into shared memory at dst
// (1024-byte aligned for the 128-byte swizzle), its bytes counted on mbarrier `bar`.
__device__ __forceinline__ void tma_load_2d(uint32_t dst, const TmaDesc* desc, int x, int y, uint32_t bar) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
        ::"r"(dst), "l"(reinterpret_cast<uint64_t>(desc)), "r"(x), "r"(y), "r"(bar)
        : "memory");
}

// Box at (x, y) written into shared memory at dst in every CTA of the cluster whose bit is set in
// ctaMask, its bytes counted on the mbarrier at offset `bar` in each of them.
__device__ __forceinline__ void tma_load_2d_multicast(uint32_t dst, const TmaDesc* desc, int x, int y, uint32_t bar,
                                                      uint16_t ctaMask) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster"
        " [%0], [%1, {%2, %3}], [%4], %5;\n"
        ::"r"(dst), "l"(reinterpret_cast<uint64_t>(desc)), "r"(x), "r"(y), "r"(bar), "h"(ctaMask)
        : "memory");
}

__device__ __forceinline__ uint32_t cluster_cta_rank() {
    uint32_t r;
    asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
    return r;
}
// Every thread of every CTA of the cluster meets here; shared-memory writes before it are visible
// to the whole cluster after it.
__device__ __forceinline__ void cluster_sync() {
    asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;\n" ::: "memory");
}

template <int N>
__device__ __forceinline__ void setmaxnreg_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N)); }
template <int N>
__device__ __forceinline__ void setmaxnreg_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N)); }
#endif  // __CUDA_ARCH_FEAT_SM90_ALL

}  // namespace pk
