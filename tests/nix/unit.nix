# Unit tests of the flake's logic, on the stub inputs (tests/nix/stubs).
# tests/nix/run evaluates this file with
#   nix eval --impure --json --file tests/nix/unit.nix
# after exporting (see run):
#   REC_NIX_ROOT            copy of the repository under test
#   REC_NIX_ROOT_PATCHED    same, with one patch file of the series changed
#   REC_NIX_ROOT_BACKEND    same, with a backend source file changed
#   REC_PY_SERIES_HASH      toolchain/build.py series_hash()
#   REC_PY_IDENTITY         python3 toolchain/build.py identity
#   REC_PY_TARBALL_URL, REC_PY_TARBALL_SHA256   [upstream] of toolchain/pin.toml (tomllib)
# Each attribute is one test: `true`, or a string saying what is wrong.
let
  env = builtins.getEnv;
  stubs = ./stubs;
  system = "x86_64-linux";
  triple = "x86_64-unknown-linux-gnu";

  nixpkgs = (import (stubs + "/nixpkgs/flake.nix")).outputs { self = nixpkgs; };
  crane = (import (stubs + "/crane/flake.nix")).outputs { self = crane; };
  fenix = (import (stubs + "/fenix/flake.nix")).outputs {
    self = fenix;
    inherit nixpkgs;
  };
  flake-utils = (import (stubs + "/flake-utils/flake.nix")).outputs { self = flake-utils; };

  flakeAt =
    root:
    let
      self = (import (root + "/flake.nix")).outputs {
        inherit
          self
          nixpkgs
          crane
          fenix
          flake-utils
          ;
      };
    in
    self;

  main = flakeAt (/. + env "REC_NIX_ROOT");
  patched = flakeAt (/. + env "REC_NIX_ROOT_PATCHED");
  backendChanged = flakeAt (/. + env "REC_NIX_ROOT_BACKEND");

  pkgs = nixpkgs.legacyPackages.${system};
  toolchain = main.packages.${system}.default;
  rustc-unwrapped = toolchain.rustc.unwrapped;

  # check: true, or the message
  check = cond: msg: if cond then true else msg;
  same = a: b: what: check (a == b) "${what}: ${builtins.toJSON a} != ${builtins.toJSON b}";
  drv = d: d.drvPath;
  hasDrv = list: d: builtins.any (x: x ? drvPath && x.drvPath == d.drvPath) list;
  startsWith =
    prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;

  pyIdentity = env "REC_PY_IDENTITY";
  # rec<format>-<commit12>-<series16>- : the part both builds share (the flavour differs).
  pyPrefix = builtins.head (builtins.match "(rec[0-9]+-[0-9a-f]{12}-[0-9a-f]{16}-).*" pyIdentity);

  withDefault = pkgs.extend main.overlays.default;
  withReplace = withDefault.extend main.overlays.replace-rust;
  replaceOnly = pkgs.extend main.overlays.replace-rust;

  cl = main.lib.mkCraneLib pkgs;
  fixtureSrc = /. + env "REC_NIX_ROOT" + "/tests/fixtures/serde-app";
  deps = cl.buildDepsOnly { src = fixtureSrc; };
  clippy = cl.cargoClippy {
    src = fixtureSrc;
    cargoArtifacts = deps;
  };
  test = cl.cargoTest {
    src = fixtureSrc;
    cargoArtifacts = clippy;
  };
  build = cl.buildPackage {
    src = fixtureSrc;
    cargoArtifacts = test;
  };
  buildImplicitDeps = cl.buildPackage { src = fixtureSrc; };
  readOnly = cl.buildDepsOnly {
    src = fixtureSrc;
    RUSTC_EXPAND_CACHE = "read-only";
  };
  offInEnv = cl.buildDepsOnly {
    src = fixtureSrc;
    env.RUSTC_EXPAND_CACHE = "off";
  };
  isCacheHook = x: x ? name && x.name == "rustc-expand-cache-crane-hook";
  carries =
    d: what:
    check (
      d.RUSTC_EXPAND_CACHE == "on"
      && builtins.any isCacheHook d.nativeBuildInputs
      && hasDrv d.nativeBuildInputs toolchain
    ) "${what}: cache not on, hook or toolchain missing";
