//! The proc-macro expansion cache, end to end: fixture crates built with the patched compiler,
//! hit/miss counts read from the `RUSTC_EXPAND_CACHE_REPORT` file.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use rec_e2e::{Fixture, text};

/// One session's counters from the report file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    hits: u64,
    misses: u64,
    stored: u64,
    uncacheable: u64,
}

/// A fixture with a report file; every build clears the report first.
struct Cached {
    fx: Fixture,
    report: PathBuf,
}

impl Cached {
    fn new(name: &str) -> Cached {
        let fx = Fixture::new(name);
        let report = fx.path().join("expand-cache-report.txt");
        Cached { fx, report }
    }

    fn path(&self) -> &Path {
        self.fx.path()
    }

    /// Runs cargo with the report enabled and extra environment; returns the output and the
    /// counters per crate (summed over the sessions of that crate).
    fn run_env<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        envs: &[(&str, &str)],
    ) -> (Output, Vec<(String, Counts)>) {
        let _ = std::fs::remove_file(&self.report);
        let mut cmd = self.fx.cargo(args);
        cmd.env("RUSTC_EXPAND_CACHE_REPORT", &self.report);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("spawn cargo");
        (out, read_report(&self.report))
    }

    fn ok_env<S: AsRef<OsStr>>(&self, args: &[S], envs: &[(&str, &str)]) -> (Output, Vec<(String, Counts)>) {
        let (out, counts) = self.run_env(args, envs);
        assert!(out.status.success(), "cargo failed in {}:\n{}", self.path().display(), text(&out));
        (out, counts)
    }

    /// Runs cargo successfully and returns the counters of `krate`.
    fn counts<S: AsRef<OsStr>>(&self, args: &[S], krate: &str) -> Counts {
        let (out, counts) = self.ok_env(args, &[]);
        of(&counts, krate, &out)
    }

    fn edit(&self, file: &str, f: impl FnOnce(String) -> String) {
        let path = self.path().join(file);
        let old = std::fs::read_to_string(&path).expect("read fixture file");
        let new = f(old.clone());
        assert_ne!(old, new, "edit changed nothing");
        std::fs::write(&path, new).expect("write fixture file");
        bump_mtime(&path);
    }

    fn touch(&self, file: &str) {
        bump_mtime(&self.path().join(file));
    }

    /// Runs `rustc-expand-cache <command>` on the fixture's cache and returns its stdout.
    fn cache_cli(&self, command: &str) -> String {
        let cli = rec_e2e::toolchain().join("bin/rustc-expand-cache");
        let out = std::process::Command::new(cli)
            .args(["--dir", "target/expand-cache", command])
            .current_dir(self.path())
            .output()
            .unwrap_or_else(|e| panic!("rustc-expand-cache {command}: {e}"));
        assert!(out.status.success(), "rustc-expand-cache {command}:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Makes sure cargo sees the file as modified even within its mtime granularity.
fn bump_mtime(path: &Path) {
    let f = std::fs::File::options().append(true).open(path).expect("open");
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
    f.set_modified(t).expect("set mtime");
}

fn read_report(path: &Path) -> Vec<(String, Counts)> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let mut out: Vec<(String, Counts)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut krate = None;
        let mut c = Counts::default();
        for field in line.split_whitespace() {
            let (k, v) = field.split_once('=').unwrap_or_else(|| panic!("bad report line {line:?}"));
            let n = || v.parse::<u64>().unwrap_or_else(|_| panic!("bad report line {line:?}"));
            match k {
                "crate" => krate = Some(v.to_owned()),
                "hits" => c.hits = n(),
                "misses" => c.misses = n(),
                "stored" => c.stored = n(),
                "uncacheable" => c.uncacheable = n(),
                _ => {}
            }
        }
        let krate = krate.unwrap_or_else(|| panic!("no crate in report line {line:?}"));
        match out.iter_mut().find(|(k, _)| *k == krate) {
            Some((_, total)) => {
                total.hits += c.hits;
                total.misses += c.misses;
                total.stored += c.stored;
                total.uncacheable += c.uncacheable;
            }
            None => out.push((krate, c)),
        }
    }
    out
}

fn of(counts: &[(String, Counts)], krate: &str, out: &Output) -> Counts {
    counts
        .iter()
        .find(|(k, _)| k == krate)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| panic!("no report line for {krate}: {counts:?}\n{}", text(out)))
}

