//! Whole-cache operations behind the CLI: statistics, garbage collection, clearing,
//! verification and the deterministic export/import format.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lmdb::{Cursor, Transaction};
use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

use crate::env::{self, collect_meta, delete_entry, evict_to, hard_map_limit, now_ms, put, txn_id, used_bytes, Evicted, OpenOptions, SharedEnv};
use crate::error::{Error, Result};
use crate::format::{self, decode_value, valid_entry_key, EntryMeta, MacroKind, NamespaceId, NamespaceRecord, SessionCounters};
use crate::guard;

/// Magic line opening an export file.
pub const EXPORT_MAGIC: &[u8; 26] = b"RUSTC-EXPAND-CACHE-EXPORT\n";
/// Version of the export format.
pub const EXPORT_VERSION: u32 = 1;

type PerMacro = BTreeMap<(String, String, MacroKind), MacroStats>;

/// An open cache directory, for maintenance.
pub struct Cache {
    shared: Arc<SharedEnv>,
    max_size: u64,
}

/// Statistics of one macro within a namespace.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MacroStats {
    /// Crate defining the macro.
    pub macro_crate: String,
    /// Macro name.
    pub macro_name: String,
    /// Macro kind.
    pub kind: MacroKind,
    /// Entries.
    pub entries: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Hits.
    pub hits: u64,
    /// Estimated time saved: hits times the original expansion time.
    pub saved_nanos: u64,
}

/// Statistics of one namespace.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NamespaceStats {
    /// Hex namespace id.
    pub id: String,
    /// Compiler identity string (empty if its record is missing).
    pub identity: String,
    /// Entries.
    pub entries: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Hits counted on entries.
    pub hits: u64,
    /// Estimated time saved (hits times expansion time).
    pub saved_nanos: u64,
    /// Counters recorded by compiler sessions.
    pub sessions: SessionCounters,
    /// Per macro, most time saved first.
    pub macros: Vec<MacroStats>,
}

/// Statistics of a cache directory.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CacheStats {
    /// The directory.
    pub dir: PathBuf,
    /// Size of the LMDB data file (including free pages).
    pub file_bytes: u64,
    /// Bytes of live pages, the quantity the cap applies to.
    pub used_bytes: u64,
    /// The size cap.
    pub max_size: u64,
    /// Current map size.
    pub map_size: u64,
    /// Total entries.
    pub entries: u64,
    /// Per namespace.
    pub namespaces: Vec<NamespaceStats>,
}

/// What `gc` should do.
#[derive(Clone, Debug, Default)]
pub struct GcOptions {
    /// Evict least recently used entries down to this size (default: the cap).
    pub max_size: Option<u64>,
    /// Remove entries not used for this long.
    pub older_than: Option<Duration>,
    /// Restrict to one namespace.
    pub namespace: Option<NamespaceId>,
}

/// What `gc` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GcReport {
    /// Removed because too old.
    pub expired: Evicted,
    /// Removed to get under the size.
    pub evicted: Evicted,
    /// Live bytes before.
    pub used_before: u64,
    /// Live bytes after.
    pub used_after: u64,
    /// The size target applied.
    pub target_size: u64,
}

/// A bad entry found by `verify`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct BadEntry {
    /// Hex namespace id.
    pub namespace: String,
    /// Hex entry key (after the namespace id).
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// What `verify` found.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub checked: u64,
    /// Bad entries.
    pub bad: Vec<BadEntry>,
    /// Whether the bad entries were removed.
    pub removed: bool,
}

