//! Not-authenticated state and session-wide commands: CAPABILITY
//! (RFC 9051 6.1.1), STARTTLS (6.2.1), AUTHENTICATE PLAIN with SASL-IR
//! (6.2.2, RFC 4959, RFC 4616), LOGIN (6.2.3), ENABLE (6.3.1, RFC 5161),
//! ID (RFC 2971), NAMESPACE (6.3.10), COMPRESS (RFC 4978).
//!
//! Credentials and personal data never cross plaintext: on the STARTTLS
//! listener LOGIN and AUTHENTICATE are refused with `NO [PRIVACYREQUIRED]`
//! until the upgrade, and LOGINDISABLED is advertised. Failed logins count
//! per connection; at `max_auth_failures` the connection ends with BYE.
//!
//! A login is three requests to the driver: [`Request::Authenticate`] (the
//! directory's verdict), [`Request::OpenAccount`] (the store account, made
//! on first login) and [`Request::AuditLogin`]; a refused one skips the
//! second.

use super::objectid::ObjectKey;
use super::{Account, Done, Flow, Job, Mode, Next, Reply, Request, Session, State, trim_crlf};
use crate::error::{CmdError, CmdResult};
use crate::wire::command::Tag;
use crate::wire::response::{Code, Out, Status, quoted};
use base64::Engine;
use sealpost_audit::LoginOutcome;
use sealpost_directory::{AuthOutcome, Secret};
use sealpost_store::AccountId;

/// Extensions advertised once the connection is encrypted. Keep in step
/// with what the handlers implement.
const EXTENSIONS: &[&str] = &[
    "IDLE",
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "MOVE",
    "CHILDREN",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "STATUS=SIZE",
    "ESEARCH",
    "SEARCHRES",
    "WITHIN",
    "CONDSTORE",
    "QRESYNC",
    "BINARY",
    "PREVIEW",
    "SORT",
    "SORT=DISPLAY",
    "THREAD=ORDEREDSUBJECT",
    "THREAD=REFERENCES",
    "COMPRESS=DEFLATE",
    "UTF8=ACCEPT",
    "SAVEDATE",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "MULTIAPPEND",
    "CATENATE",
    "REPLACE",
    "OBJECTID",
    "UIDONLY",
    "PARTIAL",
    "ACL",
    "RIGHTS=texk",
    "ESORT",
    "CONTEXT=SEARCH",
    "CONTEXT=SORT",
    "INPROGRESS",
    "METADATA",
    "METADATA-SERVER",
    "LIST-METADATA",
    "NOTIFY",
];

/// A login in progress.
pub(crate) enum Login {
    /// The directory checks the password.
    Checking { user: String },
    /// The store opens the account.
    Opening {
        address: String,
        app_password: Option<String>,
    },
    /// The success is being audited.
    Succeeded {
        id: AccountId,
        address: String,
        ids: ObjectKey,
    },
    /// The failure is being audited.
    /// `text` says what happened (the directory's words when throttled).
    Failed { outcome: LoginOutcome, text: String },
}

