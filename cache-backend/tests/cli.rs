//! The `rustc-expand-cache` CLI on a populated store.

mod common;
use common::*;
use rustc_expand_cache::{OpenOptions, Store};
use std::path::Path;
use std::process::{Command, Output};

fn cli(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rustc-expand-cache"));
    if let Some(d) = dir {
        c.arg("--dir").arg(d);
    }
    c.args(args).env_remove("RUSTC_EXPAND_CACHE_DIR").env_remove("CARGO_TARGET_DIR").env_remove("RUSTC_EXPAND_CACHE_MAX_SIZE");
    c.output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "status {:?}\nstdout:\n{}\nstderr:\n{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(o)).expect("valid JSON")
}

fn populated() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    populate(&dir, 1, 10, 2000);
    let mut s = Store::open(&dir, NS, &OpenOptions::default()).unwrap();
    for _ in 0..3 {
        assert!(s.get(&key(1, 0)).unwrap().is_some());
    }
    s.commit().unwrap();
    let mut o = Store::open(&dir, "rustc 1.94.0 other", &OpenOptions::default()).unwrap();
    o.put(b"k", &[7u8; 500], rustc_expand_cache::PutMeta { macro_crate: "thiserror_impl".into(), macro_name: "Error".into(), kind: rustc_expand_cache::MacroKind::Derive, expand_nanos: 5 }).unwrap();
    o.commit().unwrap();
    (t, dir)
}

#[test]
fn stats_human_and_json() {
    let (_t, dir) = populated();
    let out = ok(&cli(Some(&dir), &["stats"]));
    assert!(out.contains(NS), "{out}");
    assert!(out.contains("serde_derive::Serialize"), "{out}");
    assert!(out.contains("thiserror_impl::Error"), "{out}");
    assert!(out.contains("entries   11"), "{out}");
    let j = json(&cli(Some(&dir), &["stats", "--json"]));
    assert_eq!(j["entries"], 11);
    let nss = j["namespaces"].as_array().unwrap();
    assert_eq!(nss.len(), 2);
    let ns = nss.iter().find(|n| n["identity"] == NS).unwrap();
    assert_eq!(ns["entries"], 10);
    assert_eq!(ns["bytes"], 20_000);
    assert_eq!(ns["hits"], 3);
    assert_eq!(ns["saved_nanos"], 3_000_000);
    let ser = ns["macros"].as_array().unwrap().iter().find(|m| m["macro_name"] == "Serialize").unwrap();
    assert_eq!(ser["kind"], "derive");
    assert_eq!(ser["hits"], 3);
    // one namespace by id prefix
    let id = ns["id"].as_str().unwrap()[..8].to_string();
    let j = json(&cli(Some(&dir), &["--json", "stats", "--namespace", &id]));
    assert_eq!(j["namespaces"].as_array().unwrap().len(), 1);
}

#[test]
fn gc_by_size_age_and_namespace() {
    let (_t, dir) = populated();
    let j = json(&cli(Some(&dir), &["gc", "--json", "--older-than", "1day"]));
    assert_eq!(j["expired"]["entries"], 0);
    let j = json(&cli(Some(&dir), &["gc", "--json", "--older-than", "0s", "--namespace", "rustc 1.94.0 other"]));
    assert_eq!(j["expired"]["entries"], 1);
    let j = json(&cli(Some(&dir), &["gc", "--json", "--max-size", "1B"]));
    assert_eq!(j["evicted"]["entries"], 10);
    let out = ok(&cli(Some(&dir), &["gc"]));
    assert!(out.contains("evicted  0 entries"), "{out}");
    assert_eq!(json(&cli(Some(&dir), &["stats", "--json"]))["entries"], 0);
}

