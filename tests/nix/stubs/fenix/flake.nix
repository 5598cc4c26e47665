# Stub of fenix for the evaluation tests: packages.<system>.fromManifest, which
# reads the manifest the way fenix does (a component missing for the system, or
# rustc missing for rust-analyzer's rpath, fails the tests).
{
  description = "stub fenix (tests/nix)";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
  outputs =
    { self, nixpkgs }:
    {
      packages = builtins.mapAttrs (
        system: pkgs:
        let
          target = pkgs.stdenv.hostPlatform.rust.rustcTarget;
          component =
            manifest: name:
            let
              source = manifest.pkg.${name}.target."*" or manifest.pkg.${name}.target.${target};
            in
            pkgs.stdenv.mkDerivation {
              pname = name;
              version = manifest.date;
              src = pkgs.fetchurl {
                inherit (source) url;
                sha256 = source.hash;
              };
            };
        in
        {
          fromManifest =
            manifest:
            let
              rustc = component manifest "rustc";
            in
            {
              inherit rustc;
              rust-src = component manifest "rust-src";
              rust-analyzer = (component manifest "rust-analyzer-preview") // {
                rpath = "${rustc}/lib";
              };
            };
        }
      ) nixpkgs.legacyPackages;
    };
}
