//! Writing one message's FETCH response (RFC 9051 7.5.2): each data item
//! from what was loaded for it. What a FETCH must load per message is
//! decided here too ([`Wants`]), from its items.
//!
//! Items are written straight into a reused buffer, without allocating per
//! message for the index items (UID, FLAGS, MODSEQ, RFC822.SIZE).

use super::objectid::ObjectKey;
use super::selected::write_flags;
use crate::message::{self, BinaryError, SectionSpec, SectionText, Summary};
use crate::wire::command::FetchAtt;
use crate::wire::response::{literal, quoted, string};
use sealpost_store::{Flags, MessageEntry, MessageMeta, Uid};
use std::io::Write as _;

/// What a FETCH needs per message beyond the index.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wants {
    /// The content (sections, BINARY, RFC822).
    pub body: bool,
    /// The metadata (dates, summary).
    pub meta: bool,
    /// The summary (ENVELOPE, BODY, BODYSTRUCTURE, PREVIEW).
    pub summary: bool,
}

impl Wants {
    pub(crate) fn of(items: &[FetchAtt]) -> Wants {
        let mut w = Wants::default();
        for i in items {
            match i {
                FetchAtt::BodySection { .. }
                | FetchAtt::Binary { .. }
                | FetchAtt::BinarySize(_)
                | FetchAtt::Rfc822
                | FetchAtt::Rfc822Header
                | FetchAtt::Rfc822Text => w.body = true,
                FetchAtt::InternalDate | FetchAtt::SaveDate | FetchAtt::EmailId => w.meta = true,
                FetchAtt::Envelope
                | FetchAtt::Body
                | FetchAtt::BodyStructure
                | FetchAtt::Preview
                | FetchAtt::ThreadId => {
                    w.meta = true;
                    w.summary = true;
                }
                FetchAtt::Uid | FetchAtt::Flags | FetchAtt::ModSeq | FetchAtt::Rfc822Size => {}
            }
        }
        w
    }
}

/// Whether the items set `\Seen` (non-PEEK body items, RFC 9051 6.4.5).
pub(crate) fn sets_seen(items: &[FetchAtt]) -> bool {
    items.iter().any(|i| {
        matches!(
            i,
            FetchAtt::BodySection { peek: false, .. }
                | FetchAtt::Binary { peek: false, .. }
                | FetchAtt::Rfc822
                | FetchAtt::Rfc822Text
        )
    })
}

/// `"dd-Mon-yyyy hh:mm:ss +0000"` (RFC 9051 `date-time`).
pub(crate) fn date_time(unix: i64) -> String {
    match chrono::DateTime::from_timestamp(unix, 0) {
        Some(t) => quoted(&t.format("%d-%b-%Y %H:%M:%S +0000").to_string()),
        None => quoted("01-Jan-1970 00:00:00 +0000"),
    }
}

/// The section as echoed in the response (`1.HEADER.FIELDS (A B)`).
fn section_name(s: &SectionSpec) -> String {
    let mut out: Vec<String> = s.part.iter().map(|p| p.to_string()).collect();
    let text = match &s.text {
        SectionText::Full => None,
        SectionText::Header => Some("HEADER".to_string()),
        SectionText::Text => Some("TEXT".to_string()),
        SectionText::Mime => Some("MIME".to_string()),
        SectionText::HeaderFields(f) | SectionText::HeaderFieldsNot(f) => {
            let names: Vec<String> = f.iter().map(|n| quoted(&n.to_ascii_uppercase())).collect();
            let not = if matches!(s.text, SectionText::HeaderFieldsNot(_)) {
                ".NOT"
            } else {
                ""
            };
            Some(format!("HEADER.FIELDS{not} ({})", names.join(" ")))
        }
    };
    out.extend(text);
    out.join(".")
}

fn part_name(p: &[u32]) -> String {
    p.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

fn apply_partial(data: &[u8], partial: Option<(u32, u32)>) -> &[u8] {
    match partial {
        None => data,
        Some((off, count)) => {
            let start = (off as usize).min(data.len());
            let end = start.saturating_add(count as usize).min(data.len());
            &data[start..end]
        }
    }
}

/// One message as its FETCH response is written.
pub(crate) struct Message<'a> {
    pub seq: u32,
    pub uid: Uid,
    pub entry: &'a MessageEntry,
    /// The flags to report (with `\Seen` when this FETCH sets it).
    pub flags: &'a Flags,
    /// Report `\Recent` (rev1).
    pub recent: bool,
    pub meta: Option<&'a MessageMeta>,
    pub summary: Option<&'a Summary>,
    pub raw: Option<&'a [u8]>,
    /// The account's object id key (EMAILID, THREADID).
    pub ids: Option<&'a ObjectKey>,
    /// UIDONLY is on: a UIDFETCH response (RFC 9586).
    pub uidonly: bool,
}

/// How writing a message went.
pub(crate) struct Written {
    /// A BINARY item met an unknown Content-Transfer-Encoding.
    pub failed_cte: bool,
    /// FLAGS was among the items.
    pub flags: bool,
}

