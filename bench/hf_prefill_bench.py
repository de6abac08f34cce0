"""Hugging Face transformers pre-fill time on a synthetic Llama-3-8B, the baseline for PrefillBenchmark.

Usage: python3 bench/hf_prefill_bench.py OUT_TSV [LENGTHS]     (default 32768,131072,262144)

LlamaForCausalLM with the Llama-3-8B shape (32 layers, hidden 4096, 32 heads, 8 KV heads,
intermediate 14336, vocab 128256, rope_theta 500000), bf16, random N(0, 0.02) weights made on the
GPU (norm weights 1), attn_implementation="sdpa", batch 1, use_cache=False, logits at the last
position only (logits_to_keep=1), under torch.inference_mode(). One warm-up at 1024 tokens; each
length is timed with CUDA events (median of 3 up to 32K, of 2 up to 128K, 1 above) with the peak
of torch.cuda.max_memory_allocated. A length that runs out of GPU memory is recorded as "oom".
TSV columns: impl, n, seconds, peak_gib. For comparison, an earlier H100 run measured 1.37 s at
32K and 11.6 s at 128K, peak 29.6 GiB.
"""
import contextlib
import importlib
import inspect
import sys
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

SHAPE = dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
             num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=131072,
             rms_norm_eps=1e-5, hidden_act="silu", tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
ROPE_THETA = 500000.0
SEED = 1234
STD = 0.02
GIB = float(1 << 30)


def log(msg):
    print(f"[hf-prefill] {msg}", flush=True)


def make_config():
    kw = dict(SHAPE)
    fields = getattr(LlamaConfig, "__dataclass_fields__", {})
    try:
        params = inspect.signature(LlamaConfig.__init__).parameters
    except (TypeError, ValueError):
        params = {}
    if "rope_parameters" in fields or "rope_parameters" in params:   # transformers 5
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": ROPE_THETA}
    else:
        kw["rope_theta"] = ROPE_THETA
    kw["attn_implementation"] = "sdpa"
    config = LlamaConfig(**kw)
    try:
        config._attn_implementation = "sdpa"
    except AttributeError:
        pass
    return config


def no_init():
    """transformers' context that skips the random init (the weights are filled below anyway)."""
    for module in ("transformers.modeling_utils", "transformers.initialization"):
        try:
            fn = getattr(importlib.import_module(module), "no_init_weights")
        except (ImportError, AttributeError):
            continue
        try:
            return fn()
        except TypeError:
            try:
                return fn(_enable=True)
            except TypeError:
                pass
    return contextlib.nullcontext()


def build(skip_init=True):
    config = make_config()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"), (no_init() if skip_init else contextlib.nullcontext()):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model = model.eval()
    bad = [name for name, b in model.named_buffers() if b.is_floating_point() and not bool(torch.isfinite(b).all())]
    if bad:
        if not skip_init:
            raise SystemExit(f"buffers {bad} are not finite after building the model")
        log(f"buffers {bad} not finite with the init skipped: building again with transformers' init")
        del model
        torch.cuda.empty_cache()
        return build(skip_init=False)
    g = torch.Generator(device="cuda").manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dtype != torch.bfloat16:
                p.data = p.data.to(torch.bfloat16)
            if "norm" in name:
                p.fill_(1.0)
            else:
                p.normal_(0.0, STD, generator=g)
    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        try:
            model.set_attn_implementation("sdpa")
        except AttributeError:
            model.config._attn_implementation = "sdpa"
    return model


def run_once(model, ids, keep):
    if keep is not None:
        out = model(input_ids=ids, use_cache=False, **keep)
        return out.logits[:, -1]
    # very old transformers without logits_to_keep: the decoder, then lm_head on the last position
    hidden = model.model(input_ids=ids, use_cache=False).last_hidden_state
    return model.lm_head(hidden[:, -1:])[:, -1]


def timed(model, ids, keep):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    logits = run_once(model, ids, keep)
    end.record()
    end.synchronize()
    if not bool(torch.isfinite(logits.float()).all()):
        log("warning: non-finite logits (random weights); the timing still counts")
    return start.elapsed_time(end) / 1e3


def main(path, lengths):
    if not torch.cuda.is_available():
        raise SystemExit("hf_prefill_bench.py needs a CUDA device")
    impl = f"hf-transformers-{transformers.__version__} sdpa bf16"
    log(f"transformers {transformers.__version__}, torch {torch.__version__}, {torch.cuda.get_device_name()}")
    t = time.time()
    model = build()
    params = sum(p.numel() for p in model.parameters())
    log(f"model built in {time.time() - t:.1f} s: {params / 1e9:.2f} B parameters, "
        f"{torch.cuda.memory_allocated() / GIB:.1f} GiB allocated, attention {model.config._attn_implementation}")
    fwd = inspect.signature(model.forward).parameters
    keep = ({"logits_to_keep": 1} if "logits_to_keep" in fwd
            else {"num_logits_to_keep": 1} if "num_logits_to_keep" in fwd else None)
    log(f"last-position logits via {next(iter(keep)) if keep else 'model.model + lm_head'}")
    g = torch.Generator(device="cuda").manual_seed(SEED + 1)

    with torch.inference_mode(), open(path, "w") as out:
        out.write("impl\tn\tseconds\tpeak_gib\n")
        ids = torch.randint(0, SHAPE["vocab_size"], (1, 1024), device="cuda", generator=g)
        log(f"warm-up n=1024: {timed(model, ids, keep):.3f} s")
        for n in lengths:
            reps = 3 if n <= 32768 else 2 if n <= 131072 else 1
            ids = torch.randint(0, SHAPE["vocab_size"], (1, n), device="cuda", generator=g)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            times, oom = [], None
            try:
                for _ in range(reps):
                    times.append(timed(model, ids, keep))
                    log(f"n={n}: {times[-1]:.3f} s")
            except torch.cuda.OutOfMemoryError as e:
                oom = str(e).split("\n")[0][:160]
            peak = torch.cuda.max_memory_allocated() / GIB
            if oom is not None:
                torch.cuda.empty_cache()
                log(f"n={n}: out of memory after {peak:.1f} GiB peak ({oom})")
                out.write(f"{impl}\t{n}\toom\t{peak:.1f}\n")
            else:
                times.sort()
                median = times[len(times) // 2]
                tok_s = n / median
                log(f"n={n}: median {median:.3f} s of {reps} ({tok_s:,.0f} tokens/s), peak {peak:.1f} GiB")
                out.write(f"{impl}\t{n}\t{median:.3f}\t{peak:.1f}\n")
            out.flush()
            del ids
    log("reference (earlier H100 run): 1.37 s at 32768, 11.6 s at 131072, peak 29.6 GiB")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit("usage: python3 bench/hf_prefill_bench.py OUT_TSV [LENGTHS]")
    sizes = [int(x) for x in (sys.argv[2] if len(sys.argv) == 3 else "32768,131072,262144").split(",") if x]
    main(sys.argv[1], sizes)
