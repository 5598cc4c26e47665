# checks.<system>.fixture-same-output: the fixture compiled with the cache off,
# on (missing) and on (hitting) gives byte-identical output.
{ craneLib, fixture, cargoArtifacts, fixtureHook }:

craneLib.mkCargoDerivation {
  inherit (fixture) src;
  inherit cargoArtifacts;
  pname = "${fixture.pname}-same-output";
  version = "0";
  CARGO_PROFILE = "release";
  fixtureCrate = fixture.crateName;
  fixtureSource = fixture.touch;
  fixtureRlib = "release/lib${fixture.crateName}.rlib";
  nativeBuildInputs = [ fixtureHook ];
  buildPhaseCargoCommand = "rustcExpandCacheCompareOutputs";
  doInstallCargoArtifacts = false;
}
