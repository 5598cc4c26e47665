//! Safety checks around the LMDB files: file system type, ownership and
//! permissions, a header check of the data file done with plain reads (before
//! anything is memory-mapped), crash markers and quarantine.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Name of the LMDB data file inside the cache directory.
pub const DATA_FILE: &str = "data.mdb";
/// Name of the LMDB lock file inside the cache directory.
pub const LOCK_FILE: &str = "lock.mdb";
/// Directory (inside the cache directory) receiving quarantined stores.
pub const QUARANTINE_DIR: &str = "quarantine";
/// Prefix of crash-marker files.
pub const MARKER_PREFIX: &str = ".writer-";

/// Names the network or user-space file system with this `statfs` magic, if it is one
/// where LMDB's locking or memory-mapping is unsafe.
pub fn unsafe_fs_name(magic: i64) -> Option<&'static str> {
    // Values from linux/magic.h and the respective file systems.
    Some(match magic as u32 {
        0x6969 => "NFS",
        0x517B => "SMB",
        0xFF53_4D42 => "CIFS",
        0xFE53_4D42 => "SMB2",
        0x0102_1997 => "9p",
        0x6573_5546 => "FUSE (sshfs, ...)",
        0x5346_414F => "AFS",
        0x6B41_4653 => "kAFS",
        0x7375_7245 => "Coda",
        0x564C => "NCP",
        0x00C3_6400 => "Ceph",
        0x0BD0_0BD0 => "Lustre",
        0x0116_1970 => "GFS2",
        0x7461_636F => "OCFS2",
        0x4750_4653 => "GPFS",
        0x5346_4846 => "virtiofs-like",
        _ => return None,
    })
}

/// The `statfs` magic of the file system holding `path` (or its nearest existing ancestor).
pub fn fs_magic(path: &Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let mut p = path;
    loop {
        if p.exists() {
            break;
        }
        p = p.parent()?;
    }
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs writes into a zeroed, properly sized struct.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        if libc::statfs(c.as_ptr(), &mut st) != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)]
        Some(st.f_type as i64)
    }
}

/// Refuses network and FUSE file systems (ABI code -4).
pub fn check_fs(dir: &Path) -> Result<()> {
    if let Some(fs) = fs_magic(dir).and_then(unsafe_fs_name) {
        return Err(Error::UnsupportedFs { path: dir.to_path_buf(), fs });
    }
    Ok(())
}

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// Refuses a directory or file owned by another user or writable by group/others (code -8).
pub fn check_trust(path: &Path, md: &fs::Metadata) -> Result<()> {
    let me = euid();
    if md.uid() != me {
        return Err(Error::Untrusted(format!("{} is owned by uid {}, not by the current user (uid {me})", path.display(), md.uid())));
    }
    let mode = md.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(Error::Untrusted(format!("{} is writable by group or others (mode {:o}); run `chmod go-w` on it", path.display(), mode & 0o7777)));
    }
    Ok(())
}

/// Whether the owner may write `md` according to its mode bits (and `access(2)`).
///
/// The mode bits are checked too so that a `chmod a-w` directory counts as read-only
/// even for root.
pub fn writable(path: &Path, md: &fs::Metadata) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if md.permissions().mode() & 0o200 == 0 {
        return false;
    }
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Whether the owner may read `md` according to its mode bits and `access(2)`.
pub fn readable(path: &Path, md: &fs::Metadata) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let need = if md.is_dir() { 0o500 } else { 0o400 };
    if md.permissions().mode() & need != need {
        return false;
    }
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::R_OK) == 0 }
}

const MDB_MAGIC: u32 = 0xBEEF_C0DE;
const MDB_DATA_VERSION: u32 = 1;
const P_META: u16 = 0x08;
const P_INVALID: u64 = u64::MAX;

/// What the header check learned about a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Page size.
    pub page_size: u32,
    /// Last used page of the newest meta page.
    pub last_page: u64,
    /// Transaction id of the newest meta page.
    pub txnid: u64,
    /// Map size recorded in the newest meta page.
    pub map_size: u64,
    /// Length of the file when checked.
    pub file_len: u64,
    /// Length needed to hold every page up to the last one in use.
    pub required_len: u64,
}

struct Meta {
    psize: u32,
    flags: u16,
    mapsize: u64,
    roots: [u64; 2],
    last_pg: u64,
    txnid: u64,
}