in
{
  series-hash-matches-build-py = same main.lib.seriesHash (env "REC_PY_SERIES_HASH") "series hash";

  identity-prefix-matches-build-py =
    check (startsWith pyPrefix toolchain.expandCacheIdentity)
      "identity ${toolchain.expandCacheIdentity} does not start with ${pyPrefix} (from build.py ${pyIdentity})";

  identity-flavour-is-nixpkgs-llvm =
    check (builtins.match "rec[0-9]+-[0-9a-f]{12}-[0-9a-f]{16}-nixpkgs-llvm-[0-9a-f]{8}" toolchain.expandCacheIdentity != null)
      "unexpected identity ${toolchain.expandCacheIdentity}";

  identity-baked-into-rustc-build =
    same (rustc-unwrapped.env.RUSTC_EXPAND_CACHE_IDENTITY or null) toolchain.expandCacheIdentity
      "RUSTC_EXPAND_CACHE_IDENTITY of rustc-unwrapped";

  identity-changes-when-a-patch-changes =
    check (
      patched.packages.${system}.default.expandCacheIdentity != toolchain.expandCacheIdentity
      && patched.lib.seriesHash != main.lib.seriesHash
      && drv patched.packages.${system}.default.rustc.unwrapped != drv rustc-unwrapped
    ) "changing a patch file changed neither the identity nor the compiler";

  backend-change-does-not-rebuild-rustc =
    check (
      drv backendChanged.packages.${system}.default.rustc.unwrapped == drv rustc-unwrapped
      && drv backendChanged.packages.${system}.rustc-expand-cache != drv main.packages.${system}.rustc-expand-cache
      && drv backendChanged.packages.${system}.default != drv toolchain
    ) "a backend change must rebuild the backend and the toolchain, not rustc-unwrapped";

  patches-applied-after-nixpkgs-in-series-order =
    same (map baseNameOf rustc-unwrapped.patches) (
      [ "nixpkgs-rustc.patch" ] ++ main.lib.seriesNames
    ) "patches of rustc-unwrapped";

  tarball-is-the-pinned-one =
    check (
      rustc-unwrapped.src.outputHash == env "REC_PY_TARBALL_SHA256"
      && rustc-unwrapped.src.url == env "REC_PY_TARBALL_URL"
      && main.lib.pin.upstream.sha256 == env "REC_PY_TARBALL_SHA256"
    ) "tarball of rustc-unwrapped (${rustc-unwrapped.src.url} ${rustc-unwrapped.src.outputHash}) is not toolchain/pin.toml's";

  # nixpkgs' rustc.nix runs its own vendoring (`mkdir .cargo`, which fails on the
  # tarball's) unless `src.passthru.isReleaseTarball`.
  tarball-is-marked-as-a-release-tarball =
    check (rustc-unwrapped.src.passthru.isReleaseTarball or false)
      "rustc-unwrapped.src lacks passthru.isReleaseTarball: nixpkgs would vendor over the tarball's .cargo";

  clippy-and-rustfmt-build-with-the-cache-off =
    check (
      toolchain.clippy.RUSTC_EXPAND_CACHE or null == "off" && toolchain.rustfmt.RUSTC_EXPAND_CACHE or null == "off"
    ) "clippy or rustfmt is built by the backend-less patched compiler with the cache on";

  clippy-and-rustfmt-link-the-patched-driver =
    check (
      drv toolchain.clippy.builtWith.unwrapped == drv rustc-unwrapped
      && drv toolchain.clippy.rustc.unwrapped == drv rustc-unwrapped
      && drv toolchain.rustfmt.builtWith.unwrapped == drv rustc-unwrapped
      && drv rustc-unwrapped != drv pkgs.rustPackages_1_95.rustc-unwrapped
    ) "clippy/rustfmt are not built against the patched rustc";

  cargo-is-nixpkgs-own = same (drv toolchain.cargo) (drv pkgs.rustPackages_1_95.cargo) "cargo";

  rustc-runs-with-the-sysroot-holding-the-backend =
    check (
      toolchain.rustc.sysrootFlag == "--sysroot ${toolchain.sysroot}"
      && builtins.any (
        p:
        p ? entries
        && p.entries == [
          "lib/rustlib/${triple}/lib/librustc_expand_cache.so=${main.packages.${system}.rustc-expand-cache}/lib/librustc_expand_cache.so"
        ]
      ) toolchain.sysroot.paths
      && hasDrv toolchain.sysroot.paths rustc-unwrapped
    ) "the sysroot does not hold the backend at lib/rustlib/<host>/lib";

  fenix-components-are-1-95-0 =
    check (
      builtins.match ".*/rust-analyzer-1\\.95\\.0-${triple}\\.tar\\.gz" toolchain.rust-analyzer.src.url != null
      && builtins.match ".*/rust-src-1\\.95\\.0\\.tar\\.gz" (builtins.head (builtins.filter (p: p ? pname && p.pname == "rust-src") toolchain.sysroot.paths)).src.url != null
    ) "rust-analyzer/rust-src are not the 1.95.0 components";

  # What the hooks do is tested by tests/nix/hook-test.sh; here: that they are wired in.
  toolchain-setup-hook-and-dev-shell-are-wired =
    check (
      baseNameOf toolchain.sandboxHook == "toolchain-setup-hook.sh"
      && main.devShells.${system}.default.RUSTC_EXPAND_CACHE == "on"
      && hasDrv main.devShells.${system}.default.packages toolchain
    ) "setup hook or dev shell settings missing";

  overlay-default-adds-without-replacing =
    check (
      drv withDefault.rustc == drv pkgs.rustc
      && drv withDefault.cargo == drv pkgs.cargo
      && drv withDefault.rustPlatform.rust.rustc == drv pkgs.rustPlatform.rust.rustc
      && drv withDefault.rustc-expand-cache-toolchain == drv toolchain
      && drv withDefault.rustc-expand-cache == drv main.packages.${system}.rustc-expand-cache
    ) "overlays.default replaced rustc/cargo/rustPlatform or lacks the toolchain";

  overlay-replace-rust-replaces-when-asked =
    check (
      drv withReplace.rustc == drv toolchain
      && drv withReplace.cargo == drv toolchain
      && drv withReplace.rustPlatform.rust.rustc == drv toolchain
      && drv withReplace.rustPlatform.rust.cargo == drv toolchain
      && drv replaceOnly.rustc == drv toolchain
    ) "overlays.replace-rust did not replace rustc/cargo/rustPlatform";

  overlay-default-exposes-the-rust-scope-and-crane-lib =
    check (
      drv withDefault.rustc-expand-cache-rust-packages.rustc-unwrapped == drv rustc-unwrapped
      && hasDrv (withDefault.rustc-expand-cache-crane-lib.buildDepsOnly { src = fixtureSrc; }).nativeBuildInputs toolchain
    ) "overlays.default: rustc-expand-cache-rust-packages is not the patched scope, or rustc-expand-cache-crane-lib does not build with the toolchain";

  # crane builds crane-utils with the rustPlatform of the final package set; replaced,
  # that would be the toolchain, whose backend crane builds: a cycle.
  overlay-replace-rust-builds-crane-utils-stock =
    check (
      hasDrv withReplace.rustc-expand-cache-crane-lib.craneUtils.nativeBuildInputs pkgs.rustPackages_1_95.rustc
      && !(hasDrv withReplace.rustc-expand-cache-crane-lib.craneUtils.nativeBuildInputs toolchain)
    ) "crane-utils under overlays.replace-rust is not built with the stock compiler";

  overlay-replace-rust-keeps-cargo-auditable-stock =
    same (drv withReplace.cargo-auditable.builtWith) (drv pkgs.rustPackages_1_95.rustc) "compiler of cargo-auditable";

  crane-helper-deps-carry-the-cache = carries deps "buildDepsOnly";
  crane-helper-clippy-carries-the-cache =
    check ((carries clippy "cargoClippy") == true && drv clippy.cargoArtifacts == drv deps && hasDrv clippy.nativeBuildInputs toolchain)
      "cargoClippy does not get the toolchain, the cache or the deps artifacts";
  crane-helper-test-carries-the-cache =
    check ((carries test "cargoTest") == true && drv test.cargoArtifacts == drv clippy) "cargoTest does not carry the cache";
  crane-helper-build-carries-the-cache =
    check ((carries build "buildPackage") == true && drv build.cargoArtifacts == drv test) "buildPackage does not carry the cache";
  crane-helper-implicit-deps-export =
    check (startsWith "rustcExpandCacheExport\n" buildImplicitDeps.cargoArtifacts.installPhase)
      "buildPackage's own deps step does not export the cache";
  crane-helper-respects-caller-setting = same readOnly.RUSTC_EXPAND_CACHE "read-only" "RUSTC_EXPAND_CACHE set by the caller";
  crane-helper-respects-caller-setting-in-env =
    # Forcing drvPath runs the stub's overlap check, as nixpkgs' mkDerivation does.
    check (builtins.isString offInEnv.drvPath && offInEnv.RUSTC_EXPAND_CACHE == "off")
      "env.RUSTC_EXPAND_CACHE set by the caller is overridden";
  crane-helper-hook-calls-the-backend-cli =
    same (builtins.head (builtins.filter isCacheHook deps.nativeBuildInputs)).passthru.substitutions.cli
      "${main.packages.${system}.rustc-expand-cache}/bin/rustc-expand-cache" "CLI of the crane hook";

  backend-source-has-cargo-files-and-the-c-header =
    let
      src = main.packages.${system}.rustc-expand-cache.src;
    in
    check (
      builtins.pathExists (src + "/cache-backend/include/rustc_expand_cache.h")
      && builtins.pathExists (src + "/cache-backend/src/lib.rs")
      && builtins.pathExists (src + "/cache-backend/tests/c_header.rs")
      && builtins.pathExists (src + "/tests/e2e/Cargo.toml")
      && builtins.pathExists (src + "/tests/e2e/tests/expand_cache.rs")
      && builtins.pathExists (src + "/Cargo.toml")
      && builtins.pathExists (src + "/Cargo.lock")
      && !builtins.pathExists (src + "/flake.nix")
      && !builtins.pathExists (src + "/bench")
      && !builtins.pathExists (src + "/toolchain")
      && !builtins.pathExists (src + "/tests/fixtures")
      && !builtins.pathExists (src + "/tests/nix")
    ) "backend source ${src} lacks workspace files or the C header, or has unrelated files";

  outputs-only-for-linux-systems =
    same (builtins.attrNames main.packages) [ "aarch64-linux" "x86_64-linux" ] "systems of packages";
}
