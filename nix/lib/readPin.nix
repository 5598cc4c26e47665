# The compiler pin: toolchain/pin.toml, the one source of truth shared with
# toolchain/build.py (version, upstream commit, tarball url and sha256, cache format).
{ toolchainDir }:

builtins.fromTOML (builtins.readFile (toolchainDir + "/pin.toml"))
