//! Data-subject export (GDPR articles 15 and 20): a tar archive with every
//! mailbox of an account, its own access log and a README.
//!
//! # Layout
//!
//! ```text
//! README.txt                what is inside, and how the flags are written
//! access-log.csv            the account's own logins (time, protocol, IP, outcome)
//! shared-access.csv         mailboxes shared by or with the account (`export_shared.rs`)
//! metadata.json             its IMAP METADATA annotations (RFC 5464), when it has any
//! mbox/<mailbox>.mbox       one mboxrd file per mailbox (format mbox), or
//! Maildir/<mailbox>/cur/... one file per message (format maildir)
//! ```
//!
//! mbox files follow RFC 4155 with mboxrd quoting (a line matching
//! `^>*From ` gets one more `>`), the way Thunderbird, mutt and Dovecot read
//! them. Each message keeps its stored bytes (CRLF line ends) and is preceded
//! by three added header lines carrying its flags: `Status:` (`R` seen, `O`
//! old), `X-Status:` (`A` answered, `F` flagged, `T` draft, `D` deleted) and
//! `X-Keywords:` (space-separated keywords). A message that does not end
//! with a line break gets one (CRLF, like stored mail) in mbox: the format
//! cannot end a message otherwise. Maildir keeps every byte. Maildir files carry the flags in
//! their names (`:2,DFRST`); keywords have no place there (Dovecot's
//! `dovecot-keywords` is its own), so mbox is the format that keeps them.
//!
//! # Streaming
//!
//! Memory stays flat whatever the account's size: tar entries are fed by a
//! reader that decrypts one message at a time. An mbox entry's size must be
//! known before its bytes, so each mailbox is read twice (once to size it).

use sealpost_store::{AccountId, Flags, MailboxInfo, MetadataScope, Store, StoreError, Uid};
use std::io::{self, Read, Write};

/// Archive layout for mailboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One mboxrd file per mailbox.
    Mbox,
    /// One Maildir per mailbox.
    Maildir,
}

