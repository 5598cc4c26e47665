# The cache backend, built with crane and the stock (unpatched) compiler of the
# same nixpkgs scope, so the toolchain can contain it without a cycle:
#   lib/librustc_expand_cache.so   the library the patched rustc dlopens
#   bin/rustc-expand-cache         the CLI (stats, gc, clear, verify, export, import)
{
  craneLib,
  src,
  cargoArtifacts,
  version,
}:

craneLib.buildPackage {
  inherit src cargoArtifacts version;
  pname = "rustc-expand-cache";
  cargoExtraArgs = "--locked -p rustc-expand-cache";
  # The backend's tests run in checks.<system>.backend-tests.
  doCheck = false;
  meta.mainProgram = "rustc-expand-cache";
}
