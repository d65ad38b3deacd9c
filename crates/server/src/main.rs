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

#![forbid(unsafe_code)]

mod accounts;
mod admin;
mod serve;

use clap::{Parser, Subcommand};
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
}

/// A failure to report: one line, and the exit code.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn runtime(message: impl std::fmt::Display) -> Failure {
        Failure {
            message: message.to_string(),
            code: 1,
        }
    }
    pub fn config(message: impl std::fmt::Display) -> Failure {
        Failure {
            message: message.to_string(),
            code: 2,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve => serve::run(&cli.config),
        Command::CheckConfig => check_config(&cli.config),
        Command::Account { command } => accounts::run(&cli.config, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            let line = f.message.replace('\n', " ");
            eprintln!("sealpost: {line}");
            ExitCode::from(f.code)
        }
    }
}

pub fn load_config(path: &std::path::Path) -> Result<sealpost_config::Config, Failure> {
    sealpost_config::Config::load(path).map_err(Failure::config)
}

fn check_config(path: &std::path::Path) -> Result<(), Failure> {
    let config = load_config(path)?;
    let directory = serve::load_directory(&config)?;
    println!(
        "{}: ok ({} domain(s), {} account(s), {} listener address(es))",
        config.path.display(),
        config.domains.len(),
        directory.accounts().len(),
        serve::listeners(&config).len()
    );
    Ok(())
}
