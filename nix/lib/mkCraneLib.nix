# crane for the rustc-expand-cache toolchain. The toolchain goes in through
# crane's overrideToolchain; every derivation crane makes (buildDepsOnly,
# cargoBuild, cargoClippy, cargoTest, buildPackage, ...) is made by
# mkCargoDerivation, which is overridden to carry the expansion cache between
# the steps through the cargo artifacts (see withExpandCache.nix).
{ craneLib, toolchain, withExpandCache }:

(craneLib.overrideToolchain (_pkgs: toolchain)).overrideScope (
  _final: prev: {
    mkCargoDerivation = args: prev.mkCargoDerivation (withExpandCache args);
  }
)
