//! The names of a segment's files, built and parsed in this one place.
//!
//! A segment numbered `n` has four files sharing one stem: `.seg` (the
//! records), `.pii` (the side file), `.att` (checkpoints while open) and
//! `.seal`. The stem is `<node>.<n as 12 digits>` when the writer was given
//! its node's id (every node of a cluster keeps its own log, and the name
//! says whose it is wherever the files are copied), or just the 12 digits
//! as logs were named before node ids (`000000000007.seg`). Both are read:
//! a log written before the upgrade keeps its old names and goes on
//! verifying, its new segments carry the node id, and the numbers continue
//! across the two. One folder holds one node's log: names of two nodes, or
//! two files for one segment number, are refused by [`list`].

use std::path::Path;

/// The longest node id accepted in a name.
pub const MAX_NODE_BYTES: usize = 64;
/// Digits of the segment number in a name.
const DIGITS: usize = 12;

/// One segment: its number and the node whose log it belongs to, if the
/// name says (names written before node ids do not).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SegmentName {
    /// The segment number, counting from 1 across the log.
    pub number: u64,
    /// The node id in the name, if any.
    pub node: Option<String>,
}

/// Which of a segment's files a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `.seg`: the records.
    Segment,
    /// `.seal`: the signed seal.
    Seal,
    /// `.pii`: the side file of personal fields.
    Pii,
    /// `.att`: checkpoints of the open segment.
    Attestation,
}

impl FileKind {
    fn ext(self) -> &'static str {
        match self {
            FileKind::Segment => "seg",
            FileKind::Seal => "seal",
            FileKind::Pii => "pii",
            FileKind::Attestation => "att",
        }
    }
}

/// Whether `s` may stand as a node id in a name: 1 to [`MAX_NODE_BYTES`]
/// of lowercase ASCII letters, digits and `-`, starting with a letter (so
/// that it can never be taken for a segment number).
pub fn valid_node(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NODE_BYTES
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl SegmentName {
    /// Segment `number` of `node`'s log (`None`: the name without node id).
    pub fn new(number: u64, node: Option<&str>) -> SegmentName {
        SegmentName {
            number,
            node: node.map(str::to_string),
        }
    }

    /// The file name of one of the segment's files.
    pub fn file(&self, kind: FileKind) -> String {
        match &self.node {
            Some(node) => format!("{node}.{:012}.{}", self.number, kind.ext()),
            None => format!("{:012}.{}", self.number, kind.ext()),
        }
    }

    /// The records file (`.seg`).
    pub fn seg(&self) -> String {
        self.file(FileKind::Segment)
    }

    /// The seal file (`.seal`).
    pub fn seal(&self) -> String {
        self.file(FileKind::Seal)
    }

    /// The side file (`.pii`).
    pub fn pii(&self) -> String {
        self.file(FileKind::Pii)
    }

    /// The checkpoints file (`.att`).
    pub fn att(&self) -> String {
        self.file(FileKind::Attestation)
    }

    /// The segment and kind a file name stands for; `None` for any other
    /// name (including copies such as `….seg.damaged-<time>`).
    pub fn parse(name: &str) -> Option<(SegmentName, FileKind)> {
        let (stem, ext) = name.rsplit_once('.')?;
        let kind = [
            FileKind::Segment,
            FileKind::Seal,
            FileKind::Pii,
            FileKind::Attestation,
        ]
        .into_iter()
        .find(|k| k.ext() == ext)?;
        let (node, digits) = match stem.rsplit_once('.') {
            Some((node, digits)) if valid_node(node) => (Some(node), digits),
            Some(_) => return None,
            None => (None, stem),
        };
        if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number = digits.parse().ok()?;
        Some((SegmentName::new(number, node), kind))
    }
}

/// The segments present in `dir` (by their `.seg` files), ascending by
/// number. Fails (`InvalidData`, one line) when the folder mixes two nodes'
/// logs or holds two files for one segment number; names without a node id
/// beside one node's names are one log from before and after the upgrade.
pub fn list(dir: &Path) -> std::io::Result<Vec<SegmentName>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((seg, FileKind::Segment)) = SegmentName::parse(name) {
            out.push(seg);
        }
    }
    out.sort_unstable();
    check_one_log(&out).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok(out)
}

/// Refuses segment names of two nodes, or two names for one number.
fn check_one_log(names: &[SegmentName]) -> Result<(), String> {
    let mut node: Option<&str> = None;
    for n in names {
        if let Some(this) = n.node.as_deref() {
            match node {
                Some(seen) if seen != this => {
                    return Err(format!(
                        "segments of two nodes in one audit folder ({} and {}): give each node's folder separately",
                        n.seg(),
                        SegmentName::new(n.number, Some(seen)).seg()
                    ));
                }
                _ => node = Some(this),
            }
        }
    }
    for pair in names.windows(2) {
        if pair[0].number == pair[1].number {
            return Err(format!(
                "two files for audit segment {}: {} and {}",
                pair[0].number,
                pair[0].seg(),
                pair[1].seg()
            ));
        }
    }
    Ok(())
}

