//! Whether an embedded store may start in a data_dir: the one rule that
//! opening the store ([`crate::Store::open`]) and the CLI's offline edits
//! (`account add`, `alias`, `import-accounts`) both follow.
//!
//! A master key without its data_dir, or beside a data_dir that holds
//! nothing of a store (a `lock` file at most), most likely means the data
//! disk is not mounted or the path is mistyped: starting an empty store
//! there would hide every mailbox. The operator who wants an empty store
//! beside an existing key says so with an empty file [`NEW_STORE`] in
//! data_dir. With no master key yet, it is a first start.
//!
//! [`data_dir_state`] only looks: it creates and removes nothing, so each
//! caller decides what to do with the answer (the store removes the marker
//! once it has started on it; the CLI leaves it for the store).

use std::path::Path;

/// The file an operator puts in an empty data_dir to start an empty store
/// beside an existing master key on purpose; removed once seen.
pub const NEW_STORE: &str = "new-store";

/// What a data_dir and the master key beside it say about starting a store
/// there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirState {
    /// No master key yet: a first start, data_dir is made if missing.
    FirstStart,
    /// data_dir holds something besides a `lock` file: a store (or
    /// whatever opening it will judge) is in place.
    InPlace,
    /// The master key exists, data_dir does not: refused.
    Missing,
    /// The master key exists, data_dir holds nothing but a `lock` file at
    /// most: refused.
    Empty,
    /// The master key exists, data_dir holds [`NEW_STORE`] and a `lock`
    /// file at most: an empty store on purpose.
    NewStore,
}

impl DataDirState {
    /// How a refused data_dir is described ("does not exist", "is
    /// empty"); `None` when a store may start or is in place.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            DataDirState::Missing => Some("does not exist"),
            DataDirState::Empty => Some("is empty"),
            DataDirState::FirstStart | DataDirState::InPlace | DataDirState::NewStore => None,
        }
    }
}

/// Looks at `dir` and `master_key` and says which [`DataDirState`] they
/// are in. Reads only; the error is the one reading `dir` gave (a `dir`
/// that is a file gives one too).
pub fn data_dir_state(dir: &Path, master_key: &Path) -> std::io::Result<DataDirState> {
    if !master_key.exists() {
        return Ok(DataDirState::FirstStart);
    }
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DataDirState::Missing),
        Err(e) => return Err(e),
        Ok(entries) => entries,
    };
    let mut marker = false;
    for entry in entries {
        match entry?.file_name().to_str() {
            Some("lock") => {}
            Some(NEW_STORE) => marker = true,
            _ => return Ok(DataDirState::InPlace),
        }
    }
    Ok(if marker {
        DataDirState::NewStore
    } else {
        DataDirState::Empty
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data_dir and a master key path in a temporary folder, neither
    /// made yet.
    struct Site {
        _tmp: tempfile::TempDir,
        dir: std::path::PathBuf,
        key: std::path::PathBuf,
    }

    impl Site {
        fn new() -> Site {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("data");
            let key = tmp.path().join("master.key");
            Site {
                _tmp: tmp,
                dir,
                key,
            }
        }

        fn state(&self) -> DataDirState {
            data_dir_state(&self.dir, &self.key).unwrap()
        }

        fn put(&self, name: &str) {
            std::fs::write(self.dir.join(name), b"").unwrap();
        }

        /// The names in data_dir, sorted: what the predicate left there.
        fn names(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&self.dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        }
    }

    #[test]
    fn without_a_master_key_it_is_a_first_start_whatever_data_dir_holds() {
        let site = Site::new();
        assert_eq!(site.state(), DataDirState::FirstStart);
        assert!(!site.dir.exists(), "nothing made");
        std::fs::create_dir(&site.dir).unwrap();
        assert_eq!(site.state(), DataDirState::FirstStart);
        site.put("lock");
        assert_eq!(site.state(), DataDirState::FirstStart);
    }

    #[test]
    fn a_master_key_without_data_dir_is_refused_as_missing() {
        let site = Site::new();
        std::fs::write(&site.key, b"key").unwrap();
        assert_eq!(site.state(), DataDirState::Missing);
        assert_eq!(site.state().refusal(), Some("does not exist"));
        assert!(!site.dir.exists(), "nothing made");
    }

    #[test]
    fn a_master_key_beside_an_empty_data_dir_or_a_lone_lock_is_refused_as_empty() {
        let site = Site::new();
        std::fs::write(&site.key, b"key").unwrap();
        std::fs::create_dir(&site.dir).unwrap();
        assert_eq!(site.state(), DataDirState::Empty);
        assert_eq!(site.state().refusal(), Some("is empty"));
        site.put("lock");
        assert_eq!(site.state(), DataDirState::Empty);
        assert_eq!(site.names(), ["lock"], "nothing made or removed");
    }

    #[test]
    fn the_marker_lets_an_empty_store_start_and_stays_for_the_caller() {
        let site = Site::new();
        std::fs::write(&site.key, b"key").unwrap();
        std::fs::create_dir(&site.dir).unwrap();
        site.put(NEW_STORE);
        assert_eq!(site.state(), DataDirState::NewStore);
        assert_eq!(site.state().refusal(), None);
        site.put("lock");
        assert_eq!(site.state(), DataDirState::NewStore);
        assert_eq!(
            site.names(),
            ["lock", NEW_STORE],
            "the marker is not removed"
        );
    }

    #[test]
    fn anything_else_in_data_dir_is_a_store_in_place() {
        let site = Site::new();
        std::fs::write(&site.key, b"key").unwrap();
        std::fs::create_dir(&site.dir).unwrap();
        site.put("lock");
        site.put("keycheck");
        assert_eq!(site.state(), DataDirState::InPlace);
        assert_eq!(site.state().refusal(), None);
        // The marker beside a store changes nothing.
        site.put(NEW_STORE);
        assert_eq!(site.state(), DataDirState::InPlace);
        let other = Site::new();
        std::fs::write(&other.key, b"key").unwrap();
        std::fs::create_dir_all(other.dir.join("audit")).unwrap();
        assert_eq!(other.state(), DataDirState::InPlace, "a folder counts too");
    }

    #[test]
    fn a_data_dir_that_is_a_file_is_an_error_to_the_caller() {
        let site = Site::new();
        std::fs::write(&site.key, b"key").unwrap();
        std::fs::write(&site.dir, b"not a folder").unwrap();
        assert!(data_dir_state(&site.dir, &site.key).is_err());
    }
}
