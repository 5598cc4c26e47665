//! The on-disk store of rustc-expand-cache: cached proc-macro expansions in LMDB.
//!
//! * [`Store`]: one compiler session on one namespace (compiler identity): lookups,
//!   buffered writes committed in one transaction.
//! * [`Cache`]: maintenance of a whole cache directory (stats, gc, verify, clear,
//!   deterministic export/import), used by the `rustc-expand-cache` CLI.
//! * [`ffi`]: the versioned C ABI (`rustc_expand_cache_v1`) that rustc loads.
//!
//! See `README.md` for the fault policy and `ABI.md` for the contract with rustc.

#![warn(missing_docs)]

pub mod cache;
pub mod config;
pub mod env;
pub mod error;
pub mod ffi;
pub mod format;
pub mod guard;
pub mod store;

pub use cache::{Cache, CacheStats, GcOptions, GcReport, TransferReport, VerifyReport};
pub use env::OpenOptions;
pub use error::{Error, Result};
pub use format::{MacroKind, NamespaceId, SessionCounters};
pub use store::{PutMeta, Store};

/// Installs a stderr `tracing` subscriber filtered by `RUSTC_EXPAND_CACHE_LOG`, once.
/// Without the variable nothing is installed and the backend stays silent; a value that is
/// not a filter is [`Error::BadConfig`] (from every call).
pub fn init_logging() -> Result<()> {
    static OUTCOME: std::sync::OnceLock<std::result::Result<(), (String, String)>> = std::sync::OnceLock::new();
    let outcome = OUTCOME.get_or_init(|| {
        let Some(v) = std::env::var_os(config::LOG_VAR) else { return Ok(()) };
        let v = v.to_string_lossy();
        if v.trim().is_empty() {
            return Ok(());
        }
        let filter = tracing_subscriber::EnvFilter::try_new(v.as_ref()).map_err(|e| (v.to_string(), format!("not a tracing filter ({e}); e.g. `debug` or `rustc_expand_cache=info`")))?;
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
        Ok(())
    });
    outcome.clone().map_err(|(value, reason)| Error::BadConfig { var: config::LOG_VAR, value, reason })
}
