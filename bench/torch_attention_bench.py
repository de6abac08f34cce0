"""Torch side of the attention benchmark, on the same card in the same bundle run.

Layer of 32 query heads, 8 KV heads, head_dim 128, bf16, batch 1, causal; times
scaled_dot_product_attention with the FLASH_ATTENTION backend (FlashAttention-2) and with the
default backend choice (cuDNN on Hopper), median of CUDA-event timings. TFLOP/s counts the causal
entries: 4 * d * heads * n(n+1)/2.
"""
import sys
import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend

H, KV, D = 32, 8, 128


def bench(fn, min_reps):
    """Median of CUDA-event timings after one warm-up, over at least min_reps runs and as many more
    as fill about half a second (at most 200), as the Java side's AttentionBenchmark.time does."""
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    fn()
    b.record()
    b.synchronize()
    reps = max(min_reps, min(200, int(500.0 / max(a.elapsed_time(b), 1e-3)) + 1))
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def run(n, out):
    g = torch.Generator(device="cuda").manual_seed(n)
    q = torch.randn(1, H, n, D, device="cuda", dtype=torch.bfloat16, generator=g)
    k = torch.randn(1, KV, n, D, device="cuda", dtype=torch.bfloat16, generator=g)
    v = torch.randn(1, KV, n, D, device="cuda", dtype=torch.bfloat16, generator=g)
    flops = 4.0 * D * H * n * (n + 1) / 2
    reps = 2 if n >= 262144 else 5
    for label, backend in (("torch SDPA FLASH_ATTENTION", [SDPBackend.FLASH_ATTENTION]), ("torch SDPA default", None)):
        def call():
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        try:
            if backend is None:
                ms = bench(call, reps)
            else:
                with sdpa_kernel(backend):
                    ms = bench(call, reps)
            note = ""
        except RuntimeError as e:  # GQA not supported by that backend in this torch: expand K/V
            kk, vv = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
            def call2():
                return F.scaled_dot_product_attention(q, kk, vv, is_causal=True)
            with sdpa_kernel(backend or [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION]):
                ms = bench(call2, reps)
            note = "K/V expanded to 32 heads (" + str(e).split("\n")[0][:60] + ")"
        tf = flops / (ms * 1e-3) / 1e12
        line = f"n={n:<7d} {label:<58s} {ms:10.3f} ms  {tf:7.1f} TFLOP/s {note}"
        print(line, flush=True)
        out.write(f"{n}\t{label}\t{ms:.3f}\t{tf:.1f}\t{note}\n")
    del q, k, v
    torch.cuda.empty_cache()


if __name__ == "__main__":
    sizes = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "32768,131072,524288").split(",")]
    path = sys.argv[2] if len(sys.argv) > 2 else "torch_bench.tsv"
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}", flush=True)
    with open(path, "w") as out:
        for n in sizes:
            run(n, out)
