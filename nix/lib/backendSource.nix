# The cargo workspace sources the backend is built from (crane's cargo filter:
# Cargo.toml/lock, .rs files and the like), so edits elsewhere do not rebuild it.
{ craneLib, root }:

craneLib.cleanCargoSource root
