# shellHook of devShells.default (nix/lib/mkDevShell.nix).
# The cache lives where the compiler puts it by default, <cargo target dir>/expand-cache
# of whichever project cargo builds (`cargo clean` removes it): nothing is fixed to the
# directory the shell was entered from. Set RUSTC_EXPAND_CACHE_DIR to share one
# directory between projects; RUSTC_EXPAND_CACHE=off disables the cache.
echo "rustc-expand-cache: cache ${RUSTC_EXPAND_CACHE:-on} in ${RUSTC_EXPAND_CACHE_DIR:-<cargo target dir>/expand-cache} (RUSTC_EXPAND_CACHE=off to disable; \`rustc-expand-cache path\` in a project shows the directory)"
