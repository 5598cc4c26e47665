//! Several compiler processes on one cache directory, and a writer killed with SIGKILL
//! in the middle of its batches. Children are this test executable re-run with
//! `REC_CHILD` set; they use the cdylib through the C ABI like rustc does.

mod common;
use common::abi::*;
use common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const WRITERS: u64 = 4;
const SESSIONS: u64 = 12;
const PER_SESSION: u64 = 10;

fn child(role: &str, dir: &std::path::Path, extra: &[(&str, String)]) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child_main", "--nocapture", "--test-threads=1"]).env("REC_CHILD", role).env("REC_DIR", dir);
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

fn size_of(tag: u64, i: u64) -> usize {
    // 100 B .. ~40 KB
    100 + ((tag * 7919 + i * 104_729) % 40_000) as usize
}

#[test]
fn concurrent_writers_and_readers_lose_nothing() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    let kids: Vec<_> = (0..WRITERS)
        .map(|w| child("rw", &dir, &[("REC_WRITER", w.to_string())]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for k in kids {
        let out = k.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    assert!(!dir.join("quarantine").exists(), "concurrent first opens must not look like corruption");
    // every committed entry of every writer is there, exact
    let api = Api::load();
    let s = api.open(&dir, NS, 1).unwrap();
    for w in 0..WRITERS {
        for sess in 0..SESSIONS {
            let tag = w * 1000 + sess;
            for i in 0..PER_SESSION {
                assert_eq!(api.get(s, &key(tag, i)), Ok(Some(value(tag, i, size_of(tag, i)))), "writer {w} session {sess} entry {i}");
            }
        }
    }
    api.close(s);
    let c = rustc_expand_cache::Cache::open(&dir, &Default::default()).unwrap();
    assert_eq!(c.stats().unwrap().entries, WRITERS * SESSIONS * PER_SESSION);
    assert!(c.verify(true).unwrap().bad.is_empty());
}

#[test]
fn writer_killed_mid_batch_leaves_only_whole_sessions() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    let mut kid = child("endless", &dir, &[]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(kid.stdout.take().unwrap()).lines();
    let mut reported = Vec::new();
    // wait for a few commits (by count, not by time), then SIGKILL as soon as the child
    // says it is entering the next commit (10 MB): often that kills it inside the write
    // transaction or while it waits for the write lock, but wherever it lands the
    // assertions below must hold.
    loop {
        let l = lines.next().expect("child ended early").unwrap();
        if let Some(n) = l.strip_prefix("committed ") {
            reported.push(n.parse::<u64>().unwrap());
        }
        if l.starts_with("committing ") && reported.len() >= 5 {
            break;
        }
    }
    kid.kill().unwrap(); // SIGKILL
    kid.wait().unwrap();
    let last = *reported.last().unwrap();
    let api = Api::load();
    let s = api.open(&dir, NS, 0).expect("store must open after a killed writer");
    assert!(!dir.join("quarantine").exists(), "a healthy store was quarantined");
    // sessions reported committed: complete and exact
    for sess in 0..=last {
        for i in 0..50 {
            assert_eq!(api.get(s, &key(sess, i)), Ok(Some(value(sess, i, 200_000))), "session {sess} entry {i} lost");
        }
    }
    // later sessions: all or nothing, never half-written
    for sess in last + 1..last + 4 {
        let present: Vec<bool> = (0..50)
            .map(|i| match api.get(s, &key(sess, i)) {
                Ok(Some(v)) => {
                    assert_eq!(v, value(sess, i, 200_000), "half-written value returned");
                    true
                }
                Ok(None) => false,
                Err(e) => panic!("error {e}"),
            })
            .collect();
        assert!(present.iter().all(|p| *p) || present.iter().all(|p| !*p), "session {sess} partially committed: {present:?}");
    }
    // the store still takes writes, and the marker of the dead writer is gone
    assert_eq!(api.put(s, b"after", b"crash", "M", 1), 0);
    assert_eq!(api.commit(s), 0);
    api.close(s);
    let markers = std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".writer-")).count();
    assert_eq!(markers, 0);
}

