//! Drives the C ABI of the built cdylib through `libloading`, the way rustc does.

mod common;
use common::abi::*;
use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[test]
fn table_layout_and_version() {
    let api = Api::load();
    assert_eq!(api.t.abi_version, 1);
    assert_eq!(api.t.struct_size as usize, std::mem::size_of::<ExpandCacheApiV1>());
    assert_eq!(std::mem::size_of::<ExpandCacheApiV1>(), 8 + 8 * 8);
}

#[test]
fn a_compiler_session_through_the_abi() {
    let api = Api::load();
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    // session 1: misses, then puts, stats, commit
    let s = api.open(&dir, NS, 0).unwrap();
    for i in 0..20 {
        assert_eq!(api.get(s, &key(1, i)), Ok(None));
        assert_eq!(api.put(s, &key(1, i), &value(1, i, 10_000), "Serialize", 2_000_000), 0);
    }
    let st = RecSessionStats { misses: 20, stored: 20, ..Default::default() };
    assert_eq!(unsafe { (api.t.record_stats)(s, &st) }, 0);
    assert_eq!(api.commit(s), 0);
    // uncommitted puts are dropped by close
    assert_eq!(api.put(s, b"dropped", b"x", "X", 1), 0);
    api.close(s);
    // session 2: hits
    let s = api.open(&dir, NS, 0).unwrap();
    for i in 0..20 {
        assert_eq!(api.get(s, &key(1, i)), Ok(Some(value(1, i, 10_000))));
    }
    assert_eq!(api.get(s, b"dropped"), Ok(None));
    let st = RecSessionStats { hits: 20, saved_nanos: 40_000_000, ..Default::default() };
    assert_eq!(unsafe { (api.t.record_stats)(s, &st) }, 0);
    assert_eq!(api.commit(s), 0);
    api.close(s);
    let c = rustc_expand_cache::Cache::open(&dir, &Default::default()).unwrap();
    let stats = c.stats().unwrap();
    assert_eq!(stats.entries, 20);
    assert_eq!(stats.namespaces[0].hits, 20);
    assert_eq!(stats.namespaces[0].saved_nanos, 40_000_000);
    assert_eq!(stats.namespaces[0].sessions.sessions, 2);
    assert_eq!(stats.namespaces[0].sessions.saved_nanos, 40_000_000);
    // read-only: lookups only
    let s = api.open(&dir, NS, 1).unwrap();
    assert_eq!(api.get(s, &key(1, 3)), Ok(Some(value(1, 3, 10_000))));
    assert_eq!(api.put(s, b"k", b"v", "X", 1), -3);
    assert!(api.error(s).contains("read-only"));
    assert_eq!(api.commit(s), 0);
    api.close(s);
}

#[test]
fn errors_are_codes_with_messages() {
    let api = Api::load();
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    // empty namespace, unknown flags, null out pointer
    assert_eq!(api.open(&dir, "", 0).unwrap_err().0, -5);
    assert_eq!(api.open(&dir, NS, 0x80).unwrap_err().0, -5);
    let rc = unsafe { (api.t.open)(sl(dir.as_os_str().as_encoded_bytes()), sl(NS.as_bytes()), 0, std::ptr::null_mut()) };
    assert_eq!(rc, -5);
    // read-only open of a missing cache
    let (rc, msg) = api.open(&dir, NS, 1).unwrap_err();
    assert_eq!(rc, -1);
    assert!(msg.contains("no expansion cache"), "{msg}");
    // last_error truncates to the buffer but reports the full length
    let full = api.error(std::ptr::null());
    let mut small = [0u8; 4];
    let n = unsafe { (api.t.last_error)(std::ptr::null(), small.as_mut_ptr(), small.len()) };
    assert_eq!(n, full.len());
    assert_eq!(&small, &full.as_bytes()[..4]);
    // bad arguments on a live handle
    let s = api.open(&dir, NS, 0).unwrap();
    let m = RecEntryMeta { macro_crate: sl(b"c"), macro_name: sl(b"n"), kind: 9, expand_nanos: 0 };
    assert_eq!(unsafe { (api.t.put)(s, sl(b"k"), sl(b"v"), &m) }, -5);
    assert!(api.error(s).contains("kind"));
    assert_eq!(api.put(s, b"k", b"v", "M", 0), 0);
    assert_eq!(api.error(s), "", "the message of an earlier call outlived a success");
    assert_eq!(unsafe { (api.t.put)(s, sl(b"k"), RecSlice { ptr: std::ptr::null(), len: 5 }, &m) }, -5);
    assert_eq!(unsafe { (api.t.put)(s, sl(b"k"), sl(b"v"), std::ptr::null()) }, -5);
    assert_eq!(unsafe { (api.t.get)(s, sl(b"k"), std::ptr::null_mut()) }, -5);
    assert_eq!(unsafe { (api.t.get)(std::ptr::null_mut(), sl(b"k"), std::ptr::null_mut()) }, -5);
    // empty key and value are fine
    assert_eq!(api.put(s, b"", b"", "E", 0), 0);
    assert_eq!(api.commit(s), 0);
    assert_eq!(api.get(s, b""), Ok(Some(Vec::new())));
    api.close(s);
    unsafe { (api.t.close)(std::ptr::null_mut()) };
    unsafe { (api.t.free_buf)(RecBuf { ptr: std::ptr::null_mut(), len: 0, cap: 0 }) };
}

