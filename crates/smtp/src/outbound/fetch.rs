//! Fetching an MTA-STS policy (RFC 8461 3.3): `GET
//! https://mta-sts.DOMAIN/.well-known/mta-sts.txt` over HTTP/1.1 (hyper)
//! on rustls, with the certificate validated against the WebPKI roots
//! (plus `[smtp.outbound_tls] ca_file`) for the name `mta-sts.DOMAIN`.
//!
//! Limits, each a refusal of the policy: the whole fetch within
//! `policy_timeout_secs`; a body over `policy_max_bytes`; a status other
//! than 200 (redirects are never followed, RFC 8461 3.3); a media type
//! other than `text/plain`.

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// The path of the policy on the policy host.
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// What a fetch may take.
pub struct FetchLimits {
    /// The whole fetch.
    pub timeout: Duration,
    /// Largest body.
    pub max_bytes: usize,
}

/// Fetches the policy text from `host` at `addrs` (tried in order);
/// `Err` says why there is no policy from this host.
pub async fn fetch_policy(
    host: &str,
    addrs: &[SocketAddr],
    tls: Arc<rustls::ClientConfig>,
    limits: &FetchLimits,
) -> Result<String, String> {
    let mut last = format!("{host}: no address");
    for addr in addrs {
        match tokio::time::timeout(limits.timeout, fetch_from(host, *addr, tls.clone(), limits))
            .await
        {
            Ok(Ok(text)) => return Ok(text),
            Ok(Err(e)) => last = format!("https://{host}{POLICY_PATH}: {e}"),
            Err(_) => last = format!("https://{host}{POLICY_PATH}: timed out"),
        }
    }
    Err(last)
}

async fn fetch_from(
    host: &str,
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    limits: &FetchLimits,
) -> Result<String, String> {
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    let port = addr.port();
    let authority = if port == 443 {
        host.to_string()
    } else {
        format!("{host}:{port}")
    };
    let request = hyper::Request::get(POLICY_PATH)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, "sealpost")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_redirection() {
            return Err(format!("redirect ({status}) refused"));
        }
        if status != hyper::StatusCode::OK {
            return Err(format!("status {status}"));
        }
        let media = response
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = media.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("text/plain") {
            return Err(format!("media type {media:?}, not text/plain"));
        }
        if response
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|n| n > limits.max_bytes as u64)
        {
            return Err(format!("policy larger than {} octets", limits.max_bytes));
        }
        let body = Limited::new(response.into_body(), limits.max_bytes)
            .collect()
            .await
            .map_err(|_| format!("policy larger than {} octets", limits.max_bytes))?
            .to_bytes();
        String::from_utf8(body.to_vec()).map_err(|_| "policy is not UTF-8".to_string())
    }
    .await;
    driver.abort();
    result
}
