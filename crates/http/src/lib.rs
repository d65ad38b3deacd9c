//! sealpost-http: the HTTP and HTTPS listeners, client autoconfig, the
//! MTA-STS policy and ACME certificates.
//!
//! # The listener
//!
//! Connections are accepted by `sealpost_net::serve_listener` like every
//! mail connection: the same rustls certificate (hot-swapped by SIGHUP and
//! ACME), its own connection caps (`[http] max_connections`,
//! `max_connections_per_ip`), the same shutdown token and task tracker.
//! [`HttpServer`] then runs HTTP/1.1 on each connection with hyper 1, under
//! the limits of `[http]` (request head size and field count, body size,
//! time to send a head, time to send a body and be answered): see
//! [`server`]. HTTP/2 is not offered: every document here is a few
//! kilobytes, and a second framing layer would be attack surface for no
//! gain.
//!
//! Why hyper + axum: hyper is the HTTP implementation (parser, limits,
//! keep-alive, graceful shutdown) and we drive it per connection ourselves,
//! so the accept loop, TLS and caps stay the ones the mail listeners use.
//! axum is only the router and the extractors (`Query`, `Form`, `Json`,
//! `Extension`): the routes that come next on this listener (metrics,
//! health, the users' account page with its sign-in form) get those for
//! free instead of a hand-made route table.
//!
//! # Adding routes
//!
//! Routes are plain `axum::Router`s registered in a [`Routes`] table with an
//! [`Exposure`] that says which listener serves them; the server wiring
//! builds the table ([`builtin_routes`] plus whatever else) and hands it to
//! [`HttpServer::new`]. See [`routes`] for which kind of route belongs where.
//!
//! # What is served
//!
//! - [`autoconfig`]: Thunderbird's autoconfig, Outlook's autodiscover (POX
//!   and the JSON v2 redirect), Apple's `.mobileconfig`, built from the
//!   listeners actually bound ([`MailEndpoints`]). Answers depend on the
//!   domain only, never on whether an account exists.
//! - [`mta_sts`]: the RFC 8461 policy at `mta-sts.DOMAIN`.
//! - [`account`]: the users' self-service account page (sign-in, data
//!   export, password, app passwords, deletion), HTTPS only.
//! - [`acme`]: HTTP-01 answers, TLS-ALPN-01 certificates, and the task that
//!   obtains and renews certificates (RFC 8555) and swaps them into every
//!   listener.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
pub mod acme;
pub mod autoconfig;
mod endpoints;
#[doc(hidden)]
pub mod fuzzing;
mod host;
pub mod mta_sts;
pub mod routes;
pub mod server;
mod site;

pub use endpoints::{Endpoint, MailEndpoints, Security};
pub use host::normalize_host;
pub use routes::{Exposure, RequestInfo, Routes};
pub use server::HttpServer;
pub use site::Site;

/// The routes sealpost itself serves: autoconfig and autodiscover (both
/// listeners), the MTA-STS policy (HTTPS) and ACME HTTP-01 answers (HTTP).
pub fn builtin_routes(site: &Site, challenges: &acme::Http01Challenges) -> Routes {
    let mut routes = Routes::new();
    routes
        .add(Exposure::Public, autoconfig::routes(site.clone()))
        .add(Exposure::HttpsOnly, mta_sts::routes(site.clone()))
        .add(Exposure::HttpOnly, acme::http01_routes(challenges.clone()));
    routes
}
