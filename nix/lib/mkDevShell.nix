# The development shell: the toolchain (with the CLI) and the cache on, in the
# compiler's default directory (nix/hooks/dev-shell.sh says where).
{ mkShell, toolchain }:

mkShell {
  packages = [ toolchain ];
  RUSTC_EXPAND_CACHE = "on";
  RUST_SRC_PATH = "${toolchain}/lib/rustlib/src/rust/library";
  shellHook = builtins.readFile ../hooks/dev-shell.sh;
}
