"""Writes the needle model's word-level tokenizer (standard library only).

    python3 build_tokenizer.py [--out ../../models/needle-llama]

Files: tokenizer.json (WordLevel model over needle_task.VOCAB, Whitespace pre-tokenizer, no
normalizer, a TemplateProcessing post-processor that prepends <s>, no decoder so decoding joins
words with single spaces) and tokenizer_config.json (the same special tokens, add_bos_token true
for loaders that read it instead of the post-processor).

Text of vocabulary words separated by whitespace encodes to exactly one id per word; an unknown
word becomes <unk>.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import needle_task as nt  # noqa: E402

MODEL_MAX_LENGTH = 65536


def _added(token_id, content):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def tokenizer_json():
    specials = [_added(i, w) for i, w in enumerate(nt.SPECIALS)]
    bos = {"SpecialToken": {"id": nt.BOS, "type_id": 0}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": specials,
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, bos, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {nt.BOS: {"id": nt.BOS, "ids": [nt.BOS_ID], "tokens": [nt.BOS]}},
        },
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": dict(nt.TOKEN_ID), "unk_token": nt.UNK},
    }


def tokenizer_config():
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": nt.BOS,
        "eos_token": nt.EOS,
        "unk_token": nt.UNK,
        "pad_token": nt.PAD,
        "add_bos_token": True,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": MODEL_MAX_LENGTH,
        "added_tokens_decoder": {str(i): {k: v for k, v in _added(i, w).items() if k != "id"}
                                 for i, w in enumerate(nt.SPECIALS)},
    }


def write(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, content in (("tokenizer.json", tokenizer_json()), ("tokenizer_config.json", tokenizer_config())):
        path = os.path.join(out_dir, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2, ensure_ascii=False)
            f.write("\n")
        paths.append(path)
    return paths


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "..", "models", "needle-llama")))
    a = p.parse_args(argv)
    for path in write(a.out):
        print("wrote", path)


if __name__ == "__main__":
    main()