/// What an export or import covered.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
pub struct TransferReport {
    /// Namespaces.
    pub namespaces: u64,
    /// Entries written (export) or added (import).
    pub entries: u64,
    /// Entries skipped (bad on export, already present on import).
    pub skipped: u64,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Cache {
    /// Opens a cache directory for maintenance. It must already exist.
    pub fn open(dir: &Path, opts: &OpenOptions) -> Result<Cache> {
        if !dir.join(guard::DATA_FILE).exists() {
            return Err(Error::Missing(dir.to_path_buf()));
        }
        let max_size = env::resolve_max_size(opts)?;
        let shared = SharedEnv::open(dir, opts, max_size)?;
        Ok(Cache { shared, max_size })
    }

    /// Opens a cache directory for maintenance, creating it (0700) if needed.
    pub fn open_or_create(dir: &Path, opts: &OpenOptions) -> Result<Cache> {
        let max_size = env::resolve_max_size(opts)?;
        let shared = SharedEnv::open(dir, opts, max_size)?;
        Ok(Cache { shared, max_size })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The size cap.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// Walks every page of the store (run it in a child process if the store may be
    /// corrupt: a damaged map can crash the process).
    pub fn walk(&self) -> std::result::Result<u64, String> {
        self.shared.walk()
    }

    /// All namespaces with their records.
    pub fn namespaces(&self) -> Result<Vec<(NamespaceId, NamespaceRecord)>> {
        self.shared.read(|txn| {
            let mut out = Vec::new();
            let mut c = txn.open_ro_cursor(self.shared.dbs.namespaces).map_err(|e| Error::lmdb("cursor", e))?;
            for r in c.iter_start() {
                let (k, v) = r.map_err(|e| Error::lmdb("scan namespaces", e))?;
                if let (Some(id), Ok(rec)) = (NamespaceId::from_key(k), NamespaceRecord::decode(v)) {
                    out.push((id, rec));
                }
            }
            Ok(out)
        })
    }

    /// Resolves a namespace given by identity string or (a prefix of at least 4 of) its hex id.
    pub fn resolve_namespace(&self, name: &str) -> Result<NamespaceId> {
        let all = self.namespaces()?;
        if let Some((id, _)) = all.iter().find(|(_, r)| r.identity == name) {
            return Ok(*id);
        }
        let lower = name.to_ascii_lowercase();
        if lower.len() >= 4 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            let m: Vec<_> = all.iter().filter(|(id, _)| id.hex().starts_with(&lower)).collect();
            match m.len() {
                1 => return Ok(m[0].0),
                n if n > 1 => return Err(Error::BadArgument(format!("namespace id prefix {name:?} is ambiguous ({n} matches)"))),
                _ => {}
            }
        }
        Err(Error::BadArgument(format!("no namespace {name:?} in {} (see `rustc-expand-cache stats`)", self.dir().display())))
    }

    /// Statistics per namespace and per macro.
    pub fn stats(&self) -> Result<CacheStats> {
        let names: BTreeMap<NamespaceId, NamespaceRecord> = self.namespaces()?.into_iter().collect();
        let (used, metas) = self.shared.read(|txn| Ok((used_bytes(txn, &self.shared.dbs)?, collect_meta(txn, &self.shared.dbs, None)?)))?;
        let mut per_ns: BTreeMap<NamespaceId, (NamespaceStats, PerMacro)> = BTreeMap::new();
        let blank = |id: NamespaceId| {
            let rec = names.get(&id);
            NamespaceStats {
                id: id.hex(),
                identity: rec.map(|r| r.identity.clone()).unwrap_or_default(),
                entries: 0,
                bytes: 0,
                hits: 0,
                saved_nanos: 0,
                sessions: rec.map(|r| r.counters).unwrap_or_default(),
                macros: Vec::new(),
            }
        };
        for id in names.keys() {
            per_ns.insert(*id, (blank(*id), BTreeMap::new()));
        }
        let mut total = 0;
        for (k, m) in metas {
            let (Some(id), Some(m)) = (NamespaceId::from_key(&k), m) else { continue };
            total += 1;
            let (ns, macros) = per_ns.entry(id).or_insert_with(|| (blank(id), BTreeMap::new()));
            let saved = m.hit_count.saturating_mul(m.expand_nanos);
            ns.entries += 1;
            ns.bytes += m.size;
            ns.hits += m.hit_count;
            ns.saved_nanos = ns.saved_nanos.saturating_add(saved);
            let ms = macros.entry((m.macro_crate.clone(), m.macro_name.clone(), m.kind)).or_insert_with(|| MacroStats {
                macro_crate: m.macro_crate.clone(),
                macro_name: m.macro_name.clone(),
                kind: m.kind,
                entries: 0,
                bytes: 0,
                hits: 0,
                saved_nanos: 0,
            });
            ms.entries += 1;
            ms.bytes += m.size;
            ms.hits += m.hit_count;
            ms.saved_nanos = ms.saved_nanos.saturating_add(saved);
        }
        let namespaces = per_ns
            .into_values()
            .map(|(mut ns, macros)| {
                ns.macros = macros.into_values().collect();
                ns.macros.sort_by(|a, b| b.saved_nanos.cmp(&a.saved_nanos).then(b.bytes.cmp(&a.bytes)).then(a.macro_crate.cmp(&b.macro_crate)).then(a.macro_name.cmp(&b.macro_name)));
                ns
            })
            .collect();
        Ok(CacheStats {
            dir: self.dir().to_path_buf(),
            file_bytes: std::fs::metadata(self.dir().join(guard::DATA_FILE)).map(|m| m.len()).unwrap_or(0),
            used_bytes: used,
            max_size: self.max_size,
            map_size: self.shared.map_size(),
            entries: total,
            namespaces,
        })
    }

    /// Removes entries unused for `older_than`, then evicts least recently used entries
    /// down to `max_size` (default: the cap), optionally within one namespace.
    pub fn gc(&self, o: &GcOptions) -> Result<GcReport> {
        let target = match o.max_size {
            Some(v) => v,
            None => self.max_size,
        };
        // An age beyond u64 milliseconds is older than anything.
        let cutoff = o.older_than.map(|d| now_ms().saturating_sub(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)));
        self.shared.write(hard_map_limit(self.max_size), |txn, dbs, _| {
            let used_before = used_bytes(txn, dbs)?;
            let mut expired = Evicted::default();
            if let Some(cut) = cutoff {
                for (k, m) in collect_meta(txn, dbs, o.namespace)? {
                    // inclusive, so that `--older-than 0s` means everything
                    let old = m.as_ref().is_none_or(|m| m.last_used_ms() <= cut);
                    if old {
                        delete_entry(txn, dbs, &k)?;
                        expired.entries += 1;
                        expired.bytes += m.map_or(0, |m| m.size);
                    }
                }
            }
            let evicted = evict_to(txn, dbs, target, o.namespace)?;
            Ok(GcReport { expired, evicted, used_before, used_after: used_bytes(txn, dbs)?, target_size: target })
        })
    }

