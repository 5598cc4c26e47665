//! profsum FILE.mm_profdata...
//!
//! Prints one JSON object per input file (one line each):
//! {"file": ..., "wall_ns": N, "labels": {"label": [count, total_ns], ...},
//!  "by_arg": {"label|arg0": [count, total_ns], ...}}
//! `labels` sums the duration of every interval event by label (no nesting
//! correction: the labels bench/run.py reads do not nest in themselves).
//! `by_arg` does the same for the proc-macro labels, split by their first
//! argument (the macro's name with `-Zself-profile-events=default,args`).
use analyzeme::ProfilingData;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// Nanoseconds as the JSON integers bench/run.py sums (u64 holds 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn main() {
    let mut failed = false;
    for arg in std::env::args().skip(1) {
        let p = Path::new(&arg);
        let stem = p.with_extension("");
        let data = match ProfilingData::new(&stem) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("profsum: {}: {}", arg, e);
                failed = true;
                continue;
            }
        };
        let mut labels: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut by_arg: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let (mut min_start, mut max_end) = (u64::MAX, 0u64);
        for ev in data.iter_full() {
            let Some(d) = ev.duration() else { continue };
            if let Some(ts) = ev.payload.timestamp() {
                let s = ts
                    .start()
                    .duration_since(UNIX_EPOCH)
                    .map(nanos)
                    .unwrap_or(0);
                let e = ts.end().duration_since(UNIX_EPOCH).map(nanos).unwrap_or(0);
                min_start = min_start.min(s);
                max_end = max_end.max(e);
            }
            let ns = nanos(d);
            let ent = labels.entry(ev.label.to_string()).or_default();
            ent.0 += 1;
            ent.1 += ns;
            if ev.label.contains("proc_macro") {
                let a = ev.additional_data.first().map(|c| c.as_ref()).unwrap_or("");
                let ent = by_arg.entry(format!("{}|{}", ev.label, a)).or_default();
                ent.0 += 1;
                ent.1 += ns;
            }
        }
        let wall = max_end.saturating_sub(min_start);
        let line =
            serde_json::json!({"file": arg, "wall_ns": wall, "labels": labels, "by_arg": by_arg});
        println!("{line}");
    }
    if failed {
        std::process::exit(1);
    }
}
