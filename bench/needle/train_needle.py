#!/usr/bin/env python3
"""Trains the small needle-retrieval Llama (models/needle-llama) on one GPU within a wall-clock cap.

    PYTHONUNBUFFERED=1 python3 train_needle.py --smoke --out /tmp/smoke     # about 30 s: catches bugs
    PYTHONUNBUFFERED=1 python3 train_needle.py --minutes 8 --out OUT        # the real run
    PYTHONUNBUFFERED=1 python3 train_needle.py --minutes 8 --resume OUT --out OUT2

Model: transformers LlamaForCausalLM, 6 layers, hidden 256, 4 query heads / 2 KV heads of 64,
MLP 768, RoPE theta 1e6, 65,536 positions, untied embeddings (about 5M parameters).
Data: needle_task.torch_batch (seeded, generated on the GPU). Loss: cross-entropy of the answer
(the first token after the prompt) plus a small weight on copying the key in the question.
Curriculum: (256 tokens, 1 needle) -> (256, 1-2) -> (256, 1-4) -> 512 -> 1K -> ... -> --max-length,
each stage entered only once the current one answers >= --gate on held-out prompts; from 512 on,
a quarter of each step's tokens are shorter prompts (lengths of the earlier stages).

--minutes caps the whole run, final evaluation included: training stops --eval-reserve seconds
before the cap. Everything lands flat in --out (8 files): config.json, model.safetensors (bf16),
tokenizer.json, tokenizer_config.json, training-log.tsv, training-curve.png, dense-accuracy.tsv,
hf-check.txt. The optimizer state for --resume goes to --state (outside --out).
"""

import time

T0 = time.time()

import argparse  # noqa: E402
import copy  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402
from collections import deque  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import needle_task as nt  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

TOKENIZER_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "models", "needle-llama"))
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
LOG_COLUMNS = ["step", "seconds", "stage", "length", "needles", "loss", "acc", "heldout_acc", "lr", "tokens_per_s"]


def log(msg):
    print(f"[{time.time() - T0:6.1f}s] {msg}", flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train the needle-retrieval Llama.")
    p.add_argument("--out", required=True, help="output folder (flat; created)")
    p.add_argument("--minutes", type=float, default=8.0, help="wall-clock cap of the whole run, evaluation included")
    p.add_argument("--smoke", action="store_true", help="a short run (about 30 s on a GPU) through every code path")
    p.add_argument("--resume", default=None, help="a folder written by an earlier run (--out)")
    p.add_argument("--state", default=os.path.join(tempfile.gettempdir(), "needle-train-state.pt"),
                   help="optimizer state + fp32 weights for --resume (not part of the model folder)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--seed", type=int, default=1234)
    # model
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--mlp", type=int, default=768)
    p.add_argument("--rope-theta", type=float, default=1e6)
    p.add_argument("--max-positions", type=int, default=65536)
    # optimisation
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.1)
    p.add_argument("--flat-fraction", type=float, default=0.5, help="share of the time at full lr before the cosine")
    p.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--tokens-per-step", type=int, default=65536)
    p.add_argument("--aux-weight", type=float, default=0.1, help="weight of the key-copy loss in the question")
    # curriculum
    p.add_argument("--start-length", type=int, default=256)
    p.add_argument("--max-length", type=int, default=32768)
    p.add_argument("--gate", type=float, default=0.95, help="held-out accuracy that opens the next stage")
    p.add_argument("--gate-answers", type=int, default=256, help="recent training answers looked at before a gate check")
    p.add_argument("--min-stage-steps", type=int, default=20)
    p.add_argument("--short-fraction", type=float, default=0.25,
                   help="share of each step's tokens in product-layout prompts of a length up to the stage's")
    p.add_argument("--no-recall", dest="recall", action="store_false",
                   help="train on product-layout prompts only (one target each) instead of restated needles")
    # evaluation and output
    p.add_argument("--eval-lengths", default="1024,2048,4096,8192,16384,32768,65536")
    p.add_argument("--eval-prompts", type=int, default=100)
    p.add_argument("--eval-batch-tokens", type=int, default=262144)
    p.add_argument("--eval-reserve", type=float, default=75.0, help="seconds kept for evaluation, saving and checks")
    p.add_argument("--check-reserve", type=float, default=15.0, help="seconds of the reserve kept for the HF check")
    p.add_argument("--log-every", type=float, default=20.0, help="seconds between progress lines")
    p.add_argument("--checkpoint-every", type=float, default=150.0, help="seconds between checkpoints")
    p.add_argument("--sync-every", type=int, default=10, help="steps between reading statistics back from the GPU")
    p.add_argument("--hf-check-lengths", default="256,512,1024,2048,4096")
    if "--smoke" in (sys.argv[1:] if argv is None else argv):
        # Every code path in well under a minute: all curriculum stages (the gate always opens), a
        # checkpoint, evaluation up to 64K, the HF check. Options given explicitly still win.
        p.set_defaults(minutes=1.0, eval_reserve=20.0, check_reserve=5.0, gate=0.0, gate_answers=1,
                       min_stage_steps=2, tokens_per_step=16384, eval_prompts=2, eval_lengths="1024,8192,65536",
                       log_every=1.0, checkpoint_every=2.0, sync_every=2, warmup=5)
    a = p.parse_args(argv)
    return a


