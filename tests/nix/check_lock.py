#!/usr/bin/env python3
"""flake.lock agrees with flake.nix: every input locked, `original` matching the url,
follows as declared, every node complete (rev, narHash, lastModified) and reachable.

    python3 tests/nix/check_lock.py FLAKE_INPUTS_JSON FLAKE_LOCK

FLAKE_INPUTS_JSON is `(import ./flake.nix).inputs` as JSON (tests/nix/run makes it).
Prints one `PASS <name>` or `FAIL <name>: <why>` line per test.
If REC_NIX_MIRRORS names a directory of git mirrors (<owner>+<repo>/repo), the narHash of
each github node found there is recomputed (git archive | nix hash path), and its
lastModified compared with the commit time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

results: list[tuple[str, str | None]] = []


def test(name: str, problem: str | None) -> None:
    results.append((name, problem))


def parse_url(url: str) -> dict:
    m = re.fullmatch(r"github:([^/]+)/([^/?]+)(?:/([^?]+))?", url)
    if not m:
        raise ValueError(f"unsupported input url {url!r} (only github: urls are expected)")
    orig = {"type": "github", "owner": m.group(1), "repo": m.group(2)}
    if m.group(3):
        orig["ref"] = m.group(3)
    return orig


def check_locked(name: str, node: dict) -> str | None:
    locked = node.get("locked")
    if not isinstance(locked, dict):
        return "no `locked`"
    orig = node.get("original", {})
    for key in ("type", "owner", "repo"):
        if locked.get(key) != orig.get(key):
            return f"locked.{key} {locked.get(key)!r} != original.{key} {orig.get(key)!r}"
    if not re.fullmatch(r"[0-9a-f]{40}", str(locked.get("rev", ""))):
        return f"bad rev {locked.get('rev')!r}"
    if not re.fullmatch(r"sha256-[A-Za-z0-9+/]{43}=", str(locked.get("narHash", ""))):
        return f"bad narHash {locked.get('narHash')!r}"
    if not isinstance(locked.get("lastModified"), int) or locked["lastModified"] <= 0:
        return f"bad lastModified {locked.get('lastModified')!r}"
    return None


def main(inputs_path: str, lock_path: str) -> int:
    inputs = json.loads(Path(inputs_path).read_text())
    lock = json.loads(Path(lock_path).read_text())
    nodes = lock.get("nodes", {})
    test("lock-version-7", None if lock.get("version") == 7 else f"version {lock.get('version')}")
    root = nodes.get(lock.get("root", "root"), {})
    root_inputs = root.get("inputs", {})
    test("lock-root-inputs-match-flake-inputs",
         None if sorted(root_inputs) == sorted(inputs) else f"lock {sorted(root_inputs)} vs flake.nix {sorted(inputs)}")

    for name, spec in sorted(inputs.items()):
        ref = root_inputs.get(name)
        node = nodes.get(ref) if isinstance(ref, str) else None
        if node is None:
            test(f"lock-input-{name}", "not locked")
            continue
        try:
            want = parse_url(spec["url"])
        except (KeyError, ValueError) as e:
            test(f"lock-input-{name}", str(e))
            continue
        problem = None
        if node.get("original") != want:
            problem = f"original {node.get('original')} != {want} (from {spec['url']})"
        problem = problem or check_locked(name, node)
        if spec.get("flake") is False and node.get("flake") is not False:
            problem = problem or "flake = false not recorded"
        for sub, subspec in spec.get("inputs", {}).items():
            if "follows" in subspec:
                got = node.get("inputs", {}).get(sub)
                if got != subspec["follows"].split("/"):
                    problem = problem or f"{name}/{sub} follows {got!r}, flake.nix says {subspec['follows']!r}"
        test(f"lock-input-{name}", problem)

    # Every node referenced exists and is complete; every node is reachable.
    reachable, todo, problems = {lock.get("root", "root")}, [lock.get("root", "root")], []
    while todo:
        for sub, ref in nodes.get(todo.pop(), {}).get("inputs", {}).items():
            if isinstance(ref, list):
                continue  # follows: a path from the root, checked above
            if ref not in nodes:
                problems.append(f"missing node {ref}")
            elif ref not in reachable:
                reachable.add(ref)
                todo.append(ref)
    for ref in sorted(reachable - {lock.get("root", "root")}):
        p = check_locked(ref, nodes[ref])
        if p:
            problems.append(f"{ref}: {p}")
    unreachable = sorted(set(nodes) - reachable)
    if unreachable:
        problems.append(f"unreachable nodes {unreachable}")
    test("lock-transitive-nodes-complete", "; ".join(problems) or None)

    mirrors = os.environ.get("REC_NIX_MIRRORS")
    if mirrors:
        for ref in sorted(reachable - {lock.get("root", "root")}):
            locked = nodes[ref]["locked"]
            repo = Path(mirrors) / f"{locked['owner']}+{locked['repo']}" / "repo"
            if not repo.is_dir():
                print(f"SKIP lock-narhash-{ref}: no mirror of {locked['owner']}/{locked['repo']} here")
                continue
            with tempfile.TemporaryDirectory() as d:
                archive = subprocess.run(["git", "-C", str(repo), "archive", locked["rev"]], capture_output=True)
                if archive.returncode != 0:
                    test(f"lock-narhash-{ref}", f"rev {locked['rev']} not in the mirror")
                    continue
                subprocess.run(["tar", "-x", "-C", d], input=archive.stdout, check=True)
                got = subprocess.run(["nix", "hash", "path", d], capture_output=True, text=True).stdout.strip()
            when = subprocess.run(["git", "-C", str(repo), "show", "-s", "--format=%ct", locked["rev"]],
                                  capture_output=True, text=True).stdout.strip()
            problem = None if got == locked["narHash"] else f"narHash {got} != {locked['narHash']}"
            if when != str(locked["lastModified"]):
                problem = problem or f"lastModified {locked['lastModified']} != commit time {when}"
            test(f"lock-narhash-{ref}", problem)

    for name, problem in results:
        print(f"PASS {name}" if problem is None else f"FAIL {name}: {problem}")
    return 0 if all(p is None for _, p in results) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
