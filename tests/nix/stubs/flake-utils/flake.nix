# Stub of flake-utils for the evaluation tests: lib.defaultSystems and lib.eachSystem.
{
  description = "stub flake-utils (tests/nix)";
  outputs =
    { self }:
    {
      lib = {
        defaultSystems = [
          "x86_64-linux"
          "aarch64-linux"
          "x86_64-darwin"
          "aarch64-darwin"
        ];
        eachSystem =
          systems: f:
          builtins.foldl' (
            acc: system:
            let
              out = f system;
            in
            acc
            // builtins.mapAttrs (name: value: (acc.${name} or { }) // { ${system} = value; }) out
          ) { } systems;
      };
    };
}
