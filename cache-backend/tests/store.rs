//! Library-level tests: round trips, namespaces, hit counts, eviction, map growth,
//! read-only and untrusted directories, crash markers and corruption.

mod common;
use common::*;

use rustc_expand_cache::error::*;
use rustc_expand_cache::{guard, Cache, GcOptions, OpenOptions, SessionCounters, Store};
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[test]
fn put_commit_get_roundtrip_and_close_drops_uncommitted() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    let mut s = open(&dir);
    assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    for f in ["data.mdb", "lock.mdb"] {
        assert_eq!(fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o077, 0, "{f} must be private");
    }
    for (i, len) in [0usize, 1, 100, 10_000, 100_000, 2_000_000].into_iter().enumerate() {
        s.put(&key(1, i as u64), &value(1, i as u64, len), meta("Serialize")).unwrap();
    }
    // visible to the same session before commit
    assert_eq!(s.get(&key(1, 2)).unwrap(), Some(value(1, 2, 100)));
    s.commit().unwrap();
    s.put(&key(9, 9), b"never committed", meta("X")).unwrap();
    drop(s);
    let mut s = open(&dir);
    for (i, len) in [0usize, 1, 100, 10_000, 100_000, 2_000_000].into_iter().enumerate() {
        assert_eq!(s.get(&key(1, i as u64)).unwrap(), Some(value(1, i as u64, len)), "entry {i}");
    }
    assert_eq!(s.get(&key(9, 9)).unwrap(), None);
    // long keys are hashed but still exact
    let long = vec![b'k'; 5000];
    s.put(&long, b"long key value", meta("L")).unwrap();
    s.commit().unwrap();
    assert_eq!(s.get(&long).unwrap().as_deref(), Some(&b"long key value"[..]));
}

#[test]
fn namespaces_are_isolated() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    let mut a = Store::open(&dir, "compiler A", &OpenOptions::default()).unwrap();
    let mut b = Store::open(&dir, "compiler B", &OpenOptions::default()).unwrap();
    a.put(b"k", b"from A", meta("M")).unwrap();
    a.commit().unwrap();
    assert_eq!(b.get(b"k").unwrap(), None);
    b.put(b"k", b"from B", meta("M")).unwrap();
    b.commit().unwrap();
    assert_eq!(a.get(b"k").unwrap().as_deref(), Some(&b"from A"[..]));
    assert_eq!(b.get(b"k").unwrap().as_deref(), Some(&b"from B"[..]));
    let err = Store::open(&dir, "", &OpenOptions::default()).err().unwrap();
    assert_eq!(err.code(), E_BAD_ARG);
}

#[test]
fn hits_and_stats_are_recorded_at_commit() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    populate(&dir, 1, 4, 1000);
    let mut s = open(&dir);
    for _ in 0..3 {
        assert!(s.get(&key(1, 0)).unwrap().is_some());
    }
    assert!(s.get(&key(1, 99)).unwrap().is_none());
    s.record_stats(SessionCounters { hits: 3, misses: 1, saved_nanos: 3_000_000, ..Default::default() });
    // not written before commit
    let st = Cache::open(&dir, &OpenOptions::default()).unwrap().stats().unwrap();
    assert_eq!(st.namespaces[0].hits, 0);
    s.commit().unwrap();
    let st = Cache::open(&dir, &OpenOptions::default()).unwrap().stats().unwrap();
    assert_eq!(st.entries, 4);
    let ns = &st.namespaces[0];
    assert_eq!(ns.identity, NS);
    assert_eq!(ns.hits, 3);
    assert_eq!(ns.saved_nanos, 3_000_000);
    assert_eq!(ns.sessions.sessions, 1);
    assert_eq!(ns.sessions.misses, 1);
    assert_eq!(ns.bytes, 4000);
    let ser = ns.macros.iter().find(|m| m.macro_name == "Serialize").unwrap();
    assert_eq!((ser.entries, ser.hits), (2, 3));
}

