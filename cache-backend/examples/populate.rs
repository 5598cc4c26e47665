//! Fills a cache directory with synthetic entries, to try the CLI:
//! `cargo run --example populate -- /tmp/expand-cache`
use rustc_expand_cache::{MacroKind, OpenOptions, PutMeta, SessionCounters, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: populate DIR")?;
    let dir = std::path::Path::new(&dir);
    let macros = [("serde_derive", "Serialize", MacroKind::Derive, 2_400_000u64), ("serde_derive", "Deserialize", MacroKind::Derive, 5_100_000), ("thiserror_impl", "Error", MacroKind::Derive, 900_000), ("tokio_macros", "main", MacroKind::Attribute, 300_000)];
    for (ns, sessions) in [("rustc 1.95.0 (59807616e 2026-04-14) x86_64-unknown-linux-gnu", 3u64), ("rustc 1.95.0 (59807616e 2026-04-14) aarch64-unknown-linux-gnu", 1)] {
        for session in 0..sessions {
            let mut s = Store::open(dir, ns, &OpenOptions::default())?;
            let (mut hits, mut misses, mut saved) = (0, 0, 0);
            for i in 0..40u64 {
                let (krate, name, kind, nanos) = macros[(i % 4) as usize];
                let key = format!("{krate}::{name}#{i}");
                if s.get(key.as_bytes())?.is_some() {
                    hits += 1;
                    saved += nanos;
                } else {
                    misses += 1;
                    let value = vec![b'x'; 200 + (i as usize * 137) % 8000];
                    s.put(key.as_bytes(), &value, PutMeta { macro_crate: krate.into(), macro_name: name.into(), kind, expand_nanos: nanos })?;
                }
            }
            s.record_stats(SessionCounters { sessions: 1, hits, misses, stored: misses, uncacheable: 0, lookup_nanos: hits * 3_000, saved_nanos: saved });
            s.commit()?;
            println!("{ns}: session {session}: {hits} hits, {misses} misses");
        }
    }
    Ok(())
}
