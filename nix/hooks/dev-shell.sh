# shellHook of devShells.default (nix/lib/mkDevShell.nix).
# The cache lives where the compiler puts it by default, made explicit here:
# <cargo target dir>/expand-cache. Set RUSTC_EXPAND_CACHE_DIR before entering the
# shell to share one directory between projects; RUSTC_EXPAND_CACHE=off disables it.
export RUSTC_EXPAND_CACHE_DIR="${RUSTC_EXPAND_CACHE_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/expand-cache}"
mkdir -p "$(dirname "$RUSTC_EXPAND_CACHE_DIR")"
mkdir -p -m 700 "$RUSTC_EXPAND_CACHE_DIR"
echo "rustc-expand-cache: cache ${RUSTC_EXPAND_CACHE:-on} in $RUSTC_EXPAND_CACHE_DIR (RUSTC_EXPAND_CACHE=off to disable; see rustc-expand-cache --help)"
