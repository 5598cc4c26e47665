#!/usr/bin/env python3
"""What the proc-macro expansion cache buys: a benchmark command.

    python3 bench/run.py                      # everything, default repeats
    python3 bench/run.py --quick              # 1 workload, 2 repeats, smoke test
    python3 bench/run.py --workloads lsp-types,zoxide --edits check-touch,clippy \\
        --columns stock,off,warm --repeats 7
    python3 bench/run.py --report DIR/results.json   # reprint table + plot

Workloads are real crates from crates.io (bench/workloads/<name>/workload.toml, with
a pinned Cargo.lock), fetched with ordinary cargo and unpacked into the work dir
(default $XDG_CACHE_HOME/rustc-expand-cache/bench). Each column (compiler
configuration) gets its own target dir, copied from a per-compiler template in
which the dependency tree was checked once; the workload's source tree is shared,
and every measured step applies one edit and then runs every column, in an order
rotated at each step (alternated, same machine state).

Columns:
  stock    rustup's rustc 1.95.0
  stock-Z  the same with -Zcache-proc-macros (upstream's derive cache, incremental only)
  off      this toolchain, RUSTC_EXPAND_CACHE=off
  off-Z    this toolchain, cache off, -Zcache-proc-macros (like-for-like with upstream's cache)
  warm     this toolchain, cache on, cache kept between runs
  cold     this toolchain, cache on, cache emptied before every run (the cost of filling it)
Every column: RUSTC_BOOTSTRAP=1, the same cargo (rustup's 1.95.0), the same
RUSTC_WRAPPER (bench/wrap.sh), which adds per-column flags to the workload crate only.

Edits / situations (each on `cargo check` unless named build-*):
  check-touch   touch the crate root
  check-fn      one-line change in a function body (no line moves)
  check-shift   a line added at the top of a derive-dense file (every span below moves)
  check-struct  a doc comment changed inside one derived struct (its derives must re-run)
  build-*       the same four on `cargo build` (workloads given by --build-workloads)
  clippy        `cargo clippy` right after `cargo check` on the same tree (clippy's
                own state for the crate removed first: the first clippy after a check)
  clean         `cargo clean -p <crate>` then `cargo check` (cache dir kept: it lives
                outside target/, as with a shared RUSTC_EXPAND_CACHE_DIR)
  worktree      a copy of the tree at another path with new mtimes (a fresh worktree),
                `cargo clean -p` first, same cache dir: an absolute CARGO_MANIFEST_DIR
                in the keys would cost hits (dependencies stay built)
  noninc        touch + `cargo check` with CARGO_INCREMENTAL=0 (CI, release builds)

Per cell: one profiled run (-Zself-profile, workload crate only; gives the time
inside proc-macro execution, `expand_proc_macro`, and the cache's own labels) and
--repeats timed runs without profiling (median, min, max of wall time). With
--instructions N, N more runs per cell in each of --instruction-columns (default off
and cold) in which the workload crate's compiler runs under cachegrind (needs
valgrind): its user-space instruction count, which does not depend on what else the
machine does, so that differences of a few percent are measurable (the cost of a
cold cache); the wait for the cache's commit (its fsync) and kernel CPU time are not
in it and are reported beside it, from the profile (`join`) and the kernel time.
The kernel time is the timed runs' mean system time (the whole cargo command, which the
kernel splits from user time at each timer tick: several ms off per run), or with
--kernel-samples N, from N more runs per cell and instruction column in which the
workload crate's compiler runs under `perf record -e cpu-clock:k` (needs perf): its
kernel-mode CPU time, sampled every 100 us of CPU, cargo's left out.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WRAPPER = BENCH / "wrap.sh"

ALL_COLUMNS = ["stock", "stock-Z", "off", "off-Z", "warm", "cold"]
COLUMN_DEF = {
    "stock": dict(tc="stock", z=False, cache="off", clear=False),
    "stock-Z": dict(tc="stock", z=True, cache="off", clear=False),
    "off": dict(tc="ours", z=False, cache="off", clear=False),
    "off-Z": dict(tc="ours", z=True, cache="off", clear=False),
    "warm": dict(tc="ours", z=False, cache="on", clear=False),
    "cold": dict(tc="ours", z=False, cache="on", clear=True),
    # build-flavour analysis only (not in the default set): `off` with jemalloc preloaded
    # into rustc, as the official build links it (rust.jemalloc)
    "off-je": dict(tc="ours", z=False, cache="off", clear=False, jemalloc=True),
}
EDIT_KINDS = ["touch", "fn", "shift", "struct"]
ALL_EDITS = [f"check-{k}" for k in EDIT_KINDS] + [f"build-{k}" for k in EDIT_KINDS] + [
    "clippy", "clean", "worktree", "noninc"]
SITUATIONS = {"clippy", "clean", "worktree", "noninc"}
PM_LABEL = "expand_proc_macro"
# lookup, hit and store run on the compiler's thread; flush (the commit, with its fsync) on a
# thread of its own since the toolchain of 2026-11-30 evening, and join is the time the compiler
# waited for it at the end of the session (before, flush ran on the compiler's thread)
CACHE_LABELS = ["expand_proc_macro_cache_lookup", "expand_proc_macro_cache_hit",
                "expand_proc_macro_cache_store", "expand_proc_macro_cache_flush",
                "expand_proc_macro_cache_join"]
FN_LINE = "let _bench_edit: u64 = {n}; // bench/run.py: fn-body edit"
FN_RE = re.compile(r"let _bench_edit: u64 = \d+; // bench/run.py: fn-body edit")
STRUCT_LINE = "/// bench/run.py: struct edit {n}"
STRUCT_RE = re.compile(r"/// bench/run.py: struct edit \d+")
SHIFT_LINE = "// bench/run.py: line-shift edit\n"


def log(msg: str) -> None:
    print(f"[{dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {msg}", flush=True)


class CommandFailed(SystemExit):
    """A command run.py needs failed or is missing: ends the run with its message."""


def sh(cmd, **kw) -> subprocess.CompletedProcess:
    """Runs `cmd`, capturing its output; a failure ends the run naming the command and
    showing what it printed."""
    try:
        return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)
    except FileNotFoundError:
        raise CommandFailed(f"error: {cmd[0]} not found (needed for: {' '.join(map(str, cmd))})")
    except subprocess.CalledProcessError as e:
        said = "\n".join(x.strip() for x in (e.stdout, e.stderr) if x and x.strip())
        raise CommandFailed(f"error: {' '.join(map(str, cmd))} failed (exit {e.returncode})"
                            + (f":\n{said}" if said else ""))


# ---------------------------------------------------------------- toolchains

def default_workdir() -> Path:
    """$XDG_CACHE_HOME/rustc-expand-cache/bench; as XDG says, an unset, empty or relative
    XDG_CACHE_HOME means ~/.cache."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return Path(xdg if os.path.isabs(xdg) else Path.home() / ".cache") / "rustc-expand-cache" / "bench"


