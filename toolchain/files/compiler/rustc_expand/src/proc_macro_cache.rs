//! A persistent cache of proc-macro expansions.
//!
//! A proc-macro invocation is identified by a 128-bit key computed from the compiler identity,
//! the identity of the proc-macro crate (its `StableCrateId`, its crate hash and the identity of
//! its dylib: its GNU build ID, else a hash of what the loader maps), the macro kind and name,
//! the edition, the span-free input tokens, the equality partition of the input spans and a few
//! environment variables which proc macros commonly read without tracking them.
//!
//! On a miss, the macro runs with a recording server (see `ExpandRecorder`) which notes
//! everything the macro did that a cached replay must reproduce: location queries, tracked
//! environment variables and paths become preconditions checked on a hit, warnings and notes
//! are replayed; and it marks the invocation uncacheable as soon as the macro does something
//! whose result cannot be reproduced from the key (span `Debug`, parent or source text, an
//! error, nested expansion, output to stdout/stderr, ...). The output is stored with every
//! span replaced by an expression over the input spans and the expansion's call/def/mixed
//! sites.
//!
//! On a hit the stored tokens are decoded, their spans are rebuilt from the new invocation, and
//! the recorded side effects (source files registered by `TokenStream::from_str`, the symbol
//! gallery) are replayed in their original order, so that the rest of the compilation cannot
//! tell a cached expansion from a real one.
//!
//! The store itself is a separate C-ABI library (see `ExpandCacheApiV1`) which
//! `rustc_interface` loads; it is opened lazily on the first proc-macro invocation. Any failure of
//! the cache costs one warning and an uncached build.

use std::collections::hash_map::Entry;
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::fs::File;
use std::hash::Hasher;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Bound;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;
use std::{env, ptr, slice};

use rustc_ast::token::{self, IdentIsRaw, TokenKind};
use rustc_ast::tokenstream::{TokenStream, TokenTree};
use rustc_data_structures::fingerprint::Fingerprint;
use rustc_data_structures::fx::FxHashMap;
use rustc_data_structures::stable_hasher::{HashStable, StableHasher};
use rustc_middle::ty;
use rustc_proc_macro as pm;
use rustc_proc_macro::Level;
use rustc_proc_macro::bridge::{Diagnostic, PanicMessage};
use rustc_serialize::opaque::mem_encoder::MemEncoder;
use rustc_serialize::opaque::{MAGIC_END_BYTES, MemDecoder};
use rustc_serialize::{Decodable, Decoder, Encodable, Encoder};
use rustc_session::Session;
use rustc_span::def_id::{CrateNum, DefId, DefIndex, DefPathHash, LOCAL_CRATE};
use rustc_span::edition::Edition;
use rustc_span::hygiene::{ExpnId, ExpnKind, SyntaxContext};
use rustc_span::profiling::SpannedEventArgRecorder;
use rustc_span::{
    AttrId, BlobDecoder, ByteSymbol, SourceFileHash, SourceFileHashAlgorithm, Span, SpanDecoder,
    SpanEncoder, Symbol, sym,
};
use tracing::debug;

use crate::base::ExtCtxt;
use crate::proc_macro::exec_strategy;
use crate::proc_macro_server::{self, ExpnSites, Rustc};

/// Bumped whenever the key or the entry encoding changes.
pub const FORMAT_VERSION: u32 = 6;

/// Proc-macro crates whose macros are known to read files, databases, the environment, the
/// clock or a random source without telling the compiler, to keep state from one invocation to
/// the next, or to name items after spans. Extended by `RUSTC_EXPAND_CACHE_DENY`.
const BUILTIN_DENY: &[&str] = &[
    // State kept across invocations: an expansion depends on the ones before it (a cached
    // `#[enum_dispatch]` enum misses a variant's `From` impl; wasm-bindgen emits some
    // descriptors once per crate).
    "enum_dispatch",
    "macro_magic_macros",
    "wasm_bindgen_macro",
    "litcrypt",
    // Time, randomness, processes (git).
    "build_time",
    "compile_time_macros",
    "git_version_macro",
    "ethers_contract_derive",
    // Positions or source text taken around the server, so no recorded query covers them
    // (leptos reads the calling file itself for hot reload).
    "rocket_codegen",
    "leptos_macro",
    "linktime_proc_macro",
    // Files read untracked.
    "sqlx_macros",
    // askama 0.15+ (not checked; askama_derive is cached by its `FileInputs` rule).
    "askama_macros",
    "rinja_derive",
    "include_dir_macros",
    "rust_embed_impl",
    "pest_derive",
    "napi_derive",
    "include_flate_codegen",
    "document_features",
    "tauri_macros",
    "rust_i18n_macro",
    "fluent_template_macros",
    "migrations_macros",
    "refinery_macros",
    "dotenvy_macro",
    "dotenv_codegen_implementation",
    "sailfish_macros",
    "graphql_query_derive",
    "cynic_proc_macros",
    "include_bytes_plus",
    "embed_doc_image",
    "aquamarine",
    "uniffi_macros",
    // Users of `proc-macro-crate` (or their own equivalent) read the calling crate's
    // Cargo.toml to find renamed dependencies; a rename would not change the key.
    "num_enum_derive",
    "borsh_derive",
    "parity_scale_codec_derive",
    "scale_info_derive",
    "frame_support_procedural",
    "async_graphql_derive",
    "zbus_macros",
    "zvariant_derive",
    "jsonrpsee_proc_macros",
    "poem_openapi_derive",
    "rstest_macros",
    "cached_proc_macro",
    "scale_encode_derive",
    "bevy_derive",
    "bevy_ecs_macros",
    "bevy_reflect_derive",
    "bevy_render_macros",
    "bevy_asset_macros",
];

/// What a proc-macro crate is known to read of the crate being compiled, relative to
/// `CARGO_MANIFEST_DIR`, so that its expansions can be cached instead of denied. An expansion
/// of one of its macros is cached only when none of `config_files` exists, its input names none
/// of `config_keys` (as `key = ...`), and its output includes (`include_str!`/`include_bytes!`)
/// at least one file, all of them under `dir`. A hash of everything under `dir` (names and
/// contents) is part of the macro crate's identity, so any change there misses.
struct FileInputs {
    krate: &'static str,
    /// Configuration files, which can point the macro at any other file.
    config_files: &'static [&'static str],
    /// Input attribute keys naming another configuration file.
    config_keys: &'static [&'static str],
    /// The directory the macro looks its files up in when nothing configures another one.
    dir: &'static str,
}

const BUILTIN_FILE_INPUTS: &[FileInputs] = &[
    // askama 0.11-0.14 reads `askama.toml` (or `#[template(config = "...")]`) and looks
    // templates up under the configured directories (`templates` by default), probing paths
    // its output never names; 0.12+ includes every template it read, 0.11 none (so it is not
    // cached).
    FileInputs {
        krate: "askama_derive",
        config_files: &["askama.toml"],
        config_keys: &["config"],
        dir: "templates",
    },
];

/// Bounds on the tree a `FileInputs` rule hashes; a larger one is not cached.
const FILE_INPUTS_MAX_ENTRIES: usize = 10_000;
const FILE_INPUTS_MAX_BYTES: u64 = 256 << 20;

/// Bounds on the `OUT_DIR` tree hashed into the key; a larger one is keyed by its path.
const OUT_DIR_MAX_ENTRIES: usize = 4_096;
const OUT_DIR_MAX_BYTES: u64 = 16 << 20;

/// Environment variables which proc macros commonly read untracked; their values are part of
/// the key, as are those of all `CARGO_PKG_*` variables (authors, description, ...). `OUT_DIR`
/// is keyed by what its tree holds (`SessionEnv`).
const KEYED_ENV_VARS: &[&str] =
    &["CARGO_PKG_NAME", "CARGO_PKG_VERSION", "CARGO_CRATE_NAME", "CARGO_MANIFEST_DIR"];

// ------------------------------------------------------------------------------------------
// The C ABI of the store (`cache-backend/ABI.md`, version 1).
// ------------------------------------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
pub struct RecSlice {
    pub ptr: *const u8,
    pub len: usize,
}

impl RecSlice {
    fn new(bytes: &[u8]) -> RecSlice {
        RecSlice { ptr: bytes.as_ptr(), len: bytes.len() }
    }
}

#[repr(C)]
pub struct RecBuf {
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
}

#[repr(C)]
pub struct RecEntryMeta {
    pub macro_crate: RecSlice,
    pub macro_name: RecSlice,
    pub kind: u8,
    pub expand_nanos: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct RecSessionStats {
    pub hits: u64,
    pub misses: u64,
    pub stored: u64,
    pub uncacheable: u64,
    pub lookup_nanos: u64,
    pub saved_nanos: u64,
}

/// Opaque store handle owned by the backend.
#[repr(C)]
pub struct RecStore {
    _private: [u8; 0],
}

#[repr(C)]
pub struct ExpandCacheApiV1 {
    pub abi_version: u32,
    pub struct_size: u32,
    pub open: Option<unsafe extern "C" fn(RecSlice, RecSlice, u32, *mut *mut RecStore) -> i32>,
    pub get: Option<unsafe extern "C" fn(*mut RecStore, RecSlice, *mut RecBuf) -> i32>,
    pub free_buf: Option<unsafe extern "C" fn(RecBuf)>,
    pub put:
        Option<unsafe extern "C" fn(*mut RecStore, RecSlice, RecSlice, *const RecEntryMeta) -> i32>,
    pub commit: Option<unsafe extern "C" fn(*mut RecStore) -> i32>,
    pub record_stats: Option<unsafe extern "C" fn(*mut RecStore, *const RecSessionStats) -> i32>,
    pub last_error: Option<unsafe extern "C" fn(*const RecStore, *mut u8, usize) -> usize>,
    pub close: Option<unsafe extern "C" fn(*mut RecStore)>,
}

/// The type of the `rustc_expand_cache_v1` symbol exported by the backend library.
pub type ExpandCacheEntryFn = unsafe extern "C" fn() -> *const ExpandCacheApiV1;

pub const REC_OPEN_READ_ONLY: u32 = 1;

fn status_descr(status: i32) -> &'static str {
    match status {
        -1 => "I/O error",
        -2 => "corrupt store (quarantined)",
        -3 => "store is read-only",
        -4 => "unsupported file system",
        -5 => "bad argument",
        -6 => "panic in the backend",
        -7 => "store is full",
        -8 => "untrusted store (owned by another user or writable by others)",
        -9 => "bad configuration",
        _ => "unknown error",
    }
}

/// Checks that a table returned by `rustc_expand_cache_v1` is usable by this compiler.
pub fn validate_api(api: &ExpandCacheApiV1) -> Result<(), String> {
    if api.abi_version != 1 {
        return Err(format!("backend ABI version {} is not supported (need 1)", api.abi_version));
    }
    if (api.struct_size as usize) < size_of::<ExpandCacheApiV1>() {
        return Err(format!("backend API table too small ({} bytes)", api.struct_size));
    }
    if api.open.is_none()
        || api.get.is_none()
        || api.free_buf.is_none()
        || api.put.is_none()
        || api.commit.is_none()
        || api.record_stats.is_none()
        || api.last_error.is_none()
        || api.close.is_none()
    {
        return Err("backend API table has null entries".to_string());
    }
    Ok(())
}

