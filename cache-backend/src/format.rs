//! On-disk formats: keys, namespace ids, values and metadata records.
//!
//! All integers are little-endian. Every record carries a format version and an
//! xxh3 checksum; a record failing either is never returned to the caller.

use xxhash_rust::xxh3::{xxh3_128, xxh3_64, Xxh3};

/// Format version of entry values.
pub const VALUE_VERSION: u16 = 1;
/// Format version of entry metadata records.
pub const META_VERSION: u8 = 1;
/// Format version of namespace records.
pub const NS_VERSION: u8 = 1;
/// Size of the header in front of every value.
pub const VALUE_HEADER: usize = 16;
/// Magic bytes opening every value.
const VALUE_MAGIC: [u8; 2] = *b"XE";
/// Caller keys up to this length are stored verbatim; longer ones are hashed.
pub const MAX_INLINE_KEY: usize = 400;
/// Largest value accepted by `put`.
pub const MAX_VALUE: usize = 1 << 30;

/// Identifier of a namespace: the 128-bit xxh3 hash of the compiler identity string.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NamespaceId(pub [u8; 16]);

impl NamespaceId {
    /// The id of a compiler identity string.
    pub fn of(identity: &[u8]) -> Self {
        NamespaceId(xxh3_128(identity).to_be_bytes())
    }

    /// Lower-case hex form, as shown by the CLI.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The id at the start of a database key, if the key is long enough.
    pub fn from_key(db_key: &[u8]) -> Option<Self> {
        let id: [u8; 16] = db_key.get(..16)?.try_into().ok()?;
        Some(NamespaceId(id))
    }
}

/// Database key of an entry: namespace id, then a tag byte and the caller key
/// (tag 0, verbatim) or its 128-bit hash (tag 1, for keys over [`MAX_INLINE_KEY`]).
pub fn entry_key(ns: &NamespaceId, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + key.len().min(MAX_INLINE_KEY));
    out.extend_from_slice(&ns.0);
    if key.len() <= MAX_INLINE_KEY {
        out.push(0);
        out.extend_from_slice(key);
    } else {
        out.push(1);
        out.extend_from_slice(&xxh3_128(key).to_be_bytes());
    }
    out
}

/// Whether a database key is well formed (namespace id, tag, body).
pub fn valid_entry_key(db_key: &[u8]) -> bool {
    match db_key.get(16) {
        Some(0) => db_key.len() - 17 <= MAX_INLINE_KEY,
        Some(1) => db_key.len() == 33,
        _ => false,
    }
}

fn value_checksum(db_key: &[u8], payload: &[u8]) -> u64 {
    let mut h = Xxh3::new();
    h.update(db_key);
    h.update(payload);
    h.digest()
}

/// Encodes a value: magic, version, length, checksum over key and payload, payload.
pub fn encode_value(db_key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(VALUE_HEADER + payload.len());
    out.extend_from_slice(&VALUE_MAGIC);
    out.extend_from_slice(&VALUE_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&value_checksum(db_key, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Why a stored record was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadRecord {
    /// Too short or inconsistent length.
    #[error("truncated or malformed record")]
    Malformed,
    /// Unknown format version.
    #[error("unsupported format version {0}")]
    Version(u32),
    /// Checksum mismatch.
    #[error("checksum mismatch")]
    Checksum,
}

/// Decodes a stored value, checking version, length and checksum; returns the payload.
pub fn decode_value<'a>(db_key: &[u8], stored: &'a [u8]) -> Result<&'a [u8], BadRecord> {
    if stored.len() < VALUE_HEADER || stored[..2] != VALUE_MAGIC {
        return Err(BadRecord::Malformed);
    }
    let version = u16::from_le_bytes([stored[2], stored[3]]);
    if version != VALUE_VERSION {
        return Err(BadRecord::Version(version.into()));
    }
    let len = u32::from_le_bytes([stored[4], stored[5], stored[6], stored[7]]) as usize;
    let payload = &stored[VALUE_HEADER..];
    if len != payload.len() {
        return Err(BadRecord::Malformed);
    }
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&stored[8..16]);
    if u64::from_le_bytes(sum) != value_checksum(db_key, payload) {
        return Err(BadRecord::Checksum);
    }
    Ok(payload)
}

