//! What happens to a received message: trace headers, local delivery into
//! each recipient's INBOX, and the outbound queue for remote recipients.
//!
//! The `250` is sent only after every local copy is durable in the store and
//! every remote recipient is durable in the queue (DESIGN promise 1).
//!
//! Trace headers (RFC 5321 4.4): `Return-Path` is added to local copies only
//! (it belongs to final delivery); `Received` to every copy. Both are built
//! from validated values only: the sender is a parsed [`Address`] (no
//! control characters), and the client's HELO name is reduced to host-name
//! characters, so nothing the client sent reaches a header unescaped. On
//! submission the client's IP address is left out of `Received` (a privacy
//! choice many providers make; the audit log has it).
//!
//! [`Address`]: crate::wire::Address

use crate::queue::dsn::{self, DsnAction, Notice, RecipientReport};
use crate::queue::{NewMessage, NewRecipient, Queue, QueueError};
use crate::session::{Destination, Message, Role};
use crate::wire::{Enhanced, Notify, Reply, ReversePath};
use sealpost_audit::{AuditLog, Event, Protocol};
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_store::{Store, StoreError};
use std::net::SocketAddr;
use std::sync::Arc;

/// Everything delivery needs.
pub(crate) struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub directory: Directory,
    pub audit: AuditLog,
    pub queue: Queue,
    pub mail_auth: Arc<crate::mailauth::MailAuth>,
}

/// Where the message came from, for trace headers and the audit log.
pub(crate) struct Origin {
    pub role: Role,
    pub peer: SocketAddr,
    pub tls: Option<String>,
}

/// Keeps host-name characters of a HELO argument (letters, digits, `.-:[]`),
/// at most 255; anything else becomes `unknown`.
pub(crate) fn sanitize_helo(helo: &str) -> String {
    let clean: String = helo
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(*c))
        .take(255)
        .collect();
    if clean.is_empty() {
        "unknown".to_string()
    } else {
        clean
    }
}

/// The `Received:` header (RFC 5321 4.4), CRLF-terminated.
pub(crate) fn received_header(
    hostname: &str,
    msg: &Message,
    origin: &Origin,
    id: &str,
    single_rcpt: Option<&str>,
) -> String {
    let helo = sanitize_helo(&msg.helo);
    let from = match origin.role {
        Role::Inbound => format!("{helo} ([{}])", origin.peer.ip()),
        Role::Submission => helo,
    };
    // RFC 3848 / RFC 6531 protocol names.
    let mut with = String::new();
    if msg.envelope.params.smtputf8 {
        with.push_str("UTF8");
    }
    with.push_str(if msg.esmtp { "ESMTP" } else { "SMTP" });
    if origin.tls.is_some() {
        with.push('S');
    }
    if msg.account.is_some() {
        with.push('A');
    }
    let tls = origin
        .tls
        .as_deref()
        .map(|t| format!("\r\n\t(using {})", crate::wire::reply::sanitize(t)))
        .unwrap_or_default();
    let rcpt = single_rcpt
        .map(|r| format!("\r\n\tfor <{r}>"))
        .unwrap_or_default();
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S +0000");
    format!(
        "Received: from {from}\r\n\tby {hostname} with {with} id {id}{tls}{rcpt};\r\n\t{date}\r\n"
    )
}

fn store_reply(e: &StoreError) -> Reply {
    match e {
        StoreError::OverQuota => Reply::new(552, Enhanced(5, 2, 2), "Mailbox full"),
        StoreError::TooLarge => Reply::new(552, Enhanced(5, 3, 4), "Message too large"),
        StoreError::NoAccount => Reply::new(550, Enhanced(5, 1, 1), "No such user here"),
        StoreError::Unavailable(_) => Reply::new(
            451,
            Enhanced(4, 3, 0),
            "Mail store unavailable, try again later",
        ),
        _ => Reply::new(
            451,
            Enhanced(4, 3, 0),
            "Local error in processing, try again later",
        ),
    }
}

fn queue_reply(_e: &QueueError) -> Reply {
    Reply::new(451, Enhanced(4, 3, 0), "Queue unavailable, try again later")
}

