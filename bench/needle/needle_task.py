"""The needle-retrieval task the small long-context model is trained and evaluated on.

A prompt is a haystack of filler words with 1 to 4 facts ("needles") planted at random depths,
followed by a question phrased like the needles, so that the answer is the first token after
the prompt:

    <s> ... lay mark the code for falcon is 8919 . river hold ... the code for cobra is 3838 .
    ... What was the code for falcon ? the code for falcon is        ->  8919

The needles other than the one asked for carry other keys (distractors). Every word is one token
of a word-level vocabulary of 512 ids (VOCAB below), written as a Hugging Face tokenizer.json by
build_tokenizer.py: text is the words joined by single spaces and the tokenizer prepends <s>.

Two generators share the layout: a pure-Python one for text prompts (evaluation corpora, tests;
standard library only) and a vectorised torch one for training batches (torch is imported only
there). check_ids() validates a prompt's ids against the layout, for either generator.

Lengths count every id the model sees, the leading <s> included.
"""

import random

# ---------------------------------------------------------------- vocabulary

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"

# Words of the needle and the question; none of them occurs in the filler except ".".
MARKERS = ["the", "code", "for", "is", ".", "What", "was", "?"]

KEYS = """falcon otter maple walrus heron lynx cobra badger bison beaver cedar willow raven panda koala
gecko iguana jaguar lemur llama marmot moose newt ocelot osprey parrot pelican penguin puffin python
quail rabbit salmon shark sparrow squid stork tapir toucan trout turtle viper vulture wombat yak zebra
alder aspen birch cypress elm hazel juniper larch linden oak olive poplar spruce sequoia acacia amber
agate beryl coral garnet jade jasper onyx opal pearl quartz ruby sapphire topaz zircon cobalt copper
nickel silver tin zinc bronze granite marble basalt slate flint comet nebula quasar pulsar meteor
orbit galaxy crater glacier canyon delta ibis""".split()

# 100 distinct four-digit numbers (7919 is prime, so i * 7919 mod 9000 never repeats for i < 9000).
VALUES = [str(1000 + (i * 7919) % 9000) for i in range(100)]

FILLER = """about above after again along also always another any appear around away back base beat become begin
behind below better between bit blue board body both box bring build burn but buy came car care case
cause center chair check child class close cold come common contain could country cover cut dark
deep differ direct does done door draw dream dry each early ease eat end even every example face
fall family farm fast feel few field fill find fine first five floor follow foot force found four
friend front full gave get girl glass gold good govern green ground grow had hand hard has head heat
heavy her high him hold horse hot house how hunt if inch island its just kind knew know language
last late lay lead leave length less letter light like list little live look love low made main man
map mark may measure men mile minute miss month more morning mother move much must name need new
next no note nothing now object of often on once only open other out over page part party past
people perhaps picture place plain plant play port possible power pretty produce product push
question quick ran read ready record red rest river road room rule run same say school sea see seem
send sentence set shape she short show side since size sleep snow some song sound south speak spell
stand start stay step stood story street study summer sun surface table take teach tell test that
their then these they think those though three through to told too top town tree try two under until
upon us usual very walk want warm water we wear week well went when which while who whole wide will
wind wish without woman wood work world write yes yet young""".split()

VOCAB = SPECIALS + MARKERS + KEYS + VALUES + FILLER
VOCAB_SIZE = len(VOCAB)
TOKEN_ID = {w: i for i, w in enumerate(VOCAB)}

KEY_BASE = len(SPECIALS) + len(MARKERS)
VALUE_BASE = KEY_BASE + len(KEYS)
FILLER_BASE = VALUE_BASE + len(VALUES)
PERIOD_ID = TOKEN_ID["."]

NEEDLE_LEN = 7     # the code for KEY is VALUE .
QUESTION_LEN = 12  # What was the code for KEY ? the code for KEY is
NEEDLE_KEY_AT, NEEDLE_VALUE_AT = 3, 5
QUESTION_KEY_AT = (5, 10)
MAX_NEEDLES = 4
P_PERIOD = 0.08    # chance that a filler position is "." (sentences of ~12 words)


