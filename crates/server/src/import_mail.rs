//! `sealpost import ADDRESS --from PATH | --imap URL --password-stdin`: mail
//! into an account from a Maildir, an mbox file, a folder of mbox files or
//! a live IMAP server (the work itself: `sealpost-import`).
//!
//! With the server running, the CLI hands the import to it through the
//! admin socket (`Request::Import`; the embedded store admits one process),
//! so IMAP sessions see the mail arrive; otherwise it opens the store
//! itself. Either way one import runs in the process that owns the store,
//! is audited (`account_changed`, "imported N messages ..."), shows
//! progress on a terminal (messages, octets, rate) and ends with one
//! summary line. Uses `startup` and `admin`.

use crate::admin::{self, Request};
use crate::startup::{Failure, load_config};
use sealpost_audit::{AuditLog, Event};
use sealpost_config::Config;
use sealpost_import::imap::{Options, Password, Source, state::StateFiles};
use sealpost_import::resume::Resume;
use sealpost_import::{ImportError, Origin, Totals};
use sealpost_store::Store;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the command line gave.
pub struct Args {
    pub address: String,
    pub from: Option<PathBuf>,
    pub imap: Option<String>,
    pub password_stdin: bool,
    pub ca_file: Option<PathBuf>,
    pub jobs: usize,
}

/// Runs the command.
pub fn run(config_path: &Path, args: Args) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let address = sealpost_directory::normalize_address(&args.address).map_err(Failure::runtime)?;
    let known = sealpost_directory::list_accounts(&config.server.accounts)
        .map_err(Failure::runtime)?
        .iter()
        .any(|a| a.address == address);
    if !known {
        return Err(Failure::runtime(format!("no account {address}")));
    }
    let source = source(args)?;
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut progress = |messages: u64, octets: u64| {
        if tty {
            let rate = messages as f64 / started.elapsed().as_secs_f64().max(0.001);
            eprint!("\r{messages} messages, {octets} octets, {rate:.0} messages/s   ");
        }
    };
    let req = Request::Import {
        address: address.clone(),
        source,
    };
    let answer = admin::request_progress(&config.admin_socket(), &req, &mut progress)
        .map_err(Failure::runtime)?;
    let message = match answer {
        Some(r) if r.ok => r.message,
        Some(r) => return Err(Failure::runtime(unseen_hint(&req, r.message))),
        None => {
            let Request::Import { source, .. } = req else {
                unreachable!("built above")
            };
            let store = crate::startup::open_store(&config)
                .map_err(|f| Failure::runtime(format!("{} (is the server running?)", f.message)))?;
            let audit = crate::startup::open_audit(&config)?;
            let m = import(&config, &store, &audit, &address, &source, &mut progress);
            audit.close().map_err(Failure::runtime)?;
            m?
        }
    };
    if tty {
        eprintln!();
    }
    println!("{message}");
    Ok(())
}

/// A file import the running server refused for want of the source that
/// this command can read: the server reads it as its own user and, under
/// deploy/sealpost.service, sees neither /home, /root nor /tmp
/// (`ProtectHome=`, `PrivateTmp=`); `message` gets what to do.
fn unseen_hint(req: &Request, message: String) -> String {
    let Request::Import {
        source: Origin::Path { path },
        ..
    } = req
    else {
        return message;
    };
    let unseen =
        message.contains("no such file or folder") || message.contains("Permission denied");
    if !unseen || !path.exists() {
        return message;
    }
    format!(
        "{message}; the running server reads the source as its own user and, under deploy/'s unit, sees neither /home, /root nor /tmp: put it elsewhere, readable by the service's user (for example setfacl -R -m u:sealpost:rX PATH), or stop the server and import offline"
    )
}

