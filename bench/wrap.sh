#!/bin/sh
# RUSTC_WRAPPER used by bench/run.py in every column (so every column has the same
# cargo setup): appends $BENCH_RUSTFLAGS (-Zcache-proc-macros, -Zself-profile...) to
# the compilations of the workload's own package only (cargo sets
# CARGO_PRIMARY_PACKAGE for it), so dependencies are built once and shared, and
# flags that cargo does not see never make it rebuild the dependency tree.
# Works under `cargo clippy` too (cargo runs: wrapper clippy-driver rustc ARGS).
# $BENCH_PRELOAD (the off-je column only): a library preloaded into the compiler
# process (jemalloc), for the build-flavour analysis.
# $BENCH_CACHEGRIND (the instruction-count runs only): a directory; the workload's
# compilation runs under cachegrind, which writes its instruction count there.
# $BENCH_PERF_KERNEL (the kernel-time runs only): a directory; the workload's
# compilation runs under `perf record $BENCH_PERF_ARGS` (run.py's PERF_KERNEL_ARGS:
# samples of kernel-mode CPU time), all of the compiler's threads.
if [ -n "$BENCH_PRELOAD" ]; then
    export LD_PRELOAD="$BENCH_PRELOAD"
fi
if [ -n "$CARGO_PRIMARY_PACKAGE" ]; then
    if [ -n "$BENCH_CACHEGRIND" ]; then
        # shellcheck disable=SC2086
        exec valgrind -q --tool=cachegrind --cache-sim=no \
            --cachegrind-out-file="$BENCH_CACHEGRIND/cachegrind.out.%p" "$@" $BENCH_RUSTFLAGS
    fi
    if [ -n "$BENCH_PERF_KERNEL" ]; then
        # shellcheck disable=SC2086
        exec perf record $BENCH_PERF_ARGS -o "$BENCH_PERF_KERNEL/perf.data.$$" -- "$@" $BENCH_RUSTFLAGS
    fi
    # shellcheck disable=SC2086
    exec "$@" $BENCH_RUSTFLAGS
fi
exec "$@"