def check_toolchain_options(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a --toolchain or --stock-toolchain that is no toolchain directory, as an
    argument error (usage, status 2), before any work."""
    for option, given in (("--toolchain", args.toolchain), ("--stock-toolchain", args.stock_toolchain)):
        if given and not ((tc := Path(given).resolve()) / "bin" / "rustc").is_file():
            ap.error(f"{option} {given}: no bin/rustc in {tc}")


def ours_toolchain(arg: str | None) -> Path:
    if arg:
        return Path(arg).resolve()
    return Path(sh([sys.executable, str(REPO / "toolchain" / "build.py"), "path"]).stdout.strip())


def stock_toolchain(arg: str | None) -> Path:
    if arg:
        return Path(arg).resolve()
    rustc = sh(["rustup", "which", "--toolchain", "1.95.0", "rustc"]).stdout.strip()
    return Path(rustc).parent.parent


def tool_versions(tc: Path) -> str:
    try:
        return sh([str(tc / "bin" / "rustc"), "-vV"]).stdout.strip()
    except Exception as e:  # noqa: BLE001
        return f"error: {e}"


# ---------------------------------------------------------------- workloads

class Workload:
    def __init__(self, name: str):
        self.name = name
        self.dir = BENCH / "workloads" / name
        self.cfg = tomllib.loads((self.dir / "workload.toml").read_text())
        self.package = self.cfg["package"]
        self.version = self.cfg["version"]
        self.crates = set(self.cfg["crates"])
        self.root = self.cfg["root"]
        self.cargo_args = list(self.cfg.get("cargo_args", []))

    def registry_src(self, cargo: Path, env: dict) -> Path:
        """Fetch name = "=version" through a scratch project; return cargo's unpacked source."""
        scratch = WORK / "fetch" / self.name
        (scratch / "src").mkdir(parents=True, exist_ok=True)
        (scratch / "src" / "lib.rs").write_text("")
        (scratch / "Cargo.toml").write_text(
            f'[package]\nname = "bench-fetch-{self.name}"\nversion = "0.0.0"\nedition = "2021"\n\n'
            f'[dependencies]\n"{self.package}" = "={self.version}"\n\n[workspace]\n')
        sh([str(cargo), "fetch"], cwd=scratch, env=env)
        home = Path(env.get("CARGO_HOME", Path.home() / ".cargo"))
        for idx in sorted((home / "registry" / "src").glob("*")):
            cand = idx / f"{self.package}-{self.version}"
            if (cand / "Cargo.toml").exists():
                return cand
        raise SystemExit(f"{self.name}: unpacked source not found under {home}/registry/src")

    def prepare(self, cargo: Path, env: dict, relock: bool) -> Path:
        src = WORK / "src" / self.name
        pristine = WORK / "pristine" / self.name
        if not pristine.exists() or relock:
            reg = self.registry_src(cargo, env)
            if pristine.exists():
                shutil.rmtree(pristine)
            shutil.copytree(reg, pristine)
            lock = self.dir / "Cargo.lock"
            if relock or not lock.exists():
                (pristine / "Cargo.lock").unlink(missing_ok=True)
                sh([str(cargo), "generate-lockfile"], cwd=pristine, env=env)
                shutil.copy2(pristine / "Cargo.lock", lock)
                log(f"{self.name}: wrote {lock.relative_to(REPO)}")
        shutil.copy2(self.dir / "Cargo.lock", pristine / "Cargo.lock")
        # a standalone workspace, even if the unpacked crate sits below another one
        man = (pristine / "Cargo.toml").read_text()
        if "\n[workspace]" not in man:
            (pristine / "Cargo.toml").write_text(man + "\n[workspace]\n")
        sh([str(cargo), "fetch", "--locked"], cwd=pristine, env=env)
        if src.exists():
            shutil.rmtree(src)
        shutil.copytree(pristine, src)
        self.baseline(src)
        return src

    def baseline(self, src: Path) -> None:
        """Insert the lines the fn and struct edits will change (part of every column's baseline)."""
        for key, line in (("fn_edit", FN_LINE), ("struct_edit", STRUCT_LINE)):
            e = self.cfg[key]
            f = src / e["file"]
            text = f.read_text().split("\n")
            hits = [i for i, l in enumerate(text) if e["anchor"] in l]
            if len(hits) != 1:
                raise SystemExit(f"{self.name}: anchor {e['anchor']!r} found {len(hits)} times in {e['file']}")
            i = hits[0]
            indent = re.match(r"\s*", text[i]).group(0) + "    "
            text.insert(i + 1, indent + line.format(n=0))
            f.write_text("\n".join(text))

    # edits, applied to the shared source tree; n is unique over the whole run
    def edit(self, src: Path, kind: str, n: int) -> None:
        if kind == "touch":
            os.utime(src / self.root, None)
        elif kind == "fn":
            f = src / self.cfg["fn_edit"]["file"]
            f.write_text(FN_RE.sub(FN_LINE.format(n=n), f.read_text(), count=1))
        elif kind == "struct":
            f = src / self.cfg["struct_edit"]["file"]
            f.write_text(STRUCT_RE.sub(STRUCT_LINE.format(n=n), f.read_text(), count=1))
        elif kind == "shift":
            f = src / self.cfg["shift_edit"]["file"]
            f.write_text(SHIFT_LINE + f.read_text())
        else:
            raise ValueError(kind)


# ---------------------------------------------------------------- running

def base_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(("CARGO_", "RUSTC", "RUSTFLAGS", "RUSTDOC", "RUSTUP_TOOLCHAIN", "BENCH_"))
                   or k in ("RUSTFLAGS",))}
    if "CARGO_HOME" in os.environ:
        env["CARGO_HOME"] = os.environ["CARGO_HOME"]
    env["RUSTC_BOOTSTRAP"] = "1"
    env["CARGO_TERM_COLOR"] = "never"
    env["CARGO_TERM_PROGRESS_WHEN"] = "never"
    return env


def column_env(col: str, tc: Path, target: Path, cache_dir: Path, extra_flags: list[str]) -> dict:
    """The environment of cargo in column `col` (COLUMN_DEF) with toolchain `tc`."""
    c = COLUMN_DEF[col]
    env = base_env()
    env["PATH"] = f"{tc / 'bin'}:{env.get('PATH', '')}"
    env["RUSTC"] = str(tc / "bin" / "rustc")
    env["RUSTDOC"] = str(tc / "bin" / "rustdoc")
    env["RUSTC_WRAPPER"] = str(WRAPPER)
    env["CARGO_TARGET_DIR"] = str(target)
    env["RUSTC_EXPAND_CACHE"] = c["cache"]
    env["RUSTC_EXPAND_CACHE_DIR"] = str(cache_dir)
    flags = (["-Zcache-proc-macros"] if c["z"] else []) + extra_flags
    if flags:
        env["BENCH_RUSTFLAGS"] = " ".join(flags)
    return env


def disk_bytes(p: Path) -> int:
    tot = 0
    if not p.exists():
        return 0
    for root, _dirs, files in os.walk(p):
        for fn in files:
            try:
                tot += os.lstat(os.path.join(root, fn)).st_blocks * 512
            except OSError:
                pass
    return tot


def read_report(path: Path, crates: set[str]) -> dict | None:
    if not path.exists():
        return None
    tot = dict(hits=0, misses=0, stored=0, uncacheable=0, sessions=0)
    for line in path.read_text().splitlines():
        kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
        if kv.get("crate") not in crates:
            continue
        tot["sessions"] += 1
        for k in ("hits", "misses", "stored", "uncacheable"):
            tot[k] += int(kv.get(k, 0))
    return tot


def profsum(files: list[Path]) -> dict | None:
    if not files:
        return None
    exe = BENCH / "profsum" / "target" / "release" / "profsum"
    out = sh([str(exe)] + [str(f) for f in files]).stdout
    labels: dict[str, list[int]] = {}
    by_arg: dict[str, list[int]] = {}
    for line in out.splitlines():
        d = json.loads(line)
        for src, dst in ((d["labels"], labels), (d["by_arg"], by_arg)):
            for k, (c, ns) in src.items():
                e = dst.setdefault(k, [0, 0])
                e[0] += c
                e[1] += ns
    res = {
        "pm_ns": labels.get(PM_LABEL, [0, 0])[1],
        "pm_count": labels.get(PM_LABEL, [0, 0])[0],
        "derive_outer_ns": labels.get("expand_derive_proc_macro_outer", [0, 0])[1],
        "macro_expand_ns": labels.get("macro_expand_crate", [0, 0])[1] or labels.get("expand_crate", [0, 0])[1],
        "labels_ms": {k: round(v[1] / 1e6, 2) for k, v in labels.items() if v[1] >= 2_000_000},
        "pm_by_macro": {k.split("|", 1)[1]: v for k, v in by_arg.items() if k.startswith(PM_LABEL + "|")},
    }
    for lab in CACHE_LABELS:
        res[lab + "_ns"] = labels.get(lab, [0, 0])[1]
        res[lab + "_count"] = labels.get(lab, [0, 0])[0]
    return res


# the instruction-count comparisons (column, reference): the cost of filling a cold cache, and
# the warm cache against upstream's cache in the same binary
INSTR_PAIRS = [("cold", "off"), ("warm", "off-Z")]

# `perf record` options of the kernel-time runs (bench/wrap.sh gets them in $BENCH_PERF_ARGS):
# one sample per 100 us of kernel-mode CPU time; no BPF events, pre-existing threads or
# build ids to collect, which cost perf itself up to a second per run.
PERF_KERNEL_ARGS = ["-q", "--no-bpf-event", "--synth=no", "--no-buildid", "--no-buildid-cache",
                    "-e", "cpu-clock:k", "-c", "100000"]


def kernel_sampled_ms(rundir: Path) -> float | None:
    """Kernel-mode CPU time of the perf-recorded compilers in rundir (perf.data.*), in ms."""
    total, found = 0, False
    for f in sorted(rundir.glob("perf.data.*")):
        p = subprocess.run(["perf", "script", "-i", str(f), "-F", "period"], text=True, capture_output=True)
        if p.returncode != 0:
            log(f"  perf script failed on {f}: {p.stderr.strip()[-300:]}")
            return None
        total += sum(int(x) for x in p.stdout.split())
        found = True
    return total / 1e6 if found else None


def check_perf() -> str | None:
    """Why `perf record -e cpu-clock:k` cannot run here, or None when it can."""
    if not shutil.which("perf"):
        return "perf is not on PATH (apt-get install linux-perf)"
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run(["perf", "record", *PERF_KERNEL_ARGS, "-o", f"{d}/perf.data", "true"],
                           text=True, capture_output=True)
    if p.returncode != 0:
        paranoid = Path("/proc/sys/kernel/perf_event_paranoid")
        level = paranoid.read_text().strip() if paranoid.exists() else "?"
        return (f"`perf record -e cpu-clock:k` failed (kernel.perf_event_paranoid = {level}; "
                f"kernel samples need 1 or less, or root): {p.stderr.strip()[-300:]}")
    return None


def cachegrind_counts(rundir: Path) -> list[int]:
    """Instruction counts (`summary:` line) of the cachegrind output files in rundir."""
    counts = []
    for f in sorted(rundir.glob("cachegrind.out.*")):
        for line in f.read_text().splitlines():
            if line.startswith("summary:"):
                counts.append(int(line.split()[1]))
    return counts