/// What an export contained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Mailboxes written.
    pub mailboxes: u64,
    /// Messages written.
    pub messages: u64,
    /// Message octets written (before quoting).
    pub bytes: u64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No such active account.
    #[error("no active account {0}")]
    NoAccount(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Writing the archive failed.
    #[error("writing the archive: {0}")]
    Io(#[from] io::Error),
}

/// Writes the archive of `address` to `out`. `progress(done, total)` is
/// called after each message.
pub fn export_account<W: Write>(
    store: &Store,
    address: &str,
    format: Format,
    access_log_csv: &[u8],
    out: W,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ExportReport, ExportError> {
    let account = store
        .account_id(address)?
        .ok_or_else(|| ExportError::NoAccount(address.to_string()))?;
    let mailboxes = store.mailboxes(account)?;
    let total: u64 = mailboxes
        .iter()
        .map(|m| store.status(account, m.id).map(|s| s.messages as u64))
        .sum::<Result<u64, _>>()?;
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let mut tar = tar::Builder::new(out);
    let mut report = ExportReport::default();
    append(
        &mut tar,
        "README.txt",
        readme(address, format, now).as_bytes(),
        now,
    )?;
    append(&mut tar, "access-log.csv", access_log_csv, now)?;
    let shared = crate::export_shared::shared_access_csv(store, account)?;
    append(&mut tar, "shared-access.csv", &shared, now)?;
    if let Some(json) = metadata_json(store, account, &mailboxes)? {
        append(&mut tar, "metadata.json", json.as_bytes(), now)?;
    }
    let mut done = 0u64;
    for mailbox in &mailboxes {
        let uids: Vec<Uid> = store
            .snapshot(account, mailbox.id)?
            .entries
            .iter()
            .map(|e| e.uid)
            .collect();
        report.mailboxes += 1;
        match format {
            Format::Mbox => {
                // Pass 1: the entry's exact size.
                let mut size = 0u64;
                for &uid in &uids {
                    if let Some(m) = mbox_message(store, account, mailbox, uid)? {
                        size += m.len() as u64;
                    }
                }
                let reader = MboxReader {
                    store,
                    account,
                    mailbox,
                    uids: &uids,
                    next: 0,
                    buf: Vec::new(),
                    pos: 0,
                    written: 0,
                    size,
                    report: &mut report,
                    progress: &mut *progress,
                    done: &mut done,
                    total,
                };
                let mut header = header(size, now);
                tar.append_data(&mut header, format!("mbox/{}.mbox", mailbox.name), reader)?;
            }
            Format::Maildir => {
                for dir in ["cur", "new", "tmp"] {
                    let mut h = tar::Header::new_gnu();
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o700);
                    h.set_size(0);
                    h.set_mtime(now);
                    tar.append_data(
                        &mut h,
                        format!("Maildir/{}/{dir}/", mailbox.name),
                        io::empty(),
                    )?;
                }
                for &uid in &uids {
                    let (Some(raw), Some(meta)) = (
                        store.read(account, mailbox.id, uid)?,
                        store.meta(account, mailbox.id, uid)?,
                    ) else {
                        continue;
                    };
                    let name = format!(
                        "Maildir/{}/cur/{}.{}_{}.sealpost:2,{}",
                        mailbox.name,
                        meta.internal_date,
                        mailbox.uid_validity,
                        uid,
                        maildir_flags(&meta.flags)
                    );
                    let mut h = header(raw.len() as u64, meta.internal_date.max(0) as u64);
                    tar.append_data(&mut h, name, raw.as_slice())?;
                    report.messages += 1;
                    report.bytes += raw.len() as u64;
                    done += 1;
                    progress(done, total);
                }
            }
        }
    }
    tar.into_inner()?.flush()?;
    Ok(report)
}

/// The account's METADATA entries as a JSON array of `{"mailbox": name
/// or null for the server, "entry": ..., "value": ...}` (`value_hex`
/// instead for a value that is not UTF-8); `None` when there are none.
fn metadata_json(
    store: &Store,
    account: AccountId,
    mailboxes: &[MailboxInfo],
) -> Result<Option<String>, ExportError> {
    let scopes = std::iter::once((None, MetadataScope::Server)).chain(
        mailboxes
            .iter()
            .map(|m| (Some(m.name.as_str()), MetadataScope::Mailbox(m.id))),
    );
    let mut items = Vec::new();
    for (mailbox, scope) in scopes {
        for (entry, value) in store.metadata(account, scope)? {
            let mut item = serde_json::json!({ "mailbox": mailbox, "entry": entry });
            match String::from_utf8(value) {
                Ok(text) => item["value"] = text.into(),
                Err(e) => {
                    let hex: String = e.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
                    item["value_hex"] = hex.into();
                }
            }
            items.push(item);
        }
    }
    if items.is_empty() {
        return Ok(None);
    }
    let json = serde_json::to_string_pretty(&items).map_err(io::Error::other)?;
    Ok(Some(json + "\n"))
}

fn header(size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o600);
    h.set_size(size);
    h.set_mtime(mtime);
    h
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
    now: u64,
) -> io::Result<()> {
    let mut h = header(data.len() as u64, now);
    tar.append_data(&mut h, path, data)
}

/// One message as it appears in an mbox file: From_ line, flag headers,
/// quoted body, blank separator line.
fn mbox_message(
    store: &Store,
    account: AccountId,
    mailbox: &MailboxInfo,
    uid: Uid,
) -> Result<Option<Vec<u8>>, StoreError> {
    let (Some(raw), Some(meta)) = (
        store.read(account, mailbox.id, uid)?,
        store.meta(account, mailbox.id, uid)?,
    ) else {
        return Ok(None);
    };
    let date = chrono::DateTime::from_timestamp(meta.internal_date, 0)
        .unwrap_or_default()
        .format("%a %b %e %H:%M:%S %Y");
    let mut out = Vec::with_capacity(raw.len() + 128);
    out.extend_from_slice(format!("From MAILER-DAEMON {date}\n").as_bytes());
    let f = &meta.flags;
    let status = if f.has(Flags::SEEN) { "RO" } else { "O" };
    let mut x = String::new();
    for (bit, c) in [
        (Flags::ANSWERED, 'A'),
        (Flags::FLAGGED, 'F'),
        (Flags::DRAFT, 'T'),
        (Flags::DELETED, 'D'),
    ] {
        if f.has(bit) {
            x.push(c);
        }
    }
    out.extend_from_slice(
        format!(
            "Status: {status}\r\nX-Status: {x}\r\nX-Keywords: {}\r\n",
            f.keywords.join(" ")
        )
        .as_bytes(),
    );
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let stripped = line
            .iter()
            .position(|&b| b != b'>')
            .map_or(&line[line.len()..], |i| &line[i..]);
        if stripped.starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
    if !raw.ends_with(b"\n") {
        // In the message's own line ending style (stored mail is CRLF).
        if memchr_crlf(&raw) {
            out.extend_from_slice(b"\r\n");
        } else {
            out.push(b'\n');
        }
    }
    out.push(b'\n');
    Ok(Some(out))
}

