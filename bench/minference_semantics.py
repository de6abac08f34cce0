"""Which (row, key) entries MInference's own index builders keep, against ours, on identical Q and K.

    python3 bench/minference_semantics.py PEER_DIR OUT_DIR --cp CLASSPATH [--java JAVA]
    python3 bench/minference_semantics.py --selftest OUT_DIR --cp CLASSPATH     (numpy only, no GPU)

PEER_DIR is a copy of the parts of MInference's source this needs (csrc/kernels.cpp,
csrc/vertical_slash_index.cu, minference/ops/{__init__,pit_sparse_flash_attention_v2,
block_sparse_flash_attention}.py, minference/modules/minference_forward.py). Nothing of it is
copied into the project; it is loaded from PEER_DIR at run time:

- vertical-slash estimate: the nested `vertical_and_slash_kernel` of minference_forward.py (the one
  with last_q = min(64, q_len)), executed as written, its call of the sparse attention captured to
  obtain its column and diagonal choice;
- vertical-slash index: the CUDA op `convert_vertical_slash_indexes` built from csrc/ with torch's
  extension builder (when that build fails, a line-by-line transliteration below, and the report
  says so); its attention: `vertical_slash_sparse_attention` (Triton path: sgl/vllm kernels off);
- block-sparse: `_build_block_index` and `block_sparse_attention` of block_sparse_flash_attention.py;
- A-shape: the window definition of its streaming kernel (sinks j < n_init, local i - j < n_local),
  not its kernel.

Ours: io.prefill.sparse.PlanDump (the CPU planner, in the GPU bundle's test classes) plans every
case from the same Q/K (its own estimate) and, for vertical-slash, also from the reference's
selection ("given"): that isolates the index semantics from estimate numerics.

Writes OUT_DIR/semantics.tsv (one row a case) and OUT_DIR/semantics.md; exit status 1 when a
case differs in a way docs do not account for (pattern-configs/README.md, "Where we differ").
"""
import argparse
import ast
import os
import subprocess
import sys
import time
import types

import numpy as np

BLOCK = 64


# ---------------------------------------------------------------- kept sets

def read_plan(path):
    """Our plan file: per query block (ranges [r, 2], columns [c])."""
    x = np.fromfile(path, dtype="<i4")
    blocks, p, out = int(x[0]), 1, []
    for _ in range(blocks):
        nr, nc = int(x[p]), int(x[p + 1])
        p += 2
        ranges = x[p:p + 2 * nr].reshape(nr, 2)
        p += 2 * nr
        out.append((ranges, x[p:p + nc].copy()))
        p += nc
    return out


def rows_of_ours(plan, n):
    """Per query block, bool [rows, n]: keys j <= i in the block's ranges or columns."""
    out = []
    for b, (ranges, cols) in enumerate(plan):
        keys = np.zeros(n, bool)
        for s, e in ranges:
            keys[s:e] = True
        keys[cols] = True
        out.append(_causal(keys, b, n))
    return out


def rows_of_reference(block_starts, columns, n):
    """The reference's index per query block (64-key blocks from each start, then columns), masked
    as its Triton kernel masks: block keys j <= i and j < n; columns only j < n (no causal mask)."""
    out = []
    for b in range(len(block_starts)):
        keys = np.zeros(n + 2 * BLOCK, bool)
        for s in block_starts[b]:
            keys[s:s + BLOCK] = True
        rows = _causal(keys[:n], b, n)
        cols = np.asarray(columns[b], dtype=np.int64)
        rows[:, cols[cols < n]] = True
        out.append(rows)
    return out


