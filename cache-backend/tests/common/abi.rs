//! The C ABI as rustc sees it: the function table declared independently of the crate
//! (mirroring include/rustc_expand_cache.h), loaded from the built cdylib.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

#[repr(C)]
pub struct RecStore {
    _p: [u8; 0],
}
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RecSlice {
    pub ptr: *const u8,
    pub len: usize,
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
#[derive(Default)]
pub struct RecSessionStats {
    pub hits: u64,
    pub misses: u64,
    pub stored: u64,
    pub uncacheable: u64,
    pub lookup_nanos: u64,
    pub saved_nanos: u64,
}
#[repr(C)]
pub struct ExpandCacheApiV1 {
    pub abi_version: u32,
    pub struct_size: u32,
    pub open: unsafe extern "C" fn(RecSlice, RecSlice, u32, *mut *mut RecStore) -> i32,
    pub get: unsafe extern "C" fn(*mut RecStore, RecSlice, *mut RecBuf) -> i32,
    pub free_buf: unsafe extern "C" fn(RecBuf),
    pub put: unsafe extern "C" fn(*mut RecStore, RecSlice, RecSlice, *const RecEntryMeta) -> i32,
    pub commit: unsafe extern "C" fn(*mut RecStore) -> i32,
    pub record_stats: unsafe extern "C" fn(*mut RecStore, *const RecSessionStats) -> i32,
    pub last_error: unsafe extern "C" fn(*const RecStore, *mut u8, usize) -> usize,
    pub close: unsafe extern "C" fn(*mut RecStore),
}

pub fn sl(b: &[u8]) -> RecSlice {
    RecSlice { ptr: b.as_ptr(), len: b.len() }
}

/// Finds the cdylib built next to this test executable.
pub fn cdylib_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    for d in [deps, deps.parent().unwrap()] {
        let p = d.join("librustc_expand_cache.so");
        if p.exists() {
            return p;
        }
    }
    panic!("librustc_expand_cache.so not found near {}", exe.display());
}

/// The loaded library and its table.
pub struct Api {
    _lib: libloading::Library,
    pub t: &'static ExpandCacheApiV1,
}

impl Api {
    pub fn load() -> Api {
        unsafe {
            let lib = libloading::Library::new(cdylib_path()).expect("dlopen backend");
            let entry: libloading::Symbol<unsafe extern "C" fn() -> *const ExpandCacheApiV1> = lib.get(b"rustc_expand_cache_v1\0").expect("entry point");
            let t = &*entry();
            Api { _lib: lib, t }
        }
    }

    pub fn open(&self, dir: &Path, ns: &str, flags: u32) -> Result<*mut RecStore, (i32, String)> {
        let d = dir.as_os_str().as_encoded_bytes();
        let mut out: *mut RecStore = std::ptr::null_mut();
        let rc = unsafe { (self.t.open)(sl(d), sl(ns.as_bytes()), flags, &mut out) };
        if rc == 0 {
            assert!(!out.is_null());
            Ok(out)
        } else {
            assert!(out.is_null());
            Err((rc, self.error(std::ptr::null())))
        }
    }

    pub fn error(&self, s: *const RecStore) -> String {
        unsafe {
            let n = (self.t.last_error)(s, std::ptr::null_mut(), 0);
            let mut buf = vec![0u8; n];
            let m = (self.t.last_error)(s, buf.as_mut_ptr(), buf.len());
            assert_eq!(m, n);
            String::from_utf8(buf).unwrap()
        }
    }

    /// Ok(Some) hit, Ok(None) miss, Err(code) error.
    pub fn get(&self, s: *mut RecStore, key: &[u8]) -> Result<Option<Vec<u8>>, i32> {
        unsafe {
            let mut buf = RecBuf { ptr: std::ptr::null_mut(), len: 0, cap: 0 };
            match (self.t.get)(s, sl(key), &mut buf) {
                1 => {
                    let v = std::slice::from_raw_parts(buf.ptr, buf.len).to_vec();
                    (self.t.free_buf)(buf);
                    Ok(Some(v))
                }
                0 => {
                    assert!(buf.ptr.is_null() && buf.len == 0);
                    Ok(None)
                }
                e => Err(e),
            }
        }
    }

    pub fn put(&self, s: *mut RecStore, key: &[u8], value: &[u8], name: &str, nanos: u64) -> i32 {
        let m = RecEntryMeta { macro_crate: sl(b"serde_derive"), macro_name: sl(name.as_bytes()), kind: 2, expand_nanos: nanos };
        unsafe { (self.t.put)(s, sl(key), sl(value), &m) }
    }

    pub fn commit(&self, s: *mut RecStore) -> i32 {
        unsafe { (self.t.commit)(s) }
    }

    pub fn close(&self, s: *mut RecStore) {
        unsafe { (self.t.close)(s) }
    }
}
