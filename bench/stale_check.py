#!/usr/bin/env python3
"""Does each compiler configuration rebuild a file-reading macro's output when its file changes?

    python3 bench/stale_check.py                    # zoxide's askama templates, every column
    python3 bench/stale_check.py --columns stock-Z,warm

A correctness check beside the benchmark, not a timing: zoxide's shell scripts are askama
`Template` derives that read `templates/<shell>.txt` at expansion time (askama names the
file in its output with `include_bytes!`, so cargo rebuilds the crate when it changes).
For each column of bench/run.py: `cargo build` zoxide, a `cargo build` after `touch` of
its root (a warm cache has every entry by then), then one more line in
`templates/bash.txt` and `cargo build` again; the binary's `zoxide init bash` must print
that line. A cache keyed by the derive's input tokens alone serves the old script.

Runs on the state `bench/run.py --setup-only` left (the zoxide source and the
per-compiler `build` templates of its dependencies); each column works in copies under
<workdir>/stale/. Prints a table and writes stale.json to --out.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: columns, toolchains, environment)

TEMPLATE = "templates/bash.txt"
MARKER = "# bench/stale_check.py: template edit {n}"


def cargo_build(cargo: Path, src: Path, env: dict, report: Path) -> dict | None:
    """`cargo build`; the expansion cache's counters for the zoxide crate (None: cache off)."""
    report.unlink(missing_ok=True)
    p = subprocess.run([str(cargo), "build", "--locked"], cwd=src, text=True, capture_output=True,
                       env={**env, "RUSTC_EXPAND_CACHE_REPORT": str(report)})
    if p.returncode != 0:
        raise SystemExit(f"cargo build failed in {src}:\n{p.stderr[-3000:]}")
    return run.read_report(report, {"zoxide"})


def script_has(binary: Path, marker: str) -> bool:
    out = subprocess.run([str(binary), "init", "bash"], text=True, capture_output=True, check=True).stdout
    return marker in out


def check_column(col: str, work: Path, ours: Path, stock: Path, cargo: Path) -> dict:
    c = run.COLUMN_DEF[col]
    tc = stock if c["tc"] == "stock" else ours
    base = work / "stale" / col
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    src, target, cache = base / "src", base / "target", base / "cache"
    shutil.copytree(work / "src" / "zoxide", src, symlinks=True)
    tmpl = work / "tmpl" / "zoxide" / f"{c['tc']}-build"
    if not tmpl.exists():
        raise SystemExit(f"{tmpl} is missing: run `python3 bench/run.py --setup-only --workloads zoxide` first")
    subprocess.run(["cp", "-a", str(tmpl), str(target)], check=True)
    env = run.column_env(col, tc, target, cache, [])
    binary = target / "debug" / "zoxide"
    marker = MARKER.format(n=int(dt.datetime.now().timestamp()))
    report = base / "report.txt"
    cargo_build(cargo, src, env, report)         # first build (fills a cache)
    os.utime(src / "src" / "main.rs", None)
    touched = cargo_build(cargo, src, env, report)   # touch rebuild (a warm cache serves it)
    before = script_has(binary, marker)
    tpl = src / TEMPLATE
    lines = tpl.read_text().split("\n")
    lines.insert(1, marker)                      # after the template's first `let`
    tpl.write_text("\n".join(lines))
    edited = cargo_build(cargo, src, env, report)    # the template changed: askama must re-run
    after = script_has(binary, marker)
    shutil.rmtree(base, ignore_errors=True)
    return dict(column=col, marker_before=before, marker_after=after, touch_counts=touched,
                edit_counts=edited, verdict="fresh" if (after and not before) else "STALE")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--columns", default="stock,stock-Z,off,off-Z,warm")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--out", default=None, help="directory for stale.json (default: print only)")
    ap.add_argument("--toolchain", default=None)
    ap.add_argument("--stock-toolchain", default=None)
    args = ap.parse_args()
    cols = [c for c in args.columns.split(",") if c]
    # cold (a cache emptied before each build) and off-je (a preloaded allocator) are
    # benchmark columns: this check builds three times in a row with one cache.
    known = [c for c in run.ALL_COLUMNS if c != "cold"]
    if not cols:
        ap.error("--columns: no names given")
    for c in cols:
        if c not in known:
            ap.error(f"--columns: {c!r} is not one of {', '.join(known)}")
    run.check_toolchain_options(ap, args)
    work = Path(args.workdir).resolve() if args.workdir else run.default_workdir()
    if not (work / "src" / "zoxide").exists():
        ap.error(f"no zoxide source under {work}/src: run `python3 bench/run.py --setup-only --workloads zoxide`")
    ours, stock = run.ours_toolchain(args.toolchain), run.stock_toolchain(args.stock_toolchain)
    cargo = stock / "bin" / "cargo"
    results = []
    for col in cols:
        run.log(f"{col}: build, touch + build, template edit + build")
        r = check_column(col, work, ours, stock, cargo)
        run.log(f"{col}: the edited template is {'in' if r['marker_after'] else 'NOT in'} the new binary: {r['verdict']}")
        results.append(r)
    def hits(counts: dict | None) -> str:
        return "-" if counts is None else f"{counts['hits']} / {counts['misses']}"
    table = ["| column | hits / misses, touch rebuild | hits / misses, after the edit | template edit in the rebuilt binary | verdict |",
             "|---|---:|---:|---|---|"]
    table += [f"| {r['column']} | {hits(r['touch_counts'])} | {hits(r['edit_counts'])} | "
              f"{'yes' if r['marker_after'] else 'no'} | {r['verdict']} |" for r in results]
    print("\n".join(table))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        meta = dict(date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    ours_vV=run.tool_versions(ours), stock_vV=run.tool_versions(stock))
        (out / "stale.json").write_text(run.redact_paths(json.dumps(dict(meta=meta, results=results), indent=1)) + "\n")
    if any(r["verdict"] != "fresh" for r in results if not run.COLUMN_DEF[r["column"]]["z"]):
        sys.exit(1)   # a column without -Z serving stale output is a bug of ours


if __name__ == "__main__":
    main()
