//! The shared LMDB environment of one cache directory: opening with all the safety
//! checks, one environment per directory per process, transactions that survive map
//! resizes, map growth, size accounting and eviction.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use lmdb::{Cursor, Database, DatabaseFlags, Environment, EnvironmentFlags, RoTransaction, RwTransaction, Transaction, WriteFlags};
use tracing::{debug, info, warn};

use crate::config;
use crate::error::{Error, Result};
use crate::format::{EntryMeta, NamespaceId};
use crate::guard::{self, DATA_FILE, LOCK_FILE};

/// Options for opening a cache directory.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Lookups only: never writes, not even hit counts, never creates anything.
    pub read_only: bool,
    /// Size cap; `None` reads `RUSTC_EXPAND_CACHE_MAX_SIZE` (default 1 GiB).
    pub max_size: Option<u64>,
    /// Initial LMDB map size; `None` is twice the cap plus 16 MiB.
    pub initial_map_size: Option<u64>,
}

/// The three databases of a store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dbs {
    /// entry key -> encoded value
    pub entries: Database,
    /// entry key -> encoded [`EntryMeta`]
    pub meta: Database,
    /// namespace id -> encoded [`crate::format::NamespaceRecord`]
    pub namespaces: Database,
}

impl Dbs {
    pub fn all(&self) -> [Database; 3] {
        [self.entries, self.meta, self.namespaces]
    }
}

/// One open LMDB environment, shared by every handle of the process on that directory
/// (LMDB must not be opened twice in one process).
pub(crate) struct SharedEnv {
    pub dir: PathBuf,
    /// Transactions hold the read side; resizing the map takes the write side, since
    /// LMDB forbids resizing while the process has a transaction open.
    env: RwLock<Environment>,
    pub dbs: Dbs,
    pub read_only: bool,
    map_size: Mutex<u64>,
    /// Device and inode of the `data.mdb` this environment maps: after corruption, only
    /// that file may be moved aside, never a fresh store another process created since.
    data_file: Option<(u64, u64)>,
    /// Set once corruption was found: the map is no longer trusted, and every later call
    /// fails at once (without moving anything aside again).
    poisoned: AtomicBool,
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<SharedEnv>>> {
    static R: std::sync::OnceLock<Mutex<HashMap<PathBuf, Weak<SharedEnv>>>> = std::sync::OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

const MIB: u64 = 1 << 20;

fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to).saturating_mul(to)
}

/// The map size to start with for a cap.
pub(crate) fn default_map_size(max_size: u64) -> u64 {
    round_up(max_size.saturating_mul(2).saturating_add(16 * MIB), MIB)
}

/// The largest map a store with this cap may grow to before it must evict.
pub(crate) fn hard_map_limit(max_size: u64) -> u64 {
    round_up(max_size.saturating_mul(4).saturating_add(64 * MIB), MIB)
}

fn is_lmdb(e: &Error, want: lmdb::Error) -> bool {
    matches!(e, Error::Lmdb { source, .. } if *source == want)
}

pub(crate) fn is_map_full(e: &Error) -> bool {
    is_lmdb(e, lmdb::Error::MapFull)
}

pub(crate) fn is_lmdb_corruption(e: &lmdb::Error) -> bool {
    matches!(e, lmdb::Error::Corrupted | lmdb::Error::PageNotFound | lmdb::Error::Invalid | lmdb::Error::VersionMismatch | lmdb::Error::Panic)
}

/// Creates `dir` private to the user (0700); its parents get the default mode.
fn create_private_dir(dir: &Path) -> Result<()> {
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() {
            fs::create_dir_all(parent).map_err(|e| Error::io("cannot create parent of cache directory", parent, e))?;
        }
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            info!(dir = %dir.display(), "created expansion cache directory");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("cannot create cache directory", dir, e)),
    }
}

/// What [`check_dir`] found.
struct DirState {
    md: fs::Metadata,
    data_md: Option<fs::Metadata>,
    lock_md: Option<fs::Metadata>,
}

