# The patch names of toolchain/patches/series, in order: `#` starts a comment,
# blank lines are skipped (the same reading as toolchain/build.py `series_names`).
{ lib, patchesDir }:

let
  lines = lib.splitString "\n" (builtins.readFile (patchesDir + "/series"));
  uncomment = line: builtins.head (lib.splitString "#" line);
  trim =
    s:
    let
      m = builtins.match "[[:space:]]*(.*[^[:space:]])[[:space:]]*" s;
    in
    if m == null then "" else builtins.head m;
in
builtins.filter (name: name != "") (map (line: trim (uncomment line)) lines)
