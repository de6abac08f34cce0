"""Tests of the needle task, its tokenizer files and the prompt writer.

    python3 -m unittest bench/needle/test_needle.py        (from the repository root)

Standard library only; the torch generator's tests run where torch is installed, and the
tokenizer round trip where the tokenizers package is.
"""

import importlib.util
import json
import os
import random
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_tokenizer  # noqa: E402
import needle_task as nt  # noqa: E402
import write_prompts  # noqa: E402

MODEL_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "models", "needle-llama"))
HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_TOKENIZERS = importlib.util.find_spec("tokenizers") is not None


class VocabularyTest(unittest.TestCase):
    def test_layout(self):
        self.assertEqual(512, nt.VOCAB_SIZE)
        self.assertEqual(["<pad>", "<s>", "</s>", "<unk>"], nt.VOCAB[:4])
        self.assertEqual(nt.BOS_ID, nt.TOKEN_ID["<s>"])
        self.assertEqual(nt.KEYS, nt.VOCAB[nt.KEY_BASE:nt.VALUE_BASE])
        self.assertEqual(nt.VALUES, nt.VOCAB[nt.VALUE_BASE:nt.FILLER_BASE])
        self.assertEqual(nt.FILLER, nt.VOCAB[nt.FILLER_BASE:])
        self.assertFalse(set(nt.MARKERS) & set(nt.FILLER), "needle words must not occur in the filler")

    def test_committed_tokenizer_files_are_what_build_tokenizer_writes(self):
        with tempfile.TemporaryDirectory() as d:
            for path in build_tokenizer.write(d):
                name = os.path.basename(path)
                with open(path, encoding="utf-8") as fresh, open(os.path.join(MODEL_DIR, name), encoding="utf-8") as kept:
                    self.assertEqual(fresh.read(), kept.read(), f"{name}: rerun bench/needle/build_tokenizer.py")


class PromptTest(unittest.TestCase):
    def test_prompts_follow_the_layout(self):
        rng = random.Random(3)
        for length in (41, 64, 100, 257, 1000, 5000):
            for _ in range(30):
                p = nt.make_prompt(rng, length)
                ids = nt.encode_words(p["words"])
                self.assertEqual(length, len(ids))
                key, answer = nt.check_ids(ids, nt.TOKEN_ID[p["answer"]])
                self.assertEqual(p["key"], nt.VOCAB[key])
                self.assertTrue(1 <= p["needles"] <= 4)

    def test_needle_counts_and_depths_vary(self):
        rng = random.Random(4)
        ps = [nt.make_prompt(rng, 512) for _ in range(400)]
        self.assertEqual({1, 2, 3, 4}, {p["needles"] for p in ps})
        depths = sorted(p["depth"] for p in ps)
        self.assertLess(depths[20], 0.15)
        self.assertGreater(depths[-20], 0.8)

    def test_depth_places_the_asked_needle(self):
        rng = random.Random(5)
        for depth in (0.0, 0.1, 0.37, 0.5, 0.9, 1.0):
            for n in (1, 2, 4):
                p = nt.make_prompt(rng, 2000, (n, n), depth)
                nt.check_ids(nt.encode_words(p["words"]), nt.TOKEN_ID[p["answer"]])
                self.assertAlmostEqual(depth, p["depth"], delta=0.02)
                self.assertEqual(n, p["needles"])

    def test_bad_arguments_fail(self):
        rng = random.Random(0)
        with self.assertRaises(ValueError):
            nt.make_prompt(rng, 40, (4, 4))
        with self.assertRaises(ValueError):
            nt.make_prompt(rng, 100, (0, 2))
        with self.assertRaises(ValueError):
            nt.make_prompt(rng, 100, (1, 5))
        with self.assertRaises(ValueError):
            nt.make_prompt(rng, 100, (1, 2), depth=1.5)

    def test_check_ids_catches_a_wrong_answer_and_a_missing_needle(self):
        p = nt.make_prompt(random.Random(6), 200, (2, 2))
        ids = nt.encode_words(p["words"])
        wrong = next(v for v in range(nt.VALUE_BASE, nt.FILLER_BASE) if v != nt.TOKEN_ID[p["answer"]])
        with self.assertRaises(AssertionError):
            nt.check_ids(ids, wrong)
        key = nt.TOKEN_ID[p["key"]]
        at = next(i for i in range(1, len(ids) - nt.QUESTION_LEN) if ids[i] == key)
        broken = ids[:at - 3] + [nt.FILLER_BASE] * nt.NEEDLE_LEN + ids[at - 3 + nt.NEEDLE_LEN:]
        with self.assertRaises(AssertionError):
            nt.check_ids(broken)


