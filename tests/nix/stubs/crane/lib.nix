{ pkgs }:

let
  extends = overlay: f: final: let prev = f final; in prev // overlay final prev;
  makeScope =
    f:
    let
      self = f self // {
        overrideScope = g: makeScope (extends g f);
      };
    in
    self;

  scope = self: {
    inherit (pkgs) cargo clippy rustc rustfmt;

    overrideToolchain =
      toolchainOrFn:
      let
        toolchain = if builtins.isFunction toolchainOrFn then toolchainOrFn pkgs else toolchainOrFn;
      in
      self.overrideScope (
        _final: _prev: {
          cargo = toolchain;
          clippy = toolchain;
          rustc = toolchain;
          rustfmt = toolchain;
        }
      );

    filterCargoSources =
      path: type:
      let
        base = baseNameOf (toString path);
        hasSuffix = suffix: builtins.match ".*${builtins.replaceStrings [ "." ] [ "\\." ] suffix}" base != null;
      in
      type == "directory" || hasSuffix ".rs" || hasSuffix ".toml" || base == "Cargo.lock";

    # crane's TOML writer, which mkDummySrc runs for every buildDepsOnly: built with
    # the rustPlatform its callPackage finds in the final package set.
    craneUtils = pkgs.callPackage (
      { rustPlatform }:
      rustPlatform.buildRustPackage {
        pname = "crane-utils";
        version = "0.0.1";
      }
    ) { };

    mkDummySrc =
      { src }:
      pkgs.stdenv.mkDerivation {
        pname = "dummy-src";
        version = "0.0.1";
        inherit src;
        nativeBuildInputs = [ self.craneUtils ];
      };

    cleanCargoSource =
      src:
      builtins.path {
        path = src;
        name = "source";
      };

    mkCargoDerivation =
      {
        cargoArtifacts,
        buildPhaseCargoCommand,
        ...
      }@args:
      pkgs.stdenv.mkDerivation (
        builtins.removeAttrs args [ "pnameSuffix" ]
        // {
          pname = "${args.pname or "crate"}${args.pnameSuffix or ""}";
          version = args.version or "0.1.0";
          nativeBuildInputs = (args.nativeBuildInputs or [ ]) ++ [
            self.cargo
            self.rustc
          ];
          crane = true;
        }
      );

    buildDepsOnly =
      { src, ... }@args:
      self.mkCargoDerivation (
        args
        // {
          cargoArtifacts = null;
          dummySrc = self.mkDummySrc { inherit src; };
          pnameSuffix = "-deps";
          buildPhaseCargoCommand = "cargoWithProfile check; cargoWithProfile build";
        }
      );

    buildPackage =
      { src, ... }@args:
      self.mkCargoDerivation (
        args
        // {
          cargoArtifacts =
            args.cargoArtifacts or (self.buildDepsOnly (
              args // { installPhase = "prepareAndInstallCargoArtifactsDir"; }
            ));
          buildPhaseCargoCommand = "cargoWithProfile build";
        }
      );

    cargoTest =
      { cargoArtifacts, ... }@args:
      self.mkCargoDerivation (
        args
        // {
          pnameSuffix = "-test";
          buildPhaseCargoCommand = "";
          checkPhaseCargoCommand = "cargoWithProfile test";
        }
      );

    cargoClippy =
      { cargoArtifacts, ... }@args:
      self.mkCargoDerivation (
        args
        // {
          pnameSuffix = "-clippy";
          buildPhaseCargoCommand = "cargoWithProfile clippy";
          nativeBuildInputs = (args.nativeBuildInputs or [ ]) ++ [ self.clippy ];
        }
      );
  };
in
makeScope scope
