# Setup hook of the fixture checks (nix/checks): the two cargo runs each check makes.
# Inputs (from Nix): fixtureCrate (crate name as in reports), fixtureSource (a file
# touched to make cargo recompile the crate), fixtureRlib (path under the target dir).

rustcExpandCacheRecompile() {
    touch "$fixtureSource"
}

# checks.<system>.fixture-cache-hits: the second check of the same crate is all hits.
rustcExpandCacheCheckTwice() {
    local report="$NIX_BUILD_TOP/expand-cache-report"
    RUSTC_EXPAND_CACHE=on cargoWithProfile check --locked
    rustcExpandCacheRecompile
    RUSTC_EXPAND_CACHE=on RUSTC_EXPAND_CACHE_REPORT="$report" cargoWithProfile check --locked
    local line
    line=$(grep "^crate=$fixtureCrate " "$report" | tail -n 1)
    echo "second check: $line"
    case "$line" in
        "" | *" hits=0 "* | *" misses="[1-9]*)
            echo "expected every expansion of $fixtureCrate to hit the cache" >&2
            return 1
            ;;
    esac
}

# checks.<system>.fixture-same-output: the compiled crate is byte-identical with the
# cache off, on and missing, and on and hitting.
rustcExpandCacheCompareOutputs() {
    local rlib="${CARGO_TARGET_DIR:-target}/$fixtureRlib"
    RUSTC_EXPAND_CACHE=off cargoWithProfile build --locked
    cp "$rlib" "$NIX_BUILD_TOP/off.rlib"
    rustcExpandCacheRecompile
    RUSTC_EXPAND_CACHE=on cargoWithProfile build --locked
    cp "$rlib" "$NIX_BUILD_TOP/miss.rlib"
    rustcExpandCacheRecompile
    RUSTC_EXPAND_CACHE=on cargoWithProfile build --locked
    cmp "$NIX_BUILD_TOP/off.rlib" "$NIX_BUILD_TOP/miss.rlib"
    cmp "$NIX_BUILD_TOP/off.rlib" "$rlib"
    echo "$fixtureRlib identical with the cache off, missing and hitting"
}