fn rd_u16(b: &[u8], o: usize) -> u16 {
    u16::from_ne_bytes([b[o], b[o + 1]])
}
fn rd_u32(b: &[u8], o: usize) -> u32 {
    u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn rd_u64(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_ne_bytes(a)
}

fn parse_meta(page: &[u8], which: u64) -> std::result::Result<Meta, String> {
    // Page header: pgno (8), pad (2), flags (2), lower/upper (4); MDB_meta follows at 16.
    if page.len() < 152 {
        return Err(format!("meta page {which} truncated"));
    }
    if rd_u64(page, 0) != which {
        return Err(format!("meta page {which} has page number {}", rd_u64(page, 0)));
    }
    if rd_u16(page, 10) & P_META == 0 {
        return Err(format!("meta page {which} lacks the meta flag"));
    }
    if rd_u32(page, 16) != MDB_MAGIC {
        return Err(format!("meta page {which} has a bad magic number"));
    }
    if rd_u32(page, 20) != MDB_DATA_VERSION {
        return Err(format!("meta page {which} has data version {}", rd_u32(page, 20)));
    }
    Ok(Meta {
        psize: rd_u32(page, 40),
        flags: rd_u16(page, 44),
        mapsize: rd_u64(page, 32),
        roots: [rd_u64(page, 80), rd_u64(page, 128)],
        last_pg: rd_u64(page, 136),
        txnid: rd_u64(page, 144),
    })
}

/// Checks the two LMDB meta pages of a data file with plain reads, without mapping it.
///
/// Catches truncated files, overwritten headers and meta pages pointing past the end of
/// the file, which would otherwise make LMDB read unmapped memory and kill the process.
pub fn check_header(data: &Path) -> std::result::Result<HeaderInfo, String> {
    let mut f = fs::File::open(data).map_err(|e| format!("cannot open {}: {e}", data.display()))?;
    let mut buf = Vec::with_capacity(2 * 65536);
    f.by_ref().take(2 * 65536).read_to_end(&mut buf).map_err(|e| format!("cannot read {}: {e}", data.display()))?;
    // The length is taken after reading the meta pages: LMDB writes a commit's pages
    // before its meta page, so the file is then at least as long as that meta requires.
    let len = f.metadata().map_err(|e| format!("cannot stat {}: {e}", data.display()))?.len();
    if buf.is_empty() {
        // Created but not initialised yet: LMDB initialises it under its own lock.
        return Ok(HeaderInfo { page_size: 0, last_page: 0, txnid: 0, map_size: 0, file_len: 0, required_len: 0 });
    }
    let m0 = parse_meta(&buf, 0)?;
    let ps = m0.psize;
    if !(512..=65536).contains(&ps) || !ps.is_power_of_two() {
        return Err(format!("bad page size {ps}"));
    }
    if (buf.len() as u64) < 2 * ps as u64 {
        return Err(format!("data file is {len} bytes, shorter than its two meta pages"));
    }
    let m1 = parse_meta(&buf[ps as usize..], 1)?;
    if m1.psize != ps || m1.flags != m0.flags {
        return Err("meta pages disagree on page size or flags".into());
    }
    let pages_in_file = len / ps as u64;
    let newest = if m1.txnid > m0.txnid { &m1 } else { &m0 };
    if newest.last_pg < 1 {
        return Err(format!("meta page (txn {}) records no pages", newest.txnid));
    }
    // Pages up to last_pg may legitimately be missing from the file (pages allocated and
    // freed within one transaction are never written), but the roots are always written
    // before the meta page that names them.
    for r in newest.roots {
        if r != P_INVALID && (r < 2 || r > newest.last_pg) {
            return Err(format!("meta page (txn {}) has a root page {r} out of range", newest.txnid));
        }
        if r != P_INVALID && r >= pages_in_file {
            return Err(format!("meta page (txn {}) has its root at page {r} but the file holds only {pages_in_file} pages (truncated?)", newest.txnid));
        }
    }
    Ok(HeaderInfo {
        page_size: ps,
        last_page: newest.last_pg,
        txnid: newest.txnid,
        map_size: newest.mapsize,
        file_len: len,
        required_len: (newest.last_pg + 1).saturating_mul(ps as u64),
    })
}

/// Extends the data file with zeros (never shrinking it) so that every page the newest
/// meta page may reference lies inside the file: LMDB then reads zeros instead of
/// faulting on pages past the end of the file (a truncated store), and reports
/// corruption instead of crashing.
pub fn extend_to(data: &Path, len: u64) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let f = fs::OpenOptions::new().write(true).open(data)?;
    if f.metadata()?.len() >= len {
        return Ok(());
    }
    // SAFETY: valid fd; mode 0 allocates and extends only, it never shrinks or overwrites.
    let rc = unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, len as libc::off_t) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// [`check_header`], retried a few times so that a meta page being rewritten by a
