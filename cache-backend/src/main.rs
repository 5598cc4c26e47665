//! `rustc-expand-cache`: inspect and maintain the proc-macro expansion cache.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rustc_expand_cache::cache::{CacheStats, GcOptions, TransferReport};
use rustc_expand_cache::config::{format_size, parse_size};
use rustc_expand_cache::{guard, Cache, Error, NamespaceId, OpenOptions};

/// Inspect and maintain the proc-macro expansion cache of rustc-expand-cache.
///
/// The cache directory is `--dir`, else $RUSTC_EXPAND_CACHE_DIR, else
/// $CARGO_TARGET_DIR/expand-cache, else target/expand-cache of the nearest
/// enclosing Cargo project that has a target/CACHEDIR.TAG.
#[derive(Parser, Debug)]
#[command(name = "rustc-expand-cache", version, propagate_version = true)]
struct Cli {
    /// The cache directory.
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Entries, bytes, hits and estimated time saved, per namespace and per macro.
    Stats {
        /// Only this namespace (compiler identity or hex id prefix).
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Remove old entries and evict least recently used ones down to a size.
    Gc {
        /// Evict down to this size (e.g. 500MB, 2GiB); default: the configured cap.
        #[arg(long, value_parser = parse_size_arg)]
        max_size: Option<u64>,
        /// Remove entries not used for this long (e.g. 30days, 12h).
        #[arg(long, value_parser = parse_duration_arg)]
        older_than: Option<Duration>,
        /// Only this namespace (compiler identity or hex id prefix).
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Remove every entry (or those of one namespace).
    Clear {
        /// Only this namespace (compiler identity or hex id prefix).
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Check every entry; report and remove bad ones. Exit status 3 if problems were found.
    Verify {
        /// Only report, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the cache directory (stdout) and where it came from (stderr).
    Path,
    /// Write a compact, deterministic export of one namespace or all.
    Export {
        /// Only this namespace (compiler identity or hex id prefix).
        #[arg(long)]
        namespace: Option<String>,
        /// Output file (`-` for stdout).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Merge an export file into the cache (existing entries are kept).
    Import {
        /// The export file.
        file: PathBuf,
    },
    /// Internal: walk the whole store (run in a child process by `verify`).
    #[command(name = "__walk", hide = true)]
    Walk,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    let v = parse_size(s)?;
    if v == 0 {
        return Err("size must be positive".into());
    }
    Ok(v)
}

fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30days, 2weeks, 12h)"))
}

/// A failure of the CLI with its exit status.
struct Fail(String, u8);

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail(e.to_string(), 1)
    }
}

/// Where the directory came from.
fn resolve_dir(flag: Option<&Path>) -> Result<(PathBuf, String), Fail> {
    if let Some(d) = flag {
        return Ok((d.to_path_buf(), "--dir".into()));
    }
    if let Some(d) = std::env::var_os("RUSTC_EXPAND_CACHE_DIR").filter(|v| !v.is_empty()) {
        return Ok((PathBuf::from(d), "RUSTC_EXPAND_CACHE_DIR".into()));
    }
    let cwd = std::env::current_dir().map_err(|e| Fail(format!("cannot read the current directory: {e}"), 1))?;
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        return Ok((cwd.join(t).join("expand-cache"), "CARGO_TARGET_DIR".into()));
    }
    for a in cwd.ancestors() {
        if a.join("target").join("CACHEDIR.TAG").is_file() {
            return Ok((a.join("target").join("expand-cache"), format!("Cargo target directory of {}", a.display())));
        }
    }
    Err(Fail(
        "cannot find the expansion cache: pass --dir DIR, set RUSTC_EXPAND_CACHE_DIR or CARGO_TARGET_DIR, or run inside a Cargo project that has been built (target/CACHEDIR.TAG)".into(),
        1,
    ))
}