# ---------------------------------------------------------------- model and data

def build_config(a):
    from transformers import LlamaConfig
    return LlamaConfig(
        vocab_size=nt.VOCAB_SIZE, hidden_size=a.hidden, intermediate_size=a.mlp, num_hidden_layers=a.layers,
        num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.head_dim,
        max_position_embeddings=a.max_positions, rope_theta=a.rope_theta, rms_norm_eps=1e-5,
        tie_word_embeddings=False, bos_token_id=nt.BOS_ID, eos_token_id=nt.EOS_ID, pad_token_id=nt.PAD_ID,
        attention_bias=False, mlp_bias=False, initializer_range=0.02)


def stages_for(a):
    # No one-needle stage: with a single needle "copy the value after `is`" answers everything, and
    # the runs that started there stayed at the "one of the needles" plateau. Several needles from
    # the first step, each restated later in the prompt (torch_recall_batch), make binding keys to
    # values the only way down.
    s = [(a.start_length, (1, nt.MAX_NEEDLES))]
    L = a.start_length * 2
    while L <= a.max_length:
        s.append((L, (1, nt.MAX_NEEDLES)))
        L *= 2
    for length, (lo, hi) in s:
        assert length >= nt.min_length(hi), f"start length {length} too short"
    return s


def autocast(device):
    """bf16 autocast on the GPU; plain float32 elsewhere (CPU bf16 is slow and only used for tests)."""
    if device.type != "cuda":
        import contextlib
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


class Attention:
    """Keeps scaled_dot_product_attention on kernels whose memory grows linearly with the length
    (flash, memory-efficient); falls back to PyTorch's own choice when they refuse the model."""

    def __init__(self, device):
        self.device = device
        self.restricted = device.type == "cuda"

    def __call__(self):
        if self.restricted:
            from torch.nn.attention import SDPBackend, sdpa_kernel
            return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION])
        import contextlib
        return contextlib.nullcontext()

    def _try(self, model):
        try:
            x, _ = nt.torch_batch(2, 256, device=self.device)
            with self(), autocast(self.device):
                h = model.model(input_ids=x, use_cache=False).last_hidden_state
            h.float().sum().backward()
            return None
        except RuntimeError as e:
            return str(e).splitlines()[0] if str(e) else type(e).__name__
        finally:
            model.zero_grad(set_to_none=True)

    def probe(self, model):
        """True when attention runs on a linear-memory kernel (forward and backward)."""
        if not self.restricted:
            return True
        error = self._try(model)
        if error is None:
            return True
        # transformers hands grouped KV heads to SDPA (enable_gqa); if no linear-memory kernel takes
        # that, let transformers repeat the KV heads itself instead.
        import transformers.integrations.sdpa_attention as sdpa_attention
        sdpa_attention.use_gqa_in_sdpa = lambda *args, **kwargs: False
        log(f"flash/memory-efficient attention refused grouped KV heads ({error}); repeating KV heads instead")
        error = self._try(model)
        if error is None:
            return True
        log(f"WARNING: flash/memory-efficient attention refused this model ({error}); using PyTorch's default choice")
        self.restricted = False
        return False


