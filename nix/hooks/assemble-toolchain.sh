# Builder of the toolchain package (nix/lib/mkToolchain.nix).
# Inputs (from Nix): linkedTools, clippy, sysroot, backendPath, sandboxHook.

mkdir -p "$out/bin" "$out/nix-support"

for tool in $linkedTools; do
    for f in "$tool"/bin/*; do
        ln -s "$f" "$out/bin/"
    done
done

# cargo-clippy runs the clippy-driver next to its own (resolved) executable, so
# it is copied, not linked, to find the wrapper below. clippy-driver links the
# patched driver but starts from rustc-unwrapped's sysroot: point it at the backend.
cp "$clippy/bin/cargo-clippy" "$out/bin/cargo-clippy"
makeWrapper "$clippy/bin/clippy-driver" "$out/bin/clippy-driver" \
    --set-default RUSTC_EXPAND_CACHE_BACKEND "$backendPath"

# lib/rustlib (std, rust-src, the backend) is the compiler's sysroot.
ln -s "$sysroot/lib" "$out/lib"

cp "$sandboxHook" "$out/nix-support/setup-hook"