#[test]
fn full_disk_fails_the_commit_cleanly_and_keeps_the_store() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    {
        let api = Api::load();
        let s = api.open(&dir, NS, 0).unwrap();
        for i in 0..20 {
            assert_eq!(api.put(s, &key(1, i), &value(1, i, 5_000), "Serialize", 1000), 0);
        }
        assert_eq!(api.commit(s), 0);
        api.close(s);
    }
    // The child limits the size of the files it may write (RLIMIT_FSIZE): writes past
    // the limit fail with EFBIG, as on a full disk.
    let out = child("full-disk", &dir, &[]).output().unwrap();
    assert!(out.status.success(), "child failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("commit failed with -1"), "{}", String::from_utf8_lossy(&out.stdout));
    // nothing committed was lost, nothing of the failed batch is visible
    let api = Api::load();
    let s = api.open(&dir, NS, 0).unwrap();
    for i in 0..20 {
        assert_eq!(api.get(s, &key(1, i)), Ok(Some(value(1, i, 5_000))));
    }
    for i in 0..200 {
        assert_eq!(api.get(s, &key(2, i)), Ok(None), "entry {i} of the failed batch is visible");
    }
    // and with space again, writing works
    assert_eq!(api.put(s, b"later", b"ok", "M", 1), 0);
    assert_eq!(api.commit(s), 0);
    api.close(s);
    assert!(!dir.join("quarantine").exists());
}

/// Entry point of the child processes (a no-op in a normal test run).
#[test]
fn child_main() {
    let Ok(role) = std::env::var("REC_CHILD") else { return };
    let dir = PathBuf::from(std::env::var("REC_DIR").unwrap());
    let api = Api::load();
    match role.as_str() {
        "rw" => {
            let w: u64 = std::env::var("REC_WRITER").unwrap().parse().unwrap();
            for sess in 0..SESSIONS {
                let tag = w * 1000 + sess;
                let s = api.open(&dir, NS, 0).unwrap_or_else(|e| panic!("open: {e:?}"));
                // read what the other writers have committed so far: never wrong bytes
                for other in 0..WRITERS {
                    for os in 0..SESSIONS {
                        let otag = other * 1000 + os;
                        match api.get(s, &key(otag, 0)) {
                            Ok(Some(v)) => assert_eq!(v, value(otag, 0, size_of(otag, 0))),
                            Ok(None) => {}
                            Err(e) => panic!("get error {e}: {}", api.error(s)),
                        }
                    }
                }
                for i in 0..PER_SESSION {
                    assert_eq!(api.put(s, &key(tag, i), &value(tag, i, size_of(tag, i)), "Serialize", 1000), 0);
                }
                let rc = api.commit(s);
                assert_eq!(rc, 0, "commit: {}", api.error(s));
                // own entries visible right after commit
                assert_eq!(api.get(s, &key(tag, PER_SESSION - 1)), Ok(Some(value(tag, PER_SESSION - 1, size_of(tag, PER_SESSION - 1)))));
                api.close(s);
            }
        }
        "endless" => {
            use std::io::Write;
            for sess in 0.. {
                let s = api.open(&dir, NS, 0).unwrap();
                for i in 0..50 {
                    assert_eq!(api.put(s, &key(sess, i), &value(sess, i, 200_000), "Serialize", 1000), 0);
                }
                {
                    let mut o = std::io::stdout().lock();
                    writeln!(o, "committing {sess}").unwrap();
                    o.flush().unwrap();
                }
                assert_eq!(api.commit(s), 0, "{}", api.error(s));
                api.close(s);
                let mut o = std::io::stdout().lock();
                writeln!(o, "committed {sess}").unwrap();
                o.flush().unwrap();
            }
        }
        "full-disk" => {
            let len = std::fs::metadata(dir.join("data.mdb")).unwrap().len();
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit { rlim_cur: len + 64 * 1024, rlim_max: libc::RLIM_INFINITY };
                assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
            }
            let s = api.open(&dir, NS, 0).unwrap();
            for i in 0..200 {
                assert_eq!(api.put(s, &key(2, i), &value(2, i, 10_000), "Serialize", 1000), 0);
            }
            let rc = api.commit(s);
            println!("commit failed with {rc}: {}", api.error(s));
            assert!(rc < 0);
            // the handle is still usable for lookups
            assert_eq!(api.get(s, &key(1, 3)), Ok(Some(value(1, 3, 5_000))));
            assert_eq!(api.get(s, &key(2, 3)), Ok(Some(value(2, 3, 10_000))), "still buffered in this session");
            api.close(s);
        }
        other => panic!("unknown role {other}"),
    }
}
