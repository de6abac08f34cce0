"""Writes needle prompts as JSON lines for the pre-fill job (standard library only).

Evaluation corpora, one file per length:

    python3 write_prompts.py --lengths 4096,8192,16384 --count 100 --seed 1 --out DIR
    -> DIR/needle-4096.jsonl, DIR/needle-8192.jsonl, DIR/needle-16384.jsonl

The demo corpora (one needle per document, at spread-out depths, plus an empty and a missing text
that become error rows): 8 documents of 12K-16K tokens for the cuda backend, 5 of 1K-4K for the cpu
backend (scripts/demo.sh reads the copies in models/needle-llama/demo/):

    python3 write_prompts.py --demo --out DIR   ->  DIR/needle-demo.jsonl, DIR/needle-demo-cpu.jsonl

Each row: id, text (the prompt; the tokenizer adds <s>), answer (the expected first token),
length (ids the model sees, <s> included), needles (how many facts are planted), depth (where
the asked fact starts, as a fraction of the prompt). The text already ends with the question, so
the job needs no prompt template.
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import needle_task as nt  # noqa: E402

DEMO_LENGTHS = [16384, 16000, 15000, 16384, 14000, 16384, 12000, 16384]
DEMO_CPU_LENGTHS = [1024, 1536, 2048, 3072, 4096]
DEMO_SEED = 2026


def corpus_rows(length, count, seed, needles=(1, nt.MAX_NEEDLES)):
    """`count` seeded prompts of `length` ids; a length's prompts do not depend on the other lengths."""
    rng = random.Random(seed * 1_000_003 + length)
    return [nt.prompt_record(rng, f"needle-{length}-{i:04d}", length, needles) for i in range(count)]


def demo_rows(lengths=DEMO_LENGTHS, seed=DEMO_SEED):
    """The demo's documents: one needle each, from near the start to near the end of the prompt (the
    model answers single needles; it has not learned to tell several apart)."""
    rng = random.Random(seed)
    rows = []
    for i, length in enumerate(lengths):
        depth = (i + 0.5) / len(lengths)
        r = nt.prompt_record(rng, f"needle-{i:02d}-{round(length / 1024, 1):g}k", length, (1, 1), depth)
        rows.append(r)
    rows.append({"id": "doc-empty", "text": ""})
    rows.append({"id": "doc-null"})
    return rows


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def _ints(text, name):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"{name} must be comma-separated integers: {text!r}")
    if not values:
        raise SystemExit(f"{name} is empty")
    return values


def main(argv=None):
    p = argparse.ArgumentParser(description="Write needle prompts as JSON lines.")
    p.add_argument("--out", required=True, help="folder for the .jsonl files (created)")
    p.add_argument("--lengths", default="", help="comma-separated prompt lengths in ids (with <s>)")
    p.add_argument("--count", type=int, default=100, help="prompts per length")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--needles", default="1-4", help="needle count range, e.g. 1-4 or 2-2")
    p.add_argument("--demo", action="store_true", help="also write the demo corpora needle-demo.jsonl and needle-demo-cpu.jsonl")
    a = p.parse_args(argv)
    try:
        lo, hi = (int(v) for v in a.needles.split("-"))
    except ValueError:
        raise SystemExit(f"--needles must look like 1-4: {a.needles!r}")
    if not 1 <= lo <= hi <= nt.MAX_NEEDLES:
        raise SystemExit(f"--needles must lie within 1-{nt.MAX_NEEDLES}: {a.needles!r}")
    if a.count < 1:
        raise SystemExit(f"--count must be positive: {a.count}")
    if not a.lengths and not a.demo:
        raise SystemExit("give --lengths, --demo or both")
    lengths = _ints(a.lengths, "--lengths") if a.lengths else []
    for length in lengths:
        if length < nt.min_length(hi):
            raise SystemExit(f"length {length} is too short for {hi} needles (at least {nt.min_length(hi)})")
    os.makedirs(a.out, exist_ok=True)
    for length in lengths:
        path = write_jsonl(os.path.join(a.out, f"needle-{length}.jsonl"), corpus_rows(length, a.count, a.seed, (lo, hi)))
        print(f"wrote {path} ({a.count} prompts of {length} ids)")
    if a.demo:
        for name, lengths in (("needle-demo.jsonl", DEMO_LENGTHS), ("needle-demo-cpu.jsonl", DEMO_CPU_LENGTHS)):
            path = write_jsonl(os.path.join(a.out, name), demo_rows(lengths))
            print(f"wrote {path} ({len(lengths)} documents + 2 error rows)")


if __name__ == "__main__":
    main()