def rows_of_window(n, n_init, n_local):
    out = []
    for b in range((n + BLOCK - 1) // BLOCK):
        i = np.arange(b * BLOCK, min(b * BLOCK + BLOCK, n))[:, None]
        j = np.arange(n)[None, :]
        out.append((j <= i) & ((j < n_init) | (i - j < n_local)))
    return out


def _causal(keys, b, n):
    i = np.arange(b * BLOCK, min(b * BLOCK + BLOCK, n))[:, None]
    return keys[None, :] & (np.arange(n)[None, :] <= i)


def compare_rows(ours, ref):
    e_ours = sum(np.count_nonzero(r) for r in ours)
    e_ref = sum(np.count_nonzero(r) for r in ref)
    diff = [np.count_nonzero(a ^ b) for a, b in zip(ours, ref)]
    missing = sum(np.count_nonzero(b & ~a) for a, b in zip(ours, ref))
    first = next((b for b, d in enumerate(diff) if d), -1)
    return dict(entries_ours=e_ours, entries_ref=e_ref, diff_entries=sum(diff), missing_in_ours=missing,
                first_diff_block=first,
                last_row_ours=np.count_nonzero(ours[-1][-1]), last_row_ref=np.count_nonzero(ref[-1][-1]))


def full_mask(rows):
    return np.concatenate(rows, axis=0)


# ------------------------------------------------ the reference's index builder, transliterated

def convert_vs_port(n, v_idx, s_idx):
    """csrc/vertical_slash_index.cu's kernel for one head, step by step (used when the op cannot be
    built, and to check this transliteration against the op when it can). v_idx ascending, s_idx
    (diagonal offsets) descending, both non-empty. Returns per query block (block starts, columns)."""
    nnz_v, nnz_s = len(v_idx), len(s_idx)
    starts, columns = [], []
    for b in range((n + BLOCK - 1) // BLOCK):
        end_m = b * BLOCK + BLOCK
        blk, col = [], []
        s = v = 0
        vi = int(v_idx[v]); v += 1
        si = int(s_idx[s]); s += 1
        while si >= end_m:
            si = int(s_idx[s]); s += 1
        si = max(end_m - si, BLOCK)
        rs, re = si - BLOCK, si
        while True:
            if vi < re:
                if vi < rs:
                    col.append(vi)
                if v < nnz_v:
                    vi = int(v_idx[v]); v += 1
                else:
                    vi = end_m + BLOCK
            else:
                if s < nnz_s:
                    si = max(end_m - int(s_idx[s]), BLOCK); s += 1
                else:
                    blk.extend(range(rs, re, BLOCK))
                    break
                if si > re + BLOCK:
                    blk.extend(range(rs, re, BLOCK))
                    rs, re = si - BLOCK, si
                elif si > re:
                    re += BLOCK
        starts.append(blk)
        columns.append(col)
    return starts, columns


# ---------------------------------------------------------------- our side

def run_ours(java, cp, case_dir):
    t = time.time()
    r = subprocess.run([java, "-Xmx16g", "-cp", cp, "io.prefill.sparse.PlanDump", case_dir],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"PlanDump failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return time.time() - t


def write_selection(path, cols, offs):
    cols, offs = np.sort(np.asarray(cols)), np.sort(np.asarray(offs))
    np.concatenate([[len(cols)], cols, [len(offs)], offs]).astype("<i4").tofile(path)


def read_selection(path):
    x = np.fromfile(path, dtype="<i4")
    nc = int(x[0])
    return x[1:1 + nc], x[2 + nc:2 + nc + int(x[1 + nc])]


# ---------------------------------------------------------------- the reference, from PEER_DIR

class Reference:
    def __init__(self, peer, build_dir, log):
        import importlib
        import torch
        self.torch = torch
        self.notes = []
        op = None
        try:
            from torch.utils.cpp_extension import load
            t = time.time()
            os.makedirs(build_dir, exist_ok=True)
            op = load(name="minference_vs_index", sources=[os.path.join(peer, "csrc/kernels.cpp"),
                      os.path.join(peer, "csrc/vertical_slash_index.cu")], build_directory=build_dir,
                      extra_cflags=["-O3", "-std=c++17"], extra_cuda_cflags=["-O3", "-std=c++17"], verbose=False)
            self.notes.append(f"vertical-slash index: MInference's CUDA op convert_vertical_slash_indexes, "
                              f"built from csrc/ with torch.utils.cpp_extension in {time.time() - t:.0f} s")
            self.index_is_op = True
        except Exception as e:  # noqa: BLE001 - any build failure falls back, and the report says so
            log(f"[semantics] building convert_vertical_slash_indexes failed: {e!r}; using the transliteration")
            self.notes.append("vertical-slash index: the op could not be built here (" + type(e).__name__
                              + "); a line-by-line transliteration of csrc/vertical_slash_index.cu was used")
            self.index_is_op = False
        # the package minference without its __init__ (which patches transformers): ops only
        pkg = types.ModuleType("minference")
        pkg.__path__ = [os.path.join(peer, "minference")]
        sys.modules["minference"] = pkg
        cuda = types.ModuleType("minference.cuda")
        cuda.convert_vertical_slash_indexes = op.convert_vertical_slash_indexes if op else self._port_op
        sys.modules["minference.cuda"] = cuda
        self.pit = importlib.import_module("minference.ops.pit_sparse_flash_attention_v2")
        self.pit.sparse_attn_func = None  # the Triton kernel of this file, not an installed sgl/vllm one
        self.pit.convert_vertical_slash_indexes_opt = None
        self.bs = importlib.import_module("minference.ops.block_sparse_flash_attention")
        self.convert = cuda.convert_vertical_slash_indexes
        self._load_estimate(os.path.join(peer, "minference/modules/minference_forward.py"))

    def _port_op(self, seqlens, v_idx, s_idx, context_size, bm, bn):
        torch = self.torch
        n = int(context_size)
        starts, cols = convert_vs_port(n, v_idx[0, 0].tolist(), s_idx[0, 0].tolist())
        rows = len(starts)
        bc = torch.zeros((1, 1, rows), dtype=torch.int32)
        bo = torch.zeros((1, 1, rows, s_idx.shape[-1]), dtype=torch.int32)
        cc = torch.zeros((1, 1, rows), dtype=torch.int32)
        ci = torch.zeros((1, 1, rows, v_idx.shape[-1]), dtype=torch.int32)
        for b in range(rows):
            bc[0, 0, b], cc[0, 0, b] = len(starts[b]), len(cols[b])
            bo[0, 0, b, :len(starts[b])] = torch.tensor(starts[b], dtype=torch.int32)
            ci[0, 0, b, :len(cols[b])] = torch.tensor(cols[b], dtype=torch.int32)
        dev = seqlens.device
        return [bc.to(dev), bo.to(dev), cc.to(dev), ci.to(dev)]

    def _load_estimate(self, path):
        torch = self.torch
        src = open(path).read()
        tree = ast.parse(src)
        picked, helper, mask_stmts = None, None, []
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "vertical_and_slash_kernel":
                seg = ast.get_source_segment(src, node)
                if "min(64, q_len)" in seg and picked is None:
                    picked = node
            if isinstance(node, ast.FunctionDef) and node.name == "sum_all_diagonal_matrix" and helper is None:
                helper = node
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") in ("last_q", "arange", "LAST_Q_MASK")
                                                    for t in node.targets):
                mask_stmts.append(node)
        if picked is None or helper is None:
            sys.exit(f"{path}: vertical_and_slash_kernel (last_q = min(64, q_len)) or sum_all_diagonal_matrix not found")
        self.notes.append(f"vertical-slash estimate: minference_forward.py's vertical_and_slash_kernel "
                          f"(line {picked.lineno}), executed as written")
        ns = {"torch": torch, "math": __import__("math")}
        mod = ast.Module(body=mask_stmts + [helper, picked], type_ignores=[])
        exec(compile(mod, path, "exec"), ns)
        self.ns = ns

    def vs_select(self, q, k, vsize, ssize):
        """The reference's column and diagonal choice for q, k [1, 1, n, d]."""
        captured = {}

        def capture(q_, k_, v_, vertical_topk, slash):
            captured["v"], captured["s"] = vertical_topk, slash
            return None

        n, d = q.shape[2], q.shape[3]
        self.ns.update(q_len=n, self=types.SimpleNamespace(head_dim=d), vertical_slash_sparse_attention=capture)
        self.ns["vertical_and_slash_kernel"](q, k, None, vsize, ssize)
        return captured["v"].reshape(-1).cpu().numpy(), captured["s"].reshape(-1).cpu().numpy()

    def vs_index(self, n, cols, offs):
        """The index as vertical_slash_sparse_attention builds it (sorted as it sorts)."""
        torch = self.torch
        v = torch.tensor(np.sort(cols), dtype=torch.int32, device="cuda").reshape(1, 1, -1)
        s = torch.tensor(np.sort(offs)[::-1].copy(), dtype=torch.int32, device="cuda").reshape(1, 1, -1)
        seqlens = torch.tensor([n], dtype=torch.int32, device="cuda")
        bc, bo, cc, ci = [t.cpu().numpy() for t in self.convert(seqlens, v, s, n, BLOCK, BLOCK)]
        rows = bc.shape[-1]
        return ([bo[0, 0, b, :bc[0, 0, b]].tolist() for b in range(rows)],
                [ci[0, 0, b, :cc[0, 0, b]].tolist() for b in range(rows)])

    def vs_attention(self, q, k, v, cols, offs):
        torch = self.torch
        vt = torch.tensor(cols, dtype=torch.int64, device="cuda").reshape(1, 1, 1, -1)
        st = torch.tensor(offs, dtype=torch.int64, device="cuda").reshape(1, 1, 1, -1)
        return self.pit.vertical_slash_sparse_attention(q, k, v, vt, st)

    def bs_blocks(self, q, k, top_k=100):
        """Per query block, the key blocks block_sparse_attention keeps (padding as it pads)."""
        torch = self.torch
        n = q.shape[2]
        pad = BLOCK - (n & (BLOCK - 1))
        qp = torch.nn.functional.pad(q, [0, 0, 0, pad, 0, 0, 0, 0])
        kp = torch.nn.functional.pad(k, [0, 0, 0, pad, 0, 0, 0, 0])
        idx = self.bs._build_block_index(qp, kp, top_k, BLOCK, BLOCK)[0, 0].cpu().numpy()
        return [idx[b].tolist() for b in range((n + BLOCK - 1) // BLOCK)]

    def attention(self, kernel, q, k, v, *rest):
        """A reference attention kernel on bf16 copies (its Triton kernels take bf16/fp16), or None
        (noted once) when it fails on this Triton."""
        try:
            return kernel(q.bfloat16(), k.bfloat16(), v.bfloat16(), *rest)
        except Exception as e:  # noqa: BLE001 - the index comparison does not need the kernel
            note = f"reference attention kernel {kernel.__name__} failed here: {type(e).__name__}: {str(e)[:200]}"
            if note not in self.notes:
                self.notes.append(note)
                print("[semantics] " + note, flush=True)
            return None

    def bs_attention(self, q, k, v, top_k=100):
        return self.bs.block_sparse_attention(q, k, v, top_k)


# ---------------------------------------------------------------- cases

VS_BUDGETS = [(1000, 6096), (30, 800), (100, 800), (3500, 100), (30, 50)]
A_SHAPE = [(64, 512), (128, 1024)]
LENGTHS = [1000, 4100, 7748, 8192]
BS_LENGTHS = [7748, 10000]


def inputs(kind, n, d, seed):
    """q, k, v [n, d] float32. 'local': RoPE-rotated copies of one vector plus noise, so scores fall
    with i - j (diagonals cluster near the main one) and a few planted sink keys; 'random': iid."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return [rng.standard_normal((n, d)).astype(np.float32) for _ in range(3)]
    u = rng.standard_normal(d).astype(np.float32)
    freq = 10000.0 ** (-np.arange(d // 2) / (d // 2))
    ang = np.arange(n)[:, None] * freq[None, :]
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(x):
        a, b = x[..., : d // 2], x[..., d // 2:]
        return np.concatenate([a * cos - b * sin, a * sin + b * cos], -1).astype(np.float32)

    base = np.broadcast_to(u, (n, d))
    q = rope(base * 1.0 + rng.standard_normal((n, d)) * 0.6)
    k = rope(base * 1.0 + rng.standard_normal((n, d)) * 0.6)
    sinks = rng.choice(n, size=min(8, n), replace=False)
    k[sinks] += np.float32(0.5) * q[-64:].mean(0)
    return q, k, rng.standard_normal((n, d)).astype(np.float32)


def bf16_round(x):
    b = x.astype(np.float32).view(np.uint32)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.view(np.float32)


def cases(quick):
    """bf16 inputs with local structure at every length; iid bf16 and fp32 at a partial-block and
    a real-document length; A-shape and block-sparse at lengths around and beyond 100 blocks."""
    out = []
    full = [1000, 4100] if quick else LENGTHS
    some = [4100] if quick else [4100, 7748]
    for dtype, kind, lengths in (("bf16", "local", full), ("bf16", "random", some), ("fp32", "local", some)):
        for n in lengths:
            for vs in VS_BUDGETS:
                out.append(dict(pattern="vertical_slash", a=vs[0], b=vs[1], n=n, dtype=dtype, kind=kind))
    for n in some:
        for a in A_SHAPE:
            out.append(dict(pattern="a_shape", a=a[0], b=a[1], n=n, dtype="bf16", kind="local"))
    for n in ([7748] if quick else BS_LENGTHS):
        for dtype in ("bf16", "fp32"):
            out.append(dict(pattern="block_sparse", a=100, b=0, n=n, dtype=dtype, kind="local"))
    for i, c in enumerate(out):
        c["name"] = f"c{i:03d}_{c['pattern']}_{c['a']}_{c['b']}_n{c['n']}_{c['dtype']}_{c['kind']}"
        c["seed"] = 1000 + i
    return out


def verdict(c, given, e2e, sel_diff):
    """equal / documented difference / DIFFERENT (the exit status counts the last)."""
    p = c["pattern"]
    if p == "vertical_slash":
        if c["b"] < 100:
            return "documented: slash_size < 100 (reference keeps diagonals 50..99, we keep 0..49)"
        if given["diff_entries"]:
            return "DIFFERENT: same selection, different entries"
        if e2e["diff_entries"] == 0:
            return "equal"
        return f"equal index semantics; selections differ by {sel_diff} near-tie choices (estimate numerics)"
    if p == "a_shape":
        return "documented: A-shape window widened to the query block" if e2e["missing_in_ours"] == 0 \
            else "DIFFERENT: window entries missing"
    if p == "block_sparse":
        return "documented: diagonal block and block 0 forced; partial block pooled over its rows" if e2e["diff_entries"] \
            else "equal"
    return "?"


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peer", nargs="?", help="folder with MInference's source (see above)")
    ap.add_argument("out", help="output folder")
    ap.add_argument("--cp", required=True, help="class path with io.prefill.sparse.PlanDump")
    ap.add_argument("--java", default="java")
    ap.add_argument("--selftest", action="store_true", help="numpy only: our planner against the transliteration")
    ap.add_argument("--quick", action="store_true", help="fewer lengths")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    logf = open(os.path.join(args.out, "semantics.log"), "w")

    def log(s):
        print(s, flush=True)
        logf.write(s + "\n")

    if args.selftest:
        sys.exit(selftest(args, log))
    if not args.peer:
        ap.error("PEER_DIR is required (except with --selftest)")
    import torch
    ref = Reference(args.peer, os.path.join(args.out, "build"), log)
    for note in ref.notes:
        log("[semantics] " + note)
    case_dir = os.path.join(args.out, "cases")
    os.makedirs(case_dir, exist_ok=True)
    todo = cases(args.quick)
    d = 128
    # 1. the reference's choices, and the inputs for ours
    tensors, refsel = {}, {}
    with open(os.path.join(case_dir, "cases.tsv"), "w") as tsv:
        for c in todo:
            q, k, v = inputs(c["kind"], c["n"], d, c["seed"])
            if c["dtype"] == "bf16":
                q, k, v = bf16_round(q), bf16_round(k), bf16_round(v)
            tdt = torch.bfloat16 if c["dtype"] == "bf16" else torch.float32
            tq, tk, tv = (torch.from_numpy(x).to("cuda", tdt).reshape(1, 1, c["n"], d) for x in (q, k, v))
            tensors[c["name"]] = (tq, tk, tv, v)
            for x, suffix in ((q, "q"), (k, "k"), (v, "v")):
                x.astype("<f4").tofile(os.path.join(case_dir, f"{c['name']}.{suffix}.f32"))
            given = 0
            if c["pattern"] == "vertical_slash":
                cols, offs = ref.vs_select(tq, tk, c["a"], c["b"])
                refsel[c["name"]] = (cols, offs)
                write_selection(os.path.join(case_dir, c["name"] + ".refsel.i32"), cols, offs)
                given = 1
            attend = 1 if c["kind"] == "local" and c["dtype"] == "bf16" else 0
            tsv.write(f"{c['name']} {c['n']} {d} {c['pattern']} {c['a']} {c['b']} {attend} {given}\n")
    # 2. ours, one JVM for all cases
    secs = run_ours(args.java, args.cp, case_dir)
    log(f"[semantics] our planner (PlanDump) on {len(todo)} cases: {secs:.1f} s")
    # 3. compare
    rows, bad = [], 0
    for c in todo:
        name, n = c["name"], c["n"]
        tq, tk, tv, v_np = tensors[name]
        ours_rows = rows_of_ours(read_plan(os.path.join(case_dir, name + ".ours.plan.i32")), n)
        given = dict(diff_entries=0)
        sel_diff, port_ok, out_ref = 0, "", None
        if c["pattern"] == "vertical_slash":
            cols, offs = refsel[name]
            starts, cidx = ref.vs_index(n, cols, offs)
            if ref.index_is_op:
                port_ok = str((starts, cidx) == convert_vs_port(n, np.sort(cols), np.sort(offs)[::-1]))
            ref_rows = rows_of_reference(starts, cidx, n)
            given = compare_rows(rows_of_ours(read_plan(os.path.join(case_dir, name + ".given.plan.i32")), n), ref_rows)
            oc, oo = read_selection(os.path.join(case_dir, name + ".ours.sel.i32"))
            sel_diff = len(set(oc.tolist()) ^ set(cols.tolist())) + len(set(oo.tolist()) ^ set(offs.tolist()))
            out_ref = ref.attention(ref.vs_attention, tq, tk, tv, cols, offs)
        elif c["pattern"] == "a_shape":
            ref_rows = rows_of_window(n, c["a"], c["b"])
        else:
            blocks = ref.bs_blocks(tq, tk)
            ref_rows = rows_of_reference([[kb * BLOCK for kb in blocks[b]] for b in range(len(blocks))],
                                         [[] for _ in blocks], n)
            out_ref = ref.attention(ref.bs_attention, tq, tk, tv)
        e2e = compare_rows(ours_rows, ref_rows)
        row = dict(name=name, pattern=c["pattern"], a=c["a"], b=c["b"], n=n, dtype=c["dtype"], kind=c["kind"],
                   sel_diff=sel_diff, given_diff=given["diff_entries"], **e2e, port_equals_op=port_ok)
        # outputs: each side's kernel against fp32 attention over its own kept set, and ours vs theirs
        mask_ref = torch.from_numpy(full_mask(ref_rows)).cuda()
        mask_ours = torch.from_numpy(full_mask(ours_rows)).cuda()
        qf, kf, vf = (x.float()[0, 0] for x in (tq, tk, tv))
        exact_ref = masked_attention(torch, qf, kf, vf, mask_ref)
        exact_ours = masked_attention(torch, qf, kf, vf, mask_ours)
        row["masked_ours_vs_ref_last_row"] = rel(exact_ours[-1].cpu(), exact_ref[-1].cpu())
        if out_ref is not None:
            o = out_ref.float()[0, 0]
            row["ref_kernel_bf16_vs_its_set"] = rel(o.cpu(), exact_ref.cpu())
        ours_out = os.path.join(case_dir, name + ".ours.out.f32")
        if os.path.exists(ours_out):
            oo_ = torch.from_numpy(np.fromfile(ours_out, dtype="<f4").reshape(n, -1))
            row["ours_planattention_vs_its_set"] = rel(oo_, exact_ours.cpu())
            if out_ref is not None:
                row["ours_vs_ref_kernel_last_row"] = rel(oo_[-1], out_ref.float()[0, 0, -1].cpu())
        row["verdict"] = verdict(c, given, e2e, sel_diff)
        bad += row["verdict"].startswith("DIFFERENT")
        rows.append(row)
        log(f"[semantics] {name}: {row['verdict']} (entries ours {e2e['entries_ours']}, ref {e2e['entries_ref']}, "
            f"diff {e2e['diff_entries']}; given diff {given['diff_entries']}; last row {e2e['last_row_ours']} vs "
            f"{e2e['last_row_ref']})")
    write_report(args.out, rows, ref.notes, torch)
    log(f"[semantics] {len(rows)} cases, {bad} with an undocumented difference; report: {args.out}/semantics.md")
    return 1 if bad else 0


def masked_attention(torch, q, k, v, mask):
    s = (q @ k.T) / (q.shape[1] ** 0.5)
    s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def write_report(out, rows, notes, torch=None):
    keys = list(rows[0].keys()) if rows else []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    with open(os.path.join(out, "semantics.tsv"), "w") as f:
        f.write("\t".join(keys) + "\n")
        for r in rows:
            f.write("\t".join(_fmt(r.get(k, "")) for k in keys) + "\n")
    by = {}
    for r in rows:
        key = (r["pattern"], r["verdict"].split(";")[0].split("(")[0].strip())
        by[key] = by.get(key, 0) + 1
    with open(os.path.join(out, "semantics.md"), "w") as f:
        f.write("# Sparse index semantics: ours against MInference's\n\n")
        if torch is not None:
            f.write(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}\n\n")
        for note in notes:
            f.write(f"- {note}\n")
        f.write("\n| pattern | verdict | cases |\n|---|---|---|\n")
        for (p, v), cnt in sorted(by.items()):
            f.write(f"| {p} | {v} | {cnt} |\n")
        f.write("\n| case | verdict | entries ours | entries ref | diff | given diff | last row ours / ref |\n"
                "|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['name']} | {r['verdict']} | {r['entries_ours']} | {r['entries_ref']} | {r['diff_entries']} | "
                    f"{r.get('given_diff', '')} | {r['last_row_ours']} / {r['last_row_ref']} |\n")


def _fmt(x):
    return f"{x:.3e}" if isinstance(x, float) else str(x)


def selftest(args, log):
    """No torch: our planner (PlanDump, given selections) against the transliteration of the
    reference's index builder on random selections, lengths that are and are not multiples of 64."""
    rng = np.random.default_rng(7)
    case_dir = os.path.join(args.out, "selftest")
    os.makedirs(case_dir, exist_ok=True)
    todo, d = [], 16
    for n in (63, 64, 644, 1000, 4096, 4100, 7748):
        for t, (nv, ns, zero) in enumerate(((30, 50, True), (200, 800, True), (1000, 6096, True), (30, 60, False))):
            name = f"s{n}_{t}"
            cols = np.sort(rng.choice(n, size=min(nv, n), replace=False))
            offs = np.sort(rng.choice(n, size=min(ns, n), replace=False))
            if zero and offs[0] != 0:
                offs = np.concatenate([[0], offs[1:]])
            if not zero:  # like the reference's slash_size < 100 rule: no diagonal below 50
                lo = min(50, n - 1)
                offs = np.union1d([lo], rng.choice(np.arange(lo, n), size=min(ns, n - lo), replace=False))
            q = rng.standard_normal((n, d)).astype(np.float32)
            q.tofile(os.path.join(case_dir, name + ".q.f32"))
            q.tofile(os.path.join(case_dir, name + ".k.f32"))
            write_selection(os.path.join(case_dir, name + ".refsel.i32"), cols, offs)
            todo.append((name, n, cols, offs, zero))
    with open(os.path.join(case_dir, "cases.tsv"), "w") as tsv:
        for name, n, *_ in todo:
            tsv.write(f"{name} {n} {d} vertical_slash 30 50 0 1\n")
    run_ours(args.java, args.cp, case_dir)
    bad, rows = 0, []
    for name, n, cols, offs, zero in todo:
        starts, cidx = convert_vs_port(n, cols, offs[::-1])
        cmp = compare_rows(rows_of_ours(read_plan(os.path.join(case_dir, name + ".given.plan.i32")), n),
                           rows_of_reference(starts, cidx, n))
        ok = cmp["diff_entries"] == 0
        documented = not zero and cmp["missing_in_ours"] == 0
        verdict = "equal" if ok else ("documented: columns past the last range (no diagonal 0)" if documented else "DIFFERENT")
        bad += verdict == "DIFFERENT"
        rows.append(dict(name=name, pattern="vertical_slash", a=len(cols), b=len(offs), n=n, verdict=verdict,
                         given_diff=cmp["diff_entries"], **cmp))
        log(f"[selftest] {name}: {verdict} (entries {cmp['entries_ours']} vs {cmp['entries_ref']}, "
            f"last row {cmp['last_row_ours']} vs {cmp['last_row_ref']})")
    write_report(args.out, rows, ["self-test: transliterated index builder, given selections, no GPU"])
    log(f"[selftest] {len(rows)} cases, {bad} different")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
