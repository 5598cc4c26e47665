# The nixpkgs lib functions the flake uses, and nothing else: a typo or a
# function the flake starts to use without a stub here fails the tests.
let
  internal = import ./internal.nix;
in
{
  inherit (internal)
    hasPrefix
    removePrefix
    importTOML
    hasSuffix
    splitString
    concatMapStrings
    concatStringsSep
    take
    genAttrs
    cleanSourceWith
    ;
  platforms.linux = [
    "x86_64-linux"
    "aarch64-linux"
  ];
  version = "26.05pre-stub";
}
