//! Latency and throughput of the store: `cargo bench -p rustc-expand-cache --bench store`.
//!
//! Prints, for values of 100 B to 100 KB in a warm store: lookup hit and miss latency
//! (p50/p99) and throughput, buffered insert latency, per-entry commit cost; and the
//! cost of a compiler session's open + commit + close.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use rustc_expand_cache::{MacroKind, OpenOptions, PutMeta, Store};

const NS: &str = "rustc 1.95.0 (59807616e 2026-04-14) x86_64-unknown-linux-gnu bench";

fn meta() -> PutMeta {
    PutMeta { macro_crate: "serde_derive".into(), macro_name: "Serialize".into(), kind: MacroKind::Derive, expand_nanos: 1_000_000 }
}

fn value(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // token-stream-like: mostly ASCII
            b' ' + (x % 90) as u8
        })
        .collect()
}

fn key(size: usize, i: u64) -> Vec<u8> {
    // a 32-byte fingerprint, like rustc's stable hashes
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&(size as u64).to_le_bytes());
    k[8..16].copy_from_slice(&i.to_le_bytes());
    k[16..24].copy_from_slice(&(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes());
    k.to_vec()
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn open(dir: &Path) -> Store {
    Store::open(dir, NS, &OpenOptions { max_size: Some(4 << 30), ..Default::default() }).expect("open")
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let t = tempfile::tempdir_in(std::env::var_os("BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into())).expect("tempdir");
    let dir = t.path().join("expand-cache");
    let sizes: [(usize, u64); 5] = [(100, 20_000), (1_000, 10_000), (10_000, 5_000), (30_000, 2_000), (100_000, 1_000)];

    println!("rustc-expand-cache store benchmark (dir {})", dir.display());
    println!();
    println!("## inserts (warming the store)");
    println!("{:>8} {:>8} {:>12} {:>12} {:>16} {:>12}", "size", "entries", "put p50", "put p99", "commit/entry", "MB/s");
    for &(size, n) in &sizes {
        let mut s = open(&dir);
        let vals: Vec<Vec<u8>> = (0..64).map(|i| value(i, size)).collect();
        let mut lat = Vec::with_capacity(n as usize);
        let mut commit_time = Duration::ZERO;
        let batch = 500;
        let start = Instant::now();
        for i in 0..n {
            let k = key(size, i);
            let t0 = Instant::now();
            s.put(&k, &vals[(i % 64) as usize], meta()).expect("put");
            lat.push(t0.elapsed());
            if (i + 1) % batch == 0 || i + 1 == n {
                let t1 = Instant::now();
                s.commit().expect("commit");
                commit_time += t1.elapsed();
            }
        }
        let total = start.elapsed();
        let mb = (n as f64 * size as f64) / 1e6 / total.as_secs_f64();
        println!(
            "{:>8} {:>8} {:>12} {:>12} {:>16} {:>12.1}",
            size,
            n,
            us(pct(&mut lat, 0.5)),
            us(pct(&mut lat, 0.99)),
            us(commit_time / n as u32),
            mb
        );
    }

    println!();
    println!("## lookups in the warm store (one handle, random keys)");
    println!("{:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}", "size", "hit p50", "hit p99", "hits/s", "MB/s", "miss p50", "miss p99");
    let mut s = open(&dir);
    for &(size, n) in &sizes {
        let lookups = 20_000u64.min(n * 4);
        let mut x = 0x1234_5678_u64;
        let mut lat = Vec::with_capacity(lookups as usize);
        let start = Instant::now();
        for _ in 0..lookups {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = key(size, x % n);
            let t0 = Instant::now();
            let v = s.get(&k).expect("get").expect("hit");
            lat.push(t0.elapsed());
            black_box(&v);
        }
        let total = start.elapsed();
        let mut miss = Vec::with_capacity(5000);
        for i in 0..5000 {
            let k = key(size, n + 1_000_000 + i);
            let t0 = Instant::now();
            black_box(s.get(&k).expect("get"));
            miss.push(t0.elapsed());
        }
        println!(
            "{:>8} {:>12} {:>12} {:>12.0} {:>12.1} {:>12} {:>12}",
            size,
            us(pct(&mut lat, 0.5)),
            us(pct(&mut lat, 0.99)),
            lookups as f64 / total.as_secs_f64(),
            lookups as f64 * size as f64 / 1e6 / total.as_secs_f64(),
            us(pct(&mut miss, 0.5)),
            us(pct(&mut miss, 0.99))
        );
    }
    // write the hit counts of this handle (a realistic session end), then close
    let t0 = Instant::now();
    s.commit().expect("commit hits");
    println!("commit of the hit counts of all these lookups: {}", us(t0.elapsed()));
    drop(s);

    println!();
    println!("## compiler session: open + N lookups + M puts + commit + close (env reopened each time)");
    println!("{:>28} {:>12} {:>12}", "session", "p50", "p99");
    for (label, hits, puts) in [("open+close (nothing)", 0u64, 0u64), ("open+20 hits+commit", 20, 0), ("open+20 puts(10KB)+commit", 0, 20), ("open+50 hits+20 puts+commit", 50, 20)] {
        let mut lat = Vec::new();
        let v = value(7, 10_000);
        for round in 0..200u64 {
            let t0 = Instant::now();
            let mut s = open(&dir);
            for i in 0..hits {
                black_box(s.get(&key(10_000, (round * 50 + i) % 5_000)).expect("get"));
            }
            for i in 0..puts {
                s.put(&key(424_242, round * 100 + i), &v, meta()).expect("put");
            }
            s.commit().expect("commit");
            drop(s);
            lat.push(t0.elapsed());
        }
        println!("{:>28} {:>12} {:>12}", label, us(pct(&mut lat, 0.5)), us(pct(&mut lat, 0.99)));
    }
    let size = std::fs::metadata(dir.join("data.mdb")).map(|m| m.len()).unwrap_or(0);
    println!();
    println!("data file: {:.1} MB", size as f64 / 1e6);
}
