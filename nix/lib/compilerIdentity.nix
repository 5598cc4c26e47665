# The compiler identity: the namespace of the expansion cache and the `expand-cache:`
# line of `rustc -vV`. Same format as toolchain/build.py `identity`:
#   rec<cache-format>-<commit[:12]>-<series hash[:16]>-<flavour>
{ pin, seriesHash, flavour }:

"rec${toString pin.cache-format}-${builtins.substring 0 12 pin.commit}-${builtins.substring 0 16 seriesHash}-${flavour}"
