"""Checks that the emulator (gemm_emulator.cpp) catches deliberate bugs in gemm.cuh.

Each mutant is one textual change to a copy of gemm.cuh; the emulator's --tiny run must fail on
every one. A pattern that occurs in both kernels (the loader, the epilogue) is mutated once per
occurrence. The persistent TMA kernel (gemm_tma.cuh: TMA, mbarriers, clusters) has no host
emulation and is checked on the GPU (GemmGpuTest, Fp8GemmGpuTest, compute-sanitizer); the
epilogues and the k-tile it shares with the wgmma kernel are here and mutated. Run from anywhere:
python3 gemm_mutants.py (needs g++)."""
import os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "main", "cuda", "gemm.cuh")
MUTANTS = [
    ("no barrier in the main loop",
     "cp_async_wait_group<STAGES - 2>();\n                __syncthreads();", "cp_async_wait_group<STAGES - 2>();"),
    ("main-loop wait leaves one group too many",
     "cp_async_wait_group<STAGES - 2>();\n                __syncthreads();",
     "cp_async_wait_group<STAGES - 1>();\n                __syncthreads();"),
    ("prologue wait leaves one group too many",
     "cp_async_wait_group<STAGES - 2>();  // tile 0", "cp_async_wait_group<STAGES - 1>();  // tile 0"),
    ("A fragment k-half from the wrong lane bit", "const int aHi = mi >> 1;", "const int aHi = mi & 1;"),
    ("W fragment k-half from the wrong lane bit", "const int bHi = mi & 1;", "const int bHi = mi >> 1;"),
    ("loader without swizzle", "((lc ^ (lr & 7)) << 4)", "(lc << 4)"),
    ("K predicate off by one chunk", "const bool kOk = kOff + lc * 16 < rowBytes;", "const bool kOk = kOff + lc * 16 <= rowBytes;"),
    ("first refill into a stage still in use", "int ws = STAGES - 1;", "int ws = STAGES - 2;"),
    ("next k-tile fragments from the old stage",
     "if (s == KSTEPS - 1) rs = (rs + 1 == STAGES) ? 0 : rs + 1;", ""),
    ("epilogue row of the upper half", "const int row = rowBase + mt * 16 + h * 8;",
     "const int row = rowBase + mt * 16 + h * 4;"),
    ("M predicate off by one", "if (m0 + lr + i * LOAD_ROWS < M) aMask", "if (m0 + lr + i * LOAD_ROWS <= M) aMask"),
    ("N store predicate missing", "if (col >= N) continue;", ""),
    ("rasterisation ignores a partial last group", "tm = first + local % rows;\n    tn = local / rows;",
     "tm = first + local % groupM;\n    tn = local / groupM;"),
    ("bias column pair swapped", "gemm_ld_bias2(bias + col, b0, b1);", "gemm_ld_bias2(bias + col, b1, b0);"),
    ("zero-fill dropped for rows past M", "const bool v = kOk && ((aMask >> i) & 1u);", "const bool v = kOk;"),
    # the wgmma kernel (gemm_block_wgmma)
    ("wgmma: ring not aligned to 1024 bytes", "const uint32_t sBase = (smem_u32(smem) + 1023u) & ~1023u;",
     "const uint32_t sBase = smem_u32(smem);"),
    ("wgmma: refill of the stage still read by in-flight wgmma", "const int next = kt + STAGES - 2;",
     "const int next = kt + STAGES - 1;"),
    ("wgmma: two groups left in flight", "    wgmma_commit();\n    wgmma_wait<1>();\n}", "    wgmma_commit();\n    wgmma_wait<2>();\n}"),
    ("wgmma: no barrier before the refill", "fence_proxy_async_smem();\n        __syncthreads();",
     "fence_proxy_async_smem();"),
    ("wgmma: descriptor stride 512 bytes", "wg_desc(smemAddr, 16, 1024)", "wg_desc(smemAddr, 16, 512)"),
    ("wgmma: k16 step advances 16 bytes", "wgmma_m64n256k16(acc, dA + 2 * s, dB + 2 * s);",
     "wgmma_m64n256k16(acc, dA + s, dB + s);"),
    ("wgmma: warpgroup rows", "wgmma_desc_sw128(stage + half * 64 * Cfg::ROW_BYTES)",
     "wgmma_desc_sw128(stage + half * 32 * Cfg::ROW_BYTES)"),
    ("wgmma: half the k-steps of a k-tile", "constexpr int KSTEPS = Cfg::ROW_BYTES / 32;",
     "constexpr int KSTEPS = Cfg::ROW_BYTES / 64;"),
    ("wgmma: epilogue accumulator order", "x = acc[4 * j + 2 * h];\n        y = acc[4 * j + 2 * h + 1];",
     "x = acc[4 * j + h];\n        y = acc[4 * j + h + 2];"),
    ("wgmma: epilogue warp rows", "M, N, m0 + wg * 64 + wq * 16 + g, n0 + 2 * t4);",
     "M, N, m0 + wg * 64 + wq * 8 + g, n0 + 2 * t4);"),
    ("bf16 epilogue: quad transpose without its second step",
     "const uint32_t r = __shfl_xor_sync(0xffffffffu, b0 ? x[2 * k] : x[2 * k + 1], 1);\n        if (b0) x[2 * k] = r;\n        else x[2 * k + 1] = r;",
     "(void)b0;"),
    ("bf16 epilogue: each lane stores the first block of its group",
     "col = col0 + 8 * (4 * q + t);", "col = col0 + 8 * (4 * q);"),
    ("bf16 epilogue: N predicate on the lane's own columns instead of its stored block",
     "if (row < M && col < ldc) gemm_st_bf16x8", "if (row < M && colBase + 8 * 4 * q < ldc) gemm_st_bf16x8"),
    # the FP8 instantiation of the wgmma kernel
    ("fp8: k-step of 16 bytes", "wgmma_m64n256k32_e4m3(acc, dA + 2 * s, dB + 2 * s);",
     "wgmma_m64n256k32_e4m3(acc, dA + s, dB + s);"),
    ("fp8: lower row's scale for both halves", "rowScale[h] = gemm_ld_scale(scales.a + rowBase + h * 8);",
     "rowScale[h] = gemm_ld_scale(scales.a + rowBase);"),
    ("fp8: column scales swapped", "gemm_ld_bias2(scales.w + col, w0, w1);", "gemm_ld_bias2(scales.w + col, w1, w0);"),
    ("fp8: loader chunk of 8 bytes", "aRow = A + (size_t)(aMask ? m0 + lr : 0) * rowBytes + lc * 16;",
     "aRow = A + (size_t)(aMask ? m0 + lr : 0) * rowBytes + lc * 8;"),
]

