# The one place where the pieces of nix/lib are wired together. flake.nix and
# the overlays call this; `root` is the repository (a copy of it in the tests).
{ lib, root }:

let
  toolchainDir = root + "/toolchain";
  patchesDir = toolchainDir + "/patches";

  pin = import ./lib/readPin.nix { inherit toolchainDir; };
  seriesNames = import ./lib/seriesNames.nix { inherit lib patchesDir; };
  seriesHash = import ./lib/seriesHash.nix {
    inherit lib patchesDir;
    names = seriesNames;
  };
  patches = map (name: patchesDir + "/${name}") seriesNames;

  # The identity of a nixpkgs build (build flavour: nixpkgs' patches, codegen backend).
  identityFor =
    {
      nixpkgsPatches,
      codegenBackend ? "llvm",
    }:
    import ./lib/compilerIdentity.nix {
      inherit pin seriesHash;
      flavour = import ./lib/buildFlavour.nix { inherit lib codegenBackend nixpkgsPatches; };
    };

  manifest = builtins.fromJSON (builtins.readFile ./data/rust-1.95.0-manifest.json);

  # Everything built for one package set.
  forPkgs =
    {
      pkgs,
      fenixPackages,
      craneLib,
    }:
    let
      hostTriple = pkgs.stdenv.hostPlatform.rust.rustcTarget;
      rustPackages = import ./lib/rustPackagesFor.nix { inherit lib pkgs pin; };
      patchedRustPackages = import ./lib/patchRustPackages.nix {
        inherit (pkgs) fetchurl;
        inherit rustPackages pin patches;
        identityFor = nixpkgsPatches: identityFor { inherit nixpkgsPatches; };
      };

      stockCraneLib = import ./lib/stockCraneLib.nix { inherit craneLib rustPackages; };
      # crane would take the version from the root Cargo.toml, a workspace without one.
      backendVersion = (lib.importTOML (root + "/cache-backend/Cargo.toml")).package.version;
      backendSrc = import ./lib/backendSource.nix {
        inherit lib root;
        craneLib = stockCraneLib;
      };
      backendDeps = import ./lib/backendDeps.nix {
        craneLib = stockCraneLib;
        src = backendSrc;
        version = backendVersion;
      };
      backend = import ./lib/mkBackend.nix {
        craneLib = stockCraneLib;
        src = backendSrc;
        cargoArtifacts = backendDeps;
        version = backendVersion;
      };

      fenixComponents = import ./lib/fenixComponents.nix { inherit fenixPackages manifest; };
      sysroot = import ./lib/mkSysroot.nix {
        inherit (pkgs) symlinkJoin;
        inherit (patchedRustPackages) rustc-unwrapped;
        backendLayer = import ./lib/backendInSysroot.nix {
          inherit (pkgs) linkFarm;
          inherit backend hostTriple;
        };
        rustSrc = fenixComponents.rust-src;
      };
      rustc = pkgs.wrapRustcWith {
        inherit (patchedRustPackages) rustc-unwrapped;
        inherit sysroot;
      };
      toolchain = import ./lib/mkToolchain.nix {
        inherit (pkgs) stdenvNoCC makeWrapper;
        inherit
          lib
          pin
          hostTriple
          rustc
          backend
          sysroot
          ;
        # cargo does not link the driver: nixpkgs' own.
        inherit (rustPackages) cargo;
        inherit (patchedRustPackages) clippy rustfmt;
        inherit (fenixComponents) rust-analyzer;
      };

      craneLibWithCache = import ./lib/mkCraneLib.nix {
        craneLib = stockCraneLib;
        inherit toolchain;
        withExpandCache = import ./lib/withExpandCache.nix {
          expandCacheHook = import ./lib/mkExpandCacheHook.nix {
            inherit (pkgs) makeSetupHook;
            inherit backend;
            exportName = "rustc-expand-cache.export";
          };
        };
      };
    in
    {
      inherit
        backend
        toolchain
        sysroot
        patchedRustPackages
        ;
      craneLib = craneLibWithCache;
      devShell = import ./lib/mkDevShell.nix {
        inherit (pkgs) mkShell;
        inherit toolchain;
      };
      checks = import ./checks {
        inherit (pkgs) stdenvNoCC makeSetupHook;
        inherit
          root
          stockCraneLib
          backendSrc
          backendDeps
          backendVersion
          toolchain
          ;
        craneLib = craneLibWithCache;
      };
    };
in
{
  inherit
    pin
    seriesNames
    seriesHash
    patches
    identityFor
    forPkgs
    ;
}