#[test]
fn faults_never_fail_the_caller() {
    let api = Api::load();
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    {
        let s = api.open(&dir, NS, 0).unwrap();
        assert_eq!(api.put(s, b"k", b"v", "M", 1), 0);
        assert_eq!(api.commit(s), 0);
        api.close(s);
    }
    // read-only directory: -3 for a writer, lookups work read-only
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();
    assert_eq!(api.open(&dir, NS, 0).unwrap_err().0, -3);
    let s = api.open(&dir, NS, 1).unwrap();
    assert_eq!(api.get(s, b"k"), Ok(Some(b"v".to_vec())));
    api.close(s);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    // writable by others: -8
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o757)).unwrap();
    let (rc, msg) = api.open(&dir, NS, 0).unwrap_err();
    assert_eq!(rc, -8, "{msg}");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    // corrupt data file: -2 once (quarantined), then a fresh store
    let p = dir.join("data.mdb");
    let mut d = fs::read(&p).unwrap();
    d.truncate(d.len() - 4096);
    d[0..32].fill(0xAB);
    fs::write(&p, d).unwrap();
    let (rc, msg) = api.open(&dir, NS, 0).unwrap_err();
    assert_eq!(rc, -2, "{msg}");
    assert!(msg.contains("moved aside"), "{msg}");
    let s = api.open(&dir, NS, 0).unwrap();
    assert_eq!(api.get(s, b"k"), Ok(None));
    api.close(s);
    // a path that is a file
    let f = t.path().join("file");
    fs::write(&f, b"").unwrap();
    assert_eq!(api.open(&f, NS, 0).unwrap_err().0, -1);
}

#[test]
fn panics_are_caught_at_the_boundary() {
    if !cfg!(debug_assertions) {
        return; // the panic hook only exists in debug builds of the backend
    }
    let t = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "panic_child", "--nocapture"])
        .env("REC_CHILD", "panic")
        .env("REC_DIR", cache_dir(&t))
        .env("RUSTC_EXPAND_CACHE_TEST_PANIC", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("caught -6"));
}

#[test]
fn panic_child() {
    if std::env::var("REC_CHILD").as_deref() != Ok("panic") {
        return;
    }
    let api = Api::load();
    let dir = std::path::PathBuf::from(std::env::var("REC_DIR").unwrap());
    let (rc, msg) = api.open(&dir, NS, 0).unwrap_err();
    assert_eq!(rc, -6);
    assert!(msg.contains("panic"), "{msg}");
    println!("caught {rc}");
}

#[test]
fn bad_configuration_gives_minus_9() {
    for (var, bad) in [("RUSTC_EXPAND_CACHE_MAX_SIZE", "2 parsecs"), ("RUSTC_EXPAND_CACHE_LOG", "info,foo=bar=baz")] {
        let t = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "bad_config_child", "--nocapture"])
            .env("REC_CHILD", "bad-config")
            .env("REC_DIR", cache_dir(&t))
            .env_remove("RUSTC_EXPAND_CACHE_MAX_SIZE")
            .env_remove("RUSTC_EXPAND_CACHE_LOG")
            .env("REC_BAD_VAR", var)
            .env(var, bad)
            .output()
            .unwrap();
        assert!(out.status.success(), "{var}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("got -9"), "{var}");
    }
}

#[test]
fn bad_config_child() {
    if std::env::var("REC_CHILD").as_deref() != Ok("bad-config") {
        return;
    }
    let api = Api::load();
    let dir = std::path::PathBuf::from(std::env::var("REC_DIR").unwrap());
    let var = std::env::var("REC_BAD_VAR").unwrap();
    let value = std::env::var(&var).unwrap();
    let (rc, msg) = api.open(&dir, NS, 0).unwrap_err();
    assert_eq!(rc, -9);
    assert!(msg.contains(&var) && msg.contains(&value), "{msg}");
    println!("got {rc}");
}
