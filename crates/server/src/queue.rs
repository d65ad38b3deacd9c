//! `sealpost queue list|flush`: the outbound queue for operators.

use crate::admin::{self, Request};
use crate::{Failure, load_config};
use sealpost_smtp::QueueEntry;
use std::path::Path;
use std::sync::Arc;

/// One line per queued message: id, age, attempts, next attempt, size, sender, recipients.
pub fn format_entries(entries: &[QueueEntry]) -> String {
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut out = String::new();
    for e in entries {
        let rcpts: Vec<String> = e
            .recipients
            .iter()
            .map(|r| format!("{} ({:?})", r.address, r.status))
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
            let store = crate::serve::open_store(&config)?;
            let directory = crate::serve::load_directory(&config)?;
            let entries = sealpost_smtp::queue_list(config.clone(), store, directory)
                .map_err(Failure::runtime)?;
            format_entries(&entries)
        }
    };
    print!("{text}");
    Ok(())
}

pub fn cli_flush(path: &Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    match admin::request(&config.admin_socket(), &Request::QueueFlush).map_err(Failure::runtime)? {
        Some(r) if r.ok => {
            println!("{}", r.message);
            Ok(())
        }
        Some(r) => Err(Failure::runtime(r.message)),
        None => Err(Failure::runtime(
            "the server is not running: the queue is delivered when it starts",
        )),
    }
}
