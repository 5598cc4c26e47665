# The sysroot the patched rustc runs with (passed by nixpkgs' rustc wrapper as
# --sysroot): the compiler's own tree (std, driver), the backend layer and the
# library sources. Only this cheap symlink tree changes when the backend changes;
# rustc-unwrapped is not rebuilt.
{ symlinkJoin, rustc-unwrapped, backendLayer, rustSrc }:

symlinkJoin {
  name = "rustc-expand-cache-sysroot-${rustc-unwrapped.version}";
  paths = [
    rustc-unwrapped
    backendLayer
    rustSrc
  ];
}
