# overlays.replace-rust (opt-in): makes the toolchain the package set's `rustc`,
# `cargo` and `rustPlatform`, so existing derivations build with it. Inside
# their builds the expansion cache stays off unless a derivation sets
# RUSTC_EXPAND_CACHE (the toolchain's setup hook).
#
# The toolchain is built from `prev`, and cargo-auditable (which nixpkgs builds
# with buildPackages.rustc/cargo, and which nixpkgs' cargo is built with) stays on
# the stock compiler, so the replaced compiler never depends on itself.
# forPkgs (from flake.nix): pkgs -> everything this project builds for that package set.
{ project, forPkgs }:

final: prev:
let
  built = forPkgs prev;
  inherit (built) toolchain;
  stock = import ../lib/rustPackagesFor.nix {
    inherit (prev) lib;
    pkgs = prev;
    inherit (project) pin;
  };
in
{
  rustc = toolchain;
  cargo = toolchain;
  rustPlatform = final.makeRustPlatform {
    rustc = toolchain;
    cargo = toolchain;
  };
  cargo-auditable = prev.cargo-auditable.override {
    buildPackages = final.buildPackages // {
      inherit (stock) rustc cargo;
    };
  };
}