/// The node whose log `segments` are (the node id of their names), if any
/// name carries one.
pub fn node_of(segments: &[SegmentName]) -> Option<&str> {
    segments.iter().rev().find_map(|s| s.node.as_deref())
}

/// The name segment `number` of the log in `segments` has or would have:
/// its own if listed, else with the log's node id.
pub fn name_in(segments: &[SegmentName], number: u64) -> SegmentName {
    segments
        .iter()
        .find(|s| s.number == number)
        .cloned()
        .unwrap_or_else(|| SegmentName::new(number, node_of(segments)))
}

/// Refuses a node id [`valid_node`] does not accept (`InvalidInput`).
pub(crate) fn check_node(node: &str) -> std::io::Result<()> {
    if valid_node(node) {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "{node:?} is not a node id for audit segment names (lower-case letters, digits and -, at most {MAX_NODE_BYTES})"
        ),
    ))
}
/// The node id new segments of the log in `dir` are named with: the one
/// its names already carry, else `given`.
pub(crate) fn writer_node(
    dir: &Path,
    given: Option<&str>,
) -> Result<Option<String>, crate::AuditError> {
    let segments = list(dir).map_err(|e| crate::AuditError::io(dir, e))?;
    let Some(found) = node_of(&segments) else {
        return Ok(given.map(str::to_string));
    };
    if given.is_some_and(|g| g != found) {
        tracing::warn!(
            log = found,
            node = given,
            "the audit folder holds the log of another node id; its segments keep that id"
        );
    }
    Ok(Some(found.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses_old_and_new_names() {
        let old = SegmentName::new(7, None);
        assert_eq!(old.seg(), "000000000007.seg");
        assert_eq!(old.seal(), "000000000007.seal");
        assert_eq!(old.pii(), "000000000007.pii");
        assert_eq!(old.att(), "000000000007.att");
        let new = SegmentName::new(7, Some("node-0123456789ab"));
        assert_eq!(new.seg(), "node-0123456789ab.000000000007.seg");
        assert_eq!(new.att(), "node-0123456789ab.000000000007.att");
        for s in [&old, &new] {
            for kind in [
                FileKind::Segment,
                FileKind::Seal,
                FileKind::Pii,
                FileKind::Attestation,
            ] {
                assert_eq!(SegmentName::parse(&s.file(kind)), Some((s.clone(), kind)));
            }
        }
        assert_eq!(
            SegmentName::parse("999999999999.seg"),
            Some((SegmentName::new(999_999_999_999, None), FileKind::Segment))
        );
    }

    #[test]
    fn refuses_other_names() {
        for name in [
            "",
            ".seg",
            "7.seg",
            "0000000000007.seg",
            "00000000000x.seg",
            "000000000007.seg.damaged-1700000000",
            "000000000007.log",
            "000000000007",
            "checkpoint.json",
            "signing.pub",
            "Node.000000000007.seg",
            "1node.000000000007.seg",
            ".000000000007.seg",
            "node..000000000007.seg",
            "node/x.000000000007.seg",
            "000000000001.000000000007.seg",
            "node-a.00000000007.seg",
            "node-a.+00000000007.seg",
        ] {
            assert_eq!(SegmentName::parse(name), None, "{name}");
        }
        let long = "n".repeat(MAX_NODE_BYTES + 1);
        assert_eq!(
            SegmentName::parse(&format!("{long}.000000000001.seg")),
            None
        );
        let max = "n".repeat(MAX_NODE_BYTES);
        assert!(SegmentName::parse(&format!("{max}.000000000001.seg")).is_some());
    }

    #[test]
    fn one_folder_is_one_log() {
        let d = tempfile::tempdir().unwrap();
        let touch = |n: &str| std::fs::write(d.path().join(n), b"").unwrap();
        touch("000000000001.seg");
        touch("000000000001.seal");
        touch("node-a.000000000002.seg");
        touch("000000000002.seg.damaged-5");
        let names = list(d.path()).unwrap();
        assert_eq!(
            names,
            vec![
                SegmentName::new(1, None),
                SegmentName::new(2, Some("node-a"))
            ]
        );
        assert_eq!(node_of(&names), Some("node-a"));
        assert_eq!(name_in(&names, 1).seg(), "000000000001.seg");
        assert_eq!(name_in(&names, 3).seg(), "node-a.000000000003.seg");
        touch("node-b.000000000003.seg");
        let err = list(d.path()).unwrap_err().to_string();
        assert!(err.contains("two nodes"), "{err}");
        std::fs::remove_file(d.path().join("node-b.000000000003.seg")).unwrap();
        touch("000000000002.seg");
        let err = list(d.path()).unwrap_err().to_string();
        assert!(err.contains("two files for audit segment 2"), "{err}");
    }
}