#[test]
fn read_only_mode_never_writes() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    // read-only on a missing store: error, nothing created
    let e = Store::open(&dir, NS, &OpenOptions { read_only: true, ..Default::default() }).err().unwrap();
    assert_eq!(e.code(), E_IO);
    assert!(!dir.exists());
    // read-only on a store another process is creating (an empty data file): missing
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    fs::File::create(dir.join("data.mdb")).unwrap();
    let e = Store::open(&dir, NS, &OpenOptions { read_only: true, ..Default::default() }).err().unwrap();
    assert!(matches!(e, Error::Missing(_)), "{e}");
    fs::remove_file(dir.join("data.mdb")).unwrap();
    populate(&dir, 1, 3, 100);
    let before = fs::read(dir.join("data.mdb")).unwrap();
    {
        let mut s = Store::open(&dir, NS, &OpenOptions { read_only: true, ..Default::default() }).unwrap();
        assert_eq!(s.get(&key(1, 1)).unwrap(), Some(value(1, 1, 100)));
        assert_eq!(s.put(b"x", b"y", meta("M")).unwrap_err().code(), E_READ_ONLY);
        s.record_stats(SessionCounters { hits: 1, ..Default::default() });
        s.commit().unwrap();
    }
    assert_eq!(before, fs::read(dir.join("data.mdb")).unwrap(), "read-only session modified the store");
}

#[test]
fn read_only_directory() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    populate(&dir, 1, 3, 100);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();
    let e = Store::open(&dir, NS, &OpenOptions::default()).err().unwrap();
    assert_eq!(e.code(), E_READ_ONLY, "{e}");
    let mut s = Store::open(&dir, NS, &OpenOptions { read_only: true, ..Default::default() }).unwrap();
    assert_eq!(s.get(&key(1, 2)).unwrap(), Some(value(1, 2, 100)));
    drop(s);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn missing_parent_is_created_and_unreadable_dir_fails_cleanly() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("a/b/c/expand-cache");
    populate(&dir, 1, 1, 10);
    let blocked = t.path().join("blocked");
    fs::create_dir(&blocked).unwrap();
    fs::set_permissions(&blocked, fs::Permissions::from_mode(0o000)).unwrap();
    let e = Store::open(&blocked, NS, &OpenOptions::default()).err().unwrap();
    assert!(e.code() < 0 && e.code() != E_PANIC, "{e}");
    fs::set_permissions(&blocked, fs::Permissions::from_mode(0o700)).unwrap();
    // a file where the directory should be
    let file = t.path().join("file");
    fs::write(&file, b"x").unwrap();
    assert_eq!(Store::open(&file, NS, &OpenOptions::default()).err().unwrap().code(), E_IO);
}

#[test]
fn untrusted_directories_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    populate(&dir, 1, 1, 10);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let e = Store::open(&dir, NS, &OpenOptions::default()).err().unwrap();
    assert_eq!(e.code(), E_UNTRUSTED, "{e}");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(dir.join("data.mdb"), fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(Store::open(&dir, NS, &OpenOptions::default()).err().unwrap().code(), E_UNTRUSTED);
    fs::set_permissions(dir.join("data.mdb"), fs::Permissions::from_mode(0o600)).unwrap();
    // owned by another user (we may be root: chown works then; otherwise skip this half)
    if guard::euid() == 0 {
        let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::chown(c.as_ptr(), 12345, 12345) }, 0);
        assert_eq!(Store::open(&dir, NS, &OpenOptions::default()).err().unwrap().code(), E_UNTRUSTED);
    }
}

#[test]
fn lru_eviction_keeps_the_cap_and_the_recent_entries() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    let cap = 2u64 << 20;
    let opts = OpenOptions { max_size: Some(cap), ..Default::default() };
    // 40 sessions of 10 x 20 KB = 8 MB total, 4x the cap
    for tag in 0..40u64 {
        let mut s = Store::open(&dir, NS, &opts).unwrap();
        // keep entry (0,0) hot: it must survive as recently used
        if tag > 0 {
            assert_eq!(s.get(&key(0, 0)).unwrap(), Some(value(0, 0, 20_000)), "hot entry evicted at session {tag}");
        }
        for i in 0..10 {
            s.put(&key(tag, i), &value(tag, i, 20_000), meta("M")).unwrap();
        }
        s.commit().unwrap();
        let st = Cache::open(&dir, &opts).unwrap().stats().unwrap();
        assert!(st.used_bytes <= cap, "session {tag}: {} > cap {cap}", st.used_bytes);
        // the batch just committed is complete
        for i in 0..10 {
            assert_eq!(s.get(&key(tag, i)).unwrap(), Some(value(tag, i, 20_000)));
        }
    }
    let mut s = Store::open(&dir, NS, &opts).unwrap();
    assert_eq!(s.get(&key(1, 0)).unwrap(), None, "oldest entries should have been evicted");
    // anything still present is intact
    for tag in 0..40 {
        for i in 0..10 {
            if let Some(v) = s.get(&key(tag, i)).unwrap() {
                assert_eq!(v, value(tag, i, 20_000));
            }
        }
    }
}

