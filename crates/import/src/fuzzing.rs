//! Entry points for the fuzz targets (`fuzz/import`) and the corpus replay
//! (`tests/fuzz_corpus.rs`): each runs one parser over arbitrary bytes and
//! checks what must hold whatever the input (no panic, limits kept).

use crate::imap::{body_stream, client, framer};
use crate::{maildir, mbox};

/// `dovecot-uidlist`: never a panic; no UID 0, no empty name, no entry
/// past the limit.
pub fn uidlist(data: &[u8]) {
    if let Ok(list) = maildir::parse_uidlist(data) {
        assert!(list.uids.len() <= maildir::MAX_UIDLIST_ENTRIES);
        for (name, uid) in &list.uids {
            assert!(*uid > 0 && !name.is_empty() && !name.contains(':'));
        }
    }
}

/// `dovecot-keywords`: never a panic; letters `a`-`z`, keywords within
/// the limit, without spaces.
pub fn keywords(data: &[u8]) {
    if let Ok(k) = maildir::parse_keywords(data) {
        for (letter, word) in &k {
            assert!(letter.is_ascii_lowercase());
            assert!(!word.is_empty() && word.len() <= maildir::MAX_KEYWORD);
            assert!(!word.contains(' '));
        }
    }
    let _ = maildir::parse_subscriptions(data);
}

/// mbox: never a panic; every message within the (small) limit and CRLF
/// wherever the input had a line end.
pub fn mbox(data: &[u8]) {
    const LIMIT: usize = 4096;
    let mut pieces = mbox::Reader::with_limit(data, LIMIT);
    while let Ok(Some(_)) = pieces.next_message_to(&mut |p| {
        assert!(!p.is_empty() && p.len() <= 64 * 1024 + 2);
        Ok(())
    }) {}
    let mut reader = mbox::Reader::with_limit(data, LIMIT);
    let mut count = 0;
    while let Ok(Some(m)) = reader.next_message() {
        assert!(m.raw.len() <= LIMIT + 2);
        let _ = mbox::flags_of(&m.raw);
        count += 1;
        assert!(count <= data.len() + 1);
    }
}

/// An IMAP server's responses: the framer never claims more than it has
/// and keeps its limits; whatever it cuts parses to some reply; every line
/// classifies (the streamed body fetch) without a panic, a literal only
/// where the line ends in `{N}`.
pub fn imap_responses(data: &[u8]) {
    for line in data.split_inclusive(|&b| b == b'\n') {
        for in_fetch in [false, true] {
            if let body_stream::Line::Literal { .. } = body_stream::classify(line, "i1", in_fetch) {
                let t = line.trim_ascii_end();
                assert!(t.ends_with(b"}"), "{line:?}");
            }
        }
    }
    let mut rest = data;
    while !rest.is_empty() {
        let mut f = framer::Framer::default();
        match f.frame_with(rest, 4096) {
            Ok(Some(end)) => {
                assert!(end > 0 && end <= rest.len());
                let _ = client::parse(&rest[..end]);
                rest = &rest[end..];
            }
            Ok(None) | Err(_) => break,
        }
    }
}
