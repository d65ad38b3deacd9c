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

/// An HTTP/1.1 connection over TLS to `host` at `addr`, its driver
/// spawned (abort it when done).
async fn connect<B>(
    host: &str,
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
) -> Result<
    (
        hyper::client::conn::http1::SendRequest<B>,
        tokio::task::JoinHandle<hyper::Result<()>>,
    ),
    String,
>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    Ok((sender, tokio::spawn(conn)))
}

async fn fetch_from(
    host: &str,
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    limits: &FetchLimits,
) -> Result<String, String> {
    let (mut sender, driver) = connect(host, addr, tls).await?;
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
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    format!("policy larger than {} octets", limits.max_bytes)
                } else {
                    e.to_string()
                }
            })?
            .to_bytes();
        String::from_utf8(body.to_vec()).map_err(|_| "policy is not UTF-8".to_string())
    }
    .await;
    driver.abort();
    result
}

/// POSTs a gzipped TLS report to `https://host[:port]/path` (RFC 8460
/// 5.4) at `addrs`; a 2xx answer is success. Redirects are not followed.
pub async fn post_report(
    host: &str,
    path: &str,
    addrs: &[SocketAddr],
    tls: Arc<rustls::ClientConfig>,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(), String> {
    let addr = *addrs.first().ok_or(format!("{host}: no address"))?;
    let post = async {
        let (mut sender, driver) = connect(host, addr, tls).await?;
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, format!("{host}:{}", addr.port()))
            .header(hyper::header::CONTENT_TYPE, "application/tlsrpt+gzip")
            .body(http_body_util::Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let status = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?
            .status();
        driver.abort();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("status {status}"))
        }
    };
    tokio::time::timeout(timeout, post)
        .await
        .map_err(|_| format!("https://{host}{path}: timed out"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A policy host for `mta-sts.example` on loopback that answers every
    /// request with `response` (raw HTTP/1.1), or never when it is empty.
    /// Returns its address and a client config trusting it (or not).
    async fn host(
        response: &'static [u8],
        trusted: bool,
    ) -> (SocketAddr, Arc<rustls::ClientConfig>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["mta-sts.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der: CertificateDer<'static> = cert.der().clone();
        let server = rustls::ServerConfig::builder_with_provider(super::super::verify::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                if response.is_empty() {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                let _ = tls.write_all(response).await;
                let _ = tls.shutdown().await;
            }
        });
        let mut roots = rustls::RootCertStore::empty();
        if trusted {
            roots.add(der).unwrap();
        }
        let client = rustls::ClientConfig::builder_with_provider(super::super::verify::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (addr, Arc::new(client))
    }

    async fn fetch(response: &'static [u8], trusted: bool) -> Result<String, String> {
        let (addr, tls) = host(response, trusted).await;
        let limits = FetchLimits {
            timeout: Duration::from_secs(2),
            max_bytes: 64,
        };
        fetch_policy("mta-sts.example", &[addr], tls, &limits).await
    }

    const POLICY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\nversion: STSv1";

    #[tokio::test]
    async fn a_policy_is_fetched() {
        assert_eq!(fetch(POLICY, true).await, Ok("version: STSv1".into()));
    }

    #[tokio::test]
    async fn an_untrusted_certificate_is_refused() {
        let e = fetch(POLICY, false).await.unwrap_err();
        assert!(e.contains("TLS: invalid peer certificate"), "{e}");
    }

    #[tokio::test]
    async fn a_redirect_is_refused() {
        let e = fetch(
            b"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.example/\r\nContent-Length: 0\r\n\r\n",
            true,
        )
        .await
        .unwrap_err();
        assert!(
            e.ends_with("redirect (301 Moved Permanently) refused"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn other_statuses_and_media_types_are_refused() {
        let e = fetch(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true)
            .await
            .unwrap_err();
        assert!(e.ends_with("status 404 Not Found"), "{e}");
        let e = fetch(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi",
            true,
        )
        .await
        .unwrap_err();
        assert!(
            e.ends_with("media type \"text/html\", not text/plain"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_declared_or_not() {
        let declared = fetch(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n",
            true,
        )
        .await
        .unwrap_err();
        assert!(
            declared.ends_with("policy larger than 64 octets"),
            "{declared}"
        );
        let chunked = fetch(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n50\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n0\r\n\r\n",
            true,
        )
        .await
        .unwrap_err();
        assert!(
            chunked.ends_with("policy larger than 64 octets"),
            "{chunked}"
        );
    }

    #[tokio::test]
    async fn a_silent_host_times_out() {
        let started = std::time::Instant::now();
        let e = fetch(b"", true).await.unwrap_err();
        assert!(e.ends_with("timed out"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_report_is_posted_and_a_refusal_is_an_error() {
        for (answer, ok) in [
            (&b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"[..], true),
            (
                &b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"[..],
                false,
            ),
        ] {
            let (addr, tls) = host(answer, true).await;
            let r = post_report(
                "mta-sts.example",
                "/tlsrpt",
                &[addr],
                tls,
                b"gz".to_vec(),
                Duration::from_secs(2),
            )
            .await;
            assert_eq!(r.is_ok(), ok, "{r:?}");
        }
    }
}
