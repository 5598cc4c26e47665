# The nixpkgs Rust package scope of the pinned version: pin 1.95.0 -> pkgs.rustPackages_1_95.
{ lib, pkgs, pin }:

let
  attr = "rustPackages_" + lib.concatStringsSep "_" (lib.take 2 (lib.splitString "." pin.version));
in
pkgs.${attr} or (throw "rustc-expand-cache: this nixpkgs has no ${attr} (the pin wants rustc ${pin.version})")
