//! Outlook autodiscover: the POX ("plain old XML") service of
//! [MS-OXDISCO]/[MS-OXDSCLI] and the JSON v2 redirect Outlook tries first.
//!
//! POX: Outlook POSTs the request parsed by
//! [`super::parse_autodiscover_request`] to
//! `https://autodiscover.DOMAIN/autodiscover/autodiscover.xml` (or
//! `https://DOMAIN/...`) and gets back, in the
//! `.../outlook/responseschema/2006a` schema, an `Account` of type `email`
//! with one `Protocol` per service: `Type` IMAP/POP3/SMTP, `Server`,
//! `Port`, `SSL on` and `Encryption` `SSL` (implicit TLS) or `TLS`
//! (STARTTLS; `Encryption` overrides `SSL` in Outlook 2010 and later),
//! `LoginName` the address asked about, `SPA off` (no NTLM),
//! `AuthRequired on`. A request that cannot be read gets the POX error
//! document (`ErrorCode` 600 "Invalid Request") with status 400; one that
//! wants another response schema (ActiveSync's `mobilesync`) gets
//! `ErrorCode` 601 "Provider is not available".
//!
//! JSON v2: `GET /autodiscover/autodiscover.json/v1.0/ADDRESS?Protocol=AutodiscoverV1`
//! (or `/autodiscover/autodiscover.json?Email=ADDRESS&Protocol=...`) answers
//! `{"Protocol":"AutodiscoverV1","Url":"https://HOST/Autodiscover/Autodiscover.xml"}`,
//! pointing at this server's HTTPS listener; any other protocol (ActiveSync,
//! EWS, REST) gets 400 `InvalidProtocol`, as Exchange answers.

use super::{Refusal, document, hosted_address, parse_autodiscover_request, xml::escape};
use crate::{Endpoint, MailEndpoints, Security, Site};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;

/// The response schema Outlook asks for; the only one we answer in.
pub const OUTLOOK_RESPONSE_SCHEMA: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
const RESPONSE_NS: &str = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";

pub(crate) async fn handle_pox(State(site): State<Site>, body: Bytes) -> Response {
    let request = match parse_autodiscover_request(&body) {
        Ok(r) => r,
        Err(_) => {
            let mut r = document("text/xml; charset=utf-8", error(600, "Invalid Request"));
            *r.status_mut() = StatusCode::BAD_REQUEST;
            return r;
        }
    };
    if request
        .response_schema
        .as_deref()
        .is_some_and(|s| !s.eq_ignore_ascii_case(OUTLOOK_RESPONSE_SCHEMA))
    {
        return document(
            "text/xml; charset=utf-8",
            error(601, "Provider is not available"),
        );
    }
    match hosted_address(&site, &request.email) {
        Ok((address, _)) => document(
            "text/xml; charset=utf-8",
            pox_response(&address, site.endpoints()),
        ),
        Err(Refusal::BadAddress) => {
            let mut r = document("text/xml; charset=utf-8", error(600, "Invalid Request"));
            *r.status_mut() = StatusCode::BAD_REQUEST;
            r
        }
        Err(refusal) => refusal.into_response(),
    }
}

fn protocol(out: &mut String, kind: &str, host: &str, login: &str, e: Endpoint, smtp: bool) {
    let encryption = match e.security {
        Security::ImplicitTls => "SSL",
        Security::StartTls => "TLS",
    };
    let _ = write!(
        out,
        "      <Protocol>\n        <Type>{kind}</Type>\n        <Server>{host}</Server>\n        <Port>{port}</Port>\n        <DomainRequired>off</DomainRequired>\n        <LoginName>{login}</LoginName>\n        <SPA>off</SPA>\n        <SSL>on</SSL>\n        <Encryption>{encryption}</Encryption>\n        <AuthRequired>on</AuthRequired>\n",
        port = e.port,
    );
    if smtp {
        out.push_str("        <UsePOPAuth>on</UsePOPAuth>\n        <SMTPLast>off</SMTPLast>\n");
    }
    out.push_str("      </Protocol>\n");
}

/// The POX response for `address` (already normalized and hosted).
pub fn pox_response(address: &str, endpoints: &MailEndpoints) -> String {
    let host = escape(&endpoints.hostname);
    let login = escape(address);
    let mut out = String::with_capacity(1536);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"{RESPONSE_NS}\">\n  <Response xmlns=\"{OUTLOOK_RESPONSE_SCHEMA}\">\n    <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n"
    );
    if let Some(e) = endpoints.imap {
        protocol(&mut out, "IMAP", &host, &login, e, false);
    }
    if let Some(e) = endpoints.pop3 {
        protocol(&mut out, "POP3", &host, &login, e, false);
    }
    if let Some(e) = endpoints.submission {
        protocol(&mut out, "SMTP", &host, &login, e, true);
    }
    out.push_str("    </Account>\n  </Response>\n</Autodiscover>\n");
    out
}

/// A POX error document.
fn error(code: u16, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"{RESPONSE_NS}\">\n  <Response>\n    <Error>\n      <ErrorCode>{code}</ErrorCode>\n      <Message>{message}</Message>\n      <DebugData />\n    </Error>\n  </Response>\n</Autodiscover>\n"
    )
}

pub(crate) async fn handle_json(
    State(site): State<Site>,
    Path(address): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    json_v2(&site, &address, param(&query, "protocol"))
}

pub(crate) async fn handle_json_query(
    State(site): State<Site>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let address = param(&query, "email").unwrap_or_default();
    json_v2(&site, address, param(&query, "protocol"))
}

/// A query parameter by name, any case (Outlook sends `Protocol`, others `protocol`).
fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn json_v2(site: &Site, address: &str, protocol: Option<&str>) -> Response {
    if let Err(refusal) = hosted_address(site, address) {
        return refusal.into_response();
    }
    if !protocol.is_some_and(|p| p.eq_ignore_ascii_case("AutodiscoverV1")) {
        let body = serde_json::json!({
            "ErrorCode": "InvalidProtocol",
            "ErrorMessage": "The given protocol value is invalid. Supported values are 'AutodiscoverV1'",
        });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let Some(base) = site.endpoints().https_base() else {
        // POX autodiscover is HTTPS-only for Outlook: without an HTTPS
        // listener there is nothing to point at.
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = serde_json::json!({
        "Protocol": "AutodiscoverV1",
        "Url": format!("{base}/Autodiscover/Autodiscover.xml"),
    });
    Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pox_names_login_and_encryption() {
        let e = MailEndpoints {
            hostname: "mail.example.org".into(),
            imap: Some(Endpoint {
                port: 993,
                security: Security::ImplicitTls,
            }),
            pop3: None,
            submission: Some(Endpoint {
                port: 587,
                security: Security::StartTls,
            }),
            https_port: Some(443),
        };
        let doc = pox_response("a&b@example.org", &e);
        assert!(doc.contains("<Type>IMAP</Type>\n        <Server>mail.example.org</Server>\n        <Port>993</Port>"), "{doc}");
        assert!(doc.contains("<LoginName>a&amp;b@example.org</LoginName>"));
        assert!(doc.contains("<Port>587</Port>") && doc.contains("<Encryption>TLS</Encryption>"));
        assert!(!doc.contains("POP3"));
    }
}
