# Setup hook of the crane helper (nix/lib/mkCraneLib.nix): carries the
# proc-macro expansion cache from one crane step to the next.
#
# The live store (LMDB, not reproducible) stays outside the target directory;
# what travels in the cargo artifacts is the CLI's deterministic export,
# <cargo target dir>/@exportName@.

rustcExpandCacheImport() {
    export RUSTC_EXPAND_CACHE_DIR="${RUSTC_EXPAND_CACHE_DIR:-$NIX_BUILD_TOP/rustc-expand-cache}"
    local dump="${CARGO_TARGET_DIR:-target}/@exportName@"
    if [ "${RUSTC_EXPAND_CACHE-}" != off ] && [ -f "$dump" ]; then
        echo "rustc-expand-cache: importing $dump into $RUSTC_EXPAND_CACHE_DIR"
        @cli@ import --dir "$RUSTC_EXPAND_CACHE_DIR" "$dump"
    fi
}

rustcExpandCacheExport() {
    local dump="${CARGO_TARGET_DIR:-target}/@exportName@"
    case "${RUSTC_EXPAND_CACHE-}" in
        off | 0 | false | read-only) return 0 ;;
    esac
    if [ -d "${RUSTC_EXPAND_CACHE_DIR-}" ]; then
        echo "rustc-expand-cache: exporting $RUSTC_EXPAND_CACHE_DIR to $dump"
        mkdir -p "$(dirname "$dump")"
        rm -f "$dump"
        @cli@ export --dir "$RUSTC_EXPAND_CACHE_DIR" --output "$dump"
    fi
}

preConfigureHooks+=(rustcExpandCacheImport)
preInstallHooks+=(rustcExpandCacheExport)
