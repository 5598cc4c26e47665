# Hash of the patch series: sha256 hex of the concatenation of
# "<patch name> <sha256 hex of the patch file>\n" for each patch in series order.
# Must equal toolchain/build.py `series_hash` (tests/nix compares them).
{ lib, patchesDir, names }:

builtins.hashString "sha256" (
  lib.concatMapStrings (name: "${name} ${builtins.hashFile "sha256" (patchesDir + "/${name}")}\n") names
)