def _check_vocabulary():
    assert len(KEYS) == 100 and len(VALUES) == 100 and len(FILLER) == 300, (len(KEYS), len(VALUES), len(FILLER))
    assert VOCAB_SIZE == 512 and len(TOKEN_ID) == VOCAB_SIZE, "vocabulary words must be distinct"
    for w in VOCAB[len(SPECIALS):]:
        # Each word must stay one token under the Whitespace pre-tokenizer (\w+|[^\w\s]+).
        assert w.isalnum() or (len(w) == 1 and not w.isalnum() and not w.isspace()), w


_check_vocabulary()


def needle_words(key, value):
    return ["the", "code", "for", key, "is", value, "."]


def question_words(key):
    return ["What", "was", "the", "code", "for", key, "?", "the", "code", "for", key, "is"]


def min_length(needles):
    """The shortest prompt (ids, <s> included) that holds this many needles."""
    return 1 + needles * NEEDLE_LEN + QUESTION_LEN


# ---------------------------------------------------------------- pure-Python prompts

def make_prompt(rng, length, needles=(1, MAX_NEEDLES), depth=None):
    """One prompt of exactly `length` ids (<s> included) as a dict:
    words (the text's words, without <s>), answer (the value word), key, needles (how many),
    depth (where the asked needle starts, as a fraction of the prompt).

    needles: (lo, hi) inclusive range of the needle count, drawn uniformly.
    depth: optional fraction in [0, 1] at which to place the asked needle (else random).
    """
    lo, hi = needles
    if not 1 <= lo <= hi <= MAX_NEEDLES:
        raise ValueError(f"needles must satisfy 1 <= lo <= hi <= {MAX_NEEDLES}: {needles}")
    if length < min_length(hi):
        raise ValueError(f"length {length} is too short for {hi} needles (at least {min_length(hi)})")
    if depth is not None and not 0.0 <= depth <= 1.0:
        raise ValueError(f"depth must be within [0, 1]: {depth}")
    n = rng.randint(lo, hi)
    haystack = length - 1 - QUESTION_LEN
    words = [("." if rng.random() < P_PERIOD else FILLER[rng.randrange(len(FILLER))]) for _ in range(haystack)]
    keys = rng.sample(KEYS, n)
    values = rng.sample(VALUES, n)
    asked = rng.randrange(n)
    # The haystack is cut into n equal slots, one needle in each at a random offset.
    slot = haystack // n
    starts = [i * slot + rng.randint(0, slot - NEEDLE_LEN) for i in range(n)]
    slot_of = list(range(n))
    if depth is not None:
        target = round(depth * (haystack - NEEDLE_LEN))
        home = min(n - 1, target // slot)
        starts[home] = max(home * slot, min(target, home * slot + slot - NEEDLE_LEN))
        slot_of[asked], slot_of[home] = home, asked
    for i in range(n):
        s = starts[slot_of[i]]
        words[s:s + NEEDLE_LEN] = needle_words(keys[i], values[i])
    words += question_words(keys[asked])
    return {"words": words, "answer": values[asked], "key": keys[asked], "needles": n,
            "depth": round((1 + starts[slot_of[asked]]) / length, 4)}


def prompt_text(words):
    """The prompt as text: words joined by single spaces (the tokenizer adds <s>)."""
    return " ".join(words)


def encode_words(words):
    """The ids the model sees for these words: <s> then one id per word."""
    return [BOS_ID] + [TOKEN_ID[w] for w in words]


def prompt_record(rng, prompt_id, length, needles=(1, MAX_NEEDLES), depth=None):
    """A JSON-lines row: id, text, answer, length (ids with <s>), needles, depth."""
    p = make_prompt(rng, length, needles, depth)
    return {"id": prompt_id, "text": prompt_text(p["words"]), "answer": p["answer"], "length": length,
            "needles": p["needles"], "depth": p["depth"]}


def check_ids(ids, answer_id=None):
    """Validates one prompt's ids against the layout; returns (key_id, answer_id).

    Works on a plain list of ints, so it checks both generators. Raises AssertionError naming
    the problem."""
    L = len(ids)
    assert L >= min_length(1), f"prompt of {L} ids is too short"
    assert ids[0] == BOS_ID, f"first id {ids[0]} is not <s>"
    q = ids[L - QUESTION_LEN:]
    key = q[QUESTION_KEY_AT[0]]
    assert KEY_BASE <= key < VALUE_BASE, f"question key id {key} is not a key"
    assert q == [TOKEN_ID[w] for w in question_words(VOCAB[key])], "question does not follow the template"
    hay = ids[1:L - QUESTION_LEN]
    allowed_outside = set(range(FILLER_BASE, VOCAB_SIZE)) | {PERIOD_ID}
    needle_keys, found = [], None
    i = 0
    while i < len(hay):
        t = hay[i]
        if t in allowed_outside:
            i += 1
            continue
        seg = hay[i:i + NEEDLE_LEN]
        assert len(seg) == NEEDLE_LEN, f"truncated needle at {i + 1}"
        k, v = seg[NEEDLE_KEY_AT], seg[NEEDLE_VALUE_AT]
        assert KEY_BASE <= k < VALUE_BASE and VALUE_BASE <= v < FILLER_BASE, f"bad needle at {i + 1}: {seg}"
        assert seg == [TOKEN_ID[w] for w in needle_words(VOCAB[k], VOCAB[v])], f"bad needle at {i + 1}: {seg}"
        assert k not in needle_keys, f"key {VOCAB[k]} planted twice"
        needle_keys.append(k)
        if k == key:
            found = v
        i += NEEDLE_LEN
    assert 1 <= len(needle_keys) <= MAX_NEEDLES, f"{len(needle_keys)} needles"
    assert found is not None, f"no needle holds the asked key {VOCAB[key]}"
    if answer_id is not None:
        assert answer_id == found, f"answer {answer_id} but the needle says {found}"
    return key, found


# ---------------------------------------------------------------- torch batches

_TEMPLATES = {}


def _templates(device):
    import torch
    t = _TEMPLATES.get(str(device))
    if t is None:
        needle = torch.tensor([TOKEN_ID[w] for w in needle_words(KEYS[0], VALUES[0])], device=device)
        question = torch.tensor([TOKEN_ID[w] for w in question_words(KEYS[0])], device=device)
        t = (needle, question)
        _TEMPLATES[str(device)] = t
    return t


def torch_batch(batch, length, needles=(1, MAX_NEEDLES), generator=None, device="cpu"):
    """A training/evaluation batch laid out like make_prompt: (ids [batch, length] int64,
    answers [batch] int64). All randomness comes from `generator` (a torch.Generator on
    `device`), so a seeded generator gives the same batches."""
    import torch
    lo, hi = needles
    if not 1 <= lo <= hi <= MAX_NEEDLES:
        raise ValueError(f"needles must satisfy 1 <= lo <= hi <= {MAX_NEEDLES}: {needles}")
    if length < min_length(hi):
        raise ValueError(f"length {length} is too short for {hi} needles (at least {min_length(hi)})")
    g = generator
    haystack = length - 1 - QUESTION_LEN
    needle_t, question_t = _templates(device)
    x = torch.randint(FILLER_BASE, VOCAB_SIZE, (batch, length), generator=g, device=device)
    period = torch.rand((batch, length), generator=g, device=device) < P_PERIOD
    x = torch.where(period, torch.full_like(x, PERIOD_ID), x)
    x[:, 0] = BOS_ID
    n = torch.randint(lo, hi + 1, (batch,), generator=g, device=device)
    keys = torch.rand((batch, len(KEYS)), generator=g, device=device).argsort(dim=1)[:, :hi] + KEY_BASE
    vals = torch.rand((batch, len(VALUES)), generator=g, device=device).argsort(dim=1)[:, :hi] + VALUE_BASE
    slot = haystack // n                                                    # [batch]
    i = torch.arange(hi, device=device)
    r = (torch.rand((batch, hi), generator=g, device=device) * (slot - NEEDLE_LEN + 1)[:, None]).floor().long()
    start = 1 + i[None, :] * slot[:, None] + r                              # [batch, hi]
    valid = i[None, :] < n[:, None]                                         # [batch, hi]
    tok = needle_t.expand(batch, hi, NEEDLE_LEN).clone()
    tok[:, :, NEEDLE_KEY_AT] = keys
    tok[:, :, NEEDLE_VALUE_AT] = vals
    pos = start[:, :, None] + torch.arange(NEEDLE_LEN, device=device)       # [batch, hi, 7]
    rows = torch.arange(batch, device=device)[:, None, None].expand_as(pos)
    x[rows[valid], pos[valid]] = tok[valid]
    asked = (torch.rand((batch,), generator=g, device=device) * n).floor().long().clamp_max(n - 1)
    key = keys.gather(1, asked[:, None]).squeeze(1)
    answer = vals.gather(1, asked[:, None]).squeeze(1)
    q = question_t.expand(batch, QUESTION_LEN).clone()
    q[:, QUESTION_KEY_AT[0]] = key
    q[:, QUESTION_KEY_AT[1]] = key
    x[:, length - QUESTION_LEN:] = q
    return x, answer


def torch_recall_batch(batch, length, needles=(1, MAX_NEEDLES), generator=None, device="cpu"):
    """A training batch with many retrieval targets per prompt: (ids [batch, length], targets
    [batch, length]; targets[b, p] is the id that must follow position p, or -100 for no loss).

    The haystack is cut into 2n slots: the first n hold the n needles, the last n restate each
    needle with probability 1/2 (in a random order, the same words, so each restated value is
    retrieved from its needle many tokens back), and the question at the end asks one of them, as
    in torch_batch. Whether a needle is restated says nothing about whether it is asked: when only
    the unasked ones were restated, a model learned to answer "the needle never restated" instead
    of reading the key. Targets: each restated value, the answer, and the question's second
    key (a copy of its first). The prompt's end is laid out exactly as the product's prompts."""
    import torch
    lo, hi = needles
    if not 1 <= lo <= hi <= MAX_NEEDLES:
        raise ValueError(f"needles must satisfy 1 <= lo <= hi <= {MAX_NEEDLES}: {needles}")
    if length < 1 + 2 * hi * NEEDLE_LEN + QUESTION_LEN:
        raise ValueError(f"length {length} is too short for {hi} needles restated")
    g = generator
    haystack = length - 1 - QUESTION_LEN
    needle_t, question_t = _templates(device)
    x = torch.randint(FILLER_BASE, VOCAB_SIZE, (batch, length), generator=g, device=device)
    period = torch.rand((batch, length), generator=g, device=device) < P_PERIOD
    x = torch.where(period, torch.full_like(x, PERIOD_ID), x)
    x[:, 0] = BOS_ID
    n = torch.randint(lo, hi + 1, (batch,), generator=g, device=device)
    keys = torch.rand((batch, len(KEYS)), generator=g, device=device).argsort(dim=1)[:, :hi] + KEY_BASE
    vals = torch.rand((batch, len(VALUES)), generator=g, device=device).argsort(dim=1)[:, :hi] + VALUE_BASE
    i = torch.arange(hi, device=device)
    valid = i[None, :] < n[:, None]                                          # [batch, hi]
    asked = (torch.rand((batch,), generator=g, device=device) * n).floor().long().clamp_max(n - 1)
    # restatement order: a random permutation of the needles (invalid ones sorted last)
    order = (torch.rand((batch, hi), generator=g, device=device) + (~valid).float()).argsort(dim=1)
    slot = haystack // (2 * n)                                               # [batch]
    room = (slot - NEEDLE_LEN + 1)[:, None]
    r1 = (torch.rand((batch, hi), generator=g, device=device) * room).floor().long()
    r2 = (torch.rand((batch, hi), generator=g, device=device) * room).floor().long()
    start1 = 1 + i[None, :] * slot[:, None] + r1                             # needle j in slot j
    start2 = 1 + (n[:, None] + i[None, :]) * slot[:, None] + r2              # restatement k in slot n + k
    key2 = keys.gather(1, order)
    val2 = vals.gather(1, order)
    valid2 = valid & (torch.rand((batch, hi), generator=g, device=device) < 0.5)
    targets = torch.full_like(x, -100)
    rows = torch.arange(batch, device=device)[:, None, None].expand(batch, hi, NEEDLE_LEN)
    offs = torch.arange(NEEDLE_LEN, device=device)
    for start, k, v, ok in ((start1, keys, vals, valid), (start2, key2, val2, valid2)):
        tok = needle_t.expand(batch, hi, NEEDLE_LEN).clone()
        tok[:, :, NEEDLE_KEY_AT] = k
        tok[:, :, NEEDLE_VALUE_AT] = v
        pos = start[:, :, None] + offs
        x[rows[ok], pos[ok]] = tok[ok]
    b2 = torch.arange(batch, device=device)[:, None].expand(batch, hi)
    vpos = start2 + NEEDLE_VALUE_AT
    targets[b2[valid2], vpos[valid2] - 1] = val2[valid2]
    key = keys.gather(1, asked[:, None]).squeeze(1)
    answer = vals.gather(1, asked[:, None]).squeeze(1)
    q = question_t.expand(batch, QUESTION_LEN).clone()
    q[:, QUESTION_KEY_AT[0]] = key
    q[:, QUESTION_KEY_AT[1]] = key
    x[:, length - QUESTION_LEN:] = q
    targets[:, length - QUESTION_LEN + QUESTION_KEY_AT[1] - 1] = key
    targets[:, -1] = answer
    return x, targets


def check_recall(ids, targets):
    """Validates one torch_recall_batch row (plain lists): every target follows the layout and is
    retrievable from an earlier needle; the asked key is never restated. Returns the target count."""
    L = len(ids)
    assert ids[0] == BOS_ID, "first id is not <s>"
    q = ids[L - QUESTION_LEN:]
    key = q[QUESTION_KEY_AT[0]]
    assert q == [TOKEN_ID[w] for w in question_words(VOCAB[key])], "question does not follow the template"
    first = {}   # key -> value of its first needle
    restated = set()
    code_id = TOKEN_ID["code"]
    for p in range(1, L - QUESTION_LEN):
        if ids[p] == code_id:
            seg = ids[p - 1:p - 1 + NEEDLE_LEN]
            k, v = seg[NEEDLE_KEY_AT], seg[NEEDLE_VALUE_AT]
            assert seg == [TOKEN_ID[w] for w in needle_words(VOCAB[k], VOCAB[v])], f"bad needle at {p - 1}: {seg}"
            if k in first:
                assert first[k] == v, f"key {VOCAB[k]} restated with another value"
                assert targets[p + NEEDLE_VALUE_AT - 2] == v, f"restated value at {p + NEEDLE_VALUE_AT - 1} is no target"
                restated.add(k)
            else:
                first[k] = v
    assert key in first, "the asked key is planted nowhere"
    assert targets[L - 1] == first[key], "the last target is not the asked needle's value"
    assert targets[L - QUESTION_LEN + QUESTION_KEY_AT[1] - 1] == key, "the question's key copy is no target"
    n = sum(1 for t in targets if t != -100)
    assert n == len(restated) + 2, f"{n} targets for {len(restated)} restated needles"
    return n


if __name__ == "__main__":
    rng = random.Random(0)
    p = make_prompt(rng, 120, (2, 3))
    print(prompt_text(p["words"]))
    print("->", p["answer"], "needles", p["needles"], "depth", p["depth"])