fn last_error(api: &ExpandCacheApiV1, store: *const RecStore) -> String {
    let f = api.last_error.unwrap();
    let mut buf = vec![0u8; 512];
    let mut len = unsafe { f(store, buf.as_mut_ptr(), buf.len()) };
    if len > buf.len() {
        buf.resize(len, 0);
        len = unsafe { f(store, buf.as_mut_ptr(), buf.len()) }.min(buf.len());
    }
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

fn status_message(api: &ExpandCacheApiV1, store: *const RecStore, status: i32) -> String {
    // The backend's own message names the kind of failure already; the generic
    // description is only for a backend that gave none.
    let detail = last_error(api, store);
    if detail.is_empty() {
        format!("{} (status {status})", status_descr(status))
    } else {
        format!("{detail} (status {status})")
    }
}

/// An open store.
struct OpenStore {
    api: &'static ExpandCacheApiV1,
    store: *mut RecStore,
}

impl OpenStore {
    fn open(
        api: &'static ExpandCacheApiV1,
        dir: &Path,
        namespace: &str,
        read_only: bool,
    ) -> Result<OpenStore, String> {
        let dir = dir.to_str().ok_or_else(|| format!("non-UTF-8 cache directory {dir:?}"))?;
        let mut store: *mut RecStore = ptr::null_mut();
        let flags = if read_only { REC_OPEN_READ_ONLY } else { 0 };
        let status = unsafe {
            (api.open.unwrap())(
                RecSlice::new(dir.as_bytes()),
                RecSlice::new(namespace.as_bytes()),
                flags,
                &mut store,
            )
        };
        if status != 0 || store.is_null() {
            return Err(format!(
                "cannot open the store in `{dir}`: {}",
                status_message(api, ptr::null(), status)
            ));
        }
        Ok(OpenStore { api, store })
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let mut buf = RecBuf { ptr: ptr::null_mut(), len: 0, cap: 0 };
        let status = unsafe { (self.api.get.unwrap())(self.store, RecSlice::new(key), &mut buf) };
        match status {
            1 => {
                let value = if buf.ptr.is_null() {
                    Vec::new()
                } else {
                    unsafe { slice::from_raw_parts(buf.ptr, buf.len) }.to_vec()
                };
                unsafe { (self.api.free_buf.unwrap())(buf) };
                Ok(Some(value))
            }
            0 => Ok(None),
            _ => Err(status_message(self.api, self.store, status)),
        }
    }

    fn put(&self, key: &[u8], value: &[u8], meta: &RecEntryMeta) -> Result<(), String> {
        let status = unsafe {
            (self.api.put.unwrap())(self.store, RecSlice::new(key), RecSlice::new(value), meta)
        };
        if status == 0 { Ok(()) } else { Err(status_message(self.api, self.store, status)) }
    }

    fn record_stats(&self, stats: &RecSessionStats) -> Result<(), String> {
        let status = unsafe { (self.api.record_stats.unwrap())(self.store, stats) };
        if status == 0 { Ok(()) } else { Err(status_message(self.api, self.store, status)) }
    }

    fn commit(&self) -> Result<(), String> {
        let status = unsafe { (self.api.commit.unwrap())(self.store) };
        if status == 0 { Ok(()) } else { Err(status_message(self.api, self.store, status)) }
    }
}

impl Drop for OpenStore {
    fn drop(&mut self) {
        unsafe { (self.api.close.unwrap())(self.store) }
    }
}

// ------------------------------------------------------------------------------------------
// Configuration and session state.
// ------------------------------------------------------------------------------------------

/// Loads the backend library and returns its API table. Called at most once, on the first
/// proc-macro invocation of the session.
pub type LoadBackendFn = Box<dyn FnOnce() -> Result<&'static ExpandCacheApiV1, String>>;

pub struct ExpandCacheConfig {
    /// The compiler identity; entries of different identities never see each other.
    pub namespace: String,
    pub dir: PathBuf,
    pub read_only: bool,
    /// `(crate, Some(macro))` or `(crate, None)`, crate names with `-` replaced by `_`.
    pub deny: Vec<(String, Option<String>)>,
    /// Fraction of hits which are re-run and compared with the stored output.
    pub verify: f64,
    /// Extra environment variables which are part of the key.
    pub env_names: Vec<String>,
    pub report: Option<PathBuf>,
}

enum StoreState {
    Unopened(LoadBackendFn),
    Open(OpenStore),
    Failed,
}

/// jemalloc's `mallctl`, the way `tikv_jemalloc_sys` declares it.
pub type AllocatorCtlFn =
    unsafe extern "C" fn(*const c_char, *mut c_void, *mut usize, *mut c_void, usize) -> c_int;

/// Set by the compiler binaries that link jemalloc (`set_allocator_ctl`).
static ALLOCATOR_CTL: OnceLock<AllocatorCtlFn> = OnceLock::new();

/// Gives the cache jemalloc's `mallctl`. Called by rustc's `main` when it is built with
/// jemalloc, before the compiler starts, so that the commit thread can allocate from the
/// arena of the thread that filled the cache: LMDB's dirty pages then reuse memory that the
/// compilation freed and has already faulted in, instead of fresh pages of an arena of
/// their own (on oci-spec, a cold cache's extra page faults fall from 3,000 to 150).
pub fn set_allocator_ctl(ctl: AllocatorCtlFn) {
    let _ = ALLOCATOR_CTL.set(ctl);
}

/// The jemalloc arena of the calling thread, moving the thread to arena `new` if given (one
/// `thread.arena` mallctl, which reads and writes at once); `None` if the allocator is not
/// jemalloc or the call failed, the thread then keeping its arena.
fn thread_arena(mut new: Option<c_uint>) -> Option<c_uint> {
    let ctl = ALLOCATOR_CTL.get()?;
    let mut arena: c_uint = 0;
    let mut len = size_of::<c_uint>();
    let (new_ptr, new_len) = match &mut new {
        Some(new) => ((new as *mut c_uint).cast(), size_of::<c_uint>()),
        None => (ptr::null_mut(), 0),
    };
    // SAFETY: `thread.arena` is an `unsigned`, read into and written from buffers of that size.
    let status = unsafe {
        ctl(c"thread.arena".as_ptr(), (&raw mut arena).cast(), &mut len, new_ptr, new_len)
    };
    (status == 0).then_some(arena)
}

/// The commits `ExpandCache::finish` started, not joined yet.
static PENDING_COMMITS: Mutex<Vec<JoinHandle<Result<(), String>>>> = Mutex::new(Vec::new());

/// A store on its way to the thread that commits and closes it.
struct CommittingStore(OpenStore);

// SAFETY: a store handle may be used from any thread, by one thread at a time (ABI.md); once
// `finish` has moved it here, only the committing thread has it.
unsafe impl Send for CommittingStore {}

impl CommittingStore {
    fn into_inner(self) -> OpenStore {
        self.0
    }
}

/// Waits for the commits of the session's expansion caches; a failed one costs a warning.
/// Called once compilation is over, before the diagnostics are finished; a process that never
/// gets there is like one killed while committing, which the store survives.
pub fn join_commits(sess: &Session) {
    let pending = std::mem::take(&mut *PENDING_COMMITS.lock().unwrap_or_else(|e| e.into_inner()));
    if pending.is_empty() {
        return;
    }
    let _timer = sess.prof.generic_activity("expand_proc_macro_cache_join");
    for handle in pending {
        let res = handle.join().unwrap_or_else(|_| Err("panic while committing".to_owned()));
        if let Err(reason) = res {
            warn_disabled(sess, &format!("cannot write the store: {reason}"));
        }
    }
}

/// Identity of a proc-macro crate, computed once per crate per session.
#[derive(Clone)]
struct MacroCrate {
    name: Symbol,
    /// `None`: the macros of this crate are never cached.
    fingerprint: Option<Fingerprint>,
}

/// What the environment of the session puts into every key.
struct SessionEnv {
    fingerprint: Fingerprint,
    /// When `OUT_DIR` is keyed by its contents: the name of its parent, the directory cargo
    /// gives this unit's build script, which no stored output may contain.
    unit_dir_name: Option<String>,
}

impl SessionEnv {
    fn find(config: &ExpandCacheConfig) -> SessionEnv {
        fn hash_var(name: &str, hasher: &mut StableHasher) {
            let hcx = &mut NoSpanHcx;
            name.hash_stable(hcx, hasher);
            match env::var_os(name) {
                Some(value) => {
                    1u8.hash_stable(hcx, hasher);
                    hash_bytes(value.as_encoded_bytes(), hasher);
                }
                None => 0u8.hash_stable(hcx, hasher),
            }
        }
        let mut hasher = StableHasher::new();
        KEYED_ENV_VARS.len().hash_stable(&mut NoSpanHcx, &mut hasher);
        for name in KEYED_ENV_VARS {
            hash_var(name, &mut hasher);
        }
        let pkg_vars: Vec<String> = env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.starts_with("CARGO_PKG_") && !KEYED_ENV_VARS.contains(&k.as_str()))
            .collect();
        let mut extra: Vec<&str> = config.env_names.iter().map(|s| s.as_str()).collect();
        extra.extend(pkg_vars.iter().map(|s| s.as_str()));
        extra.sort_unstable();
        extra.dedup();
        extra.len().hash_stable(&mut NoSpanHcx, &mut hasher);
        for name in extra {
            hash_var(name, &mut hasher);
        }

        // cargo gives each unit of a package (check, build, clippy, test, non-incremental...)
        // a build-script output dir of its own; keyed by what it holds, they share entries,
        // and a macro reading a generated file behind the compiler's back misses when the
        // build script writes another. An output naming the dir would carry one unit's path
        // into another: such outputs are not stored. Keyed by its path when it cannot be
        // hashed (too large, symlinks) or its name could not be told apart in a literal.
        let hcx = &mut NoSpanHcx;
        let unit_dir_name = match env::var_os("OUT_DIR") {
            None => {
                0u8.hash_stable(hcx, &mut hasher);
                None
            }
            Some(out_dir) => match hash_out_dir(Path::new(&out_dir)) {
                Ok((tree, name)) => {
                    1u8.hash_stable(hcx, &mut hasher);
                    hasher.write(&tree.to_le_bytes());
                    Some(name)
                }
                Err(why) => {
                    debug!(why, "proc-macro cache: OUT_DIR keyed by its path");
                    2u8.hash_stable(hcx, &mut hasher);
                    hash_bytes(out_dir.as_encoded_bytes(), &mut hasher);
                    None
                }
            },
        };
        SessionEnv { fingerprint: hasher.finish(), unit_dir_name }
    }
}

/// Hashes `bytes` with their length first, so that consecutive strings cannot run together.
fn hash_bytes(bytes: &[u8], hasher: &mut StableHasher) {
    bytes.len().hash_stable(&mut NoSpanHcx, hasher);
    hasher.write(bytes);
}

/// The hash of the tree under `out_dir` and the name of its parent directory.
fn hash_out_dir(out_dir: &Path) -> Result<(Fingerprint, String), &'static str> {
    // Sure to be found in any literal naming a path in it (`Literal::string` and
    // `Literal::byte_string` escape none of these characters), and long enough to be found
    // in no other.
    let unit_dir_name = out_dir
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .filter(|name| {
            name.len() >= 8
                && name.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'\\' | b'"' | b'\''))
        })
        .ok_or("its parent's name is short or has characters a literal escapes")?;
    let mut tree = TreeHasher::new(OUT_DIR_MAX_ENTRIES, OUT_DIR_MAX_BYTES);
    tree.hash_dir(out_dir)?;
    Ok((tree.hasher.finish(), unit_dir_name.to_owned()))
}

pub struct ExpandCache {
    config: ExpandCacheConfig,
    state: StoreState,
    macro_crates: FxHashMap<CrateNum, MacroCrate>,
    /// Computed before the first cacheable expansion of the session.
    env: Option<SessionEnv>,
    /// Whether verification found a macro impure, in this session or an earlier one (then a
    /// marker entry in the store says so); looked up once per macro per session.
    verify_denied: FxHashMap<(Symbol, Symbol), bool>,
    stats: RecSessionStats,
    invocations: u64,
    capture: Option<OutputCapture>,
    /// The buffer entries are encoded into, reused from one store to the next.
    scratch: Vec<u8>,
    /// The collections of the key, the recorder and the encoder, reused likewise.
    buffers: ExpansionBuffers,
    /// The state of each `FileInputs` rule used in this session, by crate name.
    file_inputs: FxHashMap<&'static str, Result<KnownFiles, &'static str>>,
}

impl ExpandCache {
    pub fn new(config: ExpandCacheConfig, load_backend: LoadBackendFn) -> ExpandCache {
        ExpandCache {
            config,
            state: StoreState::Unopened(load_backend),
            macro_crates: Default::default(),
            env: None,
            verify_denied: Default::default(),
            stats: RecSessionStats::default(),
            invocations: 0,
            capture: None,
            scratch: Vec::new(),
            buffers: ExpansionBuffers::default(),
            file_inputs: Default::default(),
        }
    }

    fn store(&mut self, sess: &Session) -> Option<&OpenStore> {
        if let StoreState::Unopened(_) = self.state {
            let StoreState::Unopened(load) = std::mem::replace(&mut self.state, StoreState::Failed)
            else {
                unreachable!()
            };
            let res = panic::catch_unwind(AssertUnwindSafe(|| {
                let api = load()?;
                validate_api(api)?;
                OpenStore::open(
                    api,
                    &self.config.dir,
                    &self.config.namespace,
                    self.config.read_only,
                )
            }))
            .unwrap_or_else(|_| Err("panic while loading the backend".to_string()));
            match res {
                Ok(store) => {
                    debug!(dir = ?self.config.dir, "proc-macro expansion cache opened");
                    self.state = StoreState::Open(store);
                }
                Err(reason) => {
                    warn_disabled(sess, &reason);
                }
            }
        }
        match &self.state {
            StoreState::Open(store) => Some(store),
            _ => None,
        }
    }

    /// Closes the store, committing the buffered entries and statistics on a thread of their
    /// own (joined by `join_commits` at the end of the session, so the write and its fsync run
    /// beside the rest of the compilation), and appends to the report file. Called once, after
    /// `expand_crate`.
    pub fn finish(&mut self, sess: &Session, crate_name: Symbol) {
        let state = std::mem::replace(&mut self.state, StoreState::Failed);
        if let StoreState::Open(store) = state
            && !self.config.read_only
        {
            let store = CommittingStore(store);
            let stats = self.stats;
            let prof = sess.prof.clone();
            let arena = thread_arena(None);
            let commit = move || {
                if let Some(arena) = arena {
                    let moved = thread_arena(Some(arena)).is_some();
                    debug!(arena, moved, "expansion cache commit thread arena");
                }
                let _timer = prof.generic_activity("expand_proc_macro_cache_flush");
                let store = store.into_inner();
                store.record_stats(&stats).and_then(|()| store.commit())
            };
            match std::thread::Builder::new().name("rustc-expand-cache-commit".into()).spawn(commit)
            {
                Ok(handle) => {
                    PENDING_COMMITS.lock().unwrap_or_else(|e| e.into_inner()).push(handle)
                }
                Err(err) => warn_disabled(sess, &format!("cannot start the commit thread: {err}")),
            }
        }
        if self.invocations > 0
            && let Some(report) = &self.config.report
        {
            let s = &self.stats;
            let line = format!(
                "crate={crate_name} hits={} misses={} stored={} uncacheable={}\n",
                s.hits, s.misses, s.stored, s.uncacheable
            );
            let res = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(report)
                .and_then(|mut f| f.write_all(line.as_bytes()));
            if let Err(err) = res {
                sess.dcx().warn(format!(
                    "proc-macro expansion cache: cannot write report file `{}`: {err}",
                    report.display()
                ));
            }
        }
    }

    fn macro_crate(&mut self, sess: &Session, krate: CrateNum) -> MacroCrate {
        if let Some(c) = self.macro_crates.get(&krate) {
            return c.clone();
        }
        let _timer = sess.prof.generic_activity("expand_proc_macro_cache_macro_crate");
        let found = ty::tls::with_opt(|tcx| {
            let Some(tcx) = tcx else {
                return Err(sym::proc_macro);
            };
            let name = tcx.crate_name(krate);
            if krate == LOCAL_CRATE || matches!(name, sym::proc_macro | sym::core | sym::std) {
                return Err(name);
            }
            let source = tcx.used_crate_source(krate);
            let Some(dylib) = source.dylib.clone() else {
                return Err(name);
            };
            Ok((name, tcx.stable_crate_id(krate).as_u64(), tcx.crate_hash(krate).as_u128(), dylib))
        });
        let c = match found {
            Err(name) => MacroCrate { name, fingerprint: None },
            // A crate denied as a whole is never cached: not worth reading its dylib.
            Ok((name, ..)) if self.is_crate_denied(name.as_str()) => {
                MacroCrate { name, fingerprint: None }
            }
            Ok((name, stable_crate_id, crate_hash, dylib)) => {
                let fingerprint = self.dylib_hash(sess, name, &dylib).map(|contents| {
                    let mut hasher = StableHasher::new();
                    let hcx = &mut NoSpanHcx;
                    stable_crate_id.hash_stable(hcx, &mut hasher);
                    crate_hash.hash_stable(hcx, &mut hasher);
                    name.hash_stable(hcx, &mut hasher);
                    contents.hash_stable(hcx, &mut hasher);
                    hasher.finish::<Fingerprint>()
                });
                MacroCrate { name, fingerprint }
            }
        };
        self.macro_crates.insert(krate, c.clone());
        c
    }

