//! The SMTP client side of relaying (RFC 5321 4, 5; RFC 3207 STARTTLS).
//!
//! One session per next hop and domain: EHLO, STARTTLS when offered
//! (opportunistic: the certificate is not verified, which still defeats
//! passive eavesdropping; a route with `require_tls` refuses plaintext and,
//! with `ca_file`, verifies the peer against it; an opportunistic hop whose
//! STARTTLS fails is tried again in plaintext on a new connection), MAIL,
//! RCPT per recipient, DATA with dot-stuffing, QUIT. Every read and connect
//! has a timeout.
//!
//! DSN (RFC 3461 5.2.1): when the next hop advertises DSN, MAIL carries the
//! RET and ENVID and each RCPT its NOTIFY and ORCPT as we received them
//! (already validated xtext), and the result says so, so the queue knows
//! not to send a `relayed` DSN itself.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// How one recipient fared at one hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RcptResult {
    /// Accepted (2xx after DATA) by `host`; `dsn`: it took our DSN
    /// parameters and will report delivery itself.
    Delivered {
        /// The next hop's name.
        host: String,
        /// Whether it advertised DSN and got the parameters.
        dsn: bool,
    },
    /// 4xx or a connection problem: try again later.
    Temporary(String),
    /// 5xx: bounce.
    Permanent(String),
}

/// TLS policy for a hop.
#[derive(Debug, Clone)]
pub(crate) struct TlsPolicy {
    pub required: bool,
    pub ca_file: Option<std::path::PathBuf>,
    /// The certificate check of an outbound policy (MTA-STS, DANE:
    /// `crate::outbound`); it wins over `ca_file`.
    pub verifier: Option<Arc<dyn rustls::client::danger::ServerCertVerifier>>,
}

/// One recipient and its DSN parameters.
#[derive(Debug, Clone)]
pub(crate) struct RcptSpec {
    pub address: String,
    pub notify: Option<crate::wire::Notify>,
    pub orcpt: Option<String>,
}

/// What to send.
pub(crate) struct Transfer<'a> {
    pub helo: &'a str,
    pub sender: &'a str,
    pub recipients: &'a [RcptSpec],
    pub message: &'a [u8],
    pub smtputf8: bool,
    pub ret: Option<crate::wire::Ret>,
    pub envid: Option<&'a str>,
    pub timeout: Duration,
    /// RFC 8689: the next hop must offer REQUIRETLS and gets it on MAIL.
    pub requiretls: bool,
}

struct Wire<S> {
    stream: S,
    buf: Vec<u8>,
    timeout: Duration,
}

/// A reply: code and its text lines joined by spaces.
type SmtpReply = (u16, String);

impl<S: AsyncRead + AsyncWrite + Unpin> Wire<S> {
    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        tokio::time::timeout(self.timeout, async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        })
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))?
    }

    async fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(lf) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=lf).collect();
                return Ok(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            if self.buf.len() > 64 * 1024 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "reply line too long",
                ));
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(self.timeout, self.stream.read(&mut chunk))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "reply timed out"))??;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn reply(&mut self) -> io::Result<SmtpReply> {
        let mut text = Vec::new();
        for _ in 0..100 {
            let line = self.line().await?;
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad reply"))?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            text.push(line.get(4..).unwrap_or("").to_string());
            if !more {
                return Ok((code, text.join("\n")));
            }
        }
        Err(io::Error::new(io::ErrorKind::InvalidData, "reply too long"))
    }

    async fn command(&mut self, line: &str) -> io::Result<SmtpReply> {
        self.send(format!("{line}\r\n").as_bytes()).await?;
        self.reply().await
    }
}

fn describe(r: &SmtpReply) -> String {
    format!("{} {}", r.0, r.1.replace('\n', " "))
}

/// How the reason of a hop never reached begins.
const CONNECT_FAILED: &str = "connect to ";

/// Whether `results` of [`deliver`] say the hop was never reached (no TCP
/// connection): no SMTP session, so nothing for TLS reporting to count.
pub(crate) fn never_connected(results: &[RcptResult]) -> bool {
    !results.is_empty()
        && results
            .iter()
            .all(|r| matches!(r, RcptResult::Temporary(why) if why.starts_with(CONNECT_FAILED)))
}