/// concurrent commit is not mistaken for corruption.
pub fn check_header_stable(data: &Path) -> std::result::Result<HeaderInfo, String> {
    let mut last = String::new();
    for i in 0..4 {
        match check_header(data) {
            Ok(h) => return Ok(h),
            Err(e) => last = e,
        }
        std::thread::sleep(std::time::Duration::from_millis(5 << i));
    }
    Err(last)
}

static MARKER_SEQ: AtomicU64 = AtomicU64::new(0);

/// A crash marker: a file `.writer-<pid>-<n>` that exists while this process is in a
/// write transaction. It is removed on drop; if the process dies, it stays behind.
pub struct Marker(PathBuf);

impl Marker {
    /// Creates the marker file in `dir`.
    pub fn create(dir: &Path) -> Result<Self> {
        let n = MARKER_SEQ.fetch_add(1, Ordering::Relaxed);
        let p = dir.join(format!("{MARKER_PREFIX}{}-{n}", std::process::id()));
        fs::write(&p, format!("{}\n", std::process::id())).map_err(|e| Error::io("cannot create crash marker", &p, e))?;
        Ok(Marker(p))
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Whether a process with this pid exists.
pub fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Crash markers in `dir` left by processes that no longer exist.
pub fn dead_markers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Some(rest) = name.strip_prefix(MARKER_PREFIX) else { continue };
        let pid: i32 = rest.split('-').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if pid as u32 != std::process::id() && !pid_alive(pid) {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

/// Moves the LMDB files of `dir` aside into `dir/quarantine/<time>-<pid>/`.
pub fn quarantine(dir: &Path) -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let q = dir.join(QUARANTINE_DIR).join(format!("{stamp}-{}", std::process::id()));
    fs::create_dir_all(&q).map_err(|e| Error::io("cannot create quarantine directory", &q, e))?;
    let _ = fs::set_permissions(dir.join(QUARANTINE_DIR), fs::Permissions::from_mode(0o700));
    // The lock file first: a process opening meanwhile then never pairs a fresh data
    // file with the old lock file (and would find the old data file corrupt itself).
    for f in [LOCK_FILE, DATA_FILE] {
        let from = dir.join(f);
        match fs::rename(&from, q.join(f)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot move corrupt store aside", from, e)),
        }
    }
    for m in dead_markers(dir) {
        let _ = fs::remove_file(m);
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_file_systems_are_recognised() {
        assert_eq!(unsafe_fs_name(0x6969), Some("NFS"));
        assert_eq!(unsafe_fs_name(0xFF53_4D42u32 as i64), Some("CIFS"));
        assert_eq!(unsafe_fs_name(0x6573_5546), Some("FUSE (sshfs, ...)"));
        assert_eq!(unsafe_fs_name(0x0102_1997), Some("9p"));
        // ext4, xfs, btrfs, tmpfs, overlayfs are fine
        for ok in [0xEF53i64, 0x5846_5342, 0x9123_683E, 0x0102_1994, 0x794C_7630] {
            assert_eq!(unsafe_fs_name(ok), None, "{ok:x}");
        }
    }

    #[test]
    fn header_check_rejects_garbage_and_truncation() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(DATA_FILE);
        fs::write(&p, vec![0u8; 8192]).unwrap();
        assert!(check_header(&p).is_err());
        fs::write(&p, b"short").unwrap();
        assert!(check_header(&p).is_err());
        // an empty file is a store being created, not a corrupt one
        fs::write(&p, b"").unwrap();
        assert_eq!(check_header(&p).unwrap().required_len, 0);
    }

    #[test]
    fn markers_of_dead_processes_are_found() {
        let d = tempfile::tempdir().unwrap();
        let m = Marker::create(d.path()).unwrap();
        // our own marker is never "dead"
        assert!(dead_markers(d.path()).is_empty());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        fs::write(d.path().join(format!("{MARKER_PREFIX}{pid}-0")), "").unwrap();
        assert_eq!(dead_markers(d.path()).len(), 1);
        drop(m);
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
