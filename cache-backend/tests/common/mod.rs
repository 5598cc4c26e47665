//! Helpers shared by the integration tests.
#![allow(dead_code)]
pub mod abi;

use rustc_expand_cache::{MacroKind, OpenOptions, PutMeta, Store};
use std::path::{Path, PathBuf};

/// A deterministic value of `len` bytes for `(tag, i)`, self-describing so that a
/// wrong or half-written value can never pass for a right one.
pub fn value(tag: u64, i: u64, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len.max(16));
    v.extend_from_slice(&tag.to_le_bytes());
    v.extend_from_slice(&i.to_le_bytes());
    let mut x = tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ 0x1234_5678;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(x as u8);
    }
    v.truncate(len.max(16));
    v
}

pub fn key(tag: u64, i: u64) -> Vec<u8> {
    format!("key-{tag}-{i}").into_bytes()
}

pub fn meta(name: &str) -> PutMeta {
    PutMeta { macro_crate: "serde_derive".into(), macro_name: name.into(), kind: MacroKind::Derive, expand_nanos: 1_000_000 }
}

pub const NS: &str = "rustc 1.95.0 (59807616e 2026-04-14) x86_64-unknown-linux-gnu";

pub fn open(dir: &Path) -> Store {
    Store::open(dir, NS, &OpenOptions { max_size: Some(64 << 20), ..Default::default() }).expect("open store")
}

pub fn cache_dir(t: &tempfile::TempDir) -> PathBuf {
    t.path().join("expand-cache")
}

/// Writes `n` entries of session `tag` and commits.
pub fn populate(dir: &Path, tag: u64, n: u64, len: usize) {
    let mut s = open(dir);
    for i in 0..n {
        s.put(&key(tag, i), &value(tag, i, len), meta(if i % 2 == 0 { "Serialize" } else { "Deserialize" })).unwrap();
    }
    s.commit().unwrap();
}
