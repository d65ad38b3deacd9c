//! Delivery status notifications: the RFC 3464 format in an RFC 6522
//! `multipart/report`, sent as RFC 3461 asks.
//!
//! - `failed` (a 5xx, or the queue lifetime ran out) when NOTIFY has
//!   FAILURE or is absent, returning what RET asks (RFC 3461 4.3: the whole
//!   message unless `RET=HDRS`);
//! - `delayed` once per recipient after `smtp.delay_warning_secs` when
//!   NOTIFY has DELAY or is absent (RFC 3461 4.1 lets an absent NOTIFY mean
//!   `FAILURE,DELAY`), with `Will-Retry-Until`;
//! - `delivered` (into a local mailbox) and `relayed` (to a next hop that
//!   does not speak DSN; one that does reports delivery itself) only for
//!   `NOTIFY=SUCCESS`.
//!
//! Anything but `failed` returns only the headers. One notification per
//! action and message. Never sent for the null sender (RFC 5321 6.1, RFC
//! 3461 5.2); a notification has the null sender itself, so it cannot loop.
//! ENVID and ORCPT travel xtext-encoded and are decoded (and stripped of
//! control characters) for the report fields.

use super::{NewMessage, NewRecipient, Queue};
use crate::wire::Ret;
use sealpost_audit::Event;
use sealpost_directory::{Forwarding, Recipient};

/// What happened to a recipient (RFC 3464 2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DsnAction {
    /// Given up.
    Failed,
    /// Still being tried.
    Delayed,
    /// Put into the recipient's mailbox here.
    Delivered,
    /// Handed to a next hop that will not report delivery.
    Relayed,
}

impl DsnAction {
    fn word(self) -> &'static str {
        match self {
            DsnAction::Failed => "failed",
            DsnAction::Delayed => "delayed",
            DsnAction::Delivered => "delivered",
            DsnAction::Relayed => "relayed",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            DsnAction::Failed => "Undelivered Mail Returned to Sender",
            DsnAction::Delayed => "Delayed Mail (still being retried)",
            DsnAction::Delivered | DsnAction::Relayed => "Successful Mail Delivery Report",
        }
    }

    fn intro(self) -> &'static str {
        match self {
            DsnAction::Failed => "Your message could not be delivered to:",
            DsnAction::Delayed => {
                "Your message has not been delivered yet to the recipients below.\r\n\
                 Delivery is still being tried; you do not need to send it again."
            }
            DsnAction::Delivered => "Your message was delivered to:",
            DsnAction::Relayed => {
                "Your message was passed on to a system that does not report delivery, for:"
            }
        }
    }
}

/// One recipient's part of a DSN (RFC 3464 2.3).
#[derive(Debug, Clone)]
pub(crate) struct RecipientReport {
    /// The recipient.
    pub recipient: String,
    /// ORCPT, if the client gave one (xtext).
    pub orcpt: Option<String>,
    /// What happened.
    pub action: DsnAction,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: String,
    /// The remote reply or our reason, if any.
    pub diagnostic: Option<String>,
    /// The next hop that took it (`relayed`).
    pub remote_mta: Option<String>,
}

impl RecipientReport {
    /// A `failed` report.
    pub(crate) fn failed(recipient: &str, orcpt: Option<&str>, status: String, why: &str) -> Self {
        RecipientReport {
            recipient: recipient.to_string(),
            orcpt: orcpt.map(str::to_string),
            action: DsnAction::Failed,
            status,
            diagnostic: Some(why.to_string()),
            remote_mta: None,
        }
    }
}

/// The message a DSN is about.
#[derive(Debug, Clone)]
pub(crate) struct Notice<'a> {
    /// The envelope sender (the DSN's recipient); empty for `<>`.
    pub sender: &'a str,
    /// Our message id.
    pub id: &'a str,
    /// ENVID (xtext).
    pub envid: Option<&'a str>,
    /// RET.
    pub ret: Option<Ret>,
    /// When we received it (Unix seconds).
    pub arrival: i64,
    /// Until when delivery is tried (Unix seconds), for `delayed`.
    pub retry_until: Option<i64>,
    /// The message as queued or delivered.
    pub original: &'a [u8],
    /// The message asked for REQUIRETLS (RFC 8689 5): its DSN returns the
    /// headers only and is itself sent with REQUIRETLS.
    pub requiretls: bool,
}

