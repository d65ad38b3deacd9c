//! The operational log of `serve`: standard error (the journal under
//! systemd), as `[log]` says: its level (the `SEALPOST_LOG` environment
//! variable, a full tracing filter such as `info,sealpost_smtp=debug`,
//! overrides it), text or one JSON object per line, and how much personal
//! data event lines show (`sealpost_telemetry::privacy`).
//!
//! Event lines (one per connection, login, message, queue attempt, account
//! change, retention action) have the target `sealpost::event` and an
//! `event` field; see the README's operating section.
//!
//! Uses `startup` only (the module order is in `main.rs`).

use sealpost_config::{Config, LogFormat, PersonalData};
use sealpost_store::Store;

/// Installs the subscriber for the rest of the process.
pub fn init(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEALPOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(config.log.level.as_str()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
    sealpost_telemetry::privacy::set_full(config.log.personal_data == PersonalData::Full);
}

/// Lets minimal-mode event lines name accounts by their store id.
pub fn resolve_accounts_with(store: &Store) {
    let store = store.clone();
    sealpost_telemetry::privacy::set_account_resolver(move |address| {
        store.account_id(address).ok().flatten().map(|id| id.0)
    });
}
