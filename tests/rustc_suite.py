#!/usr/bin/env python3
"""rustc's own proc-macro tests, run with the patched stage1 compiler three times:
cache off, cache on and cold, cache on and warm.

Passes when every test passes with the cache off (the patched compiler itself is
sound), every suite asked for ran, the cold and warm runs ran the same tests and
none that passes with the cache off fails with it on, and the warm run really hit
the cache. Needs the build directory of `toolchain/build.py` (its source tree and
stage1 compiler: not another toolchain directory). Prints a summary and a closing
`N passed, N failed` line over the checks it made.

    python3 tests/rustc_suite.py [--root DIR] [SUITE_PATH ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "toolchain"))
import build  # noqa: E402  (toolchain/build.py: layout, stage0, identity)

DEFAULT_SUITES = ["tests/ui/proc-macro", "tests/incremental/derive_macro_expansion",
                  "tests/incremental/incremental_proc_macro.rs"]
RESULT = re.compile(r"^test \[(\w+)\] (\S+) \.\.\. (ok|FAILED|ignored)", re.M)


def write_std_stamp(lay: build.Layout, stage0: build.Stage0) -> None:
    """`--keep-stage-std 1` takes std from this stamp: the official std the toolchain ships."""
    std = stage0.sysroot / "lib" / "rustlib" / build.HOST / "lib"
    stamp = lay.src / "build" / build.HOST / "stage1-std" / build.HOST / "dist" / ".libstd-stamp"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_bytes(b"".join(b"t" + str(p).encode() + b"\0" for p in sorted(std.iterdir()) if p.is_file()))


def run_suites(lay: build.Layout, ident: str, suites: list[str], env: dict, log: Path) -> dict[str, str]:
    # --no-fail-fast: a failing test must not keep the next suites from running.
    cmd = [sys.executable, "x.py", "test", *suites, "--stage", "1", "--keep-stage-std", "1", "--no-fail-fast",
           "--set", "llvm.ninja=false", "--set", "rust.verbose-tests=true", "--force-rerun"]
    full_env = dict(os.environ, RUSTC_EXPAND_CACHE_IDENTITY=ident, CG_CLIF_FORCE_GNU_AS="1", **env)
    with open(log, "w") as out:
        subprocess.run(cmd, cwd=lay.src, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    results = {f"{m[1]} {m[2]}": m[3] for m in RESULT.finditer(log.read_text(errors="replace"))}
    if not results:
        raise build.BuildError(f"x.py test ran no test; see {log}")
    return results


def report_hits(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(int(m) for m in re.findall(r"\bhits=(\d+)", path.read_text()))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", help="build directory of toolchain/build.py")
    ap.add_argument("suites", nargs="*", default=DEFAULT_SUITES)
    args = ap.parse_args(argv)
    pin = build.load_pin()
    lay = build.Layout(Path(args.root).resolve() if args.root else build.default_root())
    stage0 = build.find_stage0(pin, None)
    backend = lay.toolchain / "lib" / "rustlib" / build.HOST / "lib" / "librustc_expand_cache.so"
    if not (lay.stage1 / "bin" / "rustc").exists() or not backend.exists():
        raise build.BuildError(f"no built toolchain under {lay.root}: run python3 toolchain/build.py")
    ident = build.identity(pin)
    write_std_stamp(lay, stage0)
    work = Path(tempfile.mkdtemp(prefix="rec-rustc-suite-"))
    cache_env = {"RUSTC_EXPAND_CACHE_DIR": str(work / "cache"), "RUSTC_EXPAND_CACHE_BACKEND": str(backend),
                 "RUSTC_EXPAND_CACHE_REPORT": str(work / "report.txt")}
    runs = {}
    for name, env in [("off", {"RUSTC_EXPAND_CACHE": "off"}), ("cold", {"RUSTC_EXPAND_CACHE": "on", **cache_env}),
                      ("warm", {"RUSTC_EXPAND_CACHE": "on", **cache_env})]:
        if name == "warm":
            (work / "report.txt").unlink(missing_ok=True)
        start = time.monotonic()
        print(f"cache {name:4}: running x.py test {' '.join(args.suites)} ...", flush=True)
        runs[name] = run_suites(lay, ident, args.suites, env, work / f"{name}.log")
        counts = {s: list(runs[name].values()).count(s) for s in ("ok", "FAILED", "ignored")}
        print(f"cache {name:4}: {counts['ok']} passed, {counts['FAILED']} failed, {counts['ignored']} ignored "
              f"({time.monotonic() - start:.0f} s; log {work / (name + '.log')})", flush=True)
    passed = failed = 0

    def check(ok: bool, what: str, why: str) -> None:
        nonlocal passed, failed
        passed, failed = passed + ok, failed + (not ok)
        print(f"ok   {what}" if ok else f"FAIL {what}: {why}")

    broken = sorted(t for t, r in runs["off"].items() if r == "FAILED")
    check(not broken, "cache off: every test passes", ", ".join(broken))
    ran = {t.split(" ", 1)[1] for t in runs["off"]}
    missing = [s for s in args.suites if not any(t == s or t.startswith(s.rstrip("/") + "/") for t in ran)]
    check(not missing, "every suite ran", "no results from " + ", ".join(missing))
    for name in ("cold", "warm"):
        check(runs[name].keys() == runs["off"].keys(), f"cache {name}: the same tests ran as with the cache off",
              f"{len(runs[name].keys() ^ runs['off'].keys())} tests ran in only one of the two")
    for name in ("cold", "warm"):
        regressions = sorted(t for t, r in runs["off"].items() if r == "ok" and runs[name].get(t) != "ok")
        if regressions:
            failed += 1
            print(f"FAIL cache {name}: passes with the cache off, fails with it on: " + ", ".join(regressions))
        else:
            passed += 1
            print(f"ok   cache {name}: no test that passes with the cache off fails")
    hits = report_hits(work / "report.txt")
    if hits > 0:
        passed += 1
        print(f"ok   warm run hit the cache {hits} times")
    else:
        failed += 1
        print("FAIL the warm run never hit the cache")
    print(f"{passed} passed, {failed} failed")
    if failed:
        print(f"logs and cache kept in {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except build.BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
