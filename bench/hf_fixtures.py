"""Hugging Face reference logits for the whole-model parity test (HuggingFaceParityGpuTest).

Usage: python3 bench/hf_fixtures.py OUT_DIR

Builds four tiny random checkpoints with transformers, saved in bf16 safetensors with
save_pretrained, and the last-position logits transformers computes for seeded random prompts:

  llama3-tiny  LlamaForCausalLM: hidden 512, 8 heads, 2 KV heads, head_dim 64, intermediate 1376,
               3 layers, vocab 4096, rope_theta 500000 with llama3 rope scaling (factor 8, original
               8192 positions), rms_norm_eps 1e-5, untied lm_head
  qwen2-tiny   Qwen2ForCausalLM: the same shape, q/k/v bias, rope_theta 1e6, tied embeddings
  phi3-tiny    Phi3ForCausalLM: hidden 768, 8 heads of 96 (2 KV heads), fused qkv_proj and
               gate_up_proj, rope_theta 10000 with longrope scaling over an original context of
               256 positions (max_position_embeddings 32768): prompts of 1 and 17 tokens use the
               short factors, 300 and more the long ones, all with cos/sin scaled by
               sqrt(1 + ln 128 / ln 256). head_dim 96 runs on the cuda backend with its heads
               zero-padded to the kernels' 128
  glm-tiny     GlmForCausalLM: the llama3-tiny shape with q/k/v bias, fused gate_up_proj and
               GLM's interleaved rotary over half of each head (partial_rotary_factor 0.5),
               rope_theta 10000

GlmForCausalLM needs transformers 4.46 or later; with an older one glm-tiny is left out (said so).
The rope settings each model takes are checked against its inv_freq buffer after loading; for
phi3-tiny that is the short-factor table (transformers chooses the factors by sequence length,
long beyond original_max_position_embeddings), and a transformers that starts from the long
factors is refused, since the fixtures would then not test what the engine implements.

Weights are N(0, 0.05) except the embedding, N(0, 1), o_proj, N(0, 0.08), and down_proj, N(0, 0.01);
biases are N(0, 0.3) and norm weights uniform in [0.6, 1.4] (the final norm of the tied Qwen2 model
scaled by 0.05, its lm_head being the embedding). The logits are then O(1) (rms about
1.2, so their argmax means something) and depend strongly on the context (attention), while the
network stays tame enough that transformers' own bf16 logits are within 0.5-0.95e-2 of the float64
run (measured on an H100, transformers 5.17; with all weights N(0, 0.05) the 3 layers were chaotic,
bf16 1-2e-2 from float64, above the parity test's 1e-2 bound). The Qwen2 argmax is the prompt's last
token (tied lm_head and an embedding-dominated residual), so its argmax check is an easy one; its L2
check is not. For each model and n in LENGTHS it writes

  OUT_DIR/<model>/config.json, model.safetensors     (as save_pretrained wrote them)
  OUT_DIR/<model>/case-<n>.tokens.i32                 prompt token ids, little-endian int32
  OUT_DIR/<model>/case-<n>.logits.f32                 last-position logits of the bf16 model
                                                      (sdpa attention), as little-endian float32
  OUT_DIR/<model>/case-<n>.logits-fp32.f32            the "truth": the same checkpoint upcast to
                                                      float64 with eager attention (transformers
                                                      still does RMSNorm and softmax in fp32), as
                                                      float32; absent where it did not fit
  OUT_DIR/manifest.json                               models, lengths, versions, per-case numbers

and prints one line per case (ctx: relative change of the bf16 logits when the prompt keeps its
last token but gets another random prefix, i.e. how much attention matters; gap: truth's top-1
minus top-2 logit). Every model is reloaded with from_pretrained before running, the
way a user would load them. Works with transformers 4.4x/4.5x and 5.x (rope_parameters, dtype).
"""
import dataclasses
import inspect
import json
import math
import os
import sys
import time

import numpy as np
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM, Phi3Config, Phi3ForCausalLM, Qwen2Config, Qwen2ForCausalLM