/// Kind of macro that produced an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MacroKind {
    /// `foo!(...)`
    Bang,
    /// `#[foo]`
    Attribute,
    /// `#[derive(Foo)]`
    Derive,
}

impl MacroKind {
    /// From the ABI byte; unknown values are rejected.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(MacroKind::Bang),
            1 => Some(MacroKind::Attribute),
            2 => Some(MacroKind::Derive),
            _ => None,
        }
    }
    /// The ABI byte.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            MacroKind::Bang => "bang",
            MacroKind::Attribute => "attribute",
            MacroKind::Derive => "derive",
        }
    }
}

/// Metadata kept next to every entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryMeta {
    /// Crate defining the macro.
    pub macro_crate: String,
    /// Macro name.
    pub macro_name: String,
    /// Macro kind.
    pub kind: MacroKind,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// Last hit time (0 = never), milliseconds since the Unix epoch.
    pub last_hit_ms: u64,
    /// Number of hits.
    pub hit_count: u64,
    /// Payload size in bytes.
    pub size: u64,
    /// How long the original expansion took.
    pub expand_nanos: u64,
    /// LMDB transaction id of the last write or hit: the LRU clock.
    pub last_use_txn: u64,
}

/// A macro or crate name as stored: its bytes, cut to the `u16` length field at a character
/// boundary (real names are far shorter), so that it still decodes as UTF-8.
pub(crate) fn stored_name(name: &str) -> &[u8] {
    let mut end = name.len().min(u16::MAX as usize);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name.as_bytes()[..end]
}

impl EntryMeta {
    /// Last use in milliseconds since the epoch (creation or last hit).
    pub fn last_used_ms(&self) -> u64 {
        self.created_ms.max(self.last_hit_ms)
    }

    /// Encodes the record (version, fields, names, checksum).
    pub fn encode(&self) -> Vec<u8> {
        let c = stored_name(&self.macro_crate);
        let n = stored_name(&self.macro_name);
        let mut out = Vec::with_capacity(64 + c.len() + n.len());
        out.push(META_VERSION);
        out.push(self.kind.as_u8());
        out.extend_from_slice(&(c.len() as u16).to_le_bytes());
        out.extend_from_slice(&(n.len() as u16).to_le_bytes());
        for v in [self.created_ms, self.last_hit_ms, self.hit_count, self.size, self.expand_nanos, self.last_use_txn] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(c);
        out.extend_from_slice(n);
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Decodes and checks a record.
    pub fn decode(b: &[u8]) -> Result<Self, BadRecord> {
        const FIXED: usize = 6 + 6 * 8;
        if b.len() < FIXED + 8 {
            return Err(BadRecord::Malformed);
        }
        if b[0] != META_VERSION {
            return Err(BadRecord::Version(b[0].into()));
        }
        let (body, sum) = b.split_at(b.len() - 8);
        if xxh3_64(body).to_le_bytes() != sum {
            return Err(BadRecord::Checksum);
        }
        let kind = MacroKind::from_u8(body[1]).ok_or(BadRecord::Malformed)?;
        let cl = u16::from_le_bytes([body[2], body[3]]) as usize;
        let nl = u16::from_le_bytes([body[4], body[5]]) as usize;
        if body.len() != FIXED + cl + nl {
            return Err(BadRecord::Malformed);
        }
        let u = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&body[6 + i * 8..14 + i * 8]);
            u64::from_le_bytes(a)
        };
        let names = &body[FIXED..];
        Ok(EntryMeta {
            macro_crate: String::from_utf8_lossy(&names[..cl]).into_owned(),
            macro_name: String::from_utf8_lossy(&names[cl..]).into_owned(),
            kind,
            created_ms: u(0),
            last_hit_ms: u(1),
            hit_count: u(2),
            size: u(3),
            expand_nanos: u(4),
            last_use_txn: u(5),
        })
    }
}

