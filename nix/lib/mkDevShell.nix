# The development shell: the toolchain (with the CLI), the cache on, and a
# cache directory (nix/hooks/dev-shell.sh: <cargo target dir>/expand-cache
# unless RUSTC_EXPAND_CACHE_DIR is already set).
{ mkShell, toolchain }:

mkShell {
  packages = [ toolchain ];
  RUSTC_EXPAND_CACHE = "on";
  RUST_SRC_PATH = "${toolchain}/lib/rustlib/src/rust/library";
  shellHook = builtins.readFile ../hooks/dev-shell.sh;
}
