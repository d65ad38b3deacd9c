//! The route table: the extension point of the HTTP listener.
//!
//! A feature adds its routes as an `axum::Router` (state already attached
//! with `with_state`) under an [`Exposure`], in the server wiring
//! (`crates/server`), without touching this crate:
//!
//! ```ignore
//! let mut routes = sealpost_http::builtin_routes(&site, &challenges);
//! routes.add(Exposure::Private, metrics::router(registry));   // issue #15
//! routes.add(Exposure::HttpsOnly, account::router(services)); // issue #16
//! let http = HttpServer::new(&config.http, &site, routes);
//! ```
//!
//! Handlers read who asked and on which listener from the
//! [`RequestInfo`] request extension (`Extension<RequestInfo>`). Bodies
//! arrive already capped at `[http] max_body_bytes` (axum's `Bytes`,
//! `Form` and `Json` extractors answer `413` past it), and the whole
//! request is bounded by `request_timeout_secs`.
//!
//! Where each kind of route belongs:
//!
//! | route | exposure | why |
//! |---|---|---|
//! | autoconfig, autodiscover, mobileconfig | `Public` | clients try `https://` first and some fall back to `http://`; the documents hold no secret |
//! | MTA-STS policy | `HttpsOnly` | RFC 8461 3.3: fetched over HTTPS only, certificate checked |
//! | ACME HTTP-01 answers | `HttpOnly` | RFC 8555 8.3: the CA fetches `http://NAME/.well-known/acme-challenge/` on port 80 |
//! | users' account page, sign-in (#16) | `HttpsOnly` | passwords and session cookies never cross plaintext; on `http` a browser is redirected to `https` |
//! | Prometheus `/metrics`, `/healthz`, `/readyz` (#15) | `Private` | operators' data: only clients in `[http] private_from` (loopback by default) get an answer, on either listener; others get `404` |
//!
//! Two routers registered for the same path on one listener make
//! [`crate::HttpServer::new`] panic at start-up (axum's `merge` does), so a
//! clash is found by the first test that starts the server, not in
//! production. Paths are case-sensitive, except that everything under
//! `/autodiscover/` is matched in lower case (Outlook capitalises it).

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sealpost_config::IpNetwork;
use sealpost_net::ListenerKind;
use std::net::SocketAddr;
use std::sync::Arc;

/// Which listener serves a set of routes, and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Both listeners, anyone.
    Public,
    /// The HTTPS listener only, anyone.
    HttpsOnly,
    /// The HTTP listener only, anyone.
    HttpOnly,
    /// Both listeners, only clients whose address is in `[http]
    /// private_from`; anyone else gets `404`, as if the route did not exist.
    Private,
}

/// Facts about the connection a request came in on, put into every
/// request's extensions before routing.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Our address the client connected to.
    pub local: SocketAddr,
    /// `Http` or `Https`.
    pub listener: ListenerKind,
    /// The `Host` header, normalized ([`crate::normalize_host`]); `None`
    /// when missing or not a host name.
    pub host: Option<String>,
    /// The negotiated TLS version (`TLSv1.3`), `None` on plain HTTP: for
    /// audit records, as the mail protocols write them.
    pub tls: Option<String>,
}

impl RequestInfo {
    /// Whether the request came over TLS.
    pub fn is_https(&self) -> bool {
        self.listener == ListenerKind::Https
    }
}

/// Routes by exposure, collected before the server starts.
#[derive(Default)]
pub struct Routes {
    parts: Vec<(Exposure, Router)>,
}

impl Routes {
    /// An empty table.
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Adds `router`'s routes under `exposure`.
    pub fn add(&mut self, exposure: Exposure, router: Router) -> &mut Routes {
        self.parts.push((exposure, router));
        self
    }

    /// The routers of the HTTP and the HTTPS listener (without fallbacks).
    pub(crate) fn build(self, private_from: &[IpNetwork]) -> (Router, Router) {
        let private_from: Arc<[IpNetwork]> = private_from.into();
        let mut http = Router::new();
        let mut https = Router::new();
        for (exposure, router) in self.parts {
            let router = if exposure == Exposure::Private {
                let nets = private_from.clone();
                router.layer(axum::middleware::from_fn(
                    move |req: Request, next: Next| {
                        let nets = nets.clone();
                        async move { private_only(&nets, req, next).await }
                    },
                ))
            } else {
                router
            };
            match exposure {
                Exposure::Public | Exposure::Private => {
                    http = http.merge(router.clone());
                    https = https.merge(router);
                }
                Exposure::HttpsOnly => https = https.merge(router),
                Exposure::HttpOnly => http = http.merge(router),
            }
        }
        (http, https)
    }
}

async fn private_only(nets: &[IpNetwork], req: Request, next: Next) -> Response {
    let allowed = req
        .extensions()
        .get::<RequestInfo>()
        .is_some_and(|info| nets.iter().any(|n| n.contains(info.peer.ip())));
    if allowed {
        next.run(req).await
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}