    /// Removes every entry (of one namespace, or all entries and namespaces).
    pub fn clear(&self, ns: Option<NamespaceId>) -> Result<u64> {
        self.shared.write(hard_map_limit(self.max_size), |txn, dbs, _| {
            match ns {
                None => {
                    let n = collect_meta(txn, dbs, None)?.len() as u64;
                    for db in dbs.all() {
                        txn.clear_db(db).map_err(|e| Error::lmdb("clear", e))?;
                    }
                    Ok(n)
                }
                Some(ns) => {
                    let mut keys: Vec<Vec<u8>> = collect_meta(txn, dbs, Some(ns))?.into_iter().map(|(k, _)| k).collect();
                    {
                        let mut c = txn.open_ro_cursor(dbs.entries).map_err(|e| Error::lmdb("cursor", e))?;
                        for r in c.iter_from(ns.0) {
                            let (k, _) = r.map_err(|e| Error::lmdb("scan", e))?;
                            if !k.starts_with(&ns.0) {
                                break;
                            }
                            keys.push(k.to_vec());
                        }
                    }
                    keys.sort();
                    keys.dedup();
                    for k in &keys {
                        delete_entry(txn, dbs, k)?;
                    }
                    match txn.del(dbs.namespaces, &ns.0, None) {
                        Ok(()) | Err(lmdb::Error::NotFound) => {}
                        Err(e) => return Err(Error::lmdb("delete namespace", e)),
                    }
                    Ok(keys.len() as u64)
                }
            }
        })
    }

