//! `sealpost queue show|hold|release|delete|bounce`: the operator's hand
//! on single queued messages (what each does: `sealpost_smtp::queue::control`).
//!
//! Like `queue list`, each goes through the admin socket while the server
//! runs and opens the queue itself when none does (over PostgreSQL, the
//! shared queue in the database either way). Every action is audited
//! (`queue_admin`), showing included.
//!
//! `show` prints the envelope and state one `key: value` line each,
//! personal data as `[log] personal_data` says: by default the sender as
//! its account id (`#12`, `-` when not hosted), a recipient as its domain
//! only (`-@example.com`: where the message goes is the operator's
//! business, to whom is not) and remote replies as their codes; `full`
//! shows addresses and whole replies. The message itself only with
//! `--body`, after the envelope and a blank line, as its raw bytes.

use crate::admin::{self, QueueAction, Request, Response};
use crate::services::Services;
use crate::startup::{Failure, load_config};
use base64::Engine;
use sealpost_config::{Config, PersonalData};
use sealpost_smtp::{Queue, QueueEntry, QueueError, RecipientStatus};
use sealpost_store::Store;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Runs `action` from the CLI: through a running server, else here.
pub fn cli(path: &Path, action: QueueAction) -> Result<(), Failure> {
    let config = Arc::new(load_config(path)?);
    let request = Request::QueueControl {
        action: action.clone(),
    };
    let answer = match admin::request(&config.admin_socket(), &request).map_err(Failure::runtime)? {
        Some(r) => r,
        None => offline(&config, action)?,
    };
    if !answer.ok {
        return Err(Failure::runtime(answer.message));
    }
    let mut out = std::io::stdout().lock();
    let mut write = || -> std::io::Result<()> {
        writeln!(out, "{}", answer.message)?;
        if let Some(data) = &answer.data {
            let body = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(std::io::Error::other)?;
            writeln!(out)?;
            out.write_all(&body)?;
        }
        out.flush()
    };
    write().map_err(|e| Failure::runtime(format!("standard output: {e}")))
}

/// The admin socket's side.
pub fn in_server(services: &Services, action: QueueAction) -> Response {
    match &services.queue {
        Some(queue) => answer(execute(queue, &services.config, &services.store, action)),
        None => Response::done(false, "no outbound queue"),
    }
}

fn offline(config: &Arc<Config>, action: QueueAction) -> Result<Response, Failure> {
    crate::startup::require_store(config, &format!("queue {}", action.verb()))?;
    let store = crate::startup::open_store(config)?;
    let directory = crate::startup::load_directory(config)?;
    let audit = crate::startup::open_audit(config)?;
    let queue =
        Queue::open(config.clone(), store.clone(), directory, audit).map_err(Failure::runtime)?;
    Ok(answer(execute(&queue, config, &store, action)))
}

impl QueueAction {
    /// The subcommand's name, for messages.
    fn verb(&self) -> &'static str {
        match self {
            QueueAction::Show { .. } => "show",
            QueueAction::Hold { .. } => "hold",
            QueueAction::Release { .. } => "release",
            QueueAction::Delete { .. } | QueueAction::DeleteFor { .. } => "delete",
            QueueAction::Bounce { .. } => "bounce",
        }
    }
}

fn answer(result: Result<(String, Option<Vec<u8>>), QueueError>) -> Response {
    match result {
        Ok((message, body)) => Response {
            data: body.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
            ..Response::done(true, message)
        },
        Err(e) => Response::done(false, e.to_string()),
    }
}

