//! `sealpost`: the mail server binary and its operator CLI.
//!
//! One binary: `serve` runs every configured listener; the other subcommands
//! are the operator's tools. Each takes `-c/--config FILE` (default
//! `config/sealpost.toml`). While `serve` runs, commands that touch the store
//! go through the admin socket in data_dir (sled allows one process); when it
//! does not, they open the store themselves.
//!
//! Errors are one line on stderr and a non-zero exit: 1 for a runtime
//! failure, 2 for bad configuration or usage.
//!
//! # Modules, in the one direction they import
//!
//! Each module uses only modules listed before it (none uses `main.rs`):
//!
//! 1. `startup`: [`Failure`], the config, opening store, audit log and
//!    accounts file; shared by everything, uses none of the others.
//!    `preflight` (what `check-config` finds that `serve` would fail on),
//!    `permissions` (umask, files open to others), `logging` (the
//!    operational log) and `running` (the configuration a server runs
//!    with, and reloads) use none either.
//! 2. `admin`: the admin socket's requests, its client, and its listener
//!    (which runs whatever handler `serve` gives it).
//!    `cli_edit`: a CLI edit of a file the server reads, undone when the
//!    running server refuses it.
//! 3. `accounts_audit`: auditing changes of the accounts file; `usage`:
//!    what each account's mail takes in the store.
//! 4. `accounts`: `sealpost account ...` and deletion/restore in the store;
//!    `aliases`: `sealpost alias ...` (uses `accounts`);
//!    `import_mail`: `sealpost import` (in the server through `admin`, or
//!    offline; uses `startup` and `admin`; the work is `sealpost-import`'s);
//!    `import_accounts`: `sealpost import-accounts` (uses `accounts`).
//! 5. `services`: the running server's shared pieces and their following
//!    the accounts file.
//! 6. `compliance`, `queue` (and `queue_control`), `audit_cli`, `dns`, `domains` (with `config_edit`,
//!    in-place edits of the config file): the other commands, each with its
//!    in-server side (reached through the admin socket) and its offline side;
//!    `backup` and `restore`: `sealpost backup|restore` (the store's
//!    snapshot and hold, copied with a checked manifest);
//!    `health`: `/metrics`, `/healthz`, `/readyz`; `account_page`: the
//!    users' account page's operations; `web`: the HTTP listeners' routes
//!    and ACME.
//! 7. `serve`: `sealpost serve`, wiring all of the above.

#![forbid(unsafe_code)]

mod startup;

mod logging;
mod permissions;
mod preflight;
mod running;

mod admin;
mod cli_edit;
mod config_edit;
mod config_lock;
mod config_watch;

mod accounts_audit;

mod usage;

mod accounts;
mod aliases;
mod import_accounts;
mod import_mail;

mod services;

mod account_page;
mod audit_cli;
mod backup;
mod compliance;
mod dkim_share;
mod dns;
mod domain_watch;
mod domains;
mod health;
mod queue;
mod queue_control;
mod restore;

mod serve;
mod store_cli;
mod tls_report;
mod web;

