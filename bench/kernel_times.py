#!/usr/bin/env python3
"""Per-kernel GPU time of the estimate and plan stage of PrefillBenchmark runs, from Nsight Compute.

Reads the CSV that `ncu --metrics gpu__time_duration.sum --csv --log-file FILE` writes over one
PrefillBenchmark call (several sizes, one after the other) and the TSV that PrefillBenchmark writes
for the same sizes without the profiler, and prints, per size, each kernel's time summed over the
layers and the estimate + plan total against the attention stage of the unprofiled run.

Launches are split into sizes where the grid of vs_row_stats* (one launch per sparse layer, grid
(heads, chunks of the keys)) changes: PrefillBenchmark runs its sizes in order, and its warm-up
prompt is shorter than the dense threshold, so it launches no estimate kernel.

  kernel_times.py NCU_CSV PREFILL_TSV [LABEL] > OUT.tsv
"""
import collections
import csv
import sys


def launches(path):
    """(kernel, grid, milliseconds) in launch order."""
    header, out = None, []
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if "Kernel Name" in row:
                header = row
                continue
            if header is None or len(row) != len(header):
                continue
            d = dict(zip(header, row))
            if d.get("Metric Name") != "gpu__time_duration.sum":
                continue
            scale = {"ns": 1e-6, "us": 1e-3, "usecond": 1e-3, "nsecond": 1e-6, "ms": 1.0, "msecond": 1.0}
            unit = scale.get(d.get("Metric Unit", "ns").strip(), 1e-6)
            out.append((d["Kernel Name"].split("(")[0], d["Grid Size"], float(d["Metric Value"].replace(",", "")) * unit))
    return out


CHUNK_KEYS = 1024  # keys per CTA of the score kernels (VerticalSlashGpu.CHUNK_KEYS)


def by_size(seq):
    """(chunks, launches) per size: a new group where the grid of the row-statistics kernel changes."""
    groups, grid, current = [], None, []
    for kernel, g, ms in seq:
        if kernel.startswith("vs_row_stats") and grid is not None and g != grid and current:
            groups.append((chunks(grid), current))
            current = []
        if kernel.startswith("vs_row_stats"):
            grid = g
        current.append((kernel, ms))
    if current:
        groups.append((chunks(grid), current))
    return groups


def chunks(grid):
    """The chunk count of a grid "(heads, chunks, 1)"."""
    return int(grid.strip("()").split(",")[1])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    label = sys.argv[3] if len(sys.argv) > 3 else ""
    groups = by_size(launches(sys.argv[1]))
    with open(sys.argv[2]) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    head, runs = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    if len(runs) != len(groups):
        sys.exit(f"{len(groups)} sizes in the profile, {len(runs)} rows in {sys.argv[2]}: not the same runs")
    for run, (chunk_count, _) in zip(runs, groups):
        n = int(dict(zip(head, run))["n"])
        if -(-n // CHUNK_KEYS) != chunk_count:
            sys.exit(f"the profile's run of {chunk_count} key chunks is not the n = {n} of {sys.argv[2]}")
    print("label\tn\tkernel\tms")
    for run, (_, group) in zip(runs, groups):
        r = dict(zip(head, run))
        total = collections.defaultdict(float)
        for kernel, ms in group:
            total[kernel] += ms
        estimate = sum(ms for k, ms in total.items() if k.startswith(("vs_", "exclusive_scan")))
        for kernel in sorted(total):
            print(f"{label}\t{r['n']}\t{kernel}\t{total[kernel]:.2f}")
        attention = float(r["attention_ms"])
        print(f"{label}\t{r['n']}\testimate + plan (vs_* and the CSR scan)\t{estimate:.2f}")
        print(f"{label}\t{r['n']}\tattention stage (unprofiled run)\t{attention:.0f}")
        print(f"{label}\t{r['n']}\testimate + plan / attention\t{estimate / attention:.4f}")


if __name__ == "__main__":
    main()