/// Delivers to one hop. Returns one result per recipient, in order.
pub(crate) async fn deliver(
    addr: std::net::SocketAddr,
    host_name: &str,
    tls: &TlsPolicy,
    t: &Transfer<'_>,
) -> Vec<RcptResult> {
    match session(addr, host_name, tls, t, true).await {
        Ok(results) => results,
        // Opportunistic TLS (RFC 7435): a peer whose STARTTLS is broken gets
        // the message in plaintext on a new connection rather than never.
        Err(reason) if !tls.required => {
            tracing::info!(%addr, %reason, "STARTTLS failed; retrying without TLS");
            session(addr, host_name, tls, t, false)
                .await
                .unwrap_or_else(|r| vec![RcptResult::Temporary(r); t.recipients.len()])
        }
        Err(reason) => vec![RcptResult::Temporary(reason); t.recipients.len()],
    }
}

/// One SMTP session; `Err` when STARTTLS failed (refused or bad handshake).
async fn session(
    addr: std::net::SocketAddr,
    host_name: &str,
    tls: &TlsPolicy,
    t: &Transfer<'_>,
    use_starttls: bool,
) -> Result<Vec<RcptResult>, String> {
    let all = |r: RcptResult| Ok(vec![r; t.recipients.len()]);
    let tcp = match tokio::time::timeout(t.timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return all(RcptResult::Temporary(format!(
                "{CONNECT_FAILED}{addr}: {e}"
            )));
        }
        Err(_) => {
            return all(RcptResult::Temporary(format!(
                "{CONNECT_FAILED}{addr}: timed out"
            )));
        }
    };
    let mut wire = Wire {
        stream: tcp,
        buf: Vec::new(),
        timeout: t.timeout,
    };
    let ehlo = match greet(&mut wire, t.helo).await {
        Ok(Ok(ehlo)) => ehlo,
        Ok(Err(r)) => return all(r),
        Err(e) => return all(RcptResult::Temporary(format!("{addr}: {e}"))),
    };
    let offers_tls = ehlo.lines().any(|l| l.eq_ignore_ascii_case("STARTTLS"));
    if offers_tls && use_starttls {
        match wire.command("STARTTLS").await {
            Ok((220, _)) if wire.buf.is_empty() => {}
            Ok(r) => return Err(format!("STARTTLS refused by {addr}: {}", describe(&r))),
            Err(e) => return all(RcptResult::Temporary(format!("{addr}: {e}"))),
        }
        let connector = match connector(tls) {
            Ok(c) => c,
            Err(e) => return all(RcptResult::Temporary(format!("TLS setup: {e}"))),
        };
        let name = match host_name.parse::<std::net::IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => match ServerName::try_from(host_name.to_string()) {
                Ok(n) => n,
                Err(_) => ServerName::IpAddress(addr.ip().into()),
            },
        };
        let stream =
            match tokio::time::timeout(t.timeout, connector.connect(name, wire.stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Err(format!("TLS handshake with {addr}: {e}")),
                Err(_) => return Err(format!("TLS handshake with {addr}: timed out")),
            };
        let mut wire = Wire {
            stream,
            buf: Vec::new(),
            timeout: t.timeout,
        };
        let ehlo = match wire.command(&format!("EHLO {}", t.helo)).await {
            Ok((250, text)) => text,
            Ok(r) => return all(classify(&r)),
            Err(e) => return all(RcptResult::Temporary(format!("{addr}: {e}"))),
        };
        Ok(transaction(&mut wire, &ehlo, host_name, t).await)
    } else if tls.required {
        all(RcptResult::Temporary(format!(
            "{addr} does not offer STARTTLS and TLS is required"
        )))
    } else {
        Ok(transaction(&mut wire, &ehlo, host_name, t).await)
    }
}

async fn greet<S: AsyncRead + AsyncWrite + Unpin>(
    wire: &mut Wire<S>,
    helo: &str,
) -> io::Result<Result<String, RcptResult>> {
    let greeting = wire.reply().await?;
    if greeting.0 != 220 {
        return Ok(Err(classify(&greeting)));
    }
    let r = wire.command(&format!("EHLO {helo}")).await?;
    if r.0 != 250 {
        return Ok(Err(classify(&r)));
    }
    Ok(Ok(r.1))
}

fn classify(r: &SmtpReply) -> RcptResult {
    if r.0 >= 500 {
        RcptResult::Permanent(describe(r))
    } else {
        RcptResult::Temporary(describe(r))
    }
}

