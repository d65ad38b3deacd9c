//! `sealpost queue list|flush`: the outbound queue for operators.
//!
//! Both go through the admin socket while the server runs. When it does not,
//! `list` reads the queue files itself and `flush` makes every message due
//! at once, so the server tries them as soon as it starts (rather than
//! after their backoff).

use crate::admin::{self, Request};
use crate::startup::{Failure, load_config};
use sealpost_smtp::{QueueEntry, RecipientStatus};
use std::path::Path;
use std::sync::Arc;

/// One line per queued message, tab-separated: id, `queued=`, `attempts=`,
/// `next=`, `size=`, `from=`, and `to=` with each recipient and where it
/// stands, e.g. `carol@example.com (pending: 451 4.3.0 busy)`.
pub fn format_entries(entries: &[QueueEntry]) -> String {
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    // Reasons come from remote servers: no control characters reach the terminal.
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(200)
            .collect()
    };
    let mut out = String::new();
    for e in entries {
        let rcpts: Vec<String> = e
            .recipients
            .iter()
            .map(|r| {
                let state = match (&r.status, &r.last_error) {
                    (RecipientStatus::Pending, Some(why)) => format!("pending: {}", clean(why)),
                    (RecipientStatus::Pending, None) => "pending".to_string(),
                    (RecipientStatus::Delivered { host }, _) => {
                        format!("delivered to {}", clean(host))
                    }
                    (RecipientStatus::Failed { reason }, _) => format!("failed: {}", clean(reason)),
                };
                format!("{} ({state})", r.address)
            })
            .collect();
        let sender = if e.sender.is_empty() { "<>" } else { &e.sender };
        out.push_str(&format!(
            "{}\tqueued={}\tattempts={}\tnext={}\tsize={}\tfrom={}\tto={}\n",
            e.id,
            time(e.created),
            e.attempts,
            time(e.next_attempt),
            e.size,
            sender,
            rcpts.join(", ")
        ));
    }
    if entries.is_empty() {
        out.push_str("queue is empty\n");
    }
    out
}

pub fn cli_list(path: &Path) -> Result<(), Failure> {
    let config = Arc::new(load_config(path)?);
    let text = match admin::request(&config.admin_socket(), &Request::QueueList)
        .map_err(Failure::runtime)?
    {
        Some(r) if r.ok => r.message,
        Some(r) => return Err(Failure::runtime(r.message)),
        None => {
            crate::startup::require_store(&config, "queue list")?;
            let store = crate::startup::open_store(&config)?;
            let directory = crate::startup::load_directory(&config)?;
            let entries = sealpost_smtp::queue_list(config.clone(), store, directory)
                .map_err(Failure::runtime)?;
            format_entries(&entries)
        }
    };
    print!("{text}");
    Ok(())
}

pub fn cli_flush(path: &Path) -> Result<(), Failure> {
    let config = Arc::new(load_config(path)?);
    match admin::request(&config.admin_socket(), &Request::QueueFlush).map_err(Failure::runtime)? {
        Some(r) if r.ok => {
            println!("{}", r.message);
            Ok(())
        }
        Some(r) => Err(Failure::runtime(r.message)),
        None => {
            crate::startup::require_store(&config, "queue flush")?;
            let store = crate::startup::open_store(&config)?;
            let directory = crate::startup::load_directory(&config)?;
            let n = sealpost_smtp::queue_flush(config.clone(), store, directory)
                .map_err(Failure::runtime)?;
            println!("{n} queued message(s) due now; the server tries them as soon as it starts");
            Ok(())
        }
    }
}
