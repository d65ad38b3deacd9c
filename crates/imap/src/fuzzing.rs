//! Entry points of the fuzz targets (`fuzz/imap_parser`,
//! `fuzz/imap_session`), kept in the crate so `cargo test` replays their
//! corpora and they cannot rot. Not part of the server's API.
//!
//! - [`parser`]: bytes through the framer (small limits) and every framed
//!   command through the parser; must never panic.
//! - [`FuzzWorld::session`]: bytes as a client's stream to a session that
//!   starts logged in (no argon2 per input), over a real store in a
//!   directory the caller provides; must never panic or hang.

use crate::session::{Action, Ctx, Session};
use crate::wire::framer::{Frame, FrameLimits, Framer};
use crate::wire::parser::parse_command;
use crate::wire::response::Out;
use sealpost_audit::AuditLog;
use sealpost_config::Config;
use sealpost_directory::{Directory, ThrottleLimits};
use sealpost_store::{Store, StoreOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The first input byte chooses how the rest is split into reads.
fn chunk_size(data: &[u8]) -> (usize, &[u8]) {
    match data.split_first() {
        Some((&b, rest)) => (usize::from(b % 16) + 1, rest),
        None => (1, data),
    }
}

/// Framer + parser on arbitrary bytes.
pub fn parser(data: &[u8]) {
    let (step, data) = chunk_size(data);
    let mut framer = Framer::new(FrameLimits {
        max_line: 512,
        max_literal: 1024,
    });
    for chunk in data.chunks(step) {
        framer.push(chunk);
        while let Some(frame) = framer.next_frame() {
            if let Frame::Command(bytes) = frame {
                let _ = parse_command(&bytes);
            }
        }
    }
}

/// A store, directory and config for session fuzzing.
pub struct FuzzWorld {
    ctx: Arc<Ctx>,
    account: sealpost_store::AccountId,
    runtime: tokio::runtime::Runtime,
}

impl FuzzWorld {
    /// Builds the world in `dir` (which must exist and be writable).
    pub fn new(dir: &Path) -> FuzzWorld {
        let text = "[server]\nhostname = \"localhost\"\ndata_dir = \"data\"\naccounts = \"accounts.toml\"\nmaster_key = \"master.key\"\naudit_signing_key = \"audit.key\"\n\n[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n\n[imap]\nmax_line = 512\nmax_literal = 4096\n\n[[domain]]\nname = \"example.org\"\n";
        let path = dir.join("sealpost.toml");
        let config = Config::parse(&path, text).expect("fuzz config");
        let store = Store::open(StoreOptions {
            data_dir: dir.join("data"),
            master_key: dir.join("master.key"),
            summarizer: Arc::new(crate::message::ImapSummarizer),
        })
        .expect("fuzz store");
        let account = store.ensure_account("fuzz@example.org").expect("account");
        let directory = Directory::load(
            &dir.join("accounts.toml"),
            vec!["example.org".into()],
            ThrottleLimits {
                per_ip: 1,
                per_account: 1,
                window: Duration::from_secs(900),
            },
        )
        .expect("fuzz directory");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        FuzzWorld {
            ctx: Arc::new(Ctx {
                config: Arc::new(config),
                store,
                directory,
                audit: AuditLog::disabled(),
            }),
            account,
            runtime,
        }
    }

    /// Feeds `data` to a logged-in session as its client's bytes.
    pub fn session(&self, data: &[u8]) {
        let (step, data) = chunk_size(data);
        let mut session = Session::logged_in(
            self.ctx.clone(),
            "127.0.0.1:1".parse().expect("addr"),
            self.account,
            "fuzz@example.org".into(),
        );
        let mut framer = Framer::new(FrameLimits {
            max_line: self.ctx.config.imap.max_line,
            max_literal: self.ctx.config.imap.max_literal,
        });
        self.runtime.block_on(async {
            let mut out = Out::new();
            for chunk in data.chunks(step) {
                framer.push(chunk);
                while let Some(frame) = framer.next_frame() {
                    match session.on_frame(frame, &mut out).await {
                        Action::Continue => {}
                        // What follows COMPRESS would be DEFLATE data.
                        Action::Close | Action::Compress => return,
                        Action::StartTls => {
                            framer.discard_buffered();
                            session.tls_established("TLSv1.3".into());
                        }
                    }
                    out.buf.clear();
                }
                if session.idling() {
                    session.announce_changes(&mut out);
                    out.buf.clear();
                }
            }
        });
    }
}
