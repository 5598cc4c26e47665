//! Helpers for the end-to-end tests: locate the built toolchain, copy a fixture
//! crate into a scratch directory and run cargo there with that toolchain.
//!
//! The toolchain comes from `REC_TOOLCHAIN` (set by `tests/run`), or else from
//! `python3 toolchain/build.py path`. Tests fail, never skip, when it is missing.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// The toolchain directory under test (with `bin/rustc`, `bin/cargo`, ...).
pub fn toolchain() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = match std::env::var_os("REC_TOOLCHAIN") {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(
                String::from_utf8(python(&["toolchain/build.py", "path"]).stdout)
                    .expect("utf-8 path")
                    .trim(),
            ),
        };
        assert!(
            dir.join("bin/rustc").is_file(),
            "no built toolchain at {}: run `python3 toolchain/build.py` (or tests/run), \
             or point REC_TOOLCHAIN at one",
            dir.display()
        );
        dir
    })
}

/// Runs `python3 <args>` in the repo root and returns its output (asserting success).
pub fn python(args: &[&str]) -> Output {
    let out = Command::new("python3").args(args).current_dir(repo_root()).output().expect("python3");
    assert!(out.status.success(), "python3 {args:?} failed:\n{}", text(&out));
    out
}

/// stdout and stderr of a finished command, for assertion messages and matching.
pub fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fixture crate copied into a fresh scratch directory.
pub struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    /// Copies `tests/fixtures/<name>` into a new temporary directory.
    pub fn new(name: &str) -> Fixture {
        let src = repo_root().join("tests/fixtures").join(name);
        assert!(src.is_dir(), "no fixture {}", src.display());
        let dir = tempfile::Builder::new().prefix(&format!("rec-{name}-")).tempdir().expect("tempdir");
        copy_dir(&src, dir.path());
        Fixture { dir }
    }

    /// The fixture's root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A cargo command from the toolchain under test, in the fixture, with
    /// that toolchain's rustc and rustdoc, and the expansion cache in the
    /// fixture's target directory.
    pub fn cargo<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let bin = toolchain().join("bin");
        let mut cmd = Command::new(bin.join("cargo"));
        cmd.args(args)
            .current_dir(self.path())
            .env("RUSTC", bin.join("rustc"))
            .env("RUSTDOC", bin.join("rustdoc"))
            .env("PATH", prepend_path(&bin))
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS");
        // Keep the tests independent of the caller's cache settings.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("RUSTC_EXPAND_CACHE") {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    /// Runs a cargo command and returns its output, whatever the exit status.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cargo(args).output().expect("spawn cargo")
    }

    /// Runs a cargo command and asserts it succeeded.
    pub fn ok<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args);
        assert!(out.status.success(), "cargo {args:?} failed in {}:\n{}", self.path().display(), text(&out));
        out
    }
}

fn prepend_path(dir: &Path) -> std::ffi::OsString {
    let mut parts = vec![dir.to_path_buf()];
    if let Some(p) = std::env::var_os("PATH") {
        parts.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(parts).expect("PATH")
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for entry in std::fs::read_dir(src).expect("read fixture") {
        let entry = entry.expect("dir entry");
        let to = dst.join(entry.file_name());
        if entry.file_name() == "target" {
            continue;
        }
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy fixture file");
        }
    }
}
