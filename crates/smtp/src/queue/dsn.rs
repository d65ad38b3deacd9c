//! Delivery status notifications (RFC 3464, RFC 3462 multipart/report):
//! the bounce sent to the envelope sender when a recipient fails for good
//! or its queue lifetime runs out. Never sent for the null sender (RFC 5321
//! 6.1, RFC 3461 5.2). A bounce has the null sender itself, so it cannot
//! loop.

use super::{NewMessage, Queue};
use sealpost_audit::Event;
use sealpost_directory::Recipient;

/// One failed recipient in a DSN.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// The recipient.
    pub recipient: String,
    /// ORCPT, if the client gave one.
    pub orcpt: Option<String>,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: String,
    /// The remote reply or our reason.
    pub diagnostic: String,
}

/// Pulls an enhanced status code out of an SMTP reply text, or gives the
/// default for its class (RFC 3463).
pub(crate) fn status_of(reply: &str, permanent: bool) -> String {
    for word in reply.split_whitespace().take(2) {
        let parts: Vec<&str> = word.split('.').collect();
        if parts.len() == 3
            && (parts[0] == "4" || parts[0] == "5")
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            // A lifetime expiry reports failure even for a 4.x.x reply.
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

/// Builds the DSN message.
pub(crate) fn build(
    hostname: &str,
    sender: &str,
    id: &str,
    envid: Option<&str>,
    failures: &[Failure],
    original: &[u8],
    headers_only: bool,
) -> Vec<u8> {
    let boundary = format!("=_sealpost_{id}");
    let date = chrono::Utc::now().to_rfc2822();
    let mut m = String::new();
    m.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n"
    ));
    m.push_str(&format!("To: <{sender}>\r\n"));
    m.push_str("Subject: Undelivered Mail Returned to Sender\r\n");
    m.push_str(&format!("Date: {date}\r\n"));
    m.push_str(&format!("Message-ID: <{id}.dsn@{hostname}>\r\n"));
    m.push_str("Auto-Submitted: auto-replied\r\n");
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\r\n"
    ));
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ));
    m.push_str(&format!(
        "This is the mail system at {hostname}.\r\n\r\nYour message could not be delivered to:\r\n\r\n"
    ));
    for f in failures {
        m.push_str(&format!(
            "  <{}>: {}\r\n",
            f.recipient,
            crate::wire::reply::sanitize(&f.diagnostic)
        ));
    }
    m.push_str(&format!(
        "\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
    ));
    m.push_str(&format!("Reporting-MTA: dns; {hostname}\r\n"));
    if let Some(envid) = envid {
        m.push_str(&format!("Original-Envelope-Id: {envid}\r\n"));
    }
    m.push_str(&format!("Arrival-Date: {date}\r\n"));
    for f in failures {
        m.push_str("\r\n");
        if let Some(orcpt) = &f.orcpt {
            m.push_str(&format!(
                "Original-Recipient: {}\r\n",
                orcpt.replacen(';', "; ", 1)
            ));
        }
        m.push_str(&format!("Final-Recipient: rfc822; {}\r\n", f.recipient));
        m.push_str("Action: failed\r\n");
        m.push_str(&format!("Status: {}\r\n", f.status));
        m.push_str(&format!(
            "Diagnostic-Code: smtp; {}\r\n",
            crate::wire::reply::sanitize(&f.diagnostic)
        ));
    }
    let mut out = m.into_bytes();
    let part_type = if headers_only {
        "text/rfc822-headers"
    } else {
        "message/rfc822"
    };
    out.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Type: {part_type}\r\n\r\n").as_bytes(),
    );
    let body = if headers_only {
        let end = find_header_end(original);
        &original[..end]
    } else {
        original
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

/// Sends a DSN to `sender`: into the local INBOX when the sender is hosted
/// here, otherwise through the queue with the null sender. Does nothing for
/// the null sender. Blocking (store and queue writes).
#[allow(clippy::too_many_arguments)]
pub(crate) fn send(
    queue: &Queue,
    sender: &str,
    id: &str,
    envid: Option<&str>,
    failures: &[Failure],
    original: &[u8],
    headers_only: bool,
) {
    let inner = &queue.inner;
    for f in failures {
        inner.audit.record(Event::MessageBounced {
            id: id.to_string(),
            recipient: f.recipient.clone(),
            reason: f.diagnostic.chars().take(300).collect(),
        });
    }
    if sender.is_empty() || failures.is_empty() {
        return;
    }
    let hostname = &inner.config.server.hostname;
    let dsn = build(
        hostname,
        sender,
        id,
        envid,
        failures,
        original,
        headers_only,
    );
    let result = match inner.directory.recipient(sender) {
        Recipient::Local(primary) => inner
            .store
            .ensure_account(&primary)
            .and_then(|acct| inner.store.deliver(acct, &dsn))
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Recipient::UnknownUser => Err("bounce to an unknown local sender dropped".into()),
        Recipient::NotLocal => queue
            .enqueue(
                NewMessage {
                    sender: String::new(),
                    recipients: vec![(sender.to_string(), None, false)],
                    envid: None,
                    ret_headers_only: false,
                    smtputf8: !sender.is_ascii(),
                },
                &dsn,
            )
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not send bounce");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        assert_eq!(status_of("550 5.1.1 No such user", true), "5.1.1");
        assert_eq!(status_of("5.1.1 No such user", true), "5.1.1");
        assert_eq!(status_of("451 4.3.0 later", true), "5.3.0");
        assert_eq!(status_of("connection refused", true), "5.0.0");
    }

    #[test]
    fn dsn_has_report_parts() {
        let f = Failure {
            recipient: "bob@example.net".into(),
            orcpt: Some("rfc822;bob@example.net".into()),
            status: "5.1.1".into(),
            diagnostic: "550 5.1.1 no such user\r\ninjected: x".into(),
        };
        let m = build(
            "mx.example.org",
            "alice@example.org",
            "abc",
            Some("E1"),
            &[f],
            b"Subject: hi\r\n\r\nbody\r\n",
            true,
        );
        let s = String::from_utf8(m).unwrap();
        assert!(s.contains("Content-Type: multipart/report; report-type=delivery-status;"));
        assert!(s.contains("Final-Recipient: rfc822; bob@example.net\r\n"));
        assert!(s.contains("Original-Recipient: rfc822; bob@example.net\r\n"));
        assert!(s.contains("Status: 5.1.1\r\n"));
        assert!(s.contains("Original-Envelope-Id: E1\r\n"));
        assert!(s.contains("text/rfc822-headers\r\n\r\nSubject: hi\r\n"));
        assert!(!s.contains("body"), "RET=HDRS leaves the body out");
        assert!(!s.contains("\r\ninjected"), "diagnostics cannot add lines");
        let parsed = mail_parser::MessageParser::default()
            .parse(s.as_bytes())
            .unwrap();
        assert!(parsed.parts.len() > 3);
    }
}