/// Writes `* seq FETCH (items)` (or `* uid UIDFETCH (items)`) without its
/// closing `)\r\n`.
pub(crate) fn write_items(
    buf: &mut Vec<u8>,
    items: &[FetchAtt],
    m: &Message<'_>,
    utf8: bool,
) -> Written {
    let mut written = Written {
        failed_cte: false,
        flags: false,
    };
    super::uidonly::write_fetch_start(buf, m.seq, m.uid, m.uidonly);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b' ');
        }
        match item {
            FetchAtt::Uid => {
                let _ = write!(buf, "UID {}", m.uid);
            }
            FetchAtt::Flags => {
                written.flags = true;
                buf.extend_from_slice(b"FLAGS (");
                write_flags(buf, m.flags, m.recent);
                buf.push(b')');
            }
            FetchAtt::ModSeq => {
                let _ = write!(buf, "MODSEQ ({})", m.entry.modseq);
            }
            FetchAtt::Rfc822Size => {
                let _ = write!(buf, "RFC822.SIZE {}", m.entry.size);
            }
            FetchAtt::InternalDate => {
                let d = m.meta.map(|m| m.internal_date).unwrap_or(0);
                let _ = write!(buf, "INTERNALDATE {}", date_time(d));
            }
            FetchAtt::SaveDate => {
                let d = m.meta.map(|m| m.save_date).unwrap_or(0);
                let _ = write!(buf, "SAVEDATE {}", date_time(d));
            }
            FetchAtt::Rfc822 => {
                buf.extend_from_slice(b"RFC822 ");
                literal(buf, m.raw.unwrap_or_default(), false);
            }
            FetchAtt::Rfc822Header => write_rfc822_part(buf, m, SectionText::Header),
            FetchAtt::Rfc822Text => write_rfc822_part(buf, m, SectionText::Text),
            FetchAtt::BodySection {
                section, partial, ..
            } => write_section(buf, m, section, *partial),
            FetchAtt::Binary { part, partial, .. } => {
                written.failed_cte |= write_binary(buf, m, part, *partial);
            }
            FetchAtt::BinarySize(part) => {
                let n = message::binary(m.raw.unwrap_or_default(), part)
                    .map(|d| d.len())
                    .unwrap_or(0);
                let _ = write!(buf, "BINARY.SIZE[{}] {n}", part_name(part));
            }
            FetchAtt::Envelope => {
                let e = m.summary.map(Summary::envelope).unwrap_or_default();
                let _ = write!(buf, "ENVELOPE {e}");
            }
            FetchAtt::Body | FetchAtt::BodyStructure => {
                let ext = *item == FetchAtt::BodyStructure;
                let b = m.summary.map(|s| s.body_structure(ext)).unwrap_or_default();
                let name = if ext { "BODYSTRUCTURE" } else { "BODY" };
                let _ = write!(buf, "{name} {b}");
            }
            FetchAtt::EmailId => match (m.ids, m.meta) {
                (Some(k), Some(meta)) => {
                    let _ = write!(buf, "EMAILID ({})", k.email(meta));
                }
                _ => buf.extend_from_slice(b"EMAILID NIL"),
            },
            FetchAtt::ThreadId => match (m.ids, m.meta, m.summary) {
                (Some(k), Some(meta), Some(s)) => {
                    let _ = write!(buf, "THREADID ({})", k.thread(meta, s));
                }
                _ => buf.extend_from_slice(b"THREADID NIL"),
            },
            FetchAtt::Preview => {
                let p = m.summary.map(|s| s.preview()).unwrap_or_default();
                let _ = write!(buf, "PREVIEW {}", string(p, utf8));
            }
        }
    }
    written
}

/// RFC822.HEADER / RFC822.TEXT (rev1 forms of BODY[HEADER] / BODY[TEXT]).
fn write_rfc822_part(buf: &mut Vec<u8>, m: &Message<'_>, text: SectionText) {
    let name: &[u8] = if text == SectionText::Header {
        b"RFC822.HEADER "
    } else {
        b"RFC822.TEXT "
    };
    let spec = SectionSpec {
        part: Vec::new(),
        text,
    };
    let data = message::section(m.raw.unwrap_or_default(), &spec).unwrap_or_default();
    buf.extend_from_slice(name);
    literal(buf, &data, false);
}

/// `BODY[section]<origin> data`.
fn write_section(
    buf: &mut Vec<u8>,
    m: &Message<'_>,
    section: &SectionSpec,
    partial: Option<(u32, u32)>,
) {
    let data = message::section(m.raw.unwrap_or_default(), section);
    let _ = write!(buf, "BODY[{}]", section_name(section));
    if let Some((off, _)) = partial {
        let _ = write!(buf, "<{off}>");
    }
    buf.push(b' ');
    match data {
        Some(d) => literal(buf, apply_partial(&d, partial), false),
        None => buf.extend_from_slice(b"NIL"),
    }
}

/// `BINARY[part]<origin> data` (RFC 3516); true when the part's transfer
/// encoding is unknown (the command then ends `NO [UNKNOWN-CTE]`).
fn write_binary(
    buf: &mut Vec<u8>,
    m: &Message<'_>,
    part: &[u32],
    partial: Option<(u32, u32)>,
) -> bool {
    match message::binary(m.raw.unwrap_or_default(), part) {
        Ok(d) => {
            let _ = write!(buf, "BINARY[{}]", part_name(part));
            if let Some((off, _)) = partial {
                let _ = write!(buf, "<{off}>");
            }
            buf.push(b' ');
            let d = apply_partial(&d, partial);
            literal(buf, d, d.contains(&0));
            false
        }
        Err(e) => {
            let _ = write!(buf, "BINARY[{}] NIL", part_name(part));
            e == BinaryError::UnknownCte
        }
    }
}
