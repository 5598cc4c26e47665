//! Configuration of the proc-macro expansion cache (`rustc_expand::proc_macro_cache`) from the
//! environment, and loading of its backend library.
//!
//! The configuration comes from environment variables rather than `-Z` options, so that the
//! cache needs no change to `rustc_session`:
//!
//! - `RUSTC_EXPAND_CACHE`: `on` (default), `off` or `read-only` (also `1`/`0`, `true`/`false`);
//! - `RUSTC_EXPAND_CACHE_DIR`: the store directory, by default `<cargo target dir>/expand-cache`,
//!   the target directory being the nearest ancestor of the output directory holding a
//!   `CACHEDIR.TAG`;
//! - `RUSTC_EXPAND_CACHE_BACKEND`: the backend library, by default
//!   `<sysroot>/lib/rustlib/<host>/lib/librustc_expand_cache.so`;
//! - `RUSTC_EXPAND_CACHE_DENY`: `crate` or `crate::macro` entries never cached;
//! - `RUSTC_EXPAND_CACHE_VERIFY`: fraction of hits re-run and compared;
//! - `RUSTC_EXPAND_CACHE_ENV`: extra environment variables in the key;
//! - `RUSTC_EXPAND_CACHE_REPORT`: a file to which each session appends its counters.
//!
//! A bad value costs one warning naming the variable and an uncached build.

use std::env;
use std::path::{Path, PathBuf};

use rustc_expand::proc_macro_cache::{
    ExpandCache, ExpandCacheApiV1, ExpandCacheConfig, ExpandCacheEntryFn,
};
use rustc_metadata::{DylibError, load_symbol_from_dylib};
use rustc_session::Session;
use rustc_session::config::{OutFileName, host_tuple};
use tracing::debug;

use crate::util::EXPAND_CACHE_IDENTITY;

const ENTRY_SYMBOL: &str = "rustc_expand_cache_v1";

fn var(name: &str) -> Option<String> {
    match env::var(name) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => None,
    }
}

fn warn_bad_value(sess: &Session, name: &str, value: &str, expected: &str) {
    sess.dcx().warn(format!(
        "proc-macro expansion cache disabled: invalid value `{value}` for `{name}` \
         (expected {expected})"
    ));
}

/// Finds the cargo target directory: the nearest ancestor of the output directory which holds
/// a `CACHEDIR.TAG`.
fn target_dir(sess: &Session) -> Option<PathBuf> {
    let out_dir = match (&sess.io.output_dir, &sess.io.output_file) {
        (Some(dir), _) => dir.clone(),
        (None, Some(OutFileName::Real(file))) => file.parent()?.to_path_buf(),
        _ => return None,
    };
    let out_dir = std::path::absolute(&out_dir).ok()?;
    out_dir.ancestors().find(|dir| dir.join("CACHEDIR.TAG").is_file()).map(Path::to_path_buf)
}

fn load_backend(path: PathBuf) -> Result<&'static ExpandCacheApiV1, String> {
    if !path.is_file() {
        return Err(format!("backend library `{}` not found", path.display()));
    }
    let entry = unsafe { load_symbol_from_dylib::<ExpandCacheEntryFn>(&path, ENTRY_SYMBOL) }
        .map_err(|err| match err {
            DylibError::DlOpen(path, err) => format!("cannot load backend `{path}`{err}"),
            DylibError::DlSym(path, err) => {
                format!("symbol `{ENTRY_SYMBOL}` not found in `{path}`{err}")
            }
        })?;
    let api = unsafe { entry() };
    if api.is_null() {
        return Err(format!("`{ENTRY_SYMBOL}` of `{}` returned null", path.display()));
    }
    // SAFETY: the backend returns a pointer to a static table.
    Ok(unsafe { &*api })
}

/// Creates the proc-macro expansion cache of this session, if it is enabled. The store itself
/// is opened on the first proc-macro invocation.
pub(crate) fn expand_cache(sess: &Session) -> Option<Box<ExpandCache>> {
    let Some(namespace) = EXPAND_CACHE_IDENTITY else {
        return None;
    };

    let read_only = match var("RUSTC_EXPAND_CACHE").as_deref().map(str::trim) {
        None => false,
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "on" | "1" | "true" => false,
            "off" | "0" | "false" => return None,
            "read-only" | "readonly" | "ro" => true,
            _ => {
                warn_bad_value(sess, "RUSTC_EXPAND_CACHE", v, "`on`, `off` or `read-only`");
                return None;
            }
        },
    };

    let mut deny = Vec::new();
    if let Some(v) = var("RUSTC_EXPAND_CACHE_DENY") {
        for entry in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (krate, mac) = match entry.split_once("::") {
                Some((krate, mac)) => (krate, Some(mac)),
                None => (entry, None),
            };
            let is_name = |s: &str| {
                !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            };
            if !is_name(krate) || !mac.is_none_or(is_name) {
                warn_bad_value(
                    sess,
                    "RUSTC_EXPAND_CACHE_DENY",
                    &v,
                    "a comma-separated list of `crate` or `crate::macro`",
                );
                return None;
            }
            deny.push((krate.replace('-', "_"), mac.map(str::to_owned)));
        }
    }

    let verify = match var("RUSTC_EXPAND_CACHE_VERIFY") {
        None => 0.0,
        Some(v) => match v.trim().parse::<f64>() {
            Ok(f) if (0.0..=1.0).contains(&f) => f,
            _ => {
                warn_bad_value(sess, "RUSTC_EXPAND_CACHE_VERIFY", &v, "a number from 0 to 1");
                return None;
            }
        },
    };

    let env_names = var("RUSTC_EXPAND_CACHE_ENV")
        .map(|v| v.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();

    let report =
        env::var_os("RUSTC_EXPAND_CACHE_REPORT").filter(|v| !v.is_empty()).map(PathBuf::from);

    let dir = match var("RUSTC_EXPAND_CACHE_DIR") {
        // Relative to the working directory of this rustc, which cargo sets per package.
        Some(dir) => match std::path::absolute(&dir) {
            Ok(dir) => dir,
            Err(_) => {
                warn_bad_value(sess, "RUSTC_EXPAND_CACHE_DIR", &dir, "a directory path");
                return None;
            }
        },
        None => match target_dir(sess) {
            Some(target) => target.join("expand-cache"),
            None => {
                debug!("proc-macro expansion cache: no cargo target directory, not caching");
                return None;
            }
        },
    };

    let backend = match env::var_os("RUSTC_EXPAND_CACHE_BACKEND").filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => sess
            .opts
            .sysroot
            .path()
            .join("lib")
            .join("rustlib")
            .join(host_tuple())
            .join("lib")
            .join(format!(
                "{}rustc_expand_cache{}",
                env::consts::DLL_PREFIX,
                env::consts::DLL_SUFFIX
            )),
    };
    debug!(?dir, ?backend, read_only, "proc-macro expansion cache configured");

    let config = ExpandCacheConfig {
        namespace: namespace.to_owned(),
        dir,
        read_only,
        deny,
        verify,
        env_names,
        report,
    };
    Some(Box::new(ExpandCache::new(config, Box::new(move || load_backend(backend)))))
}
