# A fixture crate built in the sandbox by the crane helper, with one of the
# fixture hook's commands as its build phase:
#   checks.<system>.fixture-cache-hits   rustcExpandCacheCheckTwice: the second check must be all hits
#   checks.<system>.fixture-same-output  rustcExpandCacheCompareOutputs: cache off, missing and
#                                        hitting give byte-identical output
{
  craneLib,
  fixture,
  cargoArtifacts,
  fixtureHook,
  # pname suffix and the hook function run as the build phase
  suffix,
  command,
  # further attributes the command reads
  extraAttrs ? { },
}:

craneLib.mkCargoDerivation (
  {
    inherit (fixture) src;
    inherit cargoArtifacts;
    pname = "${fixture.pname}-${suffix}";
    version = "0";
    CARGO_PROFILE = "release";
    fixtureCrate = fixture.crateName;
    fixtureSource = fixture.touch;
    nativeBuildInputs = [ fixtureHook ];
    buildPhaseCargoCommand = command;
    doInstallCargoArtifacts = false;
  }
  // extraAttrs
)
