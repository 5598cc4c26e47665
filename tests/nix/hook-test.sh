#!/usr/bin/env bash
# Runs the crane helper's setup hook (nix/hooks/crane-expand-cache.sh) the way
# stdenv and crane would, across two steps, against a built backend: the cache
# travels through the target directory in export form, the export is
# byte-identical after a round trip, and nothing is imported with the cache off.
# Then the toolchain's setup hook and the dev shell's hook, and, with REC_TOOLCHAIN
# set to a built toolchain, the fixture checks' commands (nix/hooks/fixture-checks.sh).
#   tests/nix/hook-test.sh DIR_WITH_CLI_AND_LIB
# Prints PASS/FAIL lines (tests/nix/run counts them).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s|@cli@|$bin/rustc-expand-cache|g" -e "s|@exportName@|rustc-expand-cache.export|g" \
    "$here/../../nix/hooks/crane-expand-cache.sh" >"$work/hook.sh"

# One crane step: fresh build dir, inherited target dir, the hook's two functions.
step() {
    local top=$1 artifacts=$2 setting=$3
    (
        mkdir -p "$top/target"
        cd "$top"
        NIX_BUILD_TOP=$top
        RUSTC_EXPAND_CACHE=$setting
        preConfigureHooks=()
        preInstallHooks=()
        # shellcheck disable=SC1091
        source "$work/hook.sh"
        [ -n "$artifacts" ] && cp -r "$artifacts/." target/
        for h in "${preConfigureHooks[@]}"; do "$h" >/dev/null; done
        echo "$RUSTC_EXPAND_CACHE_DIR" >"$top/cache-dir"
        [ -n "${FILL-}" ] && python3 "$here/make_store.py" "$bin/librustc_expand_cache.so" "$RUSTC_EXPAND_CACHE_DIR" rec1-test 3
        for h in "${preInstallHooks[@]}"; do "$h" >/dev/null; done
    )
}

report() { if [ "$2" = 0 ]; then echo "PASS hook-$1"; else echo "FAIL hook-$1"; fi; }

FILL=1 step "$work/deps" "" on
test -s "$work/deps/target/rustc-expand-cache.export"
report deps-step-exports-into-target $?
case "$(cat "$work/deps/cache-dir")" in
    "$work/deps/target"*) report live-store-outside-target 1 ;;
    *) report live-store-outside-target 0 ;;
esac

step "$work/clippy" "$work/deps/target" on
cmp -s "$work/deps/target/rustc-expand-cache.export" "$work/clippy/target/rustc-expand-cache.export"
report next-step-imports-and-reexports-identically $?
test -f "$(cat "$work/clippy/cache-dir")/data.mdb"
report next-step-has-the-entries-in-its-store $?

step "$work/off" "$work/deps/target" off
test ! -e "$(cat "$work/off/cache-dir")/data.mdb"
report off-imports-nothing $?
cmp -s "$work/deps/target/rustc-expand-cache.export" "$work/off/target/rustc-expand-cache.export"
report off-keeps-the-inherited-export $?

# The toolchain's setup hook: in a Nix build the cache is off unless the derivation
# set RUSTC_EXPAND_CACHE.
hooks=$here/../../nix/hooks
(
    unset RUSTC_EXPAND_CACHE
    # shellcheck disable=SC1091
    source "$hooks/toolchain-setup-hook.sh"
    [ "$RUSTC_EXPAND_CACHE" = off ]
)
report setup-hook-turns-the-cache-off $?
(
    RUSTC_EXPAND_CACHE=read-only
    # shellcheck disable=SC1091
    source "$hooks/toolchain-setup-hook.sh"
    [ "$RUSTC_EXPAND_CACHE" = read-only ]
)
report setup-hook-keeps-the-derivation-setting $?

# The dev shell's hook fixes no cache directory: entered anywhere, the compiler's
# default (each project's target dir) applies, and nothing is created.
mkdir -p "$work/shell/project/sub"
(
    cd "$work/shell/project/sub" || exit 1
    unset RUSTC_EXPAND_CACHE_DIR CARGO_TARGET_DIR
    # shellcheck disable=SC1091
    source "$hooks/dev-shell.sh" >"$work/shell/said"
    [ -z "${RUSTC_EXPAND_CACHE_DIR+set}" ] && [ -z "$(ls -A "$work/shell/project/sub")" ] && grep -q "<cargo target dir>/expand-cache" "$work/shell/said"
)
report dev-shell-keeps-the-compiler-default $?
(
    RUSTC_EXPAND_CACHE_DIR=$work/shared
    # shellcheck disable=SC1091
    source "$hooks/dev-shell.sh" >"$work/shell/said-shared"
    [ "$RUSTC_EXPAND_CACHE_DIR" = "$work/shared" ] && grep -qF "$work/shared" "$work/shell/said-shared"
)
report dev-shell-names-a-shared-dir $?

# The fixture checks' commands (nix/hooks/fixture-checks.sh), with cargo standing in
# for crane's cargoWithProfile, against a built toolchain (REC_TOOLCHAIN; tests/run
# sets it). They must pass with the cache working and fail without a backend.
if [ -n "${REC_TOOLCHAIN-}" ] && [ -x "$REC_TOOLCHAIN/bin/rustc" ] && command -v cargo >/dev/null 2>&1; then
    fixture_run() {
        local name=$1 fn=$2
        shift 2
        rm -rf "$work/fixture-$name"
        cp -r "$here/../fixtures/serde-app" "$work/fixture-$name"
        (
            cd "$work/fixture-$name" || exit 1
            # shellcheck disable=SC2163  # exports the VAR=value arguments
            [ $# -eq 0 ] || export "$@"
            export RUSTC=$REC_TOOLCHAIN/bin/rustc CARGO_TARGET_DIR=$work/fixture-$name/target NIX_BUILD_TOP=$work/fixture-$name
            export RUSTC_EXPAND_CACHE_DIR=$work/fixture-$name/cache
            unset RUSTC_WRAPPER RUSTFLAGS CARGO_BUILD_RUSTFLAGS
            fixtureCrate=serde_app fixtureSource=src/lib.rs fixtureRlib=debug/libserde_app.rlib
            cargoWithProfile() { cargo "$@"; }
            # shellcheck disable=SC1091
            source "$hooks/fixture-checks.sh"
            "$fn"
        ) >"$work/fixture-$name.log" 2>&1
    }
    fixture_run hits rustcExpandCacheCheckTwice
    report fixture-check-twice-passes-with-the-cache $?
    fixture_run same rustcExpandCacheCompareOutputs
    report fixture-compare-outputs-passes $?
    fixture_run no-backend rustcExpandCacheCheckTwice RUSTC_EXPAND_CACHE_BACKEND=/nonexistent/librustc_expand_cache.so
    [ $? -ne 0 ]
    report fixture-check-twice-fails-without-a-backend $?
else
    echo "SKIP fixture check commands: no REC_TOOLCHAIN with bin/rustc, or no cargo"
fi