    /// The identity of a proc-macro dylib's code. For an ELF file with a GNU build ID (a hash of
    /// the whole linked file that the linker computes; `cc` asks for one by default on most Linux
    /// distributions), the build ID: reading it costs a few hundred bytes. Otherwise a hash of
    /// the loaded image (`hash_dylib`), which for a dylib of several MB costs tens of
    /// milliseconds, in every session; so that hash is memoized in the store under the file's
    /// identity and metadata (device, inode, size, mtime, ctime), which any rewrite of the file
    /// changes. The memo entry shows in `rustc-expand-cache stats` as the macro `<dylib hash>`
    /// of the crate.
    fn dylib_hash(
        &mut self,
        sess: &Session,
        crate_name: Symbol,
        path: &Path,
    ) -> Option<Fingerprint> {
        let opened = File::open(path).and_then(|mut file| {
            let before = file.metadata()?;
            let elf = elf_segments(&mut file, before.len())?;
            let build_id = match &elf {
                Some(elf) => gnu_build_id(&mut file, elf)?,
                None => None,
            };
            Ok((file, before, elf, build_id))
        });
        let (mut file, before, elf, build_id) = match opened {
            Ok(opened) => opened,
            Err(err) => {
                debug!(?path, ?err, "cannot read proc-macro dylib");
                return None;
            }
        };
        if let Some(build_id) = build_id {
            let mut hasher = StableHasher::new();
            "GNU build ID".hash_stable(&mut NoSpanHcx, &mut hasher);
            build_id.hash_stable(&mut NoSpanHcx, &mut hasher);
            return Some(hasher.finish::<Fingerprint>());
        }

        let memo_key = dylib_memo_key(path, &before);
        if let Some(key) = &memo_key
            && let Some(store) = self.store(sess)
            && let Ok(Some(value)) = store.get(key)
            && let Ok(bytes) = <[u8; 16]>::try_from(value.as_slice())
        {
            return Some(Fingerprint::from_le_bytes(bytes));
        }
        let hash = match hash_dylib(&mut file, elf.as_ref()) {
            Ok(hash) => hash,
            Err(err) => {
                debug!(?path, ?err, "cannot read proc-macro dylib");
                return None;
            }
        };
        // Memoized only when the file did not change while it was read and is not so recent
        // that a rewrite could keep the same timestamps (as git does with "racy" entries).
        let after = std::fs::metadata(path).ok();
        if let Some(key) = memo_key
            && !self.config.read_only
            && let Some(after) = after
            && dylib_memo_key(path, &after) == Some(key)
            && dylib_settled(&after)
            && let Some(store) = self.store(sess)
        {
            let meta = RecEntryMeta {
                macro_crate: RecSlice::new(crate_name.as_str().as_bytes()),
                macro_name: RecSlice::new(b"<dylib hash>"),
                kind: 0,
                expand_nanos: 0,
            };
            if let Err(reason) = store.put(&key, &hash.to_le_bytes(), &meta) {
                debug!(%reason, "proc-macro cache: could not memoize a dylib hash");
            }
        }
        Some(hash)
    }

    fn is_denied(&self, crate_name: Symbol, macro_name: Symbol) -> bool {
        let krate = crate_name.as_str();
        let mac = macro_name.as_str();
        self.is_crate_denied(krate)
            || self.config.deny.iter().any(|(c, m)| c == krate && m.as_deref() == Some(mac))
    }

    /// The environment's part of every key, computed at the first cacheable expansion.
    fn env(&mut self) -> &SessionEnv {
        self.env.get_or_insert_with(|| SessionEnv::find(&self.config))
    }

    /// What `rule` finds in this session: computed once, before the first of its macros runs,
    /// so that a file edited during the session makes the next session miss instead of letting
    /// it reuse an expansion of the old contents.
    fn file_inputs(&mut self, rule: &'static FileInputs) -> Result<KnownFiles, &'static str> {
        self.file_inputs.entry(rule.krate).or_insert_with(|| KnownFiles::find(rule)).clone()
    }

    /// Whether every macro of `krate` is denied (built in, or `RUSTC_EXPAND_CACHE_DENY=krate`).
    fn is_crate_denied(&self, krate: &str) -> bool {
        BUILTIN_DENY.contains(&krate)
            || self.config.deny.iter().any(|(c, m)| c == krate && m.is_none())
    }

    /// Whether verify mode found `crate_name::macro_name` to produce an output different from
    /// its cached one, in this session or an earlier one.
    fn is_denied_by_verify(
        &mut self,
        sess: &Session,
        crate_name: Symbol,
        macro_name: Symbol,
    ) -> bool {
        if let Some(&denied) = self.verify_denied.get(&(crate_name, macro_name)) {
            return denied;
        }
        let key = verify_deny_key(crate_name, macro_name);
        let denied = self.store(sess).is_some_and(|store| matches!(store.get(&key), Ok(Some(_))));
        self.verify_denied.insert((crate_name, macro_name), denied);
        denied
    }

    /// Denies `crate_name::macro_name` from now on: for this session, and through a marker entry
    /// for later ones (removed with the rest of the cache by `rustc-expand-cache clear`).
    fn deny_by_verify(
        &mut self,
        sess: &Session,
        crate_name: Symbol,
        macro_name: Symbol,
        kind: ProcMacroKind,
    ) {
        self.verify_denied.insert((crate_name, macro_name), true);
        if self.config.read_only {
            return;
        }
        let (krate, name) = (crate_name.as_str(), macro_name.as_str());
        let meta = RecEntryMeta {
            macro_crate: RecSlice::new(krate.as_bytes()),
            macro_name: RecSlice::new(name.as_bytes()),
            kind: kind as u8,
            expand_nanos: 0,
        };
        if let Some(store) = self.store(sess) {
            let key = verify_deny_key(crate_name, macro_name);
            if let Err(reason) = store.put(&key, b"denied by RUSTC_EXPAND_CACHE_VERIFY", &meta) {
                debug!(%reason, "proc-macro cache: could not record a denial");
            }
        }
    }

    fn verify_sample(&self, key: &Fingerprint) -> bool {
        if self.config.verify <= 0.0 {
            return false;
        }
        if self.config.verify >= 1.0 {
            return true;
        }
        let lo = u64::from_le_bytes(key.to_le_bytes()[..8].try_into().unwrap());
        ((lo >> 11) as f64 / (1u64 << 53) as f64) < self.config.verify
    }
}

fn warn_disabled(sess: &Session, reason: &str) {
    sess.dcx().warn(format!("proc-macro expansion cache disabled: {reason}"));
}

// ------------------------------------------------------------------------------------------
// Key.
// ------------------------------------------------------------------------------------------

/// A hashing context which ignores spans, so that the key only depends on the tokens.
struct NoSpanHcx;

impl rustc_span::HashStableContext for NoSpanHcx {
    fn span_hash_stable(&mut self, _: Span, _: &mut StableHasher) {}

    fn def_path_hash(&self, _: DefId) -> DefPathHash {
        panic!("`DefId` in proc-macro input tokens")
    }

    fn assert_default_hashing_controls(&self, _: &str) {}
}

impl rustc_ast::HashStableContext for NoSpanHcx {}

/// Hashes a token stream structurally: lengths, tree tags, token kinds with their symbols as
/// strings, spacing and delimiters, but no spans. Returns `false` for streams which must never
/// be cached (error literals).
fn hash_stream(stream: &TokenStream, hasher: &mut StableHasher) -> bool {
    let hcx = &mut NoSpanHcx;
    stream.len().hash_stable(hcx, hasher);
    for tree in stream.iter() {
        match tree {
            TokenTree::Token(token, spacing) => {
                if let TokenKind::Literal(token::Lit { kind: token::LitKind::Err(_), .. }) =
                    token.kind
                {
                    return false;
                }
                0u8.hash_stable(hcx, hasher);
                token.kind.hash_stable(hcx, hasher);
                spacing.hash_stable(hcx, hasher);
            }
            TokenTree::Delimited(_, delim_spacing, delim, inner) => {
                1u8.hash_stable(hcx, hasher);
                delim_spacing.hash_stable(hcx, hasher);
                delim.hash_stable(hcx, hasher);
                if !hash_stream(inner, hasher) {
                    return false;
                }
            }
        }
    }
    true
}

/// Length of the operator text of `kind`, as split into `Punct`s by `proc_macro_server`.
fn op_len(kind: &TokenKind) -> Option<usize> {
    use rustc_ast::token::TokenKind::*;
    Some(match kind {
        Eq | Lt | Gt | Bang | Tilde | Plus | Minus | Star | Slash | Percent | Caret | And | Or
        | At | Dot | Comma | Semi | Colon | Pound | Dollar | Question | SingleQuote => 1,
        Le | EqEq | Ne | Ge | AndAnd | OrOr | Shl | Shr | PlusEq | MinusEq | StarEq | SlashEq
        | PercentEq | CaretEq | AndEq | OrEq | DotDot | PathSep | RArrow | LArrow | FatArrow => 2,
        ShlEq | ShrEq | DotDotDot | DotDotEq => 3,
        _ => return None,
    })
}

/// The canonical input span table: a pre-order walk collecting every span the proc-macro
/// server can hand out for this input. Its shape depends only on the token kinds, never on
/// span values, so that the same index denotes the same token in any input with the same key.
fn collect_input_spans(stream: &TokenStream, out: &mut Vec<Span>) {
    for tree in stream.iter() {
        match tree {
            TokenTree::Token(token, _) => {
                let span = token.span;
                out.push(span);
                match token.kind {
                    TokenKind::NtIdent(ident, _) | TokenKind::NtLifetime(ident, _) => {
                        out.push(ident.span)
                    }
                    ref kind => {
                        if let Some(len) = op_len(kind)
                            && len > 1
                        {
                            // Mirrors the splitting in `FromInternal<TokenStream>`.
                            let split = (span.hi() - span.lo()).0 as usize == len;
                            for i in 0..len {
                                if split {
                                    let lo = span.lo() + rustc_span::BytePos(i as u32);
                                    out.push(span.with_lo(lo).with_hi(lo + rustc_span::BytePos(1)));
                                } else {
                                    out.push(span);
                                }
                            }
                        }
                    }
                }
            }
            TokenTree::Delimited(dspan, _, _, inner) => {
                out.push(dspan.open);
                out.push(dspan.close);
                out.push(dspan.entire());
                collect_input_spans(inner, out);
            }
        }
    }
}

/// The kinds of proc macros, numbered as in the backend ABI.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ProcMacroKind {
    Bang = 0,
    Attr = 1,
    Derive = 2,
}

type Client1 = pm::bridge::client::Client<pm::TokenStream, pm::TokenStream>;
type Client2 = pm::bridge::client::Client<(pm::TokenStream, pm::TokenStream), pm::TokenStream>;

/// One run of a proc-macro client, with its input.
pub(crate) enum ClientCall {
    Bang(Client1, TokenStream),
    Attr(Client2, TokenStream, TokenStream),
    Derive(Client1, TokenStream),
}

impl ClientCall {
    fn kind(&self) -> ProcMacroKind {
        match self {
            ClientCall::Bang(..) => ProcMacroKind::Bang,
            ClientCall::Attr(..) => ProcMacroKind::Attr,
            ClientCall::Derive(..) => ProcMacroKind::Derive,
        }
    }

    fn inputs(&self) -> Vec<&TokenStream> {
        match self {
            ClientCall::Bang(_, input) | ClientCall::Derive(_, input) => vec![input],
            ClientCall::Attr(_, args, item) => vec![args, item],
        }
    }

    fn run(
        &self,
        ecx: &mut ExtCtxt<'_>,
        sites: ExpnSites,
        recorder: Option<&mut ExpandRecorder>,
    ) -> Result<TokenStream, PanicMessage> {
        let proc_macro_backtrace = ecx.ecfg.proc_macro_backtrace;
        let strategy = exec_strategy(ecx.sess);
        let server = Rustc::with_sites(ecx, sites, recorder);
        match self {
            ClientCall::Bang(client, input) | ClientCall::Derive(client, input) => {
                client.run(&strategy, server, input.clone(), proc_macro_backtrace)
            }
            ClientCall::Attr(client, args, item) => {
                client.run(&strategy, server, args.clone(), item.clone(), proc_macro_backtrace)
            }
        }
    }
}

/// The collections one cacheable expansion fills, kept from one expansion to the next (empty,
/// as `recycle` leaves them) instead of being allocated, grown and freed for every expansion:
/// oci-spec's cold touch recheck, 527 expansions, ran 5.6 M fewer instructions (of the 115 M
/// the cold cache added).
#[derive(Default)]
struct ExpansionBuffers {
    input_spans: Vec<Span>,
    span_ids: FxHashMap<Span, u32>,
    distinct: Vec<u32>,
    exprs: Vec<SpanExpr>,
    values: Vec<Option<Span>>,
    gallery_seen: Vec<u64>,
    symbols: FxHashMap<Symbol, u32>,
}

impl ExpansionBuffers {
    /// Takes back, emptied, the collections of a key and, after a run, of its recorder.
    fn recycle(&mut self, ikey: InvocationKey, rec: Option<ExpandRecorder>) {
        self.input_spans = ikey.input_spans;
        self.distinct = ikey.distinct;
        match rec {
            Some(rec) => {
                self.span_ids = rec.span_ids;
                self.exprs = rec.exprs;
                self.values = rec.values;
                self.gallery_seen = rec.gallery_seen;
            }
            None => self.span_ids = ikey.span_ids,
        }
        self.input_spans.clear();
        self.distinct.clear();
        self.span_ids.clear();
        self.exprs.clear();
        self.values.clear();
        self.gallery_seen.clear();
    }
}

