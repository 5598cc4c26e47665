# overlays.default: adds the toolchain under its own attribute names and
# replaces nothing:
#   rustc-expand-cache                  the backend library and the CLI
#   rustc-expand-cache-toolchain        the complete toolchain
#   rustc-expand-cache-rust-packages    nixpkgs' rust scope with the patched compiler
#   rustc-expand-cache-crane-lib        craneLib-with-cache for this package set
{ project, fenix, crane }:

final: prev:
let
  built = project.forPkgs {
    pkgs = final;
    fenixPackages = fenix.packages.${final.stdenv.hostPlatform.system};
    craneLib = crane.mkLib final;
  };
in
{
  rustc-expand-cache = built.backend;
  rustc-expand-cache-toolchain = built.toolchain;
  rustc-expand-cache-rust-packages = built.patchedRustPackages;
  rustc-expand-cache-crane-lib = built.craneLib;
}
