#!/usr/bin/env bash
# Runs the crane helper's setup hook (nix/hooks/crane-expand-cache.sh) the way
# stdenv and crane would, across two steps, against a built backend: the cache
# travels through the target directory in export form, the export is
# byte-identical after a round trip, and nothing is imported with the cache off.
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
