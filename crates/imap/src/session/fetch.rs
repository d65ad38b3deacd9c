//! FETCH and UID FETCH (RFC 9051 6.4.5, 7.5.2; RFC 3516 BINARY; RFC 7162
//! CHANGEDSINCE and MODSEQ; RFC 8514 SAVEDATE).
//!
//! What is read per message depends on the items: UID, FLAGS, MODSEQ and
//! RFC822.SIZE come from the in-memory index (`Store::snapshot`), so
//! `FETCH 1:* (UID FLAGS)` never touches a message body; dates and
//! summaries come from `Store::meta`, read inline (the store serves it from
//! sled without syncing, so a per-message hop to the blocking pool would
//! only add latency); sections from `Store::read` on the blocking pool, one
//! message at a time.
//! A non-PEEK body fetch sets `\Seen` (read-write mailboxes only) and
//! reports the new flags.

use super::select::{Target, write_flags};
use super::{Done, Session};
use crate::error::{CmdError, CmdResult};
use crate::mailstore::MailStore;
use crate::message::{self, BinaryError, SectionSpec, SectionText, Summary};
use crate::wire::command::{FetchAtt, FetchModifiers, MessageSet, Section, SectionKind};
use crate::wire::response::{Code, Out, literal, quoted, string};
use sealpost_store::{FlagOp, Flags, MessageEntry, MessageMeta, Uid};
use std::io::Write as _;

/// `"dd-Mon-yyyy hh:mm:ss +0000"` (RFC 9051 `date-time`).
pub(crate) fn date_time(unix: i64) -> String {
    match chrono::DateTime::from_timestamp(unix, 0) {
        Some(t) => quoted(&t.format("%d-%b-%Y %H:%M:%S +0000").to_string()),
        None => quoted("01-Jan-1970 00:00:00 +0000"),
    }
}

fn section_spec(s: &Section) -> SectionSpec {
    SectionSpec {
        part: s.part.clone(),
        text: match &s.text {
            SectionKind::Full => SectionText::Full,
            SectionKind::Header => SectionText::Header,
            SectionKind::HeaderFields(f) => SectionText::HeaderFields(f.clone()),
            SectionKind::HeaderFieldsNot(f) => SectionText::HeaderFieldsNot(f.clone()),
            SectionKind::Text => SectionText::Text,
            SectionKind::Mime => SectionText::Mime,
        },
    }
}

