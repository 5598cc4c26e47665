# nixpkgs' Rust package scope (e.g. pkgs.rustPackages_1_95) with the compiler
# patched: rustc-unwrapped is built from the pinned upstream tarball with the
# patch series on top of nixpkgs' own patches, and the identity baked in through
# RUSTC_EXPAND_CACHE_IDENTITY (read with option_env! while rustc_interface compiles).
#
# Everything in the scope that links librustc_driver (clippy, rustfmt) is rebuilt
# against the patched compiler: the scope builds its tools with
# `buildRustPackages`, which for a native build is the scope itself, so it is
# pointed at the overridden scope. Cross builds are not supported.
{
  fetchurl,
  rustPackages,
  pin,
  patches,
  # nixpkgs patches -> identity string (the flavour depends on them)
  identityFor,
}:

let
  # The patched compiler of this scope has no backend in its sysroot (the toolchain's
  # has): the tools it builds keep the cache off rather than warn in every crate.
  withCacheOff =
    drv:
    drv.overrideAttrs (old: {
      env = (old.env or { }) // {
        RUSTC_EXPAND_CACHE = "off";
      };
    });
in
rustPackages.overrideScope (
  final: prev: {
    buildRustPackages = final;
    clippy = withCacheOff prev.clippy;
    rustfmt = withCacheOff prev.rustfmt;
    rustc-unwrapped = prev.rustc-unwrapped.overrideAttrs (
      old:
      let
        identity = identityFor (old.patches or [ ]);
      in
      {
        src = fetchurl {
          inherit (pin.upstream) url sha256;
          # nixpkgs' rustc reads this: a release tarball brings its own .cargo/config.toml
          # (vendored crates), anything else gets nixpkgs' vendoring in postPatch, which
          # fails on the tarball's existing .cargo.
          passthru.isReleaseTarball = true;
        };
        patches = (old.patches or [ ]) ++ patches;
        env = (old.env or { }) // {
          RUSTC_EXPAND_CACHE_IDENTITY = identity;
        };
        passthru = (old.passthru or { }) // {
          expandCacheIdentity = identity;
        };
      }
    );
  }
)