class Runner:
    def __init__(self, args):
        self.args = args
        self.ours = ours_toolchain(args.toolchain)
        self.stock = stock_toolchain(args.stock_toolchain)
        self.cargo = self.stock / "bin" / "cargo"   # one cargo for every column
        self.records: list[dict] = []
        self.n = int(time.time()) % 100000 * 10     # unique edit values
        self.raw_path = OUT / "runs.jsonl"
        self.t0 = time.time()
        self.done = 0
        self.planned = 0
        self.check_state: dict[tuple, set] = {}
        self.stamp = self.tc_stamp()
        self.warmed: dict[str, str] = {}
        self.srcs: dict[str, Path] = {}

    def tc_stamp(self) -> str:
        """Identity of this toolchain as assembled now (a colleague may re-assemble it)."""
        try:
            drv = sorted((self.ours / "lib").glob("librustc_driver-*.so"))
            st = drv[0].stat() if drv else None
            ident = [l for l in tool_versions(self.ours).splitlines() if l.startswith("expand-cache")]
            return f"{ident[0] if ident else '?'} {drv[0].name if drv else '?'} {int(st.st_mtime) if st else 0}"
        except Exception as e:  # noqa: BLE001
            return f"error {e}"

    def tc(self, col: str) -> Path:
        return self.stock if COLUMN_DEF[col]["tc"] == "stock" else self.ours

    def target(self, w: Workload, col: str, mode: str) -> Path:
        return WORK / "target" / w.name / f"{col}-{mode}"

    def cache_dir(self, w: Workload, col: str) -> Path:
        return WORK / "cache" / w.name / col

    def env(self, w: Workload, col: str, mode: str, extra_flags: list[str], report: Path | None) -> dict:
        env = column_env(col, self.tc(col), self.target(w, col, mode), self.cache_dir(w, col), extra_flags)
        if report is not None:
            env["RUSTC_EXPAND_CACHE_REPORT"] = str(report)
        if COLUMN_DEF[col].get("jemalloc"):
            env["BENCH_PRELOAD"] = str(self.args.jemalloc)
        return env

    def cargo_cmd(self, w: Workload, sub: str) -> list[str]:
        return [str(self.cargo), sub, "--locked"] + w.cargo_args

    # -- setup
    def setup(self, w: Workload, modes: set[str], cols: list[str]) -> Path:
        log(f"{w.name}: fetching and preparing {w.package} {w.version}")
        src = w.prepare(self.cargo, base_env(), self.args.relock)
        self.src = src
        self.srcs[w.name] = src
        self.templates(w, modes, cols, ("stock", "ours"))
        for c in cols:
            cd = self.cache_dir(w, c)
            if cd.exists():
                shutil.rmtree(cd)
            cd.mkdir(parents=True)
        return src

    def templates(self, w: Workload, modes: set[str], cols: list[str], tcs: tuple) -> None:
        """Check (build) the dependency tree once per compiler in a template target dir and
        copy it to the target dir of every column of that compiler."""
        src = self.srcs[w.name]
        for mode in sorted(modes):
            for tcname in tcs:
                tcols = [c for c in cols if COLUMN_DEF[c]["tc"] == tcname]
                if not tcols:
                    continue
                tmpl = WORK / "tmpl" / w.name / f"{tcname}-{mode}"
                first = tcols[0]
                env = self.env(w, first, mode, [], None)
                env["CARGO_TARGET_DIR"] = str(tmpl)
                env["RUSTC_EXPAND_CACHE"] = "off"
                t = time.time()
                log(f"{w.name}: {tcname} template: cargo {mode} of the dependency tree (once)")
                p = subprocess.run(self.cargo_cmd(w, mode), cwd=src, env=env, text=True, capture_output=True)
                if p.returncode != 0:
                    print(p.stderr[-4000:])
                    raise SystemExit(f"{w.name}: template cargo {mode} failed with {tcname}")
                log(f"{w.name}: {tcname} template {mode}: {time.time() - t:.1f}s")
                for c in tcols:
                    tgt = self.target(w, c, mode)
                    if tgt.exists():
                        shutil.rmtree(tgt)
                    tgt.parent.mkdir(parents=True, exist_ok=True)
                    sh(["cp", "-a", str(tmpl), str(tgt)])

    # -- one cargo invocation
    def run_one(self, w: Workload, edit: str, col: str, step: int, kind: str, mode: str,
                sub: str, profile: bool, env_extra: dict | None = None, cwd: Path | None = None) -> dict:
        rid = f"{w.name}.{edit}.{col}.{step}.{kind}"
        rundir = WORK / "runs" / rid
        if rundir.exists():
            shutil.rmtree(rundir)
        rundir.mkdir(parents=True)
        report = rundir / "report.txt"
        prof = rundir / "prof"
        flags = [f"-Zself-profile={prof}", "-Zself-profile-events=default,args"] if profile else []
        env = self.env(w, col, mode, flags, report)
        if env_extra:
            env.update(env_extra)
        if kind == "count":
            env["BENCH_CACHEGRIND"] = str(rundir)
        if kind == "kernel":
            env["BENCH_PERF_KERNEL"] = str(rundir)
            env["BENCH_PERF_ARGS"] = " ".join(PERF_KERNEL_ARGS)
        c = COLUMN_DEF[col]
        if c["clear"]:
            cd = self.cache_dir(w, col)
            shutil.rmtree(cd, ignore_errors=True)
            cd.mkdir(parents=True)
        cmd = self.cargo_cmd(w, sub)
        load0 = os.getloadavg()[0]
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd or self.src, env=env, text=True, capture_output=True)
        wall = time.perf_counter() - t
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        sys_time = ru1.ru_stime - ru0.ru_stime
        recompiled = bool(re.search(r"^\s*(Checking|Compiling) " + re.escape(w.package) + r" ", p.stderr, re.M))
        units = len(re.findall(r"^\s*(?:Checking|Compiling) ", p.stderr, re.M))
        rec = dict(workload=w.name, edit=edit, column=col, step=step, kind=kind, wall_s=round(wall, 4),
                   cpu_s=round(cpu, 4), sys_s=round(sys_time, 4),
                   rc=p.returncode, recompiled=recompiled, units=units, load1=round(load0, 2),
                   tc=self.stamp,
                   busy=bool(builds_running(BUSY_PATTERN)), t=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        if p.returncode != 0:
            (rundir / "stderr.txt").write_text(p.stderr)
            log(f"  FAILED {rid} rc={p.returncode}: {p.stderr.strip().splitlines()[-3:] if p.stderr.strip() else ''}")
        rep = read_report(report, w.crates)
        if rep is not None and c["tc"] == "ours":
            rec.update(rep)
        if kind == "count":
            counts = cachegrind_counts(rundir)
            rec["instr"] = sum(counts) if counts else None
            rec["instr_files"] = len(counts)
        if kind == "kernel":
            rec["kernel_ms"] = kernel_sampled_ms(rundir)
        if profile:
            files = [f for f in prof.glob("*.mm_profdata") if f.name.split("-")[0] in w.crates]
            try:
                rec["prof"] = profsum(files)
            except Exception as e:  # noqa: BLE001
                rec["prof_error"] = str(e)
        if c["tc"] == "ours" and c["cache"] == "on":
            rec["cache_bytes"] = disk_bytes(self.cache_dir(w, col))
        if not self.args.keep_runs:
            shutil.rmtree(rundir, ignore_errors=True)
        self.records.append(rec)
        with self.raw_path.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        if kind == "prep":
            log(f"  (prep) {w.name} {edit} {col:7} {wall:6.2f}s")
        else:
            self.done += 1
            el = time.time() - self.t0
            eta = el / max(self.done, 1) * max(self.planned - self.done, 0)
            extra = ""
            if "hits" in rec:
                extra = f" hits={rec['hits']} misses={rec['misses']}"
            if rec.get("prof"):
                extra += f" pm={rec['prof']['pm_ns'] / 1e6:.0f}ms"
            if rec.get("instr"):
                extra += f" instructions={rec['instr'] / 1e9:.3f}G"
            if rec.get("kernel_ms") is not None:
                extra += f" kernel={rec['kernel_ms']:.1f}ms"
            log(f"[{self.done}/{self.planned} eta {eta / 60:.0f}m] {w.name} {edit} {col:7} {kind}#{step}"
                f" {wall:6.2f}s{'' if recompiled else ' (no recompile!)'}{extra} load={load0:.1f}")
        return rec

    # -- one (workload, edit) cell: every column
    def cell(self, w: Workload, edit: str, cols: list[str], reps: int) -> None:
        mode = "build" if edit.startswith("build-") else "check"
        self.stamp = self.tc_stamp()
        if self.warmed.get(f"{w.name}/{mode}") != self.stamp:
            # re-assembled by a colleague: rebuild the dependency tree once (template), give
            # every column of ours a fresh copy, warm up again (all unmeasured)
            log(f"{w.name}: toolchain changed since the last warm-up ({self.stamp}): new template, warm-up")
            self.templates(w, {mode}, cols, ("ours",))
            self.warmup(w, cols, {mode})
        sub = "build" if mode == "build" else "check"
        steps = [("profile", True)] + [("timed", False)] * reps
        icols = [c for c in cols if c in self.args.instruction_columns]
        if icols:
            steps += [("count", False)] * self.args.instructions + [("kernel", False)] * self.args.kernel_samples
        for step, (kind, profile) in enumerate(steps):
            self.n += 1
            n = self.n
            scols = icols if kind in ("count", "kernel") else cols
            order = scols[step % len(scols):] + scols[:step % len(scols)]
            kindname = edit.split("-", 1)[1] if "-" in edit and edit not in SITUATIONS else None
            if kindname:
                w.edit(self.src, kindname, n)
                for col in order:
                    self.run_one(w, edit, col, step, kind, mode, sub, profile)
            elif edit == "noninc":
                w.edit(self.src, "touch", n)
                for col in order:
                    self.run_one(w, edit, col, step, kind, mode, sub, profile,
                                 env_extra={"CARGO_INCREMENTAL": "0"})
            elif edit == "clean":
                for col in order:
                    env = self.env(w, col, mode, [], None)
                    sh([str(self.cargo), "clean", "-p", w.package], cwd=self.src, env=env)
                    self.run_one(w, edit, col, step, kind, mode, sub, profile)
            elif edit == "clippy":
                w.edit(self.src, "fn", n)
                for col in order:
                    # the check the developer just ran (untimed)...
                    self.run_one(w, edit, col, step, "prep", mode, "check", False)
                    # ...and no clippy state for the crate yet: the first clippy after it
                    # what `cargo check` alone leaves is what the column's template has (it
                    # checked the crate too and never saw clippy): remove everything else
                    tgt = self.target(w, col, mode)
                    tmpl = WORK / "tmpl" / w.name / f"{COLUMN_DEF[col]['tc']}-{mode}"
                    clear_new_state(tgt, state_snapshot(tmpl))
                    self.run_one(w, edit, col, step, kind, mode, "clippy", profile)
            elif edit == "worktree":
                for col in order:
                    wt = WORK / "worktrees" / f"{w.name}-{col}-{n}"
                    if wt.exists():
                        shutil.rmtree(wt)
                    # a checkout writes every file: new mtimes (shutil.copy does not keep them)
                    shutil.copytree(self.src, wt, symlinks=True, copy_function=shutil.copy)
                    # no build state for the crate (a fresh target dir; its dependencies are
                    # kept built, for time: every column pays the same for them, except that
                    # the expand cache would also serve their derives, so this is conservative)
                    env = self.env(w, col, mode, [], None)
                    sh([str(self.cargo), "clean", "-p", w.package], cwd=wt, env=env)
                    self.run_one(w, edit, col, step, kind, mode, sub, profile, cwd=wt)
                    shutil.rmtree(wt, ignore_errors=True)
            else:
                raise ValueError(edit)

    def warmup(self, w: Workload, cols: list[str], modes: set[str]) -> None:
        """First build of the crate in every column's configuration: fills the warm cache,
        gives -Z columns their first incremental session. Not measured."""
        self.n += 1
        w.edit(self.src, "fn", self.n)
        self.stamp = self.tc_stamp()
        for mode in sorted(modes):
            self.warmed[f"{w.name}/{mode}"] = self.stamp
            for col in cols:
                self.run_one(w, f"warmup-{mode}", col, 0, "prep", mode, mode, False)


STATE_DIRS = (".fingerprint", "build", "deps", "incremental")


def state_snapshot(target: Path) -> set[str]:
    """Names in target/debug/{.fingerprint,build,deps,incremental}: the state `cargo check` left."""
    base = target / "debug"
    return {f"{d}/{p.name}" for d in STATE_DIRS if (base / d).exists() for p in (base / d).iterdir()}


def clear_new_state(target: Path, keep: set[str]) -> int:
    """Remove what appeared since the snapshot: clippy-driver's own units of the workload
    (cargo gives `cargo clippy` its own fingerprints, outputs and incremental dirs), so the
    next `cargo clippy` is the first one on this tree; check's own state is left alone."""
    n = 0
    for name in state_snapshot(target) - keep:
        p = target / "debug" / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        n += 1
    return n


def builds_running(pattern: str | None = None) -> str:
    p = subprocess.run(["pgrep", "-af", pattern or WAIT_PATTERN], text=True, capture_output=True)
    me = str(os.getpid())
    return "\n".join(l for l in p.stdout.splitlines() if "pgrep" not in l and l.split(" ", 1)[0] != me)


# ---------------------------------------------------------------- report

def med(xs):
    return statistics.median(xs) if xs else None


def summarize(records: list[dict]) -> list[dict]:
    cells: dict[tuple, dict] = {}
    for r in records:
        if r["kind"] == "prep":
            continue
        key = (r["workload"], r["edit"], r["column"])
        c = cells.setdefault(key, dict(workload=key[0], edit=key[1], column=key[2], walls=[], failed=0))
        if r["rc"] != 0:
            c["failed"] += 1
            continue
        if r["kind"] == "count" and r.get("instr"):
            c.setdefault("instrs", []).append(r["instr"])
        if r["kind"] == "kernel" and r.get("kernel_ms") is not None:
            c.setdefault("kernels", []).append(r["kernel_ms"])
        if r["kind"] == "timed":
            c["walls"].append(r["wall_s"])
            if "cpu_s" in r:
                c.setdefault("cpus", []).append(r["cpu_s"])
            if "sys_s" in r:
                c.setdefault("syss", []).append(r["sys_s"])
        if r["kind"] == "profile" and r.get("prof"):
            c["pm_ms"] = r["prof"]["pm_ns"] / 1e6
            bym = r["prof"].get("pm_by_macro", {})
            c["pm_derive_ms"] = sum(v[1] for k, v in bym.items() if k.startswith("#[derive(")) / 1e6
            c["pm_attr_fn_ms"] = c["pm_ms"] - c["pm_derive_ms"]
            c["pm_by_macro_ms"] = {k: round(v[1] / 1e6, 2) for k, v in bym.items()}
            c["pm_count"] = r["prof"]["pm_count"]
            c["cache_ms"] = sum(r["prof"].get(l + "_ns", 0) for l in CACHE_LABELS[:3]) / 1e6
            c["flush_ms"] = r["prof"].get(CACHE_LABELS[3] + "_ns", 0) / 1e6
            # what the commit cost the compiler's critical path: the wait at the join, or the
            # whole commit on toolchains that committed on the compiler's thread
            joined = r["prof"].get(CACHE_LABELS[4] + "_count", 0) > 0
            c["commit_wait_ms"] = r["prof"].get(CACHE_LABELS[4] + "_ns", 0) / 1e6 if joined else c["flush_ms"]
        for k in ("hits", "misses", "stored", "uncacheable"):
            if k in r and r["kind"] == "timed":
                c.setdefault(k, []).append(r[k])
        if "cache_bytes" in r:
            c["cache_bytes"] = r["cache_bytes"]
    out = []
    for c in cells.values():
        w = c["walls"]
        c["median"] = med(w)
        c["min"] = min(w) if w else None
        c["max"] = max(w) if w else None
        c["n"] = len(w)
        c["cpu_median"] = med(c.get("cpus", []))
        c["sys_median"] = med(c.get("syss", []))
        # system time is sampled at the timer tick: its mean over many runs is what converges
        syss = c.get("syss", [])
        for key, values in (("sys", syss), ("kernel", c.get("kernels", []))):
            c[f"{key}_mean"] = statistics.fmean(values) if values else None
            c[f"{key}_sd"] = statistics.stdev(values) if len(values) >= 2 else None
            c[f"{key}_n"] = len(values)
        ins = c.get("instrs", [])
        c["instr_median"], c["instr_min"], c["instr_max"] = (med(ins), min(ins), max(ins)) if ins else (None,) * 3
        for k in ("hits", "misses", "stored", "uncacheable"):
            if k in c:
                c[k] = med(c[k])
        out.append(c)
    return out


def fmt_s(x):
    return "-" if x is None else f"{x:.2f}"


def build_table(summary: list[dict], meta: dict) -> tuple[str, list[dict]]:
    by = {(c["workload"], c["edit"], c["column"]): c for c in summary}
    wls = list(dict.fromkeys(c["workload"] for c in summary))
    edits = [e for e in ALL_EDITS if any(c["edit"] == e for c in summary)]
    cols = [c for c in ALL_COLUMNS + ["off-je"] if any(s["column"] == c for s in summary)]
    rows = []
    pct = lambda x: "-" if x is None else f"{100 * x:.0f}%"  # noqa: E731
    rt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    pm = lambda x: "-" if x is None else f"{x:.0f}"  # noqa: E731
    t1 = ["| workload | edit | " + " | ".join(f"{c} s" for c in cols) +
          " | warm/off | warm/off-Z | warm/stock | warm/stock-Z | cold/off | off/stock |",
          "|" + "---|" * (2 + len(cols) + 6)]
    t2 = ["| workload | edit | " + " | ".join(f"{c} pm ms" for c in cols) +
          " | attr+fn-like share (off) | removed by warm | removed by off-Z | removed by stock-Z | warm hit rate | uncacheable "
          "| cache work ms warm (lookup+hit / flush) | cache work ms cold (lookup+store / flush) | cache KiB |",
          "|" + "---|" * (2 + len(cols) + 9)]
    icols = [c for c in cols if any(s["column"] == c and s.get("instr_median") for s in summary)]
    ipairs = [(c, ref) for c, ref in INSTR_PAIRS if c in icols and ref in icols]
    t3 = ["| workload | edit | " + " | ".join(f"{c} G instr" for c in icols) + "".join(
          f" | {c}/{ref} instr | {c} commit wait ms / {ref} wall ms | {c} - {ref} kernel ms" for c, ref in ipairs) + " |",
          "|" + "---|" * (2 + len(icols) + 3 * len(ipairs))]
    for wl in wls:
        for e in edits:
            if not any((wl, e, c) in by for c in cols):
                continue
            g = lambda col: by.get((wl, e, col), {})  # noqa: E731
            row = dict(workload=wl, edit=e)
            wcells, pcells = [], []
            for col in cols:
                c = g(col)
                m = c.get("median")
                for k in ("median", "min", "max", "n", "cpu_median", "sys_median", "sys_mean", "sys_sd", "sys_n", "pm_ms",
                          "kernel_mean", "kernel_sd", "kernel_n",
                          "pm_derive_ms", "pm_attr_fn_ms",
                          "instr_median", "instr_min", "instr_max"):
                    row[f"{col}_{k}"] = c.get(k)
                if m is None:
                    wcells.append("-")
                else:
                    half = (c["max"] - c["min"]) / 2
                    wcells.append(f"{m:.2f}±{half:.2f}" + (f" ({c['failed']} failed)" if c.get("failed") else ""))
                pcells.append(pm(c.get("pm_ms")))

            def ratio(a, b, key="median"):
                ma, mb = g(a).get(key), g(b).get(key)
                return (ma / mb) if ma and mb else None

            def removed(col, ref):
                a, b = g(col).get("pm_ms"), g(ref).get("pm_ms")
                return (1 - a / b) if (a is not None and b) else None

            def saved(col, ref):
                a, b = g(col).get("median"), g(ref).get("median")
                return (b - a) if (a is not None and b is not None) else None

            wc = g("warm")
            cw = lambda c: ("-" if c.get("cache_ms") is None  # noqa: E731
                            else f"{c['cache_ms']:.0f} / {c.get('flush_ms', 0):.0f}")
            hits, misses = wc.get("hits"), wc.get("misses")
            hit_rate = hits / (hits + misses) if hits is not None and (hits + misses) else None
            off = g("off")
            attr_share = (off["pm_attr_fn_ms"] / off["pm_ms"]) if off.get("pm_ms") else None
            row.update(removed_warm=removed("warm", "off"), removed_offZ=removed("off-Z", "off"),
                       removed_stockZ=removed("stock-Z", "stock"), attr_fn_share_off=attr_share,
                       hit_rate=hit_rate, hits=hits, misses=misses, uncacheable=wc.get("uncacheable"),
                       warm_over_off=ratio("warm", "off"), warm_over_offZ=ratio("warm", "off-Z"),
                       warm_over_stock=ratio("warm", "stock"), warm_over_stockZ=ratio("warm", "stock-Z"),
                       cold_over_off=ratio("cold", "off"), off_over_stock=ratio("off", "stock"),
                       cache_bytes=wc.get("cache_bytes"),
                       saved_s=saved("warm", "off"), saved_offZ_s=saved("off-Z", "off"),
                       saved_stockZ_s=saved("stock-Z", "stock"),
                       warm_pm_by_macro_ms=wc.get("pm_by_macro_ms"),
                       warm_cache_ms=wc.get("cache_ms"), warm_flush_ms=wc.get("flush_ms"),
                       cold_cache_ms=g("cold").get("cache_ms"), cold_flush_ms=g("cold").get("flush_ms"),
                       cold_commit_wait_ms=g("cold").get("commit_wait_ms"),
                       warm_commit_wait_ms=wc.get("commit_wait_ms"))
            for col, ref in INSTR_PAIRS:
                row[instr_ratio_key(col, ref)] = ratio(col, ref, "instr_median")
            rows.append(row)
            if any(g(c).get("instr_median") for c in icols):
                icells = []
                for col in icols:
                    c = g(col)
                    icells.append("-" if not c.get("instr_median") else
                                  f"{c['instr_median'] / 1e9:.3f}±{(c['instr_max'] - c['instr_min']) / 2e9:.3f}")
                for col, ref in ipairs:
                    r_instr, wait = row[instr_ratio_key(col, ref)], g(col).get("commit_wait_ms")
                    ref_wall = g(ref).get("median")
                    k = kernel_extra_ms(row, col, ref)
                    icells += ["-" if r_instr is None else f"{r_instr:.4f}",
                               f"{wait:.0f} / {1000 * ref_wall:.0f}" if wait is not None and ref_wall else "-",
                               f"{k[0]:+.1f}±{2 * k[1]:.1f} ({k[2]})" if k is not None else "-"]
                t3.append("| " + " | ".join([wl, e] + icells) + " |")
            t1.append("| " + " | ".join([wl, e] + wcells + [
                rt(row["warm_over_off"]), rt(row["warm_over_offZ"]), rt(row["warm_over_stock"]),
                rt(row["warm_over_stockZ"]), rt(row["cold_over_off"]), rt(row["off_over_stock"])]) + " |")
            t2.append("| " + " | ".join([wl, e] + pcells + [
                pct(attr_share), pct(row["removed_warm"]), pct(row["removed_offZ"]), pct(row["removed_stockZ"]),
                pct(hit_rate), "-" if row["uncacheable"] is None else f"{row['uncacheable']:.0f}",
                cw(wc), cw(g("cold")),
                "-" if row["cache_bytes"] is None else f"{row['cache_bytes'] / 1024:.0f}"]) + " |")
    text = ("Wall time of the cargo command, seconds: median ± half the range over the timed runs; "
            "ratios of medians (< 1: the first is faster).\n\n" + "\n".join(t1) +
            "\n\nTime inside proc-macro execution (`expand_proc_macro`, -Zself-profile, one profiled run "
            "per cell, workload crate only), and what each cache removed of it against the same binary "
            "without it.\n\n" + "\n".join(t2))
    if len(t3) > 2:
        text += ("\n\nUser-space instructions executed by the workload crate's compiler (cachegrind; median ± half "
                 "the range over the instruction-count runs, billions), compared by pair (the cost of filling a cold "
                 "cache against the cache off; the warm cache against upstream's cache in the same binary): the "
                 "ratio of the counts; the time the first column's compiler waited for its LMDB commit (from the "
                 "profiled run: the join at the end of the session, or the whole commit on toolchains that "
                 "committed on the compiler's thread) beside the second's wall time; and the difference of the "
                 "mean kernel CPU time, which cachegrind does not count, ± two standard errors: "
                 "(perf) sampled in the workload crate's compiler by the kernel-time runs, (sys) the system time "
                 "of the timed runs' whole cargo command.\n\n"
                 + "\n".join(t3))
    return text, rows


def instr_ratio_key(col: str, ref: str) -> str:
    """The row field of the instruction-count ratio of `col` over `ref` (cold_over_off_instr)."""
    return f"{col}_over_{ref.replace('-', '')}_instr"


def kernel_extra_ms(row: dict, col: str, ref: str) -> tuple[float, float, str] | None:
    """Mean kernel CPU time of column `col` minus `ref`'s, the standard error of that
    difference (ms), and where it comes from: the perf-sampled kernel-time runs of the workload
    crate's compiler when both columns have them ("perf"), else the system time of the timed runs'
    cargo command ("sys"; the kernel charges CPU time to user or system at each timer tick, so one
    run's system time is off by several ticks and only means converge)."""
    for key, scale, source in (("kernel", 1, "perf"), ("sys", 1000, "sys")):
        c, o = row.get(f"{col}_{key}_mean"), row.get(f"{ref}_{key}_mean")
        sc, so = row.get(f"{col}_{key}_sd"), row.get(f"{ref}_{key}_sd")
        if None not in (c, o, sc, so):
            se = (sc ** 2 / row[f"{col}_{key}_n"] + so ** 2 / row[f"{ref}_{key}_n"]) ** 0.5
            return scale * (c - o), scale * se, source
    return None


def instr_difference(r: dict, col: str, ref: str) -> dict | None:
    """Column `col` against `ref` in row `r`, the deterministic way: the ratio of the instruction
    counts minus one, plus the commit wait of `col` and the difference of the kernel CPU time, both
    over `ref`'s wall time. `upper` adds the counts' spread and two standard errors of the kernel
    time difference: the most `col` can cost over `ref` given the measurement (below zero: `col`
    is faster even so)."""
    c, o, wall = r.get(f"{col}_instr_median"), r.get(f"{ref}_instr_median"), r.get(f"{ref}_median")
    if not c or not o or not wall:
        return None
    spread = max(r[f"{col}_instr_max"] - r[f"{col}_instr_min"], r[f"{ref}_instr_max"] - r[f"{ref}_instr_min"]) / o
    # cachegrind sees neither the wait for the commit (its fsync) nor kernel CPU time: the
    # profile and the kernel-time (or timed) runs do
    wait = (r.get(f"{col}_commit_wait_ms") or 0) / 1000 / wall
    k = kernel_extra_ms(r, col, ref)
    kernel, kernel_unc = (k[0] / 1000 / wall, 2 * k[1] / 1000 / wall) if k else (0, 0)
    cost = c / o - 1 + wait + kernel
    return dict(cost=cost, upper=c / o - 1 + spread + wait + max(0, kernel + kernel_unc), wait=wait,
                kernel=kernel, kernel_unc=kernel_unc, source=k[2] if k else "none")


def instr_target(rows: list[dict], col: str, ref: str, claim: str, limit: float, strict: bool = False) -> str | None:
    """The targets.md line of a claim that `col` costs at most `limit` over `ref` (`strict`: less
    than `limit`) in every row, judged by `instr_difference`'s upper bound; None when no row has
    counts for both."""
    cells = [(r, d) for r in rows if (d := instr_difference(r, col, ref)) is not None]
    if not cells:
        return None
    passed = sum(1 for _, d in cells if (d["upper"] < limit if strict else d["upper"] <= limit))
    return (f"- {claim}, by instruction count (cachegrind, deterministic) plus the wait for the commit and the "
            f"difference of the kernel time (perf: sampled in the compiler by the kernel-time runs; sys: mean "
            f"system time of the timed runs), both over {ref}'s wall time; a cell passes when its upper bound "
            f"(the counts' spread and two standard errors of the kernel time added) is "
            f"{'below' if strict else 'at most'} {100 * limit:+.0f}%: {'MET' if passed == len(cells) else 'MISSED'} ({passed} of {len(cells)} cells; per cell "
            f"{col} over {ref} [upper bound] (commit wait share, kernel share ± 2 SE): "
            + ", ".join(f"{r['workload']}/{r['edit']} {100 * d['cost']:+.2f}% [{100 * d['upper']:+.2f}%] "
                        f"({100 * d['wait']:.2f}%, {100 * d['kernel']:+.2f}±{100 * d['kernel_unc']:.2f}% "
                        f"{d['source']})" for r, d in cells) + ")")


def compact_table(rows: list[dict]) -> str:
    """The README's table: medians only (spreads are in table.md)."""
    pct = lambda x: "-" if x is None else f"{100 * x:.0f}%"  # noqa: E731
    rt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    s2 = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    out = ["| workload | edit | stock | stock-Z | off | off-Z | warm | cold | warm/off | warm/off-Z | warm/stock "
           "| pm ms (off) | removed: warm | removed: off-Z | hits |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append("| " + " | ".join([
            r["workload"], r["edit"]] + [s2(r.get(f"{c}_median")) for c in ALL_COLUMNS] + [
            rt(r["warm_over_off"]), rt(r["warm_over_offZ"]), rt(r["warm_over_stock"]),
            "-" if r.get("off_pm_ms") is None else f"{r['off_pm_ms']:.0f}",
            pct(r["removed_warm"]), pct(r["removed_offZ"]), pct(r["hit_rate"])]) + " |")
    return "\n".join(out)


