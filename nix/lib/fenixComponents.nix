# The components fenix supplies: the ones that do not link the patched driver,
# taken from the rust 1.95.0 channel manifest so they match the compiler's version.
{ fenixPackages, manifest }:

let
  components = fenixPackages.fromManifest manifest;
in
{
  inherit (components) rust-src rust-analyzer;
}
