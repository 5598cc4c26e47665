//! The versioned C ABI (see `ABI.md` and `include/rustc_expand_cache.h`).
//!
//! Every entry point catches panics and turns them into [`E_PANIC`]; nothing unwinds
//! into the compiler.

use std::cell::RefCell;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::env::OpenOptions;
use crate::error::*;
use crate::format::{MacroKind, SessionCounters};
use crate::store::{PutMeta, Store};

/// A borrowed byte slice.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RecSlice {
    /// Start (may be null when `len` is 0).
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

/// A byte buffer owned by the backend; release it with `free_buf`.
#[repr(C)]
#[derive(Debug)]
pub struct RecBuf {
    /// Start.
    pub ptr: *mut u8,
    /// Length in bytes.
    pub len: usize,
    /// Allocated capacity.
    pub cap: usize,
}

/// Metadata of a `put`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RecEntryMeta {
    /// e.g. `serde_derive`.
    pub macro_crate: RecSlice,
    /// e.g. `Serialize`.
    pub macro_name: RecSlice,
    /// 0 = bang, 1 = attribute, 2 = derive.
    pub kind: u8,
    /// How long the real expansion took.
    pub expand_nanos: u64,
}

/// One compiler session's counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RecSessionStats {
    /// Hits.
    pub hits: u64,
    /// Misses.
    pub misses: u64,
    /// Entries stored.
    pub stored: u64,
    /// Expansions that could not be cached.
    pub uncacheable: u64,
    /// Time spent in lookups, decode and replay.
    pub lookup_nanos: u64,
    /// Sum of `expand_nanos` of the entries hit.
    pub saved_nanos: u64,
}

/// An open store handle (opaque to C).
pub struct RecStore {
    store: Store,
    last_error: String,
}

/// The function table of ABI version 1.
#[repr(C)]
pub struct ExpandCacheApiV1 {
    /// Always 1.
    pub abi_version: u32,
    /// `size_of::<ExpandCacheApiV1>()`; later versions only append.
    pub struct_size: u32,
    /// Opens `dir` for the namespace `namespace_`; flags: 1 = read-only.
    pub open: unsafe extern "C" fn(RecSlice, RecSlice, u32, *mut *mut RecStore) -> i32,
    /// 1 hit (and `*out` filled), 0 miss, <0 error.
    pub get: unsafe extern "C" fn(*mut RecStore, RecSlice, *mut RecBuf) -> i32,
    /// Frees a buffer returned by `get`.
    pub free_buf: unsafe extern "C" fn(RecBuf),
    /// Buffers an entry.
    pub put: unsafe extern "C" fn(*mut RecStore, RecSlice, RecSlice, *const RecEntryMeta) -> i32,
    /// Writes everything buffered in one transaction.
    pub commit: unsafe extern "C" fn(*mut RecStore) -> i32,
    /// Buffers the session's counters (written by `commit`).
    pub record_stats: unsafe extern "C" fn(*mut RecStore, *const RecSessionStats) -> i32,
    /// Copies the last error message; returns its full length.
    pub last_error: unsafe extern "C" fn(*const RecStore, *mut u8, usize) -> usize,
    /// Closes the handle, dropping uncommitted puts.
    pub close: unsafe extern "C" fn(*mut RecStore),
}

/// Read-only open flag.
pub const FLAG_READ_ONLY: u32 = 1;

static API: ExpandCacheApiV1 = ExpandCacheApiV1 {
    abi_version: 1,
    struct_size: std::mem::size_of::<ExpandCacheApiV1>() as u32,
    open: rec_open,
    get: rec_get,
    free_buf: rec_free_buf,
    put: rec_put,
    commit: rec_commit,
    record_stats: rec_record_stats,
    last_error: rec_last_error,
    close: rec_close,
};

/// The single exported entry point: returns the version 1 function table.
#[no_mangle]
pub extern "C" fn rustc_expand_cache_v1() -> *const ExpandCacheApiV1 {
    &API
}

thread_local! {
    static OPEN_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_open_error(msg: String) {
    OPEN_ERROR.with(|e| *e.borrow_mut() = msg);
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panic in the expansion cache backend: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panic in the expansion cache backend: {s}")
    } else {
        "panic in the expansion cache backend".into()
    }
}

/// # Safety
/// `s.ptr` must point to `s.len` readable bytes (or be anything when `len` is 0).
unsafe fn slice<'a>(s: RecSlice) -> Result<&'a [u8]> {
    if s.len == 0 {
        Ok(&[])
    } else if s.ptr.is_null() {
        Err(Error::BadArgument("null pointer with a non-zero length".into()))
    } else {
        Ok(std::slice::from_raw_parts(s.ptr, s.len))
    }
}

/// Runs `f` on a handle, recording its error message and catching panics.
unsafe fn with_store(s: *mut RecStore, f: impl FnOnce(&mut Store) -> Result<i32>) -> i32 {
    let Some(h) = s.as_mut() else { return E_BAD_ARG };
    match catch_unwind(AssertUnwindSafe(|| f(&mut h.store))) {
        Ok(Ok(c)) => {
            h.last_error.clear();
            c
        }
        Ok(Err(e)) => {
            h.last_error = e.to_string();
            e.code()
        }
        Err(p) => {
            h.last_error = panic_message(&*p);
            E_PANIC
        }
    }
}