GlmConfig = getattr(transformers, "GlmConfig", None)            # transformers >= 4.46
GlmForCausalLM = getattr(transformers, "GlmForCausalLM", None)

SEED = 20261127
LENGTHS = [1, 17, 300, 2048, 8192]
TRUTH_MAX_N = 8192          # float64 eager reference up to this length (about 12 GiB at 8192)
WEIGHT_STD = 0.05           # q/k/v, gate/up, lm_head
EMBED_STD = 1.0             # the residual stream starts at rms 1 ...
O_PROJ_STD = 0.08           # ... attention adds about as much (the context matters) ...
DOWN_PROJ_STD = 0.01        # ... and the MLP little (keeps bf16 error growth through the layers low)
BIAS_STD = 0.3
NORM_RANGE = (0.6, 1.4)
LLAMA3_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 8192}
# Phi-3's longrope over 48 rotary pairs (head_dim 96): divisors of the inverse frequencies, mild ones
# up to the original context and growing to 64 for the slowest pairs beyond it, shaped like the
# published Phi-3-mini-128k lists.
PHI3_ORIGINAL_CONTEXT = 256
PHI3_LONGROPE = {"rope_type": "longrope",
                 "short_factor": [round(1.0 + 1.5 * (i / 47) ** 2, 4) for i in range(48)],
                 "long_factor": [round(1.0 + 63.0 * (i / 47) ** 1.5, 4) for i in range(48)]}
COMMON = dict(vocab_size=4096, hidden_size=512, intermediate_size=1376, num_hidden_layers=3,
              num_attention_heads=8, num_key_value_heads=2, rms_norm_eps=1e-5, hidden_act="silu",
              initializer_range=WEIGHT_STD, bos_token_id=1, eos_token_id=2)
MODELS = [
    # name, config class, model class, extra config, rope_theta, rope scaling
    ("llama3-tiny", LlamaConfig, LlamaForCausalLM,
     dict(head_dim=64, tie_word_embeddings=False, attention_bias=False, max_position_embeddings=131072),
     500000.0, LLAMA3_SCALING),
    ("qwen2-tiny", Qwen2Config, Qwen2ForCausalLM,
     dict(tie_word_embeddings=True, use_sliding_window=False, max_position_embeddings=32768),
     1000000.0, None),
    # pad_token_id: the config classes' defaults (32000, 151329) lie outside the tiny vocabulary
    ("phi3-tiny", Phi3Config, Phi3ForCausalLM,
     dict(hidden_size=768, tie_word_embeddings=False, max_position_embeddings=32768,
          original_max_position_embeddings=PHI3_ORIGINAL_CONTEXT, sliding_window=None, pad_token_id=None),
     10000.0, PHI3_LONGROPE),
]
if GlmForCausalLM is not None:
    MODELS.append(
        ("glm-tiny", GlmConfig, GlmForCausalLM,
         dict(head_dim=64, partial_rotary_factor=0.5, attention_bias=True, tie_word_embeddings=False,
              max_position_embeddings=131072, pad_token_id=None),
         10000.0, None))
else:
    print(f"[hf-fixtures] transformers {transformers.__version__} has no GlmForCausalLM: glm-tiny left out", flush=True)


