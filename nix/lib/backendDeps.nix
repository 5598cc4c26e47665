# The backend's dependencies, built once and shared by its build, clippy and tests.
{ craneLib, src, version }:

craneLib.buildDepsOnly {
  inherit src;
  pname = "rustc-expand-cache-deps";
  inherit version;
  cargoExtraArgs = "--locked -p rustc-expand-cache";
}