/// cargo's stderr without the lines that legitimately differ between runs.
fn diagnostics(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("Compiling")
                || t.starts_with("Checking")
                || t.starts_with("Finished")
                || t.starts_with("Fresh")
                || t.starts_with("Running")
                || t.starts_with("Doc-tests")
                || t.starts_with("Blocking")
                || t.starts_with("Locking")
                // The first build on a machine fetches the fixtures' dependencies.
                || t.starts_with("Updating")
                || t.starts_with("Downloading")
                || t.starts_with("Downloaded"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Invocations in the `cache-edges` library: 7 derives, 2 attributes, 8 bang macros.
const EDGES_INVOCATIONS: u64 = 17;
/// Of those, `debug_span!` formats a span with `Debug` and is never stored.
const EDGES_UNCACHEABLE: u64 = 1;

#[test]
fn cold_build_stores_and_rebuild_hits() {
    let c = Cached::new("cache-edges");
    let cold = c.counts(&["check", "--locked"], "cache_edges");
    assert_eq!(
        cold,
        Counts {
            hits: 0,
            misses: EDGES_INVOCATIONS,
            stored: EDGES_INVOCATIONS - EDGES_UNCACHEABLE,
            uncacheable: EDGES_UNCACHEABLE,
        }
    );
    assert!(c.path().join("target/expand-cache").is_dir(), "no store in the target dir");

    // No-op: cargo does not even run rustc.
    let (_, noop) = c.ok_env(&["check", "--locked"], &[]);
    assert!(noop.iter().all(|(k, _)| k != "cache_edges"), "{noop:?}");

    // Touch: rustc runs again, everything cacheable hits.
    c.touch("src/lib.rs");
    let warm = c.counts(&["check", "--locked"], "cache_edges");
    assert_eq!(
        warm,
        Counts {
            hits: EDGES_INVOCATIONS - EDGES_UNCACHEABLE,
            misses: EDGES_UNCACHEABLE,
            stored: 0,
            uncacheable: EDGES_UNCACHEABLE,
        }
    );
}

#[test]
fn line_shift_above_invocations_still_hits() {
    let c = Cached::new("cache-edges");
    let cold = c.counts(&["check", "--locked"], "cache_edges");
    assert_eq!(cold.stored, EDGES_INVOCATIONS - EDGES_UNCACHEABLE);
    c.edit("src/lib.rs", |s| {
        s.replacen("pub struct Thing;", "// shifted\n// by\n// three lines\npub struct Thing;", 1)
    });
    let warm = c.counts(&["check", "--locked"], "cache_edges");
    // `where_am_i!` asked for its line: that entry is stale, the macro runs again.
    assert_eq!(
        warm,
        Counts {
            hits: EDGES_INVOCATIONS - EDGES_UNCACHEABLE - 1,
            misses: EDGES_UNCACHEABLE + 1,
            stored: 1,
            uncacheable: EDGES_UNCACHEABLE,
        }
    );
    // The shifted spans are the new ones: the tests still pass.
    c.ok_env(&["test", "--locked"], &[]);
}

/// What turns on the `#[rustc_clean]` assertions that `cache-incremental`'s macros put on
/// the functions they make: rustc then fails the build when a query of one of them was
/// recomputed with a new result since the last session of the crate.
const RUSTC_CLEAN_ASSERTIONS: [(&str, &str); 2] =
    [("RUSTC_BOOTSTRAP", "1"), ("RUSTFLAGS", "--cfg rec_clean -Zquery-dep-graph")];

/// The `query(item)` pairs that rustc reports as recomputed with a new result, sorted.
fn not_clean(out: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut found: Vec<String> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error: `")?.strip_suffix("` should be clean but is not"))
        .map(str::to_owned)
        .collect();
    found.sort();
    found
}

/// A hit hands rustc the tokens and spans a run of the macro would, so rustc's incremental
/// reuse is what it is without the cache: after a touch, the functions a derive, an
/// attribute and a function-like macro made (all three hits) keep every query result of
/// the session that ran the macros; after a line shift, the cache makes rustc recompute
/// exactly what it recomputes with the cache off.
#[test]
fn warm_hits_keep_rustc_incremental_results() {
    let off = Cached::new("cache-incremental");
    let warm = Cached::new("cache-incremental");
    let off_env = [&RUSTC_CLEAN_ASSERTIONS[..], &[("RUSTC_EXPAND_CACHE", "off")]].concat();
    let check = ["check", "--locked"];
    off.ok_env(&check, &off_env);
    let (out, counts) = warm.ok_env(&check, &RUSTC_CLEAN_ASSERTIONS);
    assert_eq!(of(&counts, "cache_incremental", &out).stored, 3, "{}", text(&out));

    // A failed assertion fails the build, which ok_env reports with rustc's message.
    warm.touch("src/lib.rs");
    let (out, counts) = warm.ok_env(&check, &RUSTC_CLEAN_ASSERTIONS);
    assert_eq!(of(&counts, "cache_incremental", &out).hits, 3, "{}", text(&out));

    for c in [&off, &warm] {
        c.edit("src/lib.rs", |s| format!("// one line more above every invocation\n{s}"));
    }
    let off_out = off.run_env(&check, &off_env).0;
    let (warm_out, counts) = warm.run_env(&check, &RUSTC_CLEAN_ASSERTIONS);
    assert_eq!(of(&counts, "cache_incremental", &warm_out).hits, 3, "{}", text(&warm_out));
    let (warm_recomputed, off_recomputed) = (not_clean(&warm_out), not_clean(&off_out));
    assert_eq!(warm_recomputed, off_recomputed, "warm:\n{}\noff:\n{}", text(&warm_out), text(&off_out));
    // rustc's own behaviour, the same with rustup's stock 1.95.0: when the lines move, the
    // derive's method gets a new HIR hash; the function-like macro's function, the
    // attribute's item and the hand-written function do not. The benchmark's shift edit
    // pays this in every column (bench/README.md, "Why the shift edit misses 25%").
    assert_eq!(
        off_recomputed,
        ["generics_of(Point::describe)", "opt_hir_owner_nodes(Point::describe)"],
        "{}",
        text(&off_out)
    );
}

#[test]
fn serde_and_thiserror_cold_then_warm() {
    let c = Cached::new("cache-serde");
    // 5 types with Serialize + Deserialize, 1 thiserror derive (which uses span methods,
    // replayed on a hit).
    let cold = c.counts(&["check", "--locked"], "cache_serde");
    assert_eq!(cold, Counts { hits: 0, misses: 11, stored: 11, uncacheable: 0 });
    c.touch("src/lib.rs");
    let warm = c.counts(&["check", "--locked"], "cache_serde");
    assert_eq!(warm, Counts { hits: 11, misses: 0, stored: 0, uncacheable: 0 });
    // `cargo test` builds the crate with another `-C metadata`: it shares the entries.
    let (out, counts) = c.ok_env(&["test", "--locked"], &[]);
    let test = of(&counts, "cache_serde", &out);
    assert!(test.hits >= 11 && test.stored == 0, "{test:?}");
}

#[test]
fn edit_in_one_struct_misses_only_its_derives() {
    let c = Cached::new("cache-serde");
    let cold = c.counts(&["check", "--locked"], "cache_serde");
    c.edit("src/lib.rs", |s| s.replacen("// EDIT-POINT", "// moved\n// EDIT-POINT", 1));
    let shifted = c.counts(&["check", "--locked"], "cache_serde");
    assert_eq!(shifted.hits, cold.stored, "line shift: {shifted:?}");
    c.edit("src/lib.rs", |s| {
        s.replacen("// FIELD-POINT", "#[serde(default)]\n    pub z: i64, // FIELD-POINT", 1)
    });
    let edited = c.counts(&["check", "--locked"], "cache_serde");
    // `Point`'s Serialize and Deserialize run again, nothing else.
    let point_stored = 2.min(cold.stored);
    assert_eq!(edited.hits, cold.stored - point_stored, "{edited:?} after {cold:?}");
    assert_eq!(edited.stored, point_stored, "{edited:?}");
    c.ok_env(&["test", "--locked"], &[]);
}

/// The library artifacts of the fixture's own crate (rlib and rmeta) under target/debug/deps.
fn artifacts(dir: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let deps = dir.join("target/debug/deps");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&deps)
        .expect("deps dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(prefix) && (name.ends_with(".rlib") || name.ends_with(".rmeta"))
        })
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).expect("read")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no artifacts {prefix}* in {}", deps.display());
    files
}