    /// Checks every entry (value format and checksum, metadata, key shape, pairing of
    /// value and metadata) and removes the bad ones unless `dry_run`.
    pub fn verify(&self, dry_run: bool) -> Result<VerifyReport> {
        let dbs = self.shared.dbs;
        let (checked, mut bad) = self.shared.read(|txn| {
            let mut checked = 0u64;
            let mut bad: Vec<(Vec<u8>, String)> = Vec::new();
            {
                let mut c = txn.open_ro_cursor(dbs.entries).map_err(|e| Error::lmdb("cursor", e))?;
                for r in c.iter_start() {
                    let (k, v) = r.map_err(|e| Error::lmdb("scan", e))?;
                    checked += 1;
                    if !valid_entry_key(k) {
                        bad.push((k.to_vec(), "malformed key".into()));
                    } else if let Err(e) = decode_value(k, v) {
                        bad.push((k.to_vec(), format!("value: {e}")));
                    }
                }
                let mut c = txn.open_ro_cursor(dbs.meta).map_err(|e| Error::lmdb("cursor", e))?;
                for r in c.iter_start() {
                    let (k, v) = r.map_err(|e| Error::lmdb("scan", e))?;
                    if let Err(e) = EntryMeta::decode(v) {
                        bad.push((k.to_vec(), format!("metadata: {e}")));
                    }
                }
            }
            // pairing: every value has metadata and vice versa
            let mut ce = txn.open_ro_cursor(dbs.entries).map_err(|e| Error::lmdb("cursor", e))?;
            let mut keys_e = Vec::new();
            for r in ce.iter_start() {
                keys_e.push(r.map_err(|e| Error::lmdb("scan", e))?.0.to_vec());
            }
            let mut cm = txn.open_ro_cursor(dbs.meta).map_err(|e| Error::lmdb("cursor", e))?;
            let mut keys_m = Vec::new();
            for r in cm.iter_start() {
                keys_m.push(r.map_err(|e| Error::lmdb("scan", e))?.0.to_vec());
            }
            let se: std::collections::BTreeSet<_> = keys_e.iter().collect();
            let sm: std::collections::BTreeSet<_> = keys_m.iter().collect();
            for k in se.difference(&sm) {
                bad.push(((*k).clone(), "value without metadata".into()));
            }
            for k in sm.difference(&se) {
                bad.push(((*k).clone(), "metadata without value".into()));
            }
            Ok((checked, bad))
        })?;
        bad.sort();
        bad.dedup_by(|a, b| a.0 == b.0);
        let removed = !dry_run && !bad.is_empty() && !self.shared.read_only;
        if removed {
            self.shared.write(hard_map_limit(self.max_size), |txn, dbs, _| {
                for (k, _) in &bad {
                    delete_entry(txn, dbs, k)?;
                }
                Ok(())
            })?;
        }
        let bad = bad
            .into_iter()
            .map(|(k, reason)| BadEntry {
                namespace: NamespaceId::from_key(&k).map(|n| n.hex()).unwrap_or_default(),
                key: hex(k.get(16..).unwrap_or(&[])),
                reason,
            })
            .collect();
        Ok(VerifyReport { checked, bad, removed })
    }

