#!/usr/bin/env python3
"""Fill an expansion-cache store through the backend's C ABI (cache-backend/ABI.md), as
the patched rustc would: python3 make_store.py LIB.so DIR NAMESPACE N
Used by tests/nix/hook-test.sh to give the crane hook something to carry."""

import ctypes as C
import sys


class Slice(C.Structure):
    _fields_ = [("ptr", C.c_void_p), ("len", C.c_size_t)]


class Meta(C.Structure):
    _fields_ = [("macro_crate", Slice), ("macro_name", Slice), ("kind", C.c_uint8), ("expand_nanos", C.c_uint64)]


OPEN = C.CFUNCTYPE(C.c_int32, Slice, Slice, C.c_uint32, C.POINTER(C.c_void_p))
PUT = C.CFUNCTYPE(C.c_int32, C.c_void_p, Slice, Slice, C.POINTER(Meta))
COMMIT = C.CFUNCTYPE(C.c_int32, C.c_void_p)
CLOSE = C.CFUNCTYPE(None, C.c_void_p)


class Api(C.Structure):
    _fields_ = [("abi_version", C.c_uint32), ("struct_size", C.c_uint32), ("open", OPEN), ("get", C.c_void_p),
                ("free_buf", C.c_void_p), ("put", PUT), ("commit", COMMIT), ("record_stats", C.c_void_p),
                ("last_error", C.c_void_p), ("close", CLOSE)]


def sl(b: bytes, keep: list) -> Slice:
    buf = C.create_string_buffer(b, len(b))
    keep.append(buf)
    return Slice(C.cast(buf, C.c_void_p), len(b))


def main(lib: str, d: str, ns: str, n: str) -> int:
    so = C.CDLL(lib)
    so.rustc_expand_cache_v1.restype = C.POINTER(Api)
    api = so.rustc_expand_cache_v1().contents
    keep: list = []
    store = C.c_void_p()
    rc = api.open(sl(d.encode(), keep), sl(ns.encode(), keep), 0, C.byref(store))
    if rc != 0:
        print(f"open failed: {rc}", file=sys.stderr)
        return 1
    for i in range(int(n)):
        meta = Meta(sl(b"fixture_derive", keep), sl(b"Fixture", keep), 2, 1000 + i)
        rc = api.put(store, sl(b"key-%032d" % i, keep), sl(b"tokens of expansion %d" % i, keep), C.byref(meta))
        if rc != 0:
            print(f"put failed: {rc}", file=sys.stderr)
            return 1
    rc = api.commit(store)
    api.close(store)
    if rc != 0:
        print(f"commit failed: {rc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