/// The members of an `ar` archive, without the long-name table: codegen-unit object names
/// carry a random suffix even in two builds of the same input, their contents do not.
fn ar_members(data: &[u8]) -> Vec<(String, &[u8])> {
    assert!(data.starts_with(b"!<arch>\n"), "not an ar archive");
    let mut pos = 8;
    let mut out = Vec::new();
    while pos + 60 <= data.len() {
        let header = &data[pos..pos + 60];
        let name = String::from_utf8_lossy(&header[..16]).trim().to_owned();
        let size: usize = String::from_utf8_lossy(&header[48..58]).trim().parse().expect("ar size");
        let body = &data[pos + 60..pos + 60 + size];
        if name != "//" {
            let name = if name.starts_with('/') && name.len() > 1 { "<long name>".to_owned() } else { name };
            out.push((name, body));
        }
        pos += 60 + size + (size & 1);
    }
    out
}

fn assert_same_artifacts(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: different artifact sets");
    for ((na, da), (nb, db)) in a.iter().zip(b) {
        assert_eq!(na, nb, "{what}: different artifact names");
        if na.ends_with(".rlib") {
            let (ma, mb) = (ar_members(da), ar_members(db));
            assert_eq!(ma.len(), mb.len(), "{what}: {na}: different members");
            for ((ka, ca), (kb, cb)) in ma.iter().zip(&mb) {
                assert_eq!(ka, kb, "{what}: {na}: different members");
                assert!(ca == cb, "{what}: {na}: member {ka} differs ({} vs {} bytes)", ca.len(), cb.len());
            }
        } else {
            assert!(da == db, "{what}: {na} differs ({} vs {} bytes)", da.len(), db.len());
        }
    }
}

fn equivalence(fixture: &str, krate: &str, file: &str) {
    let c = Cached::new(fixture);
    let prefix = format!("lib{krate}-");
    let (off_out, off_counts) = c.ok_env(&["build", "--locked"], &[("RUSTC_EXPAND_CACHE", "off")]);
    assert!(off_counts.is_empty(), "cache off wrote a report: {off_counts:?}");
    let off = artifacts(c.path(), &prefix);

    c.touch(file);
    let (cold_out, cold_counts) = c.ok_env(&["build", "--locked"], &[]);
    let cold_c = of(&cold_counts, krate, &cold_out);
    assert!(cold_c.stored > 0, "{cold_c:?}");
    let cold = artifacts(c.path(), &prefix);

    c.touch(file);
    let (warm_out, warm_counts) = c.ok_env(&["build", "--locked"], &[]);
    let warm_c = of(&warm_counts, krate, &warm_out);
    assert_eq!(warm_c.hits, cold_c.stored, "{warm_c:?}");
    let warm = artifacts(c.path(), &prefix);

    assert_eq!(diagnostics(&off_out), diagnostics(&cold_out), "diagnostics: off vs cold");
    assert_eq!(diagnostics(&off_out), diagnostics(&warm_out), "diagnostics: off vs warm");
    assert_same_artifacts(&off, &cold, "off vs cold");
    assert_same_artifacts(&off, &warm, "off vs warm");

    // The fixture's own tests pass with a warm cache.
    let (test_out, _) = c.ok_env(&["test", "--locked"], &[]);
    assert!(text(&test_out).contains("test result: ok"), "{}", text(&test_out));
}

#[test]
fn equivalence_edges_off_cold_warm() {
    equivalence("cache-edges", "cache_edges", "src/lib.rs");
}

#[test]
fn equivalence_serde_off_cold_warm() {
    equivalence("cache-serde", "cache_serde", "src/lib.rs");
}

#[test]
fn printing_macro_is_never_cached_and_still_prints() {
    let c = Cached::new("cache-edges");
    for round in 0..2 {
        let (out, counts) = c.ok_env(&["build", "--locked", "--features", "print"], &[]);
        let n = of(&counts, "cache_edges", &out);
        assert_eq!(n.uncacheable, EDGES_UNCACHEABLE + 1, "round {round}: {n:?}");
        assert!(
            text(&out).contains("hello from a noisy proc macro"),
            "round {round}: the macro's output was lost:\n{}",
            text(&out)
        );
        c.touch("src/lib.rs");
    }
}

#[test]
fn panicking_macro_is_an_error_cold_and_warm() {
    let c = Cached::new("cache-edges");
    let mut errors = Vec::new();
    for _ in 0..2 {
        let (out, counts) = c.run_env(&["check", "--locked", "--features", "panic"], &[]);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("boom from a cached-edges proc macro"), "{}", text(&out));
        if let Some((_, n)) = counts.iter().find(|(k, _)| k == "cache_edges") {
            assert_eq!(n.stored + n.hits, EDGES_INVOCATIONS - EDGES_UNCACHEABLE, "{n:?}");
        }
        errors.push(diagnostics(&out));
        c.touch("src/lib.rs");
    }
    assert_eq!(errors[0], errors[1]);
}

#[test]
fn bad_settings_warn_and_build_uncached() {
    let c = Cached::new("cache-edges");
    let (out, counts) = c.ok_env(&["check", "--locked"], &[("RUSTC_EXPAND_CACHE", "maybe")]);
    let all = text(&out);
    assert!(all.contains("invalid value `maybe` for `RUSTC_EXPAND_CACHE`"), "{all}");
    assert!(counts.is_empty(), "{counts:?}");

    c.touch("src/lib.rs");
    let (out, counts) = c.ok_env(
        &["check", "--locked"],
        &[("RUSTC_EXPAND_CACHE_BACKEND", "/nonexistent/librustc_expand_cache.so")],
    );
    let all = text(&out);
    assert!(all.contains("warning: proc-macro expansion cache disabled:"), "{all}");
    let n = of(&counts, "cache_edges", &out);
    assert_eq!((n.hits, n.stored), (0, 0), "{n:?}");

    c.touch("src/lib.rs");
    let (out, _) = c.ok_env(&["check", "--locked"], &[("RUSTC_EXPAND_CACHE_VERIFY", "2")]);
    assert!(text(&out).contains("`RUSTC_EXPAND_CACHE_VERIFY`"), "{}", text(&out));

    // A backend setting: the backend refuses to open (-9), the compiler warns once.
    c.touch("src/lib.rs");
    let (out, counts) = c.ok_env(&["check", "--locked"], &[("RUSTC_EXPAND_CACHE_LOG", "info,x=y=z")]);
    let all = text(&out);
    assert_eq!(all.matches("RUSTC_EXPAND_CACHE_LOG").count(), 1, "{all}");
    // Named once, by the backend's message, with the status code beside it.
    assert_eq!(all.matches("bad configuration").count(), 1, "{all}");
    assert!(all.contains("(status -9)"), "{all}");
    let n = of(&counts, "cache_edges", &out);
    assert_eq!((n.hits, n.stored), (0, 0), "{n:?}");
}

