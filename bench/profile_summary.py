#!/usr/bin/env python3
"""Where a warp-specialised attention kernel's warps wait, from Nsight Compute.

Reads, for each kernel profiled by `run.sh kernel-profile` (one launch each, `ncu --set full`), the
two CSV pages that step exports next to the report:
  KERNEL-details.csv  `ncu -i REPORT --page details --csv`: one row per (section, metric)
  KERNEL-sass.csv     `ncu -i REPORT --page source --print-source sass --csv`: one row per SASS
                      instruction, with its warp-state samples
and prints one TSV block per kernel:
  - a few headline metrics (duration, compute and memory throughput, issue slots busy, warp cycles
    per issued instruction, registers, achieved occupancy), as the details page names them;
  - the share of all stall samples on each opcode family, and on the mbarrier waits
    (SYNCS.PHASECHK: a producer waiting for a free stage or a consumer waiting for a full one);
  - the instructions with the most samples, each with the instructions just before it, so that a
    wait can be told apart by what precedes it (the producer's copies, the consumers' wgmma).

Column names differ between Nsight Compute versions; the reader looks them up by the words they
contain and says which it used. Usage:
  profile_summary.py PROFILE_DIR [TOP] > summary.tsv
"""
import collections
import csv
import pathlib
import sys

HEADLINE = ["Duration", "Compute (SM) Throughput", "Memory Throughput", "L2 Hit Rate", "DRAM Throughput",
            "Issue Slots Busy", "Warp Cycles Per Issued Instruction", "Registers Per Thread", "Achieved Occupancy"]


def rows(path):
    """The CSV's rows as dicts, from the first row that looks like a header (ncu may print notes first)."""
    with open(path, newline="", errors="replace") as f:
        reader = list(csv.reader(f))
    for i, r in enumerate(reader):
        low = [c.lower() for c in r]
        if any("metric name" in c for c in low) or any(c in ("source", "address") for c in low):
            header = r
            return header, [dict(zip(header, x)) for x in reader[i + 1:] if len(x) == len(header)]
    return [], []


def number(text):
    try:
        return float(str(text).replace(",", "").strip())
    except ValueError:
        return None


def details(path):
    header, table = rows(path)
    out = {}
    for d in table:
        name = d.get("Metric Name", "")
        for label in HEADLINE:
            if name.lower() == label.lower() and label not in out:
                out[label] = (d.get("Metric Value", ""), d.get("Metric Unit", ""))
    return out


def column(header, *words):
    """The first column whose name contains every word (case-insensitive)."""
    for c in header:
        low = c.lower()
        if all(w in low for w in words):
            return c
    return None


def sass(path, top):
    header, table = rows(path)
    src = column(header, "source")
    samples = column(header, "warp stall sampling", "all") or column(header, "stall sampling") or column(header, "samples")
    if src is None or samples is None:
        return [f"#\tno source/sample columns in {path.name}: {header}"]
    lines = [f"#\tcolumns: source='{src}', samples='{samples}'"]
    instr = [(d[src].strip(), number(d[samples]) or 0.0) for d in table]
    total = sum(s for _, s in instr)
    if total == 0:
        return lines + ["#\tno samples"]
    families = collections.Counter()
    for text, s in instr:
        op = text.split()[0] if text else "?"
        if op.startswith("@"):  # predicate
            op = text.split()[1] if len(text.split()) > 1 else op
        families[op.split(".")[0]] += s
    waits = sum(s for text, s in instr if "SYNCS.PHASECHK" in text)
    lines.append(f"samples\t{total:.0f}")
    lines.append(f"mbarrier waits (SYNCS.PHASECHK)\t{100 * waits / total:.1f}%")
    for op, s in families.most_common(12):
        lines.append(f"opcode {op}\t{100 * s / total:.1f}%")
    order = sorted(range(len(instr)), key=lambda i: -instr[i][1])[:top]
    for i in order:
        before = " | ".join(t for t, _ in instr[max(0, i - 4):i])
        lines.append(f"top #{i}\t{100 * instr[i][1] / total:.1f}%\t{instr[i][0]}\tafter: {before}")
    return lines


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    folder = pathlib.Path(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    kernels = sorted(p.name[: -len("-details.csv")] for p in folder.glob("*-details.csv"))
    if not kernels:
        print(f"no *-details.csv in {folder}", file=sys.stderr)
        sys.exit(1)
    for k in kernels:
        print(f"== {k}")
        for label, (value, unit) in details(folder / f"{k}-details.csv").items():
            print(f"{label}\t{value}\t{unit}")
        s = folder / f"{k}-sass.csv"
        for line in sass(s, top) if s.exists() else [f"#\tno {s.name}"]:
            print(line)


if __name__ == "__main__":
    main()
