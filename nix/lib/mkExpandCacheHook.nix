# The setup hook of the crane helper, with the CLI it calls baked in.
{ makeSetupHook, backend, exportName }:

makeSetupHook {
  name = "rustc-expand-cache-crane-hook";
  substitutions = {
    cli = "${backend}/bin/rustc-expand-cache";
    inherit exportName;
  };
} ../hooks/crane-expand-cache.sh