/// Counters of compiler sessions, summed per namespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SessionCounters {
    /// Number of sessions that recorded stats.
    pub sessions: u64,
    /// Cache hits.
    pub hits: u64,
    /// Cache misses.
    pub misses: u64,
    /// Entries stored.
    pub stored: u64,
    /// Expansions that could not be cached.
    pub uncacheable: u64,
    /// Time spent in lookups, decode and replay.
    pub lookup_nanos: u64,
    /// Sum of the original expansion times of the entries hit.
    pub saved_nanos: u64,
}

impl SessionCounters {
    fn fields(&self) -> [u64; 7] {
        [self.sessions, self.hits, self.misses, self.stored, self.uncacheable, self.lookup_nanos, self.saved_nanos]
    }

    /// Adds another set of counters (saturating).
    pub fn add(&mut self, o: &SessionCounters) {
        self.sessions = self.sessions.saturating_add(o.sessions);
        self.hits = self.hits.saturating_add(o.hits);
        self.misses = self.misses.saturating_add(o.misses);
        self.stored = self.stored.saturating_add(o.stored);
        self.uncacheable = self.uncacheable.saturating_add(o.uncacheable);
        self.lookup_nanos = self.lookup_nanos.saturating_add(o.lookup_nanos);
        self.saved_nanos = self.saved_nanos.saturating_add(o.saved_nanos);
    }
}

/// Record of a namespace: its identity string and the summed session counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceRecord {
    /// The compiler identity string.
    pub identity: String,
    /// Summed session counters (volatile: never exported).
    pub counters: SessionCounters,
}

