# checks.<system>: backend tests, the fixture crate checked twice (second time all
# hits), outputs identical with and without the cache, the compiler's identity.
{
  stdenvNoCC,
  makeSetupHook,
  root,
  stockCraneLib,
  craneLib,
  backendSrc,
  backendDeps,
  backendVersion,
  toolchain,
}:

let
  fixture = import ./fixture.nix {
    inherit craneLib;
    dir = root + "/tests/fixtures/serde-app";
  };
  fixtureDeps = craneLib.buildDepsOnly {
    inherit (fixture) src;
    pname = "${fixture.pname}-deps";
    version = "0";
  };
  fixtureHook = makeSetupHook { name = "rustc-expand-cache-fixture-checks"; } ../hooks/fixture-checks.sh;
in
{
  inherit toolchain;
  backend-tests = stockCraneLib.cargoTest {
    src = backendSrc;
    cargoArtifacts = backendDeps;
    pname = "rustc-expand-cache";
    version = backendVersion;
    cargoExtraArgs = "--locked -p rustc-expand-cache";
  };
  backend-clippy = stockCraneLib.cargoClippy {
    src = backendSrc;
    cargoArtifacts = backendDeps;
    pname = "rustc-expand-cache";
    version = backendVersion;
    cargoExtraArgs = "--locked -p rustc-expand-cache";
  };
  fixture-cache-hits = import ./fixtureRun.nix {
    inherit craneLib fixture fixtureHook;
    cargoArtifacts = fixtureDeps;
    suffix = "cache-hits";
    command = "rustcExpandCacheCheckTwice";
  };
  fixture-same-output = import ./fixtureRun.nix {
    inherit craneLib fixture fixtureHook;
    cargoArtifacts = fixtureDeps;
    suffix = "same-output";
    command = "rustcExpandCacheCompareOutputs";
    extraAttrs.fixtureRlib = "release/lib${fixture.crateName}.rlib";
  };
  toolchain-identity = import ./toolchainIdentity.nix { inherit stdenvNoCC toolchain; };
}
