//! The security headers of every account-page answer, error pages and
//! the style sheet included.
//!
//! The Content-Security-Policy allows exactly what the pages use: our own
//! style sheet. No script source at all (the page needs none, so an
//! injected one cannot run), images and fonts none, forms posted to
//! ourselves only, no `<base>`, and no framing by anyone
//! (`frame-ancestors 'none'`, with `X-Frame-Options: DENY` for older
//! browsers). `no-store` keeps pages with an app password or the account's
//! data out of caches and history; HSTS tells the browser to come back
//! over HTTPS only.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// The policy (CSP Level 3).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const HEADERS: [(HeaderName, &str); 8] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CACHE_CONTROL, "no-store"),
    (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
];

/// Adds the headers (middleware over the page's routes).
pub async fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in HEADERS {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}