impl NamespaceRecord {
    /// Encodes the record.
    pub fn encode(&self) -> Vec<u8> {
        let id = self.identity.as_bytes();
        let mut out = Vec::with_capacity(5 + id.len() + 64);
        out.push(NS_VERSION);
        out.extend_from_slice(&(id.len() as u32).to_le_bytes());
        out.extend_from_slice(id);
        for v in self.counters.fields() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Decodes and checks a record.
    pub fn decode(b: &[u8]) -> Result<Self, BadRecord> {
        if b.len() < 5 + 7 * 8 + 8 {
            return Err(BadRecord::Malformed);
        }
        if b[0] != NS_VERSION {
            return Err(BadRecord::Version(b[0].into()));
        }
        let (body, sum) = b.split_at(b.len() - 8);
        if xxh3_64(body).to_le_bytes() != sum {
            return Err(BadRecord::Checksum);
        }
        let il = u32::from_le_bytes([body[1], body[2], body[3], body[4]]) as usize;
        if body.len() != 5 + il + 56 {
            return Err(BadRecord::Malformed);
        }
        let identity = String::from_utf8_lossy(&body[5..5 + il]).into_owned();
        let rest = &body[5 + il..];
        let u = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&rest[i * 8..i * 8 + 8]);
            u64::from_le_bytes(a)
        };
        Ok(NamespaceRecord {
            identity,
            counters: SessionCounters {
                sessions: u(0),
                hits: u(1),
                misses: u(2),
                stored: u(3),
                uncacheable: u(4),
                lookup_nanos: u(5),
                saved_nanos: u(6),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong_names_are_cut_at_a_character_boundary() {
        // 'é' is 2 bytes: 65535 is odd, so a byte cut would split the last one.
        let name = "é".repeat(40_000);
        let m = EntryMeta { macro_crate: name.clone(), macro_name: name, kind: MacroKind::Derive, created_ms: 1, last_hit_ms: 0, hit_count: 0, size: 3, expand_nanos: 5, last_use_txn: 1 };
        let back = EntryMeta::decode(&m.encode()).expect("an overlong name still decodes");
        assert_eq!(back.macro_crate.len(), 65534);
        assert_eq!(back.macro_name, back.macro_crate);
        assert!(back.macro_crate.chars().all(|c| c == 'é'));
    }

    #[test]
    fn namespace_ids_differ_and_are_stable() {
        let a = NamespaceId::of(b"rustc 1.95.0 x86_64-unknown-linux-gnu");
        let b = NamespaceId::of(b"rustc 1.95.0 aarch64-unknown-linux-gnu");
        assert_ne!(a, b);
        assert_eq!(a, NamespaceId::of(b"rustc 1.95.0 x86_64-unknown-linux-gnu"));
        assert_eq!(a.hex().len(), 32);
    }

    #[test]
    fn keys_are_prefixed_by_namespace_and_long_keys_hashed() {
        let ns = NamespaceId::of(b"id");
        let k = entry_key(&ns, b"abc");
        assert_eq!(&k[..16], &ns.0);
        assert_eq!(k[16], 0);
        assert_eq!(&k[17..], b"abc");
        assert!(valid_entry_key(&k));
        let long = vec![7u8; 1000];
        let k2 = entry_key(&ns, &long);
        assert_eq!(k2.len(), 33);
        assert_eq!(k2[16], 1);
        assert!(valid_entry_key(&k2));
        // same key in another namespace never collides
        let other = entry_key(&NamespaceId::of(b"id2"), b"abc");
        assert_ne!(k, other);
        assert_eq!(NamespaceId::from_key(&k), Some(ns));
        assert!(!valid_entry_key(b"short"));
    }

    #[test]
    fn value_roundtrip_and_rejections() {
        let key = b"0123456789abcdef\0k";
        let v = encode_value(key, b"hello world");
        assert_eq!(decode_value(key, &v), Ok(&b"hello world"[..]));
        // empty payload is fine
        let e = encode_value(key, b"");
        assert_eq!(decode_value(key, &e), Ok(&b""[..]));
        // flipped payload byte
        let mut bad = v.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(decode_value(key, &bad), Err(BadRecord::Checksum));
        // value moved under another key
        assert_eq!(decode_value(b"0123456789abcdef\0x", &v), Err(BadRecord::Checksum));
        // unknown version
        let mut ver = v.clone();
        ver[2] = 9;
        assert_eq!(decode_value(key, &ver), Err(BadRecord::Version(9)));
        // truncated
        assert_eq!(decode_value(key, &v[..v.len() - 1]), Err(BadRecord::Malformed));
        assert_eq!(decode_value(key, &v[..5]), Err(BadRecord::Malformed));
    }

    #[test]
    fn meta_roundtrip_and_checksum() {
        let m = EntryMeta {
            macro_crate: "serde_derive".into(),
            macro_name: "Serialize".into(),
            kind: MacroKind::Derive,
            created_ms: 1,
            last_hit_ms: 2,
            hit_count: 3,
            size: 4,
            expand_nanos: 5,
            last_use_txn: 6,
        };
        let e = m.encode();
        assert_eq!(EntryMeta::decode(&e), Ok(m.clone()));
        let mut bad = e.clone();
        bad[10] ^= 0x40;
        assert_eq!(EntryMeta::decode(&bad), Err(BadRecord::Checksum));
        assert_eq!(m.last_used_ms(), 2);
        assert!(EntryMeta::decode(&e[..10]).is_err());
    }

    #[test]
    fn namespace_record_roundtrip() {
        let r = NamespaceRecord {
            identity: "rustc 1.95.0".into(),
            counters: SessionCounters { sessions: 1, hits: 2, misses: 3, stored: 4, uncacheable: 5, lookup_nanos: 6, saved_nanos: 7 },
        };
        assert_eq!(NamespaceRecord::decode(&r.encode()), Ok(r.clone()));
        let mut c = r.counters;
        c.add(&r.counters);
        assert_eq!(c.hits, 4);
    }

    #[test]
    fn macro_kind_bytes() {
        assert_eq!(MacroKind::from_u8(2), Some(MacroKind::Derive));
        assert_eq!(MacroKind::from_u8(3), None);
        assert_eq!(MacroKind::Attribute.as_u8(), 1);
    }
}