    /// Writes the deterministic export of one namespace or all of them to `out`.
    ///
    /// Layout (integers little-endian): magic, `u32` version, then per namespace sorted
    /// by identity: `b'N'`, `u32` length + identity, `u64` entry count, and per entry
    /// sorted by key: `u32` length + key, `u16` length + macro crate, `u16` length +
    /// macro name, `u8` kind, `u64` expansion nanoseconds, `u64` length + value; then
    /// `b'E'` and the xxh3-64 of everything before. No times, hit counts or session
    /// counters: the same logical content always gives the same bytes.
    pub fn export(&self, only: Option<NamespaceId>, out: &mut dyn Write) -> Result<TransferReport> {
        let mut names: Vec<(NamespaceId, NamespaceRecord)> = self.namespaces()?.into_iter().filter(|(id, _)| only.is_none_or(|o| o == *id)).collect();
        names.sort_by(|a, b| a.1.identity.cmp(&b.1.identity).then(a.0.cmp(&b.0)));
        let mut w = HashingWriter { inner: out, hash: Xxh3::new() };
        let ioe = |e| Error::io("cannot write export", "<output>", e);
        w.write_all(EXPORT_MAGIC).map_err(ioe)?;
        w.write_all(&EXPORT_VERSION.to_le_bytes()).map_err(ioe)?;
        let mut rep = TransferReport::default();
        for (id, rec) in names {
            let dbs = self.shared.dbs;
            // Collect this namespace's entries in one read transaction.
            let entries = self.shared.read(|txn| {
                let mut v = Vec::new();
                let mut skipped = 0;
                let mut c = txn.open_ro_cursor(dbs.entries).map_err(|e| Error::lmdb("cursor", e))?;
                for r in c.iter_from(id.0) {
                    let (k, val) = r.map_err(|e| Error::lmdb("scan", e))?;
                    if !k.starts_with(&id.0) {
                        break;
                    }
                    let meta = match txn.get(dbs.meta, &k) {
                        Ok(m) => EntryMeta::decode(m).ok(),
                        Err(_) => None,
                    };
                    match (valid_entry_key(k), decode_value(k, val), meta) {
                        (true, Ok(p), Some(m)) => v.push((k[16..].to_vec(), m, p.to_vec())),
                        _ => skipped += 1,
                    }
                }
                Ok((v, skipped))
            })?;
            let (entries, skipped) = entries;
            rep.namespaces += 1;
            rep.skipped += skipped;
            w.write_all(b"N").map_err(ioe)?;
            w.write_all(&(rec.identity.len() as u32).to_le_bytes()).map_err(ioe)?;
            w.write_all(rec.identity.as_bytes()).map_err(ioe)?;
            w.write_all(&(entries.len() as u64).to_le_bytes()).map_err(ioe)?;
            for (k, m, p) in entries {
                let c = format::stored_name(&m.macro_crate);
                let n = format::stored_name(&m.macro_name);
                w.write_all(&(k.len() as u32).to_le_bytes()).map_err(ioe)?;
                w.write_all(&k).map_err(ioe)?;
                w.write_all(&(c.len() as u16).to_le_bytes()).map_err(ioe)?;
                w.write_all(c).map_err(ioe)?;
                w.write_all(&(n.len() as u16).to_le_bytes()).map_err(ioe)?;
                w.write_all(n).map_err(ioe)?;
                w.write_all(&[m.kind.as_u8()]).map_err(ioe)?;
                w.write_all(&m.expand_nanos.to_le_bytes()).map_err(ioe)?;
                w.write_all(&(p.len() as u64).to_le_bytes()).map_err(ioe)?;
                w.write_all(&p).map_err(ioe)?;
                rep.entries += 1;
            }
        }
        let sum = w.hash.digest();
        w.inner.write_all(b"E").map_err(ioe)?;
        w.inner.write_all(&sum.to_le_bytes()).map_err(ioe)?;
        w.inner.flush().map_err(ioe)?;
        Ok(rep)
    }

    /// Merges an export into the store: entries already present (with a valid value) are
    /// kept, the others added with fresh times. Evicts if the cap is exceeded.
    pub fn import(&self, data: &[u8]) -> Result<TransferReport> {
        let parsed = parse_export(data)?;
        let max = self.max_size;
        self.shared.write(hard_map_limit(max), |txn, dbs, must_evict| {
            if must_evict {
                evict_to(txn, dbs, max / 2, None)?;
            }
            let txnid = txn_id(txn);
            let now = now_ms();
            let mut rep = TransferReport::default();
            for ns in &parsed {
                rep.namespaces += 1;
                let id = NamespaceId::of(ns.identity.as_bytes());
                match txn.get(dbs.namespaces, &id.0) {
                    Ok(_) => {}
                    Err(lmdb::Error::NotFound) => {
                        let rec = NamespaceRecord { identity: ns.identity.clone(), counters: SessionCounters::default() };
                        put(txn, dbs.namespaces, &id.0, &rec.encode())?;
                    }
                    Err(e) => return Err(Error::lmdb("read namespace", e)),
                }
                for e in &ns.entries {
                    let mut k = id.0.to_vec();
                    k.extend_from_slice(e.key);
                    let present = match txn.get(dbs.entries, &k) {
                        Ok(v) => decode_value(&k, v).is_ok(),
                        Err(lmdb::Error::NotFound) => false,
                        Err(e) => return Err(Error::lmdb("read entry", e)),
                    };
                    if present {
                        rep.skipped += 1;
                        continue;
                    }
                    let meta = EntryMeta {
                        macro_crate: e.macro_crate.to_string(),
                        macro_name: e.macro_name.to_string(),
                        kind: e.kind,
                        created_ms: now,
                        last_hit_ms: 0,
                        hit_count: 0,
                        size: e.value.len() as u64,
                        expand_nanos: e.expand_nanos,
                        last_use_txn: txnid,
                    };
                    put(txn, dbs.entries, &k, &format::encode_value(&k, e.value))?;
                    put(txn, dbs.meta, &k, &meta.encode())?;
                    rep.entries += 1;
                }
            }
            if used_bytes(txn, dbs)? > max {
                evict_to(txn, dbs, max / 10 * 9, None)?;
            }
            Ok(rep)
        })
    }
}

