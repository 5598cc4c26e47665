//! The built toolchain behaves like a normal Rust toolchain, and is this fork.

use std::process::Command;

use rec_e2e::{Fixture, python, repo_root, text, toolchain};

fn pin_value(key: &str) -> String {
    let pin = std::fs::read_to_string(repo_root().join("toolchain/pin.toml")).expect("pin.toml");
    pin.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{key} missing from pin.toml"))
        .trim_matches('"')
        .to_owned()
}

#[test]
fn reports_upstream_version_and_fork_identity() {
    let out = Command::new(toolchain().join("bin/rustc")).arg("-vV").output().expect("rustc -vV");
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    // The version string stays upstream's, or the official std is refused.
    assert_eq!(lines[0], format!("rustc {}", pin_value("version-string")));
    assert!(lines.contains(&format!("commit-hash: {}", pin_value("commit")).as_str()), "{stdout}");
    let identity = String::from_utf8(python(&["toolchain/build.py", "identity"]).stdout).expect("utf-8");
    let expected = format!("expand-cache: {}", identity.trim());
    assert!(lines.contains(&expected.as_str()), "missing `{expected}` in:\n{stdout}");
}

#[test]
fn patch_series_applies_to_pinned_source() {
    let out = python(&["toolchain/build.py", "check-patches"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("patches apply"), "{}", text(&out));
}

#[test]
fn serde_crate_checks_builds_and_tests() {
    let fx = Fixture::new("serde-app");
    fx.ok(["check", "--locked"]);
    // cargo test also runs the doctest through the toolchain's rustdoc.
    let out = fx.ok(["test", "--locked"]);
    let all = text(&out);
    assert!(all.contains("test tests::round_trip ... ok"), "{all}");
    assert!(all.contains("Doc-tests serde_app"), "doctests did not run:\n{all}");
    assert!(all.contains("src/lib.rs - Config (line"), "{all}");
}

#[test]
fn clippy_runs_against_the_patched_driver() {
    let bin = toolchain().join("bin");
    assert!(bin.join("clippy-driver").is_file(), "clippy-driver missing from the toolchain");
    let v = Command::new(bin.join("clippy-driver")).arg("-vV").output().expect("clippy-driver");
    assert!(String::from_utf8_lossy(&v.stdout).contains("expand-cache: "), "{}", text(&v));
    let fx = Fixture::new("serde-app");
    let out = fx.ok(["clippy", "--locked", "--", "-D", "warnings"]);
    assert!(text(&out).contains("Finished"), "{}", text(&out));
}

#[test]
fn panicking_proc_macro_is_a_compile_error_not_an_abort() {
    let fx = Fixture::new("panic-macro");
    let out = fx.run(["check", "--locked"]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("proc macro panicked"), "{all}");
    assert!(all.contains("boom from a proc macro"), "{all}");
    assert!(!all.contains("foreign exception") && !all.contains("SIGABRT"), "rustc aborted:\n{all}");
}

#[test]
fn catch_unwind_and_inline_asm_compile_and_run() {
    let fx = Fixture::new("unwind-asm");
    let out = fx.ok(["run", "--locked", "-q"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "asm: 42\ncaught: true\n", "{}", text(&out));
}

#[test]
fn patch_series_is_well_formed() {
    python(&["toolchain/gen-series.py", "--check"]);
    let dir = repo_root().join("toolchain/patches");
    let series = std::fs::read_to_string(dir.join("series")).expect("series");
    // As toolchain/build.py reads it: one name per line, `#` starts a comment.
    let names: Vec<&str> =
        series.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|n| !n.is_empty()).collect();
    assert!(!names.is_empty());
    for name in &names {
        let patch = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (header, body) = patch.split_once("diff --git ").unwrap_or_else(|| panic!("{name}: no diff"));
        // A header: what the patch does and why.
        assert!(header.starts_with("Subject: ") && header.lines().count() >= 3, "{name}: header missing");
        // Only compiler/ and library/ are identical in the upstream tarball (Nix)
        // and Debian's repack (builds here), so the series applies to both.
        for line in body.lines().filter(|l| l.starts_with("+++ ") || l.starts_with("--- ")) {
            let path = &line[4..];
            assert!(
                path == "/dev/null" || path.starts_with("a/compiler/") || path.starts_with("b/compiler/")
                    || path.starts_with("a/library/") || path.starts_with("b/library/"),
                "{name} touches {path}, outside the parts both source trees share"
            );
        }
    }
    // Every patch file is in the series, and the other way round.
    for entry in std::fs::read_dir(&dir).expect("patches dir") {
        let file = entry.expect("entry").file_name().into_string().expect("utf-8");
        assert!(file == "series" || names.contains(&file.as_str()), "{file} is not in the series");
    }
}