struct InvocationKey {
    key: Fingerprint,
    input_spans: Vec<Span>,
    /// Each distinct input span and its recorder expression id (3 + its rank among the
    /// distinct input spans; 0-2 are the expansion sites).
    span_ids: FxHashMap<Span, u32>,
    /// The index in `input_spans` of each distinct input span, in order.
    distinct: Vec<u32>,
}

fn compute_key(
    cache: &ExpandCache,
    ecx: &ExtCtxt<'_>,
    crate_fingerprint: Fingerprint,
    env_fingerprint: Fingerprint,
    kind: ProcMacroKind,
    macro_name: Symbol,
    inputs: &[&TokenStream],
    sites: &ExpnSites,
    buffers: &mut ExpansionBuffers,
) -> Result<InvocationKey, &'static str> {
    let hcx = &mut NoSpanHcx;
    let mut hasher = StableHasher::new();
    FORMAT_VERSION.hash_stable(hcx, &mut hasher);
    cache.config.namespace.hash_stable(hcx, &mut hasher);
    hasher.write(&crate_fingerprint.to_le_bytes());
    (kind as u8).hash_stable(hcx, &mut hasher);
    macro_name.hash_stable(hcx, &mut hasher);
    ecx.sess.edition().hash_stable(hcx, &mut hasher);
    ecx.current_expansion.id.expn_data().edition.hash_stable(hcx, &mut hasher);
    hasher.write(&env_fingerprint.to_le_bytes());

    inputs.len().hash_stable(hcx, &mut hasher);
    let mut input_spans = std::mem::take(&mut buffers.input_spans);
    for input in inputs {
        if !hash_stream(input, &mut hasher) {
            return Err("error literal in input");
        }
        collect_input_spans(input, &mut input_spans);
    }

    // The input span-equality partition: the client sees equal spans as one handle. The
    // recorder's span table is built here too (one hashing of the input spans, not two).
    let mut span_ids = std::mem::take(&mut buffers.span_ids);
    span_ids.reserve(input_spans.len() + 3);
    let mut distinct = std::mem::take(&mut buffers.distinct);
    input_spans.len().hash_stable(hcx, &mut hasher);
    for (i, span) in input_spans.iter().enumerate() {
        let id = *span_ids.entry(*span).or_insert_with(|| {
            distinct.push(i as u32);
            2 + distinct.len() as u32
        });
        id.hash_stable(hcx, &mut hasher);
    }
    if span_ids.contains_key(&sites.call_site)
        || span_ids.contains_key(&sites.def_site)
        || span_ids.contains_key(&sites.mixed_site)
    {
        return Err("input span equal to an expansion site");
    }
    // The edition of each distinct input span, where it is not the session's: the server's
    // `TokenStream::to_string` prints `async (x)` or `async(x)` by it (reserved words), and
    // tokens passed through another crate's `macro_rules!` carry that crate's edition.
    let session_edition = ecx.sess.edition();
    let mut last_ctxt: Option<(SyntaxContext, Edition)> = None;
    for (n, &i) in distinct.iter().enumerate() {
        let ctxt = input_spans[i as usize].ctxt();
        let edition = match last_ctxt {
            Some((seen, edition)) if seen == ctxt => edition,
            _ => {
                let edition = ctxt.edition();
                last_ctxt = Some((ctxt, edition));
                edition
            }
        };
        if edition != session_edition {
            (n as u32).hash_stable(hcx, &mut hasher);
            edition.hash_stable(hcx, &mut hasher);
        }
    }
    u32::MAX.hash_stable(hcx, &mut hasher);
    Ok(InvocationKey { key: hasher.finish::<Fingerprint>(), input_spans, span_ids, distinct })
}

// ------------------------------------------------------------------------------------------
// Recording.
// ------------------------------------------------------------------------------------------

/// A span method of the proc-macro server, recorded to be replayed on a hit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SpanOp {
    Start,
    End,
    Join,
    Subspan(Bound<usize>, Bound<usize>),
    ResolvedAt,
    /// `recover_proc_macro_span(id)` (spans quoted by the builtin `quote!`).
    Recovered(usize),
}

/// A location query of the proc-macro server; its result is a precondition of the entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SpanQuery {
    File,
    LocalFile,
    ByteRange,
    Line,
    Column,
    SourceText,
}

/// How a span of the output is rebuilt from the invocation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SpanExpr {
    CallSite,
    DefSite,
    MixedSite,
    /// Index into the canonical input span table.
    Input(u32),
    /// A span operation over earlier expressions, in recorded order; `some` tells whether it
    /// returned a span (a precondition for `join` and `subspan`).
    Op {
        op: SpanOp,
        a: u32,
        b: u32,
        some: bool,
    },
}

/// Facts the macro observed; an entry is only used when they still hold.
#[derive(Clone, Debug)]
enum Check {
    Query(SpanQuery, u32, Option<String>),
    /// `proc_macro::tracked_env::var` reads `-Zlogical-env`...
    InjectedEnv(String, Option<String>),
    /// ... then the process environment.
    Env(String, Option<String>),
    /// `proc_macro::tracked_path::path`: the content hash of the file.
    Path(String, Option<Fingerprint>),
    /// `include_str!`/`include_bytes!` of this path (as written) in the output: the content
    /// hash of the file it resolves to from the call site. Macros such as pest_derive read the
    /// file themselves and emit the include only so that the file is tracked; its content is
    /// an input the key does not cover.
    Include(String, Option<Fingerprint>),
}

/// A side effect of the client run which a cached replay must repeat, in order.
#[derive(Clone, Debug)]
enum Replay {
    /// `TokenStream::from_str` registers a source file and lexes it.
    TsFromStr(String),
    /// `Literal::from_str` registers a source file and lexes it.
    LiteralFromStr(String),
    /// `symbol_gallery.insert` from identifiers created by the client.
    Ident(Symbol, u32),
    /// `env_depinfo` entry from `track_env_var`.
    TrackEnv(String, Option<String>),
    /// `file_depinfo` entry from `track_path`.
    TrackPath(String),
    /// A warning, note or help emitted through `proc_macro::Diagnostic`.
    Diagnostic(DiagRecord),
}

/// A diagnostic with its spans as expression indices.
#[derive(Clone, Debug)]
struct DiagRecord {
    level: u8,
    message: String,
    spans: Vec<u32>,
    children: Vec<DiagRecord>,
}

fn level_to_u8(level: Level) -> Option<u8> {
    match level {
        Level::Warning => Some(1),
        Level::Note => Some(2),
        Level::Help => Some(3),
        _ => None,
    }
}

fn level_from_u8(level: u8) -> Option<Level> {
    match level {
        1 => Some(Level::Warning),
        2 => Some(Level::Note),
        3 => Some(Level::Help),
        _ => None,
    }
}

fn emit_diag_record(e: &mut MemEncoder, diag: &DiagRecord) {
    e.emit_u8(diag.level);
    e.emit_str(&diag.message);
    e.emit_usize(diag.spans.len());
    for id in &diag.spans {
        e.emit_u32(*id);
    }
    e.emit_usize(diag.children.len());
    for child in &diag.children {
        emit_diag_record(e, child);
    }
}

fn read_diag_record(
    d: &mut ExpandCacheDecoder<'_>,
    n_spans: usize,
    depth: usize,
) -> Result<DiagRecord, &'static str> {
    let level = d.read_u8();
    if level_from_u8(level).is_none() {
        return Err("bad diagnostic level");
    }
    let message = d.read_str().to_owned();
    let mut spans = Vec::new();
    for _ in 0..d.read_usize() {
        let id = d.read_u32();
        if id as usize >= n_spans {
            return Err("bad diagnostic span");
        }
        spans.push(id);
    }
    let mut children = Vec::new();
    for _ in 0..d.read_usize() {
        if depth > 4 {
            return Err("diagnostic nested too deeply");
        }
        children.push(read_diag_record(d, n_spans, depth + 1)?);
    }
    Ok(DiagRecord { level, message, spans, children })
}

fn diag_from_record(diag: &DiagRecord, spans: &[Span]) -> Diagnostic<Span> {
    Diagnostic {
        level: level_from_u8(diag.level).unwrap(),
        message: diag.message.clone(),
        spans: diag.spans.iter().map(|id| spans[*id as usize]).collect(),
        children: diag.children.iter().map(|c| diag_from_record(c, spans)).collect(),
    }
}

/// The store key of the marker that denies a macro found impure by verify mode: by crate and
/// macro name, so that a new version of the crate stays denied until the cache is cleared.
fn verify_deny_key(crate_name: Symbol, macro_name: Symbol) -> [u8; 16] {
    let mut hasher = StableHasher::new();
    "rustc-expand-cache verify denial".hash_stable(&mut NoSpanHcx, &mut hasher);
    FORMAT_VERSION.hash_stable(&mut NoSpanHcx, &mut hasher);
    crate_name.as_str().hash_stable(&mut NoSpanHcx, &mut hasher);
    macro_name.as_str().hash_stable(&mut NoSpanHcx, &mut hasher);
    hasher.finish::<Fingerprint>().to_le_bytes()
}

/// The store key under which the content hash of the dylib at `path`, with metadata `m`, is
/// memoized: a hash of its path and metadata. `None` off Unix.
fn dylib_memo_key(path: &Path, m: &std::fs::Metadata) -> Option<[u8; 16]> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mut hasher = StableHasher::new();
        let hcx = &mut NoSpanHcx;
        "rustc-expand-cache dylib hash (BLAKE3)".hash_stable(hcx, &mut hasher);
        FORMAT_VERSION.hash_stable(hcx, &mut hasher);
        path.as_os_str().as_encoded_bytes().hash_stable(hcx, &mut hasher);
        let fields = [m.dev(), m.ino(), m.size(), m.mtime() as u64, m.mtime_nsec() as u64];
        fields.hash_stable(hcx, &mut hasher);
        [m.ctime() as u64, m.ctime_nsec() as u64].hash_stable(hcx, &mut hasher);
        Some(hasher.finish::<Fingerprint>().to_le_bytes())
    }
    #[cfg(not(unix))]
    {
        let _ = (path, m);
        None
    }
}

/// Whether the file with metadata `m` was last changed (ctime) more than two seconds ago.
fn dylib_settled(m: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        now - m.ctime() > 2
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        false
    }
}

fn fingerprint_of(hash: SourceFileHash) -> Fingerprint {
    let mut first = [0u8; 16];
    first.copy_from_slice(&hash.hash_bytes()[..16]);
    Fingerprint::from_le_bytes(first)
}

/// The content hash of a proc-macro dylib without a build ID: of what the dynamic loader maps,
/// for a 64-bit little-endian ELF file (the `PT_LOAD` segments, with the ELF and program
/// headers), else of the whole file. Debug info and symbol tables, about two thirds of a
/// debug-build dylib, cannot change what a macro does; the crate's metadata section, which the
/// compiler reads, is covered by the crate hash beside this one.
fn hash_dylib(file: &mut File, elf: Option<&ElfSegments>) -> std::io::Result<Fingerprint> {
    let Some(elf) = elf else {
        file.seek(SeekFrom::Start(0))?;
        return Ok(fingerprint_of(SourceFileHash::new(SourceFileHashAlgorithm::Blake3, file)?));
    };
    let mut image = Vec::with_capacity(elf.loaded.iter().map(|&(_, n)| n as usize + 16).sum());
    for &(offset, size) in &elf.loaded {
        image.extend_from_slice(&offset.to_le_bytes());
        image.extend_from_slice(&size.to_le_bytes());
        let start = image.len() as u64;
        file.seek(SeekFrom::Start(offset))?;
        // Not `read_exact` into a zeroed buffer: zeroing megabytes costs as much as hashing.
        if (&mut *file).take(size).read_to_end(&mut image)? as u64 != size {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        // The ELF header's fields locating the section headers (e_shoff, e_shentsize, e_shnum,
        // e_shstrndx), which the loader ignores and `strip` changes, are hashed as zeros.
        for (lo, hi) in [(0x28u64, 0x30u64), (0x3a, 0x40)] {
            let (lo, hi) = (lo.max(offset), hi.min(offset + size));
            if lo < hi {
                image[(start + lo - offset) as usize..(start + hi - offset) as usize].fill(0);
            }
        }
    }
    Ok(fingerprint_of(SourceFileHash::new_in_memory(SourceFileHashAlgorithm::Blake3, &image)))
}

/// The segments of a 64-bit little-endian ELF file that say what its code is.
/// (By hand: `rustc_expand` has no ELF reader among its dependencies, and this needs a few
/// fields.)
struct ElfSegments {
    /// `(offset, size)` of the ELF and program headers and of each `PT_LOAD` segment's bytes.
    loaded: Vec<(u64, u64)>,
    /// `(offset, size, alignment)` of each `PT_NOTE` segment.
    notes: Vec<(u64, u64, u64)>,
}

fn u16_at(b: &[u8], at: usize) -> u64 {
    u16::from_le_bytes([b[at], b[at + 1]]) as u64
}

fn u32_at(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as u64
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// The segments of `file` (of `len` bytes), if it is a well-formed 64-bit little-endian ELF
/// file with loaded segments whose sizes add up to at most twice the file's; `None` for
/// anything else.
fn elf_segments(file: &mut File, len: u64) -> std::io::Result<Option<ElfSegments>> {
    const PT_LOAD: u64 = 1;
    const PT_NOTE: u64 = 4;
    let mut header = [0u8; 64];
    if len < 64 {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut header)?;
    // Magic, ELFCLASS64, ELFDATA2LSB.
    if header[..6] != [0x7f, b'E', b'L', b'F', 2, 1] {
        return Ok(None);
    }
    let (phoff, phentsize, phnum) =
        (u64_at(&header, 0x20), u16_at(&header, 0x36), u16_at(&header, 0x38));
    let table_end = phoff.checked_add(phentsize * phnum);
    if phentsize < 56 || phnum == 0 || table_end.is_none_or(|end| end > len) {
        return Ok(None);
    }
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    file.seek(SeekFrom::Start(phoff))?;
    file.read_exact(&mut table)?;
    let mut elf = ElfSegments { loaded: vec![(0, 64), (phoff, phentsize * phnum)], notes: vec![] };
    let mut loaded_total = 0u64;
    for entry in table.chunks_exact(phentsize as usize) {
        let p_type = u32_at(entry, 0);
        let (offset, size) = (u64_at(entry, 0x08), u64_at(entry, 0x20));
        if p_type != PT_LOAD && p_type != PT_NOTE {
            continue;
        }
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Ok(None);
        }
        if p_type == PT_LOAD {
            loaded_total = loaded_total.saturating_add(size);
            elf.loaded.push((offset, size));
        } else {
            elf.notes.push((offset, size, u64_at(entry, 0x30)));
        }
    }
    // Overlapping segments could make the image many times the file; no linker writes that.
    Ok(if elf.loaded.len() > 2 && loaded_total <= len.saturating_mul(2) { Some(elf) } else { None })
}

/// The GNU build ID of an ELF file (its `NT_GNU_BUILD_ID` note), if it has one of 8 to 64
/// bytes. Linkers compute it as a hash of the whole linked file (SHA-1 for GNU ld and gold,
/// xxHash64 for lld, ...), so any relink with other code gives another one and `strip` keeps
/// it with the code. Only an ID fixed by hand (`-Wl,--build-id=0x...`) defeats it.
fn gnu_build_id(file: &mut File, elf: &ElfSegments) -> std::io::Result<Option<Vec<u8>>> {
    const NT_GNU_BUILD_ID: u64 = 3;
    for &(offset, size, align) in &elf.notes {
        if size > 1 << 16 {
            continue;
        }
        let mut notes = vec![0u8; size as usize];
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut notes)?;
        // Notes are padded to 4 bytes, or to 8 in segments aligned so (GNU property notes).
        let pad = |n: u64| if align == 8 { n.next_multiple_of(8) } else { n.next_multiple_of(4) };
        let mut at = 0u64;
        while at + 12 <= size {
            let i = at as usize;
            let (name_size, desc_size, kind) =
                (u32_at(&notes, i), u32_at(&notes, i + 4), u32_at(&notes, i + 8));
            let name_at = at + 12;
            let desc_at = name_at + pad(name_size);
            if desc_at + desc_size > size {
                break;
            }
            let name = &notes[name_at as usize..(name_at + name_size) as usize];
            if kind == NT_GNU_BUILD_ID && name == b"GNU\0" && (8..=64).contains(&desc_size) {
                return Ok(Some(notes[desc_at as usize..(desc_at + desc_size) as usize].to_vec()));
            }
            at = desc_at + pad(desc_size);
        }
    }
    Ok(None)
}

