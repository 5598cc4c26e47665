//! Configuration: the size cap and its parsing.

use crate::error::{Error, Result};

/// Default size cap of a store: 1 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;
/// Smallest accepted size cap: 1 MiB.
pub const MIN_MAX_SIZE: u64 = 1 << 20;
/// Environment variable holding the size cap.
pub const MAX_SIZE_VAR: &str = "RUSTC_EXPAND_CACHE_MAX_SIZE";
/// Environment variable holding the `tracing` filter.
pub const LOG_VAR: &str = "RUSTC_EXPAND_CACHE_LOG";

/// Parses a size such as `1073741824`, `500MB`, `2GiB`, `1.5G` or `64 KiB`.
///
/// Units are case-insensitive; `K`/`M`/`G`/`T` alone and `KiB`... are powers of 1024,
/// `KB`/`MB`/`GB`/`TB` are powers of 1000, `B` or no unit means bytes.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err("expected a number, e.g. 500MB or 2GiB".into());
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => return Err(format!("unknown unit {other:?} (use B, KB, KiB, MB, MiB, GB, GiB, TB or TiB)")),
    };
    let bytes = if let Ok(n) = num.parse::<u64>() {
        n.checked_mul(mult).ok_or_else(|| "size too large".to_string())?
    } else {
        let f: f64 = num.parse().map_err(|_| format!("bad number {num:?}"))?;
        let b = f * mult as f64;
        if !b.is_finite() || b >= u64::MAX as f64 {
            return Err("size too large".into());
        }
        b as u64
    };
    Ok(bytes)
}

/// Formats a byte count for humans (binary units).
pub fn format_size(b: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < U.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

/// Checks a size cap given by the user.
pub fn check_max_size(v: u64) -> std::result::Result<u64, String> {
    if v < MIN_MAX_SIZE {
        Err(format!("must be at least {MIN_MAX_SIZE} bytes (1MiB)"))
    } else {
        Ok(v)
    }
}

/// The size cap from `RUSTC_EXPAND_CACHE_MAX_SIZE`, or the default.
///
/// A bad value is an [`Error::BadConfig`] (ABI code -9) naming the variable and value.
pub fn max_size_from_env() -> Result<u64> {
    match std::env::var_os(MAX_SIZE_VAR) {
        None => Ok(DEFAULT_MAX_SIZE),
        Some(v) => {
            let s = v.to_string_lossy().into_owned();
            if s.trim().is_empty() {
                return Ok(DEFAULT_MAX_SIZE);
            }
            parse_size(&s).and_then(check_max_size).map_err(|reason| Error::BadConfig { var: MAX_SIZE_VAR, value: s, reason })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("64 kib"), Ok(65536));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999TB").is_err());
        assert!(check_max_size(1000).is_err());
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(3 << 20), "3.0 MiB");
    }
}