struct HashingWriter<'a> {
    inner: &'a mut dyn Write,
    hash: Xxh3,
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One entry of a parsed export.
pub struct ExportEntry<'a> {
    /// Key after the namespace id.
    pub key: &'a [u8],
    /// Macro crate.
    pub macro_crate: &'a str,
    /// Macro name.
    pub macro_name: &'a str,
    /// Kind.
    pub kind: MacroKind,
    /// Original expansion time.
    pub expand_nanos: u64,
    /// The value.
    pub value: &'a [u8],
}

/// One namespace of a parsed export.
pub struct ExportNamespace<'a> {
    /// Compiler identity.
    pub identity: String,
    /// Entries.
    pub entries: Vec<ExportEntry<'a>>,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| Error::BadExport(format!("truncated at byte {}", self.pos)))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn str(&mut self, n: usize) -> Result<&'a str> {
        std::str::from_utf8(self.take(n)?).map_err(|_| Error::BadExport("string is not UTF-8".into()))
    }
}

/// Parses and checks an export file.
pub fn parse_export(data: &[u8]) -> Result<Vec<ExportNamespace<'_>>> {
    if data.len() < EXPORT_MAGIC.len() + 4 + 9 || &data[..EXPORT_MAGIC.len()] != EXPORT_MAGIC {
        return Err(Error::BadExport("not a rustc-expand-cache export (bad magic)".into()));
    }
    let (body, trailer) = data.split_at(data.len() - 9);
    if trailer[0] != b'E' {
        return Err(Error::BadExport("missing end marker (truncated file?)".into()));
    }
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&trailer[1..]);
    if xxhash_rust::xxh3::xxh3_64(body) != u64::from_le_bytes(sum) {
        return Err(Error::BadExport("checksum mismatch".into()));
    }
    let mut r = Reader { b: body, pos: EXPORT_MAGIC.len() };
    let v = r.u32()?;
    if v != EXPORT_VERSION {
        return Err(Error::BadExport(format!("unsupported export version {v}")));
    }
    let mut out = Vec::new();
    while r.pos < body.len() {
        if r.u8()? != b'N' {
            return Err(Error::BadExport(format!("expected a namespace at byte {}", r.pos - 1)));
        }
        let il = r.u32()? as usize;
        let identity = r.str(il)?.to_string();
        let n = r.u64()?;
        let mut entries = Vec::new();
        for _ in 0..n {
            let kl = r.u32()? as usize;
            let key = r.take(kl)?;
            let cl = r.u16()? as usize;
            let macro_crate = r.str(cl)?;
            let nl = r.u16()? as usize;
            let macro_name = r.str(nl)?;
            let kind = MacroKind::from_u8(r.u8()?).ok_or_else(|| Error::BadExport("bad macro kind".into()))?;
            let expand_nanos = r.u64()?;
            let vl = r.u64()? as usize;
            let value = r.take(vl)?;
            let mut full = vec![0u8; 16];
            full.extend_from_slice(key);
            if !valid_entry_key(&full) {
                return Err(Error::BadExport("malformed entry key".into()));
            }
            entries.push(ExportEntry { key, macro_crate, macro_name, kind, expand_nanos, value });
        }
        out.push(ExportNamespace { identity, entries });
    }
    Ok(out)
}