#[test]
fn read_only_and_deny_list() {
    let c = Cached::new("cache-edges");
    let ro = {
        let (out, counts) = c.ok_env(&["check", "--locked"], &[("RUSTC_EXPAND_CACHE", "read-only")]);
        of(&counts, "cache_edges", &out)
    };
    assert_eq!((ro.hits, ro.stored), (0, 0), "{ro:?}");

    c.touch("src/lib.rs");
    let (out, counts) =
        c.ok_env(&["check", "--locked"], &[("RUSTC_EXPAND_CACHE_DENY", "cache_edges_macros::echo")]);
    let denied = of(&counts, "cache_edges", &out);
    // The three `echo!` invocations are refused before lookup.
    assert_eq!(denied.uncacheable, EDGES_UNCACHEABLE + 3, "{denied:?}");
    assert_eq!(denied.stored, EDGES_INVOCATIONS - EDGES_UNCACHEABLE - 3, "{denied:?}");

    c.touch("src/lib.rs");
    let (out, counts) = c.ok_env(&["check", "--locked"], &[("RUSTC_EXPAND_CACHE", "read-only")]);
    let ro = of(&counts, "cache_edges", &out);
    assert_eq!(ro.hits, EDGES_INVOCATIONS - EDGES_UNCACHEABLE - 3, "{ro:?}");
    assert_eq!(ro.stored, 0, "{ro:?}");
}

/// Runs `git` in the fixture's directory.
fn git(c: &Cached, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=rec", "-c", "user.email=rec@localhost"])
        .args(args)
        .current_dir(c.path())
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}:\n{}", text(&out));
}