class WritePromptsTest(unittest.TestCase):
    def test_corpora_are_seeded_and_independent_of_other_lengths(self):
        a = write_prompts.corpus_rows(300, 5, seed=1)
        self.assertEqual(a, write_prompts.corpus_rows(300, 5, seed=1))
        self.assertNotEqual(a, write_prompts.corpus_rows(300, 5, seed=2))
        with tempfile.TemporaryDirectory() as d:
            write_prompts.main(["--lengths", "200,300", "--count", "5", "--seed", "1", "--out", d])
            with open(os.path.join(d, "needle-300.jsonl"), encoding="utf-8") as f:
                rows = [json.loads(line) for line in f]
        self.assertEqual(a, rows)
        for r in rows:
            self.assertEqual({"id", "text", "answer", "length", "needles", "depth"}, set(r))
            nt.check_ids(nt.encode_words(r["text"].split(" ")), nt.TOKEN_ID[r["answer"]])

    def test_demo_corpus(self):
        for lengths, shortest in ((write_prompts.DEMO_LENGTHS, 12000), (write_prompts.DEMO_CPU_LENGTHS, 1024)):
            rows = write_prompts.demo_rows(lengths)
            docs = [r for r in rows if r.get("text")]
            self.assertEqual(len(lengths), len(docs))
            self.assertEqual([{"id": "doc-empty", "text": ""}, {"id": "doc-null"}], rows[len(lengths):])
            for r in docs:
                ids = nt.encode_words(r["text"].split(" "))
                self.assertEqual(r["length"], len(ids))
                self.assertGreaterEqual(len(ids), shortest)
                self.assertEqual(1, r["needles"])
                nt.check_ids(ids, nt.TOKEN_ID[r["answer"]])
            depths = [r["depth"] for r in docs]
            self.assertLess(min(depths), 0.15)
            self.assertGreater(max(depths), 0.85)

    def test_bad_options_exit(self):
        for argv in (["--lengths", "30", "--out", "x"], ["--out", "x"], ["--lengths", "a", "--out", "x"],
                     ["--lengths", "100", "--needles", "0-2", "--out", "x"]):
            with self.assertRaises(SystemExit):
                write_prompts.main(argv)


@unittest.skipUnless(HAS_TOKENIZERS, "tokenizers not installed")
class TokenizerRoundTripTest(unittest.TestCase):
    def test_text_encodes_to_the_task_ids(self):
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
        rng = random.Random(8)
        for length in (64, 700):
            for _ in range(10):
                p = nt.make_prompt(rng, length)
                text = nt.prompt_text(p["words"])
                enc = tok.encode(text)
                self.assertEqual(nt.encode_words(p["words"]), enc.ids)
                self.assertEqual(text, tok.decode(enc.ids))


@unittest.skipUnless(HAS_TORCH, "torch not installed")
class TorchBatchTest(unittest.TestCase):
    def test_batches_follow_the_layout_and_are_seeded(self):
        import torch
        for length, needles in ((41, (1, 4)), (256, (1, 1)), (300, (2, 3)), (2048, (1, 4))):
            g = torch.Generator().manual_seed(11)
            x, ans = nt.torch_batch(32, length, needles, generator=g)
            g2 = torch.Generator().manual_seed(11)
            x2, ans2 = nt.torch_batch(32, length, needles, generator=g2)
            self.assertTrue(torch.equal(x, x2) and torch.equal(ans, ans2))
            self.assertEqual((32, length), tuple(x.shape))
            counts = set()
            for ids, a in zip(x.tolist(), ans.tolist()):
                nt.check_ids(ids, a)
                counts.add(ids.count(nt.TOKEN_ID["code"]) - 2)
            self.assertTrue(counts <= set(range(needles[0], needles[1] + 1)), counts)


    def test_recall_batches_restate_needles_whether_asked_or_not(self):
        import torch
        seen = set()
        for length, needles in ((69, (1, 4)), (256, (1, 4)), (1000, (3, 4))):
            g = torch.Generator().manual_seed(5)
            x, targets = nt.torch_recall_batch(64, length, needles, generator=g)
            for ids, t in zip(x.tolist(), targets.tolist()):
                n = nt.check_recall(ids, t)
                seen.add(n)
                self.assertTrue(2 <= n <= needles[1] + 2, n)
        self.assertEqual({2, 3, 4, 5, 6}, seen)

    def test_check_recall_refuses_a_restated_value_that_is_not_a_target(self):
        import torch
        g = torch.Generator().manual_seed(9)
        x, targets = nt.torch_recall_batch(16, 256, (3, 4), generator=g)
        ids, t = x.tolist()[0], targets.tolist()[0]
        p = next(i for i, v in enumerate(t[:-nt.QUESTION_LEN]) if v != -100)
        t[p] = -100
        with self.assertRaises(AssertionError):
            nt.check_recall(ids, t)


if __name__ == "__main__":
    unittest.main()
