//! Not-authenticated state and session-wide commands: CAPABILITY
//! (RFC 9051 6.1.1), STARTTLS (6.2.1), AUTHENTICATE PLAIN with SASL-IR
//! (6.2.2, RFC 4959, RFC 4616), LOGIN (6.2.3), ENABLE (6.3.1, RFC 5161),
//! ID (RFC 2971), NAMESPACE (6.3.10).
//!
//! Credentials and personal data never cross plaintext: on the STARTTLS
//! listener LOGIN and AUTHENTICATE are refused with `NO [PRIVACYREQUIRED]`
//! until the upgrade, and LOGINDISABLED is advertised. Failed logins count
//! per connection; at `max_auth_failures` the connection ends with BYE.

use super::{Account, Action, Done, Mode, Session, State, trim_crlf};
use crate::error::CmdResult;
use crate::mailstore::MailStore;
use crate::wire::command::Tag;
use crate::wire::response::{Code, Out, Status, quoted};
use base64::Engine;
use sealpost_audit::{Event, LoginOutcome, Protocol};
use sealpost_directory::{AuthOutcome, Secret};

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
];

impl<S: MailStore> Session<S> {
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
        caps.push(format!("APPENDLIMIT={}", self.ctx.config.imap.max_literal));
        caps.join(" ")
    }

    pub(super) fn capability(&self, out: &mut Out) -> CmdResult<Done> {
        out.untagged(&format!("CAPABILITY {}", self.capabilities()));
        Done::ok("CAPABILITY completed")
    }

    pub(super) fn starttls(&mut self, tag: Tag, out: &mut Out) -> Action {
        if self.tls.is_some() {
            out.status(
                Some(tag.as_str()),
                Status::Bad,
                None,
                "TLS is already active",
            );
            return Action::Continue;
        }
        out.status(
            Some(tag.as_str()),
            Status::Ok,
            None,
            "Begin TLS negotiation now",
        );
        Action::StartTls
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

    pub(super) async fn login(
        &mut self,
        tag: Tag,
        user: String,
        password: Secret,
        out: &mut Out,
    ) -> Action {
        if self.privacy_required(&tag, out) {
            return Action::Continue;
        }
        self.check_credentials(tag, &user, &password, out).await
    }

    pub(super) async fn authenticate(
        &mut self,
        tag: Tag,
        mechanism: String,
        initial: Option<String>,
        out: &mut Out,
    ) -> Action {
        if self.privacy_required(&tag, out) {
            return Action::Continue;
        }
        if mechanism != "PLAIN" {
            out.status(
                Some(tag.as_str()),
                Status::No,
                Some(Code::Cannot),
                "Unsupported authentication mechanism",
            );
            return Action::Continue;
        }
        match initial {
            Some(ir) => self.plain(tag, ir.as_bytes(), out).await,
            None => {
                out.cont("");
                self.mode = Mode::Sasl { tag, mechanism };
                Action::Continue
            }
        }
    }

    /// The client's answer to our `+` during AUTHENTICATE.
    pub(super) async fn sasl_response(
        &mut self,
        tag: Tag,
        _mechanism: &str,
        line: &[u8],
        out: &mut Out,
    ) -> Action {
        let line = trim_crlf(line);
        if line == b"*" {
            out.status(
                Some(tag.as_str()),
                Status::Bad,
                None,
                "Authentication cancelled",
            );
            return Action::Continue;
        }
        self.plain(tag, line, out).await
    }

    /// SASL PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, base64.
    async fn plain(&mut self, tag: Tag, b64: &[u8], out: &mut Out) -> Action {
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
            out.status(
                Some(tag.as_str()),
                Status::Bad,
                None,
                "Invalid SASL PLAIN response",
            );
            return Action::Continue;
        };
        if !authz.is_empty() && !authz.eq_ignore_ascii_case(&authc) {
            // No proxy authorization: treat as a failed login.
            return self.fail_login(tag, &authc, LoginOutcome::Failure, out);
        }
        self.check_credentials(tag, &authc, &pass, out).await
    }

    async fn check_credentials(
        &mut self,
        tag: Tag,
        user: &str,
        password: &Secret,
        out: &mut Out,
    ) -> Action {
        let outcome = self
            .ctx
            .directory
            .authenticate(user, password, self.peer.ip())
            .await;
        match outcome {
            AuthOutcome::Success(account) => {
                let address = account.address.clone();
                let quota = account.quota;
                let addr = address.clone();
                let id = self
                    .blocking(move |s| {
                        let id = match s.account_id(&addr)? {
                            Some(id) => id,
                            None => s.ensure_account(&addr)?,
                        };
                        if s.quota(id)?.limit != quota {
                            s.set_quota(id, quota);
                        }
                        Ok(id)
                    })
                    .await;
                let id = match id {
                    Ok(id) => id,
                    Err(e) => {
                        out.status(Some(tag.as_str()), e.status, e.code, &e.text);
                        return Action::Continue;
                    }
                };
                self.audit_login(&address, LoginOutcome::Success);
                self.state = State::Authenticated(Account { id, address });
                out.status(
                    Some(tag.as_str()),
                    Status::Ok,
                    Some(Code::Capability(self.capabilities())),
                    "Logged in",
                );
                Action::Continue
            }
            AuthOutcome::Failed => self.fail_login(tag, user, LoginOutcome::Failure, out),
            AuthOutcome::Throttled { .. } => {
                self.fail_login(tag, user, LoginOutcome::Throttled, out)
            }
        }
    }

    fn fail_login(&mut self, tag: Tag, user: &str, outcome: LoginOutcome, out: &mut Out) -> Action {
        self.audit_login(user, outcome);
        self.auth_failures += 1;
        let (code, text) = match outcome {
            LoginOutcome::Throttled => (Code::Unavailable, "Too many failed logins; try later"),
            _ => (Code::AuthenticationFailed, "Authentication failed"),
        };
        out.status(Some(tag.as_str()), Status::No, Some(code), text);
        if self.auth_failures >= self.ctx.config.imap.max_auth_failures {
            out.status(None, Status::Bye, None, "Too many failed logins");
            self.state = State::Logout;
            return Action::Close;
        }
        Action::Continue
    }

    fn audit_login(&self, user: &str, outcome: LoginOutcome) {
        self.ctx.audit.record(Event::Login {
            protocol: Protocol::Imap,
            account: user.to_string(),
            remote: self.peer.to_string(),
            tls: self.tls.clone(),
            outcome,
        });
    }

    pub(super) fn enable(&mut self, caps: Vec<String>, out: &mut Out) -> CmdResult<Done> {
        let mut enabled = Vec::new();
        for cap in caps {
            let flag = match cap.as_str() {
                "IMAP4REV2" => &mut self.enabled.rev2,
                "UTF8=ACCEPT" => &mut self.enabled.utf8,
                "CONDSTORE" => &mut self.enabled.condstore,
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
        out.untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
        Done::ok("NAMESPACE completed")
    }
}
