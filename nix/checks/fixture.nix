# A fixture crate of tests/fixtures as the checks use it.
{ craneLib, dir }:

let
  manifest = builtins.fromTOML (builtins.readFile (dir + "/Cargo.toml"));
in
{
  pname = "fixture-${manifest.package.name}";
  src = craneLib.cleanCargoSource dir;
  # The crate name the compiler reports (`crate=<name>` lines).
  crateName = builtins.replaceStrings [ "-" ] [ "_" ] manifest.package.name;
  touch = manifest.lib.path or "src/lib.rs";
}
