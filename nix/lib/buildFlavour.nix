# The build flavour of a nixpkgs build of the patched compiler:
#   nixpkgs-<codegen backend>-<first 8 hex of a hash of nixpkgs' own rustc patches>
# e.g. `nixpkgs-llvm-1a2b3c4d`. toolchain/build.py uses `cranelift-<hash of its
# bootstrap config>` instead, so the two builds never share cache entries.
# Each patch is named by its store path: content-addressed for files (a path
# literal is copied to the store) and fixed-output for fetchpatch results, so
# the flavour changes when nixpkgs changes what it applies, not on every bump.
{ lib, codegenBackend, nixpkgsPatches }:

let
  patchId = patch: builtins.unsafeDiscardStringContext "${patch}";
  patchesHash = builtins.hashString "sha256" (lib.concatMapStrings (p: patchId p + "\n") nixpkgsPatches);
in
"nixpkgs-${codegenBackend}-${builtins.substring 0 8 patchesHash}"
