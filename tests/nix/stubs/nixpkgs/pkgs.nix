# Stub package set: the builders and packages the flake uses. Every derivation
# is a real `derivation` (so drvPath, fixed-output hashes and string contexts
# are checked) with builder /bin/false; nothing is ever built.
{ system, overlays }:

let
  internal = import ./internal.nix;
  inherit (internal) fix extends makeScope;
  triples = {
    x86_64-linux = "x86_64-unknown-linux-gnu";
    aarch64-linux = "aarch64-unknown-linux-gnu";
    x86_64-darwin = "x86_64-apple-darwin";
    aarch64-darwin = "aarch64-apple-darwin";
  };
  platform = {
    inherit system;
    rust.rustcTarget = triples.${system};
  };

  # Derivation attributes must be strings, paths, numbers, bools, lists or
  # derivations; other values (functions, plain sets) are kept out of the env.
  envValue =
    v:
    if builtins.isFunction v then
      null
    else if builtins.isAttrs v then
      (if v ? outPath then v else builtins.toJSON (builtins.mapAttrs (_: envValue) v))
    else if builtins.isList v then
      builtins.filter (x: x != null) (map envValue v)
    else
      v;

  mkDerivation =
    attrs:
    let
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      passthru = attrs.passthru or { };
      env = builtins.removeAttrs attrs [
        "passthru"
        "meta"
        "env"
      ] // (attrs.env or { });
      drv = derivation (
        builtins.mapAttrs (_: envValue) env
        // {
          inherit name system;
          builder = "/bin/false";
        }
      );
      # nixpkgs refuses a variable given both in `env` and as an attribute.
      overlapping = builtins.filter (n: attrs ? ${n}) (builtins.attrNames (attrs.env or { }));
    in
    if overlapping != [ ] then
      throw "mkDerivation ${name}: env attributes overlapping attributes: ${toString overlapping}"
    else
    attrs
    // passthru
    // drv
    // {
      meta = attrs.meta or { };
      inherit passthru;
      overrideAttrs = f: mkDerivation (attrs // f attrs);
    };

  base =
    final:
    let
      stdenv = {
        hostPlatform = platform;
        buildPlatform = platform;
        inherit mkDerivation;
      };
      fetchurl =
        {
          url,
          sha256,
          passthru ? { },
        }:
        derivation {
          name = baseNameOf url;
          inherit system url;
          builder = "/bin/false";
          outputHashMode = "flat";
          outputHashAlgo = "sha256";
          outputHash = sha256;
        }
        // passthru
        // {
          outputHash = sha256;
          inherit url passthru;
        };

      mkCargoAuditable =
        args:
        mkDerivation {
          pname = "cargo-auditable";
          version = "0.6.5";
          builtWith = (args.buildPackages or final.buildPackages).rustc;
        }
        // {
          override = more: mkCargoAuditable (args // more);
        };

      makeRustPlatform =
        { rustc, cargo }:
        {
          rust = { inherit rustc cargo; };
          buildRustPackage =
            args:
            mkDerivation (
              args
              // {
                nativeBuildInputs = (args.nativeBuildInputs or [ ]) ++ [
                  rustc
                  cargo
                ];
              }
            );
        };

      wrapRustcWith =
        {
          rustc-unwrapped,
          sysroot ? null,
        }:
        mkDerivation {
          pname = "rustc-wrapper";
          inherit (rustc-unwrapped) version;
          sysrootFlag = if sysroot == null then "" else "--sysroot ${sysroot}";
          passthru = {
            inherit (rustc-unwrapped)
              src
              llvm
              targetPlatforms
              badTargetPlatforms
              ;
            unwrapped = rustc-unwrapped;
          };
        };

      # nixpkgs' pkgs/development/compilers/rust/default.nix, reduced: the
      # tools are built with `self.buildRustPackages`, which is the pkgs-level
      # (unpatched) scope unless overridden.
      rustScope =
        self:
        {
          buildRustPackages = final.rustPackages_1_95;
          rustPlatform = makeRustPlatform { inherit (self.buildRustPackages) rustc cargo; };
          rustc-unwrapped = mkDerivation {
            pname = "rustc";
            version = "1.95.0";
            src = fetchurl {
              url = "https://static.rust-lang.org/dist/rustc-1.95.0-src.tar.gz";
              sha256 = "sha256-6puCqD5GlnU3w1ac6db6FoEcBDqW5lE3bDSecCQcpRU=";
            };
            patches = [ ./nixpkgs-rustc.patch ];
            passthru = {
              llvm = mkDerivation { pname = "llvm"; version = "21"; };
              targetPlatforms = [ system ];
              badTargetPlatforms = [ ];
            };
          };
          rustc = wrapRustcWith { inherit (self) rustc-unwrapped; };
          cargo = mkDerivation {
            pname = "cargo";
            version = "1.95.0";
            auditable = final.cargo-auditable;
          };
          clippy = mkDerivation {
            pname = "clippy";
            version = "1.95.0";
            rustc = self.rustc;
            builtWith = self.rustPlatform.rust.rustc;
          };
          rustfmt = mkDerivation {
            pname = "rustfmt";
            version = "1.95.0";
            builtWith = self.buildRustPackages.rustc;
          };
        };
    in
    {
      lib = import ./lib.nix;
      inherit
        stdenv
        fetchurl
        makeRustPlatform
        wrapRustcWith
        ;
      buildPackages = final;
      # Like nixpkgs' (and so crane's, through newScope): arguments come from the final
      # package set, whichever layer of overlays the caller holds.
      callPackage =
        fn: args:
        fn (builtins.intersectAttrs (builtins.functionArgs fn) final // args)
        // {
          override = more: final.callPackage fn (args // more);
        };
      stdenvNoCC = stdenv;
      makeWrapper = mkDerivation { name = "make-wrapper-hook"; };
      symlinkJoin =
        { name, paths, ... }@args:
        mkDerivation (args // { inherit name paths; });
      linkFarm =
        name: entries:
        mkDerivation {
          inherit name;
          entries = map (e: "${e.name}=${e.path}") entries;
        };
      makeSetupHook =
        {
          name,
          substitutions ? { },
          propagatedBuildInputs ? [ ],
        }:
        script:
        mkDerivation {
          inherit name script propagatedBuildInputs;
          substitutions = builtins.attrValues (builtins.mapAttrs (k: v: "${k}=${v}") substitutions);
          passthru.substitutions = substitutions;
        };
      mkShell =
        { packages ? [ ], ... }@args:
        mkDerivation (args // { name = args.name or "nix-shell"; inherit packages; });
      rustPackages_1_95 = makeScope rustScope;
      cargo-auditable = mkCargoAuditable { };
      inherit (final.rustPackages_1_95) rustc cargo clippy rustfmt rustPlatform;
      extend = overlay: import ./pkgs.nix {
        inherit system;
        overlays = overlays ++ [ overlay ];
      };
    };
in
fix (builtins.foldl' (f: overlay: extends overlay f) base overlays)