use clap::{Parser, Subcommand};
use startup::{Failure, load_config};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sealpost",
    version,
    about = "TLS-only IMAP, POP3 and SMTP over one encrypted mailbox store"
)]
struct Cli {
    /// The config file.
    #[arg(short, long, global = true, default_value = sealpost_config::DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server with every configured listener.
    Serve,
    /// Validate the config file (and the accounts file) and exit.
    CheckConfig,
    /// Manage accounts in the accounts file.
    Account {
        #[command(subcommand)]
        command: accounts::AccountCommand,
    },
    /// Aliases of accounts, and each domain's catch-all (`*@domain`).
    Alias {
        #[command(subcommand)]
        command: aliases::AliasCommand,
    },
    /// Hosted domains: add (with DKIM keys), remove, list.
    Domain {
        #[command(subcommand)]
        command: domains::DomainCommand,
    },
    /// DKIM keys of a hosted domain: rotate, retire.
    Dkim {
        #[command(subcommand)]
        command: domains::DkimCommand,
    },
    /// Print the DNS records a hosted domain needs, in zone-file syntax;
    /// with --check, whether each is published (exit 1 unless all are).
    Dns {
        domain: String,
        /// Look each record up through [smtp.dns] and say present, missing or different.
        #[arg(long)]
        check: bool,
    },
    /// Create accounts from a Dovecot passwd-file, keeping their password
    /// hashes (SHA512-CRYPT, BLF-CRYPT, SSHA, ...; each becomes argon2id at
    /// its first login). All or nothing.
    ImportAccounts {
        /// The passwd-file (`user:{SCHEME}hash:...` lines).
        #[arg(long, required = true)]
        dovecot_passwd: PathBuf,
        /// The domain of user names without `@`.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Import a Maildir (Dovecot's UIDs, keywords and subscriptions kept),
    /// an mbox file, a folder of mbox files or a whole account from a live
    /// IMAP server into an account; through the running server if there is
    /// one. An IMAP import run again copies only what is new and applies
    /// flag changes.
    Import {
        /// The account.
        address: String,
        /// The Maildir, mbox file or folder of mbox files.
        #[arg(long, conflicts_with = "imap")]
        from: Option<PathBuf>,
        /// The IMAP account to copy: imaps://USER@HOST[:PORT].
        #[arg(long)]
        imap: Option<String>,
        /// Read the IMAP password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        /// Trust only the CA certificates in this PEM file for the IMAP
        /// server (the system's roots otherwise).
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// IMAP connections at once (folders copied in parallel).
        #[arg(long, default_value_t = 4)]
        jobs: usize,
    },
    /// The retention worker.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Export an account's mail and access log (GDPR articles 15 and 20) as a tar archive.
    Export {
        /// The account.
        address: String,
        /// Where to write the archive.
        #[arg(long)]
        out: PathBuf,
        /// Mailboxes as mbox files (default) or Maildir folders.
        #[arg(long, value_enum, default_value = "mbox")]
        format: ExportFormat,
    },
    /// The sealed audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The outbound queue.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// TLS reports (RFC 8460) to recipient domains.
    TlsReport {
        #[command(subcommand)]
        command: TlsReportCommand,
    },
    /// Compliance documents.
    Compliance {
        #[command(subcommand)]
        command: ComplianceCommand,
    },
    /// Copy the store (metadata, blobs, account keys), the rest of data_dir,
    /// the config and the accounts file into DIR, consistently, through the
    /// running server if there is one; incremental when DIR holds an
    /// earlier backup. Embedded store only (PostgreSQL: pg_dump or PITR).
    Backup {
        /// The backup folder (created 0700; an earlier backup in it is updated).
        #[arg(long)]
        out: PathBuf,
        /// Add the master key, restore key and audit signing key: the
        /// backup is then as sensitive as the mail itself.
        #[arg(long)]
        include_keys: bool,
    },
    /// Restore a backup into the config's data_dir, which must be empty or
    /// absent; every file is checked against the backup's manifest.
    Restore {
        /// The backup folder.
        #[arg(long)]
        from: PathBuf,
    },
    /// The mailbox store's backend: PostgreSQL schema, copying into it.
    Store {
        #[command(subcommand)]
        command: store_cli::StoreCommand,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Run one retention pass now (or as if at --at, an RFC 3339 time).
    ///
    /// With --at, deleted accounts due by that time are purged and Trash and
    /// Junk are expunged as of that time (a later time purges sooner: for
    /// tests, or to honour an erasure request early). Audit records are
    /// anonymized and deleted only at their real time, whatever --at says:
    /// no date in the future destroys a record the law says to keep.
    Run {
        /// Act as if at this RFC 3339 time (accounts and mail only; the
        /// audit log always uses the real time).
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every record, chain link, checkpoint and seal; exit non-zero on
    /// the first failure. Always prints the last attested point (segment,
    /// record, head hash); warns about records sealed as unattested after a
    /// crash.
    Verify {
        /// A file holding the public key (from `sealpost audit pubkey`), kept where the server cannot write.
        /// With several --dir, once per --dir in the same order (or not at all).
        #[arg(long)]
        pubkey: Vec<PathBuf>,
        /// What the witness saw (the `[audit] witness` file, or an export of
        /// syslog or the journal): fail if the log holds fewer records or
        /// segments than it saw, or different ones. With several --dir,
        /// once per --dir in the same order (or not at all).
        #[arg(long)]
        witness: Vec<PathBuf>,
        /// Verify these audit folders (each node of a cluster keeps its own
        /// log) instead of this node's, each chain on its own; repeatable.
        #[arg(long = "dir")]
        dirs: Vec<PathBuf>,
        /// The same as --dir: `audit verify DIR1 DIR2`.
        #[arg(value_name = "DIR")]
        folders: Vec<PathBuf>,
        /// Fail on warnings too (unattested records).
        #[arg(long)]
        strict: bool,
    },
    /// Export events as RFC 4180 CSV on standard output.
    Export {
        /// CSV is the one format (the flag is required so a future format cannot be taken for it).
        #[arg(long, required = true)]
        csv: bool,
        /// Only events naming this address.
        #[arg(long)]
        account: Option<String>,
        /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Only events before this time.
        #[arg(long)]
        until: Option<String>,
        /// login, delivery, account or admin.
        #[arg(long)]
        kind: Option<String>,
        /// Export these audit folders (each node of a cluster keeps its own
        /// log) merged in time order (ties: by node), with a last column
        /// `node` naming each row's node by the id in its segment names (the
        /// folder as given here for a log from before node ids); repeatable.
        #[arg(long = "dir")]
        dirs: Vec<PathBuf>,
        /// The same as --dir: `audit export --csv DIR1 DIR2`.
        #[arg(value_name = "DIR")]
        folders: Vec<PathBuf>,
    },
    /// Print the public key that verifies the seals.
    Pubkey,
}

#[derive(Subcommand)]
enum QueueCommand {
    /// List queued messages.
    List,
    /// Make every queued message due now.
    Flush,
    /// One message's envelope, attempts, last reply and next attempt
    /// (personal data as [log] personal_data says).
    Show {
        /// The queue id (from `queue list`).
        id: String,
        /// Print the message itself too, after a blank line (audited).
        #[arg(long)]
        body: bool,
    },
    /// Stop attempts for a message until it is released.
    Hold { id: String },
    /// Release a held message: it is tried at once.
    Release { id: String },
    /// Remove a message (or, with --all-for, every recipient in a domain)
    /// without sending a DSN.
    Delete {
        /// The queue id.
        #[arg(required_unless_present = "all_for", conflicts_with = "all_for")]
        id: Option<String>,
        /// Every pending recipient in this domain instead.
        #[arg(long, value_name = "DOMAIN")]
        all_for: Option<String>,
    },
    /// Fail a message's pending recipients now and send the sender a DSN,
    /// as a real bounce does.
    Bounce { id: String },
}

#[derive(Subcommand)]
enum TlsReportCommand {
    /// End the report period now and send the reports (of one domain, or
    /// all); reports waiting for a retry are tried again too. Exit 1 when
    /// one was not sent.
    Send {
        /// Only this recipient domain's report.
        #[arg(long)]
        domain: Option<String>,
    },
}

#[derive(Subcommand)]
enum ComplianceCommand {
    /// Print the register of processing (GDPR article 30) as Markdown: the
    /// running server's configuration (and how the file differs), or the
    /// file's when no server runs; what `[compliance]` lacks as TODO lines.
    Report,
    /// Print a data protection impact assessment (GDPR article 35) to start
    /// from, as Markdown: each risk with its measure and its current state
    /// (off or weak measures flagged), the controller's judgements as TODO.
    Dpia,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Mbox,
    Maildir,
}

fn main() -> ExitCode {
    // Before anything is created: files 0600, folders 0700, whatever the
    // umask we were started with.
    permissions::private_umask();
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve);
    let result = match cli.command {
        Command::Serve => serve::run(&cli.config),
        Command::CheckConfig => check_config(&cli.config),
        Command::Account { command } => accounts::run(&cli.config, command),
        Command::Alias { command } => aliases::run(&cli.config, command),
        Command::Domain { command } => domains::run_domain(&cli.config, command),
        Command::Dkim { command } => domains::run_dkim(&cli.config, command),
        Command::Dns { domain, check } => dns::run(&cli.config, &domain, check),
        Command::Import {
            address,
            from,
            imap,
            password_stdin,
            ca_file,
            jobs,
        } => import_mail::run(
            &cli.config,
            import_mail::Args {
                address,
                from,
                imap,
                password_stdin,
                ca_file,
                jobs,
            },
        ),
        Command::ImportAccounts {
            dovecot_passwd,
            domain,
        } => import_accounts::run(&cli.config, &dovecot_passwd, domain),
        Command::Retention {
            command: RetentionCommand::Run { at },
        } => compliance::cli_retention_run(&cli.config, at),
        Command::Export {
            address,
            out,
            format,
        } => compliance::cli_export(
            &cli.config,
            address,
            out,
            matches!(format, ExportFormat::Maildir),
        ),
        Command::Audit {
            command:
                AuditCommand::Verify {
                    pubkey,
                    witness,
                    strict,
                    mut dirs,
                    folders,
                },
        } => {
            dirs.extend(folders);
            audit_cli::verify(&cli.config, pubkey, witness, dirs, strict)
        }
        Command::Audit {
            command:
                AuditCommand::Export {
                    csv: _,
                    account,
                    since,
                    until,
                    kind,
                    mut dirs,
                    folders,
                },
        } => {
            dirs.extend(folders);
            audit_cli::export(&cli.config, account, since, until, kind, dirs)
        }
        Command::Audit {
            command: AuditCommand::Pubkey,
        } => audit_cli::pubkey(&cli.config),
        Command::Queue {
            command: QueueCommand::List,
        } => queue::cli_list(&cli.config),
        Command::Queue {
            command: QueueCommand::Flush,
        } => queue::cli_flush(&cli.config),
        Command::Queue { command } => queue_control::cli(&cli.config, queue_action(command)),
        Command::TlsReport {
            command: TlsReportCommand::Send { domain },
        } => tls_report::cli_send(&cli.config, domain),
        Command::Compliance {
            command: ComplianceCommand::Report,
        } => compliance::cli_report(&cli.config),
        Command::Compliance {
            command: ComplianceCommand::Dpia,
        } => compliance::cli_dpia(&cli.config),
        Command::Store { command } => store_cli::run(&cli.config, command),
        Command::Backup { out, include_keys } => backup::cli(&cli.config, out, include_keys),
        Command::Restore { from } => restore::cli(&cli.config, &from),
    };
    // What an administrator's command made as root in the service's
    // folders goes back to the service's user, whether it worked or not.
    if !serving && let Ok(config) = sealpost_config::Config::load(&cli.config) {
        for line in permissions::hand_back(&config) {
            eprintln!("sealpost: warning: {line}");
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            let line = f.message.replace('\n', " ");
            eprintln!("sealpost: {line}");
            ExitCode::from(f.code)
        }
    }
}

fn check_config(path: &std::path::Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    let directory = startup::load_directory(&config)?;
    let problems = preflight::problems(&config);
    if !problems.is_empty() {
        return Err(Failure::config(format!(
            "{}: serve would fail: {}",
            config.path.display(),
            problems.join("; ")
        )));
    }
    permissions::print(&permissions::warnings(&config), &mut |l| {
        eprintln!("sealpost: warning: {l}")
    });
    println!(
        "{}: ok ({} domain(s), {} account(s), {} listener address(es))",
        config.path.display(),
        config.domains.len(),
        directory.accounts().len(),
        startup::listeners(&config).len()
    );
    Ok(())
}

/// The admin request for a queue command other than list and flush.
fn queue_action(command: QueueCommand) -> admin::QueueAction {
    use admin::QueueAction as A;
    match command {
        QueueCommand::Show { id, body } => A::Show { id, body },
        QueueCommand::Hold { id } => A::Hold { id },
        QueueCommand::Release { id } => A::Release { id },
        QueueCommand::Delete {
            all_for: Some(domain),
            ..
        } => A::DeleteFor { domain },
        QueueCommand::Delete { id, .. } => A::Delete {
            id: id.unwrap_or_default(),
        },
        QueueCommand::Bounce { id } => A::Bounce { id },
        // Handled before (list and flush have their own module).
        QueueCommand::List | QueueCommand::Flush => unreachable!("queue list/flush"),
    }
}
