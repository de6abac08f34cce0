"""Torch side of the GEMM benchmark (compare with GemmBenchmark's TSV line by line).

Times torch.matmul(A, W.t()) in bf16 (cuBLAS; A [m, k] activations, W [n, k] a Linear weight) at
the same shapes as io.prefill.cuda.GemmBenchmark: random N(0,1) inputs, 3 input sets rotated so
that L2 does not hold an operand set between runs, 3 warm-up runs, median of 30 CUDA-event timings
of single calls. TFLOP/s = 2 m n k / time. Only bf16 output: the fp32 / residual-add rows of our
benchmark have no single-call torch counterpart.

Usage: python3 bench/torch_gemm_bench.py [out.tsv] [reps]
"""
import sys

import torch

CASES = [  # (case, m, n, k): same order and names as GemmBenchmark.cases()
    ("qkv", 16384, 6144, 4096),
    ("o_proj", 16384, 4096, 4096),
    ("gate_up", 16384, 28672, 4096),
    ("down", 16384, 4096, 14336),
    ("n1024", 16384, 1024, 4096),
    ("gate_up", 65536, 28672, 4096),
]


def bench(case, m, n, k, reps, out):
    free = torch.cuda.mem_get_info()[0]
    set_bytes = 2 * (m * k + n * k + m * n)
    sets = max(1, min(3, int((free - (4 << 30)) // set_bytes)))
    g = torch.Generator(device="cuda").manual_seed(m * 31 + n)
    a = [torch.randn(m, k, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(sets)]
    w = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(sets)]
    c = None
    for r in range(3):
        c = torch.matmul(a[r % sets], w[r % sets].t())
    torch.cuda.synchronize()
    times = []
    for r in range(reps):
        s = r % sets
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        c = torch.matmul(a[s], w[s].t())
        e1.record()
        e1.synchronize()
        times.append(e0.elapsed_time(e1))
    times.sort()
    ms = times[reps // 2]
    tf = 2.0 * m * n * k / (ms * 1e-3) / 1e12
    note = "" if sets == 3 else f" ({sets} input sets)"
    print(f"{case:<8s} {m:6d} {n:6d} {k:6d} {'bf16':<8s} {ms:10.3f} {tf:10.1f}{note}", flush=True)
    out.write(f"{case}\t{m}\t{n}\t{k}\tbf16\t{ms:.4f}\t{tf:.1f}\ttorch {torch.__version__}\n")
    del a, w, c
    torch.cuda.empty_cache()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "torch_gemm.tsv"
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, {reps} reps", flush=True)
    print(f"{'case':<8s} {'m':>6s} {'n':>6s} {'k':>6s} {'out':<8s} {'ms':>10s} {'TFLOP/s':>10s}", flush=True)
    with open(path, "w") as out:
        out.write("case\tm\tn\tk\tout\tms\ttflops\timpl\n")
        for case, m, n, k in CASES:
            bench(case, m, n, k, reps, out)


if __name__ == "__main__":
    main()