def main():
    src = open(SRC).read()
    exe = os.path.join(tempfile.gettempdir(), "gemm_emulator_mutant")
    survived = []
    runs = []
    for name, old, new in MUTANTS:
        n = src.count(old)
        if n == 0:
            print(f"SKIPPED (pattern not found): {name}")
            survived.append(name)
        for i in range(n):
            at = -1
            for _ in range(i + 1):
                at = src.index(old, at + 1)
            runs.append((name if n == 1 else f"{name} [occurrence {i + 1} of {n}]",
                         src[:at] + new + src[at + len(old):]))
    for name, mutated in runs:
        with tempfile.NamedTemporaryFile("w", suffix=".cuh", delete=False) as f:
            f.write(mutated)
        b = subprocess.run(["g++", "-std=c++20", "-O2", "-w", "-I", os.path.dirname(SRC), f'-DGEMM_CUH="{f.name}"', "-o", exe,
                            os.path.join(HERE, "gemm_emulator.cpp")], capture_output=True, text=True)
        if b.returncode != 0:
            print(f"does not compile: {name}\n{b.stderr[:2000]}")
            survived.append(name)
            continue
        r = subprocess.run([exe, "--tiny"], capture_output=True, text=True, timeout=600)
        caught = r.returncode != 0
        why = (r.stderr.strip().splitlines() or [l for l in r.stdout.splitlines() if "FAIL" in l] or [""])[0]
        print(f"{'caught  ' if caught else 'SURVIVED'}  {name}: {why[:120]}")
        if not caught:
            survived.append(name)
        os.unlink(f.name)
    print(f"{len(runs) - len(survived)} of {len(runs)} mutants caught")
    return 1 if survived else 0

if __name__ == "__main__":
    sys.exit(main())
