//! The MTA-STS policy (RFC 8461 section 3.2), served at
//! `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` for every hosted
//! domain (section 3.3: HTTPS only, `text/plain`, no redirect).
//!
//! ```text
//! version: STSv1
//! mode: testing
//! mx: mail.example.org
//! max_age: 604800
//! ```
//!
//! The mode, `max_age` and `mx` lines come from `[http.mta_sts]`; `mx`
//! defaults to `server.hostname`. Senders cache the policy for `max_age`
//! seconds and re-fetch it when the `id` of the `_mta-sts.DOMAIN` TXT
//! record changes: [`policy_id`] gives an id that changes exactly when the
//! policy text does (for whoever prints the DNS records).

use crate::Site;
use crate::routes::RequestInfo;
use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sealpost_config::MtaStsConfig;
use sha2::{Digest, Sha256};

/// The policy route (registered as [`crate::Exposure::HttpsOnly`]).
pub fn routes(site: Site) -> Router {
    Router::new()
        .route("/.well-known/mta-sts.txt", get(handle))
        .with_state(site)
}

async fn handle(State(site): State<Site>, Extension(info): Extension<RequestInfo>) -> Response {
    // RFC 8461 3.3: the policy host is `mta-sts.` + the policy domain.
    let hosted = info
        .host
        .as_deref()
        .and_then(|h| h.strip_prefix("mta-sts."))
        .is_some_and(|domain| site.is_hosted(domain));
    if !hosted {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        policy_text(site.mta_sts()),
    )
        .into_response()
}

/// The policy document, CRLF-terminated lines, `version` first.
pub fn policy_text(config: &MtaStsConfig) -> String {
    let mut out = format!("version: STSv1\r\nmode: {}\r\n", config.mode.as_str());
    for mx in &config.mx {
        out.push_str("mx: ");
        out.push_str(mx);
        out.push_str("\r\n");
    }
    out.push_str(&format!("max_age: {}\r\n", config.max_age_secs));
    out
}

/// An `id` for the `_mta-sts` TXT record (RFC 8461 3.1: 1 to 32
/// alphanumerics) that changes whenever the policy text changes.
pub fn policy_id(config: &MtaStsConfig) -> String {
    hex::encode(&Sha256::digest(policy_text(config).as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_config::MtaStsMode;

    #[test]
    fn policy_lines() {
        let mut c = MtaStsConfig {
            mode: MtaStsMode::Enforce,
            max_age_secs: 86400,
            mx: vec!["mx1.example.org".into(), "*.mx.example.org".into()],
        };
        assert_eq!(
            policy_text(&c),
            "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: *.mx.example.org\r\nmax_age: 86400\r\n"
        );
        let id = policy_id(&c);
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        c.mode = MtaStsMode::Testing;
        assert_ne!(policy_id(&c), id);
    }
}
