// Host emulation of gemm.cuh's kernel body, for checking it on a machine without a GPU.
//
// Build and run (g++ >= 10, x86-64 or arm64 Linux):
//   gpu-udf/src/test/cuda/run_gemm_emulator.sh            (all cases)
//
// Every CUDA thread of a CTA is a ucontext fiber; one OS thread runs them, picking a random
// runnable fiber at every synchronisation point (and at random other points), so warps drift
// apart the way they can on the GPU. The device operations the kernel uses are emulated from the
// PTX ISA's definitions, independently of the kernel's own index arithmetic:
//  - ldmatrix.x4: lanes 8j..8j+7 give the row addresses of matrix j; lane l receives, in register
//    j, the two b16 at row l/4, columns 2*(l%4), 2*(l%4)+1 of matrix j.
//  - mma.m16n8k16.row.col bf16 -> f32: A regs a0..a3 = (row g, k 2t..2t+1), (g+8, 2t..), (g, 2t+8..),
//    (g+8, 2t+8..); B regs b0, b1 = (k 2t..2t+1, col g), (k 2t+8.., col g); C/D regs c0..c3 =
//    (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1); g = lane/4, t = lane%4; low half = lower index.
//  - cp.async: the 16 destination bytes become NaN at issue and get their data (or zeros) only
//    when the issuing thread's cp.async.wait_group retires the group, so a read of a stage that is
//    in flight (a missing wait or barrier) shows up as NaN in the result.
//  - global accesses are bounds- and alignment-checked against the buffers the test registered.
// Shared memory starts as NaN at every CTA, so a chunk that is neither loaded nor zero-filled shows.
#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)

typedef uint16_t bf16;
struct float2 { float x, y; };
inline float2 make_float2(float x, float y) { return float2{x, y}; }

struct EmuDim { int x, y, z; };