impl Session {
    /// The capability list for the current state.
    pub(crate) fn capabilities(&self) -> String {
        let mut caps: Vec<String> = [
            "IMAP4rev1",
            "IMAP4rev2",
            "LITERAL+",
            "ENABLE",
            "ID",
            "SASL-IR",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if self.tls.is_none() {
            caps.push("STARTTLS".into());
            caps.push("LOGINDISABLED".into());
            return caps.join(" ");
        }
        if !self.authenticated() {
            caps.push("AUTH=PLAIN".into());
        }
        caps.extend(EXTENSIONS.iter().map(|s| s.to_string()));
        caps.push(format!("APPENDLIMIT={}", self.config.max_literal));
        caps.push(format!("MESSAGELIMIT={}", self.config.message_limit));
        caps.join(" ")
    }

    pub(super) fn capability(&self, out: &mut Out) -> CmdResult<Done> {
        out.untagged(&format!("CAPABILITY {}", self.capabilities()));
        Done::ok("CAPABILITY completed")
    }

    pub(super) fn starttls(&mut self, tag: &Tag, out: &mut Out) -> Flow {
        if self.tls.is_some() {
            out.status(
                Some(tag.as_str()),
                Status::Bad,
                None,
                "TLS is already active",
            );
            return Flow::Answered(Next::Continue);
        }
        out.status(
            Some(tag.as_str()),
            Status::Ok,
            None,
            "Begin TLS negotiation now",
        );
        Flow::Answered(Next::StartTls)
    }

    /// COMPRESS=DEFLATE (RFC 4978): answered after the mailbox's changes,
    /// and the last thing sent uncompressed.
    pub(super) fn compress(&mut self, mechanism: &str) -> Flow {
        if mechanism != "DEFLATE" {
            return Flow::Done(Err(CmdError::bad(None, "Unknown mechanism")));
        }
        if self.compressed {
            return Flow::Done(Err(CmdError::no(
                Some(Code::CompressionActive),
                "Compression is already active",
            )));
        }
        self.compressed = true;
        Flow::DoneThen(Done::ok("DEFLATE active"), Next::Compress)
    }

    fn privacy_required(&self, tag: &Tag, out: &mut Out) -> bool {
        if self.tls.is_none() {
            out.status(
                Some(tag.as_str()),
                Status::No,
                Some(Code::PrivacyRequired),
                "Use STARTTLS before logging in",
            );
            return true;
        }
        false
    }

    pub(super) fn login(
        &mut self,
        tag: &Tag,
        user: String,
        password: Secret,
        out: &mut Out,
    ) -> Flow {
        if self.privacy_required(tag, out) {
            return Flow::Answered(Next::Continue);
        }
        self.login_mechanism = "LOGIN";
        check_credentials(user, password)
    }

    pub(super) fn authenticate(
        &mut self,
        tag: &Tag,
        mechanism: String,
        initial: Option<String>,
        out: &mut Out,
    ) -> Flow {
        if self.privacy_required(tag, out) {
            return Flow::Answered(Next::Continue);
        }
        if mechanism != "PLAIN" {
            return Flow::Done(Err(CmdError::no(
                Some(Code::Cannot),
                "Unsupported authentication mechanism",
            )));
        }
        self.login_mechanism = "PLAIN";
        match initial {
            Some(ir) => self.plain(ir.as_bytes()),
            None => {
                out.cont("");
                self.mode = Mode::Sasl { tag: tag.clone() };
                Flow::Answered(Next::Continue)
            }
        }
    }

    /// The client's answer to our `+` during AUTHENTICATE.
    pub(super) fn sasl_response(&mut self, _tag: &Tag, line: &[u8], _out: &mut Out) -> Flow {
        let line = trim_crlf(line);
        if line == b"*" {
            return Flow::Done(Err(CmdError::bad(None, "Authentication cancelled")));
        }
        self.plain(line)
    }

    /// SASL PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, base64.
    fn plain(&mut self, b64: &[u8]) -> Flow {
        let decoded = if b64 == b"=" {
            Some(Vec::new())
        } else {
            base64::engine::general_purpose::STANDARD.decode(b64).ok()
        };
        let parts: Option<(String, String, Secret)> = decoded.and_then(|d| {
            let mut it = d.split(|&b| b == 0);
            let (authz, authc, pass) = (it.next()?, it.next()?, it.next()?);
            if it.next().is_some() {
                return None;
            }
            Some((
                String::from_utf8(authz.to_vec()).ok()?,
                String::from_utf8(authc.to_vec()).ok()?,
                Secret::new(String::from_utf8(pass.to_vec()).ok()?),
            ))
        });
        let Some((authz, authc, pass)) = parts else {
            return Flow::Done(Err(CmdError::bad(None, "Invalid SASL PLAIN response")));
        };
        if !authz.is_empty() && !authz.eq_ignore_ascii_case(&authc) {
            // No proxy authorization: treat as a failed login.
            return self.audit_failure(authc, LoginOutcome::Failure, None);
        }
        check_credentials(authc, pass)
    }

    /// The next step of a login (see the module docs).
    pub(super) fn login_resume(
        &mut self,
        tag: &Tag,
        job: Login,
        reply: Reply,
        out: &mut Out,
    ) -> Flow {
        match (job, reply) {
            (Login::Checking { user }, Reply::Auth(outcome)) => match outcome {
                AuthOutcome::Success(account) => Flow::Need(
                    Request::OpenAccount {
                        address: account.address.clone(),
                        quota: account.quota,
                    },
                    Job::Login(Login::Opening {
                        address: account.address,
                        app_password: account.app_password,
                    }),
                ),
                AuthOutcome::Failed => self.audit_failure(user, LoginOutcome::Failure, None),
                AuthOutcome::Throttled {
                    retry_after,
                    reason,
                } => self.audit_failure(
                    user,
                    LoginOutcome::Throttled,
                    Some(reason.client_text(retry_after)),
                ),
            },
            (
                Login::Opening {
                    address,
                    app_password,
                },
                Reply::Account(result),
            ) => match result {
                Ok((id, ids)) => Flow::Need(
                    Request::AuditLogin {
                        user: address.clone(),
                        tls: self.tls.clone(),
                        outcome: LoginOutcome::Success,
                        app_password,
                        mechanism: self.login_mechanism,
                    },
                    Job::Login(Login::Succeeded { id, address, ids }),
                ),
                Err(e) => Flow::Done(Err(CmdError::from(e))),
            },
            (Login::Succeeded { id, address, ids }, Reply::Done) => {
                self.state = State::Authenticated(Account { id, address, ids });
                Flow::Done(Done::with(
                    Code::Capability(self.capabilities()),
                    "Logged in",
                ))
            }
            (Login::Failed { outcome, text }, Reply::Done) => {
                self.auth_failures += 1;
                let code = match outcome {
                    LoginOutcome::Throttled => Code::Unavailable,
                    _ => Code::AuthenticationFailed,
                };
                if self.auth_failures >= self.config.max_auth_failures {
                    out.status(Some(tag.as_str()), Status::No, Some(code), &text);
                    out.status(None, Status::Bye, None, "Too many failed logins");
                    self.state = State::Logout;
                    return Flow::Answered(Next::Close);
                }
                Flow::Done(Err(CmdError::no(Some(code), &text)))
            }
            _ => Flow::Done(Err(super::unexpected())),
        }
    }

    fn audit_failure(&mut self, user: String, outcome: LoginOutcome, text: Option<String>) -> Flow {
        let text = text.unwrap_or_else(|| "Authentication failed".to_string());
        Flow::Need(
            Request::AuditLogin {
                user,
                tls: self.tls.clone(),
                outcome,
                app_password: None,
                mechanism: self.login_mechanism,
            },
            Job::Login(Login::Failed { outcome, text }),
        )
    }

    pub(super) fn enable(&mut self, caps: Vec<String>, out: &mut Out) -> CmdResult<Done> {
        let mut enabled = Vec::new();
        for cap in caps {
            let flag = match cap.as_str() {
                "IMAP4REV2" => &mut self.enabled.rev2,
                "UTF8=ACCEPT" => &mut self.enabled.utf8,
                "CONDSTORE" => &mut self.enabled.condstore,
                "UIDONLY" => &mut self.enabled.uidonly,
                "QRESYNC" => {
                    // QRESYNC implies CONDSTORE (RFC 7162 3.2.3).
                    self.enabled.condstore = true;
                    &mut self.enabled.qresync
                }
                _ => continue,
            };
            if !*flag {
                *flag = true;
                enabled.push(cap);
            }
        }
        let names: Vec<String> = enabled
            .iter()
            .map(|c| {
                if c == "IMAP4REV2" {
                    "IMAP4rev2".into()
                } else {
                    c.clone()
                }
            })
            .collect();
        out.untagged(format!("ENABLED {}", names.join(" ")).trim_end());
        Done::ok("ENABLE completed")
    }

    pub(super) fn id(&self, out: &mut Out) -> CmdResult<Done> {
        out.untagged(&format!(
            "ID ({} {} {} {})",
            quoted("name"),
            quoted("sealpost"),
            quoted("version"),
            quoted(env!("CARGO_PKG_VERSION"))
        ));
        Done::ok("ID completed")
    }

    pub(super) fn namespace(&self, out: &mut Out) -> CmdResult<Done> {
        // Other accounts' mailboxes shared with this one are under
        // `Shared/<owner>/` (RFC 2342's other users' namespace; `acl.rs`).
        out.untagged(&format!(
            "NAMESPACE ((\"\" \"/\")) ((\"{}/\" \"/\")) NIL",
            super::acl::SHARED_ROOT
        ));
        Done::ok("NAMESPACE completed")
    }
}

/// Asks the directory.
fn check_credentials(user: String, password: Secret) -> Flow {
    Flow::Need(
        Request::Authenticate {
            user: user.clone(),
            password,
        },
        Job::Login(Login::Checking { user }),
    )
}