def last_logits(model, x, positions=(-1,)):
    """Logits (float32) at the given positions of each row, without the full [B, L, V] logits."""
    h = model.model(input_ids=x, use_cache=False).last_hidden_state
    sel = h[:, list(positions)]
    return model.lm_head(sel).float()


@torch.no_grad()
def evaluate(model, attention, device, length, prompts, needles, seed, batch_tokens, deadline=None):
    """First-token accuracy on `prompts` seeded prompts: (evaluated, correct, mean answer log-prob, seconds).
    Stops early (fewer prompts evaluated) when the next batch would pass `deadline`."""
    was_training = model.training
    model.eval()
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    per_batch = max(1, min(prompts, batch_tokens // length))
    done = correct = 0
    logprob = 0.0
    start = time.time()
    batch_seconds = None
    while done < prompts:
        if deadline is not None and batch_seconds is not None and time.time() + batch_seconds > deadline:
            break
        t = time.time()
        b = min(per_batch, prompts - done)
        x, ans = nt.torch_batch(b, length, needles, generator=g, device=device)
        with attention(), autocast(device):
            logits = last_logits(model, x)[:, 0]
        lp = torch.log_softmax(logits, dim=-1)
        correct += int((logits.argmax(-1) == ans).sum().item())
        logprob += float(lp.gather(1, ans[:, None]).sum().item())
        done += b
        batch_seconds = time.time() - t
    if was_training:
        model.train()
    return done, correct, (logprob / done if done else float("nan")), time.time() - start


# ---------------------------------------------------------------- checkpoints and logs

def write_tsv(path, columns, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\t".join(columns) + "\n")
        for r in rows:
            f.write("\t".join(_fmt(r.get(c, "")) for c in columns) + "\n")


def _fmt(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def read_log(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            values = line.rstrip("\n").split("\t")
            rows.append(dict(zip(header, values)))
    return rows


def save_model(model, out):
    """bf16 safetensors + config (HF layout) and the tokenizer files; returns the bf16 copy."""
    os.makedirs(out, exist_ok=True)
    bf16 = copy.deepcopy(model).to(torch.bfloat16)
    bf16.config.use_cache = True
    bf16.save_pretrained(out)  # safetensors
    gen = os.path.join(out, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)  # not needed to load the model; keeps the folder to 8 files
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(TOKENIZER_DIR, name), os.path.join(out, name))
    return bf16.eval()


def save_state(path, model, opt, step, stage, seconds):
    try:
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "stage": stage,
                    "seconds": seconds}, path)
    except OSError as e:
        log(f"WARNING: could not write the optimizer state {path}: {e}")


def plot_curve(path, rows, stages):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:  # noqa: BLE001 - plotting is optional
        log(f"no training curve: matplotlib unavailable ({e})")
        return False
    steps = [int(r["step"]) for r in rows]
    loss = [float(r["loss"]) if r["loss"] not in ("", None) else float("nan") for r in rows]
    acc = [float(r["acc"]) if r["acc"] not in ("", None) else float("nan") for r in rows]
    held = [(int(r["step"]), float(r["heldout_acc"])) for r in rows if r.get("heldout_acc") not in ("", None)]
    stage = [int(r["stage"]) for r in rows]
    names = {int(r["stage"]): f"{r['length']} ({r['needles']} needles)" for r in rows}
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    ax1.plot(steps, loss, color="tab:red", label="answer loss")
    ax1.set_yscale("log")
    ax1.set_ylabel("loss (nats)")
    ax1b = ax1.twinx()
    ax1b.plot(steps, acc, color="tab:blue", label="train first-token accuracy")
    if held:
        ax1b.plot([s for s, _ in held], [v for _, v in held], "o", color="tab:green", ms=4,
                  label="held-out accuracy (gate checks)")
    ax1b.set_ylim(0, 1.02)
    ax1b.set_ylabel("accuracy")
    lines = ax1.get_legend_handles_labels()[0] + ax1b.get_legend_handles_labels()[0]
    labels = ax1.get_legend_handles_labels()[1] + ax1b.get_legend_handles_labels()[1]
    ax1.legend(lines, labels, loc="center right", fontsize=8)
    ax1.set_title("needle-llama training")
    ax2.step(steps, stage, where="post", color="black")
    ax2.set_yticks(sorted(names), [names[k] for k in sorted(names)], fontsize=7)
    ax2.set_ylabel("curriculum stage")
    ax2.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# ---------------------------------------------------------------- checks

def self_check_data(device):
    """The torch generator follows needle_task's layout (the same check the text prompts pass)."""
    g = torch.Generator(device=device)
    g.manual_seed(99)
    for length, needles in ((41, (1, 4)), (256, (1, 1)), (256, (1, 2)), (300, (2, 4)), (4096, (1, 4))):
        x, ans = nt.torch_batch(64, length, needles, generator=g, device=device)
        assert x.shape == (64, length) and ans.shape == (64,), (x.shape, ans.shape)
        rows, answers = x.tolist(), ans.tolist()
        counts = set()
        for ids, a in zip(rows, answers):
            nt.check_ids(ids, a)
            counts.add(sum(1 for i in range(len(ids) - 2) if ids[i] == nt.TOKEN_ID["code"]) - 2)
        assert counts <= set(range(needles[0], needles[1] + 1)), (needles, counts)
        if needles[1] - needles[0] >= 1:
            assert len(counts) > 1, f"needle counts never vary: {counts}"
    for length, needles in ((69, (1, 4)), (256, (1, 4)), (2048, (2, 4))):
        x, targets = nt.torch_recall_batch(32, length, needles, generator=g, device=device)
        for ids, t in zip(x.tolist(), targets.tolist()):
            nt.check_recall(ids, t)
    log("data check: torch batches follow the needle layout")


def hf_check(out, model_bf16, device, lengths, seed, path):
    """Reloads the saved folder with transformers and compares it with the in-memory model."""
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
    lines = []
    ok = ids_ok = True
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(out, "tokenizer.json"))
    ref = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="sdpa").to(device).eval()
    low = AutoModelForCausalLM.from_pretrained(out, dtype=torch.bfloat16, attn_implementation="sdpa").to(device).eval()
    lines.append("checkpoint: the folder train_needle.py wrote (--out)")
    lines.append(f"reloaded with AutoModelForCausalLM.from_pretrained ({type(ref).__name__}) and "
                 f"PreTrainedTokenizerFast(tokenizer_file=tokenizer.json)")
    lines.append("reference: the reloaded checkpoint in float32; compared: the reloaded checkpoint in bfloat16 and the "
                 "in-memory bfloat16 model that was evaluated")
    same = all(torch.equal(p.detach().to(torch.bfloat16), q.detach()) for p, q in
               zip(low.state_dict().values(), model_bf16.state_dict().values()))
    lines.append(f"reloaded bf16 weights identical to the in-memory bf16 weights: {same}")
    ok &= same
    rng = random.Random(seed)
    lines.append("")
    lines.append("length\tanswer\tids_match\targmax_fp32\targmax_bf16_reload\targmax_bf16_memory\t"
                 "logprob_fp32\tlogprob_bf16_reload\tlogprob_bf16_memory\tmax_abs_dlogprob\ttop2_margin_fp32\tverdict")
    for length in lengths:
        p = nt.make_prompt(rng, length)
        text = nt.prompt_text(p["words"])
        ids = tok(text)["input_ids"]
        ids_match = ids == nt.encode_words(p["words"])
        ids_ok &= ids_match
        x = torch.tensor([ids], device=device)
        answer = nt.TOKEN_ID[p["answer"]]
        with torch.no_grad():
            lp_ref = torch.log_softmax(ref(input_ids=x).logits[0, -1].float(), -1)
            lp_low = torch.log_softmax(low(input_ids=x).logits[0, -1].float(), -1)
            lp_mem = torch.log_softmax(last_logits(model_bf16, x)[0, 0], -1)
        top2 = lp_ref.topk(2).values
        margin = float(top2[0] - top2[1])
        am = [int(v.argmax()) for v in (lp_ref, lp_low, lp_mem)]
        dmax = max(float((lp_ref - lp_low).abs().max()), float((lp_ref - lp_mem).abs().max()))
        d_answer = max(abs(float(lp_ref[answer] - lp_low[answer])), abs(float(lp_ref[answer] - lp_mem[answer])))
        agree = am[0] == am[1] == am[2] or margin < 0.1
        # bf16 rounding moves unlikely tokens' log-probs by more than likely ones': the log-prob
        # bound applies where fp32 gives the answer at least even odds
        confident = float(lp_ref[answer]) >= math.log(0.5)
        row_ok = ids_match and agree and (d_answer <= 0.15 or not confident)
        ok &= row_ok
        lines.append("\t".join([str(length), p["answer"], str(ids_match)] + [nt.VOCAB[i] for i in am] +
                               [f"{float(v[answer]):.4f}" for v in (lp_ref, lp_low, lp_mem)] +
                               [f"{dmax:.4f}", f"{margin:.3f}", "ok" if row_ok else "MISMATCH"]))
    lines.append("")
    lines.append("rule: token ids equal needle_task's; same argmax in all three (unless the fp32 top-2 margin < 0.1); "
                 "answer log-prob within 0.15 nats of fp32 where fp32 gives the answer p >= 0.5")
    lines.append(f"result: {'PASS' if ok else 'FAIL'}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    del ref, low
    return ok, ids_ok


# ---------------------------------------------------------------- training

def lr_at(a, run_step, frac):
    warm = min(1.0, (run_step + 1) / max(1, a.warmup))
    if frac <= a.flat_fraction:
        decay = 1.0
    else:
        p = min(1.0, (frac - a.flat_fraction) / max(1e-9, 1.0 - a.flat_fraction))
        decay = a.min_lr_ratio + (1.0 - a.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))
    return a.lr * warm * decay