#[test]
fn map_full_grows_the_map_then_evicts() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    // a tiny initial map: the first big batch hits MDB_MAP_FULL and must grow
    let opts = OpenOptions { max_size: Some(8 << 20), initial_map_size: Some(256 << 10), ..Default::default() };
    let mut s = Store::open(&dir, NS, &opts).unwrap();
    for i in 0..50 {
        s.put(&key(1, i), &value(1, i, 50_000), meta("M")).unwrap();
    }
    s.commit().expect("commit must survive a full map");
    let grown = Cache::open(&dir, &opts).unwrap().stats().unwrap().map_size;
    assert!(grown > 256 << 10, "map did not grow: {grown}");
    for i in 0..50 {
        assert_eq!(s.get(&key(1, i)).unwrap(), Some(value(1, i, 50_000)));
    }
    drop(s);
    // a cap of 1 MiB with a map that cannot grow past 4x+64 MiB: sessions keep committing
    let t2 = tempfile::tempdir().unwrap();
    let dir2 = cache_dir(&t2);
    let opts = OpenOptions { max_size: Some(1 << 20), initial_map_size: Some(128 << 10), ..Default::default() };
    for tag in 0..20 {
        let mut s = Store::open(&dir2, NS, &opts).unwrap();
        for i in 0..8 {
            s.put(&key(tag, i), &value(tag, i, 60_000), meta("M")).unwrap();
        }
        s.commit().expect("commit with eviction");
        for i in 0..8 {
            assert_eq!(s.get(&key(tag, i)).unwrap(), Some(value(tag, i, 60_000)));
        }
    }
}

#[test]
fn bad_max_size_env_is_a_config_error() {
    // Only this test sets the variable, and it uses a store-less code path (resolve).
    let t = tempfile::tempdir().unwrap();
    let e = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "env_child", "--nocapture"])
        .env("REC_CHILD", "bad-max-size")
        .env("REC_DIR", cache_dir(&t))
        .env("RUSTC_EXPAND_CACHE_MAX_SIZE", "lots")
        .output()
        .unwrap();
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stdout));
}

#[test]
fn env_child() {
    if std::env::var("REC_CHILD").as_deref() != Ok("bad-max-size") {
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var("REC_DIR").unwrap());
    let e = Store::open(&dir, NS, &OpenOptions::default()).err().expect("bad cap must fail");
    assert_eq!(e.code(), E_BAD_CONFIG);
    let msg = e.to_string();
    assert!(msg.contains("RUSTC_EXPAND_CACHE_MAX_SIZE") && msg.contains("lots"), "{msg}");
}

#[test]
fn corrupt_value_is_a_miss_and_verify_removes_it() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    populate(&dir, 7, 5, 3000);
    // flip bytes inside one value, found by its unique content
    let needle = value(7, 3, 3000);
    let mut data = fs::read(dir.join("data.mdb")).unwrap();
    let pos = data.windows(64).position(|w| w == &needle[1000..1064]).expect("value on disk");
    data[pos + 10] ^= 0xFF;
    fs::write(dir.join("data.mdb"), &data).unwrap();
    let mut s = open(&dir);
    assert_eq!(s.get(&key(7, 3)).unwrap(), None, "a damaged value must never be returned");
    assert_eq!(s.get(&key(7, 2)).unwrap(), Some(value(7, 2, 3000)));
    drop(s);
    let c = Cache::open(&dir, &OpenOptions::default()).unwrap();
    let r = c.verify(true).unwrap();
    assert_eq!(r.checked, 5);
    assert_eq!(r.bad.len(), 1, "{:?}", r.bad);
    assert!(!r.removed);
    let r = c.verify(false).unwrap();
    assert!(r.removed);
    assert!(c.verify(false).unwrap().bad.is_empty());
    assert_eq!(c.stats().unwrap().entries, 4);
}

