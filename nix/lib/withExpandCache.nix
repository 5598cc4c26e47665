# Arguments of one crane derivation, extended to carry the expansion cache:
# the cache is on unless the caller sets RUSTC_EXPAND_CACHE, and the hook
# (nix/hooks/crane-expand-cache.sh) imports the export found in the inherited
# cargo artifacts before the build and exports the store into the target
# directory before crane installs it as the next step's artifacts.
{ expandCacheHook }:

args:
let
  # The caller's setting may be an attribute or in `env` (nixpkgs refuses both at once).
  setting =
    if args.env.RUSTC_EXPAND_CACHE or null != null then
      { }
    else
      { RUSTC_EXPAND_CACHE = args.RUSTC_EXPAND_CACHE or "on"; };
in
args
// setting
// {
  nativeBuildInputs = (args.nativeBuildInputs or [ ]) ++ [ expandCacheHook ];
}
// (
  # A replaced install phase (buildPackage's own deps step) skips the preInstall hooks.
  if args ? installPhase then { installPhase = "rustcExpandCacheExport\n" + args.installPhase; } else { }
)
