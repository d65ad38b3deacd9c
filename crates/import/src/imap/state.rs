//! What an IMAP import remembers of each source folder between runs: the
//! folder's UIDVALIDITY and, for every message copied, its source UID, the
//! UID it got here, a hash of the flags it had at the source then and the
//! flags themselves (system flags as bits, keywords as bits of a table of
//! the folder's keywords, at most [`MAX_KEYWORDS`]), so a later run applies
//! the flags added and removed at the source since and leaves alone the
//! other changes made here. A message whose keywords do not fit the table
//! (or recorded by version 1, which kept the hash only) has its flags
//! replaced when they change at the source.
//!
//! One file per (account, source, folder) in `data_dir/import/`, named by a
//! keyed MAC of the three (no address or mailbox name in a file name) and
//! sealed under a key derived from the master key (`sealpost-store`'s
//! `FileKey`, purpose `import-state`), written with `sealpost-durable`.
//! 22 octets per message on disk (32 in memory).

use crate::{ImportError, Result};
use sealpost_store::{FileKey, Flags};
use std::path::{Path, PathBuf};

const MAGIC_V1: &[u8; 8] = b"SPIMAP01";
const MAGIC: &[u8; 8] = b"SPIMAP02";
/// Keywords a folder's table holds (bits of a `u64`).
pub const MAX_KEYWORDS: usize = 64;
const ENTRY: usize = 22;

/// Where the state files are and how they are sealed.
#[derive(Debug, Clone)]
pub struct StateFiles {
    /// `data_dir/import`.
    pub dir: PathBuf,
    /// The sealing key (purpose `import-state`).
    pub key: FileKey,
}

impl StateFiles {
    /// The files of the store whose master key is `master_key`.
    pub fn new(data_dir: &Path, master_key: &Path) -> Result<StateFiles> {
        Ok(StateFiles {
            dir: data_dir.join("import"),
            key: FileKey::load(master_key, "import-state")?,
        })
    }

    /// The file of one source folder.
    pub fn path(&self, account: &str, source: &str, folder: &str) -> PathBuf {
        self.dir
            .join(self.key.name(&format!("{account}\n{source}\n{folder}")))
    }

    /// Loads a folder's state; `None` when there is none yet.
    pub fn load(&self, path: &Path) -> Result<Option<FolderState>> {
        let Some(sealed) = self.read_sealed(path)? else {
            return Ok(None);
        };
        let plain = self.key.open(&sealed)?;
        FolderState::decode(&plain)
            .map(Some)
            .ok_or_else(|| ImportError::Format(format!("{}: damaged import state", path.display())))
    }

    /// Saves a folder's state durably.
    pub fn save(&self, path: &Path, state: &FolderState) -> Result<()> {
        self.write_sealed(path, &state.encode())
    }

    /// The sealed bytes of a state file; `None` when there is none yet.
    pub(crate) fn read_sealed(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ImportError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Seals `plain` into a state file, durably (0600, in a 0700 folder
    /// made if missing).
    pub(crate) fn write_sealed(&self, path: &Path, plain: &[u8]) -> Result<()> {
        let io = |source| ImportError::Io {
            path: path.to_path_buf(),
            source,
        };
        sealpost_durable::create_dir(&self.dir).map_err(io)?;
        sealpost_durable::write(path, &self.key.seal(plain)).map_err(io)
    }
}

/// One copied message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Its UID at the source.
    pub source: u32,
    /// Its UID here.
    pub here: u32,
    /// [`flags_hash`] of its flags at the source when last seen.
    pub flags: u32,
    /// Those flags, when `known`: the system flags...
    pub system: u8,
    /// ... and the keywords, bits of the folder's table.
    pub keywords: u64,
    /// Whether `system` and `keywords` hold the flags.
    pub known: bool,
}

/// A source folder's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderState {
    /// The source folder's UIDVALIDITY these UIDs belong to.
    pub uid_validity: u32,
    /// The keywords seen, at most [`MAX_KEYWORDS`]; bit `i` is `keywords[i]`.
    keywords: Vec<String>,
    /// Ascending by source UID.
    copied: Vec<Copied>,
}