/// The content hash of the file at `path`: BLAKE3 (rustc's source-file hash), streamed.
fn hash_file(path: impl AsRef<Path>) -> Option<Fingerprint> {
    let file = File::open(path).ok()?;
    Some(fingerprint_of(SourceFileHash::new(SourceFileHashAlgorithm::Blake3, file).ok()?))
}

/// A `FileInputs` rule's directory as this session finds it.
#[derive(Clone)]
struct KnownFiles {
    /// Its canonical path: every file the output includes must lie under it.
    dir: PathBuf,
    /// The hash of everything under it.
    fingerprint: Fingerprint,
}

impl KnownFiles {
    fn find(rule: &FileInputs) -> Result<KnownFiles, &'static str> {
        let root = PathBuf::from(
            env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR to find its files")?,
        );
        for config in rule.config_files {
            match std::fs::symlink_metadata(root.join(config)) {
                Ok(_) => return Err("its configuration file exists"),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => return Err("cannot tell whether its configuration file exists"),
            }
        }
        let dir =
            std::fs::canonicalize(root.join(rule.dir)).map_err(|_| "no directory of its files")?;
        let mut tree = TreeHasher::new(FILE_INPUTS_MAX_ENTRIES, FILE_INPUTS_MAX_BYTES);
        tree.hash_dir(&dir)?;
        Ok(KnownFiles { dir, fingerprint: tree.hasher.finish() })
    }
}

/// Hashes a directory tree: the name and kind of each entry, in name order, and the content
/// of each file. A symlink or special file is refused: what it points at is not hashed.
struct TreeHasher {
    hasher: StableHasher,
    entries: usize,
    bytes: u64,
    max_entries: usize,
    max_bytes: u64,
}

impl TreeHasher {
    fn new(max_entries: usize, max_bytes: u64) -> TreeHasher {
        TreeHasher { hasher: StableHasher::new(), entries: 0, bytes: 0, max_entries, max_bytes }
    }

    fn hash_dir(&mut self, dir: &Path) -> Result<(), &'static str> {
        const UNREADABLE: &str = "unreadable entry in the directory";
        let mut names = std::fs::read_dir(dir)
            .and_then(|entries| {
                entries.map(|e| e.map(|e| e.file_name())).collect::<Result<Vec<_>, _>>()
            })
            .map_err(|_| UNREADABLE)?;
        names.sort_unstable();
        self.entries += names.len();
        if self.entries > self.max_entries {
            return Err("too many files in the directory");
        }
        let hcx = &mut NoSpanHcx;
        names.len().hash_stable(hcx, &mut self.hasher);
        for name in names {
            hash_bytes(name.as_encoded_bytes(), &mut self.hasher);
            let path = dir.join(&name);
            let meta = std::fs::symlink_metadata(&path).map_err(|_| UNREADABLE)?;
            if meta.is_dir() {
                0u8.hash_stable(hcx, &mut self.hasher);
                self.hash_dir(&path)?;
            } else if meta.is_file() {
                self.bytes += meta.len();
                if self.bytes > self.max_bytes {
                    return Err("too large a directory");
                }
                1u8.hash_stable(hcx, &mut self.hasher);
                let hash = hash_file(&path).ok_or(UNREADABLE)?;
                self.hasher.write(&hash.to_le_bytes());
            } else {
                return Err("symlink or special file in the directory");
            }
        }
        Ok(())
    }
}

/// Whether `stream` contains `key =` for one of `keys`, at any depth (an attribute argument
/// such as `config = "..."`).
fn mentions_key(stream: &TokenStream, keys: &[&str]) -> bool {
    let mut trees = stream.iter().peekable();
    while let Some(tree) = trees.next() {
        let name = match tree {
            TokenTree::Token(token, _) => match token.kind {
                TokenKind::Ident(name, _) => name,
                TokenKind::NtIdent(ident, _) => ident.name,
                _ => continue,
            },
            TokenTree::Delimited(_, _, _, inner) => {
                if mentions_key(inner, keys) {
                    return true;
                }
                continue;
            }
        };
        if keys.contains(&name.as_str())
            && matches!(trees.peek(), Some(TokenTree::Token(t, _)) if t.kind == TokenKind::Eq)
        {
            return true;
        }
    }
    false
}

/// Records, during a client run, what is needed to store its result: where the spans come from
/// and which side effects happened. Any operation whose result is not reproducible from the key
/// taints the recording.
pub(crate) struct ExpandRecorder {
    span_ids: FxHashMap<Span, u32>,
    exprs: Vec<SpanExpr>,
    /// The value of each expression in this run.
    values: Vec<Option<Span>>,
    replays: Vec<Replay>,
    checks: Vec<Check>,
    /// Symbols noted in the gallery, a bitmap by symbol index (dense; cheaper than hashing).
    gallery_seen: Vec<u64>,
    /// Diagnostics of the macro, emitted after the run, each with the length the captured
    /// stderr had when the macro emitted it: the compiler's own diagnostics of the run (from
    /// `TokenStream::from_str`'s lexer, say) are captured with it, and the two are written out
    /// in the order they came.
    deferred: Vec<(Diagnostic<Span>, u64)>,
    tainted: Option<&'static str>,
}

impl ExpandRecorder {
    /// A recorder whose span table starts with the expansion sites and the distinct input
    /// spans of `ikey` (taken from it), in collections taken from `buffers`.
    fn new(
        sites: &ExpnSites,
        ikey: &mut InvocationKey,
        buffers: &mut ExpansionBuffers,
    ) -> ExpandRecorder {
        let mut span_ids = std::mem::take(&mut ikey.span_ids);
        let mut exprs = std::mem::take(&mut buffers.exprs);
        exprs.reserve(3 + ikey.distinct.len());
        let mut values = std::mem::take(&mut buffers.values);
        values.reserve(3 + ikey.distinct.len());
        let gallery_seen = std::mem::take(&mut buffers.gallery_seen);
        // Equal sites are one expression (the client sees one handle); `compute_key` numbered
        // the input spans after three.
        let sites = [
            (sites.call_site, SpanExpr::CallSite),
            (sites.def_site, SpanExpr::DefSite),
            (sites.mixed_site, SpanExpr::MixedSite),
        ];
        for (span, expr) in sites {
            if !values.contains(&Some(span)) {
                span_ids.insert(span, exprs.len() as u32);
                exprs.push(expr);
                values.push(Some(span));
            }
        }
        if exprs.len() < 3 {
            let missing = 3 - exprs.len() as u32;
            for &i in &ikey.distinct {
                if let Some(id) = span_ids.get_mut(&ikey.input_spans[i as usize]) {
                    *id -= missing;
                }
            }
        }
        for &i in &ikey.distinct {
            exprs.push(SpanExpr::Input(i));
            values.push(Some(ikey.input_spans[i as usize]));
        }
        ExpandRecorder {
            span_ids,
            exprs,
            values,
            replays: Vec::new(),
            checks: Vec::new(),
            gallery_seen,
            deferred: Vec::new(),
            tainted: None,
        }
    }

    fn id_of(&mut self, span: Span) -> Option<u32> {
        let id = self.span_ids.get(&span).copied();
        if id.is_none() {
            self.taint("span of unknown origin");
        }
        id
    }

    /// A span method ran: `result = op(a, b)`.
    pub(crate) fn note_span_op(&mut self, op: SpanOp, a: Span, b: Span, result: Option<Span>) {
        if self.tainted.is_some() {
            return;
        }
        let (a, b) = match op {
            SpanOp::Recovered(_) => (0, 0),
            _ => match (self.id_of(a), self.id_of(b)) {
                (Some(a), Some(b)) => (a, b),
                _ => return,
            },
        };
        let id = self.exprs.len() as u32;
        self.exprs.push(SpanExpr::Op { op, a, b, some: result.is_some() });
        self.values.push(result);
        if let Some(result) = result {
            self.span_ids.entry(result).or_insert(id);
        }
    }

    /// A location query ran on `span` and returned `result`.
    pub(crate) fn note_span_query(&mut self, query: SpanQuery, span: Span, result: Option<String>) {
        if self.tainted.is_some() {
            return;
        }
        if let Some(id) = self.id_of(span) {
            self.checks.push(Check::Query(query, id, result));
        }
    }

    pub(crate) fn note_injected_env_var(&mut self, var: &str, value: Option<&str>) {
        self.checks.push(Check::InjectedEnv(var.to_owned(), value.map(str::to_owned)));
    }

    pub(crate) fn note_track_env_var(&mut self, var: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        self.checks.push(Check::Env(var.to_owned(), value.clone()));
        self.replays.push(Replay::TrackEnv(var.to_owned(), value));
    }

    /// The macro emitted a diagnostic: it is emitted after the run, and replayed on a hit
    /// unless it is an error (errors are never cached).
    pub(crate) fn note_diagnostic(&mut self, diag: Diagnostic<Span>) {
        if self.tainted.is_none() {
            match self.diag_record(&diag) {
                Some(record) => self.replays.push(Replay::Diagnostic(record)),
                None => self.taint("error diagnostic or diagnostic with an unknown span"),
            }
        }
        self.deferred.push((diag, OutputCapture::stderr_len()));
    }

    fn diag_record(&self, diag: &Diagnostic<Span>) -> Option<DiagRecord> {
        Some(DiagRecord {
            level: level_to_u8(diag.level)?,
            message: diag.message.clone(),
            spans: diag
                .spans
                .iter()
                .map(|span| self.span_ids.get(span).copied())
                .collect::<Option<Vec<u32>>>()?,
            children: diag
                .children
                .iter()
                .map(|c| self.diag_record(c))
                .collect::<Option<Vec<DiagRecord>>>()?,
        })
    }

    pub(crate) fn note_track_path(&mut self, path: &str) {
        let hash = hash_file(path);
        // `None` stands for a missing file; anything else that cannot be read (a directory:
        // cargo reruns rustc when its entries change) could not be compared on a hit.
        if hash.is_none() && std::fs::symlink_metadata(path).is_ok() {
            self.taint("tracked path that is not a readable file");
        }
        self.checks.push(Check::Path(path.to_owned(), hash));
        self.replays.push(Replay::TrackPath(path.to_owned()));
    }

    /// Marks this run as not reproducible from its key.
    pub(crate) fn taint(&mut self, why: &'static str) {
        if self.tainted.is_none() {
            self.tainted = Some(why);
        }
    }

    pub(crate) fn note_ts_from_str(&mut self, src: &str) {
        self.replays.push(Replay::TsFromStr(src.to_owned()));
    }

    pub(crate) fn note_literal_from_str(&mut self, src: &str) {
        self.replays.push(Replay::LiteralFromStr(src.to_owned()));
    }

    /// `symbol_gallery.insert(sym, span)` happened; only the first insertion of a symbol can
    /// have an effect. Inlined into the server's conversion of each identifier, most of which
    /// are seen already (oci-spec's cold touch recheck: 163 K calls, 27 K first insertions; 3 M
    /// fewer instructions than a call each).
    #[inline]
    pub(crate) fn note_ident(&mut self, sym: Symbol, span: Span) {
        let index = sym.as_u32() as usize;
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        if self.tainted.is_some() || self.gallery_seen.get(word).is_some_and(|&w| w & bit != 0) {
            return;
        }
        self.note_first_ident(word, bit, sym, span);
    }