/// The source the arguments name; the password read from standard input.
fn source(args: Args) -> Result<Origin, Failure> {
    match (args.from, args.imap) {
        (Some(from), None) => {
            if args.password_stdin || args.ca_file.is_some() {
                return Err(Failure::config(
                    "--password-stdin and --ca-file go with --imap",
                ));
            }
            let path = std::path::absolute(&from).map_err(Failure::runtime)?;
            if !path.exists() {
                return Err(Failure::runtime(format!(
                    "{}: no such file or folder (give a Maildir, an mbox file or a folder of mbox files)",
                    from.display()
                )));
            }
            Ok(Origin::Path { path })
        }
        (None, Some(url)) => {
            url.parse::<Source>().map_err(Failure::config)?;
            if !args.password_stdin {
                return Err(Failure::config(
                    "--imap needs --password-stdin (the source password, one line on standard input)",
                ));
            }
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let password = line.trim_end_matches(['\n', '\r']).to_string();
            if password.is_empty() {
                return Err(Failure::config(
                    "--password-stdin: no password on standard input",
                ));
            }
            let ca_file = match args.ca_file {
                Some(f) => Some(std::path::absolute(&f).map_err(Failure::runtime)?),
                None => None,
            };
            Ok(Origin::Imap {
                url,
                password: Password::new(password),
                ca_file,
                jobs: args.jobs.clamp(1, 16),
            })
        }
        _ => Err(Failure::config("give either --from PATH or --imap URL")),
    }
}

/// One import in the process that owns the store (the CLI offline, or the
/// server through the admin socket); returns the summary line.
pub fn import(
    config: &Config,
    store: &Store,
    audit: &AuditLog,
    address: &str,
    source: &Origin,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<String, Failure> {
    let account = store.ensure_account(address).map_err(Failure::runtime)?;
    let totals = Arc::new(Totals::default());
    let (kind, result) = match source {
        Origin::Path { path } => {
            let kind = match std::fs::metadata(path) {
                Ok(m) if m.is_file() => "an mbox file",
                Ok(m) if m.is_dir() && path.join("cur").is_dir() => "a Maildir",
                Ok(m) if m.is_dir() => "a folder of mbox files",
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(Failure::runtime(format!("{}: {e}", path.display())));
                }
                _ => {
                    return Err(Failure::runtime(format!(
                        "{}: no such file or folder",
                        path.display()
                    )));
                }
            };
            let resume = Resume {
                files: StateFiles::new(&config.server.data_dir, &config.server.master_key)
                    .map_err(Failure::runtime)?,
                address: address.to_string(),
            };
            let work = || {
                if kind == "a Maildir" {
                    sealpost_import::maildir::import(store, account, path, &totals, &resume)
                } else {
                    sealpost_import::mbox::import(store, account, path, &totals, &resume)
                }
            };
            (kind.to_string(), with_progress(&totals, progress, work))
        }
        Origin::Imap {
            url,
            password,
            ca_file,
            jobs,
        } => {
            let source: Source = url.parse().map_err(Failure::config)?;
            let state = StateFiles::new(&config.server.data_dir, &config.server.master_key)
                .map_err(Failure::runtime)?;
            let opts = Options {
                source: source.clone(),
                password: password.clone(),
                ca_file: ca_file.clone(),
                jobs: *jobs,
                retries: 5,
                state,
            };
            let work =
                || sealpost_import::imap::run(store, account, address, &opts, totals.clone());
            (source.to_string(), with_progress(&totals, progress, work))
        }
    };
    let done = Totals::get(&totals.messages);
    let change = match &result {
        Ok(()) => format!(
            "imported {done} messages into {} mailboxes from {kind}",
            Totals::get(&totals.mailboxes)
        ),
        Err(e) => format!("import from {kind} stopped after {done} messages: {e}"),
    };
    audit
        .record_durable(Event::AccountChanged {
            account: address.to_string(),
            change,
        })
        .map_err(Failure::runtime)?;
    result.map_err(|e: ImportError| Failure::runtime(e))?;
    Ok(totals.summary(address))
}

/// Runs `work` on a thread of its own and reports the totals every 250 ms.
fn with_progress<T: Send>(
    totals: &Totals,
    progress: &mut dyn FnMut(u64, u64),
    work: impl FnOnce() -> T + Send,
) -> T {
    std::thread::scope(|s| {
        let handle = s.spawn(work);
        while !handle.is_finished() {
            std::thread::sleep(Duration::from_millis(250));
            progress(Totals::get(&totals.messages), Totals::get(&totals.octets));
        }
        handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}