namespace emu {

[[noreturn]] void fail(const std::string& msg) {
    std::fprintf(stderr, "EMULATOR ERROR: %s\n", msg.c_str());
    std::exit(2);
}

struct Copy { uint32_t dst; const void* src; bool valid; };  // dst: smemBuf index

struct Fiber {
    ucontext_t ctx;
    int tid = 0;
    bool done = false, waiting = false;
    std::vector<char> stack;
    std::vector<Copy> open;                    // issued, not committed
    std::deque<std::vector<Copy>> groups;      // committed, not retired
    long collectives = 0;                      // warp-collective sequence number
    long wgCollectives = 0;                    // warpgroup-collective sequence number
    struct Wgmma { float* d; uint64_t da, db; bool fp8; std::vector<uint8_t> a, b; };  // 32 bytes per row
    std::vector<Wgmma> wgOpen;                 // issued wgmma, not committed
    std::deque<std::vector<Wgmma>> wgGroups;   // committed wgmma groups, not retired
};

struct Barrier {
    int expected = 0, arrived = 0;
    std::vector<Fiber*> waiters;
};

// Per-warp exchange slots, double-buffered by collective parity (a lane can only reach
// collective i+2, which reuses slot i%2, after every lane has arrived at collective i+1, i.e.
// after every lane has finished reading collective i's slots).
struct WarpSlots {
    int tag[2][32];
    uint32_t addr[2][32];
    uint32_t a[2][32][4], b[2][32][2];
    float c[2][32][4];
    Barrier bar[2];
    Barrier waitBar;  // wgmma.wait_group is .sync.aligned: the warp's lanes leave it together
};

// Per-warpgroup slots for checking that all 128 threads issue a wgmma with the same descriptors.
struct WarpgroupSlots {
    uint64_t da[2][128], db[2][128];
    Barrier bar[2];
};

ucontext_t sched;
Fiber* cur = nullptr;
std::vector<Fiber> fibers;
std::vector<WarpSlots> warps;
std::vector<WarpgroupSlots> warpgroups;
Barrier blockBar;
std::mt19937_64 rng(1);
double yieldProb = 0.05;
std::vector<unsigned char> smemBuf;
// Shared-memory address of smemBuf[0]: only 16-byte aligned (the hardware promises no more for
// dynamic shared memory), so code that needs 1024-byte alignment must align for itself.
uint32_t smemBase = 0x90;
EmuDim blockIdx_{0, 0, 0}, gridDim_{1, 1, 1}, blockDim_{1, 1, 1};
std::function<void()> body;

struct Region { const unsigned char* p; size_t bytes; bool writable; std::string name; };
std::vector<Region> regions;

void check_global(const void* p, size_t n, size_t align, bool write, const char* what) {
    const unsigned char* q = static_cast<const unsigned char*>(p);
    if (reinterpret_cast<uintptr_t>(q) % align != 0) fail(std::string(what) + ": misaligned global access");
    for (const Region& r : regions) {
        if (q >= r.p && q + n <= r.p + r.bytes) {
            if (write && !r.writable) fail(std::string(what) + ": write to read-only buffer " + r.name);
            return;
        }
    }
    fail(std::string(what) + ": global access outside every buffer");
}

void to_sched() { swapcontext(&cur->ctx, &sched); }

void maybe_yield() {
    if (std::uniform_real_distribution<double>(0, 1)(rng) < yieldProb) to_sched();
}

void arrive_and_wait(Barrier& b) {
    if (++b.arrived == b.expected) {
        b.arrived = 0;
        for (Fiber* f : b.waiters) f->waiting = false;
        b.waiters.clear();
        maybe_yield();
    } else {
        cur->waiting = true;
        b.waiters.push_back(cur);
        to_sched();
    }
}

void trampoline() {
    body();
    cur->done = true;
    // returning switches to uc_link = sched
}

// Runs `threads` fibers of one CTA to completion.
void run_cta(int threads, size_t smemBytes) {
    if (fibers.size() != (size_t)threads) {
        fibers.assign(threads, Fiber());
        for (auto& f : fibers) f.stack.resize(256 * 1024);
    }
    warps.assign((threads + 31) / 32, WarpSlots());
    for (auto& w : warps) {
        w.bar[0].expected = w.bar[1].expected = 32;
        w.waitBar.expected = 32;
        for (int s = 0; s < 2; ++s) for (int l = 0; l < 32; ++l) w.tag[s][l] = -1;
    }
    warpgroups.assign((threads + 127) / 128, WarpgroupSlots());
    for (auto& w : warpgroups) w.bar[0].expected = w.bar[1].expected = 128;
    blockBar = Barrier();
    blockBar.expected = threads;
    smemBuf.assign(smemBytes, 0xFF);  // bf16 0xFFFF and f32 0xFFFFFFFF are NaN
    for (int t = 0; t < threads; ++t) {
        Fiber& f = fibers[t];
        f.tid = t;
        f.done = f.waiting = false;
        f.open.clear();
        f.groups.clear();
        f.collectives = 0;
        f.wgCollectives = 0;
        f.wgOpen.clear();
        f.wgGroups.clear();
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack.data();
        f.ctx.uc_stack.ss_size = f.stack.size();
        f.ctx.uc_link = &sched;
        makecontext(&f.ctx, trampoline, 0);
    }
    std::vector<int> runnable;
    for (;;) {
        runnable.clear();
        int done = 0;
        for (int t = 0; t < threads; ++t) {
            if (fibers[t].done) ++done;
            else if (!fibers[t].waiting) runnable.push_back(t);
        }
        if (done == threads) break;
        if (runnable.empty()) fail("deadlock: threads wait at a barrier that some never reach");
        cur = &fibers[runnable[std::uniform_int_distribution<size_t>(0, runnable.size() - 1)(rng)]];
        swapcontext(&sched, &cur->ctx);
    }
    for (auto& f : fibers)
        if (!f.open.empty() || !f.groups.empty()) fail("thread exited with cp.async copies not waited for");
    for (auto& f : fibers)
        if (!f.wgOpen.empty() || !f.wgGroups.empty()) fail("thread exited with wgmma not waited for");
    if (blockBar.arrived != 0) fail("barrier left half-arrived");
}

inline float bf2f(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline uint16_t f2bf(float f) {  // round to nearest even, as __float2bfloat16_rn
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if (std::isnan(f)) return 0x7FC0;
    u += 0x7FFF + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

// smemBuf index of a shared-memory address; fails outside [smemBase, smemBase + size - bytes]
size_t smem_index(uint32_t addr, size_t bytes, const char* what) {
    if (addr < smemBase || addr - smemBase + bytes > smemBuf.size()) fail(std::string(what) + " outside shared memory");
    return addr - smemBase;
}

uint32_t smem_word(uint32_t addr) {
    if (addr % 4 != 0) fail("ldmatrix: misaligned");
    uint32_t v;
    std::memcpy(&v, smemBuf.data() + smem_index(addr, 4, "ldmatrix"), 4);
    return v;
}

// Posts this lane's data for a warp collective, waits for the whole warp, returns the slot.
int collective_begin(int tag) {
    WarpSlots& w = warps[cur->tid / 32];
    int s = (int)(cur->collectives++ & 1);
    w.tag[s][cur->tid % 32] = tag;
    return s;
}
void collective_sync(int s, int tag) {
    WarpSlots& w = warps[cur->tid / 32];
    arrive_and_wait(w.bar[s]);
    for (int l = 0; l < 32; ++l)
        if (w.tag[s][l] != tag) fail("warp collective with diverged lanes (different operations)");
}

}  // namespace emu

#define threadIdx (emu::EmuThread())
#define blockIdx (emu::blockIdx_)
#define gridDim (emu::gridDim_)
#define blockDim (emu::blockDim_)
namespace emu { inline EmuDim EmuThread() { return EmuDim{cur->tid, 0, 0}; } }

inline void __syncthreads() { emu::arrive_and_wait(emu::blockBar); }

namespace pk {
using std::max;
using std::min;

inline uint32_t smem_u32(const void* p) {
    return (uint32_t)(static_cast<const unsigned char*>(p) - emu::smemBuf.data()) + emu::smemBase;
}

inline void cp_async16(uint32_t dst, const void* src, bool valid) {
    if (dst % 16 != 0) emu::fail("cp.async destination not 16-byte aligned");
    const uint32_t at = (uint32_t)emu::smem_index(dst, 16, "cp.async destination");
    if (valid) emu::check_global(src, 16, 16, false, "cp.async source");
    emu::cur->open.push_back(emu::Copy{at, src, valid});
    std::memset(emu::smemBuf.data() + at, 0xFF, 16);  // in flight: NaN until retired
    emu::maybe_yield();
}
inline void cp_async_commit() {
    emu::cur->groups.push_back(emu::cur->open);
    emu::cur->open.clear();
}
template <int N>
inline void cp_async_wait_group() {
    auto& gs = emu::cur->groups;
    while (gs.size() > (size_t)N) {
        for (const emu::Copy& c : gs.front()) {
            if (c.valid) std::memcpy(emu::smemBuf.data() + c.dst, c.src, 16);
            else std::memset(emu::smemBuf.data() + c.dst, 0, 16);
        }
        gs.pop_front();
    }
    emu::maybe_yield();
}
inline void cp_async_wait_all() { cp_async_wait_group<0>(); }

inline void ldsm_x4(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, uint32_t addr) {
    const int TAG = 1;
    int s = emu::collective_begin(TAG);
    emu::WarpSlots& w = emu::warps[emu::cur->tid / 32];
    const int lane = emu::cur->tid % 32;
    if (addr % 16 != 0) emu::fail("ldmatrix row address not 16-byte aligned");
    w.addr[s][lane] = addr;
    emu::collective_sync(s, TAG);
    uint32_t r[4];
    for (int j = 0; j < 4; ++j) r[j] = emu::smem_word(w.addr[s][8 * j + lane / 4] + 4 * (lane % 4));
    r0 = r[0]; r1 = r[1]; r2 = r[2]; r3 = r[3];
}

// shfl.sync.bfly: lane l receives lane (l ^ laneMask)'s value; the whole warp takes part.
inline uint32_t __shfl_xor_sync(unsigned mask, uint32_t v, int laneMask) {
    if (mask != 0xffffffffu) emu::fail("shuffle with a partial lane mask");
    const int TAG = 3;
    int s = emu::collective_begin(TAG);
    emu::WarpSlots& w = emu::warps[emu::cur->tid / 32];
    const int lane = emu::cur->tid % 32;
    w.addr[s][lane] = v;
    emu::collective_sync(s, TAG);
    return w.addr[s][lane ^ laneMask];
}

inline void mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    const int TAG = 2;
    int s = emu::collective_begin(TAG);
    emu::WarpSlots& w = emu::warps[emu::cur->tid / 32];
    const int lane = emu::cur->tid % 32;
    for (int i = 0; i < 4; ++i) { w.a[s][lane][i] = a[i]; w.c[s][lane][i] = c[i]; }
    w.b[s][lane][0] = b0;
    w.b[s][lane][1] = b1;
    emu::collective_sync(s, TAG);
    auto half = [](uint32_t v, int hi) { return emu::bf2f((uint16_t)(hi ? v >> 16 : v & 0xFFFF)); };
    auto A = [&](int r, int k) {  // 16 x 16
        int reg = (r >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
        int l = (r % 8) * 4 + (k % 8) / 2;
        return half(w.a[s][l][reg], k % 2);
    };
    auto B = [&](int k, int n) {  // 16 x 8
        int l = n * 4 + (k % 8) / 2;
        return half(w.b[s][l][k >= 8 ? 1 : 0], k % 2);
    };
    auto C = [&](int r, int n) {  // 16 x 8
        int l = (r % 8) * 4 + n / 2;
        return w.c[s][l][(r >= 8 ? 2 : 0) + n % 2];
    };
    const int g = lane / 4, t = lane % 4;
    const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    for (int i = 0; i < 4; ++i) {
        float d = C(rows[i], cols[i]);
        for (int k = 0; k < 16; ++k) d += A(rows[i], k) * B(k, cols[i]);
        c[i] = d;
    }
}

inline uint16_t __float2bfloat16_rn(float f) { return emu::f2bf(f); }
inline float __bfloat162float(uint16_t b) { return emu::bf2f(b); }

inline uint32_t pack_bf16(float lo, float hi) {
    return (uint32_t)emu::f2bf(lo) | ((uint32_t)emu::f2bf(hi) << 16);
}

// ---- wgmma (sm_90a), from the PTX ISA: descriptor fields (start >> 4 in bits 0-13, stride byte
// offset >> 4 in bits 32-45, base offset 49-51, layout 62-63 with 1 = 128-byte swizzle); K-major
// operand element (r, k) of a 128B-swizzled tile at pre = start + (r / 8) * SBO + (r % 8) * 128 +
// 2k, physically at pre ^ (((pre >> 7) & 7) << 4); D fragment of m64nNk16: thread (warp w of the
// warpgroup, lane: g = lane / 4, t = lane % 4) holds d[4j + 2h + c] = D[16w + g + 8h][8j + 2t + c].
// The product is computed when wgmma.wait_group retires the group, from shared memory as it is
// then; a change of the operands since the issue is reported (the GPU may read at any time in
// between), and so are descriptors that differ between the threads of the warpgroup.
inline uint32_t wgmma_byte_addr(uint64_t desc, int r, int byte) {
    if ((desc >> 62) != 1) emu::fail("wgmma descriptor: layout is not the 128-byte swizzle");
    if (((desc >> 49) & 7) != 0) emu::fail("wgmma descriptor: non-zero base offset");
    uint32_t start = (uint32_t)(desc & 0x3FFF) << 4, sbo = (uint32_t)((desc >> 32) & 0x3FFF) << 4;
    uint32_t pre = start + (uint32_t)(r >> 3) * sbo + (uint32_t)(r & 7) * 128 + (uint32_t)byte;
    uint32_t phys = pre ^ (((pre >> 7) & 7u) << 4);  // the swizzle acts on the absolute address
    return (uint32_t)emu::smem_index(phys, 1, "wgmma operand");
}
// The 32 bytes of each of `rows` K-major rows one k-step reads (16 bf16 or 32 E4M3).
inline std::vector<uint8_t> wgmma_read(uint64_t desc, int rows) {
    std::vector<uint8_t> v((size_t)rows * 32);
    for (int r = 0; r < rows; ++r)
        for (int b = 0; b < 32; ++b) v[(size_t)r * 32 + b] = emu::smemBuf[wgmma_byte_addr(desc, r, b)];
    return v;
}
// E4M3 (OCP FP8: bias 7, no infinities, S.1111.111 NaN) to float.
inline float e4m3_to_float(uint8_t c) {
    const int e = (c >> 3) & 0xF, m = c & 7;
    float v = (e == 0xF && m == 7) ? NAN : e == 0 ? std::ldexp((float)m, -9) : std::ldexp(1.f + m / 8.f, e - 7);
    return (c & 0x80) ? -v : v;
}
inline float wgmma_operand(const std::vector<uint8_t>& v, bool fp8, int row, int k) {
    if (fp8) return e4m3_to_float(v[(size_t)row * 32 + k]);
    uint16_t h;
    std::memcpy(&h, &v[(size_t)row * 32 + 2 * k], 2);
    return emu::bf2f(h);
}
inline void wgmma_fence() {}
inline void fence_proxy_async_smem() {}
inline void wgmma_issue(float* d, uint64_t da, uint64_t db, bool fp8) {
    emu::Fiber* f = emu::cur;
    emu::WarpgroupSlots& w = emu::warpgroups[f->tid / 128];
    const int s = (int)(f->wgCollectives++ & 1), i = f->tid % 128;
    w.da[s][i] = da;
    w.db[s][i] = db;
    emu::arrive_and_wait(w.bar[s]);
    for (int l = 0; l < 128; ++l)
        if (w.da[s][l] != da || w.db[s][l] != db) emu::fail("wgmma descriptors differ within the warpgroup");
    f->wgOpen.push_back(emu::Fiber::Wgmma{d, da, db, fp8, wgmma_read(da, 64), wgmma_read(db, 256)});
}
inline void wgmma_m64n256k16(float* d, uint64_t da, uint64_t db) { wgmma_issue(d, da, db, false); }
inline void wgmma_m64n256k32_e4m3(float* d, uint64_t da, uint64_t db) { wgmma_issue(d, da, db, true); }
inline void wgmma_commit() {
    emu::cur->wgGroups.push_back(emu::cur->wgOpen);
    emu::cur->wgOpen.clear();
}
template <int N>
inline void wgmma_wait() {
    emu::Fiber* f = emu::cur;
    const int wq = (f->tid % 128) / 32, lane = f->tid % 32, g = lane / 4, t = lane % 4;
    while (f->wgGroups.size() > (size_t)N) {
        for (const auto& op : f->wgGroups.front()) {
            if (wgmma_read(op.da, 64) != op.a || wgmma_read(op.db, 256) != op.b)
                emu::fail("shared memory read by an in-flight wgmma changed before wgmma.wait_group retired it");
            for (int x = 0; x < 128; ++x) {
                const int j = x / 4, h = (x % 4) / 2, c = x % 2;
                const int row = 16 * wq + g + 8 * h, col = 8 * j + 2 * t + c;
                float acc = op.d[x];
                const int kSteps = op.fp8 ? 32 : 16;
                for (int k = 0; k < kSteps; ++k)
                    acc += wgmma_operand(op.a, op.fp8, row, k) * wgmma_operand(op.b, op.fp8, col, k);
                op.d[x] = acc;
            }
        }
        f->wgGroups.pop_front();
    }
    emu::arrive_and_wait(emu::warps[f->tid / 32].waitBar);
    emu::maybe_yield();
}

inline void gemm_st_f32x2(float* p, float x, float y) {
    emu::check_global(p, 8, 8, true, "fp32 store");
    p[0] = x;
    p[1] = y;
    emu::maybe_yield();
}
inline void gemm_prefetch_l2(const void*) {}  // a hint: no effect on results
inline float2 gemm_ld_f32x2(const float* p) {
    emu::check_global(p, 8, 8, false, "fp32 load");
    return float2{p[0], p[1]};
}
inline void gemm_add_f32x2(float* p, float x, float y) {
    emu::check_global(p, 8, 8, true, "fp32 add");
    p[0] += x;
    p[1] += y;
    emu::maybe_yield();
}
inline void gemm_st_bf16x2(bf16* p, float x, float y) {
    emu::check_global(p, 4, 4, true, "bf16 store");
    uint32_t v = pack_bf16(x, y);
    std::memcpy(p, &v, 4);
    emu::maybe_yield();
}
inline void gemm_st_bf16x8(bf16* p, const uint32_t (&v)[4]) {
    emu::check_global(p, 16, 16, true, "bf16 x 8 store");
    std::memcpy(p, v, 16);
    emu::maybe_yield();
}
inline void gemm_ld_bias2(const float* p, float& x, float& y) {
    emu::check_global(p, 8, 8, false, "bias load");
    x = p[0];
    y = p[1];
}
inline float gemm_ld_scale(const float* p) {
    emu::check_global(p, 4, 4, false, "scale load");
    return p[0];
}
}  // namespace pk

#define GEMM_HOST_EMULATION 1
#ifdef GEMM_CUH
#include GEMM_CUH  // a modified copy (run_gemm_emulator.sh --mutants)
#else
#include "../../main/cuda/gemm.cuh"
#endif

// ------------------------------------------------------------------------------------------
// Test driver

// WGMMA: the gemm_wgmma_* body (GemmL tiling, shared memory + 1024 bytes of alignment slack).
template <class Cfg, int OUT, bool WGMMA>
static void launch(const bf16* A, const bf16* W, void* C, const float* bias, int M, int N, int K) {
    const int tiles = ((M + Cfg::BM - 1) / Cfg::BM) * ((N + Cfg::BN - 1) / Cfg::BN);
    emu::gridDim_ = EmuDim{tiles, 1, 1};
    emu::blockDim_ = EmuDim{Cfg::THREADS, 1, 1};
    for (int b = 0; b < tiles; ++b) {
        emu::blockIdx_ = EmuDim{b, 0, 0};
        // run_cta sizes (and NaN-fills) the shared memory before the first fiber starts
        if (WGMMA)
            emu::body = [&]() { pk::gemm_block_wgmma<OUT>(emu::smemBuf.data(), A, W, C, bias, M, N, K); };
        else
            emu::body = [&]() { pk::gemm_block<Cfg, OUT>(emu::smemBuf.data(), A, W, C, bias, M, N, K); };
        emu::run_cta(Cfg::THREADS, Cfg::SMEM + (WGMMA ? 1024 : 0));
    }
}

struct Wgmma {};  // run_case tag for the wgmma kernel

struct Case { int M, N, K; };

static int failures = 0;

// The output of one case: C poisoned with NaN (bf16 or fp32), or, for GEMM_ADD_F32, random old
// values (times oldScale) that the kernel must add to; registered as the writable region "C".
struct Output {
    int out;
    std::vector<float> c32, cOld;
    std::vector<bf16> c16;
    void* C = nullptr;

    Output(int out_, size_t count, std::mt19937_64& rnd, float oldScale) : out(out_), c32(count), c16(count) {
        std::normal_distribution<float> nd(0.f, 1.f);
        if (out == pk::GEMM_OUT_BF16) {
            std::fill(c16.begin(), c16.end(), (bf16)0x7FC0);  // NaN poison
            C = c16.data();
        } else if (out == pk::GEMM_OUT_F32) {
            std::fill(c32.begin(), c32.end(), NAN);
            C = c32.data();
        } else {
            for (auto& v : c32) v = nd(rnd) * oldScale;
            cOld = c32;
            C = c32.data();
        }
    }

    void add_region() const {
        if (out == pk::GEMM_OUT_BF16) emu::regions.push_back({(const unsigned char*)c16.data(), c16.size() * 2, true, "C"});
        else emu::regions.push_back({(const unsigned char*)c32.data(), c32.size() * 4, true, "C"});
    }

    // ref (+ the old values) against what the kernel left: L2 error relative to the reference, the
    // worst element relative to rms + |ref|, and the count of elements not written or not finite.
    void compare(const std::vector<double>& ref, double& rel, double& worst, long& bad) const {
        double num = 0, den = 0;
        bad = 0;
        worst = 0;
        auto at = [&](size_t i, double& r, double& g) {
            r = ref[i] + (out == pk::GEMM_ADD_F32 ? cOld[i] : 0.0);
            g = out == pk::GEMM_OUT_BF16 ? emu::bf2f(c16[i]) : c32[i];
        };
        for (size_t i = 0; i < ref.size(); ++i) {
            double r, g;
            at(i, r, g);
            if (!std::isfinite(g)) { ++bad; continue; }
            num += (g - r) * (g - r);
            den += r * r;
        }
        const double rms = std::sqrt(den / ref.size());
        for (size_t i = 0; i < ref.size(); ++i) {
            double r, g;
            at(i, r, g);
            if (std::isfinite(g)) worst = std::max(worst, std::fabs(g - r) / (rms + std::fabs(r)));
        }
        rel = std::sqrt(num / std::max(den, 1e-30));
    }
};

// Prints the case's line and counts a failure: bf16 output within its rounding (L2 1e-2, worst
// 4e-3), fp32 within the accumulation order (1e-5 both), every element written.
static void report(const char* name, Case cs, int out, bool withBias, const Output& o, const std::vector<double>& ref) {
    double rel, worst;
    long bad;
    o.compare(ref, rel, worst, bad);
    const double relBound = out == pk::GEMM_OUT_BF16 ? 1e-2 : 1e-5, worstBound = out == pk::GEMM_OUT_BF16 ? 4e-3 : 1e-5;
    const bool ok = bad == 0 && rel < relBound && worst < worstBound;
    const char* outName[] = {"bf16", "f32", "add_f32"};
    std::printf("%-8s M=%-5d N=%-5d K=%-5d out=%-7s bias=%d  rel=%.2e worst=%.2e nonfinite=%ld  %s\n", name, cs.M, cs.N,
                cs.K, outName[out], withBias, rel, worst, bad, ok ? "ok" : "FAIL");
    std::fflush(stdout);
    if (!ok) ++failures;
}

template <class Tag>
static void run_case(const char* cfgName, Case cs, int out, bool withBias, uint64_t seed) {
    constexpr bool WG = std::is_same<Tag, Wgmma>::value;
    using Cfg = typename std::conditional<WG, pk::GemmL, Tag>::type;
    const int M = cs.M, N = cs.N, K = cs.K;
    std::mt19937_64 rnd(seed);
    std::normal_distribution<float> nd(0.f, 1.f);
    // Guard words around each buffer catch writes just past the end (the check_global regions
    // are the exact buffers, so such a write fails before it happens anyway).
    std::vector<bf16> A((size_t)M * K), W((size_t)N * K);
    std::vector<float> Af(A.size()), Wf(W.size()), bias(N);
    for (size_t i = 0; i < A.size(); ++i) { A[i] = emu::f2bf(nd(rnd)); Af[i] = emu::bf2f(A[i]); }
    for (size_t i = 0; i < W.size(); ++i) { W[i] = emu::f2bf(nd(rnd)); Wf[i] = emu::bf2f(W[i]); }
    for (auto& b : bias) b = nd(rnd);
    std::vector<double> ref((size_t)M * N);
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            double s = 0;
            const float* a = &Af[(size_t)m * K];
            const float* w = &Wf[(size_t)n * K];
            for (int k = 0; k < K; ++k) s += (double)a[k] * w[k];
            ref[(size_t)m * N + n] = s + (withBias ? bias[n] : 0.0);
        }
    Output o(out, (size_t)M * N, rnd, 1.f);
    void* C = o.C;
    emu::regions.clear();
    emu::regions.push_back({(const unsigned char*)A.data(), A.size() * 2, false, "A"});
    emu::regions.push_back({(const unsigned char*)W.data(), W.size() * 2, false, "W"});
    emu::regions.push_back({(const unsigned char*)bias.data(), bias.size() * 4, false, "bias"});
    o.add_region();
    emu::rng.seed(seed * 7919 + 13);

    const float* b = withBias ? bias.data() : nullptr;
    if (out == pk::GEMM_OUT_BF16) launch<Cfg, pk::GEMM_OUT_BF16, WG>(A.data(), W.data(), C, b, M, N, K);
    else if (out == pk::GEMM_OUT_F32) launch<Cfg, pk::GEMM_OUT_F32, WG>(A.data(), W.data(), C, b, M, N, K);
    else launch<Cfg, pk::GEMM_ADD_F32, WG>(A.data(), W.data(), C, b, M, N, K);
    report(cfgName, cs, out, withBias, o, ref);
}

// The FP8 kernel (gemm_block_wgmma<OUT, true>): A and W random E4M3 codes (|value| <= 3.75, no
// NaN), positive row and column scales; the reference is the double sum of the decoded products.
static void run_case_fp8(Case cs, int out, bool withBias, uint64_t seed) {
    using Cfg = pk::GemmL;
    const int M = cs.M, N = cs.N, K = cs.K;
    std::mt19937_64 rnd(seed);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::uniform_real_distribution<float> ud(0.5f, 2.f);
    auto code = [&]() { uint64_t r = rnd(); return (uint8_t)((r & 0x80) | ((r >> 8) % 10) << 3 | ((r >> 16) & 7)); };
    std::vector<uint8_t> A((size_t)M * K), W((size_t)N * K);
    for (auto& c : A) c = code();
    for (auto& c : W) c = code();
    std::vector<float> aS(M), wS(N), bias(N);
    for (auto& v : aS) v = ud(rnd);
    for (auto& v : wS) v = ud(rnd);
    for (auto& b : bias) b = nd(rnd);
    std::vector<double> ref((size_t)M * N);
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            double sum = 0;
            for (int k = 0; k < K; ++k)
                sum += (double)pk::e4m3_to_float(A[(size_t)m * K + k]) * pk::e4m3_to_float(W[(size_t)n * K + k]);
            ref[(size_t)m * N + n] = sum * aS[m] * wS[n] + (withBias ? bias[n] : 0.0);
        }
    Output o(out, (size_t)M * N, rnd, 100.f);
    void* C = o.C;
    emu::regions.clear();
    emu::regions.push_back({A.data(), A.size(), false, "A"});
    emu::regions.push_back({W.data(), W.size(), false, "W"});
    emu::regions.push_back({(const unsigned char*)aS.data(), aS.size() * 4, false, "aScale"});
    emu::regions.push_back({(const unsigned char*)wS.data(), wS.size() * 4, false, "wScale"});
    emu::regions.push_back({(const unsigned char*)bias.data(), bias.size() * 4, false, "bias"});
    o.add_region();
    emu::rng.seed(seed * 7919 + 13);
    const float* b = withBias ? bias.data() : nullptr;
    const pk::Fp8Scales sc{aS.data(), wS.data()};
    const int tiles = ((M + Cfg::BM - 1) / Cfg::BM) * ((N + Cfg::BN - 1) / Cfg::BN);
    emu::gridDim_ = EmuDim{tiles, 1, 1};
    emu::blockDim_ = EmuDim{Cfg::THREADS, 1, 1};
    for (int t = 0; t < tiles; ++t) {
        emu::blockIdx_ = EmuDim{t, 0, 0};
        if (out == pk::GEMM_OUT_BF16)
            emu::body = [&]() { pk::gemm_block_wgmma<pk::GEMM_OUT_BF16, true>(emu::smemBuf.data(), A.data(), W.data(), C, b, M, N, K, sc); };
        else if (out == pk::GEMM_OUT_F32)
            emu::body = [&]() { pk::gemm_block_wgmma<pk::GEMM_OUT_F32, true>(emu::smemBuf.data(), A.data(), W.data(), C, b, M, N, K, sc); };
        else
            emu::body = [&]() { pk::gemm_block_wgmma<pk::GEMM_ADD_F32, true>(emu::smemBuf.data(), A.data(), W.data(), C, b, M, N, K, sc); };
        emu::run_cta(Cfg::THREADS, Cfg::SMEM + 1024);
    }
    report("fp8", cs, out, withBias, o, ref);
}

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    bool quick = mode == "--quick";
    if (mode == "--tiny") {  // a few seconds: for trying deliberate bugs in the kernel
        Case c{129, 264, 200};
        run_case<pk::GemmL>("128x256", c, pk::GEMM_OUT_F32, false, 1);
        run_case<pk::GemmS>("128x128", c, pk::GEMM_ADD_F32, true, 2);
        run_case<pk::GemmL>("128x256", Case{3, 24, 136}, pk::GEMM_OUT_BF16, true, 3);
        run_case<pk::GemmS>("128x128", Case{2181, 40, 72}, pk::GEMM_OUT_F32, false, 4);
        run_case<Wgmma>("wgmma", c, pk::GEMM_OUT_F32, true, 5);
        run_case<Wgmma>("wgmma", Case{3, 24, 136}, pk::GEMM_ADD_F32, false, 6);
        // 16 k-tiles: every stage of both rings is refilled several times
        run_case<pk::GemmL>("128x256", Case{65, 264, 1000}, pk::GEMM_OUT_F32, false, 7);
        run_case<Wgmma>("wgmma", Case{65, 264, 1000}, pk::GEMM_OUT_F32, false, 8);
        run_case_fp8(Case{129, 264, 400}, pk::GEMM_OUT_F32, true, 9);
        run_case_fp8(Case{65, 24, 1040}, pk::GEMM_ADD_F32, false, 10);
        // bf16 out: the quad transpose before the 16-byte stores, N ending inside a 32-column group
        run_case<Wgmma>("wgmma", Case{129, 264, 200}, pk::GEMM_OUT_BF16, true, 11);
        run_case_fp8(Case{65, 40, 400}, pk::GEMM_OUT_BF16, true, 12);
        std::printf("%d failed\n", failures);
        return failures == 0 ? 0 : 1;
    }
    std::vector<Case> cases = {
        {1, 8, 64},     {3, 24, 136},   {1, 8, 8},      {64, 8, 8},     {128, 256, 64}, {129, 136, 72},
        {127, 264, 200}, {257, 520, 136}, {300, 24, 1376}, {40, 1376, 64},  {130, 264, 520},
        {2181, 40, 72},  // 18 M-tiles: two rasterisation groups, the second partial
    };
    if (quick) cases = {{3, 24, 136}, {129, 264, 200}, {2181, 40, 72}};
    uint64_t seed = 1;
    for (const Case& c : cases) {
        for (int out = 0; out < 3; ++out) {
            for (int bias = 0; bias < 2; ++bias) {
                // alternate the configurations so that each (shape, out, bias) meets one, both over the set
                if ((out + bias) % 2 == 0) run_case<pk::GemmL>("128x256", c, out, bias, seed++);
                else run_case<pk::GemmS>("128x128", c, out, bias, seed++);
            }
        }
        run_case<pk::GemmL>("128x256", c, pk::GEMM_ADD_F32, true, seed++);
        run_case<pk::GemmS>("128x128", c, pk::GEMM_OUT_BF16, false, seed++);
        for (int out = 0; out < 3; ++out) run_case<Wgmma>("wgmma", c, out, out != 1, seed++);
        if (c.K % 16 == 0)
            for (int out = 0; out < 3; ++out) run_case_fp8(c, out, out != 0, seed++);
    }
    std::printf("%d failed\n", failures);
    return failures == 0 ? 0 : 1;
}
