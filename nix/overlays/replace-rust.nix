# overlays.replace-rust (opt-in): makes the toolchain the package set's `rustc`,
# `cargo` and `rustPlatform`, so existing derivations build with it. Inside
# their builds the expansion cache stays off unless a derivation sets
# RUSTC_EXPAND_CACHE (the toolchain's setup hook).
#
# The toolchain is built from `prev`, and cargo-auditable (which nixpkgs builds
# with buildPackages.rustc/cargo, and which nixpkgs' cargo is built with) stays on
# the stock compiler, so the replaced compiler never depends on itself.
{ project, fenix, crane }:

final: prev:
let
  built = project.forPkgs {
    pkgs = prev;
    fenixPackages = fenix.packages.${prev.stdenv.hostPlatform.system};
    craneLib = crane.mkLib prev;
  };
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