/// The section as echoed in the response (`BODY[1.HEADER.FIELDS (A B)]`).
fn section_name(s: &Section) -> String {
    let mut out: Vec<String> = s.part.iter().map(|p| p.to_string()).collect();
    let text = match &s.text {
        SectionKind::Full => None,
        SectionKind::Header => Some("HEADER".to_string()),
        SectionKind::Text => Some("TEXT".to_string()),
        SectionKind::Mime => Some("MIME".to_string()),
        SectionKind::HeaderFields(f) | SectionKind::HeaderFieldsNot(f) => {
            let names: Vec<String> = f.iter().map(|n| quoted(&n.to_ascii_uppercase())).collect();
            let not = if matches!(s.text, SectionKind::HeaderFieldsNot(_)) {
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

fn needs_body(items: &[FetchAtt]) -> bool {
    items.iter().any(|i| {
        matches!(
            i,
            FetchAtt::BodySection { .. }
                | FetchAtt::Binary { .. }
                | FetchAtt::BinarySize(_)
                | FetchAtt::Rfc822
                | FetchAtt::Rfc822Header
                | FetchAtt::Rfc822Text
        )
    })
}

fn needs_meta(items: &[FetchAtt]) -> bool {
    items.iter().any(|i| {
        matches!(
            i,
            FetchAtt::InternalDate
                | FetchAtt::SaveDate
                | FetchAtt::Envelope
                | FetchAtt::Body
                | FetchAtt::BodyStructure
                | FetchAtt::Preview
        )
    })
}

fn sets_seen(items: &[FetchAtt]) -> bool {
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

impl<S: MailStore> Session<S> {
    pub(super) async fn fetch(
        &mut self,
        uid: bool,
        set: MessageSet,
        mut items: Vec<FetchAtt>,
        modifiers: FetchModifiers,
        out: &mut Out,
    ) -> CmdResult<Done> {
        let rev2 = self.enabled.rev2;
        let utf8 = self.utf8_names();
        // CONDSTORE-enabling (RFC 7162 3.1).
        if modifiers.changed_since.is_some() || items.contains(&FetchAtt::ModSeq) {
            self.enabled.condstore = true;
        }
        let (account, sel) = self.selected()?;
        let targets = sel.resolve(&set, uid)?;
        if uid && !items.contains(&FetchAtt::Uid) {
            items.insert(0, FetchAtt::Uid);
        }
        if modifiers.changed_since.is_some() && !items.contains(&FetchAtt::ModSeq) {
            items.push(FetchAtt::ModSeq);
        }
        let (aid, mid, read_only) = (account.id, sel.info.id, sel.read_only);
        let saved = sel.saved.clone();
        if let (true, Some(since)) = (modifiers.vanished, modifiers.changed_since) {
            if !self.enabled.qresync {
                return Err(CmdError::bad(
                    Some(Code::ClientBug),
                    "VANISHED needs ENABLE QRESYNC",
                ));
            }
            // RFC 7162 3.2.6: UIDs in the set expunged since CHANGEDSINCE.
            let since = sealpost_store::ModSeq(since);
            let changes = self
                .blocking(move |s| s.changes_since(aid, mid, since))
                .await?;
            let vanished: Vec<Uid> = changes
                .vanished
                .into_iter()
                .filter(|u| match &set {
                    MessageSet::Set(set) => set.contains(u.0, u32::MAX),
                    MessageSet::Saved => saved.binary_search(u).is_ok(),
                })
                .collect();
            if !vanished.is_empty() {
                out.untagged(&format!(
                    "VANISHED (EARLIER) {}",
                    super::messages::uid_set(&vanished)
                ));
            }
        }
        let set_seen = sets_seen(&items) && !read_only;
        // The index: flags, modseqs and sizes without reading messages,
        // sorted by UID (binary search, no per-FETCH hash table).
        let index: Vec<MessageEntry> = self.blocking(move |s| s.snapshot(aid, mid)).await?.entries;
        let (_, sel) = self.selected()?;
        let recent = sel.recent.clone();
        let wants_body = needs_body(&items);
        let wants_meta = needs_meta(&items);
        let wants_summary = items.iter().any(|i| {
            matches!(
                i,
                FetchAtt::Envelope | FetchAtt::Body | FetchAtt::BodyStructure | FetchAtt::Preview
            )
        });
        let mut seen_now: Vec<Uid> = Vec::new();
        let mut failed_cte = false;
        let mut buf: Vec<u8> = Vec::with_capacity(256);
        for Target { seq, uid: u } in targets {
            let Some(entry) = index
                .binary_search_by_key(&u, |e| e.uid)
                .ok()
                .map(|i| &index[i])
            else {
                // Expunged by another session, not yet announced: skip it
                // (RFC 9051 7.5.2 allows omitting it).
                continue;
            };
            if let Some(since) = modifiers.changed_since
                && entry.modseq.0 <= since
            {
                continue;
            }
            let meta: Option<MessageMeta> = if wants_meta {
                self.ctx.store.meta(aid, mid, u)?
            } else {
                None
            };
            let mut summary: Option<Summary> = if wants_summary {
                meta.as_ref().and_then(|m| Summary::decode(&m.summary))
            } else {
                None
            };
            // No usable summary (made before the format changed, or by a
            // store without the IMAP summarizer): make one from the message.
            let fallback = wants_summary && summary.is_none();
            let raw: Option<Vec<u8>> = if wants_body || fallback {
                match self.blocking(move |s| s.read(aid, mid, u)).await? {
                    Some(r) => Some(r),
                    None => continue,
                }
            } else {
                None
            };
            if fallback {
                summary = raw.as_deref().map(Summary::from_message);
            }
            let mut seen_flags;
            let mut flags = &entry.flags;
            if set_seen && !flags.has(Flags::SEEN) {
                seen_flags = flags.clone();
                seen_flags.system |= Flags::SEEN;
                flags = &seen_flags;
                seen_now.push(u);
            }
            buf.clear();
            let _ = write!(buf, "* {seq} FETCH (");
            let mut first = true;
            let mut flags_written = false;
            for item in &items {
                if !first {
                    buf.push(b' ');
                }
                first = false;
                match item {
                    FetchAtt::Uid => {
                        let _ = write!(buf, "UID {u}");
                    }
                    FetchAtt::Flags => {
                        flags_written = true;
                        let r = !rev2 && recent.contains(&u);
                        buf.extend_from_slice(b"FLAGS (");
                        write_flags(&mut buf, flags, r);
                        buf.push(b')');
                    }
                    FetchAtt::ModSeq => {
                        let _ = write!(buf, "MODSEQ ({})", entry.modseq);
                    }
                    FetchAtt::Rfc822Size => {
                        let _ = write!(buf, "RFC822.SIZE {}", entry.size);
                    }
                    FetchAtt::InternalDate => {
                        let d = meta.as_ref().map(|m| m.internal_date).unwrap_or(0);
                        buf.extend_from_slice(format!("INTERNALDATE {}", date_time(d)).as_bytes())
                    }
                    FetchAtt::SaveDate => {
                        let d = meta.as_ref().map(|m| m.save_date).unwrap_or(0);
                        buf.extend_from_slice(format!("SAVEDATE {}", date_time(d)).as_bytes())
                    }
                    FetchAtt::Rfc822 => {
                        let r = raw.as_deref().unwrap_or_default();
                        buf.extend_from_slice(b"RFC822 ");
                        literal(&mut buf, r, false);
                    }
                    FetchAtt::Rfc822Header | FetchAtt::Rfc822Text => {
                        let (name, text) = if *item == FetchAtt::Rfc822Header {
                            ("RFC822.HEADER ", SectionText::Header)
                        } else {
                            ("RFC822.TEXT ", SectionText::Text)
                        };
                        let spec = SectionSpec {
                            part: Vec::new(),
                            text,
                        };
                        let data = message::section(raw.as_deref().unwrap_or_default(), &spec)
                            .unwrap_or_default();
                        buf.extend_from_slice(name.as_bytes());
                        literal(&mut buf, &data, false);
                    }
                    FetchAtt::BodySection {
                        section, partial, ..
                    } => {
                        let data = message::section(
                            raw.as_deref().unwrap_or_default(),
                            &section_spec(section),
                        );
                        buf.extend_from_slice(
                            format!("BODY[{}]", section_name(section)).as_bytes(),
                        );
                        if let Some((off, _)) = partial {
                            buf.extend_from_slice(format!("<{off}>").as_bytes());
                        }
                        buf.push(b' ');
                        match data {
                            Some(d) => literal(&mut buf, apply_partial(&d, *partial), false),
                            None => buf.extend_from_slice(b"NIL"),
                        }
                    }
                    FetchAtt::Binary { part, partial, .. } => {
                        match message::binary(raw.as_deref().unwrap_or_default(), part) {
                            Ok(d) => {
                                buf.extend_from_slice(
                                    format!("BINARY[{}]", part_name(part)).as_bytes(),
                                );
                                if let Some((off, _)) = partial {
                                    buf.extend_from_slice(format!("<{off}>").as_bytes());
                                }
                                buf.push(b' ');
                                let d = apply_partial(&d, *partial);
                                literal(&mut buf, d, d.contains(&0));
                            }
                            Err(BinaryError::UnknownCte) => {
                                failed_cte = true;
                                buf.extend_from_slice(
                                    format!("BINARY[{}] NIL", part_name(part)).as_bytes(),
                                );
                            }
                            Err(BinaryError::NoSuchPart) => buf.extend_from_slice(
                                format!("BINARY[{}] NIL", part_name(part)).as_bytes(),
                            ),
                        }
                    }
                    FetchAtt::BinarySize(part) => {
                        let n = message::binary(raw.as_deref().unwrap_or_default(), part)
                            .map(|d| d.len())
                            .unwrap_or(0);
                        buf.extend_from_slice(
                            format!("BINARY.SIZE[{}] {n}", part_name(part)).as_bytes(),
                        );
                    }
                    FetchAtt::Envelope => {
                        let e = summary.as_ref().map(Summary::envelope).unwrap_or_default();
                        buf.extend_from_slice(format!("ENVELOPE {e}").as_bytes());
                    }
                    FetchAtt::Body | FetchAtt::BodyStructure => {
                        let ext = *item == FetchAtt::BodyStructure;
                        let b = summary
                            .as_ref()
                            .map(|s| s.body_structure(ext))
                            .unwrap_or_default();
                        let name = if ext { "BODYSTRUCTURE" } else { "BODY" };
                        buf.extend_from_slice(format!("{name} {b}").as_bytes());
                    }
                    FetchAtt::Preview => {
                        let p = summary.as_ref().map(|s| s.preview()).unwrap_or_default();
                        buf.extend_from_slice(format!("PREVIEW {}", string(p, utf8)).as_bytes());
                    }
                }
            }
            if seen_now.last() == Some(&u) && !flags_written {
                let r = !rev2 && recent.contains(&u);
                buf.extend_from_slice(b" FLAGS (");
                write_flags(&mut buf, flags, r);
                buf.push(b')');
            }
            buf.extend_from_slice(b")\r\n");
            out.raw(&buf);
            // A long response goes out as it is made (see `Session::spill`).
            self.spill(out).await;
        }
        if !seen_now.is_empty() {
            let seen = Flags::system(Flags::SEEN);
            let outcome = self
                .blocking(move |s| s.store_flags(aid, mid, &seen_now, FlagOp::Add, &seen, None))
                .await?;
            let (_, sel) = self.selected()?;
            for e in &outcome.updated {
                sel.own_change(e);
            }
        }
        if failed_cte {
            return Err(CmdError::no(
                Some(Code::UnknownCte),
                "A part has an unknown Content-Transfer-Encoding",
            ));
        }
        Done::ok("FETCH completed")
    }
}