impl FolderState {
    /// A state with nothing copied.
    pub fn new(uid_validity: u32) -> FolderState {
        FolderState {
            uid_validity,
            keywords: Vec::new(),
            copied: Vec::new(),
        }
    }

    /// The copy of source UID `uid`.
    pub fn get(&self, uid: u32) -> Option<Copied> {
        let i = self.copied.binary_search_by_key(&uid, |c| c.source).ok()?;
        self.copied.get(i).copied()
    }

    /// Records that source UID `source` is `here` with `flags` at the
    /// source.
    pub fn record(&mut self, source: u32, here: u32, flags: &Flags) {
        let mut bits = Some(0u64);
        for k in &flags.keywords {
            bits = bits.and_then(|b| Some(b | 1 << self.intern(k)?));
        }
        self.insert(Copied {
            source,
            here,
            flags: flags_hash(flags),
            system: flags.system,
            keywords: bits.unwrap_or(0),
            known: bits.is_some(),
        });
    }

    /// The flags a copy had at the source when last seen, if known.
    pub fn flags_of(&self, c: &Copied) -> Option<Flags> {
        c.known.then(|| Flags {
            system: c.system,
            keywords: (0..self.keywords.len())
                .filter(|i| c.keywords & (1 << i) != 0)
                .map(|i| self.keywords[i].clone())
                .collect(),
        })
    }

    /// The bit of keyword `k`, added to the table if there is room.
    fn intern(&mut self, k: &str) -> Option<usize> {
        if let Some(i) = self.keywords.iter().position(|x| x.eq_ignore_ascii_case(k)) {
            return Some(i);
        }
        if self.keywords.len() == MAX_KEYWORDS || k.len() > u8::MAX as usize {
            return None;
        }
        self.keywords.push(k.to_string());
        Some(self.keywords.len() - 1)
    }

    /// The copy of source UID `uid`.
    pub fn get_mut(&mut self, uid: u32) -> Option<&mut Copied> {
        let i = self.copied.binary_search_by_key(&uid, |c| c.source).ok()?;
        self.copied.get_mut(i)
    }

    /// Records a copy (replacing one of the same source UID).
    pub fn insert(&mut self, c: Copied) {
        match self.copied.binary_search_by_key(&c.source, |x| x.source) {
            Ok(i) => self.copied[i] = c,
            Err(i) => self.copied.insert(i, c),
        }
    }

