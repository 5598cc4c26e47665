# checks.<system>.toolchain-identity: the built compiler reports the identity Nix computed.
{ stdenvNoCC, toolchain }:

stdenvNoCC.mkDerivation {
  name = "rustc-expand-cache-toolchain-identity";
  buildCommandPath = ../hooks/check-identity.sh;
  inherit toolchain;
  identity = toolchain.expandCacheIdentity;
  backendPath = "${toolchain.sysroot}/lib/rustlib/${toolchain.hostTriple}/lib/librustc_expand_cache.so";
}