/// Pulls an enhanced status code out of an SMTP reply text, or gives the
/// default for its class (RFC 3463). `permanent` turns a 4.x.x into 5.x.x
/// (a lifetime expiry reports failure even for a temporary reply).
pub(crate) fn status_of(reply: &str, permanent: bool) -> String {
    for word in reply.split_whitespace().take(2) {
        let parts: Vec<&str> = word.split('.').collect();
        if parts.len() == 3
            && (parts[0] == "4" || parts[0] == "5")
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return if permanent {
                format!("5.{}.{}", parts[1], parts[2])
            } else {
                word.to_string()
            };
        }
    }
    if permanent {
        "5.0.0".into()
    } else {
        "4.0.0".into()
    }
}

/// Decodes xtext (RFC 3461 4) for display; control characters become spaces.
pub(crate) fn xtext_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'+'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    crate::wire::reply::sanitize(&String::from_utf8_lossy(&out))
}

fn rfc5322_date(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc2822()
}

/// Builds one DSN for reports that share an action.
pub(crate) fn build(hostname: &str, notice: &Notice<'_>, reports: &[RecipientReport]) -> Vec<u8> {
    let action = reports.first().map_or(DsnAction::Failed, |r| r.action);
    let id = notice.id;
    let boundary = format!("=_sealpost_{id}_{}", action.word());
    let date = chrono::Utc::now().to_rfc2822();
    let sanitize = crate::wire::reply::sanitize;
    let mut m = String::new();
    m.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n"
    ));
    m.push_str(&format!("To: <{}>\r\n", notice.sender));
    m.push_str(&format!("Subject: {}\r\n", action.subject()));
    m.push_str(&format!("Date: {date}\r\n"));
    m.push_str(&format!(
        "Message-ID: <{id}.{}@{hostname}>\r\n",
        action.word()
    ));
    m.push_str("Auto-Submitted: auto-replied\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\r\n"
    ));
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ));
    m.push_str(&format!(
        "This is the mail system at {hostname}.\r\n\r\n{}\r\n\r\n",
        action.intro()
    ));
    for r in reports {
        match &r.diagnostic {
            Some(d) => m.push_str(&format!("  <{}>: {}\r\n", r.recipient, sanitize(d))),
            None => m.push_str(&format!("  <{}>\r\n", r.recipient)),
        }
    }
    if let Some(until) = notice.retry_until.filter(|_| action == DsnAction::Delayed) {
        m.push_str(&format!(
            "\r\nDelivery will be tried until {}.\r\n",
            rfc5322_date(until)
        ));
    }
    m.push_str(&format!(
        "\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
    ));
    m.push_str(&format!("Reporting-MTA: dns; {hostname}\r\n"));
    if let Some(envid) = notice.envid {
        m.push_str(&format!(
            "Original-Envelope-Id: {}\r\n",
            xtext_decode(envid)
        ));
    }
    m.push_str(&format!(
        "Arrival-Date: {}\r\n",
        rfc5322_date(notice.arrival)
    ));
    for r in reports {
        m.push_str("\r\n");
        if let Some(orcpt) = &r.orcpt {
            let (kind, addr) = orcpt.split_once(';').unwrap_or(("rfc822", orcpt));
            m.push_str(&format!(
                "Original-Recipient: {}; {}\r\n",
                xtext_decode(kind),
                xtext_decode(addr)
            ));
        }
        m.push_str(&format!("Final-Recipient: rfc822; {}\r\n", r.recipient));
        m.push_str(&format!("Action: {}\r\n", r.action.word()));
        m.push_str(&format!("Status: {}\r\n", r.status));
        if let Some(mta) = &r.remote_mta {
            m.push_str(&format!("Remote-MTA: dns; {}\r\n", sanitize(mta)));
        }
        if let Some(d) = &r.diagnostic {
            m.push_str(&format!("Diagnostic-Code: smtp; {}\r\n", sanitize(d)));
        }
        if let Some(until) = notice
            .retry_until
            .filter(|_| r.action == DsnAction::Delayed)
        {
            m.push_str(&format!("Will-Retry-Until: {}\r\n", rfc5322_date(until)));
        }
    }
    let mut out = m.into_bytes();
    let headers_only =
        action != DsnAction::Failed || notice.ret == Some(Ret::Hdrs) || notice.requiretls;
    let part_type = if headers_only {
        "text/rfc822-headers"
    } else {
        "message/rfc822"
    };
    out.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Type: {part_type}\r\n\r\n").as_bytes(),
    );
    let body = if headers_only {
        &notice.original[..find_header_end(notice.original)]
    } else {
        notice.original
    };
    out.extend_from_slice(body);
    if !body.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