async fn transaction<S: AsyncRead + AsyncWrite + Unpin>(
    wire: &mut Wire<S>,
    ehlo: &str,
    host: &str,
    t: &Transfer<'_>,
) -> Vec<RcptResult> {
    let has = |ext: &str| {
        ehlo.lines().any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(ext))
        })
    };
    let n = t.recipients.len();
    if t.smtputf8 && !has("SMTPUTF8") {
        return vec![RcptResult::Permanent("5.6.7 next hop does not support SMTPUTF8".into()); n];
    }
    if t.requiretls && !has("REQUIRETLS") {
        let why = "550 5.7.30 REQUIRETLS support required: the next hop does not offer REQUIRETLS";
        return vec![RcptResult::Permanent(why.into()); n];
    }
    let mut mail = format!("MAIL FROM:<{}>", t.sender);
    if has("SIZE") {
        mail.push_str(&format!(" SIZE={}", t.message.len()));
    }
    if has("8BITMIME") {
        mail.push_str(" BODY=8BITMIME");
    }
    if t.smtputf8 {
        mail.push_str(" SMTPUTF8");
    }
    if t.requiretls {
        mail.push_str(" REQUIRETLS");
    }
    let dsn = has("DSN");
    if dsn {
        if let Some(ret) = t.ret {
            mail.push_str(&format!(" RET={ret}"));
        }
        if let Some(envid) = t.envid {
            mail.push_str(&format!(" ENVID={envid}"));
        }
    }
    let result = async {
        let r = wire.command(&mail).await?;
        if r.0 != 250 {
            return Ok::<_, io::Error>(vec![classify(&r); n]);
        }
        let mut results: Vec<Option<RcptResult>> = vec![None; n];
        let mut accepted = 0;
        for (i, rcpt) in t.recipients.iter().enumerate() {
            let mut line = format!("RCPT TO:<{}>", rcpt.address);
            if dsn {
                if let Some(n) = rcpt.notify {
                    line.push_str(&format!(" NOTIFY={n}"));
                }
                if let Some(orcpt) = &rcpt.orcpt {
                    line.push_str(&format!(" ORCPT={orcpt}"));
                }
            }
            let r = wire.command(&line).await?;
            if r.0 / 100 == 2 {
                accepted += 1;
            } else {
                results[i] = Some(classify(&r));
            }
        }
        if accepted == 0 {
            let _ = wire.command("QUIT").await;
            return Ok(results
                .into_iter()
                .map(|r| r.unwrap_or(RcptResult::Temporary("no reply".into())))
                .collect());
        }
        let r = wire.command("DATA").await?;
        if r.0 != 354 {
            let c = classify(&r);
            return Ok(results
                .into_iter()
                .map(|x| x.unwrap_or_else(|| c.clone()))
                .collect());
        }
        wire.send(&dot_stuff(t.message)).await?;
        let r = wire.reply().await?;
        let outcome = if r.0 / 100 == 2 {
            RcptResult::Delivered {
                host: host.to_string(),
                dsn,
            }
        } else {
            classify(&r)
        };
        let _ = wire.command("QUIT").await;
        Ok(results
            .into_iter()
            .map(|x| x.unwrap_or_else(|| outcome.clone()))
            .collect())
    }
    .await;
    result.unwrap_or_else(|e| vec![RcptResult::Temporary(format!("{host}: {e}")); n])
}