/// The checks of an open that need no mapping: file system, trust, permissions. Creates
/// the directory if `create` and the open may write.
fn check_dir(dir: &Path, opts: &OpenOptions, create: bool) -> Result<DirState> {
    if dir.as_os_str().is_empty() {
        return Err(Error::BadArgument("empty cache directory path".into()));
    }
    guard::check_fs(dir)?;
    match fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if opts.read_only || !create {
                return Err(Error::Missing(dir.to_path_buf()));
            }
            create_private_dir(dir)?;
        }
        Err(e) => return Err(Error::io("cannot inspect cache directory", dir, e)),
    }
    let md = fs::metadata(dir).map_err(|e| Error::io("cannot inspect cache directory", dir, e))?;
    if !md.is_dir() {
        return Err(Error::io("cannot use", dir, std::io::Error::from(std::io::ErrorKind::NotADirectory)));
    }
    guard::check_trust(dir, &md)?;
    if !guard::readable(dir, &md) {
        return Err(Error::io("cannot read cache directory", dir, std::io::Error::from(std::io::ErrorKind::PermissionDenied)));
    }
    let data = dir.join(DATA_FILE);
    let lock = dir.join(LOCK_FILE);
    let data_md = match fs::metadata(&data) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("cannot inspect", &data, e)),
    };
    let lock_md = fs::metadata(&lock).ok();
    if let Some(m) = &data_md {
        guard::check_trust(&data, m)?;
        if !guard::readable(&data, m) {
            return Err(Error::io("cannot read", &data, std::io::Error::from(std::io::ErrorKind::PermissionDenied)));
        }
    }
    if let Some(m) = &lock_md {
        guard::check_trust(&lock, m)?;
    }
    let dir_writable = guard::writable(dir, &md);
    let data_writable = data_md.as_ref().is_none_or(|m| guard::writable(&data, m));
    if !(opts.read_only || dir_writable && data_writable) {
        return Err(Error::ReadOnly(format!(
            "expansion cache directory {} is read-only; open it read-only (RUSTC_EXPAND_CACHE=read-only) to use it for lookups",
            dir.display()
        )));
    }
    if opts.read_only && data_md.is_none() {
        return Err(Error::Missing(dir.to_path_buf()));
    }
    Ok(DirState { md, data_md, lock_md })
}

/// Whether `dir` passes every check an open makes before LMDB maps the store (size
/// configuration, file system, trust, permissions), without creating or mapping anything:
/// the errors an open of a healthy store there would give.
pub fn check_openable(dir: &Path, opts: &OpenOptions) -> Result<()> {
    resolve_max_size(opts)?;
    check_dir(dir, opts, false).map(|_| ())
}

