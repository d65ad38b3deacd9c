//! A small IMAP4rev1 client over TLS, just what an import needs (RFC 9051 /
//! RFC 3501): AUTHENTICATE PLAIN, LIST, LSUB, EXAMINE, UID FETCH, LOGOUT.
//!
//! The socket is read into one buffer; the [`Framer`] says when a whole
//! response (lines and literals) is there, then imap-proto parses it and
//! it is turned into an owned [`Reply`] and taken off the buffer. So one
//! response is in memory at a time, at most [`super::framer::MAX_RESPONSE`]
//! octets, and a large literal is read without rescanning. Every read has a
//! timeout. Errors say whether a new connection may help
//! ([`ClientError::Connection`]) or not ([`ClientError::Refused`]).

use super::framer::{FrameError, Framer};
use super::{Password, Source};
use imap_proto::types::{
    AttributeValue, MailboxDatum, NameAttribute, Response, ResponseCode, Status,
};
use sealpost_store::SpecialUse;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// How long one read or write may wait.
pub(super) const IO_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed or closed, or timed out: a new one may work.
    #[error("{0}")]
    Connection(String),
    /// The server refused (NO, BAD) or sent what cannot be read.
    #[error("{0}")]
    Refused(String),
}

impl From<FrameError> for ClientError {
    fn from(e: FrameError) -> Self {
        ClientError::Refused(e.to_string())
    }
}

/// One message's items from a FETCH response.
#[derive(Debug, Default)]
pub struct Fetched {
    /// UID.
    pub uid: Option<u32>,
    /// FLAGS, as sent.
    pub flags: Option<Vec<String>>,
    /// INTERNALDATE, Unix seconds.
    pub date: Option<i64>,
    /// RFC822.SIZE.
    pub size: Option<u32>,
    /// BODY[].
    pub body: Option<Vec<u8>>,
}

/// What an import uses of one response.
#[derive(Debug)]
pub enum Reply {
    /// The tagged completion.
    Tagged {
        /// Its tag.
        tag: String,
        /// OK (or NO/BAD).
        ok: bool,
        /// The text after the status.
        text: String,
    },
    /// `* n FETCH (...)`.
    Fetch(Fetched),
    /// `* LIST` or `* LSUB`.
    List {
        /// The name as sent (modified UTF-7).
        name: String,
        /// The hierarchy delimiter.
        delimiter: Option<String>,
        /// `\Noselect` or `\NonExistent`.
        noselect: bool,
        /// Its special use (RFC 6154), if it has one sealpost keeps.
        special_use: Option<SpecialUse>,
    },
    /// `[UIDVALIDITY n]`.
    UidValidity(u32),
    /// `* n EXISTS`.
    Exists(u32),
    /// `* BYE`.
    Bye(String),
    /// `+ ...`.
    Continue,
    /// Anything else.
    Other,
}

/// A folder as LIST gave it: name as sent, delimiter, selectable, special
/// use.
pub type Listed = (String, Option<String>, bool, Option<SpecialUse>);

/// The special use (RFC 6154) that a LIST attribute names, among those a
/// sealpost mailbox can have.
fn special_use(a: &NameAttribute<'_>) -> Option<SpecialUse> {
    Some(match a {
        NameAttribute::Sent => SpecialUse::Sent,
        NameAttribute::Drafts => SpecialUse::Drafts,
        NameAttribute::Trash => SpecialUse::Trash,
        NameAttribute::Junk => SpecialUse::Junk,
        NameAttribute::Archive => SpecialUse::Archive,
        NameAttribute::Extension(e) => SpecialUse::ALL
            .into_iter()
            .find(|u| u.attribute().eq_ignore_ascii_case(e))?,
        _ => return None,
    })
}

/// What EXAMINE said.
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    /// UIDVALIDITY.
    pub uid_validity: u32,
    /// Messages in it.
    pub exists: u32,
}

/// A logged-in connection.
pub struct Client {
    pub(super) stream: TlsStream<TcpStream>,
    pub(super) buf: Vec<u8>,
    next_tag: u32,
}

pub(super) fn conn_err(e: impl std::fmt::Display) -> ClientError {
    ClientError::Connection(e.to_string())
}