SPREAD_MARK = "* = the difference is larger than the half-ranges"


def beyond_half_ranges(row: dict, a: str, b: str) -> bool:
    """Whether the wall-time medians of columns a and b in `row` differ by more than either's
    half-range: a difference the spread of the timed runs does not explain (SPREAD_MARK)."""
    spread = max((row[f"{a}_max"] - row[f"{a}_min"]) / 2, (row[f"{b}_max"] - row[f"{b}_min"]) / 2)
    return abs(row[f"{a}_median"] - row[f"{b}_median"]) > spread


def pm_share(row: dict) -> float | None:
    """`off`'s proc-macro execution time (profiled run) over its median wall time in `row`: about
    the most an expansion cache can save on that cell (a little more goes with the macro's bridge
    and allocations); None without both."""
    if row.get("off_pm_ms") is None or not row.get("off_median"):
        return None
    return row["off_pm_ms"] / 1000 / row["off_median"]


def targets_md(rows: list[dict], records: list[dict]) -> str:
    """The issue's targets, evaluated on this run's rows; and how quiet the machine was."""
    out = []
    meas = [r for r in records if r["kind"] in ("timed", "profile")]
    if meas:
        busy = sum(1 for r in meas if r.get("busy"))
        loads = sorted(r.get("load1", 0) for r in meas)
        out.append(f"Machine state: {len(meas)} measured runs; {busy} ({100 * busy / len(meas):.0f}%) started while "
                   f"another build or test ran (`{BUSY_PATTERN}`); 1-minute load average at the start of a run: "
                   f"median {statistics.median(loads):.1f}, 90th percentile {loads[int(0.9 * (len(loads) - 1))]:.1f} "
                   f"(2 cores; this benchmark alone accounts for about 1).")
    edits = [r for r in rows if r["edit"].startswith("check-")]
    no_input = [r for r in rows if r["edit"] in ("check-touch", "check-fn", "check-shift", "build-touch", "build-fn",
                                                 "build-shift", "clean", "noninc", "clippy")]
    bad = [f"{r['workload']}/{r['edit']} {100 * r['removed_warm']:.0f}%" for r in no_input
           if r.get("removed_warm") is not None and r["removed_warm"] < 0.95]
    ok = [r for r in no_input if r.get("removed_warm") is not None]
    # each target only where this run has its columns (a run of two columns judges one)
    if ok:
        out.append(f"- warm cache removes >= 95% of proc-macro execution time on every edit not touching macro "
                   f"input: {'MET' if not bad else 'MISSED'} ({len(ok) - len(bad)} of {len(ok)} cells"
                   + (f"; below: {', '.join(bad)}" if bad else "") + ")")
    touch = {r["workload"]: r for r in rows if r["edit"] == "check-touch"}
    share = {w: s for w, r in touch.items() if (s := pm_share(r)) is not None}
    heavy = max(share, key=share.get) if share else None
    hv = [r for r in edits if r["workload"] == heavy and r.get("warm_over_off") is not None]
    if hv:
        met = all(r["warm_over_off"] <= 0.75 for r in hv)
        out.append(f"- incremental `cargo check`, warm >= 25% faster than the same binary with the cache off, on the most "
                   f"macro-heavy workload ({heavy}: proc-macro execution is {100 * share[heavy]:.0f}% of `off`'s "
                   f"touch-recheck wall time, the upper bound of any saving; by workload: "
                   + ", ".join(f"{w} {100 * v:.0f}%" for w, v in sorted(share.items(), key=lambda x: -x[1])) + "): "
                   f"{'MET' if met else 'MISSED'} ("
                   + ", ".join(f"{r['edit']} {100 * (1 - r['warm_over_off']):.0f}% faster"
                               + ("" if (s := pm_share(r)) is None else f" (proc macros {100 * s:.0f}% of off)")
                               for r in hv) + ")")
    vs_z = [(r, r["warm_median"] / r["off-Z_median"], beyond_half_ranges(r, "warm", "off-Z")) for r in edits
            if r.get("warm_median") is not None and r.get("off-Z_median") is not None]
    if vs_z:
        behind = [x for x in vs_z if x[1] >= 1]
        out.append(f"- warm ahead of the same binary with `-Zcache-proc-macros` on every workload and edit: "
                   f"{'MET' if not behind else 'MISSED'} ({len(vs_z) - len(behind)} of {len(vs_z)} check cells "
                   f"ahead; per cell warm/off-Z, {SPREAD_MARK}: "
                   + ", ".join(f"{r['workload']}/{r['edit']} {q:.3f}{'*' if sig else ''}" for r, q, sig in vs_z) + ")")
    # ahead: faster even at the upper bound
    ahead = instr_target(edits, "warm", "off-Z", "warm ahead of the same binary with `-Zcache-proc-macros`", 0,
                         strict=True)
    if ahead:
        out.append(ahead)
    vs = [f"{r['workload']}/{r['edit']} {r['warm_over_stock']:.2f}" for r in edits if r.get("warm_over_stock")]
    if vs:
        out.append("- warm / rustup's stock (reported, no target): " + ", ".join(vs))
    cold = []
    for r in edits:
        c, o = r.get("cold_median"), r.get("off_median")
        # fewer than 3 timed runs: no spread to speak of (instruction-count runs)
        if c is None or o is None or min(r.get("cold_n") or 0, r.get("off_n") or 0) < 3:
            continue
        cold.append((r, c / o - 1, beyond_half_ranges(r, "cold", "off")))
    over = [x for x in cold if x[1] > 0.03]
    icold = instr_target(rows, "cold", "off", "cold cache costs <= 3% over cache off", 0.03)
    if icold:
        out.append(icold)
    if not cold:
        return "\n".join(out)
    out.append(f"- cold cache costs <= 3% over cache off, by wall time: {'MET' if cold and not over else 'MISSED'} "
               f"({len(cold) - len(over)} of {len(cold)} check cells within 3%; per cell, + means slower, "
               f"{SPREAD_MARK}: "
               + ", ".join(f"{r['workload']}/{r['edit']} {100 * d:+.0f}%{'*' if sig else ''}" for r, d, sig in cold) + ")")
    return "\n".join(out)


