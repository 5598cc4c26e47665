# Setup hook of the crane helper (nix/lib/mkCraneLib.nix): carries the
# proc-macro expansion cache from one crane step to the next.
#
# The live store (LMDB, not reproducible) stays outside the target directory;
# what travels in the cargo artifacts is the CLI's deterministic export,
# <cargo target dir>/@exportName@.

rustcExpandCacheImport() {
    export RUSTC_EXPAND_CACHE_DIR="${RUSTC_EXPAND_CACHE_DIR:-$NIX_BUILD_TOP/rustc-expand-cache}"
    local dump="${CARGO_TARGET_DIR:-target}/@exportName@"
    case "${RUSTC_EXPAND_CACHE-}" in
        off | 0 | false) return 0 ;;
    esac
    if [ -f "$dump" ]; then
        echo "rustc-expand-cache: importing $dump into $RUSTC_EXPAND_CACHE_DIR"
        @cli@ --dir "$RUSTC_EXPAND_CACHE_DIR" import "$dump"
    fi
}

rustcExpandCacheExport() {
    local dump="${CARGO_TARGET_DIR:-target}/@exportName@"
    case "${RUSTC_EXPAND_CACHE-}" in
        off | 0 | false | read-only) return 0 ;;
    esac
    # data.mdb: the store exists (nothing ran through the cache otherwise).
    if [ -f "${RUSTC_EXPAND_CACHE_DIR-}/data.mdb" ]; then
        echo "rustc-expand-cache: exporting $RUSTC_EXPAND_CACHE_DIR to $dump"
        mkdir -p "$(dirname "$dump")"
        rm -f "$dump"
        @cli@ --dir "$RUSTC_EXPAND_CACHE_DIR" export --output "$dump"
    fi
}

preConfigureHooks+=(rustcExpandCacheImport)
preInstallHooks+=(rustcExpandCacheExport)