/// Counts the header fields named `name` (any case, RFC 5322 2.2) in the
/// header section: unfolded lines up to the first empty one. Counted on the
/// raw octets so no parser's leniency can hide a field.
fn count_fields(data: &[u8], name: &str) -> usize {
    // Lines end at LF, CRLF or a bare CR (BDAT data is not checked for
    // bare line ends, and some readers split on them).
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\n' => {
                lines.push(&data[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&data[start..i]);
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        if lines.last().is_some_and(|l| l.is_empty()) {
            break;
        }
        i += 1;
    }
    if start < data.len() {
        lines.push(&data[start..]);
    }
    let mut n = 0;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            continue; // a folded continuation
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        // Obsolete syntax allows white space before the colon (RFC 5322 4.5).
        let field = line[..colon].trim_ascii_end();
        if field.eq_ignore_ascii_case(name.as_bytes()) {
            n += 1;
        }
    }
    n
}

/// Checks the From: field of a submitted message (RFC 6409 8.1 lets the
/// server refuse): there must be exactly one (RFC 5322 3.6: a second one is
/// how a foreign From: would ride along with an owned one, since readers
/// and signers disagree on which counts), and every address in it must be
/// the account's. `None` when the message may go.
///
/// Replies: `550 5.7.1` for a field count other than one, `553 5.7.1` for
/// an address that is not the account's (as for MAIL FROM).
pub(crate) fn check_from_header(
    directory: &Directory,
    account: &str,
    data: &[u8],
) -> Option<Reply> {
    let refuse = |why: &str| Some(Reply::new(553, Enhanced(5, 7, 1), why.to_string()));
    let policy = |why: &str| Some(Reply::new(550, Enhanced(5, 7, 1), why.to_string()));
    let parsed = mail_parser::MessageParser::default().parse_headers(data);
    let Some(msg) = parsed else {
        return refuse("Message has no parsable header");
    };
    let fields = count_fields(data, "From");
    if fields == 0 {
        return refuse("Message has no From: header");
    }
    if fields > 1 {
        return policy("Message has more than one From: header (RFC 5322 3.6)");
    }
    let mut values = msg.header_values(mail_parser::HeaderName::From);
    let (Some(value), None) = (values.next(), values.next()) else {
        return policy("From: header could not be read");
    };
    let Some(from) = value.as_address() else {
        return refuse("From: header has no address");
    };
    let mut any = false;
    for addr in from.iter() {
        any = true;
        match addr.address() {
            Some(a) if directory.owns_address(account, a) => {}
            _ => return refuse("From: header address not owned by the authenticated account"),
        }
    }
    if any {
        None
    } else {
        refuse("From: header has no address")
    }
}