impl SharedEnv {
    /// Opens (or reuses) the environment of `dir`, running every safety check.
    pub fn open(dir: &Path, opts: &OpenOptions, max_size: u64) -> Result<Arc<SharedEnv>> {
        let DirState { md, data_md, lock_md } = check_dir(dir, opts, true)?;
        let dir_writable = guard::writable(dir, &md);
        let data = dir.join(DATA_FILE);
        let lock = dir.join(LOCK_FILE);

        let canon = fs::canonicalize(dir).map_err(|e| Error::io("cannot resolve cache directory", dir, e))?;
        let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = reg.get(&canon).and_then(Weak::upgrade) {
            if existing.read_only && !opts.read_only {
                return Err(Error::ReadOnly(format!("{} is already open read-only in this process", dir.display())));
            }
            return Ok(existing);
        }

        // Header check with plain reads before LMDB maps anything.
        let mut file_len = 0;
        let mut header_map = 0;
        if data_md.is_some() {
            match guard::check_header_stable(&data) {
                Ok(h) => {
                    header_map = h.map_size;
                    if h.required_len > h.file_len && !opts.read_only {
                        if let Err(e) = guard::extend_to(&data, h.required_len) {
                            debug!(error = %e, "could not extend the data file to its last page");
                        }
                    }
                }
                Err(reason) => return Err(Self::corrupt(dir, reason, opts.read_only)),
            }
            file_len = fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
            // An empty data file is a store another process is creating: LMDB can only
            // initialise it for a writer, and to a reader it holds nothing yet.
            if opts.read_only && file_len == 0 {
                return Err(Error::Missing(dir.to_path_buf()));
            }
        }
        let dead = if opts.read_only { Vec::new() } else { guard::dead_markers(dir) };

        let nolock = opts.read_only && lock_md.as_ref().map_or(!dir_writable, |m| !guard::writable(&lock, m));
        // NO_META_SYNC: data pages are still fsynced before the meta page is written, so an OS
        // crash can only roll back to the previous commit, never corrupt; saves one fsync per commit.
        let mut flags = EnvironmentFlags::NO_TLS | EnvironmentFlags::NO_READAHEAD | EnvironmentFlags::NO_META_SYNC;
        if opts.read_only {
            flags |= EnvironmentFlags::READ_ONLY;
        }
        if nolock {
            flags |= EnvironmentFlags::NO_LOCK;
        }
        let map_size = opts
            .initial_map_size
            .unwrap_or_else(|| default_map_size(max_size))
            .max(round_up(file_len, MIB))
            .max(header_map);
        let map_size = round_up(map_size, 64 * 1024);
        let env = Environment::new()
            .set_flags(flags)
            .set_max_dbs(4)
            .set_max_readers(1022)
            .set_map_size(map_size as usize)
            .open_with_permissions(dir, 0o600);
        let env = match env {
            Ok(e) => e,
            Err(e) if is_lmdb_corruption(&e) => return Err(Self::corrupt(dir, format!("LMDB refused the store: {e}"), opts.read_only)),
            Err(e) => return Err(Error::lmdb("open", e)),
        };
        if !nolock {
            let mut dead_readers = 0;
            // SAFETY: env is a live environment.
            let rc = unsafe { lmdb_sys::mdb_reader_check(env.env(), &mut dead_readers) };
            if rc == 0 && dead_readers > 0 {
                info!(dead_readers, "cleared stale reader slots");
            }
        }
        let dbs = match Self::open_dbs(&env, opts.read_only, dir) {
            Ok(d) => d,
            Err(e) if e.is_corruption() => {
                drop(env);
                return Err(Self::corrupt(dir, e.to_string(), opts.read_only));
            }
            Err(e) => return Err(e),
        };
        if !dead.is_empty() {
            warn!(markers = dead.len(), "a writer of the expansion cache died during a commit; checking the store");
            if let Err(reason) = walk_env(&env, &dbs) {
                drop(env);
                return Err(Self::corrupt(dir, format!("check after a crashed writer failed: {reason}"), false));
            }
            for m in dead {
                let _ = fs::remove_file(m);
            }
        }
        let data_file = fs::metadata(&data).ok().map(|m| (m.dev(), m.ino()));
        let shared = Arc::new(SharedEnv {
            dir: dir.to_path_buf(),
            env: RwLock::new(env),
            dbs,
            read_only: opts.read_only,
            map_size: Mutex::new(map_size),
            data_file,
            poisoned: AtomicBool::new(false),
        });
        reg.retain(|_, w| w.strong_count() > 0);
        reg.insert(canon, Arc::downgrade(&shared));
        debug!(dir = %dir.display(), read_only = opts.read_only, map_size, "opened expansion cache");
        Ok(shared)
    }

    /// Builds a corruption error, quarantining the store unless read-only.
    fn corrupt(dir: &Path, reason: String, read_only: bool) -> Error {
        let quarantined = if read_only {
            None
        } else {
            match guard::quarantine(dir) {
                Ok(q) => Some(q),
                Err(e) => {
                    warn!(error = %e, "could not quarantine the corrupt store");
                    None
                }
            }
        };
        warn!(dir = %dir.display(), %reason, quarantined = ?quarantined, "corrupt expansion cache");
        Error::Corrupt { path: dir.to_path_buf(), reason, quarantined }
    }