#[test]
fn macros_with_hidden_inputs_are_denied_and_rerun() {
    // enum_dispatch (the trait's and the enum's), document_features and git_version: denied
    // by default, so refused before lookup.
    let c = Cached::new("cache-hidden-inputs");
    git(&c, &["init", "-q"]);
    git(&c, &["add", "-A"]);
    git(&c, &["commit", "-q", "-m", "fixture"]);
    // Every expansion refused, so none hits or is stored; returns what the program printed.
    let run_refused = || {
        let (out, counts) = c.ok_env(&["run", "--locked"], &[]);
        let n = of(&counts, "cache_hidden_inputs", &out);
        assert_eq!((n.hits, n.stored, n.uncacheable), (0, 0, 4), "{n:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stdout = run_refused();
    assert!(stdout.contains("speak: woof"), "{stdout}");
    assert!(stdout.contains("The feature's documentation."), "{stdout}");
    assert!(stdout.contains("git: ") && !stdout.contains("-modified"), "{stdout}");

    // A new variant, the trait left alone: had the trait's expansion been served from the
    // cache, enum_dispatch would not have seen the trait and the enum would lack its impl.
    c.edit("src/main.rs", |s| {
        s.replace("    Dog,\n}", "    Dog,\n    Cat,\n}")
            .replace("let animal: Animal = Dog.into();", "let animal: Animal = Cat.into();")
            + "\nstruct Cat;\n\n"
            + "impl Speak for Cat {\n    fn speak(&self) -> &'static str {\n        \"meow\"\n    }\n}\n"
    });
    c.edit("Cargo.toml", |s| s.replace("The feature's documentation.", "Its new documentation."));
    let stdout = run_refused();
    assert!(stdout.contains("speak: meow"), "{stdout}");
    assert!(stdout.contains("Its new documentation."), "{stdout}");
    // The edits left the work tree dirty.
    assert!(stdout.contains("-modified"), "{stdout}");
}

#[test]
fn warning_of_a_cached_macro_is_replayed() {
    let c = Cached::new("cache-edges");
    let envs = [("RUSTC_BOOTSTRAP", "1")];
    // `warn_here!` emits a warning through `proc_macro::Diagnostic`: stored with the entry and
    // emitted again on every hit, at the same place.
    let cacheable = EDGES_INVOCATIONS + 1 - EDGES_UNCACHEABLE;
    let mut diags = Vec::new();
    for round in 0..2 {
        let (out, counts) = c.ok_env(&["check", "--locked", "--features", "diag"], &envs);
        let n = of(&counts, "cache_edges", &out);
        assert_eq!(n.uncacheable, EDGES_UNCACHEABLE, "round {round}: {n:?}");
        let expected = if round == 0 { (0, cacheable) } else { (cacheable, 0) };
        assert_eq!((n.hits, n.stored), expected, "round {round}: {n:?}");
        let all = text(&out);
        assert!(all.contains("warning: warning from a proc macro"), "round {round}:\n{all}");
        assert!(all.contains("warn_here!(here);"), "round {round}: span lost:\n{all}");
        diags.push(diagnostics(&out));
        c.touch("src/lib.rs");
    }
    assert_eq!(diags[0], diags[1]);
}

#[test]
fn variables_in_rustc_expand_cache_env_are_part_of_the_key() {
    let c = Cached::new("cache-edges");
    let cacheable = EDGES_INVOCATIONS - EDGES_UNCACHEABLE;
    let with = |value: &str| {
        let (out, counts) = c.ok_env(
            &["check", "--locked"],
            &[("RUSTC_EXPAND_CACHE_ENV", "CACHE_EDGES_GREETING"), ("CACHE_EDGES_GREETING", value)],
        );
        c.touch("src/lib.rs");
        of(&counts, "cache_edges", &out)
    };
    assert_eq!(with("hi").stored, cacheable);
    let other = with("bye");
    assert_eq!((other.hits, other.stored), (0, cacheable), "{other:?}");
    let again = with("hi");
    assert_eq!((again.hits, again.stored), (cacheable, 0), "{again:?}");
}

#[test]
fn verify_mode_reruns_hits_and_finds_them_identical() {
    let c = Cached::new("cache-edges");
    let cold = c.counts(&["check", "--locked"], "cache_edges");
    c.touch("src/lib.rs");
    let (out, counts) = c.ok_env(&["check", "--locked"], &[("RUSTC_EXPAND_CACHE_VERIFY", "1")]);
    let n = of(&counts, "cache_edges", &out);
    // Every hit is re-run and compared: nothing differs, nothing is served from the cache.
    assert_eq!((n.hits, n.misses, n.stored), (0, EDGES_INVOCATIONS, 0), "{n:?}");
    assert!(!text(&out).contains("different from the cached one"), "{}", text(&out));
    assert_eq!(cold.stored, EDGES_INVOCATIONS - EDGES_UNCACHEABLE);
}

/// The dep-info (`.d`) files of the fixture's library under target/debug/deps, concatenated.
fn dep_info(dir: &Path, krate: &str) -> String {
    let deps = dir.join("target/debug/deps");
    let mut out = String::new();
    for entry in std::fs::read_dir(&deps).expect("deps dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(&format!("{krate}-")) && name.ends_with(".d") {
            out.push_str(&std::fs::read_to_string(&path).expect("read dep-info"));
        }
    }
    out
}

#[test]
fn tracked_env_and_path_are_preconditions_and_replayed_into_dep_info() {
    let c = Cached::new("cache-edges");
    let cacheable = EDGES_INVOCATIONS + 1 - EDGES_UNCACHEABLE;
    let build = |value: &str| {
        let (out, counts) = c.ok_env(
            &["check", "--locked", "--features", "tracked"],
            &[("RUSTC_BOOTSTRAP", "1"), ("CACHE_EDGES_TRACKED", value)],
        );
        of(&counts, "cache_edges", &out)
    };
    let cold = build("a");
    assert_eq!((cold.hits, cold.stored), (0, cacheable), "{cold:?}");
    let info = dep_info(c.path(), "cache_edges");
    assert!(info.contains("# env-dep:CACHE_EDGES_TRACKED=a"), "{info}");
    assert!(info.contains("tracked.txt"), "{info}");

    // A hit: the dep-info still names the variable and the file.
    c.touch("src/lib.rs");
    let warm = build("a");
    assert_eq!((warm.hits, warm.stored), (cacheable, 0), "{warm:?}");
    let info = dep_info(c.path(), "cache_edges");
    assert!(info.contains("# env-dep:CACHE_EDGES_TRACKED=a"), "replay lost the env dep:\n{info}");
    assert!(info.contains("tracked.txt"), "replay lost the path dep:\n{info}");

    // The tracked file changes: cargo reruns rustc, the entry is stale, the macro runs again.
    std::fs::write(c.path().join("tracked.txt"), "two\n").expect("write tracked.txt");
    bump_mtime(&c.path().join("tracked.txt"));
    let file_changed = build("a");
    assert_eq!((file_changed.hits, file_changed.stored), (cacheable - 1, 1), "{file_changed:?}");

    // The tracked variable changes: same.
    let env_changed = build("b");
    assert_eq!((env_changed.hits, env_changed.stored), (cacheable - 1, 1), "{env_changed:?}");
    assert!(dep_info(c.path(), "cache_edges").contains("# env-dep:CACHE_EDGES_TRACKED=b"));

    // And the expansion used is the current one.
    c.ok_env(
        &["test", "--locked", "--features", "tracked"],
        &[("RUSTC_BOOTSTRAP", "1"), ("CACHE_EDGES_TRACKED", "b")],
    );
}

#[test]
fn popular_macros_are_all_cached_and_equivalent() {
    // clap derive, async-trait (x2), derive_more (x2), strum (x3), pin-project,
    // tracing::instrument, tokio::main: 11 invocations, all reproducible.
    let c = Cached::new("cache-popular");
    let cold = c.counts(&["check", "--locked"], "cache_popular");
    assert_eq!((cold.hits, cold.stored, cold.uncacheable), (0, cold.misses, 0), "{cold:?}");
    assert!(cold.stored >= 11, "{cold:?}");
    c.touch("src/lib.rs");
    let warm = c.counts(&["check", "--locked"], "cache_popular");
    assert_eq!((warm.hits, warm.misses), (cold.stored, 0), "{warm:?}");
}

#[test]
fn equivalence_popular_off_cold_warm() {
    equivalence("cache-popular", "cache_popular", "src/lib.rs");
}

#[test]
fn included_file_is_a_content_precondition() {
    // `grammar_len!` reads grammar.txt itself and emits `include_str!("../grammar.txt")`.
    let c = Cached::new("cache-edges");
    let cacheable = EDGES_INVOCATIONS + 1 - EDGES_UNCACHEABLE;
    let build = || c.counts(&["check", "--locked", "--features", "included"], "cache_edges");
    let cold = build();
    assert_eq!((cold.hits, cold.stored, cold.uncacheable), (0, cacheable, EDGES_UNCACHEABLE), "{cold:?}");

    c.touch("src/lib.rs");
    let warm = build();
    assert_eq!((warm.hits, warm.stored), (cacheable, 0), "{warm:?}");

    // The file changes: cargo reruns rustc (include_str! put it in the dep-info), the entry's
    // precondition fails, only that macro runs again.
    c.edit("grammar.txt", |g| g + "other = \"c\"\n");
    let changed = build();
    assert_eq!((changed.hits, changed.stored), (cacheable - 1, 1), "{changed:?}");

    // And the expansion in use is the current one.
    c.touch("src/lib.rs");
    c.ok_env(&["test", "--locked", "--features", "included"], &[]);
}

/// Invocations in `cache-askama`: `Hello` and `List` (whose template includes another) are
/// cached; `Inline`'s output names no file, so it runs every time.
const ASKAMA_CACHED: u64 = 2;

#[test]
fn askama_expansions_follow_the_files_askama_reads() {
    let c = Cached::new("cache-askama");
    let check = |features: &str| c.counts(&["check", "--locked", "--features", features], "cache_askama");
    let all_miss = Counts { hits: 0, misses: 3, stored: ASKAMA_CACHED, uncacheable: 1 };
    let all_hit = Counts { hits: ASKAMA_CACHED, misses: 1, stored: 0, uncacheable: 1 };
    assert_eq!(check(""), all_miss, "cold");
    c.touch("src/lib.rs");
    assert_eq!(check(""), all_hit, "touch");

    // A template changes: cargo reruns rustc (askama's output includes it) and every askama
    // expansion of the crate runs again, rendering the new template.
    c.edit("templates/item.txt", |t| t.replace('[', "<"));
    assert_eq!(check(""), all_miss, "template edited");
    c.ok_env(&["test", "--locked"], &[]);

    // A new file where askama looks templates up may change what a lookup finds: cargo does
    // not rerun rustc for it, but the next session misses.
    std::fs::write(c.path().join("templates/new.txt"), "new").expect("write template");
    c.touch("src/lib.rs");
    assert_eq!(check(""), all_miss, "file added");

    // askama.toml can point askama at other directories: while it exists, nothing is cached.
    std::fs::write(c.path().join("askama.toml"), "[general]\nwhitespace = \"preserve\"\n")
        .expect("write askama.toml");
    c.touch("src/lib.rs");
    assert_eq!(check(""), Counts { hits: 0, misses: 0, stored: 0, uncacheable: 3 }, "askama.toml");
    c.ok_env(&["test", "--locked"], &[]);
    std::fs::remove_file(c.path().join("askama.toml")).expect("remove askama.toml");
    c.touch("src/lib.rs");
    assert_eq!(check(""), all_hit, "askama.toml removed: the same files, the same entries");

    // `config = "custom.toml"` in the input: refused before the lookup.
    let configured = Counts { hits: ASKAMA_CACHED, misses: 1, stored: 0, uncacheable: 2 };
    assert_eq!(check("custom-config"), configured, "custom config");
    // A template outside `templates/`: run, then not stored.
    let outside = Counts { hits: ASKAMA_CACHED, misses: 2, stored: 0, uncacheable: 2 };
    assert_eq!(check("outside"), outside, "template outside the directory");
}

#[test]
fn equivalence_askama_off_cold_warm() {
    equivalence("cache-askama", "cache_askama", "src/lib.rs");
}

/// The build-script output dirs cargo made for `cache-outdir`.
fn out_dirs(c: &Cached) -> Vec<PathBuf> {
    let build = c.path().join("target/debug/build");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&build)
        .unwrap_or_else(|e| panic!("{}: {e}", build.display()))
        .map(|e| e.expect("dir entry").path().join("out"))
        .filter(|out| out.join("generated.txt").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn out_dir_is_keyed_by_what_it_holds() {
    // Three derives and `generated!` (which reads `$OUT_DIR/generated.txt` itself).
    let c = Cached::new("cache-outdir");
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let (out, counts) = c.ok_env(args, envs);
        of(&counts, "cache_outdir", &out)
    };
    let all_miss = Counts { hits: 0, misses: 4, stored: 4, uncacheable: 0 };
    let all_hit = Counts { hits: 4, misses: 0, stored: 0, uncacheable: 0 };
    assert_eq!(run(&["check", "--locked"], &[]), all_miss, "cold check");

    // A non-incremental build is another unit, its build script run in a dir of its own
    // which holds the same file: the check's entries serve it, and it is the build the
    // cache off makes.
    let noninc = [("CARGO_INCREMENTAL", "0")];
    assert_eq!(run(&["build", "--locked"], &noninc), all_hit, "non-incremental build after check");
    assert_eq!(out_dirs(&c).len(), 2, "the two units have build-script output dirs of their own");
    let served = artifacts(c.path(), "libcache_outdir-");
    c.touch("src/lib.rs");
    c.ok_env(&["build", "--locked"], &[("CARGO_INCREMENTAL", "0"), ("RUSTC_EXPAND_CACHE", "off")]);
    assert_same_artifacts(&artifacts(c.path(), "libcache_outdir-"), &served, "off vs served by check");

    // The build script writes something else into the same dir: the next session misses, and
    // the expansion in use reads the new file (the test compares it with `include_str!`).
    let two = [("CACHE_OUTDIR_GENERATED", "two")];
    assert_eq!(run(&["build", "--locked"], &two), all_miss, "generated file changed");
    c.ok_env(&["test", "--locked"], &two);
    assert_eq!(run(&["build", "--locked"], &[]), all_hit, "generated file as first written");

    // An output naming the unit's dir is not stored (the feature gives the build script of
    // each unit yet another dir, and the other expansions hit there too); each unit gets its
    // own path.
    let named = Counts { hits: 4, misses: 1, stored: 0, uncacheable: 1 };
    let features = ["build", "--locked", "--features", "names-out-dir"];
    assert_eq!(run(&features, &[]), named, "names OUT_DIR");
    assert_eq!(run(&features, &noninc), named, "names OUT_DIR, non-incremental");
    c.ok_env(&["test", "--locked", "--features", "names-out-dir"], &[]);

    // Nor is one tracking a file there (its path would be replayed into another unit's
    // dep-info): the feature builds another macro crate, so all miss once, then only
    // `tracked_generated!` runs again.
    let tracked = ["check", "--locked", "--features", "tracks-out-dir"];
    let bootstrap = [("RUSTC_BOOTSTRAP", "1")];
    let first = Counts { hits: 0, misses: 5, stored: 4, uncacheable: 1 };
    assert_eq!(run(&tracked, &bootstrap), first, "tracks a file in OUT_DIR");
    c.touch("src/lib.rs");
    let again = Counts { hits: 4, misses: 1, stored: 0, uncacheable: 1 };
    assert_eq!(run(&tracked, &bootstrap), again, "tracks a file in OUT_DIR, again");

    // Nor is one warning with the dir's path (the warning would be replayed into another
    // unit): the same, and the warning is there each time, from the run.
    let warns = ["check", "--locked", "--features", "warns-out-dir"];
    for (counts, what) in [(first, "warns with OUT_DIR"), (again, "warns with OUT_DIR, again")] {
        let (out, all) = c.ok_env(&warns, &bootstrap);
        assert_eq!(of(&all, "cache_outdir", &out), counts, "{what}");
        let warned = |dir: &PathBuf| text(&out).contains(&format!("generated into {}", dir.display()));
        assert!(out_dirs(&c).iter().any(warned), "{what}: no warning in\n{}", text(&out));
        c.touch("src/lib.rs");
    }
}

/// Checks `cache-edges` with `feature` three times (cache off, cold, warm after a touch) and
/// asserts the same exit status and diagnostics each time; returns the cache-off output.
fn same_off_cold_warm(feature: &str) -> Output {
    same_off_cold_warm_env(feature, &[])
}

/// `cargo check --features <feature>` with the cache off, cold and warm: the same outcome and
/// diagnostics (in the same order) each time.
fn same_off_cold_warm_env(feature: &str, envs: &[(&str, &str)]) -> Output {
    let c = Cached::new("cache-edges");
    let args = ["check", "--locked", "--features", feature];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        envs.iter().copied().chain(extra.iter().copied()).collect()
    };
    let (off, _) = c.run_env(&args, &with(&[("RUSTC_EXPAND_CACHE", "off")]));
    c.touch("src/lib.rs");
    let (cold, _) = c.run_env(&args, &with(&[]));
    c.touch("src/lib.rs");
    let (warm, counts) = c.run_env(&args, &with(&[]));
    for (name, out) in [("cold", &cold), ("warm", &warm)] {
        assert_eq!(out.status.success(), off.status.success(), "{name}:\n{}", text(out));
        assert_eq!(diagnostics(out), diagnostics(&off), "{name} differs from cache off");
    }
    // The warm build did use the cache for the crate's other expansions.
    let warm_counts = of(&counts, "cache_edges", &warm);
    assert!(warm_counts.hits >= EDGES_INVOCATIONS - EDGES_UNCACHEABLE, "{warm_counts:?}");
    off
}

