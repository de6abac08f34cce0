"""MInference's whole-model pre-fill on a synthetic Llama-3-8B, beside transformers dense, for the
comparison with ours (io.prefill.cuda.forward.PrefillBenchmark, same card, same step).

    python3 bench/minference_model_bench.py PEER_DIR OUT.tsv [--sizes 32768,131072] [--patterns CONFIG]

The model is bench/hf_prefill_bench.py's: LlamaForCausalLM with the Llama-3-8B shape, bf16,
N(0, 0.02) weights made on the GPU, batch 1, use_cache=False, last-position logits only. Two
attention implementations run on the same weights and token ids:
  minference   every layer's attention as MInference's forward runs it: per head, one after
               another, its pattern from the published config (--patterns, MInference's
               Llama-3-8B-Instruct-262k file: every head vertical-slash, mostly (1000, 6096));
               vertical_and_slash_kernel of minference_forward.py executed as written (the
               estimate, its CUDA op convert_vertical_slash_indexes built with torch's extension
               builder, its Triton attention), block_sparse_attention for block-sparse heads;
               the KV head of each query head is read without a copy (GQA)
  sdpa         transformers' own torch SDPA attention, dense
PEER_DIR is MInference's source (the files bench/minference_semantics.py names); nothing of it is
in the project. MInference's code is plugged in through transformers' attention-function registry
(AttentionInterface), everything else is transformers' Llama. Each length: one untimed run, then
the median of --repeat timed runs (CUDA events), and the peak memory. TSV: impl, n, seconds,
peak_gib.
"""
import argparse
import json
import os
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_prefill_bench as hf  # noqa: E402
import minference_semantics as ms  # noqa: E402

import torch  # noqa: E402


def log(msg):
    print(f"[minference-model] {msg}", flush=True)


def load_patterns(path, layers, heads):
    """[layer][head] -> (kind, vertical, slash) from MInference's config ([{head: [kind, v, s, score]}])."""
    if path is None:
        return [[("vertical_and_slash", 1000, 6096)] * heads for _ in range(layers)]
    cfg = json.load(open(path))
    if len(cfg) != layers:
        raise SystemExit(f"{path}: {len(cfg)} layers, the model has {layers}")
    out = []
    for layer in cfg:
        row = []
        for h in range(heads):
            kind, v, s = layer[str(h)][:3]
            row.append((kind, int(v), int(s)))
        out.append(row)
    return out


def make_attention(ref, patterns):
    ns = ref.ns

    def minference_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        # query [b, H, n, d]; key, value [b, Hkv, n, d]; returns [b, n, H, d] as sdpa_attention_forward does
        b, heads, n, d = query.shape
        group = heads // key.shape[1]
        ns.update(q_len=n, self=types.SimpleNamespace(head_dim=d))
        ns["vertical_slash_sparse_attention"] = ref.pit.vertical_slash_sparse_attention
        out = torch.empty_like(query)
        layer = getattr(module, "layer_idx", 0)
        for h in range(heads):
            kv = h // group
            q, k, v = query[:, h:h + 1], key[:, kv:kv + 1], value[:, kv:kv + 1]
            kind, vsize, ssize = patterns[layer][h]
            if kind == "vertical_and_slash":
                out[:, h:h + 1] = ns["vertical_and_slash_kernel"](q, k, v, vsize, ssize)
            elif kind == "block_sparse":
                out[:, h:h + 1] = ref.bs.block_sparse_attention(q, k, v, 100)
            else:
                raise SystemExit(f"layer {layer} head {h}: pattern {kind} is not wired into this benchmark")
        return out.transpose(1, 2).contiguous(), None

    return minference_attention


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("peer")
    p.add_argument("out")
    p.add_argument("--sizes", default="32768,131072")
    p.add_argument("--patterns", default=None)
    p.add_argument("--repeat", type=int, default=1)
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    ref = ms.Reference(a.peer, os.path.join(os.path.dirname(os.path.abspath(a.out)), "minference-build"), log)
    for note in ref.notes:
        log(note)
    from transformers import AttentionInterface
    t = time.time()
    model = hf.build()
    cfg = model.config
    patterns = load_patterns(a.patterns, cfg.num_hidden_layers, cfg.num_attention_heads)
    AttentionInterface.register("minference_heads", make_attention(ref, patterns))
    log(f"model built in {time.time() - t:.1f} s; patterns: {a.patterns or 'every head vertical_and_slash(1000, 6096)'}")
    keep = {"logits_to_keep": 1}
    g = torch.Generator(device="cuda").manual_seed(hf.SEED + 1)
    rows = ["impl\tn\tseconds\tpeak_gib"]
    with torch.inference_mode():
        for impl in ("minference_heads", "sdpa"):
            try:
                model.set_attn_implementation(impl)
            except (AttributeError, ValueError, KeyError):
                cfg._attn_implementation = impl
            log(f"attention: {model.config._attn_implementation}")
            label = ("MInference (its kernels per head, transformers " if impl != "sdpa" else "transformers sdpa dense (") \
                + f"{hf.transformers.__version__}, torch {torch.__version__})"
            ids = torch.randint(0, hf.SHAPE["vocab_size"], (1, 8192), device="cuda", generator=g)
            log(f"{impl}: warm-up n=8192 {hf.timed(model, ids, keep):.3f} s")
            for n in sizes:
                ids = torch.randint(0, hf.SHAPE["vocab_size"], (1, n), device="cuda", generator=torch.Generator(
                    device="cuda").manual_seed(n))
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
                hf.timed(model, ids, keep)  # untimed: Triton autotuning and caches at this length
                times = sorted(hf.timed(model, ids, keep) for _ in range(a.repeat))
                peak = torch.cuda.max_memory_allocated() / hf.GIB
                med = times[len(times) // 2]
                log(f"{impl} n={n}: {med:.3f} s (runs {', '.join(f'{x:.3f}' for x in times)}), peak {peak:.1f} GiB")
                rows.append(f"{label}\t{n}\t{med:.3f}\t{peak:.1f}")
    with open(a.out, "w") as f:
        f.write("\n".join(rows) + "\n")
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
