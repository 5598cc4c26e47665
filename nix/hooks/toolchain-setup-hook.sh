# Setup hook of the rustc-expand-cache toolchain: sourced by stdenv in every
# derivation that has the toolchain as a build input.
# Inside a Nix build the expansion cache is off unless the derivation asks for it
# by setting RUSTC_EXPAND_CACHE itself (`RUSTC_EXPAND_CACHE = "on";`): a build
# directory is thrown away, so a cache there only costs time and disk.
if [ -z "${RUSTC_EXPAND_CACHE-}" ]; then
    export RUSTC_EXPAND_CACHE=off
fi