#[test]
fn bidi_codepoint_lexed_by_a_macro_behaves_as_uncached() {
    // rustc 1.95 buffers `text_direction_codepoint_in_literal` for the macro's source text and
    // drops it there (the lint is crate-level and the span is in an external macro): no error
    // with the cache off, and none cold or warm.
    let off = same_off_cold_warm("bidi");
    assert!(off.status.success(), "{}", text(&off));
}

#[test]
fn warning_of_a_macro_keeps_its_place_among_the_lexers() {
    // The macro warns, then lexes text that warns too: while recording, the macro's warning
    // waits until the run is over, and must still come out first.
    let off = same_off_cold_warm_env("lexwarn", &[("RUSTC_BOOTSTRAP", "1")]);
    let all = diagnostics(&off);
    let macro_warning = all.find("warning before lexing").expect("the macro's warning");
    let lexer_warning = all.find("multiple lines skipped by escaped newline").expect("the lexer's warning");
    assert!(macro_warning < lexer_warning, "{all}");
}

#[test]
fn a_tracked_directory_is_never_a_precondition() {
    // A directory's contents cannot be compared on a hit: the listing macro is not stored, and
    // a file added to the directory shows in the next build (cargo reruns rustc: the directory
    // is in the dep-info).
    let c = Cached::new("cache-edges");
    let args = ["check", "--locked", "--features", "trackdir"];
    let (out, counts) = c.ok_env(&args, &[("RUSTC_BOOTSTRAP", "1")]);
    let n = of(&counts, "cache_edges", &out);
    assert_eq!(n.uncacheable, EDGES_UNCACHEABLE + 1, "{n:?}");
    std::fs::write(c.path().join("assets/two.txt"), "two\n").expect("write assets/two.txt");
    c.ok_env(&["test", "--locked", "--features", "trackdir"], &[("RUSTC_BOOTSTRAP", "1")]);
}

