//! A compiler session's handle on one namespace of a cache directory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use lmdb::Transaction;
use tracing::{debug, warn};

use crate::env::{self, delete_entry, evict_to, hard_map_limit, now_ms, put, txn_id, used_bytes, OpenOptions, SharedEnv};
use crate::error::{Error, Result};
use crate::format::{self, decode_value, encode_value, entry_key, EntryMeta, MacroKind, NamespaceId, NamespaceRecord, SessionCounters};

/// Metadata given with a `put`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutMeta {
    /// Crate defining the macro.
    pub macro_crate: String,
    /// Macro name.
    pub macro_name: String,
    /// Macro kind.
    pub kind: MacroKind,
    /// How long the real expansion took.
    pub expand_nanos: u64,
}

struct Pending {
    value: Vec<u8>,
    meta: PutMeta,
}

/// One compiler session on one namespace: lookups go straight to the store, writes
/// (entries, hit counts, session stats) are buffered and written by [`Store::commit`]
/// in one transaction.
pub struct Store {
    shared: Arc<SharedEnv>,
    ns: NamespaceId,
    identity: String,
    read_only: bool,
    max_size: u64,
    pending: BTreeMap<Vec<u8>, Pending>,
    hits: HashMap<Vec<u8>, (u64, u64)>,
    bad: BTreeSet<Vec<u8>>,
    stats: Option<SessionCounters>,
}

impl Store {
    /// Opens the namespace `identity` of the cache in `dir` (created 0700 unless read-only).
    pub fn open(dir: &Path, identity: &str, opts: &OpenOptions) -> Result<Store> {
        if identity.is_empty() {
            return Err(Error::BadArgument("empty namespace (compiler identity)".into()));
        }
        let max_size = env::resolve_max_size(opts)?;
        let shared = SharedEnv::open(dir, opts, max_size)?;
        Ok(Store {
            read_only: opts.read_only || shared.read_only,
            shared,
            ns: NamespaceId::of(identity.as_bytes()),
            identity: identity.to_string(),
            max_size,
            pending: BTreeMap::new(),
            hits: HashMap::new(),
            bad: BTreeSet::new(),
            stats: None,
        })
    }

    /// The namespace id.
    pub fn namespace(&self) -> NamespaceId {
        self.ns
    }

