//! queries LABEL[,LABEL...] FILE.mm_profdata...
//!
//! Prints `label<TAB>key` for every query with one of those labels (`typeck`,
//! `mir_borrowck`...) whose provider ran, sorted: what rustc recomputed instead of taking
//! from its incremental cache. Needs a profile written with
//! `-Zself-profile-events=default,args,query-keys` (without `query-keys` the keys are
//! missing and the line says so).
use analyzeme::ProfilingData;
use std::collections::BTreeSet;
use std::path::Path;

/// measureme's event kind of a query provider's run (cache hits and loads from the
/// incremental cache have kinds of their own).
const QUERY_PROVIDER: &str = "Query";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((labels, files)) = args.split_first().filter(|(_, files)| !files.is_empty()) else {
        eprintln!("usage: queries LABEL[,LABEL...] FILE.mm_profdata...");
        std::process::exit(2);
    };
    let labels: BTreeSet<&str> = labels.split(',').collect();
    let mut ran = BTreeSet::new();
    for file in files {
        let data = match ProfilingData::new(&Path::new(file).with_extension("")) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("queries: {file}: {e}");
                std::process::exit(1);
            }
        };
        for ev in data.iter_full() {
            if ev.event_kind == QUERY_PROVIDER && labels.contains(ev.label.as_ref()) {
                let key = ev
                    .additional_data
                    .first()
                    .map_or("(no key: add query-keys)", |k| k.as_ref());
                ran.insert(format!("{}\t{key}", ev.label));
            }
        }
    }
    for line in ran {
        println!("{line}");
    }
}
