//! Client autoconfiguration: the documents mail clients fetch to set
//! themselves up from an address.
//!
//! - [`thunderbird`]: Mozilla's clientConfig v1.1
//!   (`/mail/config-v1.1.xml` on `autoconfig.DOMAIN`,
//!   `/.well-known/autoconfig/mail/config-v1.1.xml` on `DOMAIN`).
//! - [`autodiscover`]: Outlook's POX autodiscover
//!   (`POST /autodiscover/autodiscover.xml`, [MS-OXDSCLI]/[MS-OXDISCO]) and
//!   the JSON v2 redirect (`/autodiscover/autodiscover.json/v1.0/ADDRESS`).
//! - [`apple`]: an unsigned `.mobileconfig` profile
//!   (`/apple/mobileconfig?email=ADDRESS`, payload `com.apple.mail.managed`).
//!
//! Rules every document follows:
//! - Only hosted domains get an answer; any other domain gets `404`.
//! - Whether an account exists is never looked up: the answer for an
//!   unknown local part is the one for an existing one (with the address
//!   the client sent echoed back where the format wants it), so these
//!   routes cannot be used to enumerate users.
//! - Hosts, ports and socket types come from the listeners really bound
//!   ([`crate::MailEndpoints`]): implicit TLS where offered, STARTTLS
//!   otherwise, never plaintext.

pub mod apple;
pub mod autodiscover;
mod request;
pub mod thunderbird;
mod xml;

pub use request::{
    AutodiscoverRequest, MAX_TEXT as MAX_TEXT_LEN, RequestError, parse_autodiscover_request,
};

use crate::Site;
use crate::routes::RequestInfo;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The autoconfig routes (registered as [`crate::Exposure::Public`]).
pub fn routes(site: Site) -> Router {
    Router::new()
        .route("/mail/config-v1.1.xml", get(thunderbird::handle))
        .route(
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            get(thunderbird::handle),
        )
        .route(
            "/autodiscover/autodiscover.xml",
            post(autodiscover::handle_pox),
        )
        .route(
            "/autodiscover/autodiscover.json",
            get(autodiscover::handle_json_query),
        )
        .route(
            "/autodiscover/autodiscover.json/v1.0/{address}",
            get(autodiscover::handle_json),
        )
        .route("/apple/mobileconfig", get(apple::handle))
        .with_state(site)
}

/// Why a lookup gets no document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The address is not an address (`400`).
    BadAddress,
    /// No hosted domain was named (`404`).
    NotHosted,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::BadAddress => (StatusCode::BAD_REQUEST, "not a valid email address\n"),
            Refusal::NotHosted => (StatusCode::NOT_FOUND, "no such domain here\n"),
        }
        .into_response()
    }
}

/// The address a client asked about, normalized, with its hosted domain.
pub(crate) fn hosted_address(site: &Site, address: &str) -> Result<(String, String), Refusal> {
    let address =
        sealpost_directory::normalize_address(address.trim()).map_err(|_| Refusal::BadAddress)?;
    let domain = address
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .ok_or(Refusal::BadAddress)?;
    if site.is_hosted(&domain) {
        Ok((address, domain))
    } else {
        Err(Refusal::NotHosted)
    }
}

/// The hosted domain a request is about: the address's domain when one is
/// given, else the one the `Host` names (`autoconfig.D`, `D`, ...).
pub(crate) fn requested_domain(
    site: &Site,
    info: &RequestInfo,
    address: Option<&str>,
) -> Result<String, Refusal> {
    match address.filter(|a| !a.trim().is_empty()) {
        Some(a) => hosted_address(site, a).map(|(_, domain)| domain),
        None => info
            .host
            .as_deref()
            .and_then(|h| site.domain_of_host(h))
            .ok_or(Refusal::NotHosted),
    }
}

/// A document that must not be cached by shared caches (it may name the
/// address asked about).
pub(crate) fn document(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body,
    )
        .into_response()
}
