# The cargo workspace sources the backend is built and tested from: the root
# manifest and lock file, and in the workspace members (read from the root
# Cargo.toml) crane's cargo filter (.rs, .toml) plus C headers (the backend's, which
# its tests compile a C program against). Edits elsewhere (bench/, tests/fixtures/,
# toolchain/, nix/) do not rebuild it.
{ lib, craneLib, root }:

let
  members = (lib.importTOML (root + "/Cargo.toml")).workspace.members;
  # The path relative to the root ("" for the root itself).
  relative = path: lib.removePrefix "/" (lib.removePrefix (toString root) (toString path));
  inMember = rel: builtins.any (m: rel == m || lib.hasPrefix "${m}/" rel) members;
  aboveMember = rel: rel == "" || builtins.any (m: lib.hasPrefix "${rel}/" m) members;
in
lib.cleanSourceWith {
  src = root;
  name = "rustc-expand-cache-source";
  filter =
    path: type:
    let
      rel = relative path;
    in
    if type == "directory" then
      inMember rel || aboveMember rel
    else
      builtins.elem rel [
        "Cargo.toml"
        "Cargo.lock"
      ]
      || inMember rel && (craneLib.filterCargoSources path type || lib.hasSuffix ".h" path);
}