#[test]
fn verify_reports_and_removes_bad_entries() {
    let (_t, dir) = populated();
    let out = cli(Some(&dir), &["verify"]);
    assert!(ok(&out).contains("checked 11 entries: 0 bad"));
    // damage one value on disk
    let needle = value(1, 4, 2000);
    let p = dir.join("data.mdb");
    let mut d = std::fs::read(&p).unwrap();
    let pos = d.windows(32).position(|w| w == &needle[500..532]).unwrap();
    d[pos] ^= 1;
    std::fs::write(&p, d).unwrap();
    let o = cli(Some(&dir), &["verify", "--dry-run", "--json"]);
    assert_eq!(o.status.code(), Some(3));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["bad"].as_array().unwrap().len(), 1);
    assert_eq!(j["removed"], false);
    let o = cli(Some(&dir), &["verify"]);
    assert_eq!(o.status.code(), Some(3));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("BAD") && s.contains("checksum") && s.contains("removed"), "{s}");
    assert!(ok(&cli(Some(&dir), &["verify"])).contains("checked 10 entries: 0 bad"));
}

#[test]
fn verify_quarantines_a_corrupt_store() {
    let (_t, dir) = populated();
    let p = dir.join("data.mdb");
    let mut d = std::fs::read(&p).unwrap();
    d.truncate(8192 + 100);
    std::fs::write(&p, d).unwrap();
    let o = cli(Some(&dir), &["verify"]);
    assert_eq!(o.status.code(), Some(3));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("CORRUPT") && s.contains("moved the store aside"), "{s}");
    assert!(!p.exists());
    assert!(dir.join("quarantine").is_dir());
}

#[test]
fn clear_all_and_one_namespace() {
    let (_t, dir) = populated();
    let j = json(&cli(Some(&dir), &["clear", "--json", "--namespace", "rustc 1.94.0 other"]));
    assert_eq!(j["removed"], 1);
    assert_eq!(json(&cli(Some(&dir), &["stats", "--json"]))["namespaces"].as_array().unwrap().len(), 1);
    let out = ok(&cli(Some(&dir), &["clear"]));
    assert!(out.contains("removed 10 entries"), "{out}");
    assert_eq!(json(&cli(Some(&dir), &["stats", "--json"]))["entries"], 0);
}

