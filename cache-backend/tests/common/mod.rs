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

/// Clears the flags of every LMDB leaf page holding entry keys: LMDB then reports
/// MDB_CORRUPTED when it reaches one (a damage the header check cannot see).
pub fn break_leaf_pages(dir: &Path, marker: &[u8]) -> usize {
    let p = dir.join("data.mdb");
    let mut d = std::fs::read(&p).unwrap();
    // spare the root page of LMDB's main database (it names the databases)
    let u64_at = |o: usize| u64::from_ne_bytes(d[o..o + 8].try_into().unwrap());
    let newest = if u64_at(4096 + 144) > u64_at(144) { 4096 } else { 0 };
    let main_root = u64_at(newest + 128) as usize;
    let mut n = 0;
    for (pgno, page) in d.chunks_mut(4096).enumerate().skip(2) {
        if pgno == main_root {
            continue;
        }
        let flags = u16::from_ne_bytes([page[10], page[11]]);
        if flags & 0x02 != 0 && page.windows(marker.len()).any(|w| w == marker) {
            page[10] = 0;
            page[11] = 0;
            n += 1;
        }
    }
    std::fs::write(&p, d).unwrap();
    n
}