def tf_version():
    parts = []
    for p in transformers.__version__.split(".")[:2]:
        digits = "".join(c for c in p if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def has_rope_parameters(config_cls):
    """transformers 5 keeps rope_theta and the scaling block in config.rope_parameters."""
    if dataclasses.is_dataclass(config_cls):
        if any(f.name == "rope_parameters" for f in dataclasses.fields(config_cls)):
            return True
    try:
        if "rope_parameters" in inspect.signature(config_cls.__init__).parameters:
            return True
    except (TypeError, ValueError):
        pass
    return False


def make_config(config_cls, extra, rope_theta, scaling):
    kw = dict(COMMON)
    kw.update(extra)
    if has_rope_parameters(config_cls):
        rope = dict(scaling) if scaling else {"rope_type": "default"}
        rope["rope_theta"] = rope_theta
        if "partial_rotary_factor" in extra:
            rope["partial_rotary_factor"] = extra["partial_rotary_factor"]
        kw["rope_parameters"] = rope
    else:
        kw["rope_theta"] = rope_theta
        rope = dict(scaling) if scaling else None
        if rope is not None and config_cls is Phi3Config:
            # transformers 4.x's Phi3Config wants exactly "type", "short_factor" and "long_factor"
            rope["type"] = rope.pop("rope_type")
        kw["rope_scaling"] = rope
    return config_cls(**kw)


def head_dim_of(extra):
    return extra.get("head_dim") or extra.get("hidden_size", COMMON["hidden_size"]) // COMMON["num_attention_heads"]


def dtype_kwargs(dtype):
    """from_pretrained's dtype argument: `dtype` from transformers 4.56 on, `torch_dtype` before."""
    return {"dtype": dtype} if tf_version() >= (4, 56) else {"torch_dtype": dtype}


def load(model_cls, path, dtype, attn):
    model = model_cls.from_pretrained(path, attn_implementation=attn, **dtype_kwargs(dtype))
    # Should an older transformers have ignored the dtype keyword, cast the parameters only (a
    # model.to(dtype) would also cast the fp32 inv_freq buffer, which from_pretrained keeps in fp32).
    for p in model.parameters():
        if p.dtype != dtype:
            p.data = p.data.to(dtype)
    model = model.to("cuda").eval()
    got = getattr(model.config, "_attn_implementation", None)
    if got != attn:
        raise SystemExit(f"{path}: asked for attn_implementation={attn}, model uses {got}")
    return model


def keep_last_kwargs(model):
    params = inspect.signature(model.forward).parameters
    if "logits_to_keep" in params:
        return {"logits_to_keep": 1}
    if "num_logits_to_keep" in params:
        return {"num_logits_to_keep": 1}
    return {}


@torch.inference_mode()
def last_logits(model, tokens):
    ids = torch.from_numpy(tokens.astype(np.int64)).to("cuda")[None]
    out = model(input_ids=ids, use_cache=False, **keep_last_kwargs(model))
    return out.logits[0, -1].float().cpu().numpy().astype(np.float64)


def expected_inv_freq(head_dim, partial_rotary_factor, theta, scaling):
    """The inverse frequencies a fresh model holds: over the rotary dimensions; longrope's short factors."""
    dim = int(head_dim * partial_rotary_factor)
    inv = 1.0 / (theta ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    if not scaling:
        return inv
    if scaling["rope_type"] == "longrope":
        return inv / np.asarray(scaling["short_factor"], dtype=np.float64)
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv
    scaled = np.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return np.where(medium, smoothed, scaled)


def check_rope(model, name, extra, theta, scaling):
    """The rotary frequencies transformers uses must be the ones this fixture means to test."""
    bufs = [(n, b) for n, b in model.named_buffers() if n.endswith("inv_freq") and "original" not in n]
    if not bufs:
        print(f"[hf-fixtures] {name}: no inv_freq buffer found, rope not checked", flush=True)
        return "unchecked"
    bname, buf = bufs[0]
    got = buf.detach().double().cpu().numpy()
    want = expected_inv_freq(head_dim_of(extra), extra.get("partial_rotary_factor", 1.0), theta, scaling)
    if got.shape != want.shape:
        raise SystemExit(f"{name}: {bname} has {got.shape[0]} frequencies, expected {want.shape[0]} "
                         f"(head_dim {head_dim_of(extra)}, partial_rotary_factor {extra.get('partial_rotary_factor', 1.0)})")
    rel = float(np.max(np.abs(got - want) / want))
    # fp32 frequencies agree to ~1e-7; a buffer kept in bf16 to ~4e-3; a rope setting not taken is off by far more
    tol = 8e-3 if buf.dtype in (torch.bfloat16, torch.float16) else 1e-5
    if not rel < tol:
        hint = ""
        if scaling and scaling["rope_type"] == "longrope":
            long_inv = want * np.asarray(scaling["short_factor"]) / np.asarray(scaling["long_factor"])
            if float(np.max(np.abs(got - long_inv) / long_inv)) < tol:
                hint = (" (it starts from the long factors: this transformers does not choose longrope's factors "
                        "by sequence length; use a newer one)")
        raise SystemExit(f"{name}: {bname} differs from the intended rope (theta {theta}, scaling {scaling}): "
                         f"max rel {rel:.2e}; transformers did not take the rope settings{hint}")
    return str(buf.dtype).replace("torch.", "")


def save(model, path):
    kw = {}
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        kw["safe_serialization"] = True
    model.save_pretrained(path, **kw)
    if not os.path.exists(os.path.join(path, "model.safetensors")):
        raise SystemExit(f"{path}: save_pretrained wrote no single model.safetensors: {sorted(os.listdir(path))}")


def build(name, config_cls, model_cls, extra, theta, scaling, path, seed):
    config = make_config(config_cls, extra, theta, scaling)
    torch.manual_seed(seed)
    model = model_cls(config)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                lo, hi = NORM_RANGE
                p.copy_(lo + (hi - lo) * torch.rand(p.shape, generator=g))
                if pname == "model.norm.weight" and extra.get("tie_word_embeddings"):
                    p.mul_(WEIGHT_STD / EMBED_STD)   # tied lm_head is the N(0, 1) embedding: keep logits O(1)
            elif pname.endswith(".bias"):
                p.copy_(BIAS_STD * torch.randn(p.shape, generator=g))
            else:
                std = (EMBED_STD if "embed_tokens" in pname else O_PROJ_STD if "o_proj" in pname
                       else DOWN_PROJ_STD if "down_proj" in pname else WEIGHT_STD)
                p.copy_(std * torch.randn(p.shape, generator=g))
    model = model.to(torch.bfloat16)
    save(model, path)
    with open(os.path.join(path, "config.json")) as f:
        saved = json.load(f)
    from safetensors import safe_open
    with safe_open(os.path.join(path, "model.safetensors"), framework="pt") as f:
        keys = list(f.keys())
        dtypes = sorted({str(f.get_tensor(k).dtype).replace("torch.", "") for k in keys})
    print(f"[hf-fixtures] {name}: saved {len(keys)} tensors ({','.join(dtypes)}), lm_head.weight "
          f"{'present' if 'lm_head.weight' in keys else 'absent'}; config rope: "
          f"{ {k: saved[k] for k in ('rope_theta', 'rope_scaling', 'rope_parameters') if k in saved} }", flush=True)
    return saved


def stats(logits):
    order = np.argsort(-logits)
    return int(order[0]), float(logits[order[0]] - logits[order[1]]), float(np.sqrt(np.mean(logits ** 2)))


def rel_l2(a, ref):
    return float(np.linalg.norm(a - ref) / max(np.linalg.norm(ref), 1e-30))


def main(out):
    if not torch.cuda.is_available():
        raise SystemExit("hf_fixtures.py needs a CUDA device")
    t0 = time.time()
    os.makedirs(out, exist_ok=True)
    print(f"[hf-fixtures] transformers {transformers.__version__}, torch {torch.__version__}, "
          f"{torch.cuda.get_device_name()}", flush=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    manifest = {"format": "prefill-hf-fixtures-1", "seed": SEED, "lengths": LENGTHS,
                "transformers": transformers.__version__, "torch": torch.__version__,
                "device": torch.cuda.get_device_name(), "truth": "float64 eager (RMSNorm and softmax in fp32)",
                "models": []}
    print(f"{'model':<12s} {'n':>6s} {'ctx':>5s} {'argmax':>7s} {'truth':>7s} {'gap':>8s} {'rms':>7s} "
          f"{'bf16-vs-truth':>13s} {'s(bf16)':>8s} {'s(truth)':>8s}", flush=True)
    for index, (name, config_cls, model_cls, extra, theta, scaling) in enumerate(MODELS):
        path = os.path.join(out, name)
        os.makedirs(path, exist_ok=True)
        saved = build(name, config_cls, model_cls, extra, theta, scaling, path, SEED + index)
        entry = {"name": name, "dir": name, "architecture": saved.get("architectures", ["?"])[0],
                 "rope_theta": theta, "rope_scaling": scaling, "config": saved, "cases": []}
        rng = np.random.default_rng(SEED + 1000 * (index + 1))
        prompts = {n: rng.integers(0, COMMON["vocab_size"], size=n, dtype=np.int64) for n in LENGTHS}
        for n, tokens in prompts.items():
            tokens.astype("<i4").tofile(os.path.join(path, f"case-{n}.tokens.i32"))

        model = load(model_cls, path, torch.bfloat16, "sdpa")
        entry["inv_freq_dtype_bf16"] = check_rope(model, name, extra, theta, scaling)
        bf16, seconds, context = {}, {}, {}
        for n, tokens in prompts.items():
            torch.cuda.synchronize()
            t = time.time()
            bf16[n] = last_logits(model, tokens)
            seconds[n] = time.time() - t
            bf16[n].astype("<f4").tofile(os.path.join(path, f"case-{n}.logits.f32"))
            if n > 1:  # how much the context moves the logits: same last token, another random prefix
                other = tokens.copy()
                other[:-1] = rng.integers(0, COMMON["vocab_size"], size=n - 1, dtype=np.int64)
                context[n] = rel_l2(last_logits(model, other), bf16[n])
        del model
        torch.cuda.empty_cache()

        truth, truth_seconds, truth_notes = {}, {}, {}
        model = load(model_cls, path, torch.float64, "eager")
        entry["inv_freq_dtype_truth"] = check_rope(model, name, extra, theta, scaling)
        for n, tokens in prompts.items():
            if n > TRUTH_MAX_N:
                truth_notes[n] = f"skipped: n > {TRUTH_MAX_N}"
                continue
            oom = False
            t = time.time()
            try:
                truth[n] = last_logits(model, tokens)
            except torch.cuda.OutOfMemoryError:
                oom = True
            truth_seconds[n] = time.time() - t
            if oom:
                torch.cuda.empty_cache()
                truth_notes[n] = "out of GPU memory"
                continue
            truth[n].astype("<f4").tofile(os.path.join(path, f"case-{n}.logits-fp32.f32"))
        del model
        torch.cuda.empty_cache()

        for n in LENGTHS:
            am, gap, rms = stats(bf16[n])
            case = {"n": n, "tokens": f"case-{n}.tokens.i32", "logits": f"case-{n}.logits.f32",
                    "argmax": am, "top2_gap": gap, "rms": rms, "seconds": seconds[n],
                    "context_sensitivity": context.get(n)}
            line = f"{name:<12s} {n:>6d} {context[n] if n in context else 0:>5.2f} {am:>7d} "
            if n in truth:
                tam, tgap, _ = stats(truth[n])
                rel = rel_l2(bf16[n], truth[n])
                case.update({"truth": f"case-{n}.logits-fp32.f32", "argmax_truth": tam, "top2_gap_truth": tgap,
                             "rel_l2_bf16_vs_truth": rel, "seconds_truth": truth_seconds[n]})
                line += f"{tam:>7d} {tgap:>8.4f} {rms:>7.3f} {rel:>13.2e} {seconds[n]:>8.3f} {truth_seconds[n]:>8.3f}"
                if tam != am:
                    line += "  (bf16 argmax differs from truth)"
            else:
                case["truth"] = None
                case["truth_note"] = truth_notes.get(n, "")
                line += f"{'-':>7s} {gap:>8.4f} {rms:>7.3f} {'-':>13s} {seconds[n]:>8.3f} {'-':>8s}  ({case['truth_note']})"
            entry["cases"].append(case)
            print(line, flush=True)
        manifest["models"].append(entry)

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, default=str)
    print(f"[hf-fixtures] wrote {out} in {time.time() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python3 bench/hf_fixtures.py OUT_DIR")
    main(sys.argv[1])