/// Adds `Date:` and `Message-ID:` to a submitted message that lacks them
/// (RFC 6409 8.2, 8.3), before it is signed.
pub(crate) fn complete_headers(data: &[u8], id: &str, hostname: &str) -> Vec<u8> {
    let parsed = mail_parser::MessageParser::default().parse_headers(data);
    let (has_date, has_id) = parsed
        .as_ref()
        .map(|m| (m.date().is_some(), m.message_id().is_some()))
        .unwrap_or((false, false));
    let mut out = Vec::with_capacity(data.len() + 100);
    if !has_date {
        out.extend_from_slice(format!("Date: {}\r\n", chrono::Utc::now().to_rfc2822()).as_bytes());
    }
    if !has_id {
        out.extend_from_slice(format!("Message-ID: <{id}@{hostname}>\r\n").as_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Delivers and queues a message; the reply is the transaction's result.
pub(crate) async fn accept(svc: &Arc<Services>, msg: Message, origin: &Origin) -> Reply {
    let id = crate::queue::new_id();
    if let Some(account) = &msg.account
        && let Some(refusal) = check_from_header(&svc.directory, &account.address, &msg.data)
    {
        return refusal;
    }
    if let Some((address, refusal)) = check_loops(&msg) {
        // Refused, not bounced by us nor dropped: the client keeps the
        // message and its own MTA tells the sender, so a loop costs us
        // no backscatter and loses nothing in silence.
        // The audit record's log line is the operator's (`message_refused`).
        svc.audit.record(Event::MessageRefused {
            id: id.clone(),
            recipient: address,
            reason: refusal.to_string(),
        });
        return refusal;
    }
    record_accepted(svc, &msg, origin, &id);
    let mut msg = msg;
    let auth_header = match authenticate(svc, &mut msg, origin, &id).await {
        Ok(header) => header,
        Err(refusal) => return refusal,
    };
    if !auth_header.is_empty() {
        log_auth_results(&id, &auth_header);
    }
    let single = (msg.envelope.recipients.len() == 1)
        .then(|| msg.envelope.recipients[0].address.to_string());
    let received = received_header(
        &svc.config.server.hostname,
        &msg,
        origin,
        &id,
        single.as_deref(),
    );
    // Remote recipients: into the queue first.
    let queued_remote = match queue_remote(svc, &msg, &received, &id).await {
        Ok(any) => any,
        Err(reply) => return reply,
    };
    let local_copy = local_copy(&msg, &auth_header, &received);
    let (delivered, mut failures) = deliver_local(svc, &msg, &local_copy, &id).await;
    if !failures.is_empty() && delivered == 0 && !queued_remote {
        // Nothing was stored: the client keeps responsibility.
        return failures.swap_remove(0).1;
    }
    report_local(svc, &msg, &failures, &local_copy, &id).await;
    Reply::new(250, Enhanced(2, 0, 0), format!("OK queued as {id}"))
}

/// The `message_checked` line: SPF, DKIM and DMARC results of an inbound
/// message (from its `Authentication-Results:` header), under the queue id
/// its `message_accepted` line and audit record carry.
fn log_auth_results(id: &str, header: &str) {
    let result = |method: &str| {
        let key = format!("{method}=");
        header
            .split(|c: char| c == ';' || c.is_whitespace())
            .find_map(|t| t.strip_prefix(&key))
            .map(|v| v.chars().take(16).collect::<String>())
            .unwrap_or_else(|| "none".to_string())
    };
    tracing::info!(
        target: "sealpost::event",
        event = "message_checked",
        id,
        spf = %result("spf"),
        dkim = %result("dkim"),
        dmarc = %result("dmarc"),
        "sender authentication checked"
    );
}

/// Records [`Event::MessageAccepted`]: who sent what to whom, before
/// anything is done with it.
fn record_accepted(svc: &Services, msg: &Message, origin: &Origin, id: &str) {
    let protocol = match origin.role {
        Role::Inbound => Protocol::Smtp,
        Role::Submission => Protocol::Submission,
    };
    let message_id = mail_parser::MessageParser::default()
        .parse_headers(&msg.data)
        .and_then(|m| {
            m.message_id()
                .map(|s| s.chars().take(200).collect::<String>())
        });
    svc.audit.record(Event::MessageAccepted {
        protocol,
        id: id.to_string(),
        message_id,
        sender: msg.envelope.from.to_string(),
        recipients: msg
            .envelope
            .recipients
            .iter()
            .map(|r| r.address.to_string())
            .collect(),
        size: msg.data.len() as u64,
        remote: origin.peer.to_string(),
        account: msg.account.as_ref().map(|a| a.address.clone()),
    });
}

/// Inbound: removes forged `Authentication-Results`, checks SPF, DKIM and
/// DMARC, and returns the header to add (or the refusal a DMARC reject
/// policy asks for). Submission: completes `Date`/`Message-ID` and
/// DKIM-signs; nothing to add.
async fn authenticate(
    svc: &Services,
    msg: &mut Message,
    origin: &Origin,
    id: &str,
) -> Result<String, Reply> {
    let hostname = &svc.config.server.hostname;
    match origin.role {
        Role::Inbound => {
            msg.data = crate::mailauth::strip_forged_results(&msg.data, hostname);
            let sender = msg.envelope.from.to_string();
            let verdict = svc
                .mail_auth
                .verify(
                    &msg.data,
                    origin.peer.ip(),
                    &sanitize_helo(&msg.helo),
                    &sender,
                    hostname,
                )
                .await;
            if verdict.dmarc_reject {
                return Err(Reply::new(
                    550,
                    Enhanced(5, 7, 1),
                    "Rejected by the sender domain's DMARC policy",
                ));
            }
            if let (Some(why), Some(alias)) = (verdict.no_forward, forwarded_outside(msg)) {
                let reply = Reply::new(
                    550,
                    Enhanced(5, 7, 1),
                    format!("Not forwarded: {why} for the sender's domain"),
                );
                svc.audit.record(Event::MessageRefused {
                    id: id.to_string(),
                    recipient: alias,
                    reason: reply.to_string(),
                });
                return Err(reply);
            }
            Ok(verdict.header)
        }
        Role::Submission => {
            // Relayed lines within 998 octets, cut before signing (wire::lines).
            if msg
                .envelope
                .recipients
                .iter()
                .any(|r| r.destination.is_outbound())
            {
                msg.data = crate::wire::lines::break_long_lines(&msg.data, 998).into_owned();
            }
            msg.data = complete_headers(&msg.data, id, hostname);
            if let Some(sig) = svc.mail_auth.sign(&msg.data) {
                let mut signed = sig.into_bytes();
                signed.extend_from_slice(&msg.data);
                msg.data = signed;
            }
            Ok(String::new())
        }
    }
}

/// The first forwarding address of the message with outside targets.
///
/// Mail that failed SPF hard or DMARC under `p=reject` is not forwarded
/// (#15): passed on under our SRS sender it would be ours in the eyes of
/// the next hop, and a forwarding host that relays spoofed mail is what
/// blocklists list. The whole transaction is refused (`550 5.7.1`) rather
/// than the outside copies dropped after a `250`: the client's MTA tells
/// the (often forged) sender, we send no backscatter, and nothing that we
/// acknowledged goes missing. Mail without a forward is unaffected (its
/// results stay in `Authentication-Results:`). There is no content filter
/// (spam, viruses) here; see the README's forwarding part.
fn forwarded_outside(msg: &Message) -> Option<String> {
    msg.envelope
        .recipients
        .iter()
        .find_map(|r| match &r.destination {
            Destination::Forward { alias, remote, .. } if !remote.is_empty() => Some(alias.clone()),
            _ => None,
        })
}

/// Refuses (`554 5.4.6`) a message that would go out again to a
/// forwarding target or as a reversed bounce while it carries more hops
/// than [`crate::srs::MAX_HOPS`] or names the forwarding address in a
/// `Delivered-To:` field. Checked before anything is stored, so a loop
/// ends here with the client keeping responsibility.
/// Returns the address that looped with the refusal.
fn check_loops(msg: &Message) -> Option<(String, Reply)> {
    msg.envelope
        .recipients
        .iter()
        .filter_map(|r| match &r.destination {
            Destination::Forward { alias, remote, .. } if !remote.is_empty() => Some(alias.clone()),
            Destination::Reversed(_) => Some(r.address.to_string()),
            _ => None,
        })
        .find_map(|address| {
            crate::srs::check_loop(&msg.data, &address)
                .err()
                .map(|reply| (address, reply))
        })
}

/// One queue entry to make: the envelope sender and its recipients, and
/// the forwarding addresses it goes out for (empty: not forwarded).
struct Outgoing {
    sender: String,
    recipients: Vec<NewRecipient>,
    forwarded_for: Vec<String>,
}

/// The queue entries of a message: one under the envelope sender for the
/// remote recipients, reversed bounces and forwarded copies that keep the
/// sender (a submitter's own), one per rewritten sender for the other
/// forwarded copies.
fn outgoing(msg: &Message) -> Vec<Outgoing> {
    let mut out: Vec<Outgoing> = vec![Outgoing {
        sender: msg.envelope.from.to_string(),
        recipients: Vec::new(),
        forwarded_for: Vec::new(),
    }];
    for r in &msg.envelope.recipients {
        let new = |address: &str| NewRecipient {
            address: address.to_string(),
            orcpt: r.params.orcpt.clone(),
            notify: r.params.notify,
        };
        match &r.destination {
            Destination::Local(_) => {}
            Destination::Remote => out[0].recipients.push(new(&r.address.to_string())),
            Destination::Reversed(original) => out[0].recipients.push(new(original)),
            Destination::Forward {
                alias,
                remote,
                sender,
                ..
            } => {
                let i = match out.iter().position(|o| o.sender == *sender) {
                    Some(i) => i,
                    None => {
                        out.push(Outgoing {
                            sender: sender.clone(),
                            recipients: Vec::new(),
                            forwarded_for: Vec::new(),
                        });
                        out.len() - 1
                    }
                };
                let entry = &mut out[i];
                for t in remote {
                    if !entry.recipients.iter().any(|n| n.address == *t) {
                        // RFC 3461 4.2: a forwarder passes on the original
                        // recipient, so a DSN names the address mailed.
                        let mut n = new(t);
                        n.orcpt.get_or_insert_with(|| orcpt(&r.address.to_string()));
                        entry.recipients.push(n);
                    }
                }
                if !entry.forwarded_for.contains(alias) {
                    entry.forwarded_for.push(alias.clone());
                }
            }
        }
    }
    out.retain(|o| !o.recipients.is_empty());
    out
}

/// An ORCPT value for an address: `rfc822;` and the address as xtext
/// (RFC 3461 4: `+`, `=`, controls and non-ASCII as `+XX`).
pub(crate) fn orcpt(address: &str) -> String {
    let mut out = String::from("rfc822;");
    for b in address.bytes() {
        match b {
            b'!'..=b'~' if b != b'+' && b != b'=' => out.push(b as char),
            _ => out.push_str(&format!("+{b:02X}")),
        }
    }
    out
}

/// Queues one copy for every remote recipient and forwarding target,
/// durably; returns whether there was any. The first entry takes the
/// transaction's id, forwarded copies under another sender their own
/// (audited as [`Event::MessageForwarded`] under both ids).
async fn queue_remote(
    svc: &Services,
    msg: &Message,
    received: &str,
    id: &str,
) -> Result<bool, Reply> {
    let entries = outgoing(msg);
    let any = !entries.is_empty();
    let mut copy = received.as_bytes().to_vec();
    copy.extend_from_slice(&msg.data);
    let copy = Arc::new(copy);
    for (n, entry) in entries.into_iter().enumerate() {
        // RFC 9228: each forwarded copy says which of our addresses it
        // was delivered to, so that it coming back here is seen as a loop.
        let copy = match entry.forwarded_for.is_empty() {
            true => copy.clone(),
            false => Arc::new(with_delivered_to(&entry.forwarded_for, &copy)),
        };
        let qid = match n {
            0 => id.to_string(),
            _ => crate::queue::new_id(),
        };
        let addresses: Vec<String> = entry.recipients.iter().map(|r| r.address.clone()).collect();
        let new = NewMessage {
            sender: entry.sender,
            recipients: entry.recipients,
            envid: msg.envelope.params.envid.clone(),
            ret: msg.envelope.params.ret,
            smtputf8: msg.envelope.params.smtputf8,
            requiretls: msg.envelope.params.requiretls,
        };
        let (queue, data, q) = (svc.queue.clone(), copy.clone(), qid.clone());
        let result =
            tokio::task::spawn_blocking(move || queue.enqueue_with_id(&q, new, &data)).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "queueing failed");
                return Err(queue_reply(&e));
            }
            Err(_) => {
                return Err(Reply::new(
                    451,
                    Enhanced(4, 3, 0),
                    "Local error in processing",
                ));
            }
        }
        if !entry.forwarded_for.is_empty() {
            svc.audit.record(Event::MessageForwarded {
                id: id.to_string(),
                queue_id: qid.clone(),
                aliases: entry.forwarded_for,
                recipients: addresses.clone(),
            });
        }
        svc.audit.record(Event::MessageQueued {
            id: qid,
            recipients: addresses,
        });
    }
    Ok(any)
}