#[test]
fn tokens_print_by_the_edition_of_their_spans() {
    // `printed!(async (x))` from this 2021 crate and from a 2015 crate's macro_rules!: the same
    // tokens, printed differently; one must not be served for the other, cold or warm.
    let c = Cached::new("cache-edges");
    let args = ["test", "--locked", "--features", "editions", "--lib"];
    for setting in ["off", "on", "on"] {
        c.ok_env(&args, &[("RUSTC_EXPAND_CACHE", setting)]);
        c.touch("src/lib.rs");
    }
}

#[test]
fn bad_identifier_lexed_by_a_macro_fails_identically_cold_and_warm() {
    let off = same_off_cold_warm("emoji");
    assert!(!off.status.success(), "{}", text(&off));
    assert!(diagnostics(&off).contains("identifiers cannot contain emoji"), "{}", text(&off));
}

/// The cache-edges fixture after a cold `cargo check` that stored every cacheable
/// invocation, and their number.
fn edges_after_cold_check() -> (Cached, u64) {
    let c = Cached::new("cache-edges");
    let cacheable = EDGES_INVOCATIONS - EDGES_UNCACHEABLE;
    let cold = c.counts(&["check", "--locked"], "cache_edges");
    assert_eq!(cold.stored, cacheable, "{cold:?}");
    (c, cacheable)
}

#[test]
fn new_version_of_the_macro_crate_misses() {
    let (c, cacheable) = edges_after_cold_check();
    // The macro crate's code changes (as with a new release of serde_derive): its crate hash
    // and dylib change, so none of its old entries may be used.
    c.edit("macros/src/lib.rs", |s| s.replace("unwrap_or_else(|_| \"hello\".to_owned())", "unwrap_or_else(|_| \"hi\".to_owned())"));
    let after = c.counts(&["check", "--locked"], "cache_edges");
    assert_eq!((after.hits, after.stored), (0, cacheable), "{after:?}");
    // And the new expansion is the one in the artifacts.
    c.edit("src/lib.rs", |s| s + "\n#[test]\nfn greeting_is_new() { assert_eq!(GREETING, \"hi\"); }\n");
    c.ok_env(&["test", "--locked", "greeting_is_new"], &[]);
}

#[test]
fn verify_mode_denies_a_macro_whose_output_changed_from_then_on() {
    // `greeting!` reads CACHE_EDGES_GREETING without telling the compiler: an impure macro the
    // key cannot see through, the kind verify mode exists to find.
    let c = Cached::new("cache-edges");
    let cacheable = EDGES_INVOCATIONS - EDGES_UNCACHEABLE;
    let build = |greeting: &str, verify: &str| {
        c.ok_env(&["check", "--locked"], &[("CACHE_EDGES_GREETING", greeting), ("RUSTC_EXPAND_CACHE_VERIFY", verify)])
    };
    let (out, counts) = build("hello", "0");
    assert_eq!(of(&counts, "cache_edges", &out).stored, cacheable);

    // Verify every hit: greeting! now gives another output; reported by name.
    c.touch("src/lib.rs");
    let (out, _) = build("bye", "1");
    let diags = diagnostics(&out);
    assert!(diags.contains("`cache_edges_macros::greeting` produced an output different"), "{diags}");
    assert_eq!(diags.matches("produced an output different").count(), 1, "{diags}");

    // A later session without verification: greeting! is denied (runs for real), the rest hits.
    c.touch("src/lib.rs");
    let (out, counts) = build("bye", "0");
    let later = of(&counts, "cache_edges", &out);
    assert_eq!((later.hits, later.uncacheable), (cacheable - 1, EDGES_UNCACHEABLE + 1), "{later:?}");
    assert!(!diagnostics(&out).contains("produced an output different"));

    // `rustc-expand-cache clear` forgets the denial along with everything else.
    c.cache_cli("clear");
    c.touch("src/lib.rs");
    let (out, counts) = build("bye", "0");
    let cleared = of(&counts, "cache_edges", &out);
    assert_eq!((cleared.hits, cleared.stored), (0, cacheable), "{cleared:?}");
}

/// The number of `<dylib hash>` memo entries of `krate` in `rustc-expand-cache stats`, and
/// that output.
fn dylib_memo_entries(c: &Cached, krate: &str) -> (u64, String) {
    let name = format!("{krate}::<dylib hash>");
    let stats = c.cache_cli("stats");
    let entries = stats
        .lines()
        .filter_map(|l| {
            // `<name>  <kind>  <entries>  ...` (the name has a space in it).
            let rest = l.trim_start().strip_prefix(&name)?;
            rest.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum();
    (entries, stats)
}

/// The fixture's proc-macro dylib in target/debug/deps.
fn edges_macro_dylib(c: &Cached) -> PathBuf {
    std::fs::read_dir(c.path().join("target/debug/deps"))
        .expect("read target/debug/deps")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("libcache_edges_macros-") && name.ends_with(".so")
        })
        .expect("the macro crate's dylib")
}

/// Writes a new file with `contents` and renames it over `path`, as a rebuild does.
fn replace_file(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("so.new");
    std::fs::write(&tmp, contents).expect("write the new dylib");
    std::fs::rename(&tmp, path).expect("rename it over the dylib");
}

