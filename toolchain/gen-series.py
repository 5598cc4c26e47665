#!/usr/bin/env python3
"""Generate the patches that add whole new compiler files.

New modules are easier to read and review as files than as giant `+` hunks, so
they live under toolchain/files/<path in the rustc tree>, and
toolchain/new-files.toml says which patch of the series adds them:

    [[patch]]
    name = "0101-expand-cache-module.patch"
    header = '''
    Subject: ...
    Why it exists.
    '''
    files = ["compiler/rustc_expand/src/proc_macro_cache.rs"]

    python3 toolchain/gen-series.py           # (re)write those patches
    python3 toolchain/gen-series.py --check   # fail if a patch is out of date
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import build  # toolchain/build.py, beside this script

TOOLCHAIN = Path(__file__).resolve().parent
FILES = TOOLCHAIN / "files"
PATCHES = TOOLCHAIN / "patches"


def render(header: str, paths: list[str]) -> str:
    out = [header.strip("\n") + "\n\n"]
    for rel in paths:
        text = (FILES / rel).read_text()
        if not text.endswith("\n"):
            raise SystemExit(f"error: toolchain/files/{rel} must end with a newline")
        lines = text.splitlines(keepends=True)
        out.append(f"diff --git a/{rel} b/{rel}\nnew file mode 100644\n--- /dev/null\n+++ b/{rel}\n")
        out.append(f"@@ -0,0 +1,{len(lines)} @@\n")
        out.extend("+" + line for line in lines)
    return "".join(out)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    args = ap.parse_args(argv)
    manifest = TOOLCHAIN / "new-files.toml"
    try:
        entries = tomllib.loads(manifest.read_text()).get("patch", []) if manifest.exists() else []
        for entry in entries:
            if not (isinstance(entry.get("name"), str) and isinstance(entry.get("header"), str)
                    and isinstance(entry.get("files"), list)):
                raise ValueError(f"a [[patch]] needs name, header (strings) and files (a list): {entry}")
    except (tomllib.TOMLDecodeError, ValueError) as e:
        print(f"error: toolchain/new-files.toml: {e}", file=sys.stderr)
        return 1
    series = build.series_names()  # read exactly as the build applies it
    stale = []
    for entry in entries:
        name, header, paths = entry["name"], entry["header"], entry["files"]
        for rel in paths:
            if not (FILES / rel).is_file():
                print(f"error: {name} lists toolchain/files/{rel}, which does not exist", file=sys.stderr)
                return 1
        if name not in series:
            print(f"error: {name} is not in toolchain/patches/series", file=sys.stderr)
            return 1
        text = render(header, paths)
        target = PATCHES / name
        if target.exists() and target.read_text() == text:
            continue
        if args.check:
            stale.append(name)
        else:
            target.write_text(text)
            print(f"wrote toolchain/patches/{name}")
    if stale:
        print("error: generated patches out of date (run python3 toolchain/gen-series.py): "
              + ", ".join(stale), file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(entries)} generated patches up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