#[test]
fn export_import_roundtrip_is_byte_identical() {
    let (t, dir) = populated();
    let e1 = t.path().join("a.rec");
    let e2 = t.path().join("b.rec");
    let j = json(&cli(Some(&dir), &["export", "--json", "-o", e1.to_str().unwrap()]));
    assert_eq!(j["entries"], 11);
    let other = t.path().join("other-cache");
    let j = json(&cli(Some(&other), &["import", "--json", e1.to_str().unwrap()]));
    assert_eq!(j["entries"], 11);
    ok(&cli(Some(&other), &["export", "-o", e2.to_str().unwrap()]));
    assert_eq!(std::fs::read(&e1).unwrap(), std::fs::read(&e2).unwrap());
    // one namespace to stdout
    let o = cli(Some(&dir), &["export", "--namespace", NS, "-o", "-"]);
    let bytes = o.stdout.clone();
    ok(&o);
    assert!(bytes.starts_with(b"RUSTC-EXPAND-CACHE-EXPORT\n"));
    assert!(bytes.len() < std::fs::read(&e1).unwrap().len());
    // importing garbage fails cleanly
    std::fs::write(t.path().join("junk"), b"not an export").unwrap();
    let o = cli(Some(&other), &["import", t.path().join("junk").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad export file"));
}

#[test]
fn path_resolution_order() {
    let t = tempfile::tempdir().unwrap();
    let run = |cwd: &Path, envs: &[(&str, &str)], args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rustc-expand-cache"));
        c.current_dir(cwd).env_remove("RUSTC_EXPAND_CACHE_DIR").env_remove("CARGO_TARGET_DIR");
        for (k, v) in envs {
            c.env(k, v);
        }
        c.args(args).output().unwrap()
    };
    let proj = t.path().join("proj");
    let sub = proj.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    // nothing to find
    let o = run(&sub, &[], &["path"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--dir"), "{}", String::from_utf8_lossy(&o.stderr));
    // a built Cargo project
    std::fs::create_dir_all(proj.join("target")).unwrap();
    std::fs::write(proj.join("target/CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55").unwrap();
    let o = run(&sub, &[], &["path"]);
    assert_eq!(ok(&o).trim(), proj.join("target/expand-cache").to_str().unwrap());
    // CARGO_TARGET_DIR beats the project
    let o = run(&sub, &[("CARGO_TARGET_DIR", "/tmp/tgt")], &["path"]);
    assert_eq!(ok(&o).trim(), "/tmp/tgt/expand-cache");
    // RUSTC_EXPAND_CACHE_DIR beats both
    let o = run(&sub, &[("CARGO_TARGET_DIR", "/tmp/tgt"), ("RUSTC_EXPAND_CACHE_DIR", "/tmp/rec")], &["path", "--json"]);
    let j: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(j["dir"], "/tmp/rec");
    assert_eq!(j["source"], "RUSTC_EXPAND_CACHE_DIR");
    // --dir beats everything
    let o = run(&sub, &[("RUSTC_EXPAND_CACHE_DIR", "/tmp/rec")], &["--dir", "/x/y", "path"]);
    assert_eq!(ok(&o).trim(), "/x/y");
}

#[test]
fn bad_arguments_fail_clearly() {
    let (_t, dir) = populated();
    for (args, needle) in [
        (&["frobnicate"][..], "unrecognized subcommand"),
        (&["gc", "--max-size", "lots"], "--max-size"),
        (&["gc", "--older-than", "soon"], "--older-than"),
        (&["stats", "--bogus"], "unexpected argument"),
        (&[], "Usage"),
    ] {
        let o = cli(Some(&dir), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(needle), "{args:?}: {e}");
    }
    // runtime errors: exit 1 with a message
    let o = cli(Some(&dir), &["stats", "--namespace", "no such compiler"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no namespace"));
    for cmd in ["stats", "clear", "path"] {
        let o = cli(Some(&dir.join("data.mdb")), &[cmd]);
        assert_eq!(o.status.code(), Some(1), "{cmd} on a file");
        assert!(String::from_utf8_lossy(&o.stderr).contains("is not a directory"), "{cmd}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = cli(Some(&dir.join("missing")), &["stats"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no expansion cache"));
    let o = Command::new(env!("CARGO_BIN_EXE_rustc-expand-cache")).arg("--dir").arg(&dir).arg("gc").env("RUSTC_EXPAND_CACHE_MAX_SIZE", "huge").output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RUSTC_EXPAND_CACHE_MAX_SIZE"));
    // help works
    assert!(ok(&cli(None, &["--help"])).contains("verify"));
}

#[test]
fn heavy_eviction_then_reopen_is_not_mistaken_for_corruption() {
    // Regression: after mass deletes the newest meta page may name pages that were
    // never written (freed within the transaction), so the file is shorter than
    // last_pg; that must not be taken for a truncated store.
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    for round in 0..4u64 {
        for ns in ["ns a", "ns b"] {
            let mut s = Store::open(&dir, ns, &OpenOptions::default()).unwrap();
            for i in 0..40u64 {
                let k = key(round, i);
                if s.get(&k).unwrap().is_none() {
                    s.put(&k, &value(round, i, 200 + (i as usize * 137) % 8000), meta("M")).unwrap();
                }
            }
            s.commit().unwrap();
        }
        ok(&cli(Some(&dir), &["gc", "--max-size", "20KiB"]));
        ok(&cli(Some(&dir), &["stats"]));
        ok(&cli(Some(&dir), &["clear", "--namespace", "ns a"]));
        ok(&cli(Some(&dir), &["verify"]));
        assert!(!dir.join("quarantine").exists(), "round {round}: healthy store quarantined");
    }
}

#[test]
fn logging_is_silent_by_default_and_follows_the_env_filter() {
    let (_t, dir) = populated();
    let o = cli(Some(&dir), &["stats"]);
    ok(&o);
    assert!(o.stderr.is_empty(), "stderr without RUSTC_EXPAND_CACHE_LOG: {}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(env!("CARGO_BIN_EXE_rustc-expand-cache")).arg("--dir").arg(&dir).arg("stats").env("RUSTC_EXPAND_CACHE_LOG", "debug").output().unwrap();
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("opened expansion cache"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn verify_walks_the_tree_in_a_child_and_quarantines_damage() {
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    populate(&dir, 1, 400, 100);
    assert!(break_leaf_pages(&dir, b"key-1-") > 0);
    // the header is fine: only the walk can see this
    assert!(rustc_expand_cache::guard::check_header(&dir.join("data.mdb")).is_ok());
    let o = cli(Some(&dir), &["verify", "--dry-run"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stdout).contains("CORRUPT"), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(dir.join("data.mdb").exists(), "--dry-run must not move anything");
    let o = cli(Some(&dir), &["verify", "--json"]);
    assert_eq!(o.status.code(), Some(3));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j["store_problems"][0].as_str().unwrap().contains("MDB_CORRUPTED"), "{j}");
    assert!(j["quarantined_to"].is_string());
    assert!(!dir.join("data.mdb").exists());
}

#[test]
fn stale_reader_slots_of_killed_processes_are_cleared_at_open() {
    use std::io::BufRead;
    let (_t, dir) = populated();
    // Keep the store open here: LMDB resets the reader table when the first process
    // opens the lock file, so stale slots only persist while other processes use it.
    let _holder = Store::open(&dir, NS, &OpenOptions::default()).unwrap();
    // a process that dies (SIGKILL) in the middle of a read transaction
    let mut kid = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "reader_child", "--nocapture"])
        .env("REC_CHILD", "reader")
        .env("REC_DIR", &dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(kid.stdout.take().unwrap()).lines();
    loop {
        let l = lines.next().expect("reader child ended early").unwrap();
        if l == "reading" {
            break;
        }
    }
    kid.kill().unwrap();
    kid.wait().unwrap();
    let run = || Command::new(env!("CARGO_BIN_EXE_rustc-expand-cache")).arg("--dir").arg(&dir).arg("stats").env("RUSTC_EXPAND_CACHE_LOG", "info").output().unwrap();
    let o = run();
    ok(&o);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("cleared stale reader slots") && e.contains("dead_readers=1"), "{e}");
    let o = run();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("stale reader"), "cleared once is cleared for good");
}

#[test]
fn reader_child() {
    if std::env::var("REC_CHILD").as_deref() != Ok("reader") {
        return;
    }
    use lmdb::Transaction;
    let dir = std::path::PathBuf::from(std::env::var("REC_DIR").unwrap());
    let env = lmdb::Environment::new().set_flags(lmdb::EnvironmentFlags::NO_TLS).set_max_dbs(4).set_map_size(1 << 30).open(&dir).unwrap();
    let db = env.open_db(Some("entries")).unwrap();
    let txn = env.begin_ro_txn().unwrap();
    let _ = txn.get(db, &b"x");
    println!("reading");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
}

#[test]
fn verify_moves_aside_only_a_damaged_store() {
    use std::os::unix::fs::PermissionsExt;
    let still_there = |dir: &Path, why: &str| {
        assert!(dir.join("data.mdb").exists(), "{why}: the store was moved");
        assert!(!dir.join("quarantine").exists(), "{why}: a quarantine dir was made");
    };
    // A bad configuration is an error of the command, not of the store.
    let (_t, dir) = populated();
    let o = Command::new(env!("CARGO_BIN_EXE_rustc-expand-cache")).arg("--dir").arg(&dir).arg("verify").env("RUSTC_EXPAND_CACHE_MAX_SIZE", "bogus").output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("RUSTC_EXPAND_CACHE_MAX_SIZE"), "{}", String::from_utf8_lossy(&o.stderr));
    still_there(&dir, "bad RUSTC_EXPAND_CACHE_MAX_SIZE");
    // An untrusted directory is refused, and nothing is written into it.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
    let o = cli(Some(&dir), &["verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("untrusted"), "{}", String::from_utf8_lossy(&o.stderr));
    still_there(&dir, "group-writable dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    ok(&cli(Some(&dir), &["verify"]));
    // An empty data file is a store another process is creating.
    let t = tempfile::tempdir().unwrap();
    let dir = cache_dir(&t);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::File::create(dir.join("data.mdb")).unwrap();
    let o = cli(Some(&dir), &["verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("empty"), "{}", String::from_utf8_lossy(&o.stderr));
    still_there(&dir, "empty data file");
}

#[test]
fn export_writes_through_links_and_into_pipes_and_keeps_its_report_off_the_data() {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let (t, dir) = populated();
    let reference = t.path().join("reference.rec");
    ok(&cli(Some(&dir), &["export", "-o", reference.to_str().unwrap()]));
    let expected = std::fs::read(&reference).unwrap();
    // `--json` to stdout: the data alone on stdout, the report on stderr.
    let o = cli(Some(&dir), &["--json", "export", "-o", "-"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, expected, "stdout is not the export alone");
    let report: serde_json::Value = serde_json::from_slice(&o.stderr).expect("the report on stderr");
    assert_eq!(report["entries"], 11);
    // Through a symlink: the link stays, its target gets the export, no temp file is left.
    let real = t.path().join("real.rec");
    let link = t.path().join("link.rec");
    std::fs::write(&real, b"old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    ok(&cli(Some(&dir), &["export", "-o", link.to_str().unwrap()]));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the symlink was replaced");
    assert_eq!(std::fs::read(&real).unwrap(), expected);
    let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.contains(".tmp")), "{names:?}");
    // Into a named pipe: written in place (the pipe is still a pipe).
    let fifo = t.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rustc-expand-cache")).arg("--dir").arg(&dir).args(["export", "-o"]).arg(&fifo).stdout(std::process::Stdio::null()).spawn().unwrap();
    let (mut got, mut buf) = (Vec::new(), [0u8; 65536]);
    let status = loop {
        let exited = child.try_wait().unwrap();
        match reader.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            Ok(_) => match exited {
                Some(status) => break status,
                None => std::thread::sleep(std::time::Duration::from_millis(2)),
            },
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(std::time::Duration::from_millis(2)),
            Err(e) => panic!("{e}"),
        }
    };
    assert!(status.success());
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the pipe was replaced");
    assert_eq!(got, expected);
}

#[test]
fn a_closed_stdout_ends_the_cli_quietly() {
    use std::os::unix::io::FromRawFd;
    use std::os::unix::process::ExitStatusExt;
    let (_t, dir) = populated();
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) };
    let write_end = unsafe { std::process::Stdio::from_raw_fd(fds[1]) };
    let o = Command::new(env!("CARGO_BIN_EXE_rustc-expand-cache")).arg("--dir").arg(&dir).arg("stats").stdout(write_end).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.signal(), Some(libc::SIGPIPE), "{:?}: {err}", o.status);
}

#[test]
fn bad_log_filter_is_an_error_naming_the_variable() {
    let (_t, dir) = populated();
    for bad in ["[[", "info,foo=bar=baz"] {
        let o = Command::new(env!("CARGO_BIN_EXE_rustc-expand-cache")).arg("--dir").arg(&dir).arg("stats").env("RUSTC_EXPAND_CACHE_LOG", bad).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("RUSTC_EXPAND_CACHE_LOG") && err.contains(bad), "{bad}: {err}");
    }
}

#[test]
fn an_age_too_large_to_count_expires_nothing() {
    let (_t, dir) = populated();
    // 2^64 ms: what a cast to u64 milliseconds would turn into an age of 0, everything.
    let j = json(&cli(Some(&dir), &["gc", "--json", "--older-than", "18446744073709551s 616ms"]));
    assert_eq!(j["expired"]["entries"], 0, "{j}");
    assert_eq!(json(&cli(Some(&dir), &["stats", "--json"]))["entries"], 11);
}