impl Client {
    /// Connects, checks the greeting and logs in.
    pub async fn connect(
        source: &Source,
        password: &Password,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Client, ClientError> {
        let addr = (source.host.trim_matches(['[', ']']), source.port);
        let tcp = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| conn_err("connecting timed out"))?
            .map_err(|e| conn_err(format!("connecting to {}: {e}", source.host)))?;
        let name = rustls::pki_types::ServerName::try_from(source.host.trim_matches(['[', ']']))
            .map_err(|e| ClientError::Refused(format!("{}: {e}", source.host)))?
            .to_owned();
        let stream = tokio::time::timeout(
            IO_TIMEOUT,
            tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
        )
        .await
        .map_err(|_| conn_err("TLS handshake timed out"))?
        .map_err(|e| {
            match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                // A certificate the trust roots do not vouch for will not get
                // better by retrying.
                Some(tls) => ClientError::Refused(format!("TLS: {tls}")),
                None => conn_err(format!("TLS: {e}")),
            }
        })?;
        let mut client = Client {
            stream,
            buf: Vec::new(),
            next_tag: 1,
        };
        match client.read_reply().await? {
            Reply::Bye(text) => return Err(conn_err(format!("the server said BYE: {text}"))),
            Reply::Other => {}
            other => {
                return Err(ClientError::Refused(format!(
                    "unexpected greeting {other:?}"
                )));
            }
        }
        client.login(&source.user, password).await?;
        Ok(client)
    }

    /// AUTHENTICATE PLAIN (RFC 4616), the credentials in one continuation.
    async fn login(&mut self, user: &str, password: &Password) -> Result<(), ClientError> {
        use base64::Engine;
        let tag = self.send(b"AUTHENTICATE PLAIN").await?;
        loop {
            match self.read_reply().await? {
                Reply::Continue => break,
                Reply::Tagged { text, .. } => {
                    return Err(ClientError::Refused(format!(
                        "AUTHENTICATE refused: {text}"
                    )));
                }
                Reply::Bye(text) => return Err(conn_err(text)),
                _ => {}
            }
        }
        let plain = format!("\0{user}\0{}", password.expose());
        let mut line = base64::engine::general_purpose::STANDARD
            .encode(plain.as_bytes())
            .into_bytes();
        line.extend_from_slice(b"\r\n");
        self.write(&line).await?;
        self.complete(&tag, |_| Ok(())).await.map_err(|e| match e {
            ClientError::Refused(text) => {
                ClientError::Refused(format!("login as {user} refused: {text}"))
            }
            e => e,
        })
    }

    /// LIST or LSUB `"" "*"`: (name as sent, delimiter, selectable,
    /// special use).
    pub async fn list(&mut self, lsub: bool) -> Result<Vec<Listed>, ClientError> {
        let command: &[u8] = if lsub {
            b"LSUB \"\" \"*\""
        } else {
            b"LIST \"\" \"*\""
        };
        let tag = self.send(command).await?;
        let mut out = Vec::new();
        self.complete(&tag, |r| {
            if let Reply::List {
                name,
                delimiter,
                noselect,
                special_use,
            } = r
            {
                out.push((name, delimiter, !noselect, special_use));
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// EXAMINE (read-only: importing changes nothing at the source).
    pub async fn examine(&mut self, wire_name: &str) -> Result<Selected, ClientError> {
        let mut command = b"EXAMINE ".to_vec();
        command.extend_from_slice(quote(wire_name).as_bytes());
        let tag = self.send(&command).await?;
        let mut selected = Selected {
            uid_validity: 0,
            exists: 0,
        };
        self.complete(&tag, |r| {
            match r {
                Reply::UidValidity(v) => selected.uid_validity = v,
                Reply::Exists(n) => selected.exists = n,
                _ => {}
            }
            Ok(())
        })
        .await?;
        if selected.uid_validity == 0 {
            return Err(ClientError::Refused(format!(
                "{wire_name}: the server sent no UIDVALIDITY"
            )));
        }
        Ok(selected)
    }

    /// `UID FETCH set items`; `each` gets every FETCH response as it
    /// arrives (and may stop the command with an error of its own, which
    /// ends the connection's usefulness: the rest is not read).
    pub async fn uid_fetch<E: From<ClientError>>(
        &mut self,
        set: &str,
        items: &str,
        mut each: impl FnMut(Fetched) -> Result<(), E>,
    ) -> Result<(), E> {
        let command = format!("UID FETCH {set} {items}");
        let tag = self.send(command.as_bytes()).await?;
        let mut failed = None;
        self.complete(&tag, |r| {
            if let Reply::Fetch(f) = r
                && failed.is_none()
                && let Err(e) = each(f)
            {
                failed = Some(e);
            }
            Ok(())
        })
        .await?;
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// LOGOUT, best effort.
    pub async fn logout(mut self) {
        if let Ok(tag) = self.send(b"LOGOUT").await {
            let _ = self.complete(&tag, |_| Ok(())).await;
        }
        let _ = self.stream.shutdown().await;
    }

    pub(super) async fn send(&mut self, command: &[u8]) -> Result<String, ClientError> {
        let tag = format!("i{}", self.next_tag);
        self.next_tag += 1;
        let mut line = Vec::with_capacity(tag.len() + command.len() + 3);
        line.extend_from_slice(tag.as_bytes());
        line.push(b' ');
        line.extend_from_slice(command);
        line.extend_from_slice(b"\r\n");
        self.write(&line).await?;
        Ok(tag)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        tokio::time::timeout(IO_TIMEOUT, async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        })
        .await
        .map_err(|_| conn_err("writing timed out"))?
        .map_err(conn_err)
    }

    /// Reads replies up to the tagged one; NO/BAD become `Refused`.
    async fn complete(
        &mut self,
        tag: &str,
        mut each: impl FnMut(Reply) -> Result<(), ClientError>,
    ) -> Result<(), ClientError> {
        loop {
            match self.read_reply().await? {
                Reply::Tagged { tag: t, ok, text } if t == tag => {
                    return if ok {
                        Ok(())
                    } else {
                        Err(ClientError::Refused(text))
                    };
                }
                Reply::Bye(text) => {
                    return Err(conn_err(format!("the server said BYE: {text}")));
                }
                r => each(r)?,
            }
        }
    }

    /// The next whole response.
    async fn read_reply(&mut self) -> Result<Reply, ClientError> {
        let mut framer = Framer::default();
        let end = loop {
            if let Some(end) = framer.frame(&self.buf)? {
                break end;
            }
            let before = self.buf.len();
            self.buf.resize(before + 64 * 1024, 0);
            let n = tokio::time::timeout(IO_TIMEOUT, self.stream.read(&mut self.buf[before..]))
                .await
                .map_err(|_| conn_err("reading timed out"))?;
            self.buf.truncate(before + n.as_ref().map_or(0, |n| *n));
            match n {
                Ok(0) => return Err(conn_err("the server closed the connection")),
                Ok(_) => {}
                Err(e) => return Err(conn_err(e)),
            }
        };
        let reply = parse(&self.buf[..end]);
        self.buf.drain(..end);
        Ok(reply)
    }
}

/// A quoted string (RFC 3501 4.3) for a mailbox name as the server sent it.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One whole response, parsed.
pub fn parse(response: &[u8]) -> Reply {
    match imap_proto::parser::parse_response(response) {
        Ok((_, r)) => from_proto(r),
        Err(_) => fallback(response),
    }
}

/// What imap-proto cannot parse: a tagged completion still completes
/// (`TAG OK|NO|BAD ...`); anything untagged is left alone.
fn fallback(response: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(response);
    let mut words = text.trim_end().splitn(3, ' ');
    match (words.next(), words.next()) {
        (Some("+"), _) => Reply::Continue,
        (Some("*"), Some(w)) if w.eq_ignore_ascii_case("BYE") => {
            Reply::Bye(words.next().unwrap_or("").to_string())
        }
        (Some(tag), Some(status)) if tag != "*" => Reply::Tagged {
            tag: tag.to_string(),
            ok: status.eq_ignore_ascii_case("OK"),
            text: words.next().unwrap_or("").to_string(),
        },
        _ => Reply::Other,
    }
}

fn from_proto(r: Response<'_>) -> Reply {
    match r {
        Response::Done {
            tag,
            status,
            information,
            ..
        } => Reply::Tagged {
            tag: tag.0,
            ok: status == Status::Ok,
            text: information.map(|i| i.into_owned()).unwrap_or_default(),
        },
        Response::Data {
            status: Status::Bye,
            information,
            ..
        } => Reply::Bye(information.map(|i| i.into_owned()).unwrap_or_default()),
        Response::Data {
            code: Some(ResponseCode::UidValidity(v)),
            ..
        } => Reply::UidValidity(v),
        Response::Continue { .. } => Reply::Continue,
        Response::MailboxData(MailboxDatum::Exists(n)) => Reply::Exists(n),
        Response::MailboxData(MailboxDatum::List {
            name_attributes,
            delimiter,
            name,
        }) => Reply::List {
            name: name.into_owned(),
            delimiter: delimiter.map(|d| d.into_owned()),
            noselect: name_attributes.iter().any(|a| {
                matches!(a, NameAttribute::NoSelect)
                    || matches!(a, NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\NonExistent"))
            }),
            special_use: name_attributes.iter().find_map(special_use),
        },
        Response::Fetch(_, items) => Reply::Fetch(fetched(items)),
        _ => Reply::Other,
    }
}

fn fetched(items: Vec<AttributeValue<'_>>) -> Fetched {
    let mut f = Fetched::default();
    for item in items {
        match item {
            AttributeValue::Uid(u) => f.uid = Some(u),
            AttributeValue::Flags(flags) => {
                f.flags = Some(flags.into_iter().map(|x| x.into_owned()).collect());
            }
            AttributeValue::InternalDate(d) => f.date = internal_date(&d),
            AttributeValue::Rfc822Size(n) => f.size = Some(n),
            AttributeValue::BodySection { data, .. } | AttributeValue::Rfc822(data) => {
                f.body = data.map(|d| d.into_owned());
            }
            _ => {}
        }
    }
    f
}

/// `02-Jan-2020 10:00:00 +0000` (RFC 3501 date-time) → Unix seconds.
pub fn internal_date(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(s.trim(), "%d-%b-%Y %H:%M:%S %z")
        .ok()
        .map(|d| d.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_an_import_reads() {
        let r = parse(b"* 3 FETCH (UID 7 FLAGS (\\Seen Work) RFC822.SIZE 5 INTERNALDATE \" 2-Jan-2020 10:00:00 +0000\" BODY[] {5}\r\nab\r\n\n)\r\n");
        let Reply::Fetch(f) = r else { panic!("{r:?}") };
        assert_eq!(f.uid, Some(7));
        assert_eq!(f.flags.unwrap(), ["\\Seen", "Work"]);
        assert_eq!(f.date, Some(1_577_959_200));
        assert_eq!(f.size, Some(5));
        assert_eq!(f.body.unwrap(), b"ab\r\n\n");
        assert!(matches!(
            parse(b"* OK [UIDVALIDITY 42] Ok\r\n"),
            Reply::UidValidity(42)
        ));
        assert!(matches!(
            parse(b"* LIST (\\HasNoChildren) \".\" \"Lists.rust\"\r\n"),
            Reply::List { ref name, noselect: false, special_use: None, .. } if name == "Lists.rust"
        ));
        assert!(matches!(
            parse(b"* LIST (\\HasNoChildren \\Sent) \".\" \"Sent Messages\"\r\n"),
            Reply::List {
                special_use: Some(SpecialUse::Sent),
                ..
            }
        ));
        assert!(matches!(
            parse(b"* LIST (\\Archive) \".\" Old\r\n"),
            Reply::List {
                special_use: Some(SpecialUse::Archive),
                ..
            }
        ));
        assert!(matches!(
            parse(b"i4 NO [NONEXISTENT] Mailbox doesn't exist: x\r\n"),
            Reply::Tagged { ok: false, .. }
        ));
        assert!(matches!(
            parse(b"i5 OK [WHATEVER-NEW foo bar] done\r\n"),
            Reply::Tagged { ok: true, .. }
        ));
    }

    #[test]
    fn names_are_quoted() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