/// Dot-stuffs a message and appends the terminator (RFC 5321 4.5.2). Bare
/// LFs are turned into CRLF so the next hop never sees a smuggling pattern,
/// and lines over 998 octets are broken ([`crate::wire::lines`]).
pub(crate) fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let message = crate::wire::lines::break_long_lines(message, crate::wire::lines::MAX_RELAY_LINE);
    let message = &*message;
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        if prev == b'\r' && b != b'\n' {
            out.push(b'\n');
            if b == b'.' {
                out.push(b'.');
            }
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if prev == b'\r' {
        out.push(b'\n');
    } else if !out.is_empty() && prev != b'\n' {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn connector(policy: &TlsPolicy) -> Result<tokio_rustls::TlsConnector, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match (&policy.verifier, &policy.ca_file) {
        (Some(verifier), _) => builder
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth(),
        (None, Some(ca)) if policy.required => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in load_certs(ca)? {
                roots.add(cert).map_err(|e| e.to_string())?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
            .with_no_client_auth(),
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Opportunistic TLS (RFC 7435): encrypt without authenticating the peer.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::TcpListener;

    /// A peer that offers STARTTLS but answers the handshake with garbage on
    /// its first connection, then takes the message in plaintext.
    async fn broken_tls_peer(listener: TcpListener) -> Option<Vec<u8>> {
        for n in 0..2 {
            let (tcp, _) = listener.accept().await.ok()?;
            let mut r = BufReader::new(tcp);
            let mut line = String::new();
            r.get_mut().write_all(b"220 fake\r\n").await.ok()?;
            r.read_line(&mut line).await.ok()?;
            r.get_mut()
                .write_all(b"250-fake\r\n250 STARTTLS\r\n")
                .await
                .ok()?;
            if n == 0 {
                line.clear();
                r.read_line(&mut line).await.ok()?;
                assert_eq!(line, "STARTTLS\r\n");
                r.get_mut()
                    .write_all(b"220 go\r\nthis is not TLS\r\n")
                    .await
                    .ok()?;
                continue;
            }
            let mut data = Vec::new();
            for reply in ["250 ok", "250 ok", "354 go"] {
                line.clear();
                r.read_line(&mut line).await.ok()?;
                assert!(!line.starts_with("STARTTLS"));
                r.get_mut()
                    .write_all(format!("{reply}\r\n").as_bytes())
                    .await
                    .ok()?;
            }
            loop {
                let mut l = Vec::new();
                r.read_until(b'\n', &mut l).await.ok()?;
                if l == b".\r\n" || l.is_empty() {
                    break;
                }
                data.extend_from_slice(&l);
            }
            r.get_mut().write_all(b"250 queued\r\n").await.ok()?;
            return Some(data);
        }
        None
    }

    fn transfer<'a>(rcpts: &'a [RcptSpec]) -> Transfer<'a> {
        Transfer {
            helo: "a.example",
            sender: "s@a.example",
            recipients: rcpts,
            message: b"Subject: x\r\n\r\nbody\r\n",
            smtputf8: false,
            ret: None,
            envid: None,
            timeout: Duration::from_secs(5),
            requiretls: false,
        }
    }

    fn rcpt(address: &str) -> RcptSpec {
        RcptSpec {
            address: address.into(),
            notify: None,
            orcpt: None,
        }
    }

    #[tokio::test]
    async fn broken_starttls_falls_back_to_plaintext_when_opportunistic() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(broken_tls_peer(listener));
        let rcpts = vec![rcpt("r@b.example")];
        let policy = TlsPolicy {
            required: false,
            ca_file: None,
            verifier: None,
        };
        let results = deliver(addr, "127.0.0.1", &policy, &transfer(&rcpts)).await;
        assert_eq!(
            results,
            vec![RcptResult::Delivered {
                host: "127.0.0.1".into(),
                dsn: false
            }]
        );
        assert_eq!(peer.await.unwrap().unwrap(), b"Subject: x\r\n\r\nbody\r\n");
    }

    #[tokio::test]
    async fn broken_starttls_is_a_temporary_failure_when_required() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(broken_tls_peer(listener));
        let rcpts = vec![rcpt("r@b.example")];
        let policy = TlsPolicy {
            required: true,
            ca_file: None,
            verifier: None,
        };
        let results = deliver(addr, "127.0.0.1", &policy, &transfer(&rcpts)).await;
        assert!(
            matches!(&results[0], RcptResult::Temporary(r) if r.contains("TLS")),
            "{results:?}"
        );
        peer.abort();
    }

    #[test]
    fn dot_stuffing_and_line_ends() {
        assert_eq!(dot_stuff(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(dot_stuff(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(dot_stuff(b"no newline"), b"no newline\r\n.\r\n");
        assert_eq!(dot_stuff(b"x\n.\r\ny"), b"x\r\n..\r\ny\r\n.\r\n");
        assert_eq!(dot_stuff(b"x\r.\ry\r\n"), b"x\r\n..\r\ny\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
    }

    #[tokio::test]
    async fn a_hop_never_reached_is_told_apart_from_one_that_answered() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(broken_tls_peer(listener));
        let rcpts = vec![rcpt("r@b.example")];
        let policy = TlsPolicy {
            required: true,
            ca_file: None,
            verifier: None,
        };
        // Reached: a TLS failure, which TLS reporting counts.
        let answered = deliver(addr, "127.0.0.1", &policy, &transfer(&rcpts)).await;
        assert!(!never_connected(&answered), "{answered:?}");
        peer.abort();
        let _ = peer.await;
        // Nobody listens any more: no session at all.
        let refused = deliver(addr, "127.0.0.1", &policy, &transfer(&rcpts)).await;
        assert!(never_connected(&refused), "{refused:?}");
        assert!(!never_connected(&[]));
    }
}
