"""Torch side of the GEMM benchmark (compare with GemmBenchmark's TSV line by line).

Times torch.matmul(A, W.t()) in bf16 (cuBLAS; A [m, k] activations, W [n, k] a Linear weight) at
the same shapes as io.prefill.cuda.GemmBenchmark: random N(0,1) inputs, 3 input sets rotated so
that L2 does not hold an operand set between runs, 3 warm-up runs, median of 30 CUDA-event timings
of single calls. TFLOP/s = 2 m n k / time. Only bf16 output: the fp32 / residual-add rows of our
benchmark have no single-call torch counterpart.

With --fp8: torch._scaled_mm on E4M3 operands (A [m, k] row-major, W [n, k] row-major, i.e. the
column-major [k, n] the call wants) with row-wise fp32 scales (one per row of A, one per row of W)
and bf16 output, the counterpart of GemmBenchmark --fp8, at its shapes (the 8B rows, then
Llama-3-70B's projections), each twice: use_fast_accum=True (the tensor cores' own FP8 accumulation,
as ours) and False (partial sums promoted to fp32, torch's default).

Usage: python3 bench/torch_gemm_bench.py [out.tsv] [reps] [--fp8]
"""
import sys
import time

import torch

PROJECTIONS = [("qkv", 6144, 4096), ("o_proj", 4096, 4096), ("gate_up", 28672, 4096), ("down", 4096, 14336)]
RESIDUAL = [p for p in PROJECTIONS if p[0] in ("o_proj", "down")]  # these add into the fp32 stream
CASES = (  # (case, m, n, k[, mode]): the names and shapes of GemmBenchmark.cases()
    [(c, 16384, n, k) for c, n, k in PROJECTIONS]
    + [("n1024", 16384, 1024, 4096), ("gate_up", 65536, 28672, 4096)]
    + [(c, 16384, n, k, "add_f32") for c, n, k in RESIDUAL]
    + [(c, 2048, n, k) for c, n, k in PROJECTIONS]
    + [(c, 2048, n, k, "add_f32") for c, n, k in RESIDUAL]
)
# add_f32: what GemmBenchmark's ADD_F32 rows do in one kernel (the residual add into the fp32
# stream after the O- and down-projections), done the way torch code does it: the product in
# bf16, then c += product in fp32 (two kernels; the time is both).


CASES_FP8 = CASES[:4] + [
    ("qkv_70b", 16384, 10240, 8192),
    ("o_70b", 16384, 8192, 8192),
    ("gate_up_70b", 16384, 57344, 8192),
    ("down_70b", 16384, 8192, 28672),
]


def median_ms(once, sets, reps):
    """Median CUDA-event time of single calls once(set) after 3 warm-up calls, rotating the input sets."""
    for r in range(3):
        once(r % sets)
    torch.cuda.synchronize()
    times = []
    for r in range(reps):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        once(r % sets)
        e1.record()
        e1.synchronize()
        times.append(e0.elapsed_time(e1))
    times.sort()
    return times[reps // 2]


def bench_fp8(case, m, n, k, reps, out, fast_accum):
    free = torch.cuda.mem_get_info()[0]
    set_bytes = m * k + n * k + 2 * m * n
    sets = max(1, min(3, int((free - (4 << 30)) // set_bytes)))
    g = torch.Generator(device="cuda").manual_seed(m * 31 + n)
    f8 = torch.float8_e4m3fn
    a = [torch.randn(m, k, device="cuda", generator=g).to(f8) for _ in range(sets)]
    w = [torch.randn(n, k, device="cuda", generator=g).to(f8) for _ in range(sets)]
    sa = torch.ones(m, 1, device="cuda", dtype=torch.float32)
    sb = torch.ones(1, n, device="cuda", dtype=torch.float32)

    def once(s):
        return torch._scaled_mm(a[s], w[s].t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16,
                                use_fast_accum=fast_accum)

    ms = median_ms(once, sets, reps)
    tf = 2.0 * m * n * k / (ms * 1e-3) / 1e12
    note = "" if sets == 3 else f" ({sets} input sets)"
    acc = "fast_accum" if fast_accum else "fp32_accum"
    print(f"{case:<12s} {m:6d} {n:6d} {k:6d} {acc:<10s} {ms:10.3f} {tf:10.1f}{note}", flush=True)
    out.write(f"{case}\t{m}\t{n}\t{k}\tbf16\t{ms:.4f}\t{tf:.1f}\ttorch {torch.__version__} _scaled_mm FP8 {acc}\n")
    del a, w
    torch.cuda.empty_cache()


def bench(case, m, n, k, reps, out, mode="bf16"):
    free = torch.cuda.mem_get_info()[0]
    set_bytes = 2 * (m * k + n * k + m * n) + (4 * m * n if mode == "add_f32" else 0)
    sets = max(1, min(3, int((free - (4 << 30)) // set_bytes)))
    g = torch.Generator(device="cuda").manual_seed(m * 31 + n)
    a = [torch.randn(m, k, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(sets)]
    w = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(sets)]
    if mode == "add_f32":
        c = [torch.zeros(m, n, device="cuda", dtype=torch.float32) for _ in range(sets)]
        ms = median_ms(lambda s: c[s].add_(torch.matmul(a[s], w[s].t())), sets, reps)
    else:
        c = []
        ms = median_ms(lambda s: torch.matmul(a[s], w[s].t()), sets, reps)
    tf = 2.0 * m * n * k / (ms * 1e-3) / 1e12
    note = "" if sets == 3 else f" ({sets} input sets)"
    print(f"{case:<8s} {m:6d} {n:6d} {k:6d} {mode:<8s} {ms:10.3f} {tf:10.1f}{note}", flush=True)
    out.write(f"{case}\t{m}\t{n}\t{k}\t{mode}\t{ms:.4f}\t{tf:.1f}\ttorch {torch.__version__}\n")
    del a, w, c
    torch.cuda.empty_cache()


def warm_up(seconds=1.0):
    """Runs a large product for about `seconds` first, so the first case is not timed on a cold card
    (GemmBenchmark does the same)."""
    a = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    t0 = time.time()
    while time.time() - t0 < seconds:
        for _ in range(20):
            a @ w.t()
        torch.cuda.synchronize()


def main():
    fp8 = "--fp8" in sys.argv
    args = [x for x in sys.argv[1:] if x != "--fp8"]
    path = args[0] if len(args) > 0 else "torch_gemm.tsv"
    reps = int(args[1]) if len(args) > 1 else 30
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, {reps} reps", flush=True)
    warm_up()
    print(f"{'case':<8s} {'m':>6s} {'n':>6s} {'k':>6s} {'out':<8s} {'ms':>10s} {'TFLOP/s':>10s}", flush=True)
    with open(path, "w") as out:
        out.write("case\tm\tn\tk\tout\tms\ttflops\timpl\n")
        for case, m, n, k, *mode in (CASES_FP8 if fp8 else CASES):
            if fp8:
                bench_fp8(case, m, n, k, reps, out, True)
                bench_fp8(case, m, n, k, reps, out, False)
            else:
                bench(case, m, n, k, reps, out, *mode)


if __name__ == "__main__":
    main()