    /// The first insertion of `sym` in this run: replayed on a hit with its span's id.
    #[inline(never)]
    fn note_first_ident(&mut self, word: usize, bit: u64, sym: Symbol, span: Span) {
        if word >= self.gallery_seen.len() {
            self.gallery_seen.resize(word + 1, 0);
        }
        self.gallery_seen[word] |= bit;
        match self.span_ids.get(&span) {
            Some(&id) => self.replays.push(Replay::Ident(sym, id)),
            None => self.taint("identifier with an unknown span"),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Entry encoding.
// ------------------------------------------------------------------------------------------

const ENTRY_MAGIC: u32 = 0x5245_4302;

/// Encodes output tokens, writing spans as indices into the recorded span expressions, and
/// symbols by number when the compiler predefines them, else as strings the first time and
/// as indices into the entry's own symbol table afterwards: generated code repeats its
/// identifiers throughout, so entries get smaller (zoxide's by 12-27%, by macro: less to copy,
/// checksum and write) and decode with one interning per distinct symbol.
struct ExpandCacheEncoder<'r> {
    enc: MemEncoder,
    span_ids: &'r FxHashMap<Span, u32>,
    /// The last span encoded and its index: runs of tokens with one span (`quote!` with
    /// `Span::call_site()`) are the common case.
    last: Option<(Span, u32)>,
    /// The symbols written as strings so far, with their indices.
    symbols: FxHashMap<Symbol, u32>,
    /// See `SessionEnv`: no symbol of a stored output may contain it.
    unit_dir_name: Option<&'r str>,
    failed: Option<&'static str>,
}

/// How an encoded symbol continues: a predefined symbol's number, a string (the next index
/// of the entry's symbol table), or an index of that table.
const SYMBOL_PREDEFINED: u8 = 0;
const SYMBOL_STR: u8 = 1;
const SYMBOL_SEEN: u8 = 2;

macro_rules! delegate_emit {
    ($($name:ident($ty:ty);)*) => {
        $(#[inline] fn $name(&mut self, v: $ty) { self.enc.$name(v) })*
    };
}

impl Encoder for ExpandCacheEncoder<'_> {
    delegate_emit! {
        emit_usize(usize); emit_u128(u128); emit_u64(u64); emit_u32(u32); emit_u16(u16);
        emit_u8(u8); emit_isize(isize); emit_i128(i128); emit_i64(i64); emit_i32(i32);
        emit_i16(i16);
    }

    #[inline]
    fn emit_raw_bytes(&mut self, s: &[u8]) {
        self.enc.emit_raw_bytes(s)
    }
}

impl SpanEncoder for ExpandCacheEncoder<'_> {
    fn encode_span(&mut self, span: Span) {
        if let Some((last, id)) = self.last
            && last == span
        {
            return self.enc.emit_u32(id);
        }
        match self.span_ids.get(&span) {
            Some(&id) => {
                self.last = Some((span, id));
                self.enc.emit_u32(id)
            }
            None => {
                self.failed.get_or_insert("output span of unknown origin");
                self.enc.emit_u32(u32::MAX)
            }
        }
    }

    fn encode_symbol(&mut self, sym: Symbol) {
        let index = sym.as_u32();
        if Symbol::is_predefined(index) {
            self.enc.emit_u8(SYMBOL_PREDEFINED);
            return self.enc.emit_u32(index);
        }
        let next = self.symbols.len() as u32;
        match self.symbols.entry(sym) {
            Entry::Occupied(seen) => {
                self.enc.emit_u8(SYMBOL_SEEN);
                self.enc.emit_u32(*seen.get());
            }
            Entry::Vacant(slot) => {
                slot.insert(next);
                let text = sym.as_str();
                // Every symbol rather than only literals and doc comments: an identifier
                // cannot contain the name (it has a `-`), and each text is looked at once.
                if self.unit_dir_name.is_some_and(|name| text.contains(name)) {
                    self.failed.get_or_insert("output names the build-script output directory");
                }
                self.enc.emit_u8(SYMBOL_STR);
                self.enc.emit_str(text);
            }
        }
    }

    fn encode_byte_symbol(&mut self, byte_sym: ByteSymbol) {
        self.enc.emit_byte_str(byte_sym.as_byte_str())
    }

    fn encode_expn_id(&mut self, _: ExpnId) {
        self.failed.get_or_insert("`ExpnId` in output");
    }

    fn encode_syntax_context(&mut self, _: SyntaxContext) {
        self.failed.get_or_insert("`SyntaxContext` in output");
    }

    fn encode_crate_num(&mut self, _: CrateNum) {
        self.failed.get_or_insert("`CrateNum` in output");
    }

    fn encode_def_index(&mut self, _: DefIndex) {
        self.failed.get_or_insert("`DefIndex` in output");
    }

    fn encode_def_id(&mut self, _: DefId) {
        self.failed.get_or_insert("`DefId` in output");
    }
}

/// Decodes an entry, mapping span indices to the spans rebuilt for this invocation.
struct ExpandCacheDecoder<'a> {
    dec: MemDecoder<'a>,
    spans: Vec<Span>,
    /// The symbols read as strings so far (see `ExpandCacheEncoder`).
    symbols: Vec<Symbol>,
}

macro_rules! delegate_read {
    ($($name:ident -> $ty:ty;)*) => {
        $(#[inline] fn $name(&mut self) -> $ty { self.dec.$name() })*
    };
}

impl Decoder for ExpandCacheDecoder<'_> {
    delegate_read! {
        read_usize -> usize; read_u128 -> u128; read_u64 -> u64; read_u32 -> u32;
        read_u16 -> u16; read_u8 -> u8; read_isize -> isize; read_i128 -> i128;
        read_i64 -> i64; read_i32 -> i32; read_i16 -> i16;
    }

    #[inline]
    fn read_raw_bytes(&mut self, len: usize) -> &[u8] {
        self.dec.read_raw_bytes(len)
    }

    #[inline]
    fn peek_byte(&self) -> u8 {
        self.dec.peek_byte()
    }

    #[inline]
    fn position(&self) -> usize {
        self.dec.position()
    }
}

impl BlobDecoder for ExpandCacheDecoder<'_> {
    fn decode_symbol(&mut self) -> Symbol {
        match self.dec.read_u8() {
            SYMBOL_PREDEFINED => {
                let index = self.dec.read_u32();
                assert!(
                    Symbol::is_predefined(index),
                    "bad predefined symbol in a cached expansion"
                );
                Symbol::new(index)
            }
            SYMBOL_STR => {
                let sym = Symbol::intern(self.dec.read_str());
                self.symbols.push(sym);
                sym
            }
            SYMBOL_SEEN => *self
                .symbols
                .get(self.dec.read_u32() as usize)
                .expect("symbol index out of range in a cached expansion"),
            _ => panic!("bad symbol tag in a cached expansion"),
        }
    }

    fn decode_byte_symbol(&mut self) -> ByteSymbol {
        ByteSymbol::intern(self.dec.read_byte_str())
    }

    fn decode_def_index(&mut self) -> DefIndex {
        panic!("`DefIndex` in a cached expansion")
    }
}

impl SpanDecoder for ExpandCacheDecoder<'_> {
    fn decode_span(&mut self) -> Span {
        let id = self.dec.read_u32() as usize;
        *self.spans.get(id).expect("span index out of range in a cached expansion")
    }

    fn decode_expn_id(&mut self) -> ExpnId {
        panic!("`ExpnId` in a cached expansion")
    }

    fn decode_syntax_context(&mut self) -> SyntaxContext {
        panic!("`SyntaxContext` in a cached expansion")
    }

    fn decode_crate_num(&mut self) -> CrateNum {
        panic!("`CrateNum` in a cached expansion")
    }

    fn decode_def_id(&mut self) -> DefId {
        panic!("`DefId` in a cached expansion")
    }

    fn decode_attr_id(&mut self) -> AttrId {
        panic!("`AttrId` in a cached expansion")
    }
}

/// Walks the output for tokens which must not be stored: error literals (their
/// `ErrorGuaranteed` cannot be encoded) and `include_str!`/`include_bytes!` of a path that is
/// not a plain string literal. The literal paths are collected into `included`: they become
/// content-hash preconditions (`Check::Include`). (Symbols naming the unit dir are refused by
/// `ExpandCacheEncoder`, which looks at each distinct symbol once.)
fn check_output(stream: &TokenStream, included: &mut Vec<String>) -> Result<(), &'static str> {
    for (i, tree) in stream.iter().enumerate() {
        match tree {
            TokenTree::Token(token, _) => match token.kind {
                TokenKind::Literal(token::Lit { kind: token::LitKind::Err(_), .. }) => {
                    return Err("error literal in output");
                }
                TokenKind::Ident(name, IdentIsRaw::No)
                    if matches!(name, sym::include_str | sym::include_bytes) =>
                {
                    let is_call = matches!(
                        stream.get(i + 1),
                        Some(TokenTree::Token(t, _)) if t.kind == TokenKind::Bang
                    );
                    match included_path(stream.get(i + 1), stream.get(i + 2)) {
                        Some(path) => included.push(path),
                        None if is_call => {
                            return Err(
                                "`include_str!`/`include_bytes!` of a computed path in output",
                            );
                        }
                        // The identifier, not a call of the macro.
                        None => {}
                    }
                }
                _ => {}
            },
            TokenTree::Delimited(_, _, _, inner) => check_output(inner, included)?,
        }
    }
    Ok(())
}

/// Whether a tracked path or a diagnostic message among `replays` contains `name` (the other
/// replays and the checks either become output tokens or hold what a hit compares).
fn replays_name(replays: &[Replay], name: &str) -> bool {
    fn diag_names(diag: &DiagRecord, name: &str) -> bool {
        diag.message.contains(name) || diag.children.iter().any(|child| diag_names(child, name))
    }
    replays.iter().any(|replay| match replay {
        Replay::TrackPath(path) => path.contains(name),
        Replay::Diagnostic(diag) => diag_names(diag, name),
        _ => false,
    })
}

/// The path of `! ( "literal" )`, as the two trees after `include_str`/`include_bytes`,
/// unescaped.
fn included_path(bang: Option<&TokenTree>, args: Option<&TokenTree>) -> Option<String> {
    let (Some(TokenTree::Token(bang, _)), Some(TokenTree::Delimited(_, _, _, args))) = (bang, args)
    else {
        return None;
    };
    if bang.kind != TokenKind::Bang {
        return None;
    }
    let mut args = args.iter();
    let (Some(TokenTree::Token(tok, _)), None) = (args.next(), args.next()) else {
        return None;
    };
    let TokenKind::Literal(lit) = tok.kind else {
        return None;
    };
    match rustc_ast::LitKind::from_token_lit(lit) {
        Ok(rustc_ast::LitKind::Str(path, _)) => Some(path.as_str().to_owned()),
        _ => None,
    }
}

/// The file `include_str!(path)` reads when expanded at `call_site`, resolved the way
/// `include_str!` resolves it.
fn resolve_included(sess: &Session, path: &str, call_site: Span) -> Option<PathBuf> {
    match crate::base::resolve_path(sess, path, call_site) {
        Ok(resolved) => Some(resolved),
        Err(err) => {
            err.cancel();
            None
        }
    }
}

fn emit_opt_fingerprint(e: &mut MemEncoder, hash: Option<Fingerprint>) {
    match hash {
        Some(hash) => {
            e.emit_u8(1);
            e.emit_raw_bytes(&hash.to_le_bytes());
        }
        None => e.emit_u8(0),
    }
}

fn read_opt_fingerprint(
    d: &mut ExpandCacheDecoder<'_>,
) -> Result<Option<Fingerprint>, &'static str> {
    Ok(match d.read_u8() {
        0 => None,
        1 => {
            let bytes: [u8; 16] = d.read_raw_bytes(16).try_into().map_err(|_| "short hash")?;
            Some(Fingerprint::from_le_bytes(bytes))
        }
        _ => return Err("bad hash tag"),
    })
}

fn emit_bound(e: &mut MemEncoder, bound: Bound<usize>) {
    match bound {
        Bound::Included(n) => {
            e.emit_u8(0);
            e.emit_usize(n);
        }
        Bound::Excluded(n) => {
            e.emit_u8(1);
            e.emit_usize(n);
        }
        Bound::Unbounded => e.emit_u8(2),
    }
}