def svg_plot(rows: list[dict], path: Path) -> None:
    """Grouped horizontal bars: seconds saved against `off` (same binary, cache off), by the
    warm cache and by -Zcache-proc-macros, per workload and edit. Hand-written SVG."""
    items = [r for r in rows if r.get("saved_s") is not None or r.get("saved_offZ_s") is not None]
    if not items:
        path.unlink(missing_ok=True)  # a plot left from an earlier run would not match these rows
        return
    vals = [v for r in items for v in (r.get("saved_s"), r.get("saved_offZ_s"), r.get("saved_stockZ_s")) if v is not None]
    vmax = max(max(vals), 0.05)
    vmin = min(min(vals), 0.0)
    bar_h, gap, left, width = 9, 8, 230, 520
    height = 60 + len(items) * (3 * bar_h + gap) + 40
    scale = width / (vmax - vmin)
    x0 = left + (-vmin) * scale
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="14">Seconds saved per cargo run (median) vs. the same compiler without the cache</text>',
           f'<rect x="{left}" y="30" width="10" height="10" fill="#2b7bb9"/><text x="{left + 14}" y="39">warm expand cache</text>',
           f'<rect x="{left + 130}" y="30" width="10" height="10" fill="#e08a2c"/><text x="{left + 144}" y="39">-Zcache-proc-macros (same binary)</text>',
           f'<rect x="{left + 360}" y="30" width="10" height="10" fill="#999999"/><text x="{left + 374}" y="39">stock -Zcache-proc-macros vs stock</text>']
    y = 55
    for r in items:
        out.append(f'<text x="{left - 6}" y="{y + bar_h + 3}" text-anchor="end">{r["workload"]} {r["edit"]}</text>')
        for v, color in ((r.get("saved_s"), "#2b7bb9"), (r.get("saved_offZ_s"), "#e08a2c"),
                         (r.get("saved_stockZ_s"), "#999999")):
            if v is not None:
                x = x0 if v >= 0 else x0 + v * scale
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{abs(v) * scale:.1f}" height="{bar_h}" fill="{color}"/>')
                out.append(f'<text x="{max(x0, x + abs(v) * scale) + 3:.1f}" y="{y + bar_h - 1}" font-size="9">{v:.2f}s</text>')
            y += bar_h
        y += gap
    out.append(f'<line x1="{x0:.1f}" y1="50" x2="{x0:.1f}" y2="{y}" stroke="black"/>')
    step = 0.5 if vmax - vmin < 4 else 1.0 if vmax - vmin < 10 else 5.0
    t = 0.0
    while t <= vmax + 1e-9:
        x = x0 + t * scale
        out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="black"/>'
                   f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle">{t:g}s</text>')
        t += step
    out.append("</svg>")
    path.write_text("\n".join(out))


