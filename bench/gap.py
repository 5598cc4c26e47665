#!/usr/bin/env python3
"""Where does this toolchain's own time go, against rustup's 1.95.0? (build-flavour gap)

    python3 bench/gap.py RESULTS.json [--workload lsp-types] [--edit check-touch]

Reads a results.json written by bench/run.py that has the `stock` and `off` columns
(and optionally `off-je`: `off` with jemalloc preloaded into rustc) and prints, from
the profiled run of each column, the self-profile activities side by side (ms, and
the ratio ours/stock), plus the medians of wall and CPU time of the timed runs.
"""
import argparse
import json
import statistics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--workload", default=None, help="needed when the file has several")
    ap.add_argument("--edit", default="check-touch")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--columns", default="stock,off,off-je",
                    help="columns to compare; the ratio is second/first (e.g. off,off-Z,warm)")
    args = ap.parse_args()
    if args.top < 1:
        ap.error(f"--top must be 1 or more, not {args.top}")
    try:
        d = json.load(open(args.results))
        all_runs = d["runs"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        ap.error(f"{args.results}: not a results.json of bench/run.py ({e})")
    # One workload's profile beside its own timed runs: pooling workloads would not match.
    workloads = sorted({r["workload"] for r in all_runs})
    if args.workload is None:
        if len(workloads) != 1:
            ap.error(f"--workload: {args.results} has several ({', '.join(workloads)}); name one")
        args.workload = workloads[0]
    for option, value, known in (("--workload", args.workload, workloads),
                                 ("--edit", args.edit, sorted({r["edit"] for r in all_runs}))):
        if value not in known:
            ap.error(f"{option}: {value!r} is not in {args.results} (there: {', '.join(known)})")
    runs = [r for r in all_runs if r["edit"] == args.edit and r["workload"] == args.workload]
    cols = [c for c in args.columns.split(",") if any(r["column"] == c for r in runs)]
    if not cols:
        ap.error(f"--columns: none of {args.columns} ran in {args.workload}/{args.edit}")
    prof = {}
    for r in runs:
        if r["kind"] == "profile" and r.get("prof"):
            prof[r["column"]] = r["prof"]
    print(f"{args.workload or 'all'} {args.edit}: timed runs, median wall / CPU seconds (n)")
    for c in cols:
        t = [r for r in runs if r["column"] == c and r["kind"] == "timed" and r["rc"] == 0]
        if t:
            print(f"  {c:7} wall {statistics.median(x['wall_s'] for x in t):6.2f}  "
                  f"cpu {statistics.median(x.get('cpu_s', 0) for x in t):6.2f}  (n={len(t)})")
    if len(cols) < 2 or cols[0] not in prof or cols[1] not in prof:
        return
    base = cols[1]
    labels = set()
    for c in cols:
        labels |= set(prof.get(c, {}).get("labels_ms", {}))
    rows = sorted(labels, key=lambda l: -prof[base]["labels_ms"].get(l, 0))[: args.top]
    print("\nself-profile activity (ms, profiled run; activities nest, so they do not add up)")
    print(f"  {'activity':45} " + " ".join(f"{c:>8}" for c in cols) + f"  {cols[1]}/{cols[0]}")
    for l in rows:
        v = [prof.get(c, {}).get("labels_ms", {}).get(l, 0.0) for c in cols]
        ratio = (v[1] / v[0]) if v[0] else float("nan")
        print(f"  {l[:45]:45} " + " ".join(f"{x:8.0f}" for x in v) + f"  {ratio:9.2f}")
    print("\nproc-macro execution by macro (ms, profiled run)")
    macros = set()
    for c in cols:
        macros |= set(prof.get(c, {}).get("pm_by_macro", {}))
    for m in sorted(macros, key=lambda m: -prof[base].get("pm_by_macro", {}).get(m, [0, 0])[1])[:10]:
        v = [prof.get(c, {}).get("pm_by_macro", {}).get(m, [0, 0])[1] / 1e6 for c in cols]
        ratio = (v[1] / v[0]) if v[0] else float("nan")
        print(f"  {m[:45]:45} " + " ".join(f"{x:8.0f}" for x in v) + f"  {ratio:9.2f}")


if __name__ == "__main__":
    main()