/// Whether a message uses CRLF line ends.
fn memchr_crlf(raw: &[u8]) -> bool {
    raw.windows(2).any(|w| w == b"\r\n")
}

fn maildir_flags(f: &Flags) -> String {
    // Maildir flags in ASCII order: D(raft) F(lagged) R(eplied) S(een) T(rashed).
    let mut s = String::new();
    for (bit, c) in [
        (Flags::DRAFT, 'D'),
        (Flags::FLAGGED, 'F'),
        (Flags::ANSWERED, 'R'),
        (Flags::SEEN, 'S'),
        (Flags::DELETED, 'T'),
    ] {
        if f.has(bit) {
            s.push(c);
        }
    }
    s
}

/// Feeds one mailbox's mbox bytes to the tar writer, a message at a time.
struct MboxReader<'a> {
    store: &'a Store,
    account: AccountId,
    mailbox: &'a MailboxInfo,
    uids: &'a [Uid],
    next: usize,
    buf: Vec<u8>,
    pos: usize,
    written: u64,
    size: u64,
    report: &'a mut ExportReport,
    progress: &'a mut dyn FnMut(u64, u64),
    done: &'a mut u64,
    total: u64,
}

impl Read for MboxReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.next == self.uids.len() {
                return Ok(0);
            }
            let uid = self.uids[self.next];
            self.next += 1;
            if let Some(m) = mbox_message(self.store, self.account, self.mailbox, uid)
                .map_err(io::Error::other)?
            {
                self.report.messages += 1;
                self.report.bytes += m.len() as u64;
                *self.done += 1;
                (self.progress)(*self.done, self.total);
                self.buf = m;
                self.pos = 0;
            }
        }
        // Never give tar more than the size it was promised (a message
        // appended meanwhile is left for the next export).
        let left = (self.size - self.written) as usize;
        let n = out.len().min(self.buf.len() - self.pos).min(left);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.written += n as u64;
        Ok(n)
    }
}

fn readme(address: &str, format: Format, now: u64) -> String {
    let when = chrono::DateTime::from_timestamp(now as i64, 0)
        .unwrap_or_default()
        .to_rfc3339();
    let mail = match format {
        Format::Mbox => {
            "mbox/<mailbox>.mbox   one file per mailbox, mboxrd format (RFC 4155; lines\n\
                         \x20                     starting with >*From are quoted with one more >).\n\
                         \x20                     Flags are in the Status (R seen, O old), X-Status\n\
                         \x20                     (A answered, F flagged, T draft, D deleted) and\n\
                         \x20                     X-Keywords headers added before each message."
        }
        Format::Maildir => {
            "Maildir/<mailbox>/cur/  one file per message; flags in the name after :2,\n\
                            \x20                       (D draft, F flagged, R answered, S seen, T deleted);\n\
                            \x20                       keywords are not kept (export as mbox for them)."
        }
    };
    format!(
        "Export of the mailbox account {address}\n\
         Made {when} by sealpost, under GDPR articles 15 and 20.\n\n\
         Contents\n\
         --------\n\
         README.txt            this file\n\
         access-log.csv        your logins as recorded in the server's audit log:\n\
         \x20                     time, protocol, remote address, TLS version, outcome\n\
         shared-access.csv     mailboxes you shared with other accounts, and theirs\n\
         \x20                     shared with you: mailbox, account, rights (RFC 4314\n\
         \x20                     letters: l see, r read, s seen, w flags, i add, k create,\n\
         \x20                     x delete, t delete messages, e expunge, a share)\n\
         metadata.json         (when you have any) the annotations your mail clients\n\
         \x20                     stored on the server and on mailboxes (IMAP METADATA)\n\
         {mail}\n\n\
         Messages are exactly as stored (CRLF line ends), decrypted for this export;\n\
         in mbox, a message that did not end with a line break gets one.\n\
         Import them with any mail client that reads mbox or Maildir (Thunderbird\n\
         ImportExportTools, mutt, Apple Mail, Dovecot's doveadm import).\n"
    )
}
