# checks.<system>.fixture-cache-hits: a fixture crate checked twice in the sandbox
# with the crane helper; the second check must be all hits.
{ craneLib, fixture, cargoArtifacts, fixtureHook }:

craneLib.mkCargoDerivation {
  inherit (fixture) src;
  inherit cargoArtifacts;
  pname = "${fixture.pname}-cache-hits";
  version = "0";
  CARGO_PROFILE = "release";
  fixtureCrate = fixture.crateName;
  fixtureSource = fixture.touch;
  nativeBuildInputs = [ fixtureHook ];
  buildPhaseCargoCommand = "rustcExpandCacheCheckTwice";
  doInstallCargoArtifacts = false;
}
