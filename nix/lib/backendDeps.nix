# The backend's dependencies, built once and shared by its build, clippy and tests.
{ craneLib, src }:

craneLib.buildDepsOnly {
  inherit src;
  pname = "rustc-expand-cache-deps";
  cargoExtraArgs = "--locked -p rustc-expand-cache";
}