fn find_header_end(m: &[u8]) -> usize {
    m.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .unwrap_or(m.len())
}

/// Sends the DSNs for `reports` (one per action) to the envelope sender:
/// into the local INBOX when the sender is hosted here, otherwise through
/// the queue with the null sender. Does nothing for the null sender.
/// Blocking (store and queue writes).
pub(crate) fn send(queue: &Queue, notice: &Notice<'_>, reports: &[RecipientReport]) {
    let inner = &queue.inner;
    for r in reports.iter().filter(|r| r.action == DsnAction::Failed) {
        inner.audit.record(Event::MessageBounced {
            id: notice.id.to_string(),
            recipient: r.recipient.clone(),
            reason: r
                .diagnostic
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect(),
        });
    }
    if notice.sender.is_empty() {
        return;
    }
    for action in [
        DsnAction::Failed,
        DsnAction::Delayed,
        DsnAction::Delivered,
        DsnAction::Relayed,
    ] {
        let group: Vec<RecipientReport> = reports
            .iter()
            .filter(|r| r.action == action)
            .cloned()
            .collect();
        if group.is_empty() {
            continue;
        }
        let dsn = build(&inner.config.server.hostname, notice, &group);
        if let Err(e) = post(queue, notice, &dsn) {
            tracing::warn!(error = %e, action = action.word(), "could not send a DSN");
        }
    }
}