/// Runs `objcopy` with `args` on `dylib`, writing a new file renamed over it.
fn objcopy(dylib: &Path, args: &[&str]) {
    let out = dylib.with_extension("so.objcopy");
    let status = std::process::Command::new("objcopy")
        .args(args)
        .arg(dylib)
        .arg(&out)
        .status()
        .expect("run objcopy (binutils)");
    assert!(status.success(), "objcopy {args:?} failed");
    std::fs::rename(&out, dylib).expect("rename objcopy's output over the dylib");
}

/// The dylib without its GNU build ID, so that its identity is a hash of its loaded image.
fn remove_build_id(dylib: &Path) {
    objcopy(dylib, &["--remove-section", ".note.gnu.build-id"]);
}

/// The GNU build ID of `dylib`, as `readelf -n` prints it (hex).
fn build_id(dylib: &Path) -> Option<String> {
    let out = std::process::Command::new("readelf").arg("-n").arg(dylib).output().expect("run readelf");
    let notes = String::from_utf8_lossy(&out.stdout).into_owned();
    notes.lines().find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_owned))
}

/// `dylib` with every occurrence of `from` replaced by `to` (same length), renamed over it.
fn patch_bytes(dylib: &Path, from: &[u8], to: &[u8]) {
    let mut bytes = std::fs::read(dylib).expect("read the dylib");
    let at: Vec<usize> =
        bytes.windows(from.len()).enumerate().filter(|(_, w)| *w == from).map(|(i, _)| i).collect();
    assert!(!at.is_empty(), "{from:?} is not in the dylib");
    for i in at {
        bytes[i..i + to.len()].copy_from_slice(to);
    }
    replace_file(dylib, &bytes);
}

/// The identity of a macro crate's dylib is its GNU build ID (a hash of the linked file that
/// the linker computes): without debug info every entry still hits, another build ID loses
/// them all. Without a build ID, it is a hash of what the loader maps: stable from session to
/// session, and one byte changed in its constant data, with the crate hash the compiler sees
/// unchanged, loses every entry.
#[test]
fn dylib_identity_is_its_build_id_else_its_loaded_image() {
    let (c, cacheable) = edges_after_cold_check();
    let dylib = edges_macro_dylib(&c);
    let check = |what: &str, hits: u64, stored: u64| {
        c.touch("src/lib.rs");
        let counts = c.counts(&["check", "--locked"], "cache_edges");
        assert_eq!((counts.hits, counts.stored), (hits, stored), "{what}: {counts:?}");
    };

    let full_len = std::fs::metadata(&dylib).expect("the dylib").len();
    objcopy(&dylib, &["--strip-debug"]);
    let stripped_len = std::fs::metadata(&dylib).expect("the stripped dylib").len();
    assert!(stripped_len * 2 < full_len, "{stripped_len} of {full_len} bytes left");
    check("without debug info", cacheable, 0);

    let id = build_id(&dylib).expect("the fixture's macro dylib has a GNU build ID (cc --build-id)");
    let mut raw: Vec<u8> = (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id[i..i + 2], 16).expect("hex build ID"))
        .collect();
    let old = raw.clone();
    raw[0] ^= 0xff;
    patch_bytes(&dylib, &old, &raw);
    check("another build ID", 0, cacheable);

    remove_build_id(&dylib);
    assert_eq!(build_id(&dylib), None);
    check("no build ID", 0, cacheable);
    check("no build ID, again", cacheable, 0);

    // `noisy!`'s message, in .rodata: H for h.
    patch_bytes(&dylib, b"hello from a noisy proc macro", b"H");
    check("one byte of constant data changed", 0, cacheable);
}

/// A macro crate denied as a whole is never cached, so its dylib is not even read: no memo
/// entry appears for it, even once the dylib is old enough to be memoized.
#[test]
fn dylib_of_a_denied_crate_is_not_read() {
    let c = Cached::new("cache-edges");
    let deny = [("RUSTC_EXPAND_CACHE_DENY", "cache_edges_macros")];
    let (out, counts) = c.ok_env(&["check", "--locked"], &deny);
    let first = of(&counts, "cache_edges", &out);
    assert_eq!((first.stored, first.uncacheable), (0, EDGES_INVOCATIONS), "{first:?}");
    // Without a build ID, a dylib that is read is hashed and memoized.
    remove_build_id(&edges_macro_dylib(&c));
    std::thread::sleep(std::time::Duration::from_secs(3));
    c.touch("src/lib.rs");
    c.ok_env(&["check", "--locked"], &deny);
    // No store at all is fine too: nothing needed one.
    if c.path().join("target/expand-cache").exists() {
        let (memos, stats) = dylib_memo_entries(&c, "cache_edges_macros");
        assert_eq!(memos, 0, "{stats}");
    }
}

#[test]
fn dylib_hash_is_memoized_by_file_metadata() {
    let (c, cacheable) = edges_after_cold_check();
    // A touch-recheck once the dylib is old enough to be memoized (a dylib written less than
    // two seconds ago is hashed but not memoized: a rewrite within the timestamps' granularity
    // could go unnoticed), and the memo entries after it.
    let settled_check = || {
        std::thread::sleep(std::time::Duration::from_secs(3));
        c.touch("src/lib.rs");
        let counts = c.counts(&["check", "--locked"], "cache_edges");
        let (memos, stats) = dylib_memo_entries(&c, "cache_edges_macros");
        (counts, memos, stats)
    };
    // A dylib with a build ID is identified by it: nothing to hash, so nothing memoized.
    let (warm, memos, stats) = settled_check();
    assert_eq!(warm.hits, cacheable, "{warm:?}");
    assert_eq!(memos, 0, "{stats}");

    remove_build_id(&edges_macro_dylib(&c));
    c.touch("src/lib.rs");
    let cold = c.counts(&["check", "--locked"], "cache_edges");
    assert_eq!(cold.stored, cacheable, "{cold:?}");
    let (warm, memos, stats) = settled_check();
    assert_eq!(warm.hits, cacheable, "{warm:?}");
    assert_eq!(memos, 1, "{stats}");

    // The same contents under new metadata (a copy renamed over it, as a rebuild does): the
    // memo entry of the old metadata is not used, the contents are hashed again, and they
    // still give the same keys.
    let dylib = edges_macro_dylib(&c);
    replace_file(&dylib, &std::fs::read(&dylib).expect("read the dylib"));
    let (after, memos, stats) = settled_check();
    assert_eq!((after.hits, after.stored), (cacheable, 0), "{after:?}");
    assert_eq!(memos, 2, "{stats}");
}