    /// Whether this handle only reads.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The size cap in bytes.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    fn corruption(&self, e: lmdb::Error) -> Error {
        if env::is_lmdb_corruption(&e) {
            self.shared.quarantine_after(format!("LMDB reported {e}"))
        } else {
            Error::lmdb("get", e)
        }
    }

    /// Looks a key up. A hit returns the exact bytes given to `put`; a value failing its
    /// version or checksum is logged, scheduled for removal and reported as a miss.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let k = entry_key(&self.ns, key);
        if let Some(p) = self.pending.get(&k) {
            return Ok(Some(p.value[format::VALUE_HEADER..].to_vec()));
        }
        let found = self.shared.read(|txn| match txn.get(self.shared.dbs.entries, &k) {
            Ok(stored) => Ok(Some(decode_value(&k, stored).map(|p| p.to_vec()))),
            Err(lmdb::Error::NotFound) => Ok(None),
            Err(e) => Err(self.corruption(e)),
        })?;
        match found {
            None => Ok(None),
            Some(Ok(v)) => {
                if !self.read_only {
                    let h = self.hits.entry(k).or_insert((0, 0));
                    h.0 += 1;
                    h.1 = now_ms();
                }
                Ok(Some(v))
            }
            Some(Err(bad)) => {
                warn!(namespace = %self.ns.hex(), reason = %bad, "rejected a damaged cache entry; treating it as a miss");
                if !self.read_only {
                    self.bad.insert(k);
                }
                Ok(None)
            }
        }
    }

    /// Buffers an entry until [`Store::commit`]; a later put of the same key wins.
    pub fn put(&mut self, key: &[u8], value: &[u8], meta: PutMeta) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly("put on a read-only expansion cache".into()));
        }
        if value.len() > format::MAX_VALUE {
            return Err(Error::BadArgument(format!("value of {} bytes exceeds the {} byte limit", value.len(), format::MAX_VALUE)));
        }
        let k = entry_key(&self.ns, key);
        let value = encode_value(&k, value);
        self.pending.insert(k, Pending { value, meta });
        Ok(())
    }

    /// Buffers a session's counters; they are added to the namespace's totals at commit.
    /// Ignored in read-only mode.
    pub fn record_stats(&mut self, s: SessionCounters) {
        if self.read_only {
            return;
        }
        let mut c = s;
        c.sessions = c.sessions.max(1);
        match &mut self.stats {
            Some(old) => {
                old.add(&c);
                old.sessions -= c.sessions; // one session, however many calls
            }
            None => self.stats = Some(c),
        }
    }

    /// Number of buffered puts.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Writes everything buffered in one transaction (a no-op when nothing is buffered
    /// or the handle is read-only). Evicts least recently used entries if the store
    /// exceeds its cap, and grows the map or evicts when LMDB reports it full.
    pub fn commit(&mut self) -> Result<()> {
        if self.read_only || (self.pending.is_empty() && self.hits.is_empty() && self.bad.is_empty() && self.stats.is_none()) {
            return Ok(());
        }
        let max = self.max_size;
        let ns = self.ns;
        let (pending, hits, bad, stats, identity) = (&self.pending, &self.hits, &self.bad, &self.stats, &self.identity);
        let res = self.shared.write(hard_map_limit(max), |txn, dbs, must_evict| {
            if must_evict {
                // Growth is exhausted: make room for this batch first.
                let batch: u64 = pending.values().map(|p| p.value.len() as u64 + 256).sum();
                evict_to(txn, dbs, (max / 2).saturating_sub(batch), None)?;
            }
            let txnid = txn_id(txn);
            let now = now_ms();
            let old = match txn.get(dbs.namespaces, &ns.0) {
                Ok(b) => NamespaceRecord::decode(b).ok(),
                Err(lmdb::Error::NotFound) => None,
                Err(e) => return Err(Error::lmdb("read namespace", e)),
            };
            if old.is_none() || stats.is_some() {
                let mut rec = old.unwrap_or_else(|| NamespaceRecord { identity: identity.clone(), counters: SessionCounters::default() });
                if let Some(s) = stats {
                    rec.counters.add(s);
                }
                put(txn, dbs.namespaces, &ns.0, &rec.encode())?;
            }
            for (k, p) in pending {
                let meta = EntryMeta {
                    macro_crate: p.meta.macro_crate.clone(),
                    macro_name: p.meta.macro_name.clone(),
                    kind: p.meta.kind,
                    created_ms: now,
                    last_hit_ms: 0,
                    hit_count: 0,
                    size: (p.value.len() - format::VALUE_HEADER) as u64,
                    expand_nanos: p.meta.expand_nanos,
                    last_use_txn: txnid,
                };
                put(txn, dbs.entries, k, &p.value)?;
                put(txn, dbs.meta, k, &meta.encode())?;
            }
            for (k, (n, t)) in hits {
                if pending.contains_key(k) {
                    continue;
                }
                let m = match txn.get(dbs.meta, k) {
                    Ok(b) => EntryMeta::decode(b).ok(),
                    Err(lmdb::Error::NotFound) => None,
                    Err(e) => return Err(Error::lmdb("read metadata", e)),
                };
                if let Some(mut m) = m {
                    m.hit_count = m.hit_count.saturating_add(*n);
                    m.last_hit_ms = m.last_hit_ms.max(*t);
                    m.last_use_txn = txnid;
                    put(txn, dbs.meta, k, &m.encode())?;
                }
            }
            for k in bad {
                if pending.contains_key(k) {
                    continue;
                }
                // Re-check: another process may have replaced it meanwhile.
                let still_bad = match txn.get(dbs.entries, k) {
                    Ok(b) => decode_value(k, b).is_err(),
                    Err(_) => false,
                };
                if still_bad {
                    delete_entry(txn, dbs, k)?;
                }
            }
            if used_bytes(txn, dbs)? > max {
                evict_to(txn, dbs, max / 10 * 9, None)?;
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                debug!(entries = self.pending.len(), hits = self.hits.len(), "committed expansion cache session");
                self.pending.clear();
                self.hits.clear();
                self.bad.clear();
                self.stats = None;
                Ok(())
            }
            Err(e) if e.is_corruption() && !matches!(e, Error::Corrupt { .. }) => Err(self.shared.quarantine_after(e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// Drops everything buffered (what `close` does with uncommitted puts).
    pub fn discard(&mut self) {
        self.pending.clear();
        self.hits.clear();
        self.bad.clear();
        self.stats = None;
    }
}
