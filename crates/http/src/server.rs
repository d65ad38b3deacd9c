//! One HTTP/1.1 connection (RFC 9112) under the limits of `[http]`.
//!
//! | limit | where | answer |
//! |---|---|---|
//! | `max_connections`, `max_connections_per_ip` | `sealpost_net::serve_listener`, before TLS | HTTP: a one-shot `503` line and close; HTTPS: close |
//! | `max_header_bytes`, `max_headers` | hyper's parser | `431`, close |
//! | `header_timeout_secs` | hyper, from the moment a request head is awaited (so also idle keep-alive) | close |
//! | `max_body_bytes` | here: `Content-Length` checked before routing, the body stream capped | `413`, close |
//! | `request_timeout_secs` | here, around body and handler | `408`, close |
//!
//! Shutdown: when the server's token is cancelled, hyper finishes the
//! request in progress, answers it with `Connection: close` and ends; a
//! connection idle between requests ends at once.

use crate::routes::RequestInfo;
use crate::{Routes, Site, normalize_host};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::Limited;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use sealpost_config::HttpConfig;
use sealpost_net::{ACME_TLS_ALPN, Conn, Handler, ListenerKind};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tower_service::Service;

/// The `[http]` limits one connection runs under.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_header_bytes: usize,
    max_headers: usize,
    max_body_bytes: usize,
    header_timeout: Duration,
    request_timeout: Duration,
}

/// The `Handler` of the `http` and `https` listeners.
pub struct HttpServer {
    http: Router,
    https: Router,
    limits: Limits,
}

impl HttpServer {
    /// Builds both listeners' routers from `routes`. Panics if two routers
    /// claim the same path on one listener (see [`crate::routes`]).
    pub fn new(config: &HttpConfig, site: &Site, routes: Routes) -> HttpServer {
        let (http, https) = routes.build(&config.private_from);
        let redirect_site = site.clone();
        let http = http.fallback(move |req: axum::extract::Request| {
            let site = redirect_site.clone();
            async move { redirect_to_https(&site, req) }
        });
        let https = https.fallback(|| async { StatusCode::NOT_FOUND });
        HttpServer {
            http,
            https,
            limits: Limits {
                max_header_bytes: config.max_header_bytes,
                max_headers: config.max_headers,
                max_body_bytes: config.max_body_bytes,
                header_timeout: Duration::from_secs(config.header_timeout_secs),
                request_timeout: Duration::from_secs(config.request_timeout_secs),
            },
        }
    }
}

/// On the HTTP listener, what no route claims: a browser asking for one of
/// our names is sent to the same URL over HTTPS (`308`, so a POST stays a
/// POST); anything else is `404`.
fn redirect_to_https(site: &Site, req: axum::extract::Request) -> Response {
    let info = req.extensions().get::<RequestInfo>();
    let host = info.and_then(|i| i.host.as_deref());
    let (Some(host), Some(port)) = (host, site.endpoints().https_port) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !site.serves_host(host) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let location = match port {
        443 => format!("https://{host}{path}"),
        p => format!("https://{host}:{p}{path}"),
    };
    match HeaderValue::from_str(&location) {
        Ok(v) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, v)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

impl Handler for HttpServer {
    async fn handle(self: Arc<Self>, conn: Conn) {
        let Conn {
            stream,
            peer,
            local,
            kind,
            shutdown,
            permit,
            ..
        } = conn;
        let _permit = permit;
        if stream.alpn_protocol().as_deref() == Some(ACME_TLS_ALPN) {
            // A TLS-ALPN-01 validation: the handshake was the whole answer
            // (RFC 8737 section 3); no HTTP follows.
            return;
        }
        let tls = stream.tls_info().map(|i| i.version);
        let router = match kind {
            ListenerKind::Http => self.http.clone(),
            _ => self.https.clone(),
        };
        let info = RequestInfo {
            peer,
            local,
            listener: kind,
            host: None,
            tls,
        };
        let limits = self.limits;
        let service = hyper::service::service_fn(move |req| {
            let router = router.clone();
            let info = info.clone();
            async move { Ok::<_, Infallible>(respond(router, info, limits, req).await) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_header_size(limits.max_header_bytes)
            .max_headers(limits.max_headers)
            .keep_alive(true);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let result = tokio::select! {
            r = connection.as_mut() => r,
            _ = shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(limits.request_timeout, connection.as_mut()).await {
                    Ok(r) => r,
                    Err(_) => return,
                }
            }
        };
        if let Err(e) = result {
            // Slow or oversized heads, resets: the client's doing; no
            // request content is logged.
            tracing::debug!(listener = kind.name(), %peer, error = %e, "HTTP connection ended");
        }
    }

    fn over_capacity_line(&self) -> Option<&'static [u8]> {
        Some(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
    }
}

/// Runs one request through the router under the body and time limits.
async fn respond(
    mut router: Router,
    mut info: RequestInfo,
    limits: Limits,
    req: hyper::Request<Incoming>,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return closing(StatusCode::PAYLOAD_TOO_LARGE);
    }
    info.host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(normalize_host);
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(info);
    lowercase_autodiscover(&mut parts.uri);
    let body = Body::new(Limited::new(body, limits.max_body_bytes));
    let req = axum::extract::Request::from_parts(parts, body);
    let mut response = match tokio::time::timeout(limits.request_timeout, router.call(req)).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => return closing(StatusCode::REQUEST_TIMEOUT),
    };
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        // The body was not read to its end: the connection cannot be reused.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// An empty error answer after which the connection is closed.
fn closing(status: StatusCode) -> Response {
    (
        status,
        [
            (header::CONNECTION, HeaderValue::from_static("close")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
    )
        .into_response()
}

/// Outlook asks for `/Autodiscover/Autodiscover.xml` and other casings;
/// Exchange treats these paths case-insensitively, so do we.
fn lowercase_autodiscover(uri: &mut axum::http::Uri) {
    let path = uri.path();
    if path.len() >= 14
        && path.as_bytes()[..14].eq_ignore_ascii_case(b"/autodiscover/")
        && path.bytes().any(|b| b.is_ascii_uppercase())
    {
        let mut new = path.to_ascii_lowercase();
        if let Some(q) = uri.query() {
            new.push('?');
            new.push_str(q);
        }
        if let Ok(pq) = new.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = std::mem::take(uri).into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(u) = axum::http::Uri::from_parts(parts) {
                *uri = u;
            }
        }
    }
}