/// `message` after one `Delivered-To:` field (RFC 9228) per forwarding
/// address, the newest first as trace fields go.
fn with_delivered_to(addresses: &[String], message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64 * addresses.len());
    for a in addresses.iter().rev() {
        out.extend_from_slice(format!("Delivered-To: {a}\r\n").as_bytes());
    }
    out.extend_from_slice(message);
    out
}

/// The copy stored for local recipients: `Return-Path`, the authentication
/// results, `Received`, then the message.
fn local_copy(msg: &Message, auth_header: &str, received: &str) -> Arc<Vec<u8>> {
    let return_path = match &msg.envelope.from {
        ReversePath::Null => "Return-Path: <>\r\n".to_string(),
        ReversePath::Address(a) => format!("Return-Path: <{a}>\r\n"),
    };
    let mut copy = return_path.into_bytes();
    copy.extend_from_slice(auth_header.as_bytes());
    copy.extend_from_slice(received.as_bytes());
    copy.extend_from_slice(&msg.data);
    Arc::new(copy)
}

/// Stores one copy per local account, however many aliases named it.
/// Returns how many were stored and, per account that failed, the reply
/// its failure calls for.
async fn deliver_local(
    svc: &Services,
    msg: &Message,
    local_copy: &Arc<Vec<u8>>,
    id: &str,
) -> (usize, Vec<(String, Reply)>) {
    let mut accounts: Vec<String> = Vec::new();
    for r in &msg.envelope.recipients {
        if let Some(primary) = r.destination.local_account()
            && !accounts.contains(primary)
        {
            accounts.push(primary.clone());
        }
    }
    let mut failures = Vec::new();
    let mut delivered = 0;
    for account in &accounts {
        let store = svc.store.clone();
        let raw = local_copy.clone();
        let addr = account.clone();
        let result = tokio::task::spawn_blocking(move || {
            let id = store.ensure_account(&addr)?;
            store.deliver(id, &raw)
        })
        .await;
        match result {
            Ok(Ok(_)) => {
                delivered += 1;
                svc.audit.record(Event::MessageDelivered {
                    id: id.to_string(),
                    account: account.clone(),
                    size: local_copy.len() as u64,
                });
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "local delivery failed");
                failures.push((account.clone(), store_reply(&e)));
            }
            Err(_) => failures.push((
                account.clone(),
                Reply::new(451, Enhanced(4, 3, 0), "Local error in processing"),
            )),
        }
    }
    (delivered, failures)
}