def redact_paths(text: str) -> str:
    """Results travel (committed, shared): name this machine's directories by what they are."""
    repo = str(Path(__file__).resolve().parent.parent)
    home = str(Path.home())
    text = text.replace(repo + "/", "").replace(repo, ".")
    text = text.replace(tempfile.gettempdir() + "/", "$TMPDIR/")
    return text.replace(home + "/", "~/") if home != "/" else text


def write_outputs(records: list[dict], meta: dict, out: Path) -> str:
    summary = summarize(records)
    table, rows = build_table(summary, meta)
    # indented, but one line per run: the runs are most of it (a thousand runs, 2 MB otherwise)
    head = json.dumps(dict(meta=meta, cells=summary, rows=rows), indent=1)
    runs = ",\n".join("  " + json.dumps(r) for r in records)
    text = head.removesuffix("\n}") + ',\n "runs": [\n' + runs + "\n ]\n}\n"
    (out / "results.json").write_text(redact_paths(text))
    with (out / "runs.csv").open("w", newline="") as fh:
        keys = ["workload", "edit", "column", "step", "kind", "wall_s", "cpu_s", "sys_s", "instr", "kernel_ms", "rc", "recompiled", "hits", "misses",
                "stored", "uncacheable", "cache_bytes", "pm_ms", "pm_count", "cache_lookup_ms", "cache_hit_ms",
                "cache_store_ms", "cache_flush_ms", "load1", "busy", "t"]
        wr = csv.DictWriter(fh, keys, extrasaction="ignore")
        wr.writeheader()
        for r in records:
            row = dict(r)
            p = r.get("prof") or {}
            if p:
                row["pm_ms"] = p["pm_ns"] / 1e6
                row["pm_count"] = p["pm_count"]
                for lab in CACHE_LABELS:
                    row["cache_" + lab.rsplit("_", 1)[1] + "_ms"] = p.get(lab + "_ns", 0) / 1e6
            wr.writerow(row)
    (out / "table.md").write_text(table + "\n")
    (out / "readme-table.md").write_text(compact_table(rows) + "\n")
    (out / "targets.md").write_text(targets_md(rows, records) + "\n")
    svg_plot(rows, out / "saved.svg")
    return table


