//! Compiles a C program against include/rustc_expand_cache.h that dlopens the built
//! library and runs a session: the header and the library must agree.

mod common;

const PROGRAM: &str = r#"
#include "rustc_expand_cache.h"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static RecSlice s(const char *c) { RecSlice r = { (const uint8_t *)c, strlen(c) }; return r; }

int main(int argc, char **argv) {
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 10; }
    const ExpandCacheApiV1 *(*entry)(void) = (const ExpandCacheApiV1 *(*)(void))dlsym(h, "rustc_expand_cache_v1");
    if (!entry) return 11;
    const ExpandCacheApiV1 *api = entry();
    if (api->abi_version != REC_ABI_VERSION) return 12;
    if (api->struct_size != sizeof(ExpandCacheApiV1)) return 13;
    RecStore *st = NULL;
    int rc = api->open(s(argv[2]), s("rustc from C"), 0, &st);
    if (rc != REC_OK) { char b[512]; size_t n = api->last_error(NULL, (uint8_t *)b, sizeof b - 1); b[n < sizeof b - 1 ? n : sizeof b - 1] = 0; fprintf(stderr, "open %d: %s\n", rc, b); return 14; }
    RecBuf buf = {0};
    if (api->get(st, s("key"), &buf) != REC_OK) return 15;
    RecEntryMeta m = { s("serde_derive"), s("Serialize"), REC_KIND_DERIVE, 12345 };
    if (api->put(st, s("key"), s("expanded tokens"), &m) != REC_OK) return 16;
    RecSessionStats stats = { 0, 1, 1, 0, 10, 0 };
    if (api->record_stats(st, &stats) != REC_OK) return 17;
    if (api->commit(st) != REC_OK) return 18;
    api->close(st);
    if (api->open(s(argv[2]), s("rustc from C"), REC_OPEN_READ_ONLY, &st) != REC_OK) return 19;
    if (api->get(st, s("key"), &buf) != REC_HIT) return 20;
    if (buf.len != strlen("expanded tokens") || memcmp(buf.ptr, "expanded tokens", buf.len) != 0) return 21;
    api->free_buf(buf);
    if (api->put(st, s("k2"), s("v"), &m) != REC_E_READ_ONLY) return 22;
    api->close(st);
    if (api->open(s(""), s("x"), 0, &st) != REC_E_BAD_ARG || st != NULL) return 23;
    printf("ok\n");
    return 0;
}
"#;

#[test]
fn c_program_against_the_header() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("main.c");
    std::fs::write(&src, PROGRAM).unwrap();
    let exe = t.path().join("main");
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = std::process::Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Werror", "-I", include, "-o"])
        .arg(&exe)
        .arg(&src)
        .arg("-ldl")
        .output()
        .expect("a C compiler is needed to build this crate anyway (lmdb-rkv-sys)");
    assert!(out.status.success(), "cc failed: {}", String::from_utf8_lossy(&out.stderr));
    let run = std::process::Command::new(&exe).arg(common::abi::cdylib_path()).arg(t.path().join("cache")).output().unwrap();
    assert!(run.status.success(), "C program failed with {:?}: {}", run.status.code(), String::from_utf8_lossy(&run.stderr));
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "ok");
}
