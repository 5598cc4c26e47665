# crane with nixpkgs' unpatched compiler of the pinned version: builds the backend,
# and is the base of craneLib-with-cache.
#
# crane-utils (crane's TOML writer, run by mkDummySrc for every buildDepsOnly) is
# built with the stock platform too: crane's callPackage takes `rustPlatform` from the
# final package set, which overlays.replace-rust makes the toolchain's, and the
# toolchain's backend is itself built with crane: a cycle.
{ craneLib, rustPackages }:

craneLib.overrideScope (
  _final: prev: {
    inherit (rustPackages)
      cargo
      clippy
      rustc
      rustfmt
      ;
    craneUtils = prev.craneUtils.override { inherit (rustPackages) rustPlatform; };
  }
)
