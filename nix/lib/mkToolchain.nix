# The complete toolchain as one package: patched rustc (nixpkgs' wrapper with
# --sysroot pointing at the sysroot that holds the backend), std, cargo, clippy
# and rustfmt built against the patched driver, rust-src and rust-analyzer
# 1.95.0 from fenix, and the `rustc-expand-cache` CLI.
#
# Its setup hook turns the expansion cache off inside Nix builds unless the
# derivation sets RUSTC_EXPAND_CACHE itself (the crane helper and the dev shell do).
{
  lib,
  stdenvNoCC,
  makeWrapper,
  pin,
  hostTriple,
  rustc,
  cargo,
  clippy,
  rustfmt,
  rust-analyzer,
  backend,
  sysroot,
}:

stdenvNoCC.mkDerivation {
  pname = "rustc-expand-cache-toolchain";
  inherit (pin) version;

  nativeBuildInputs = [ makeWrapper ];
  buildCommandPath = ../hooks/assemble-toolchain.sh;

  # Tools whose bin/ is linked as is.
  linkedTools = [
    rustc
    cargo
    rustfmt
    rust-analyzer
    backend
  ];
  inherit clippy sysroot;
  backendPath = "${sysroot}/lib/rustlib/${hostTriple}/lib/librustc_expand_cache.so";
  sandboxHook = ../hooks/toolchain-setup-hook.sh;

  passthru =
    # What nixpkgs' makeRustPlatform and buildRustPackage read from a rustc.
    builtins.intersectAttrs (lib.genAttrs [
      "llvm"
      "llvmPackages"
      "src"
      "targetPlatforms"
      "targetPlatformsWithHostTools"
      "tier1TargetPlatforms"
      "badTargetPlatforms"
      "unwrapped"
    ] (_: null)) rustc
    // {
      inherit
        rustc
        cargo
        clippy
        rustfmt
        rust-analyzer
        backend
        sysroot
        hostTriple
        ;
      expandCacheIdentity = rustc.unwrapped.expandCacheIdentity;
    };

  meta = {
    description = "Rust ${pin.version} toolchain whose rustc caches proc-macro expansions (rustc-expand-cache)";
    mainProgram = "rustc";
    platforms = lib.platforms.linux;
  };
}