# ---------------------------------------------------------------- main

def main() -> None:
    global WORK, OUT, WAIT_PATTERN
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default=",".join(sorted(p.name for p in (BENCH / "workloads").iterdir() if p.is_dir())))
    ap.add_argument("--edits", default=",".join(e for e in ALL_EDITS), help="run in this order (edit by edit, across workloads)")
    ap.add_argument("--columns", default=",".join(ALL_COLUMNS))
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per cell for the edits")
    ap.add_argument("--situation-repeats", type=int, default=3, help="timed runs per cell for clippy/clean/worktree/noninc")
    ap.add_argument("--build-workloads", default="zoxide", help="workloads that also run the build-* edits")
    ap.add_argument("--quick", action="store_true", help="zoxide only, 2 repeats, 1 per situation")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--out", default=None, help="results dir (default <workdir>/results/<timestamp>)")
    ap.add_argument("--toolchain", default=None, help="this project's toolchain dir (default: toolchain/build.py path)")
    ap.add_argument("--stock-toolchain", default=None, help="stock toolchain dir (default: rustup's 1.95.0)")
    ap.add_argument("--jemalloc", default=None,
                    help="libjemalloc.so.2 for the off-je column (default <workdir>/jemalloc/pkg/usr/lib/"
                         "x86_64-linux-gnu/libjemalloc.so.2, from `apt-get download libjemalloc2; dpkg -x`)")
    ap.add_argument("--setup-only", action="store_true", help="prepare sources, templates and target dirs, then stop")
    ap.add_argument("--no-setup", action="store_true", help="measure on the state a previous --setup-only left")
    ap.add_argument("--wait-pattern", default=None,
                    help=f"pgrep -f pattern of what makes the machine busy (default {WAIT_PATTERN!r})")
    ap.add_argument("--skip", default=None, help="cells not to run, e.g. lsp-types/check-shift,zoxide/clean")
    ap.add_argument("--deadline", default=None, help="HH:MM (UTC): start no new cell after it")
    ap.add_argument("--relock", action="store_true", help="regenerate bench/workloads/*/Cargo.lock")
    ap.add_argument("--no-wait", action="store_true", help="do not wait while x.py builds run")
    ap.add_argument("--keep-runs", action="store_true", help="keep per-run profiles and reports")
    ap.add_argument("--fetch-only", action="store_true", help="fetch (and lock) the workloads, then stop")
    ap.add_argument("--instructions", type=int, default=0, metavar="N",
                    help="N runs per cell and instruction column with the workload crate under cachegrind")
    ap.add_argument("--instruction-columns", default="off,cold",
                    help="columns of the instruction-count and kernel-time runs (default off,cold; "
                         "warm,off-Z compares the warm cache with upstream's the same way)")
    ap.add_argument("--kernel-samples", type=int, default=0, metavar="N",
                    help="N runs per cell and instruction column with the workload crate under "
                         "`perf record -e cpu-clock:k` (its kernel CPU time, reported beside the "
                         "instruction counts: needs --instructions)")
    ap.add_argument("--report", default=None, help="only re-render table and plot from a results.json")
    args = ap.parse_args()

    if args.wait_pattern:
        WAIT_PATTERN = args.wait_pattern
    if args.report:
        others = [k for k, v in vars(args).items() if k != "report" and v != ap.get_default(k)]
        if others:
            ap.error("--report only re-renders a results.json and takes no other option (given: "
                     + ", ".join("--" + k.replace("_", "-") for k in others) + ")")
        # one results.json, or several (comma-separated) merged into the first one's dir
        files = [Path(p) for p in args.report.split(",") if p]
        if not files:
            ap.error("--report: no file given")
        ds = []
        for f in files:
            try:
                d = json.loads(f.read_text())
            except (OSError, ValueError) as e:
                ap.error(f"--report: cannot read {f}: {e}")
            if not isinstance(d, dict) or not {"meta", "runs"} <= d.keys():
                ap.error(f"--report: {f} is not a results.json of run.py (no meta and runs)")
            ds.append(d)
        meta = ds[0]["meta"]
        if len(ds) > 1:
            meta = dict(meta, merged_from=[dict(file=str(p), meta=d["meta"]) for p, d in zip(files, ds)])
        runs = [r for d in ds for r in d["runs"]]
        print(write_outputs(runs, meta, files[0].parent))
        return

    if args.quick:
        args.workloads = "zoxide" if args.workloads == ap.get_default("workloads") else args.workloads
        args.repeats, args.situation_repeats = 2, 1
    known_wls = sorted(p.parent.name for p in (BENCH / "workloads").glob("*/workload.toml"))
    names = {
        "--workloads": ([w for w in args.workloads.split(",") if w], known_wls),
        "--build-workloads": ([w for w in args.build_workloads.split(",") if w], known_wls),
        "--edits": ([e for e in args.edits.split(",") if e], ALL_EDITS),
        "--columns": ([c for c in args.columns.split(",") if c], list(COLUMN_DEF)),
    }
    for option, (given, known) in names.items():
        for name in given:
            if name not in known:
                ap.error(f"{option}: unknown name {name!r} (known: {','.join(known)})")
    for option in ("--workloads", "--edits", "--columns"):
        if not names[option][0]:
            ap.error(f"{option}: no names given")
    for option, n in (("--repeats", args.repeats), ("--situation-repeats", args.situation_repeats)):
        if n < 1:
            ap.error(f"{option} must be 1 or more, not {n}")
    wls = [Workload(n) for n in names["--workloads"][0]]
    edits, cols = names["--edits"][0], names["--columns"][0]
    cells = {f"{w.name}/{e}" for w in wls for e in edits}
    for cell in filter(None, (args.skip or "").split(",")):
        if cell not in cells:
            ap.error(f"--skip: {cell!r} is no cell of this run (WORKLOAD/EDIT, e.g. {min(cells)})")
    deadline_hm = None
    if args.deadline:
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", args.deadline)
        if not m:
            ap.error(f"--deadline: {args.deadline!r} is not HH:MM (UTC, 00:00 to 23:59)")
        deadline_hm = (int(m[1]), int(m[2]))

    for option, n in (("--instructions", args.instructions), ("--kernel-samples", args.kernel_samples)):
        if n < 0:
            ap.error(f"{option} must be 0 or more, not {n}")
    if args.kernel_samples and not args.instructions:
        ap.error("--kernel-samples: the kernel time is reported beside the instruction counts; "
                 "give --instructions N too")
    args.instruction_columns = [c for c in args.instruction_columns.split(",") if c]
    if args.instructions:
        if not args.instruction_columns:
            ap.error("--instruction-columns: no names given")
        for c in args.instruction_columns:
            if c not in cols:
                ap.error(f"--instruction-columns: {c!r} is not among --columns ({','.join(cols)})")
    if args.instructions and not shutil.which("valgrind"):
        ap.error("--instructions needs valgrind (cachegrind) on PATH: apt-get install valgrind")
    if args.kernel_samples and (why := check_perf()):
        ap.error(f"--kernel-samples: {why}")

    check_toolchain_options(ap, args)
    WORK = Path(args.workdir).resolve() if args.workdir else default_workdir()
    args.jemalloc = Path(args.jemalloc or WORK / "jemalloc/pkg/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
    if "off-je" in cols and not args.jemalloc.is_file():
        # The loader would only warn and go on: off-je would quietly measure off.
        ap.error(f"--jemalloc: {args.jemalloc} is not a file (the off-je column preloads it; "
                 "apt-get download libjemalloc2 && dpkg -x libjemalloc2_*.deb <dir>)")
    chosen = [o for o, on in (("--fetch-only", args.fetch_only), ("--setup-only", args.setup_only),
                              ("--no-setup", args.no_setup)) if on]
    if len(chosen) > 1:
        ap.error(f"{' and '.join(chosen)} exclude each other")
    if args.no_setup:
        unset = [w.name for w in wls if not (WORK / "state" / f"{w.name}.toolchain").is_file()]
        if unset:
            ap.error(f"--no-setup: no earlier setup of {', '.join(unset)} in {WORK}: "
                     f"run with --setup-only first")
    WORK.mkdir(parents=True, exist_ok=True)
    OUT = Path(args.out or WORK / "results" / dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")).resolve()
    OUT.mkdir(parents=True, exist_ok=True)

    build_wls = set(args.build_workloads.split(","))

    if args.fetch_only:
        cargo = stock_toolchain(args.stock_toolchain) / "bin" / "cargo"
        for w in wls:
            log(f"{w.name}: {w.prepare(cargo, base_env(), args.relock)}")
        return

    profsum_dir = BENCH / "profsum"
    log("building bench/profsum (analyzeme 12.0.3, measureme of rustc 1.95)")
    sh(["cargo", "build", "--release", "--locked", "-q"], cwd=profsum_dir)

    r = Runner(args)
    meta = dict(
        started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        command=" ".join([sys.executable.rsplit("/", 1)[-1]] + sys.argv),
        host=platform.node(), cpu=cpu_model(), cores=os.cpu_count(), mem_gib=mem_gib(),
        kernel=platform.release(), ours=str(r.ours), ours_vV=tool_versions(r.ours),
        ours_build_json=(r.ours / "rustc-expand-cache-build.json").read_text()
        if (r.ours / "rustc-expand-cache-build.json").exists() else None,
        ours_stamp=r.stamp, wait_pattern=WAIT_PATTERN,
        stock=str(r.stock), stock_vV=tool_versions(r.stock), cargo=str(r.cargo),
        repeats=args.repeats, situation_repeats=args.situation_repeats, columns=cols, edits=edits,
        instructions=args.instructions, kernel_samples=args.kernel_samples,
        instruction_columns=args.instruction_columns,
        workloads={w.name: dict(package=w.package, version=w.version, why=w.cfg["why"].strip()) for w in wls},
        git=subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], text=True, capture_output=True).stdout.strip(),
    )
    log(f"ours:  {r.ours}  ({meta['ours_vV'].splitlines()[-2:]})")
    log(f"stock: {r.stock}")
    log(f"work dir {WORK}; results {OUT}")

    # plan
    plan = []
    for w in wls:
        wedits = [e for e in edits if not e.startswith("build-") or w.name in build_wls]
        plan.append((w, wedits))
    n_runs = 0
    for w, wedits in plan:
        for e in wedits:
            reps = args.situation_repeats if e in SITUATIONS else args.repeats
            n_runs += (reps + 1) * len(cols) + (args.instructions + args.kernel_samples) * len(args.instruction_columns)
    r.planned = n_runs
    log(f"plan: {n_runs} measured cargo runs")

    busy_log = []
    deadline = None
    if deadline_hm:
        hh, mm = deadline_hm
        now = dt.datetime.now(dt.timezone.utc)
        deadline = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if deadline < now - dt.timedelta(hours=12):
            deadline += dt.timedelta(days=1)
    # phase 1 (not measured): sources, dependency templates, per-column target dirs, a
    # first build of the crate in every column (fills the warm cache)
    (WORK / "state").mkdir(parents=True, exist_ok=True)
    for w, wedits in plan:
        modes = {"build" if e.startswith("build-") else "check" for e in wedits}
        if args.no_setup:
            # a first (unmeasured) build in every column: rebuilds the dependency tree if the
            # toolchain was re-assembled since the setup, refills the warm cache
            r.src = r.srcs[w.name] = WORK / "src" / w.name
            stamp_file = WORK / "state" / f"{w.name}.toolchain"
            if not stamp_file.exists() or stamp_file.read_text() != r.tc_stamp():
                log(f"{w.name}: toolchain changed since the setup: new template for ours")
                r.templates(w, modes, cols, ("ours",))
            r.warmup(w, cols, modes)
            stamp_file.write_text(r.tc_stamp())
            continue
        r.setup(w, modes, cols)
        r.warmup(w, cols, modes)
        (WORK / "state" / f"{w.name}.toolchain").write_text(r.tc_stamp())
    if args.setup_only:
        log("setup done")
        return
    # phase 2: cells, ordered edit by edit across workloads (the most important first)
    order = edits   # as given: the most important first, in case the deadline comes
    skip = set(filter(None, (args.skip or "").split(",")))
    skipped = []
    for e in order:
        for w, wedits in plan:
            if e not in wedits or f"{w.name}/{e}" in skip:
                continue
            r.src = r.srcs[w.name]
            reps = args.situation_repeats if e in SITUATIONS else args.repeats
            if deadline and dt.datetime.now(dt.timezone.utc) > deadline:
                skipped.append(f"{w.name}/{e}")
                continue
            if not args.no_wait:
                wait_quiet(busy_log)
            log(f"== {w.name} {e}: 1 profiled + {reps} timed run(s) x {len(cols)} columns")
            r.cell(w, e, cols, reps)
            meta["waited_for_builds"] = busy_log
            write_outputs(r.records, meta, OUT)
    meta["skipped_after_deadline"] = skipped
    if skipped:
        log(f"deadline {args.deadline} reached: skipped {skipped}")
    meta["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    meta["waited_for_builds"] = busy_log
    table = write_outputs(r.records, meta, OUT)
    print()
    print(table)
    print()
    # The plot shows what warm and off-Z save against off; a run without those writes none.
    plot = OUT / "saved.svg"
    plot_note = f"plot: {plot}" if plot.exists() else "no plot (it needs `off` and `warm` or `off-Z`)"
    log(f"raw runs: {OUT / 'runs.jsonl'} / runs.csv; summary: {OUT / 'results.json'}; table: {OUT / 'table.md'}; {plot_note}")


def wait_quiet(busy_log: list) -> None:
    b = builds_running()
    if not b:
        return
    log("waiting while compiler builds run on this machine:\n  " + b.replace("\n", "\n  "))
    t = time.time()
    while builds_running():
        time.sleep(15)
    busy_log.append(dict(at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                         waited_s=round(time.time() - t)))


def cpu_model() -> str:
    try:
        for l in Path("/proc/cpuinfo").read_text().splitlines():
            if l.startswith("model name"):
                return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def mem_gib() -> float:
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        return round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return 0.0


WORK = Path()
OUT = Path()
# what counts as "the machine is busy": compiler builds and test runs by others
WAIT_PATTERN = "x.py (build|test|check)|cargo test|tests/run"
# recorded with every run (`busy`), whatever --wait-pattern says
BUSY_PATTERN = "x.py (build|test|check)|cargo test|tests/run"

if __name__ == "__main__":
    main()