    /// The highest UID here of any copy (0 when none).
    pub fn highest_here(&self) -> u32 {
        self.copied.iter().map(|c| c.here).max().unwrap_or(0)
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + ENTRY * self.copied.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.uid_validity.to_le_bytes());
        out.push(self.keywords.len() as u8);
        for k in &self.keywords {
            out.push(k.len() as u8);
            out.extend_from_slice(k.as_bytes());
        }
        out.extend_from_slice(&(self.copied.len() as u64).to_le_bytes());
        for c in &self.copied {
            for v in [c.source, c.here, c.flags] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&[u8::from(c.known), c.system]);
            out.extend_from_slice(&c.keywords.to_le_bytes());
        }
        out
    }

    fn decode(b: &[u8]) -> Option<FolderState> {
        let u32_at =
            |b: &[u8], i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
        let (v2, rest) = match b.strip_prefix(MAGIC) {
            Some(rest) => (true, rest),
            None => (false, b.strip_prefix(MAGIC_V1)?),
        };
        let uid_validity = u32_at(rest, 0)?;
        let mut at = 4;
        let mut keywords = Vec::new();
        if v2 {
            let n = *rest.get(at)? as usize;
            at += 1;
            for _ in 0..n.min(MAX_KEYWORDS + 1) {
                let len = *rest.get(at)? as usize;
                let k = std::str::from_utf8(rest.get(at + 1..at + 1 + len)?).ok()?;
                keywords.push(k.to_string());
                at += 1 + len;
            }
            if n > MAX_KEYWORDS {
                return None;
            }
        }
        let count = u64::from_le_bytes(rest.get(at..at + 8)?.try_into().ok()?) as usize;
        let body = &rest[at + 8..];
        let entry = if v2 { ENTRY } else { 12 };
        if body.len() != count.checked_mul(entry)? {
            return None;
        }
        let copied = body
            .chunks_exact(entry)
            .map(|c| {
                Some(Copied {
                    source: u32_at(c, 0)?,
                    here: u32_at(c, 4)?,
                    flags: u32_at(c, 8)?,
                    known: v2 && c[12] == 1,
                    system: if v2 { c[13] } else { 0 },
                    keywords: if v2 {
                        u64::from_le_bytes(c[14..22].try_into().ok()?)
                    } else {
                        0
                    },
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(FolderState {
            uid_validity,
            keywords,
            copied,
        })
    }
}

/// A hash of flags that ignores keyword order and case (FNV-1a).
pub fn flags_hash(flags: &Flags) -> u32 {
    let mut words: Vec<String> = flags
        .keywords
        .iter()
        .map(|k| k.to_ascii_lowercase())
        .collect();
    words.sort();
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    eat(flags.system);
    for w in words {
        w.bytes().for_each(&mut eat);
        eat(0);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(system: u8, keywords: &[&str]) -> Flags {
        Flags {
            system,
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn round_trip_and_lookup() {
        let mut s = FolderState::new(7);
        s.record(5, 5, &flags(Flags::SEEN, &["Work", "$Label1"]));
        s.record(2, 9, &flags(0, &["work"]));
        assert_eq!(FolderState::decode(&s.encode()), Some(s.clone()));
        assert_eq!(s.get_mut(2).unwrap().here, 9);
        assert!(s.get_mut(3).is_none());
        assert_eq!(s.highest_here(), 9);
        let five = s.get(5).unwrap();
        assert_eq!(
            s.flags_of(&five),
            Some(flags(Flags::SEEN, &["Work", "$Label1"]))
        );
        assert_eq!(s.flags_of(&s.get(2).unwrap()), Some(flags(0, &["Work"])));
        let whole = s.encode();
        for cut in 0..whole.len() {
            assert_eq!(FolderState::decode(&whole[..cut]), None, "cut {cut}");
        }
    }

    #[test]
    fn keywords_past_the_table_and_version_1_states_are_not_known() {
        let mut s = FolderState::new(1);
        let many: Vec<String> = (0..MAX_KEYWORDS).map(|i| format!("k{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        s.record(1, 1, &flags(0, &refs));
        assert!(s.get(1).unwrap().known);
        s.record(2, 2, &flags(0, &["one-too-many"]));
        assert_eq!(s.flags_of(&s.get(2).unwrap()), None);
        let mut v1 = MAGIC_V1.to_vec();
        v1.extend_from_slice(&9u32.to_le_bytes());
        v1.extend_from_slice(&1u64.to_le_bytes());
        for v in [4u32, 6, 77] {
            v1.extend_from_slice(&v.to_le_bytes());
        }
        let old = FolderState::decode(&v1).unwrap();
        let c = old.get(4).unwrap();
        assert_eq!((c.here, c.flags, c.known), (6, 77, false));
    }

    #[test]
    fn flag_hash_ignores_keyword_order_and_case() {
        let a = Flags {
            system: Flags::SEEN,
            keywords: vec!["Work".into(), "x".into()],
        };
        let b = Flags {
            system: Flags::SEEN,
            keywords: vec!["X".into(), "work".into()],
        };
        assert_eq!(flags_hash(&a), flags_hash(&b));
        assert_ne!(flags_hash(&a), flags_hash(&Flags::default()));
    }
}
