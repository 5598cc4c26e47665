# The cargo workspace sources the backend is built and tested from: crane's
# cargo filter (Cargo.toml/lock, .rs, .toml) plus C headers and sources (the
# backend's C header, which its tests compile a C program against), so edits
# elsewhere do not rebuild it.
{ lib, craneLib, root }:

lib.cleanSourceWith {
  src = root;
  name = "rustc-expand-cache-source";
  filter =
    path: type: craneLib.filterCargoSources path type || lib.hasSuffix ".h" path || lib.hasSuffix ".c" path;
}