def make_optimizer(a, model, device):
    decay, no_decay = [], []
    for name, prm in model.named_parameters():
        (decay if prm.ndim >= 2 and "embed" not in name else no_decay).append(prm)
    groups = [{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    kw = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.95), eps=1e-8, **kw)


def train(a):
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("CUDA is not available (use --device cpu for a slow test run)")
    deadline = T0 + a.minutes * 60.0
    train_deadline = deadline - a.eval_reserve
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    if device.type == "cuda":
        log(f"device {torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    import transformers
    from transformers import LlamaForCausalLM
    log(f"transformers {transformers.__version__}")
    os.makedirs(a.out, exist_ok=True)

    self_check_data(device)

    stages = stages_for(a)
    step = 0
    stage = 0
    seconds_before = 0.0
    rows = []
    if a.resume:
        model = LlamaForCausalLM.from_pretrained(a.resume, dtype=torch.float32, attn_implementation="sdpa")
        log_path = os.path.join(a.resume, "training-log.tsv")
        if os.path.exists(log_path):
            rows = read_log(log_path)
        if rows:
            step = int(rows[-1]["step"])
            seconds_before = float(rows[-1]["seconds"])
            last_len = int(rows[-1]["length"])
            last_needles = rows[-1]["needles"]
            stage = next((i for i, (L, (lo, hi)) in enumerate(stages) if L == last_len and f"{lo}-{hi}" == last_needles),
                         0)
        log(f"resumed {a.resume} at step {step}, stage {stage} {stages[stage]}")
    else:
        model = LlamaForCausalLM(build_config(a))
    model.to(device).train()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {a.layers} layers, hidden {a.hidden}, heads {a.heads}/{a.kv_heads} x {a.head_dim}, mlp {a.mlp}, "
        f"{n_params / 1e6:.2f}M parameters ({n_params * 2 / 2**20:.1f} MiB in bf16), "
        f"attention {model.config._attn_implementation}")
    opt = make_optimizer(a, model, device)
    if a.resume and os.path.exists(a.state):
        state = torch.load(a.state, map_location=device, weights_only=False)
        if state.get("step") == step:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            log(f"optimizer state and fp32 weights from {a.state}")
        else:
            log(f"ignoring {a.state}: it is from step {state.get('step')}, the checkpoint from step {step}")

    attention = Attention(device)
    if not attention.probe(model) and a.max_length > 4096:
        log("capping the curriculum at 4096 tokens: the default attention kernel's memory grows with length squared")
        a.max_length = 4096
        stages = stages_for(a)
        stage = min(stage, len(stages) - 1)

    gen = torch.Generator(device=device)
    gen.manual_seed(a.seed * 1000003 + step)
    pick = random.Random(a.seed * 7 + step)

    window = deque()          # (correct, answers) of recent main micro-batches at this stage
    pending = []              # (GPU [loss, correct], answers, tokens) of steps not yet read back
    interval = {"loss": 0.0, "correct": 0, "answers": 0, "tokens": 0, "steps": 0}
    heldout = float("nan")
    stage_steps = 0
    run_step = 0
    train_start = time.time()
    last_log = train_start
    last_ckpt = train_start
    train_budget = max(1.0, train_deadline - train_start)
    lr = 0.0
    reached = []              # stage entries of this run, for the summary
    log(f"curriculum: {', '.join(f'{L}/{lo}-{hi}' for L, (lo, hi) in stages)}; training for "
        f"{train_budget:.0f} s, then evaluation")

    def flush_stats():
        nonlocal pending
        if not pending:
            return
        values = torch.stack([s for s, _, _ in pending]).tolist()
        sizes = [(b, t) for _, b, t in pending]
        pending = []
        for (loss_v, correct), (answers, tokens) in zip(values, sizes):
            interval["loss"] += loss_v * answers
            interval["correct"] += int(correct)
            interval["answers"] += int(answers)
            interval["tokens"] += int(tokens)
            interval["steps"] += 1
            window.append((int(correct), int(answers)))
            while len(window) > 1 and sum(n for _, n in window) - window[0][1] >= a.gate_answers:
                window.popleft()

    def log_row(now):
        nonlocal last_log, heldout
        L, (lo, hi) = stages[stage]
        dt = max(1e-9, now - last_log)
        n = max(1, interval["answers"])
        row = {"step": step, "seconds": round(seconds_before + now - train_start, 2), "stage": stage, "length": L,
               "needles": f"{lo}-{hi}", "loss": interval["loss"] / n if interval["answers"] else float("nan"),
               "acc": interval["correct"] / n if interval["answers"] else float("nan"), "heldout_acc": heldout,
               "lr": lr, "tokens_per_s": round(interval["tokens"] / dt)}
        rows.append(row)
        log(f"step {step:6d}  stage {stage} len {L:6d} needles {lo}-{hi}  loss {_fmt(row['loss']):>8}  "
            f"acc {_fmt(row['acc']):>6}  heldout {_fmt(heldout):>6}  lr {lr:.2e}  tok/s {row['tokens_per_s']:,}")
        for k in interval:
            interval[k] = 0 if k != "loss" else 0.0
        heldout = float("nan")
        last_log = now

    while True:
        now = time.time()
        if now >= train_deadline or (a.smoke and stage == len(stages) - 1 and stage_steps >= a.min_stage_steps):
            break
        L, needles = stages[stage]
        lr = lr_at(a, run_step, (now - train_start) / train_budget)
        for group in opt.param_groups:
            group["lr"] = lr
        parts = [(L, needles, 1.0, True)]
        if a.short_fraction > 0:
            shorter = sorted({s for s, _ in stages if s < L}) or [L]
            parts = [(L, needles, 1.0 - a.short_fraction, True),
                     (shorter[pick.randrange(len(shorter))], (1, nt.MAX_NEEDLES), a.short_fraction, False)]
        sizes = [max(1, round(weight * a.tokens_per_step / length)) for length, _, weight, _ in parts]
        step_tokens = float(sum(b * length for b, (length, _, _, _) in zip(sizes, parts)))
        opt.zero_grad(set_to_none=True)
        for b, (length, nd, weight, main) in zip(sizes, parts):
            if main and a.recall:
                # every restated value, the key copy and the answer are targets (torch_recall_batch)
                x, targets = nt.torch_recall_batch(b, length, nd, generator=gen, device=device)
                ans = targets[:, -1]
                with attention(), autocast(device):
                    h = model.model(input_ids=x, use_cache=False).last_hidden_state
                    mask = targets >= 0
                    logits_t = model.lm_head(h[mask]).float()
                    answer_logits = model.lm_head(h[:, -1]).float()
                loss = F.cross_entropy(logits_t, targets[mask])
                loss_answer = F.cross_entropy(answer_logits.detach(), ans)
            else:
                x, ans = nt.torch_batch(b, length, nd, generator=gen, device=device)
                with attention(), autocast(device):
                    logits = last_logits(model, x, positions=(-1, -3))
                answer_logits = logits[:, 0]
                loss_answer = F.cross_entropy(answer_logits, ans)
                loss = loss_answer + a.aux_weight * F.cross_entropy(logits[:, 1], x[:, -2])
            (weight * loss).backward()
            if main:
                # Stays on the GPU until the next sync point: no per-step host round trip.
                stat = torch.stack([loss_answer.detach().float(), (answer_logits.argmax(-1) == ans).sum().float()])
                pending.append((stat, b, step_tokens))
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        run_step += 1
        stage_steps += 1

        if run_step % a.sync_every == 0:
            flush_stats()
            total = sum(n for _, n in window)
            acc = sum(c for c, _ in window) / total if total else 0.0
            if (stage < len(stages) - 1 and stage_steps >= a.min_stage_steps and total >= a.gate_answers
                    and acc >= a.gate):
                n_eval = max(64, min(512, (1 << 20) // L)) if not a.smoke else 8
                done, correct, _, secs = evaluate(model, attention, device, L, n_eval, needles,
                                                  a.seed + 555 + step, a.eval_batch_tokens)
                heldout = correct / done
                window.clear()
                if heldout >= a.gate:
                    stage += 1
                    stage_steps = 0
                    reached.append(f"{stages[stage][0]}/{stages[stage][1][0]}-{stages[stage][1][1]} at step {step} "
                                   f"({seconds_before + time.time() - train_start:.0f} s)")
                    log(f"stage {stage - 1} passed: held-out accuracy {heldout:.3f} on {done} prompts at {L} "
                        f"({secs:.1f} s); now {stages[stage][0]} tokens, needles {stages[stage][1]}")
                else:
                    log(f"gate not passed at {L}: held-out accuracy {heldout:.3f} (train window {acc:.3f})")
            now = time.time()
            if now - last_log >= a.log_every:
                log_row(now)
                write_tsv(os.path.join(a.out, "training-log.tsv"), LOG_COLUMNS, rows)
            if now - last_ckpt >= a.checkpoint_every:
                save_model(model, a.out)
                save_state(a.state, model, opt, step, stage, seconds_before + now - train_start)
                last_ckpt = time.time()
                log(f"checkpoint at step {step} -> {a.out}")

    flush_stats()
    if interval["steps"]:
        log_row(time.time())
    train_seconds = time.time() - train_start
    log(f"training done: {step} steps ({run_step} in this run), {train_seconds:.0f} s, reached stage {stage} "
        f"{stages[stage]}")
    log("stages entered: " + ("; ".join(reached) if reached else "none"))
    return model, device, attention, rows, stages, step, stage, opt, seconds_before + train_seconds, deadline


def finish(a, model, device, attention, rows, stages, step, stage, opt, seconds, deadline):
    failures = []
    out = a.out
    model_bf16 = save_model(model, out)
    save_state(a.state, model, opt, step, stage, seconds)
    write_tsv(os.path.join(out, "training-log.tsv"), LOG_COLUMNS, rows)
    log(f"saved {out}")
    try:
        if plot_curve(os.path.join(out, "training-curve.png"), [{k: _fmt(v) if isinstance(v, float) else v
                                                                   for k, v in r.items()} for r in rows], stages):
            log("wrote training-curve.png")
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        failures.append("training curve")

    # Dense accuracy per length, on the bf16 weights that were saved.
    eval_rows = []
    columns = ["length", "prompts", "correct", "accuracy", "mean_answer_logprob", "seconds", "note"]
    eval_deadline = deadline - a.check_reserve
    lengths = [int(v) for v in a.eval_lengths.split(",") if v]
    for length in lengths:
        note = ""
        prompts = a.eval_prompts
        if length > a.max_positions:
            note = f"beyond max_position_embeddings {a.max_positions}"
        if time.time() >= eval_deadline:
            eval_rows.append({"length": length, "prompts": 0, "correct": 0, "accuracy": float("nan"),
                              "mean_answer_logprob": float("nan"), "seconds": 0.0, "note": "skipped: time cap"})
            write_tsv(os.path.join(out, "dense-accuracy.tsv"), columns, eval_rows)
            log(f"dense accuracy at {length}: skipped (time cap)")
            continue
        args = (model_bf16, attention, device, length, prompts, (1, nt.MAX_NEEDLES), a.seed + 7919 + length)
        try:
            try:
                done, correct, mean_lp, secs = evaluate(*args, a.eval_batch_tokens, eval_deadline)
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                log(f"out of memory at {length} with {a.eval_batch_tokens} tokens a batch; one prompt a batch")
                done, correct, mean_lp, secs = evaluate(*args, length, eval_deadline)
        except Exception as e:  # noqa: BLE001 - record it, keep the other lengths and the HF check
            traceback.print_exc()
            failures.append(f"dense accuracy at {length}")
            eval_rows.append({"length": length, "prompts": 0, "correct": 0, "accuracy": float("nan"),
                              "mean_answer_logprob": float("nan"), "seconds": 0.0,
                              "note": f"error: {type(e).__name__}"})
            write_tsv(os.path.join(out, "dense-accuracy.tsv"), columns, eval_rows)
            continue
        if done < prompts:
            note = (note + "; " if note else "") + "fewer prompts: time cap"
        eval_rows.append({"length": length, "prompts": done, "correct": correct,
                          "accuracy": correct / done if done else float("nan"), "mean_answer_logprob": mean_lp,
                          "seconds": round(secs, 2), "note": note})
        write_tsv(os.path.join(out, "dense-accuracy.tsv"), columns, eval_rows)
        log(f"dense accuracy at {length}: {correct}/{done} = {correct / max(1, done):.3f} "
            f"(mean answer log-prob {mean_lp:.3f}, {secs:.1f} s){' ' + note if note else ''}")

    try:
        lengths = [int(v) for v in a.hf_check_lengths.split(",") if v]
        ok, ids_ok = hf_check(out, model_bf16, device, lengths, a.seed + 4242, os.path.join(out, "hf-check.txt"))
        log(f"hf-check: {'PASS' if ok else 'FAIL'} (hf-check.txt)")
        if not ids_ok:
            failures.append("hf-check: token ids differ")
        elif not ok and not a.smoke:  # random smoke weights may sit on a near-tie; a real mismatch shows in the run
            failures.append("hf-check")
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        failures.append("hf-check (error)")

    files = sorted(os.listdir(out))
    for name in files:
        log(f"  {name:24s} {os.path.getsize(os.path.join(out, name)) / 2**20:8.2f} MiB")
    if len(files) > 8:
        log(f"WARNING: {len(files)} files in {out}")
    return failures


def main(argv=None):
    a = parse_args(argv)
    log(f"args: {vars(a)}")
    trained = train(a)
    failures = finish(a, *trained)
    log(f"done in {time.time() - T0:.0f} s" + (f"; FAILED: {', '.join(failures)}" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
