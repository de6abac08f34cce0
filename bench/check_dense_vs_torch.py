"""Cross-check our dense kernel against torch scaled_dot_product_attention on the same inputs.

Reads the raw bf16 files written by `AttentionBenchmark --dump DIR` (Q [h,n,d], K/V [kv,n,d],
our output [h,n,d]) and prints ||ours - torch|| / ||torch|| with torch computed in fp32 from the
same bf16 inputs. Exits 1 if any case exceeds 1e-2 or has a non-finite element.
"""
import sys
import numpy as np
import torch
import torch.nn.functional as F


def load(path, shape):
    raw = np.fromfile(path, dtype=np.uint16).astype(np.uint32) << 16
    return torch.from_numpy(raw.view(np.float32).reshape(shape).copy())


def main(d):
    ok = True
    for line in open(f"{d}/cases.txt"):
        name, h, kv, n, hd = line.split()
        h, kv, n, hd = int(h), int(kv), int(n), int(hd)
        q = load(f"{d}/{name}.q.bf16", (h, n, hd)).cuda()
        k = load(f"{d}/{name}.k.bf16", (kv, n, hd)).cuda()
        v = load(f"{d}/{name}.v.bf16", (kv, n, hd)).cuda()
        ours = load(f"{d}/{name}.out.bf16", (h, n, hd)).cuda()
        g = h // kv
        ref = F.scaled_dot_product_attention(q[None], k.repeat_interleave(g, 0)[None],
                                             v.repeat_interleave(g, 0)[None], is_causal=True)[0]
        tref = F.scaled_dot_product_attention(q[None].bfloat16(), k.repeat_interleave(g, 0)[None].bfloat16(),
                                              v.repeat_interleave(g, 0)[None].bfloat16(), is_causal=True)[0].float()
        finite = bool(torch.isfinite(ours).all())
        rel = ((ours - ref).norm() / ref.norm()).item()
        rel_torch_bf16 = ((tref - ref).norm() / ref.norm()).item()
        good = finite and rel < 1e-2
        ok &= good
        print(f"{name}: ours vs torch fp32 rel={rel:.2e} (torch bf16 SDPA vs fp32: {rel_torch_bf16:.2e}) "
              f"finite={finite} {'OK' if good else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1])
