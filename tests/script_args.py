#!/usr/bin/env python3
"""Argument checks of the benchmark and build scripts.

Each case gives a script arguments it must refuse before doing any work, and the words
its error must name. Every run.py and stale_check.py case points --workdir at an empty
directory and runs under a timeout, so a check that regresses fails here instead of
starting a benchmark in the real work dir.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAIN_RESULTS = "bench/results/2026-12-01d/main/results.json"


def cases(tmp: Path) -> list[tuple[str, list[str], int, str]]:
    """(script, arguments, exit status, text the error must contain)."""
    work = ["--workdir", str(tmp / "work")]
    not_json = tmp / "not-results.json"
    not_json.write_text('{"rows": []}')
    a_file = tmp / "a-file"
    a_file.write_text("")
    # A copy: a --report that regressed would re-render into the committed results dir.
    copied = tmp / "results" / "results.json"
    copied.parent.mkdir()
    copied.write_text((REPO / MAIN_RESULTS).read_text())
    return [
        ("bench/run.py", [*work, "--repeats", "0"], 2, "--repeats must be 1 or more, not 0"),
        ("bench/run.py", [*work, "--situation-repeats", "-1"], 2, "--situation-repeats must be 1 or more"),
        ("bench/run.py", [*work, "--columns", "warm,lukewarm"], 2, "--columns: unknown name 'lukewarm'"),
        ("bench/run.py", [*work, "--columns", ","], 2, "--columns: no names given"),
        ("bench/run.py", [*work, "--workloads", "serde"], 2, "--workloads: unknown name 'serde'"),
        ("bench/run.py", [*work, "--edits", "check-touch", "--skip", "zoxide/clean"], 2,
         "--skip: 'zoxide/clean' is no cell of this run"),
        ("bench/run.py", [*work, "--deadline", "24:00"], 2, "--deadline: '24:00' is not HH:MM"),
        ("bench/run.py", [*work, "--kernel-samples", "5"], 2, "give --instructions N too"),
        ("bench/run.py", [*work, "--columns", "off,warm", "--instructions", "1", "--instruction-columns", "cold"],
         2, "--instruction-columns: 'cold' is not among --columns"),
        ("bench/run.py", [*work, "--toolchain", str(tmp / "nowhere")], 2,
         "--toolchain " + str(tmp / "nowhere") + ": no bin/rustc in"),
        ("bench/stale_check.py", [*work, "--stock-toolchain", str(tmp)], 2,
         "--stock-toolchain " + str(tmp) + ": no bin/rustc in"),
        ("bench/run.py", [*work, "--columns", "off-je", "--jemalloc", str(tmp / "nowhere.so")], 2,
         "--jemalloc"),
        ("bench/run.py", [*work, "--setup-only", "--no-setup"], 2, "--setup-only and --no-setup exclude each other"),
        ("bench/run.py", [*work, "--no-setup"], 2, "run with --setup-only first"),
        ("bench/run.py", ["--report", str(copied), "--repeats", "3"], 2,
         "--report only re-renders a results.json and takes no other option (given: --repeats)"),
        ("bench/run.py", ["--report", str(tmp / "missing.json")], 2, "--report: cannot read"),
        ("bench/run.py", ["--report", str(not_json)], 2, "is not a results.json of run.py"),
        ("bench/stale_check.py", [*work, "--columns", "off,cold"], 2, "--columns: 'cold' is not one of"),
        ("bench/stale_check.py", [*work, "--columns", ""], 2, "--columns: no names given"),
        ("bench/stale_check.py", [*work, "--columns", "off"], 2, "run `python3 bench/run.py --setup-only"),
        ("bench/gap.py", [MAIN_RESULTS], 2, "--workload: " + MAIN_RESULTS + " has several"),
        ("bench/gap.py", [MAIN_RESULTS, "--workload", "serde"], 2, "--workload: 'serde' is not in"),
        ("bench/gap.py", [MAIN_RESULTS, "--workload", "zoxide", "--top", "0"], 2, "--top must be 1 or more"),
        ("bench/gap.py", [str(not_json), "--workload", "zoxide"], 2, "not a results.json of bench/run.py"),
        ("toolchain/build.py", ["path", "-j", "0"], 2, "--jobs must be 1 or more, not 0"),
        ("toolchain/build.py", ["path", "--root", str(a_file)], 1, "is not a directory"),
    ]


def main() -> int:
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="rec-script-args-") as t:
        tmp = Path(t)
        for script, args, status, want in cases(tmp):
            what = f"{script} {' '.join(args)}".replace(str(tmp), "$TMP")
            try:
                r = subprocess.run([sys.executable, script, *args], cwd=REPO, capture_output=True, text=True,
                                   timeout=60)
                why = None
                if r.returncode != status:
                    why = f"exit {r.returncode}, expected {status}"
                elif want not in r.stderr:
                    why = f"error does not say {want!r}"
                if why:
                    why += f"; stderr: {r.stderr.strip()[-600:]!r}"
            except subprocess.TimeoutExpired:
                why = "still running after 60 s: the arguments were accepted"
            if why:
                failed += 1
                print(f"FAIL {what}: {why}")
            else:
                passed += 1
                print(f"ok   {what}")
        leftover = sorted(p.name for p in (tmp / "work").glob("*")) if (tmp / "work").exists() else []
        if leftover:
            failed += 1
            print(f"FAIL a refused run left files in its work dir: {', '.join(leftover)}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