/// Performs `action`; the text to print and, for `show --body`, the message.
fn execute(
    queue: &Queue,
    config: &Config,
    store: &Store,
    action: QueueAction,
) -> Result<(String, Option<Vec<u8>>), QueueError> {
    let text = match action {
        QueueAction::Show { id, body } => {
            let (entry, message) = queue.get(&id)?;
            queue.audit_shown(&id, body)?;
            let view = View {
                full: config.log.personal_data == PersonalData::Full,
                store,
            };
            return Ok((view.show(&entry), body.then_some(message)));
        }
        QueueAction::Hold { id } => match queue.hold(&id)? {
            true => format!("{id} held: no attempt until `sealpost queue release {id}`"),
            false => format!("{id} was held already"),
        },
        QueueAction::Release { id } => {
            queue.release_hold(&id)?;
            format!("{id} released: it is tried now")
        }
        QueueAction::Delete { id } => {
            let entry = queue.delete(&id)?;
            let pending = pending(&entry);
            format!("{id} deleted ({pending} recipient(s) not delivered; no DSN sent)")
        }
        QueueAction::DeleteFor { domain } => {
            let done = queue.delete_for_domain(&domain)?;
            let mut text = format!(
                "{} message(s) deleted, {} kept for recipients elsewhere (no DSN sent)",
                done.deleted.len(),
                done.trimmed.len()
            );
            for id in &done.deleted {
                text.push_str(&format!("\ndeleted {id}"));
            }
            for id in &done.trimmed {
                text.push_str(&format!("\ntrimmed {id}"));
            }
            for id in &done.busy {
                text.push_str(&format!(
                    "\nbusy {id}: a delivery attempt (or another queue command) is in progress; left as it was, run the command again"
                ));
            }
            text
        }
        QueueAction::Bounce { id } => {
            let sender_null = queue.get(&id)?.0.sender.is_empty();
            let n = queue.bounce(&id, &config.server.hostname)?;
            if sender_null {
                format!("{id} bounced: {n} recipient(s) failed; null sender, so no DSN")
            } else {
                format!("{id} bounced: {n} recipient(s) failed; a DSN goes to the sender")
            }
        }
    };
    Ok((text, None))
}

fn pending(entry: &QueueEntry) -> usize {
    entry
        .recipients
        .iter()
        .filter(|r| r.status == RecipientStatus::Pending)
        .count()
}

/// How `show` renders personal data (see the module docs).
struct View<'a> {
    full: bool,
    store: &'a Store,
}

impl View<'_> {
    fn show(&self, e: &QueueEntry) -> String {
        let mut lines = vec![
            format!("id: {}", e.id),
            format!("state: {}", if e.held { "held" } else { "queued" }),
            format!("queued: {}", time(e.created)),
            format!("size: {}", e.size),
            format!("from: {}", self.sender(&e.sender)),
            format!("attempts: {}", e.attempts),
            format!(
                "next attempt: {}",
                if e.held {
                    "none while held".to_string()
                } else {
                    time(e.next_attempt)
                }
            ),
        ];
        if let Some(envid) = &e.envid {
            lines.push(format!("envid: {}", clean(envid)));
        }
        for r in &e.recipients {
            let state = match &r.status {
                RecipientStatus::Pending => "pending".to_string(),
                RecipientStatus::Delivered { host } => format!("delivered to {}", clean(host)),
                RecipientStatus::Failed { reason } => format!("failed: {}", self.reply(reason)),
            };
            let mut line = format!("to: {} {state}", self.recipient(&r.address));
            if let (RecipientStatus::Pending, Some(last)) = (&r.status, &r.last_error) {
                line.push_str(&format!("; last reply: {}", self.reply(last)));
            }
            lines.push(line);
        }
        lines.join("\n")
    }

    fn sender(&self, address: &str) -> String {
        if address.is_empty() {
            return "<>".into();
        }
        if self.full {
            return clean(address);
        }
        match self.store.account_id(address) {
            Ok(Some(id)) => format!("#{}", id.0),
            _ => "-".into(),
        }
    }

    fn recipient(&self, address: &str) -> String {
        if self.full {
            return clean(address);
        }
        match address.rsplit_once('@') {
            Some((_, domain)) => format!("-@{}", clean(domain)),
            None => "-".into(),
        }
    }

    /// A remote reply: whole in full mode, else its reply code and
    /// enhanced status (the text may quote the address).
    fn reply(&self, reply: &str) -> String {
        if self.full {
            return clean(reply);
        }
        let codes: Vec<&str> = reply
            .split_whitespace()
            .take(2)
            .take_while(|w| w.chars().all(|c| c.is_ascii_digit() || c == '.'))
            .collect();
        match codes.is_empty() {
            // A local error (connection refused) names a host, not a person.
            true => clean(reply),
            false => codes.join(" "),
        }
    }
}

fn time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Text from remote servers: no control characters reach the terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}