fn fmt_nanos(n: u64) -> String {
    let d = n as f64;
    if n < 1_000 {
        format!("{n}ns")
    } else if n < 1_000_000 {
        format!("{:.1}µs", d / 1e3)
    } else if n < 1_000_000_000 {
        format!("{:.1}ms", d / 1e6)
    } else if n < 60_000_000_000 {
        format!("{:.2}s", d / 1e9)
    } else {
        let s = n / 1_000_000_000;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

fn json(v: &impl serde::Serialize) -> Result<String, Fail> {
    serde_json::to_string_pretty(v).map_err(|e| Fail(format!("cannot encode JSON: {e}"), 1))
}

fn print_json(v: &impl serde::Serialize) -> Result<(), Fail> {
    println!("{}", json(v)?);
    Ok(())
}

fn print_stats(s: &CacheStats, source: &str) {
    println!("cache     {}  (from {source})", s.dir.display());
    println!(
        "size      {} live of {} cap (data file {}, map {})",
        format_size(s.used_bytes),
        format_size(s.max_size),
        format_size(s.file_bytes),
        format_size(s.map_size)
    );
    println!("entries   {}", s.entries);
    for ns in &s.namespaces {
        println!();
        let ident = if ns.identity.is_empty() { "<unknown identity>" } else { &ns.identity };
        println!("namespace {ident}  (id {})", &ns.id[..16]);
        println!(
            "  {} entries, {}, {} hits, ~{} saved (estimated from entries)",
            ns.entries,
            format_size(ns.bytes),
            ns.hits,
            fmt_nanos(ns.saved_nanos)
        );
        let c = &ns.sessions;
        if c.sessions > 0 {
            println!(
                "  {} sessions recorded: {} hits, {} misses, {} stored, {} uncacheable, {} in lookups, {} saved",
                c.sessions,
                c.hits,
                c.misses,
                c.stored,
                c.uncacheable,
                fmt_nanos(c.lookup_nanos),
                fmt_nanos(c.saved_nanos)
            );
        }
        if ns.macros.is_empty() {
            continue;
        }
        let names: Vec<String> = ns.macros.iter().map(|m| format!("{}::{}", m.macro_crate, m.macro_name)).collect();
        let w = names.iter().map(|n| n.len()).max().unwrap_or(5).max(5);
        println!("  {:<w$}  {:<9}  {:>8}  {:>10}  {:>8}  {:>10}", "MACRO", "KIND", "ENTRIES", "BYTES", "HITS", "SAVED");
        for (m, n) in ns.macros.iter().zip(&names) {
            println!(
                "  {:<w$}  {:<9}  {:>8}  {:>10}  {:>8}  {:>10}",
                n,
                m.kind.name(),
                m.entries,
                format_size(m.bytes),
                m.hits,
                fmt_nanos(m.saved_nanos)
            );
        }
    }
}

/// An error of a command that writes: a read-only directory gets a message about the CLI
/// (the backend's own names the compiler's read-only mode).
fn writer_error(dir: &Path, e: Error) -> Fail {
    match e {
        Error::ReadOnly(_) => Fail(
            format!("{} is read-only: gc, clear, import and verify need write access (stats, export and verify --dry-run only read)", dir.display()),
            1,
        ),
        e => e.into(),
    }
}

fn open(dir: &Path) -> Result<Cache, Fail> {
    Cache::open(dir, &OpenOptions::default()).map_err(|e| writer_error(dir, e))
}

/// Stats and export only read: they work on read-only directories and never write.
fn open_read_only(dir: &Path) -> Result<Cache, Fail> {
    Ok(Cache::open(dir, &OpenOptions { read_only: true, ..Default::default() })?)
}

fn run(cli: Cli) -> Result<u8, Fail> {
    let (dir, source) = resolve_dir(cli.dir.as_deref())?;
    if dir.exists() && !dir.is_dir() {
        return Err(Fail(format!("{} (from {source}) is not a directory", dir.display()), 1));
    }
    match cli.cmd {
        Cmd::Path => {
            if cli.json {
                print_json(&serde_json::json!({ "dir": dir, "source": source, "exists": dir.exists() }))?;
            } else {
                println!("{}", dir.display());
                eprintln!("(from {source}{})", if dir.exists() { "" } else { "; does not exist yet" });
            }
        }
        Cmd::Stats { namespace } => {
            let c = open_read_only(&dir)?;
            let mut s = c.stats()?;
            if let Some(n) = namespace {
                let id = c.resolve_namespace(&n)?.hex();
                s.namespaces.retain(|ns| ns.id == id);
            }
            if cli.json {
                print_json(&s)?;
            } else {
                print_stats(&s, &source);
            }
        }
        Cmd::Gc { max_size, older_than, namespace } => {
            let c = open(&dir)?;
            let ns = namespace.map(|n| c.resolve_namespace(&n)).transpose()?;
            let r = c.gc(&GcOptions { max_size, older_than, namespace: ns })?;
            if cli.json {
                print_json(&r)?;
            } else {
                if let Some(d) = older_than {
                    println!("expired  {} entries ({}) unused for {}", r.expired.entries, format_size(r.expired.bytes), humantime::format_duration(d));
                }
                println!("evicted  {} entries ({}) to get under {}", r.evicted.entries, format_size(r.evicted.bytes), format_size(r.target_size));
                println!("live     {} -> {}", format_size(r.used_before), format_size(r.used_after));
            }
        }
        Cmd::Clear { namespace } => {
            if !dir.join(guard::DATA_FILE).exists() {
                if cli.json {
                    print_json(&serde_json::json!({ "removed": 0 }))?;
                } else {
                    println!("nothing to clear: no cache at {}", dir.display());
                }
                return Ok(0);
            }
            let c = open(&dir)?;
            let ns = namespace.map(|n| c.resolve_namespace(&n)).transpose()?;
            let n = c.clear(ns)?;
            if cli.json {
                print_json(&serde_json::json!({ "removed": n }))?;
            } else {
                println!("removed {n} entries from {}", dir.display());
            }
        }
        Cmd::Verify { dry_run } => return verify(&dir, dry_run, cli.json),
        Cmd::Export { namespace, output } => {
            let c = open_read_only(&dir)?;
            let ns = namespace.map(|n| c.resolve_namespace(&n)).transpose()?;
            let to_stdout = output.as_os_str() == "-";
            let rep = if to_stdout {
                let stdout = std::io::stdout();
                export_into(&c, ns, &mut std::io::BufWriter::new(stdout.lock()), "stdout")?
            } else {
                export_to_file(&c, ns, &output)?
            };
            if cli.json && to_stdout {
                // stdout holds the export.
                eprintln!("{}", json(&rep)?);
            } else if cli.json {
                print_json(&rep)?;
            } else if !to_stdout {
                println!("exported {} entries of {} namespaces to {} ({} bad entries skipped)", rep.entries, rep.namespaces, output.display(), rep.skipped);
            }
        }
        Cmd::Import { file } => {
            let data = std::fs::read(&file).map_err(|e| Fail(format!("cannot read {}: {e}", file.display()), 1))?;
            // Validate before creating anything.
            rustc_expand_cache::cache::parse_export(&data)?;
            let c = Cache::open_or_create(&dir, &OpenOptions::default()).map_err(|e| writer_error(&dir, e))?;
            let rep = c.import(&data)?;
            if cli.json {
                print_json(&rep)?;
            } else {
                println!("imported {} entries of {} namespaces into {} ({} already present)", rep.entries, rep.namespaces, dir.display(), rep.skipped);
            }
        }
        Cmd::Walk => {
            // Only damage gets WALK_DAMAGED: `verify` moves the store aside for nothing else.
            let damaged = |e: String| Fail(e, WALK_DAMAGED);
            let c = Cache::open(&dir, &OpenOptions { read_only: true, ..Default::default() })
                .map_err(|e| if e.is_corruption() { damaged(e.to_string()) } else { e.into() })?;
            let n = c.walk().map_err(damaged)?;
            println!("{n}");
        }
    }
    Ok(0)
}

/// Writes the export into `w` and flushes it; `name` says where it goes, for messages.
fn export_into(c: &Cache, ns: Option<NamespaceId>, w: &mut impl Write, name: &str) -> Result<TransferReport, Fail> {
    let cannot = |e: std::io::Error| Fail(format!("cannot write the export to {name}: {e}"), 1);
    let rep = c.export(ns, w).map_err(|e| match e {
        Error::Io { source, .. } => cannot(source),
        e => e.into(),
    })?;
    w.flush().map_err(cannot)?;
    Ok(rep)
}

/// Writes the export to `output`. A regular file (or a new one) gets the whole export or
/// nothing: it is written next to its target (through symlinks), synced and renamed over
/// it. Anything else (a device, a pipe) is written in place.
fn export_to_file(c: &Cache, ns: Option<NamespaceId>, output: &Path) -> Result<TransferReport, Fail> {
    let cannot = |what: &str, p: &Path, e: std::io::Error| Fail(format!("cannot {what} {}: {e}", p.display()), 1);
    let name = output.display().to_string();
    let target = match std::fs::metadata(output) {
        Ok(md) if !md.is_file() => {
            let f = std::fs::OpenOptions::new().write(true).open(output).map_err(|e| cannot("open", output, e))?;
            return export_into(c, ns, &mut std::io::BufWriter::new(f), &name);
        }
        Ok(_) => std::fs::canonicalize(output).map_err(|e| cannot("resolve", output, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => output.to_path_buf(),
        Err(e) => return Err(cannot("inspect", output, e)),
    };
    let mut tmp_name = target.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = target.with_file_name(tmp_name);
    let f = std::fs::File::create(&tmp).map_err(|e| cannot("create", &tmp, e))?;
    let mut w = std::io::BufWriter::new(f);
    let written = export_into(c, ns, &mut w, &name).and_then(|rep| w.get_ref().sync_all().map(|()| rep).map_err(|e| cannot("write", &tmp, e)));
    drop(w);
    let renamed = written.and_then(|rep| std::fs::rename(&tmp, &target).map(|()| rep).map_err(|e| cannot("write", &target, e)));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

/// Exit status of `__walk` when the store is damaged; any other failure is status 1.
const WALK_DAMAGED: u8 = 4;

/// Why the page walk did not pass.
enum WalkFailure {
    /// The store is damaged (the walk found it, or reading the map killed the child).
    Damaged(String),
    /// The check itself could not run (configuration, permissions, ...): says nothing
    /// about the store.
    NotRun(String),
}

/// Runs the page walk in a child process, so that a damaged map can only kill the child.
fn walk_in_child(dir: &Path) -> Result<(), WalkFailure> {
    let exe = std::env::current_exe().map_err(|e| WalkFailure::NotRun(format!("cannot find own executable: {e}")))?;
    let out = std::process::Command::new(exe)
        .arg("__walk")
        .arg("--dir")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| WalkFailure::NotRun(format!("cannot run the store check: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    let message = || String::from_utf8_lossy(&out.stderr).trim().trim_start_matches("error: ").to_string();
    match (out.status.signal(), out.status.code()) {
        (Some(sig), _) => Err(WalkFailure::Damaged(format!("reading the store crashed the checker (signal {sig})"))),
        (None, Some(code)) if code == i32::from(WALK_DAMAGED) => Err(WalkFailure::Damaged(message())),
        _ => Err(WalkFailure::NotRun(message())),
    }
}

fn verify(dir: &Path, dry_run: bool, json: bool) -> Result<u8, Fail> {
    if !dir.join(guard::DATA_FILE).exists() {
        return Err(Error::Missing(dir.to_path_buf()).into());
    }
    // The checks of every open first (trust, permissions, configuration): a store that
    // fails them is refused, never moved aside.
    let opts = OpenOptions { read_only: dry_run, ..Default::default() };
    rustc_expand_cache::env::check_openable(dir, &opts).map_err(|e| writer_error(dir, e))?;
    let mut problems = Vec::new();
    let mut quarantined = None;
    // 1. header, with plain reads; 2. full page walk in a child process.
    let header = guard::check_header_stable(&dir.join(guard::DATA_FILE)).map_err(WalkFailure::Damaged);
    if header.as_ref().is_ok_and(|h| h.file_len == 0) {
        return Err(Fail(format!("the store in {} is empty: another process is creating it; nothing to check yet", dir.display()), 1));
    }
    match header.and_then(|_| walk_in_child(dir)) {
        Ok(()) => {}
        Err(WalkFailure::NotRun(why)) => return Err(Fail(format!("cannot check the store: {why}"), 1)),
        Err(WalkFailure::Damaged(reason)) => {
            problems.push(format!("store: {reason}"));
            if !dry_run {
                quarantined = Some(guard::quarantine(dir)?);
            }
        }
    }
    let report = if quarantined.is_none() && problems.is_empty() {
        let c = Cache::open(dir, &opts)?;
        Some(c.verify(dry_run)?)
    } else {
        None
    };
    let bad = report.as_ref().map_or(0, |r| r.bad.len());
    let status = if problems.is_empty() && bad == 0 { 0 } else { 3 };
    if json {
        print_json(&serde_json::json!({
            "dir": dir,
            "store_problems": problems,
            "quarantined_to": quarantined,
            "checked": report.as_ref().map_or(0, |r| r.checked),
            "bad": report.as_ref().map(|r| r.bad.clone()).unwrap_or_default(),
            "removed": report.as_ref().is_some_and(|r| r.removed),
        }))?;
    } else {
        for p in &problems {
            println!("CORRUPT  {p}");
        }
        if let Some(q) = &quarantined {
            println!("moved the store aside to {}; a fresh one is created on next use", q.display());
        }
        if let Some(r) = &report {
            for b in &r.bad {
                println!("BAD      namespace {} key {}: {}", &b.namespace.get(..16).unwrap_or(&b.namespace), b.key, b.reason);
            }
            println!(
                "checked {} entries: {} bad{}",
                r.checked,
                r.bad.len(),
                if r.bad.is_empty() { "" } else if r.removed { ", removed" } else { " (not removed: --dry-run)" }
            );
        }
    }
    Ok(status)
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of stdout goes away
    // (`rustc-expand-cache stats | head`); Rust ignores SIGPIPE, and `println!` panics.
    // SAFETY: no other thread exists yet.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if let Err(e) = rustc_expand_cache::init_logging() {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    match run(cli) {
        Ok(code) => {
            let _ = std::io::stdout().flush();
            ExitCode::from(code)
        }
        Err(Fail(msg, code)) => {
            eprintln!("error: {msg}");
            ExitCode::from(code)
        }
    }
}