    /// Quarantines the store of this environment after corruption was found while in use.
    /// Only the first call does: later calls (and every later transaction, see
    /// [`SharedEnv::check_usable`]) report the corruption without moving anything, and the
    /// data file is moved only if it is still the one this environment maps.
    pub fn quarantine_after(&self, reason: String) -> Error {
        if self.poisoned.swap(true, Ordering::SeqCst) {
            return self.poisoned_error();
        }
        let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(c) = fs::canonicalize(&self.dir) {
            reg.remove(&c);
        }
        drop(reg);
        let current = fs::metadata(self.dir.join(DATA_FILE)).ok().map(|m| (m.dev(), m.ino()));
        if current.is_none() || current != self.data_file {
            warn!(dir = %self.dir.display(), %reason, "corrupt expansion cache, already replaced by another process");
            return Error::Corrupt { path: self.dir.clone(), reason, quarantined: None };
        }
        Self::corrupt(&self.dir, reason, self.read_only)
    }

    fn poisoned_error(&self) -> Error {
        Error::Corrupt { path: self.dir.clone(), reason: "found corrupt earlier in this process".into(), quarantined: None }
    }

    /// Fails once corruption was found: nothing may be read from or written to that map.
    fn check_usable(&self) -> Result<()> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(self.poisoned_error());
        }
        Ok(())
    }

    /// Opens the three databases, creating the missing ones in one transaction: a new store
    /// costs one commit (one fsync, on the compiler's main thread) rather than one per database.
    fn open_dbs(env: &Environment, read_only: bool, dir: &Path) -> Result<Dbs> {
        const NAMES: [&str; 3] = ["entries", "meta", "namespaces"];
        let txn = env.begin_ro_txn().map_err(|e| Error::lmdb("open database", e))?;
        // SAFETY (here and below): no other thread opens databases of this environment: it is
        // not shared yet, and `open` holds the registry lock.
        let opened = NAMES.map(|name| unsafe { txn.open_db(Some(name)) });
        txn.commit().map_err(|e| Error::lmdb("open database", e))?;
        if let [Ok(entries), Ok(meta), Ok(namespaces)] = opened {
            return Ok(Dbs { entries, meta, namespaces });
        }
        if let Some(e) = opened.iter().find_map(|r| r.err().filter(|e| *e != lmdb::Error::NotFound)) {
            return Err(Error::lmdb("open database", e));
        }
        if read_only {
            return Err(Error::Missing(dir.to_path_buf()));
        }
        let txn = env.begin_rw_txn().map_err(|e| Error::lmdb("create database", e))?;
        let [entries, meta, namespaces] = NAMES.map(|name| unsafe { txn.create_db(Some(name), DatabaseFlags::empty()) });
        let map = |r: lmdb::Result<Database>| r.map_err(|e| Error::lmdb("create database", e));
        let dbs = Dbs { entries: map(entries)?, meta: map(meta)?, namespaces: map(namespaces)? };
        txn.commit().map_err(|e| Error::lmdb("create database", e))?;
        Ok(dbs)
    }

    fn adopt_map_size(&self) -> Result<()> {
        let env = self.env.write().unwrap_or_else(|p| p.into_inner());
        env.set_map_size(0).map_err(|e| Error::lmdb("adopt new map size", e))?;
        let mut ms = self.map_size.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: env is live; mdb_env_info fills a plain struct.
        unsafe {
            let mut info: lmdb_sys::MDB_envinfo = std::mem::zeroed();
            if lmdb_sys::mdb_env_info(env.env(), &mut info) == 0 {
                *ms = info.me_mapsize as u64;
            }
        }
        Ok(())
    }

    /// Doubles the map, up to `limit`; false if already at the limit.
    fn grow(&self, limit: u64) -> Result<bool> {
        let env = self.env.write().unwrap_or_else(|p| p.into_inner());
        let mut ms = self.map_size.lock().unwrap_or_else(|p| p.into_inner());
        if *ms >= limit {
            return Ok(false);
        }
        let new = (*ms).saturating_mul(2).min(limit).max(*ms + MIB);
        env.set_map_size(new as usize).map_err(|e| Error::lmdb("grow map", e))?;
        info!(from = *ms, to = new, "grew expansion cache map");
        *ms = new;
        Ok(true)
    }

    /// Current map size.
    pub fn map_size(&self) -> u64 {
        *self.map_size.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in a read transaction, retrying once if another process resized the map.
    pub fn read<R>(&self, f: impl Fn(&RoTransaction<'_>) -> Result<R>) -> Result<R> {
        self.check_usable()?;
        for _ in 0..3 {
            {
                let env = self.env.read().unwrap_or_else(|p| p.into_inner());
                let res = match env.begin_ro_txn() {
                    Ok(t) => Some(f(&t)),
                    Err(lmdb::Error::MapResized) => None,
                    Err(e) => Some(Err(Error::lmdb("begin read transaction", e))),
                };
                if let Some(r) = res {
                    return r;
                }
            }
            self.adopt_map_size()?;
        }
        Err(Error::lmdb("begin read transaction", lmdb::Error::MapResized))
    }

    /// Runs `f` in one write transaction and commits it, with a crash marker present
    /// throughout. On a full map the transaction is aborted, the map grown (up to
    /// `map_limit`) and `f` run again; `f` receives `true` once growth is exhausted,
    /// as a request to evict before writing.
    pub fn write<R>(&self, map_limit: u64, mut f: impl FnMut(&mut RwTransaction<'_>, &Dbs, bool) -> Result<R>) -> Result<R> {
        if self.read_only {
            return Err(Error::ReadOnly("the expansion cache was opened read-only".into()));
        }
        self.check_usable()?;
        let _marker = guard::Marker::create(&self.dir)?;
        let mut must_evict = false;
        for _ in 0..64 {
            let outcome: Option<Result<R>> = {
                let env = self.env.read().unwrap_or_else(|p| p.into_inner());
                let o = match env.begin_rw_txn() {
                    Err(lmdb::Error::MapResized) => None,
                    Err(e) => Some(Err(Error::lmdb("begin write transaction", e))),
                    Ok(mut txn) => match f(&mut txn, &self.dbs, must_evict) {
                        Ok(r) => match txn.commit() {
                            Ok(()) => Some(Ok(r)),
                            Err(lmdb::Error::MapFull) => Some(Err(Error::lmdb("commit", lmdb::Error::MapFull))),
                            Err(e) => Some(Err(Error::lmdb("commit", e))),
                        },
                        Err(e) => Some(Err(e)),
                    },
                };
                o
            };
            let full = match outcome {
                None => {
                    self.adopt_map_size()?;
                    continue;
                }
                Some(Err(e)) if is_map_full(&e) => true,
                Some(r) => return r,
            };
            debug_assert!(full);
            if must_evict {
                return Err(Error::MapFull(format!("map of {} bytes is full even after evicting", self.map_size())));
            }
            if !self.grow(map_limit)? {
                warn!(map_size = self.map_size(), "expansion cache map at its limit; evicting");
                must_evict = true;
            }
        }
        Err(Error::MapFull("gave up after repeated resizes".into()))
    }
}

/// Walks every record of every database; any LMDB error means a damaged store.
pub(crate) fn walk_env(env: &Environment, dbs: &Dbs) -> std::result::Result<u64, String> {
    let txn = env.begin_ro_txn().map_err(|e| e.to_string())?;
    let mut n = 0u64;
    for db in dbs.all() {
        let mut c = txn.open_ro_cursor(db).map_err(|e| e.to_string())?;
        for r in c.iter_start() {
            let (k, v) = r.map_err(|e| e.to_string())?;
            // touch both ends of key and value so that every page is read
            let _ = (k.first(), k.last(), v.first(), v.last());
            n += 1;
        }
    }
    Ok(n)
}

impl SharedEnv {
    /// Walks the whole store (see [`walk_env`]).
    pub fn walk(&self) -> std::result::Result<u64, String> {
        let env = self.env.read().unwrap_or_else(|p| p.into_inner());
        walk_env(&env, &self.dbs)
    }
}

/// Bytes of live pages in the three databases (the quantity the size cap applies to).
pub(crate) fn used_bytes<T: Transaction>(txn: &T, dbs: &Dbs) -> Result<u64> {
    let mut total = 0u64;
    for db in dbs.all() {
        // SAFETY: the transaction and dbi are live; mdb_stat fills a plain struct.
        let st = unsafe {
            let mut st: lmdb_sys::MDB_stat = std::mem::zeroed();
            let rc = lmdb_sys::mdb_stat(txn.txn(), db.dbi(), &mut st);
            if rc != 0 {
                return Err(Error::lmdb("stat", lmdb::Error::from_err_code(rc)));
            }
            st
        };
        total += (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) as u64 * st.ms_psize as u64;
    }
    Ok(total)
}

/// The LMDB transaction id of a transaction (the LRU clock).
pub(crate) fn txn_id<T: Transaction>(txn: &T) -> u64 {
    // SAFETY: the transaction is live.
    unsafe { lmdb_sys::mdb_txn_id(txn.txn()) as u64 }
}

/// What an eviction removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Evicted {
    /// Entries removed.
    pub entries: u64,
    /// Payload bytes removed.
    pub bytes: u64,
}

/// Deletes an entry and its metadata (missing halves are fine).
pub(crate) fn delete_entry(txn: &mut RwTransaction<'_>, dbs: &Dbs, key: &[u8]) -> Result<()> {
    for db in [dbs.entries, dbs.meta] {
        match txn.del(db, &key, None) {
            Ok(()) | Err(lmdb::Error::NotFound) => {}
            Err(e) => return Err(Error::lmdb("delete", e)),
        }
    }
    Ok(())
}

/// Collects `(lru clock, key, meta)` of the entries of one or all namespaces.
pub(crate) fn collect_meta<T: Transaction>(txn: &T, dbs: &Dbs, only: Option<NamespaceId>) -> Result<Vec<(Vec<u8>, Option<EntryMeta>)>> {
    let mut out = Vec::new();
    let mut c = txn.open_ro_cursor(dbs.meta).map_err(|e| Error::lmdb("cursor", e))?;
    let iter = match &only {
        Some(ns) => c.iter_from(ns.0),
        None => c.iter_start(),
    };
    for r in iter {
        let (k, v) = r.map_err(|e| Error::lmdb("scan metadata", e))?;
        if let Some(ns) = &only {
            if !k.starts_with(&ns.0) {
                break;
            }
        }
        out.push((k.to_vec(), EntryMeta::decode(v).ok()));
    }
    Ok(out)
}

/// Evicts least recently used entries (of one namespace or all) until the live size is
/// at most `target` bytes.
pub(crate) fn evict_to(txn: &mut RwTransaction<'_>, dbs: &Dbs, target: u64, only: Option<NamespaceId>) -> Result<Evicted> {
    let mut ev = Evicted::default();
    let mut used = used_bytes(txn, dbs)?;
    if used <= target {
        return Ok(ev);
    }
    let mut list = collect_meta(txn, dbs, only)?;
    // Entries with unreadable metadata go first, then least recently used.
    list.sort_by_key(|(k, m)| (m.as_ref().map_or(0, |m| m.last_use_txn), m.as_ref().map_or(0, |m| m.last_used_ms()), k.clone()));
    for (k, m) in list {
        let size = m.as_ref().map_or(0, |m| m.size);
        delete_entry(txn, dbs, &k)?;
        ev.entries += 1;
        ev.bytes += size;
        // mdb_stat reads the transaction's own database records: cheap and exact.
        used = used_bytes(txn, dbs)?;
        if used <= target {
            break;
        }
    }
    if ev.entries > 0 {
        debug!(entries = ev.entries, bytes = ev.bytes, target, "evicted least recently used entries");
    }
    Ok(ev)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Resolves the cap of an open: explicit option, else the environment, else the default.
pub(crate) fn resolve_max_size(opts: &OpenOptions) -> Result<u64> {
    match opts.max_size {
        Some(v) => config::check_max_size(v).map_err(Error::BadArgument),
        None => config::max_size_from_env(),
    }
}

/// Helper for writes: `put` with LMDB error mapping.
pub(crate) fn put(txn: &mut RwTransaction<'_>, db: Database, k: &[u8], v: &[u8]) -> Result<()> {
    txn.put(db, &k, &v, WriteFlags::empty()).map_err(|e| Error::lmdb("put", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{encode_value, entry_key, MacroKind};

    fn meta(lru: u64, size: u64) -> EntryMeta {
        EntryMeta { macro_crate: "c".into(), macro_name: "m".into(), kind: MacroKind::Bang, created_ms: 1, last_hit_ms: 0, hit_count: 0, size, expand_nanos: 0, last_use_txn: lru }
    }

    #[test]
    fn a_new_store_is_created_in_one_commit() {
        let t = tempfile::tempdir().unwrap();
        let env = SharedEnv::open(t.path(), &OpenOptions::default(), 64 << 20).unwrap();
        // A read transaction sees the id of the last commit: one, for all three databases.
        assert_eq!(env.read(|txn| Ok(txn_id(txn))).unwrap(), 1);
        drop(env);
        let env = SharedEnv::open(t.path(), &OpenOptions::default(), 64 << 20).unwrap();
        assert_eq!(env.read(|txn| Ok(txn_id(txn))).unwrap(), 1, "reopening commits nothing");
    }

    #[test]
    fn eviction_removes_least_recently_used_first_and_respects_namespace() {
        let t = tempfile::tempdir().unwrap();
        let env = SharedEnv::open(t.path(), &OpenOptions::default(), 64 << 20).unwrap();
        let a = NamespaceId::of(b"a");
        let b = NamespaceId::of(b"b");
        // 60 entries of 8 KB: LRU clock = i (a: even i, b: odd i), inserted in scrambled order
        let keys: Vec<(Vec<u8>, u64)> = (0..60u64).map(|i| (entry_key(if i % 2 == 0 { &a } else { &b }, &i.to_le_bytes()), i)).collect();
        env.write(1 << 30, |txn, dbs, _| {
            for (k, i) in keys.iter().rev().step_by(1) {
                put(txn, dbs.entries, k, &encode_value(k, &vec![*i as u8; 8192]))?;
                put(txn, dbs.meta, k, &meta((*i * 37) % 60, 8192).encode())?;
            }
            Ok(())
        })
        .unwrap();
        let present = |env: &SharedEnv| -> Vec<u64> {
            env.read(|txn| {
                Ok(keys.iter().filter(|(k, _)| txn.get(env.dbs.entries, k).is_ok()).map(|(_, i)| (*i * 37) % 60).collect())
            })
            .unwrap()
        };
        let used = env.read(|txn| used_bytes(txn, &env.dbs)).unwrap();
        assert!(used > 60 * 8192);
        // evict to half: exactly the lowest clocks go
        let target = used / 2;
        let ev = env.write(1 << 30, |txn, dbs, _| evict_to(txn, dbs, target, None)).unwrap();
        assert!(ev.entries >= 25 && ev.entries <= 35, "{ev:?}");
        let mut left = present(&env);
        left.sort();
        assert_eq!(left, (ev.entries..60).collect::<Vec<_>>(), "survivors must be the most recently used");
        assert!(env.read(|txn| used_bytes(txn, &env.dbs)).unwrap() <= target);
        // restricted to namespace a: b is untouched even if that is not enough
        let before_b = keys.iter().filter(|(k, _)| k.starts_with(&b.0)).count();
        env.write(1 << 30, |txn, dbs, _| evict_to(txn, dbs, 0, Some(a))).unwrap();
        let b_left = env.read(|txn| Ok(keys.iter().filter(|(k, _)| k.starts_with(&b.0) && txn.get(env.dbs.entries, k).is_ok()).count())).unwrap();
        let a_left = env.read(|txn| Ok(keys.iter().filter(|(k, _)| k.starts_with(&a.0) && txn.get(env.dbs.entries, k).is_ok()).count())).unwrap();
        assert_eq!(a_left, 0);
        assert!(b_left > 0 && b_left <= before_b);
        // nothing to do under the target
        let ev = env.write(1 << 30, |txn, dbs, _| evict_to(txn, dbs, u64::MAX, None)).unwrap();
        assert_eq!(ev, Evicted::default());
    }

    #[test]
    fn map_sizes() {
        assert_eq!(default_map_size(1 << 30), (2 << 30) + (16 << 20));
        assert!(hard_map_limit(1 << 20) > default_map_size(1 << 20));
    }
}
