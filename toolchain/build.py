#!/usr/bin/env python3
"""Build the patched rustc 1.95.0 toolchain of rustc-expand-cache on a machine without Nix.

    python3 toolchain/build.py                 # everything that is missing or stale
    python3 toolchain/build.py assemble        # only re-copy built parts into the toolchain dir
    python3 toolchain/build.py check-patches   # does the series apply to the pinned source?
    python3 toolchain/build.py identity        # the compiler identity this checkout builds
    python3 toolchain/build.py path            # where the toolchain is (or will be)

The work happens in a build directory outside the checkout (default
$XDG_CACHE_HOME/rustc-expand-cache, or RUSTC_EXPAND_CACHE_BUILD_DIR, or --root),
which later runs reuse: after a patch change only the touched crates rebuild.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLCHAIN_DIR = REPO / "toolchain"
PATCHES_DIR = TOOLCHAIN_DIR / "patches"
# Bumped when the way the tree is prepared changes, so old trees are redone.
PREPARE_VERSION = "1"
HOST = f"{platform.machine()}-unknown-linux-gnu"


class BuildError(Exception):
    """A failure with a message meant for the user."""


def log(msg: str) -> None:
    print(msg, flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_pin() -> dict:
    with open(TOOLCHAIN_DIR / "pin.toml", "rb") as f:
        return tomllib.load(f)


def series_names() -> list[str]:
    names = []
    for line in (PATCHES_DIR / "series").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def series_hash() -> str:
    """Hash of the patch series: `<name> <sha256 of file>\\n` per patch, in order.

    The Nix flake computes the same string with builtins.hashFile, so both
    builds of the same series get the same identity."""
    text = "".join(f"{n} {sha256_file(PATCHES_DIR / n)}\n" for n in series_names())
    return hashlib.sha256(text.encode()).hexdigest()


def flavour() -> str:
    """The build flavour: codegen backend plus a hash of the bootstrap settings."""
    cfg = hashlib.sha256((TOOLCHAIN_DIR / "bootstrap.toml.in").read_bytes()).hexdigest()
    return f"cranelift-{cfg[:8]}"


def identity(pin: dict) -> str:
    """The compiler identity: the cache namespace, and the `expand-cache:` line of `rustc -vV`."""
    return f"rec{pin['cache-format']}-{pin['commit'][:12]}-{series_hash()[:16]}-{flavour()}"


def run(cmd: list, *, cwd: Path | None = None, env: dict | None = None, quiet: bool = False) -> None:
    full_env = dict(os.environ, **(env or {}))
    out = subprocess.DEVNULL if quiet else None
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=full_env, stdout=out)
    if r.returncode != 0:
        raise BuildError(f"command failed (exit {r.returncode}): {' '.join(map(str, cmd))}")


def capture(cmd: list, *, cwd: Path | None = None, env: dict | None = None, input: bytes | None = None) -> bytes:
    full_env = dict(os.environ, **(env or {}))
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=full_env, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise BuildError(f"command failed (exit {r.returncode}): {' '.join(map(str, cmd))}\n"
                         f"{r.stderr.decode(errors='replace').strip()}")
    return r.stdout


@dataclass
class Layout:
    """Where things live under the build root."""

    root: Path

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def git_dir(self) -> Path:
        return self.root / "src.git"

    @property
    def prepared_stamp(self) -> Path:
        return self.root / "src.prepared"

    @property
    def applied_list(self) -> Path:
        return self.root / "src.applied"

    @property
    def stage1(self) -> Path:
        return self.src / "build" / HOST / "stage1"

    @property
    def tools_bin(self) -> Path:
        return self.src / "build" / HOST / "stage1-tools-bin"

    @property
    def backend_target(self) -> Path:
        return self.root / "backend-target"

    @property
    def toolchain(self) -> Path:
        return self.root / "toolchain"

    @property
    def toolchain_stamp(self) -> Path:
        return self.toolchain / "rustc-expand-cache-build.json"


def default_root() -> Path:
    env = os.environ.get("RUSTC_EXPAND_CACHE_BUILD_DIR")
    if env is not None:
        if not env.strip():
            raise BuildError("RUSTC_EXPAND_CACHE_BUILD_DIR is set but empty; unset it or name a directory")
        return Path(env).expanduser().resolve()
    # As XDG says: unset, empty or relative means the default.
    cache = os.environ.get("XDG_CACHE_HOME", "")
    return Path(cache if os.path.isabs(cache) else Path.home() / ".cache") / "rustc-expand-cache"


# ---------------------------------------------------------------- prerequisites

@dataclass
class Stage0:
    """The official rustc/cargo 1.95.0 that bootstraps the build and provides std and cargo."""

    rustc: Path
    cargo: Path

    @property
    def sysroot(self) -> Path:
        return self.rustc.parent.parent


def find_stage0(pin: dict, explicit: str | None) -> Stage0:
    want = f"rustc {pin['version-string']}"
    if explicit:
        d = Path(explicit).expanduser().resolve()
        candidates = [(d / "bin" / "rustc", d / "bin" / "cargo")]
    else:
        candidates = []
        if shutil.which("rustup") is not None:
            for name in (pin["version"], "stable"):
                try:
                    candidates.append(tuple(
                        Path(capture(["rustup", "which", "--toolchain", name, tool]).decode().strip())
                        for tool in ("rustc", "cargo")))
                except BuildError:
                    pass
        if shutil.which("rustc") and shutil.which("cargo"):
            rustc = Path(capture(["rustc", "--print", "sysroot"]).decode().strip()) / "bin" / "rustc"
            candidates.append((rustc, rustc.parent / "cargo"))
    seen = []
    for rustc, cargo in candidates:
        if not (rustc.is_file() and cargo.is_file()):
            continue
        got = capture([rustc, "-V"]).decode().strip()
        if got == want:
            return Stage0(rustc, cargo)
        seen.append(f"{rustc}: {got}")
    raise BuildError(
        f"no official `{want}` toolchain found (it is stage0, and provides std and cargo): "
        f"run `rustup toolchain install {pin['version']}` or pass --stage0 DIR"
        + ("; found " + "; ".join(seen) if seen else ""))


def check_tools() -> None:
    missing = []
    hints = {"git": "git", "patch": "patch", "cc": "gcc", "as": "binutils", "xz": "xz-utils", "tar": "tar"}
    for tool, pkg in hints.items():
        if shutil.which(tool) is None:
            missing.append(f"{tool} (Debian: apt-get install {pkg})")
    if missing:
        raise BuildError("missing prerequisites: " + ", ".join(missing))


# ---------------------------------------------------------------- steps

def step_fetch(lay: Layout, pin: dict, source: str) -> tuple[str, Path]:
    """Get a hash-checked source tarball. Returns (kind, path)."""
    lay.downloads.mkdir(parents=True, exist_ok=True)
    up = lay.downloads / Path(pin["upstream"]["url"]).name
    deb = lay.downloads / pin["debian"]["orig"]
    debian_tar = lay.downloads / pin["debian"]["debian"]
    if source in ("auto", "upstream"):
        if up.exists() and sha256_file(up) == pin["upstream"]["sha256"]:
            log(f"    upstream tarball present: {up.name}")
            return "upstream", up
    if source in ("auto", "debian"):
        if (deb.exists() and sha256_file(deb) == pin["debian"]["orig-sha256"] and debian_tar.exists()
                and sha256_file(debian_tar) == pin["debian"]["debian-sha256"]):
            log(f"    Debian tarballs present: {deb.name}")
            return "debian", deb
    if source in ("auto", "upstream"):
        try:
            download(pin["upstream"]["url"], up, pin["upstream"]["sha256"])
            return "upstream", up
        except (urllib.error.URLError, OSError, BuildError) as e:
            if source == "upstream":
                raise BuildError(f"cannot get the upstream tarball: {e}") from None
            log(f"    upstream tarball not reachable ({e}); using Debian's orig tarball")
    fetch_debian(lay, pin)
    return "debian", deb


def download(url: str, dest: Path, sha256: str) -> None:
    log(f"    downloading {url}")
    tmp = dest.with_suffix(dest.suffix + ".part")
    h = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=20) as resp, open(tmp, "wb") as out:
        total = int(resp.headers.get("Content-Length") or 0)
        done, last = 0, 0.0
        for chunk in iter(lambda: resp.read(1 << 20), b""):
            out.write(chunk)
            h.update(chunk)
            done += len(chunk)
            if time.monotonic() - last > 5:
                last = time.monotonic()
                log(f"    {done >> 20} MiB" + (f" of {total >> 20} MiB" if total else ""))
    if h.hexdigest() != sha256:
        tmp.unlink()
        raise BuildError(f"{url}: sha256 {h.hexdigest()} does not match the pin {sha256}")
    tmp.rename(dest)


def debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (its sources name it)."""
    candidates = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for f in candidates:
        for m in re.finditer(r"^URIs:\s*(\S+)", f.read_text(errors="replace"), re.M):
            if "security" not in m.group(1):
                return m.group(1)
    for f in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        if f.exists():
            for m in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", f.read_text(errors="replace"), re.M):
                if "debian" in m.group(1) and "security" not in m.group(1):
                    return m.group(1)
    raise BuildError("no Debian mirror found in /etc/apt sources; put the pinned tarballs "
                     "(toolchain/pin.toml) into the downloads directory by hand")