unsafe extern "C" fn rec_open(dir: RecSlice, namespace: RecSlice, flags: u32, out: *mut *mut RecStore) -> i32 {
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<Box<RecStore>> {
        crate::init_logging()?;
        #[cfg(debug_assertions)]
        if std::env::var_os("RUSTC_EXPAND_CACHE_TEST_PANIC").is_some() {
            panic!("test panic requested by RUSTC_EXPAND_CACHE_TEST_PANIC");
        }
        if out.is_null() {
            return Err(Error::BadArgument("null output pointer".into()));
        }
        if flags & !FLAG_READ_ONLY != 0 {
            return Err(Error::BadArgument(format!("unknown open flags {flags:#x}")));
        }
        let dir = Path::new(OsStr::from_bytes(slice(dir)?));
        let ns = std::str::from_utf8(slice(namespace)?).map_err(|_| Error::BadArgument("namespace is not UTF-8".into()))?;
        let opts = OpenOptions { read_only: flags & FLAG_READ_ONLY != 0, ..Default::default() };
        let store = Store::open(dir, ns, &opts)?;
        Ok(Box::new(RecStore { store, last_error: String::new() }))
    }));
    match r {
        Ok(Ok(b)) => {
            *out = Box::into_raw(b);
            set_open_error(String::new());
            OK
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "open failed");
            set_open_error(e.to_string());
            if !out.is_null() {
                *out = std::ptr::null_mut();
            }
            e.code()
        }
        Err(p) => {
            set_open_error(panic_message(&*p));
            if !out.is_null() {
                *out = std::ptr::null_mut();
            }
            E_PANIC
        }
    }
}

unsafe extern "C" fn rec_get(s: *mut RecStore, key: RecSlice, out: *mut RecBuf) -> i32 {
    with_store(s, |st| {
        if out.is_null() {
            return Err(Error::BadArgument("null output buffer".into()));
        }
        *out = RecBuf { ptr: std::ptr::null_mut(), len: 0, cap: 0 };
        match st.get(slice(key)?)? {
            Some(v) => {
                let mut v = std::mem::ManuallyDrop::new(v);
                *out = RecBuf { ptr: v.as_mut_ptr(), len: v.len(), cap: v.capacity() };
                Ok(HIT)
            }
            None => Ok(OK),
        }
    })
}

unsafe extern "C" fn rec_free_buf(buf: RecBuf) {
    let _ = catch_unwind(|| {
        if !buf.ptr.is_null() && buf.cap != 0 {
            // SAFETY: the buffer came from `rec_get`, which leaked a Vec with these parts.
            drop(Vec::from_raw_parts(buf.ptr, buf.len, buf.cap));
        }
    });
}

unsafe extern "C" fn rec_put(s: *mut RecStore, key: RecSlice, value: RecSlice, meta: *const RecEntryMeta) -> i32 {
    with_store(s, |st| {
        let m = meta.as_ref().ok_or_else(|| Error::BadArgument("null metadata".into()))?;
        let kind = MacroKind::from_u8(m.kind).ok_or_else(|| Error::BadArgument(format!("unknown macro kind {}", m.kind)))?;
        let pm = PutMeta {
            macro_crate: String::from_utf8_lossy(slice(m.macro_crate)?).into_owned(),
            macro_name: String::from_utf8_lossy(slice(m.macro_name)?).into_owned(),
            kind,
            expand_nanos: m.expand_nanos,
        };
        st.put(slice(key)?, slice(value)?, pm)?;
        Ok(OK)
    })
}

unsafe extern "C" fn rec_commit(s: *mut RecStore) -> i32 {
    with_store(s, |st| st.commit().map(|()| OK))
}

unsafe extern "C" fn rec_record_stats(s: *mut RecStore, stats: *const RecSessionStats) -> i32 {
    with_store(s, |st| {
        let x = stats.as_ref().ok_or_else(|| Error::BadArgument("null stats".into()))?;
        st.record_stats(SessionCounters {
            sessions: 1,
            hits: x.hits,
            misses: x.misses,
            stored: x.stored,
            uncacheable: x.uncacheable,
            lookup_nanos: x.lookup_nanos,
            saved_nanos: x.saved_nanos,
        });
        Ok(OK)
    })
}

unsafe extern "C" fn rec_last_error(s: *const RecStore, buf: *mut u8, cap: usize) -> usize {
    catch_unwind(AssertUnwindSafe(|| {
        let copy = |msg: &str| {
            let b = msg.as_bytes();
            if !buf.is_null() && cap > 0 {
                let n = b.len().min(cap);
                // SAFETY: the caller provides `cap` writable bytes at `buf`.
                std::ptr::copy_nonoverlapping(b.as_ptr(), buf, n);
            }
            b.len()
        };
        match s.as_ref() {
            Some(h) => copy(&h.last_error),
            None => OPEN_ERROR.with(|e| copy(&e.borrow())),
        }
    }))
    .unwrap_or(0)
}

unsafe extern "C" fn rec_close(s: *mut RecStore) {
    if s.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the handle came from `rec_open` and is not used again.
        let mut h = Box::from_raw(s);
        h.store.discard();
        drop(h);
    }));
}
