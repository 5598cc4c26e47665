//! Typed errors of the backend and their C ABI status codes.

use std::path::PathBuf;

/// Status code: success.
pub const OK: i32 = 0;
/// Status code: `get` found the entry.
pub const HIT: i32 = 1;
/// Status code: I/O error (missing or unreadable directory, full disk, ...).
pub const E_IO: i32 = -1;
/// Status code: the store is corrupt (moved aside by the call that found it, unless read-only).
pub const E_CORRUPT: i32 = -2;
/// Status code: the store or directory is read-only.
pub const E_READ_ONLY: i32 = -3;
/// Status code: the directory is on a file system where LMDB is unsafe.
pub const E_UNSUPPORTED_FS: i32 = -4;
/// Status code: bad argument (null pointer, empty namespace, oversized value...).
pub const E_BAD_ARG: i32 = -5;
/// Status code: a panic was caught at the ABI boundary.
pub const E_PANIC: i32 = -6;
/// Status code: the map is full and could neither grow nor evict.
pub const E_MAP_FULL: i32 = -7;
/// Status code: the store is owned by another user or writable by others.
pub const E_UNTRUSTED: i32 = -8;
/// Status code: bad configuration (an environment variable has a bad value).
pub const E_BAD_CONFIG: i32 = -9;

/// Every way an operation of the backend can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a path.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The cache does not exist (read-only open or admin command on a missing store).
    #[error("no expansion cache at {}", .0.display())]
    Missing(PathBuf),
    /// An LMDB error that is not corruption.
    #[error("LMDB error during {what}: {source}")]
    Lmdb {
        /// What was being done.
        what: &'static str,
        /// The LMDB error.
        #[source]
        source: lmdb::Error,
    },
    /// The store is corrupt (it has been quarantined if it was writable).
    #[error("corrupt expansion cache at {}: {reason}{}", path.display(), quarantined.as_ref().map(|q| format!("; moved aside to {}", q.display())).unwrap_or_default())]
    Corrupt {
        /// The cache directory.
        path: PathBuf,
        /// What check failed.
        reason: String,
        /// Where the bad store was moved, if it was.
        quarantined: Option<PathBuf>,
    },
    /// A write was attempted on a read-only store or directory.
    #[error("{0}")]
    ReadOnly(String),
    /// The directory is on a network or FUSE file system.
    #[error("expansion cache directory {} is on a {fs} file system, where LMDB locking is unsafe; caching is disabled", path.display())]
    UnsupportedFs {
        /// The cache directory.
        path: PathBuf,
        /// The file system type.
        fs: &'static str,
    },
    /// A bad argument was passed.
    #[error("bad argument: {0}")]
    BadArgument(String),
    /// The map is full and could neither grow nor evict enough.
    #[error("expansion cache map is full ({0})")]
    MapFull(String),
    /// The store is not owned by the current user or is writable by others.
    #[error("untrusted expansion cache: {0}")]
    Untrusted(String),
    /// An environment variable has a bad value.
    #[error("bad configuration: {var}={value:?}: {reason}")]
    BadConfig {
        /// The variable name.
        var: &'static str,
        /// Its value.
        value: String,
        /// Why it is bad.
        reason: String,
    },
    /// A bad export file.
    #[error("bad export file: {0}")]
    BadExport(String),
}

impl Error {
    /// The C ABI status code of this error.
    pub fn code(&self) -> i32 {
        match self {
            Error::Io { .. } | Error::Missing(_) => E_IO,
            Error::Lmdb { source, .. } => match source {
                lmdb::Error::MapFull => E_MAP_FULL,
                lmdb::Error::Corrupted | lmdb::Error::PageNotFound | lmdb::Error::Invalid => E_CORRUPT,
                _ => E_IO,
            },
            Error::Corrupt { .. } => E_CORRUPT,
            Error::ReadOnly(_) => E_READ_ONLY,
            Error::UnsupportedFs { .. } => E_UNSUPPORTED_FS,
            Error::BadArgument(_) | Error::BadExport(_) => E_BAD_ARG,
            Error::MapFull(_) => E_MAP_FULL,
            Error::Untrusted(_) => E_UNTRUSTED,
            Error::BadConfig { .. } => E_BAD_CONFIG,
        }
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { what, path: path.into(), source }
    }

    pub(crate) fn lmdb(what: &'static str, source: lmdb::Error) -> Self {
        Error::Lmdb { what, source }
    }

    /// Whether this error means the store itself is damaged.
    pub fn is_corruption(&self) -> bool {
        self.code() == E_CORRUPT
    }
}

/// Result alias of the backend.
pub type Result<T, E = Error> = std::result::Result<T, E>;