fn read_bound(d: &mut ExpandCacheDecoder<'_>) -> Result<Bound<usize>, &'static str> {
    Ok(match d.read_u8() {
        0 => Bound::Included(d.read_usize()),
        1 => Bound::Excluded(d.read_usize()),
        2 => Bound::Unbounded,
        _ => return Err("bad bound"),
    })
}

fn emit_opt_str(e: &mut MemEncoder, s: Option<&str>) {
    match s {
        Some(s) => {
            e.emit_u8(1);
            e.emit_str(s);
        }
        None => e.emit_u8(0),
    }
}

fn read_opt_str(d: &mut ExpandCacheDecoder<'_>) -> Result<Option<String>, &'static str> {
    Ok(match d.read_u8() {
        0 => None,
        1 => Some(d.read_str().to_owned()),
        _ => return Err("bad option tag"),
    })
}

/// Encodes the entry into `buf` (cleared first; a buffer reused from store to store, so that
/// encoding allocates nothing once it has grown).
/// `known_dir`: the directory of a `FileInputs` rule, which every included file must lie
/// under (and at least one must be included: the output then names what the macro read).
/// `unit_dir_name`: see `SessionEnv`.
fn encode_entry(
    buf: Vec<u8>,
    rec: &ExpandRecorder,
    output: &TokenStream,
    expand_nanos: u64,
    sess: &Session,
    call_site: Span,
    known_dir: Option<&Path>,
    unit_dir_name: Option<&str>,
    symbols: &mut FxHashMap<Symbol, u32>,
) -> Result<Vec<u8>, (&'static str, Vec<u8>)> {
    let mut included = Vec::new();
    if let Err(why) = check_output(output, &mut included) {
        return Err((why, buf));
    }
    if unit_dir_name.is_some_and(|name| replays_name(&rec.replays, name)) {
        return Err(("a tracked path or diagnostic names the build-script output directory", buf));
    }
    if known_dir.is_some() && included.is_empty() {
        return Err(("output names none of the files the macro reads", buf));
    }
    let mut include_checks = Vec::with_capacity(included.len());
    for path in included {
        let resolved = resolve_included(sess, &path, call_site);
        match known_dir {
            // The key already holds the hash of everything under the rule's directory.
            Some(dir) => {
                if !resolved
                    .as_deref()
                    .and_then(|file| std::fs::canonicalize(file).ok())
                    .is_some_and(|file| file.starts_with(dir))
                {
                    return Err(("output includes a file outside the macro's directory", buf));
                }
            }
            None => include_checks.push(Check::Include(path, resolved.and_then(hash_file))),
        }
    }
    let mut e = MemEncoder { data: buf };
    e.data.clear();
    e.emit_u32(ENTRY_MAGIC);
    e.emit_u64(expand_nanos);
    e.emit_usize(rec.exprs.len());
    for expr in &rec.exprs {
        match *expr {
            SpanExpr::CallSite => e.emit_u8(0),
            SpanExpr::DefSite => e.emit_u8(1),
            SpanExpr::MixedSite => e.emit_u8(2),
            SpanExpr::Input(i) => {
                e.emit_u8(3);
                e.emit_u32(i);
            }
            SpanExpr::Op { op, a, b, some } => {
                e.emit_u8(4);
                match op {
                    SpanOp::Start => e.emit_u8(0),
                    SpanOp::End => e.emit_u8(1),
                    SpanOp::Join => e.emit_u8(2),
                    SpanOp::Subspan(lo, hi) => {
                        e.emit_u8(3);
                        emit_bound(&mut e, lo);
                        emit_bound(&mut e, hi);
                    }
                    SpanOp::ResolvedAt => e.emit_u8(4),
                    SpanOp::Recovered(id) => {
                        e.emit_u8(5);
                        e.emit_usize(id);
                    }
                }
                e.emit_u32(a);
                e.emit_u32(b);
                e.emit_bool(some);
            }
        }
    }
    // The equality partition of the expressions' values: (expression, first equal one). The
    // sites and the input spans are distinct by construction; `span_ids` maps every value to
    // the first expression that had it, so only the span operations' values need a look.
    let mut equal = Vec::new();
    for (k, value) in rec.values.iter().enumerate() {
        if let (SpanExpr::Op { .. }, Some(span)) = (&rec.exprs[k], value)
            && let Some(&j) = rec.span_ids.get(span)
            && j != k as u32
        {
            equal.push((k as u32, j));
        }
    }
    e.emit_usize(equal.len());
    for (k, j) in equal {
        e.emit_u32(k);
        e.emit_u32(j);
    }
    e.emit_usize(rec.checks.len() + include_checks.len());
    for check in rec.checks.iter().chain(&include_checks) {
        match check {
            Check::Query(query, id, result) => {
                e.emit_u8(0);
                e.emit_u8(*query as u8);
                e.emit_u32(*id);
                emit_opt_str(&mut e, result.as_deref());
            }
            Check::InjectedEnv(var, value) => {
                e.emit_u8(1);
                e.emit_str(var);
                emit_opt_str(&mut e, value.as_deref());
            }
            Check::Env(var, value) => {
                e.emit_u8(2);
                e.emit_str(var);
                emit_opt_str(&mut e, value.as_deref());
            }
            Check::Path(path, hash) => {
                e.emit_u8(3);
                e.emit_str(path);
                emit_opt_fingerprint(&mut e, *hash);
            }
            Check::Include(path, hash) => {
                e.emit_u8(4);
                e.emit_str(path);
                emit_opt_fingerprint(&mut e, *hash);
            }
        }
    }
    e.emit_usize(rec.replays.len());
    for replay in &rec.replays {
        match replay {
            Replay::TsFromStr(src) => {
                e.emit_u8(0);
                e.emit_str(src);
            }
            Replay::LiteralFromStr(src) => {
                e.emit_u8(1);
                e.emit_str(src);
            }
            Replay::Ident(sym, id) => {
                e.emit_u8(2);
                e.emit_str(sym.as_str());
                e.emit_u32(*id);
            }
            Replay::TrackEnv(var, value) => {
                e.emit_u8(3);
                e.emit_str(var);
                emit_opt_str(&mut e, value.as_deref());
            }
            Replay::TrackPath(path) => {
                e.emit_u8(4);
                e.emit_str(path);
            }
            Replay::Diagnostic(diag) => {
                e.emit_u8(5);
                emit_diag_record(&mut e, diag);
            }
        }
    }
    let mut tokens = ExpandCacheEncoder {
        enc: e,
        span_ids: &rec.span_ids,
        last: None,
        symbols: std::mem::take(symbols),
        unit_dir_name,
        failed: None,
    };
    output.encode(&mut tokens);
    *symbols = tokens.symbols;
    symbols.clear();
    let (failed, mut e) = (tokens.failed, tokens.enc);
    if let Some(why) = failed {
        return Err((why, e.finish()));
    }
    e.emit_raw_bytes(MAGIC_END_BYTES);
    Ok(e.finish())
}

/// A decoded entry, ready to be replayed.
struct DecodedEntry {
    expand_nanos: u64,
    spans: Vec<Span>,
    replays: Vec<Replay>,
    output: TokenStream,
}

/// Why a stored entry cannot be used for this invocation.
enum Unusable {
    /// A precondition (span operation result, location query, environment, file) changed: the
    /// macro runs again and its new result replaces the entry.
    Stale(&'static str),
    /// The entry is malformed.
    Corrupt(&'static str),
}

fn decode_entry(
    value: &[u8],
    ecx: &ExtCtxt<'_>,
    krate: CrateNum,
    sites: &ExpnSites,
    input_spans: &[Span],
) -> Result<DecodedEntry, Unusable> {
    use Unusable::*;
    let dec = MemDecoder::new(value, 0).map_err(|()| Corrupt("missing end marker"))?;
    let mut d = ExpandCacheDecoder { dec, spans: Vec::new(), symbols: Vec::new() };
    if d.read_u32() != ENTRY_MAGIC {
        return Err(Corrupt("bad entry magic"));
    }
    let expand_nanos = d.read_u64();

    // Span expressions, evaluated in recorded order.
    let psess = ecx.psess();
    let n = d.read_usize();
    let mut values: Vec<Option<Span>> = Vec::with_capacity(n);
    let mut recovered: FxHashMap<usize, Span> = FxHashMap::default();
    for _ in 0..n {
        let value = match d.read_u8() {
            0 => Some(sites.call_site),
            1 => Some(sites.def_site),
            2 => Some(sites.mixed_site),
            3 => Some(
                *input_spans
                    .get(d.read_u32() as usize)
                    .ok_or(Corrupt("input index out of range"))?,
            ),
            4 => {
                let op = match d.read_u8() {
                    0 => SpanOp::Start,
                    1 => SpanOp::End,
                    2 => SpanOp::Join,
                    3 => SpanOp::Subspan(
                        read_bound(&mut d).map_err(Corrupt)?,
                        read_bound(&mut d).map_err(Corrupt)?,
                    ),
                    4 => SpanOp::ResolvedAt,
                    5 => SpanOp::Recovered(d.read_usize()),
                    _ => return Err(Corrupt("bad span operation")),
                };
                let a = d.read_u32() as usize;
                let b = d.read_u32() as usize;
                let some = d.read_bool();
                let arg = |i: usize| -> Result<Span, Unusable> {
                    values.get(i).copied().flatten().ok_or(Corrupt("bad span operand"))
                };
                let result = match op {
                    SpanOp::Start => Some(arg(a)?.shrink_to_lo()),
                    SpanOp::End => Some(arg(a)?.shrink_to_hi()),
                    SpanOp::Join => proc_macro_server::span_join(psess, arg(a)?, arg(b)?),
                    SpanOp::Subspan(lo, hi) => proc_macro_server::span_subspan(arg(a)?, lo, hi),
                    SpanOp::ResolvedAt => Some(arg(a)?.with_ctxt(arg(b)?.ctxt())),
                    SpanOp::Recovered(id) => Some(*recovered.entry(id).or_insert_with(|| {
                        proc_macro_server::recover_proc_macro_span(
                            &*ecx.resolver,
                            krate,
                            sites.def_site,
                            id,
                        )
                    })),
                };
                if result.is_some() != some {
                    return Err(Stale("span operation result changed"));
                }
                result
            }
            _ => return Err(Corrupt("bad span expression")),
        };
        values.push(value);
    }

    // Their equality partition must be the one the macro saw.
    let mut expected: FxHashMap<u32, u32> = FxHashMap::default();
    for _ in 0..d.read_usize() {
        let k = d.read_u32();
        let j = d.read_u32();
        expected.insert(k, j);
    }
    let mut first: FxHashMap<Span, u32> = FxHashMap::default();
    for (k, value) in values.iter().enumerate() {
        if let Some(span) = value {
            let k = k as u32;
            let j = *first.entry(*span).or_insert(k);
            if expected.get(&k).copied().unwrap_or(k) != j {
                return Err(Stale("span equality changed"));
            }
        }
    }

    // Facts observed by the macro.
    for _ in 0..d.read_usize() {
        match d.read_u8() {
            0 => {
                let query = match d.read_u8() {
                    0 => SpanQuery::File,
                    1 => SpanQuery::LocalFile,
                    2 => SpanQuery::ByteRange,
                    3 => SpanQuery::Line,
                    4 => SpanQuery::Column,
                    5 => SpanQuery::SourceText,
                    _ => return Err(Corrupt("bad query")),
                };
                let span = values
                    .get(d.read_u32() as usize)
                    .copied()
                    .flatten()
                    .ok_or(Corrupt("bad query operand"))?;
                let recorded = read_opt_str(&mut d).map_err(Corrupt)?;
                let now = match query {
                    SpanQuery::File => Some(proc_macro_server::span_file(psess, span)),
                    SpanQuery::LocalFile => proc_macro_server::span_local_file(psess, span),
                    SpanQuery::ByteRange => {
                        let r = proc_macro_server::span_byte_range(psess, span);
                        Some(format!("{}..{}", r.start, r.end))
                    }
                    SpanQuery::Line => Some(proc_macro_server::span_line(psess, span).to_string()),
                    SpanQuery::Column => {
                        Some(proc_macro_server::span_column(psess, span).to_string())
                    }
                    SpanQuery::SourceText => proc_macro_server::span_source_text(psess, span),
                };
                if now != recorded {
                    return Err(Stale("location query result changed"));
                }
            }
            1 => {
                let var = d.read_str().to_owned();
                let recorded = read_opt_str(&mut d).map_err(Corrupt)?;
                if ecx.sess.opts.logical_env.get(&var) != recorded.as_ref() {
                    return Err(Stale("injected environment changed"));
                }
            }
            2 => {
                let var = d.read_str().to_owned();
                let recorded = read_opt_str(&mut d).map_err(Corrupt)?;
                let now =
                    ecx.sess.opts.logical_env.get(&var).cloned().or_else(|| env::var(&var).ok());
                if now != recorded {
                    return Err(Stale("tracked environment variable changed"));
                }
            }
            3 => {
                let path = d.read_str().to_owned();
                let recorded = read_opt_fingerprint(&mut d).map_err(Corrupt)?;
                if hash_file(&path) != recorded {
                    return Err(Stale("tracked file changed"));
                }
            }
            4 => {
                let path = d.read_str().to_owned();
                let recorded = read_opt_fingerprint(&mut d).map_err(Corrupt)?;
                if resolve_included(ecx.sess, &path, sites.call_site).and_then(hash_file)
                    != recorded
                {
                    return Err(Stale("included file changed"));
                }
            }
            _ => return Err(Corrupt("bad check")),
        }
    }

    let n = d.read_usize();
    let mut replays = Vec::with_capacity(n);
    for _ in 0..n {
        replays.push(match d.read_u8() {
            0 => Replay::TsFromStr(d.read_str().to_owned()),
            1 => Replay::LiteralFromStr(d.read_str().to_owned()),
            2 => {
                let sym = Symbol::intern(d.read_str());
                let id = d.read_u32();
                if values.get(id as usize).copied().flatten().is_none() {
                    return Err(Corrupt("span index out of range"));
                }
                Replay::Ident(sym, id)
            }
            3 => {
                let var = d.read_str().to_owned();
                Replay::TrackEnv(var, read_opt_str(&mut d).map_err(Corrupt)?)
            }
            4 => Replay::TrackPath(d.read_str().to_owned()),
            5 => Replay::Diagnostic(read_diag_record(&mut d, values.len(), 0).map_err(Corrupt)?),
            _ => return Err(Corrupt("bad replay tag")),
        });
    }
    // Spans of expressions without a value are never referenced by the output.
    d.spans = values.iter().map(|v| v.unwrap_or(sites.call_site)).collect();
    let output = TokenStream::decode(&mut d);
    if d.dec.remaining() != 0 {
        return Err(Corrupt("trailing bytes"));
    }
    Ok(DecodedEntry { expand_nanos, spans: d.spans, replays, output })
}

fn apply_replays(ecx: &ExtCtxt<'_>, call_site: Span, entry: &DecodedEntry) {
    let psess = ecx.psess();
    for replay in &entry.replays {
        match replay {
            Replay::TsFromStr(src) => {
                let _ = proc_macro_server::ts_from_str(psess, call_site, src);
            }
            Replay::LiteralFromStr(src) => {
                let _ = proc_macro_server::literal_from_str(psess, call_site, src);
            }
            Replay::Ident(sym, id) => psess.symbol_gallery.insert(*sym, entry.spans[*id as usize]),
            Replay::TrackEnv(var, value) => {
                psess
                    .env_depinfo
                    .borrow_mut()
                    .insert((Symbol::intern(var), value.as_deref().map(Symbol::intern)));
            }
            Replay::TrackPath(path) => {
                psess.file_depinfo.borrow_mut().insert(Symbol::intern(path));
            }
            Replay::Diagnostic(diag) => {
                proc_macro_server::emit_diagnostic(psess, diag_from_record(diag, &entry.spans));
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Detection of output to stdout/stderr.
// ------------------------------------------------------------------------------------------

#[cfg(unix)]
unsafe extern "C" {
    fn dup2(src: c_int, dst: c_int) -> c_int;
}

/// Two unlinked temporary files onto which fds 1 and 2 are redirected while a proc macro runs,
/// so that a macro printing anything is detected (and not cached). What was captured is then
/// written to the real stdout/stderr. Made once per session, with the duplicates of the real
/// fds 1 and 2 that restore them: a run that prints nothing costs six system calls.
struct OutputCapture {
    files: [File; 2],
    /// Duplicates of the real fds 1 and 2, close-on-exec: a process a macro starts (and that
    /// may outlive it) must not hold the compiler's real stdout, which cargo reads to the end.
    #[cfg(unix)]
    saved: [std::os::fd::OwnedFd; 2],
}

impl OutputCapture {
    #[cfg(unix)]
    fn new(dir: &Path) -> Option<OutputCapture> {
        let mk = |i: u32| -> Option<File> {
            let tmp = env::temp_dir();
            for base in [dir, tmp.as_path()] {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let path = base.join(format!(
                    ".rustc-expand-cache-capture-{}-{i}-{nanos}",
                    std::process::id(),
                ));
                if let Ok(f) = File::options().read(true).write(true).create_new(true).open(&path) {
                    let _ = std::fs::remove_file(&path);
                    return Some(f);
                }
            }
            None
        };
        // SAFETY: only duplicated, while fds 1 and 2 stay open.
        let dup = |fd| unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }.try_clone_to_owned().ok();
        Some(OutputCapture { files: [mk(1)?, mk(2)?], saved: [dup(1)?, dup(2)?] })
    }

    #[cfg(not(unix))]
    fn new(_dir: &Path) -> Option<OutputCapture> {
        None
    }

    /// The length of what fd 2 holds, while a capture redirects it (0 if unknown).
    #[cfg(unix)]
    fn stderr_len() -> u64 {
        use std::os::fd::FromRawFd;
        // SAFETY: fd 2 stays open; `ManuallyDrop` keeps it from being closed here.
        let fd2 = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(2) });
        fd2.metadata().map_or(0, |m| m.len())
    }

    #[cfg(not(unix))]
    fn stderr_len() -> u64 {
        0
    }

    /// Runs `f` with fds 1 and 2 redirected; returns whether anything was written, after
    /// writing what went to stdout on to it, and what went to stderr (for the caller to write
    /// out between the macro's deferred diagnostics).
    #[cfg(unix)]
    fn run<R>(&mut self, f: impl FnOnce() -> R) -> (R, bool, Vec<u8>) {
        use std::os::fd::{AsRawFd, OwnedFd};

        struct Restore<'a>(&'a [OwnedFd; 2]);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                unsafe {
                    dup2(self.0[0].as_raw_fd(), 1);
                    dup2(self.0[1].as_raw_fd(), 2);
                }
            }
        }

        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        let guard = Restore(&self.saved);
        unsafe {
            dup2(self.files[0].as_raw_fd(), 1);
            dup2(self.files[1].as_raw_fd(), 2);
        }
        let r = f();
        drop(guard);

        let mut printed = false;
        let mut stderr = Vec::new();
        for (i, file) in self.files.iter_mut().enumerate() {
            // The size, not the offset: output through another open file description of the
            // fd (`/proc/self/fd/1`) does not move ours. Unknown counts as printed.
            if file.metadata().is_ok_and(|m| m.len() == 0) {
                continue;
            }
            printed = true;
            let mut captured = Vec::new();
            if file.seek(SeekFrom::Start(0)).is_ok() {
                let _ = file.read_to_end(&mut captured);
            }
            let _ = file.set_len(0);
            let _ = file.seek(SeekFrom::Start(0));
            if i == 0 {
                let mut out = std::io::stdout();
                let _ = out.write_all(&captured);
                let _ = out.flush();
            } else {
                stderr = captured;
            }
        }
        (r, printed, stderr)
    }

    #[cfg(not(unix))]
    fn run<R>(&mut self, f: impl FnOnce() -> R) -> (R, bool, Vec<u8>) {
        (f(), true, Vec::new())
    }
}

// ------------------------------------------------------------------------------------------
// The hook.
// ------------------------------------------------------------------------------------------

/// Runs a proc-macro client, going through the expansion cache when it is enabled. All three
/// kinds of proc macros come here, including derives expanded through the
/// `derive_macro_expansion` query.
pub(crate) fn run_client_cached(
    ecx: &mut ExtCtxt<'_>,
    span: Span,
    call: ClientCall,
) -> Result<TokenStream, PanicMessage> {
    // Computed exactly as in an uncached run, even on a hit, so that the hygiene tables are
    // built in the same order.
    let sites = ExpnSites::new(ecx);
    match ecx.ecfg.expand_cache.take() {
        None => run_uncached(ecx, span, &call, sites),
        Some(mut cache) => {
            let res = expand_with_cache(&mut cache, ecx, span, &call, sites);
            ecx.ecfg.expand_cache = Some(cache);
            res
        }
    }
}

fn timed_run(
    ecx: &mut ExtCtxt<'_>,
    span: Span,
    call: &ClientCall,
    sites: ExpnSites,
    recorder: Option<&mut ExpandRecorder>,
) -> Result<TokenStream, PanicMessage> {
    let sess = ecx.sess;
    let _timer = sess.prof.generic_activity_with_arg_recorder("expand_proc_macro", |recorder| {
        recorder.record_arg_with_span(sess.source_map(), ecx.expansion_descr(), span);
    });
    call.run(ecx, sites, recorder)
}

fn run_uncached(
    ecx: &mut ExtCtxt<'_>,
    span: Span,
    call: &ClientCall,
    sites: ExpnSites,
) -> Result<TokenStream, PanicMessage> {
    timed_run(ecx, span, call, sites, None)
}

fn expand_with_cache(
    cache: &mut ExpandCache,
    ecx: &mut ExtCtxt<'_>,
    span: Span,
    call: &ClientCall,
    sites: ExpnSites,
) -> Result<TokenStream, PanicMessage> {
    cache.invocations += 1;
    let lookup_start = Instant::now();
    let expn_data = ecx.current_expansion.id.expn_data();
    let kind = call.kind();
    let Some(macro_def_id) = expn_data.macro_def_id else {
        cache.stats.uncacheable += 1;
        return run_uncached(ecx, span, call, sites);
    };
    // The name of the macro as defined, not the path it was invoked with (`ExpnKind` holds
    // the path as written, e.g. `serde::Serialize` or a renamed import).
    let macro_name = ty::tls::with_opt(|tcx| tcx.and_then(|tcx| tcx.opt_item_name(macro_def_id)))
        .unwrap_or_else(|| match expn_data.kind {
            ExpnKind::Macro(_, name) => match name.as_str().rsplit_once("::") {
                Some((_, last)) => Symbol::intern(last),
                None => name,
            },
            _ => sym::proc_macro,
        });
    let macro_crate = cache.macro_crate(ecx.sess, macro_def_id.krate);

    let prepared = {
        let _timer = ecx.sess.prof.generic_activity("expand_proc_macro_cache_lookup");
        (|| {
            let Some(crate_fingerprint) = macro_crate.fingerprint else {
                return Err("not a cacheable proc-macro crate");
            };
            if cache.is_denied(macro_crate.name, macro_name) {
                return Err("denied");
            }
            if cache.is_denied_by_verify(ecx.sess, macro_crate.name, macro_name) {
                return Err("denied by verify mode");
            }
            let inputs = call.inputs();
            let rule = BUILTIN_FILE_INPUTS.iter().find(|r| r.krate == macro_crate.name.as_str());
            let (crate_fingerprint, known) = match rule {
                None => (crate_fingerprint, None),
                Some(rule) => {
                    if inputs.iter().any(|input| mentions_key(input, rule.config_keys)) {
                        return Err("input names a configuration file");
                    }
                    let known = cache.file_inputs(rule)?;
                    (crate_fingerprint.combine(known.fingerprint), Some(known.dir))
                }
            };
            let env_fingerprint = cache.env().fingerprint;
            let mut buffers = std::mem::take(&mut cache.buffers);
            let ikey = compute_key(
                cache,
                ecx,
                crate_fingerprint,
                env_fingerprint,
                kind,
                macro_name,
                &inputs,
                &sites,
                &mut buffers,
            );
            cache.buffers = buffers;
            Ok((ikey?, known))
        })()
    };
    let (mut ikey, known_dir) = match prepared {
        Ok(prepared) => prepared,
        Err(why) => {
            debug!(
                krate = %macro_crate.name, %macro_name, ?kind, why,
                "proc-macro cache: uncacheable input"
            );
            cache.stats.uncacheable += 1;
            cache.stats.lookup_nanos += lookup_start.elapsed().as_nanos() as u64;
            return run_uncached(ecx, span, call, sites);
        }
    };
    let key_bytes = ikey.key.to_le_bytes();

    // Lookup.
    let mut verifying = None;
    let looked_up = {
        let _timer = ecx.sess.prof.generic_activity("expand_proc_macro_cache_lookup");
        match cache.store(ecx.sess) {
            None => None,
            Some(store) => match store.get(&key_bytes) {
                Ok(v) => Some(v),
                Err(reason) => {
                    debug!(%reason, "proc-macro cache: lookup failed");
                    Some(None)
                }
            },
        }
    };
    let Some(found) = looked_up else {
        // The store could not be opened: uncached build.
        cache.stats.misses += 1;
        return run_uncached(ecx, span, call, sites);
    };

    if let Some(value) = found {
        let _timer = ecx.sess.prof.generic_activity("expand_proc_macro_cache_hit");
        let krate = macro_def_id.krate;
        let decoded = panic::catch_unwind(AssertUnwindSafe(|| {
            decode_entry(&value, ecx, krate, &sites, &ikey.input_spans)
        }))
        .unwrap_or(Err(Unusable::Corrupt("panic while decoding")));
        match decoded {
            Ok(entry) if cache.verify_sample(&ikey.key) => {
                verifying = Some(entry.output.clone());
            }
            Ok(entry) => {
                apply_replays(ecx, sites.call_site, &entry);
                cache.stats.hits += 1;
                cache.stats.saved_nanos += entry.expand_nanos;
                cache.stats.lookup_nanos += lookup_start.elapsed().as_nanos() as u64;
                debug!(krate = %macro_crate.name, %macro_name, ?kind, "proc-macro cache: hit");
                cache.buffers.recycle(ikey, None);
                return Ok(entry.output);
            }
            Err(Unusable::Stale(why)) => {
                debug!(
                    krate = %macro_crate.name, %macro_name, why,
                    "proc-macro cache: stale entry"
                );
            }
            Err(Unusable::Corrupt(why)) => {
                debug!(krate = %macro_crate.name, %macro_name, why, "proc-macro cache: bad entry");
            }
        }
    }
    cache.stats.lookup_nanos += lookup_start.elapsed().as_nanos() as u64;

    // Miss (or verification): run the macro with a recording server.
    cache.stats.misses += 1;
    let mut rec = ExpandRecorder::new(&sites, &mut ikey, &mut cache.buffers);
    let err_count = ecx.dcx().err_count();
    if cache.capture.is_none() {
        cache.capture = OutputCapture::new(&cache.config.dir);
    }
    let start = Instant::now();
    let (res, printed, stderr) = match cache.capture.as_mut() {
        Some(capture) => capture.run(|| timed_run(ecx, span, call, sites, Some(&mut rec))),
        None => (timed_run(ecx, span, call, sites, Some(&mut rec)), true, Vec::new()),
    };
    let expand_nanos = start.elapsed().as_nanos() as u64;
    // The macro's diagnostics and the captured stderr, in the order they were written.
    let mut written = 0;
    for (diag, at) in std::mem::take(&mut rec.deferred) {
        let at = (at as usize).clamp(written, stderr.len());
        let _ = std::io::stderr().write_all(&stderr[written..at]);
        written = at;
        proc_macro_server::emit_diagnostic(ecx.psess(), diag);
    }
    let _ = std::io::stderr().write_all(&stderr[written..]);

    let Ok(output) = &res else {
        cache.stats.uncacheable += 1;
        return res;
    };
    if printed {
        rec.taint("printed to stdout/stderr");
    }
    if ecx.dcx().err_count() > err_count {
        rec.taint("errors emitted");
    }

    if let Some(cached) = verifying {
        // Verification: the real output is used; a difference denies the macro from now on.
        let same = rec.tainted.is_none() && cached == *output;
        if !same {
            cache.deny_by_verify(ecx.sess, macro_crate.name, macro_name, kind);
            ecx.sess.dcx().warn(format!(
                "proc-macro expansion cache: `{}::{macro_name}` produced an output different \
                 from the cached one; it is not cached from now on (`rustc-expand-cache clear` \
                 forgets this; RUSTC_EXPAND_CACHE_DENY denies it everywhere)",
                macro_crate.name
            ));
        }
        debug!(krate = %macro_crate.name, %macro_name, same, "proc-macro cache: verified");
        return res;
    }

    if let Some(why) = rec.tainted {
        debug!(
            krate = %macro_crate.name, %macro_name, ?kind, why,
            "proc-macro cache: uncacheable run"
        );
        cache.stats.uncacheable += 1;
        return res;
    }
    if cache.config.read_only {
        return res;
    }

    let _timer = ecx.sess.prof.generic_activity("expand_proc_macro_cache_store");
    let buf = std::mem::take(&mut cache.scratch);
    match encode_entry(
        buf,
        &rec,
        output,
        expand_nanos,
        ecx.sess,
        sites.call_site,
        known_dir.as_deref(),
        cache.env.as_ref().and_then(|env| env.unit_dir_name.as_deref()),
        &mut cache.buffers.symbols,
    ) {
        Ok(value) => {
            let crate_name = macro_crate.name.as_str();
            let name = macro_name.as_str();
            let meta = RecEntryMeta {
                macro_crate: RecSlice::new(crate_name.as_bytes()),
                macro_name: RecSlice::new(name.as_bytes()),
                kind: kind as u8,
                expand_nanos,
            };
            let put = cache.store(ecx.sess).map(|store| store.put(&key_bytes, &value, &meta));
            match put {
                Some(Ok(())) => {
                    cache.stats.stored += 1;
                    debug!(
                        krate = %macro_crate.name, %macro_name, ?kind, len = value.len(),
                        "proc-macro cache: stored"
                    );
                }
                Some(Err(reason)) => debug!(%reason, "proc-macro cache: put failed"),
                None => {}
            }
            cache.scratch = value;
        }
        Err((why, buf)) => {
            debug!(
                krate = %macro_crate.name, %macro_name, ?kind, why,
                "proc-macro cache: unencodable output"
            );
            cache.stats.uncacheable += 1;
            cache.scratch = buf;
        }
    }
    // (The rarer returns above let their collections go: the next expansion allocates anew.)
    cache.buffers.recycle(ikey, Some(rec));
    res
}
