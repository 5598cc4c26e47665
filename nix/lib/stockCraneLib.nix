# crane with nixpkgs' unpatched compiler of the pinned version: builds the backend.
{ craneLib, rustPackages }:

craneLib.overrideScope (
  _final: _prev: {
    inherit (rustPackages)
      cargo
      clippy
      rustc
      rustfmt
      ;
  }
)
