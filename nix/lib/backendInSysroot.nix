# The backend library at the place the patched compiler looks for it:
# lib/rustlib/<host>/lib/librustc_expand_cache.so of its sysroot.
{ linkFarm, backend, hostTriple }:

linkFarm "rustc-expand-cache-backend-sysroot-layer" [
  {
    name = "lib/rustlib/${hostTriple}/lib/librustc_expand_cache.so";
    path = "${backend}/lib/librustc_expand_cache.so";
  }
]
