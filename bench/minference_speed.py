"""MInference's own sparse attention, timed on this card, for the side-by-side with ours
(io.prefill.cuda.AttentionBenchmark, same shapes, run in the same step by `run.sh minference-speed`).

    python3 bench/minference_speed.py PEER_DIR OUT.tsv [--sizes 32768,131072] [--repeat 3]

PEER_DIR is what bench/minference_semantics.py needs (MInference's csrc/ and minference/ops,
minference/modules/minference_forward.py); its Reference class loads it: the CUDA op
convert_vertical_slash_indexes built with torch's extension builder, the Triton kernels, and the
vertical-slash estimate of minference_forward.py executed as written. Nothing of it is in the
project.

One attention layer of the Llama-3-8B shape: 32 query heads, 8 KV heads, head_dim 128, bf16, the
'local' inputs of the semantics harness (RoPE-rotated, scores falling with distance) made on the
device. MInference's forward runs a layer's heads one after another, each with its own pattern
(minference_forward.py loops over the heads), so each case is timed over that loop of 32 heads:

  vs          vertical_and_slash_kernel(q, k, v, 1000, 6096) per head: the estimate (last 64
              queries against every key, softmax, column and diagonal sums, top-k), the index
              (convert_vertical_slash_indexes) and the Triton attention; also the estimate alone
              and the index + attention alone on the estimate's choice
  bs          block_sparse_attention(q, k, v, 100) per head: block index and Triton attention
  dense       torch SDPA over every head at once (flash or cuDNN, as torch picks)

Each time is the fastest of --repeat runs after a warm-up, with CUDA events. Rows: n, case, part,
ms (whole layer), note.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minference_semantics as ms  # noqa: E402

HEADS, KV_HEADS, D = 32, 8, 128


def local_inputs(torch, n, heads, seed):
    """[1, heads, n, D] bf16 on the device: per head one vector plus noise, RoPE-rotated (scores fall
    with i - j), as minference_semantics.inputs('local') but made on the device."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    freq = 10000.0 ** (-torch.arange(D // 2, device="cuda", dtype=torch.float32) / (D // 2))
    ang = torch.arange(n, device="cuda", dtype=torch.float32)[:, None] * freq[None, :]
    cos, sin = torch.cos(ang), torch.sin(ang)
    out = torch.empty((1, heads, n, D), device="cuda", dtype=torch.bfloat16)
    for h in range(heads):
        u = torch.randn(D, device="cuda", generator=g)
        x = u[None, :] + 0.6 * torch.randn((n, D), device="cuda", generator=g)
        a, b = x[:, : D // 2], x[:, D // 2:]
        out[0, h] = torch.cat([a * cos - b * sin, a * sin + b * cos], -1).to(torch.bfloat16)
        del x, a, b
    return out


def timed(torch, fn, repeat):
    fn()  # warm-up: Triton compiles, caches fill
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end))
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("peer")
    p.add_argument("out")
    p.add_argument("--sizes", default="32768,131072")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--vertical", type=int, default=1000)
    p.add_argument("--slash", type=int, default=6096)
    p.add_argument("--top-blocks", type=int, default=100)
    a = p.parse_args()
    import torch

    def log(s):
        print(s, flush=True)

    ref = ms.Reference(a.peer, os.path.join(os.path.dirname(os.path.abspath(a.out)), "minference-build"), log)
    for note in ref.notes:
        log("[minference-speed] " + note)
    rows = ["n\tcase\tpart\tms\tnote"]
    group = HEADS // KV_HEADS
    for n in [int(s) for s in a.sizes.split(",") if s.strip()]:
        t0 = time.time()
        q = local_inputs(torch, n, HEADS, 1)
        k = local_inputs(torch, n, KV_HEADS, 2)
        v = local_inputs(torch, n, KV_HEADS, 3)
        heads = [(q[:, h:h + 1], k[:, h // group:h // group + 1], v[:, h // group:h // group + 1]) for h in range(HEADS)]
        log(f"[minference-speed] n={n}: inputs made in {time.time() - t0:.1f} s")

        def row(case, part, millis, note=""):
            rows.append(f"{n}\t{case}\t{part}\t{millis:.3f}\t{note}")
            log(f"[minference-speed] n={n:<7d} {case:<22s} {part:<26s} {millis:10.3f} ms  {note}")

        ns = ref.ns
        ns.update(q_len=n, self=type("S", (), {"head_dim": D})())
        ns["vertical_slash_sparse_attention"] = ref.pit.vertical_slash_sparse_attention
        vs = f"vertical_slash({a.vertical}, {a.slash})"
        row(vs, "estimate+index+attention",
            timed(torch, lambda: [ns["vertical_and_slash_kernel"](qh, kh, vh, a.vertical, a.slash) for qh, kh, vh in heads],
                  a.repeat), "32 heads, one after another, as its forward runs them")
        chosen = []

        def capture(q_, k_, v_, vertical_topk, slash):
            chosen.append((vertical_topk, slash))

        ns["vertical_slash_sparse_attention"] = capture

        def estimate():
            chosen.clear()
            for qh, kh, vh in heads:
                ns["vertical_and_slash_kernel"](qh, kh, vh, a.vertical, a.slash)

        row(vs, "estimate", timed(torch, estimate, a.repeat))
        row(vs, "index+attention", timed(torch, lambda: [ref.pit.vertical_slash_sparse_attention(qh, kh, vh, c, s)
                                                         for (qh, kh, vh), (c, s) in zip(heads, chosen)], a.repeat))
        bs = f"block_sparse({a.top_blocks})"
        row(bs, "index+attention", timed(torch, lambda: [ref.bs.block_sparse_attention(qh, kh, vh, a.top_blocks)
                                                         for qh, kh, vh in heads], a.repeat))
        kf = k.repeat_interleave(group, dim=1)
        vf = v.repeat_interleave(group, dim=1)
        row("dense", "torch SDPA", timed(torch, lambda: torch.nn.functional.scaled_dot_product_attention(
            q, kf, vf, is_causal=True), a.repeat), f"torch {torch.__version__}, every head at once")
        del q, k, v, kf, vf, heads, chosen
        torch.cuda.empty_cache()
    with open(a.out, "w") as f:
        f.write("\n".join(rows) + "\n")
    log(f"[minference-speed] wrote {a.out}")


if __name__ == "__main__":
    main()
