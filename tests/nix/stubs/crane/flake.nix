# Stub of crane for the evaluation tests: mkLib and the scope functions the
# flake uses, with crane's required arguments (a missing one fails the tests).
{
  description = "stub crane (tests/nix)";
  outputs =
    { self }:
    {
      mkLib = pkgs: import ./lib.nix { inherit pkgs; };
    };
}
