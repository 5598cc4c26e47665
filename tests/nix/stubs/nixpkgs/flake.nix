# Stub of nixpkgs for the evaluation tests: only the attributes the flake uses,
# with the shapes nixpkgs gives them (derivations are real but never built).
{
  description = "stub nixpkgs (tests/nix)";
  outputs =
    { self }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
    in
    {
      lib = import ./lib.nix;
      legacyPackages = builtins.listToAttrs (
        map (system: {
          name = system;
          value = import ./pkgs.nix {
            inherit system;
            overlays = [ ];
          };
        }) systems
      );
    };
}