def fetch_debian(lay: Layout, pin: dict) -> None:
    if shutil.which("apt-get") is None:
        raise BuildError("neither the upstream tarball nor apt-get is available; put "
                         f"{pin['debian']['orig']} and {pin['debian']['debian']} into {lay.downloads}")
    d = pin["debian"]
    apt = lay.root / "apt"
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    signed = f"[signed-by={keyring}] " if Path(keyring).exists() else ""
    (apt / "sources.list").write_text(f"deb-src {signed}{debian_mirror()} {d['suite']} main\n")
    opts = ["-o", f"Dir::Etc::SourceList={apt / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={apt / 'lists'}", "-o", f"Dir::Cache={apt / 'cache'}",
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-q"]
    log(f"    apt-get update (deb-src {d['suite']}, private lists under {apt})")
    run(["apt-get", *opts, "update"], quiet=True)
    log(f"    apt-get source --download-only {d['source-package']}={d['source-version']}")
    # The .dsc may be gone from the mirror while the tarballs are still there:
    # the hashes below decide, not apt-get's exit status.
    subprocess.run(["apt-get", *opts, "source", "--download-only",
                    f"{d['source-package']}={d['source-version']}"], cwd=lay.downloads,
                   stdout=subprocess.DEVNULL)
    for name, want in ((d["orig"], d["orig-sha256"]), (d["debian"], d["debian-sha256"])):
        p = lay.downloads / name
        if not p.exists():
            raise BuildError(f"apt-get did not deliver {name} (is the {d['suite']} suite reachable?)")
        got = sha256_file(p)
        if got != want:
            raise BuildError(f"{p}: sha256 {got} does not match the pin {want}")


def step_prepare(lay: Layout, pin: dict, kind: str, tarball: Path) -> None:
    """Unpack and make the tree buildable; commit the result as the patch base."""
    stamp = f"{kind} {sha256_file(tarball)} prepare-v{PREPARE_VERSION}\n"
    if lay.src.exists() and lay.prepared_stamp.exists() and lay.prepared_stamp.read_text() == stamp:
        log("    source tree already prepared")
        return
    for p in (lay.src, lay.git_dir, lay.prepared_stamp, lay.applied_list):
        if p.is_dir():
            log(f"    removing stale {p}")
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    tmp = lay.root / "src.unpack"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    log(f"    unpacking {tarball.name}")
    run(["tar", "-xf", tarball, "-C", tmp])
    top = tmp / pin[kind]["top"]
    if kind == "debian":
        # Debian's repack lacks some workspace members and part of vendor/:
        # apply its own prune patch, and let cargo fetch the locked crates.
        patch = capture(["tar", "-xJOf", lay.downloads / pin["debian"]["debian"], pin["debian"]["prune-patch"]])
        capture(["patch", "-p1", "--quiet"], cwd=top, input=patch)
        (top / ".cargo" / "config.toml").unlink(missing_ok=True)
        # Its submodules are gone; bootstrap must not expect them.
        (top / ".gitmodules").write_text("")
    top.rename(lay.src)
    tmp.rmdir()
    log("    recording the prepared tree as the patch base (git, outside the tree)")
    git(lay, "init", "-q")
    (lay.git_dir / "info").mkdir(exist_ok=True)
    (lay.git_dir / "info" / "exclude").write_text("/build/\n/vendor/\n/bootstrap.toml\n")
    git(lay, "add", "-A")
    git(lay, "-c", "user.name=toolchain-build", "-c", "user.email=build@localhost",
        "commit", "-q", "--no-verify", "-m", "prepared source")
    git(lay, "tag", "-f", "base")
    lay.prepared_stamp.write_text(stamp)


def git(lay: Layout, *args: str, input: bytes | None = None, env: dict | None = None) -> bytes:
    # An external git dir: a .git inside the tree would change bootstrap's idea of
    # the commit, and with it `rustc -V`.
    e = {"GIT_DIR": str(lay.git_dir), "GIT_WORK_TREE": str(lay.src), **(env or {})}
    return capture(["git", *args], cwd=lay.src, env=e, input=input)


def patched_tree(lay: Layout) -> str:
    """Apply the series to the base in a scratch index; return the resulting tree id.

    Raises with the name of the first patch that does not apply."""
    index = lay.root / "series.index"
    env = {"GIT_INDEX_FILE": str(index)}
    git(lay, "read-tree", "base", env=env)
    for name in series_names():
        try:
            git(lay, "apply", "--cached", "--whitespace=nowarn", str(PATCHES_DIR / name), env=env)
        except BuildError as e:
            raise BuildError(f"patch {name} does not apply to the pinned {lay.src.name} tree:\n{e}") from None
    tree = git(lay, "write-tree", env=env).decode().strip()
    index.unlink(missing_ok=True)
    return tree


def step_patch(lay: Layout) -> list[str]:
    """Make the tree equal base + series, writing only files whose content differs
    (untouched files keep their mtimes, so cargo rebuilds only what changed)."""
    tree = patched_tree(lay)
    wanted = set(git(lay, "diff", "--name-only", "base", tree).decode().split())
    # Files changed by a previous series or by hand go back to base + series too.
    dirty = set(git(lay, "diff", "--name-only", "base").decode().split())
    dirty |= set(git(lay, "ls-files", "--others", "--exclude-standard").decode().split())
    previous = set(lay.applied_list.read_text().split()) if lay.applied_list.exists() else set()
    written = []
    for path in sorted(wanted | dirty | previous):
        target = lay.src / path
        try:
            want = git(lay, "cat-file", "blob", f"{tree}:{path}")
        except BuildError:
            want = None
        have = target.read_bytes() if target.is_file() else None
        if want == have:
            continue
        if want is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(want)
        written.append(path)
    lay.applied_list.write_text("".join(f"{p}\n" for p in sorted(wanted)))
    log(f"    {len(series_names())} patches, {len(wanted)} files patched, {len(written)} written")
    return written


def step_configure(lay: Layout, pin: dict, kind: str, stage0: Stage0) -> None:
    text = (TOOLCHAIN_DIR / "bootstrap.toml.in").read_text().format(
        stage0_rustc=stage0.rustc, stage0_cargo=stage0.cargo,
        vendor="true" if kind == "upstream" else "false")
    cfg = lay.src / "bootstrap.toml"
    if not cfg.exists() or cfg.read_text() != text:
        cfg.write_text(text)
        log("    wrote bootstrap.toml")


def x_py(lay: Layout, ident: str, jobs: int | None, *args: str) -> None:
    env = {
        "RUSTC_EXPAND_CACHE_IDENTITY": ident,
        # Read when the cranelift backend is compiled: assemble inline asm with
        # GNU as instead of re-running rustc with the LLVM backend (absent here).
        "CG_CLIF_FORCE_GNU_AS": "1",
    }
    extra = ["-j", str(jobs)] if jobs else []
    run([sys.executable, "x.py", *args, *extra], cwd=lay.src, env=env)


def step_backend(lay: Layout, stage0: Stage0) -> None:
    run([stage0.cargo, "build", "--release", "--locked", "-p", "rustc-expand-cache",
         "--target-dir", lay.backend_target], cwd=REPO, env={"RUSTC": str(stage0.rustc)})


def step_assemble(lay: Layout, stage0: Stage0, ident: str, fingerprint: str, clippy: bool) -> None:
    """Copy the built parts into a fresh toolchain directory, then swap it in."""
    stage1 = lay.stage1
    if not (stage1 / "bin" / "rustc").exists():
        raise BuildError(f"no stage1 compiler at {stage1}: run the full build first")
    new = lay.root / "toolchain.new"
    if new.exists():
        shutil.rmtree(new)
    (new / "bin").mkdir(parents=True)
    libdir = new / "lib"
    rustlib = libdir / "rustlib" / HOST
    copy(stage1 / "bin" / "rustc", new / "bin" / "rustc")
    libdir.mkdir(exist_ok=True)
    for so in (stage1 / "lib").glob("*.so"):
        copy(so, libdir / so.name)
    backends = stage1 / "lib" / "rustlib" / HOST / "codegen-backends"
    if not any(backends.glob("*.so")):
        raise BuildError(f"no codegen backend in {backends}")
    shutil.copytree(backends, rustlib / "codegen-backends")
    # The official std of the same version (the version strings match exactly).
    shutil.copytree(stage0.sysroot / "lib" / "rustlib" / HOST / "lib", rustlib / "lib")
    copy(stage0.cargo, new / "bin" / "cargo")
    tools = {"rustdoc": stage1 / "bin" / "rustdoc"}
    if clippy:
        tools["clippy-driver"] = lay.tools_bin / "clippy-driver"
        tools["cargo-clippy"] = lay.tools_bin / "cargo-clippy"
    for name, path in tools.items():
        if not path.exists():
            raise BuildError(f"{name} was not built ({path} missing)")
        copy(path, new / "bin" / name)
    release = lay.backend_target / "release"
    copy(release / "librustc_expand_cache.so", rustlib / "lib" / "librustc_expand_cache.so")
    copy(release / "rustc-expand-cache", new / "bin" / "rustc-expand-cache")
    (new / "rustc-expand-cache-build.json").write_text(json.dumps(
        {"identity": ident, "fingerprint": fingerprint, "clippy": clippy}, indent=2) + "\n")
    old = lay.root / "toolchain.old"
    if old.exists():
        shutil.rmtree(old)
    if lay.toolchain.exists():
        lay.toolchain.rename(old)
    new.rename(lay.toolchain)
    if old.exists():
        shutil.rmtree(old)


def copy(src: Path, dst: Path) -> None:
    if not src.exists():
        raise BuildError(f"expected build output missing: {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def step_verify(lay: Layout, pin: dict, ident: str | None) -> None:
    """Check the version string and, unless `ident` is None, the baked-in identity."""
    rustc = lay.toolchain / "bin" / "rustc"
    out = capture([rustc, "-vV"]).decode().splitlines()
    if out[0] != f"rustc {pin['version-string']}":
        raise BuildError(f"built rustc says `{out[0]}`, expected `rustc {pin['version-string']}`")
    found = next((l.removeprefix("expand-cache: ") for l in out if l.startswith("expand-cache: ")), None)
    if found is None or (ident is not None and found != ident):
        raise BuildError(f"built rustc reports identity {found}, expected {ident}")
    log(f"    {out[0]}; expand-cache: {found}")


def fingerprint(ident: str) -> str:
    """Everything the toolchain directory is made from, besides the pinned source."""
    h = hashlib.sha256(ident.encode())
    inputs = [Path(__file__), TOOLCHAIN_DIR / "pin.toml", REPO / "Cargo.lock", REPO / "Cargo.toml"]
    inputs += sorted(p for p in (REPO / "cache-backend").rglob("*") if p.is_file())
    for p in inputs:
        if p.exists():
            h.update(str(p.relative_to(REPO)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


# ---------------------------------------------------------------- driver

class Steps:
    """Runs named steps with progress and timing."""

    def __init__(self, total: int):
        self.total, self.n, self.start = total, 0, time.monotonic()

    def __call__(self, name: str, fn, *args):
        self.n += 1
        log(f"==> [{self.n}/{self.total}] {name}")
        t = time.monotonic()
        result = fn(*args)
        log(f"    {name}: {fmt_secs(time.monotonic() - t)}")
        return result

    def done(self) -> None:
        log(f"==> done in {fmt_secs(time.monotonic() - self.start)}")


def fmt_secs(s: float) -> str:
    return f"{int(s // 60)} min {s % 60:.0f} s" if s >= 60 else f"{s:.1f} s"


def cmd_build(args, lay: Layout, pin: dict) -> None:
    check_tools()
    stage0 = find_stage0(pin, args.stage0)
    ident = identity(pin)
    fp = fingerprint(ident)
    stamp = lay.toolchain_stamp
    if not args.force and stamp.exists():
        old = json.loads(stamp.read_text())
        if old.get("fingerprint") == fp and old.get("clippy") == (not args.no_clippy):
            log(f"toolchain up to date: {lay.toolchain} ({ident})")
            return
    log(f"building {ident} in {lay.root}")
    steps = Steps(9)
    kind, tarball = steps("fetch source", step_fetch, lay, pin, args.source)
    steps("prepare tree", step_prepare, lay, pin, kind, tarball)
    steps("apply patch series", step_patch, lay)
    steps("configure bootstrap", step_configure, lay, pin, kind, stage0)
    steps("build stage1 compiler", x_py, lay, ident, args.jobs, "build", "--stage", "1", "compiler")
    tools = ["src/tools/rustdoc"] + ([] if args.no_clippy else ["src/tools/clippy"])
    steps("build " + ", ".join(Path(t).name for t in tools), x_py, lay, ident, args.jobs, "build",
          "--stage", "1", *tools)
    steps("build cache backend", step_backend, lay, stage0)
    steps("assemble toolchain", step_assemble, lay, stage0, ident, fp, not args.no_clippy)
    steps("verify", step_verify, lay, pin, ident)
    steps.done()
    log(f"toolchain: {lay.toolchain}\n  use it: RUSTC={lay.toolchain / 'bin/rustc'} cargo check\n"
        f"     or: rustup toolchain link rustc-expand-cache {lay.toolchain}")


def cmd_assemble(args, lay: Layout, pin: dict) -> None:
    stage0 = find_stage0(pin, args.stage0)
    ident = identity(pin)
    clippy = (lay.tools_bin / "clippy-driver").exists()
    steps = Steps(2)
    steps("assemble toolchain", step_assemble, lay, stage0, ident, "assembled-by-hand", clippy)
    # Developers build with their own identity (e.g. `dev`): report it, don't insist.
    steps("verify", step_verify, lay, pin, None)


def cmd_check_patches(args, lay: Layout, pin: dict) -> None:
    if not lay.git_dir.exists():
        raise BuildError(f"no prepared source under {lay.root}: run `python3 toolchain/build.py` first")
    patched_tree(lay)
    log(f"all {len(series_names())} patches apply to the pinned source")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="toolchain/build.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", nargs="?", default="build",
                    choices=["build", "assemble", "check-patches", "identity", "path"])
    ap.add_argument("--root", help="build directory (default: $RUSTC_EXPAND_CACHE_BUILD_DIR or "
                    "$XDG_CACHE_HOME/rustc-expand-cache)")
    ap.add_argument("--stage0", help="official 1.95.0 toolchain dir (default: rustup's 1.95.0)")
    ap.add_argument("--source", choices=["auto", "upstream", "debian"], default="auto",
                    help="which source tarball to use (default: upstream if reachable, else Debian's)")
    ap.add_argument("--no-clippy", action="store_true", help="skip clippy (saves about 3.5 minutes)")
    ap.add_argument("--force", action="store_true", help="run every step even if the toolchain is up to date")
    ap.add_argument("-j", "--jobs", type=int, help="parallel jobs for x.py")
    args = ap.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        ap.error(f"--jobs must be 1 or more, not {args.jobs}")
    try:
        pin = load_pin()
        if args.command == "identity":
            print(identity(pin))
            return 0
        lay = Layout(Path(args.root).expanduser().resolve() if args.root else default_root())
        if lay.root.exists() and not lay.root.is_dir():
            raise BuildError(f"the build directory {lay.root} is not a directory "
                             "(--root, RUSTC_EXPAND_CACHE_BUILD_DIR or XDG_CACHE_HOME)")
        if args.command == "path":
            print(lay.toolchain)
            return 0
        lay.root.mkdir(parents=True, exist_ok=True)
        {"build": cmd_build, "assemble": cmd_assemble, "check-patches": cmd_check_patches}[args.command](
            args, lay, pin)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        # A missing tool or an unusable path, with the name in the message.
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
