{
  description = "rustc-expand-cache: a Rust 1.95.0 toolchain whose rustc caches proc-macro expansions on disk";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    crane.url = "github:ipetkov/crane";
    fenix = {
      url = "github:nix-community/fenix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs =
    {
      self,
      nixpkgs,
      crane,
      fenix,
      flake-utils,
    }:
    let
      inherit (nixpkgs) lib;
      project = import ./nix {
        inherit lib;
        root = ./.;
      };
      # The backend is a Linux shared object (.so) loaded from the sysroot; the
      # default systems that can build it are the Linux ones.
      systems = builtins.filter (lib.hasSuffix "-linux") flake-utils.lib.defaultSystems;
      forPkgs =
        pkgs:
        project.forPkgs {
          inherit pkgs;
          fenixPackages = fenix.packages.${pkgs.stdenv.hostPlatform.system};
          craneLib = crane.mkLib pkgs;
        };
      overlayArgs = { inherit project forPkgs; };
    in
    flake-utils.lib.eachSystem systems (
      system:
      let
        built = forPkgs nixpkgs.legacyPackages.${system};
      in
      {
        packages = {
          default = built.toolchain;
          toolchain = built.toolchain;
          rustc-expand-cache = built.backend;
        };
        devShells.default = built.devShell;
        inherit (built) checks;
      }
    )
    // {
      overlays = {
        default = import ./nix/overlays/default.nix overlayArgs;
        replace-rust = import ./nix/overlays/replace-rust.nix overlayArgs;
      };
      lib = {
        # craneLib for `pkgs` with the toolchain and the expansion cache carried
        # between steps: `(rustc-expand-cache.lib.mkCraneLib pkgs).buildDepsOnly { ... }`.
        mkCraneLib = pkgs: (forPkgs pkgs).craneLib;
        inherit (project)
          pin
          seriesNames
          seriesHash
          identityFor
          ;
      };
    };
}