fn post(queue: &Queue, notice: &Notice<'_>, dsn: &[u8]) -> Result<(), String> {
    let inner = &queue.inner;
    // A forwarded copy's sender is one of our SRS addresses: the notice
    // goes to the original sender it stands for.
    let reversed = reverse_srs(queue, notice.sender)?;
    let sender = reversed.as_deref().unwrap_or(notice.sender);
    match inner.directory.recipient(sender) {
        Recipient::Local(primary)
        | Recipient::Forward(Forwarding {
            local: Some(primary),
            ..
        }) => inner
            .store
            .ensure_account(&primary)
            .and_then(|acct| inner.store.deliver(acct, dsn))
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Recipient::UnknownUser | Recipient::Forward(_) => {
            Err("DSN to an unknown local sender dropped".into())
        }
        Recipient::NotLocal => queue
            .enqueue(
                NewMessage {
                    sender: String::new(),
                    recipients: vec![NewRecipient {
                        address: sender.to_string(),
                        orcpt: None,
                        // A DSN about a DSN is never wanted.
                        notify: Some(crate::wire::Notify {
                            never: true,
                            ..Default::default()
                        }),
                    }],
                    envid: None,
                    ret: None,
                    smtputf8: !sender.is_ascii(),
                    requiretls: notice.requiretls,
                },
                dsn,
            )
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

/// The original sender behind one of our SRS addresses (`None`: not one).
fn reverse_srs(queue: &Queue, sender: &str) -> Result<Option<String>, String> {
    let inner = &queue.inner;
    if !sealpost_directory::forward::is_srs_local(sender)
        || matches!(inner.directory.recipient(sender), Recipient::NotLocal)
    {
        return Ok(None);
    }
    let local = sender.rsplit_once('@').map_or(sender, |(l, _)| l);
    inner
        .srs
        .reverse(local, crate::queue::now())
        .map(Some)
        .map_err(|e| format!("DSN to an SRS address dropped: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice<'a>(original: &'a [u8], ret: Option<Ret>) -> Notice<'a> {
        Notice {
            sender: "alice@example.org",
            id: "abc",
            envid: Some("E1+2Bx"),
            ret,
            arrival: 0,
            retry_until: Some(432_000),
            original,
            requiretls: false,
        }
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_of("550 5.1.1 No such user", true), "5.1.1");
        assert_eq!(status_of("5.1.1 No such user", true), "5.1.1");
        assert_eq!(status_of("451 4.3.0 later", true), "5.3.0");
        assert_eq!(status_of("451 4.3.0 later", false), "4.3.0");
        assert_eq!(status_of("connection refused", true), "5.0.0");
        assert_eq!(status_of("connection refused", false), "4.0.0");
    }

    #[test]
    fn xtext_is_decoded_for_display_only_safely() {
        assert_eq!(
            xtext_decode("rfc822+3Bbob+2Bx@example.net"),
            "rfc822;bob+x@example.net"
        );
        assert_eq!(xtext_decode("a+0D+0Ab"), "a??b");
        assert_eq!(xtext_decode("trailing+4"), "trailing+4");
    }

    #[test]
    fn failed_dsn_has_report_parts_and_honours_ret_hdrs() {
        let r = RecipientReport::failed(
            "bob@example.net",
            Some("rfc822;bob+2Bx@example.net"),
            "5.1.1".into(),
            "550 5.1.1 no such user\r\ninjected: x",
        );
        let original = b"Subject: hi\r\n\r\nbody\r\n";
        let m = build("mx.example.org", &notice(original, Some(Ret::Hdrs)), &[r]);
        let s = String::from_utf8(m).unwrap();
        assert!(s.contains("Subject: Undelivered Mail Returned to Sender\r\n"));
        assert!(s.contains("Content-Type: multipart/report; report-type=delivery-status;"));
        assert!(s.contains("Final-Recipient: rfc822; bob@example.net\r\n"));
        assert!(s.contains("Original-Recipient: rfc822; bob+x@example.net\r\n"));
        assert!(s.contains("Action: failed\r\nStatus: 5.1.1\r\n"));
        assert!(s.contains("Original-Envelope-Id: E1+x\r\n"));
        assert!(s.contains("text/rfc822-headers\r\n\r\nSubject: hi\r\n"));
        assert!(!s.contains("body"), "RET=HDRS leaves the body out");
        assert!(!s.contains("\r\ninjected"), "diagnostics cannot add lines");
        assert!(!s.contains("Will-Retry-Until"));
        let parsed = mail_parser::MessageParser::default()
            .parse(s.as_bytes())
            .unwrap();
        assert!(parsed.parts.len() > 3);
    }

    #[test]
    fn failed_dsn_returns_the_whole_message_by_default() {
        let r = RecipientReport::failed("b@example.net", None, "5.0.0".into(), "550 no");
        let s = String::from_utf8(build(
            "mx.example.org",
            &notice(b"Subject: hi\r\n\r\nbody\r\n", None),
            &[r],
        ))
        .unwrap();
        assert!(s.contains("message/rfc822\r\n\r\nSubject: hi\r\n\r\nbody\r\n"));
        assert!(!s.contains("Original-Recipient"));
    }

    #[test]
    fn delayed_and_success_dsns_return_headers_only() {
        let original = b"Subject: hi\r\n\r\nbody\r\n";
        let delayed = RecipientReport {
            recipient: "b@example.net".into(),
            orcpt: None,
            action: DsnAction::Delayed,
            status: "4.4.1".into(),
            diagnostic: Some("connect: refused".into()),
            remote_mta: None,
        };
        let s = String::from_utf8(build(
            "mx.example.org",
            &notice(original, Some(Ret::Full)),
            &[delayed],
        ))
        .unwrap();
        assert!(s.contains("Subject: Delayed Mail (still being retried)\r\n"));
        assert!(s.contains("Action: delayed\r\nStatus: 4.4.1\r\n"));
        assert!(s.contains("Will-Retry-Until: Tue, 6 Jan 1970 00:00:00 +0000\r\n"));
        assert!(!s.contains("body"));
        let relayed = RecipientReport {
            recipient: "b@example.net".into(),
            orcpt: None,
            action: DsnAction::Relayed,
            status: "2.0.0".into(),
            diagnostic: None,
            remote_mta: Some("mx.example.net".into()),
        };
        let s = String::from_utf8(build(
            "mx.example.org",
            &notice(original, Some(Ret::Full)),
            &[relayed],
        ))
        .unwrap();
        assert!(s.contains("Subject: Successful Mail Delivery Report\r\n"));
        assert!(
            s.contains("Action: relayed\r\nStatus: 2.0.0\r\nRemote-MTA: dns; mx.example.net\r\n")
        );
        assert!(!s.contains("Diagnostic-Code"));
        assert!(!s.contains("body"));
    }
}
