//! What an IMAP import remembers of each source folder between runs: the
//! folder's UIDVALIDITY and, for every message copied, its source UID, the
//! UID it got here and a hash of the flags it had at the source then (so a
//! later run applies the flag changes made at the source, and leaves alone
//! those made here).
//!
//! One file per (account, source, folder) in `data_dir/import/`, named by a
//! keyed MAC of the three (no address or mailbox name in a file name) and
//! sealed under a key derived from the master key (`sealpost-store`'s
//! `FileKey`, purpose `import-state`), written with `sealpost-durable`.
//! 12 octets per message, in memory too.

use crate::{ImportError, Result};
use sealpost_store::{FileKey, Flags};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"SPIMAP01";

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
        let sealed = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ImportError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let plain = self.key.open(&sealed)?;
        FolderState::decode(&plain)
            .map(Some)
            .ok_or_else(|| ImportError::Format(format!("{}: damaged import state", path.display())))
    }

    /// Saves a folder's state durably.
    pub fn save(&self, path: &Path, state: &FolderState) -> Result<()> {
        let io = |source| ImportError::Io {
            path: path.to_path_buf(),
            source,
        };
        sealpost_durable::create_dir(&self.dir).map_err(io)?;
        sealpost_durable::write(path, &self.key.seal(&state.encode())).map_err(io)
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
}

/// A source folder's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderState {
    /// The source folder's UIDVALIDITY these UIDs belong to.
    pub uid_validity: u32,
    /// Ascending by source UID.
    copied: Vec<Copied>,
}

impl FolderState {
    /// A state with nothing copied.
    pub fn new(uid_validity: u32) -> FolderState {
        FolderState {
            uid_validity,
            copied: Vec::new(),
        }
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
        let mut out = Vec::with_capacity(20 + 12 * self.copied.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.uid_validity.to_le_bytes());
        out.extend_from_slice(&(self.copied.len() as u64).to_le_bytes());
        for c in &self.copied {
            for v in [c.source, c.here, c.flags] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    fn decode(b: &[u8]) -> Option<FolderState> {
        let rest = b.strip_prefix(MAGIC)?;
        let u32_at =
            |b: &[u8], i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
        let uid_validity = u32_at(rest, 0)?;
        let count = u64::from_le_bytes(rest.get(4..12)?.try_into().ok()?) as usize;
        let body = &rest[12..];
        if body.len() != count.checked_mul(12)? {
            return None;
        }
        let copied = body
            .chunks_exact(12)
            .map(|c| {
                Some(Copied {
                    source: u32_at(c, 0)?,
                    here: u32_at(c, 4)?,
                    flags: u32_at(c, 8)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(FolderState {
            uid_validity,
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

    #[test]
    fn round_trip_and_lookup() {
        let mut s = FolderState::new(7);
        s.insert(Copied {
            source: 5,
            here: 5,
            flags: 1,
        });
        s.insert(Copied {
            source: 2,
            here: 9,
            flags: 2,
        });
        assert_eq!(FolderState::decode(&s.encode()), Some(s.clone()));
        assert_eq!(s.get_mut(2).unwrap().here, 9);
        assert!(s.get_mut(3).is_none());
        assert_eq!(s.highest_here(), 9);
        assert_eq!(FolderState::decode(&s.encode()[..30]), None);
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