#[test]
fn corrupt_header_or_truncated_file_is_quarantined_then_fresh() {
    for damage in ["header", "truncate", "garbage"] {
        let t = tempfile::tempdir().unwrap();
        let dir = cache_dir(&t);
        populate(&dir, 1, 50, 5000);
        let p = dir.join("data.mdb");
        let mut data = fs::read(&p).unwrap();
        match damage {
            "header" => data[16..24].copy_from_slice(b"garbage!"),
            "truncate" => data.truncate(data.len() / 2),
            _ => {
                let n = data.len();
                for b in &mut data[0..n] {
                    *b = b.wrapping_mul(31).wrapping_add(7);
                }
            }
        }
        fs::write(&p, &data).unwrap();
        let e = Store::open(&dir, NS, &OpenOptions::default()).err().unwrap_or_else(|| panic!("{damage}: corrupt store opened"));
        assert_eq!(e.code(), E_CORRUPT, "{damage}: {e}");
        let q = fs::read_dir(dir.join("quarantine")).unwrap().count();
        assert_eq!(q, 1, "{damage}: store not moved aside");
        // next open starts fresh
        let mut s = open(&dir);
        assert_eq!(s.get(&key(1, 1)).unwrap(), None);
        s.put(b"k", b"v", meta("M")).unwrap();
        s.commit().unwrap();
        assert_eq!(s.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
    }
}

#[test]
fn dead_writer_marker_triggers_a_check_not_a_wipe() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    populate(&dir, 1, 10, 1000);
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let marker = dir.join(format!("{}{pid}-0", guard::MARKER_PREFIX));
    fs::write(&marker, format!("{pid}\n")).unwrap();
    let mut s = open(&dir);
    assert!(!marker.exists(), "stale marker should be cleared after a passing check");
    assert!(!dir.join("quarantine").exists());
    for i in 0..10 {
        assert_eq!(s.get(&key(1, i)).unwrap(), Some(value(1, i, 1000)));
    }
}

#[test]
fn gc_older_than_and_namespace_and_clear() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    populate(&dir, 1, 10, 1000);
    let mut b = Store::open(&dir, "other compiler", &OpenOptions::default()).unwrap();
    b.put(b"k", b"v", meta("M")).unwrap();
    b.commit().unwrap();
    let c = Cache::open(&dir, &OpenOptions::default()).unwrap();
    // nothing is a day old
    let r = c.gc(&GcOptions { older_than: Some(std::time::Duration::from_secs(86400)), ..Default::default() }).unwrap();
    assert_eq!(r.expired.entries, 0);
    // everything is older than "0s" in namespace B only
    let ns = c.resolve_namespace("other compiler").unwrap();
    let r = c.gc(&GcOptions { older_than: Some(std::time::Duration::ZERO), namespace: Some(ns), ..Default::default() }).unwrap();
    assert_eq!(r.expired.entries, 1);
    assert_eq!(c.stats().unwrap().entries, 10);
    // evict down to ~nothing
    let r = c.gc(&GcOptions { max_size: Some(1), ..Default::default() }).unwrap();
    assert_eq!(r.evicted.entries, 10);
    populate(&dir, 2, 5, 100);
    assert_eq!(c.clear(None).unwrap(), 5);
    assert_eq!(c.stats().unwrap().entries, 0);
}

