# Builder of checks.<system>.toolchain-identity: `rustc -vV` of the toolchain
# reports the identity Nix computed, and the backend is in the sysroot.
# Inputs (from Nix): toolchain, identity, backendPath.
set -eu
"$toolchain/bin/rustc" -vV | tee version.txt
grep -qxF "expand-cache: $identity" version.txt
test -f "$backendPath"
"$toolchain/bin/rustc-expand-cache" --help >/dev/null
touch "$out"
