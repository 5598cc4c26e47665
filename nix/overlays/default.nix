# overlays.default: adds the toolchain under its own attribute names and
# replaces nothing:
#   rustc-expand-cache                  the backend library and the CLI
#   rustc-expand-cache-toolchain        the complete toolchain
#   rustc-expand-cache-rust-packages    nixpkgs' rust scope with the patched compiler
#   rustc-expand-cache-crane-lib        craneLib-with-cache for this package set
# forPkgs (from flake.nix): pkgs -> everything this project builds for that package set.
{ forPkgs, ... }:

final: prev:
let
  built = forPkgs final;
in
{
  rustc-expand-cache = built.backend;
  rustc-expand-cache-toolchain = built.toolchain;
  rustc-expand-cache-rust-packages = built.patchedRustPackages;
  rustc-expand-cache-crane-lib = built.craneLib;
}