#[test]
fn export_is_deterministic_and_import_merges() {
    let t = tempfile::tempdir().unwrap();
    let (d1, d2, d3) = (t.path().join("one"), t.path().join("two"), t.path().join("three"));
    // same logical content, different insertion order, sessions and hit counts
    populate(&d1, 1, 20, 700);
    for i in (0..20).rev() {
        let mut s = open(&d2);
        s.put(&key(1, i), &value(1, i, 700), meta(if i % 2 == 0 { "Serialize" } else { "Deserialize" })).unwrap();
        s.commit().unwrap();
        assert!(s.get(&key(1, i)).unwrap().is_some());
        s.commit().unwrap();
    }
    let mut other = Store::open(&d2, "unrelated", &OpenOptions::default()).unwrap();
    other.put(b"x", b"y", meta("M")).unwrap();
    other.commit().unwrap();
    let c1 = Cache::open(&d1, &OpenOptions::default()).unwrap();
    let c2 = Cache::open(&d2, &OpenOptions::default()).unwrap();
    let ns = c2.resolve_namespace(NS).unwrap();
    let (mut e1, mut e2) = (Vec::new(), Vec::new());
    c1.export(Some(ns), &mut e1).unwrap();
    c2.export(Some(ns), &mut e2).unwrap();
    assert_eq!(e1, e2, "export must be byte-identical for the same content");
    let mut again = Vec::new();
    c1.export(None, &mut again).unwrap();
    assert_eq!(e1, again);
    // import into an empty store, then re-export: identical
    let c3 = Cache::open_or_create(&d3, &OpenOptions::default()).unwrap();
    let r = c3.import(&e1).unwrap();
    assert_eq!((r.namespaces, r.entries, r.skipped), (1, 20, 0));
    let r = c3.import(&e1).unwrap();
    assert_eq!((r.entries, r.skipped), (0, 20));
    let mut e3 = Vec::new();
    c3.export(None, &mut e3).unwrap();
    assert_eq!(e1, e3);
    let mut s = open(&d3);
    assert_eq!(s.get(&key(1, 5)).unwrap(), Some(value(1, 5, 700)));
    // a damaged export is refused
    let mut bad = e1.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    assert!(c3.import(&bad).is_err());
    assert!(c3.import(&e1[..e1.len() - 3]).is_err());
}

#[test]
fn damaged_tree_is_quarantined_by_the_crash_check_or_on_first_read() {
    for with_dead_marker in [true, false] {
        let t = tempfile::tempdir().unwrap();
        let dir = cache_dir(&t);
        populate(&dir, 1, 400, 100);
        assert!(break_leaf_pages(&dir, b"key-1-") > 0);
        if with_dead_marker {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            fs::write(dir.join(format!("{}{pid}-0", guard::MARKER_PREFIX)), "").unwrap();
            // the check after a crashed writer walks the tree and finds the damage
            let e = Store::open(&dir, NS, &OpenOptions::default()).err().expect("damaged store opened");
            assert_eq!(e.code(), E_CORRUPT, "{e}");
        } else {
            // no crash marker: the store opens, and the first read of a damaged page
            // quarantines it instead of returning anything
            let mut s = open(&dir);
            let e = s.get(&key(1, 7)).expect_err("read of a damaged page succeeded");
            assert_eq!(e.code(), E_CORRUPT, "{e}");
        }
        assert_eq!(fs::read_dir(dir.join("quarantine")).unwrap().count(), 1);
        let mut s = open(&dir);
        assert_eq!(s.get(&key(1, 7)).unwrap(), None);
        s.put(b"k", b"v", meta("M")).unwrap();
        s.commit().unwrap();
    }
}

#[test]
fn corruption_found_in_use_moves_that_store_aside_once_and_never_a_fresh_one() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    populate(&dir, 1, 400, 100);
    assert!(break_leaf_pages(&dir, b"key-1-") > 0);
    let mut damaged = open(&dir);
    let e = (0..400).find_map(|i| damaged.get(&key(1, i)).err()).expect("a lookup reaches a broken page");
    assert_eq!(e.code(), E_CORRUPT, "{e}");
    assert!(e.to_string().contains("moved aside"), "{e}");
    let quarantined = || fs::read_dir(dir.join("quarantine")).map_or(0, |d| d.count());
    assert_eq!(quarantined(), 1);
    // Another session (here: another handle after the first one's failure) starts afresh.
    let mut fresh = open(&dir);
    fresh.put(b"fresh", b"entry", meta("M")).unwrap();
    fresh.commit().unwrap();
    // The damaged handle keeps failing, without touching the fresh store.
    let e = damaged.get(&key(1, 0)).unwrap_err();
    assert_eq!(e.code(), E_CORRUPT, "{e}");
    assert!(!e.to_string().contains("moved aside"), "{e}");
    damaged.put(b"late", b"write", meta("M")).unwrap();
    assert_eq!(damaged.commit().unwrap_err().code(), E_CORRUPT);
    assert_eq!(quarantined(), 1, "a fresh store was moved aside");
    drop((damaged, fresh));
    let mut again = open(&dir);
    assert_eq!(again.get(b"fresh").unwrap().as_deref(), Some(&b"entry"[..]));
    assert_eq!(again.get(b"late").unwrap(), None);
}