/// Once we took responsibility: the local recipients that failed bounce
/// (RFC 5321 6.1) instead of making the client resend to all, and
/// NOTIFY=SUCCESS ones learn of their delivery, each as its own NOTIFY and
/// ORCPT ask (RFC 3461 5.3).
async fn report_local(
    svc: &Services,
    msg: &Message,
    failures: &[(String, Reply)],
    local_copy: &Arc<Vec<u8>>,
    id: &str,
) {
    let mut reports = Vec::new();
    for r in &msg.envelope.recipients {
        let Some(account) = r.destination.local_account() else {
            continue;
        };
        match failures.iter().find(|(a, _)| a == account) {
            Some((_, reply)) if Notify::failure(r.params.notify) => {
                reports.push(RecipientReport::failed(
                    &r.address.to_string(),
                    r.params.orcpt.as_deref(),
                    dsn::status_of(&reply.to_string(), true),
                    &reply.to_string(),
                ));
            }
            Some(_) => {}
            None if Notify::success(r.params.notify) => reports.push(RecipientReport {
                recipient: r.address.to_string(),
                orcpt: r.params.orcpt.clone(),
                action: DsnAction::Delivered,
                status: "2.0.0".into(),
                diagnostic: None,
                remote_mta: None,
            }),
            None => {}
        }
    }
    let sender = msg.envelope.from.to_string();
    if reports.is_empty() || sender.is_empty() {
        return;
    }
    let queue = svc.queue.clone();
    let (id, data) = (id.to_string(), local_copy.clone());
    let (envid, ret) = (msg.envelope.params.envid.clone(), msg.envelope.params.ret);
    let requiretls = msg.envelope.params.requiretls;
    let _ = tokio::task::spawn_blocking(move || {
        let notice = Notice {
            sender: &sender,
            id: &id,
            envid: envid.as_deref(),
            ret,
            arrival: crate::queue::now(),
            retry_until: None,
            original: &data,
            requiretls,
        };
        dsn::send(&queue, &notice, &reports)
    })
    .await;
}
