//! Mozilla Thunderbird's autoconfig document, clientConfig version 1.1
//! (the "ConfigFileFormat" of Thunderbird's autoconfiguration).
//!
//! Thunderbird asks `https://autoconfig.DOMAIN/mail/config-v1.1.xml?emailaddress=ADDRESS`,
//! then `https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml`, then
//! the same over `http`. The document names the user with the placeholder
//! `%EMAILADDRESS%`, so it is byte for byte the same for every address of a
//! domain, existing or not.

use super::{document, requested_domain, xml::escape};
use crate::routes::RequestInfo;
use crate::{Endpoint, MailEndpoints, Security, Site};
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::fmt::Write;

/// The query Thunderbird sends.
#[derive(Debug, Deserialize)]
pub struct AutoconfigQuery {
    /// The address being set up (optional: the Host then names the domain).
    pub emailaddress: Option<String>,
}

pub(crate) async fn handle(
    State(site): State<Site>,
    Extension(info): Extension<RequestInfo>,
    Query(query): Query<AutoconfigQuery>,
) -> Response {
    match requested_domain(&site, &info, query.emailaddress.as_deref()) {
        Ok(domain) => document(
            "application/xml; charset=utf-8",
            client_config(&domain, site.endpoints()),
        ),
        Err(refusal) => refusal.into_response(),
    }
}

fn socket_type(security: Security) -> &'static str {
    match security {
        Security::ImplicitTls => "SSL",
        Security::StartTls => "STARTTLS",
    }
}

fn server(out: &mut String, element: &str, kind: &str, host: &str, endpoint: Endpoint) {
    let _ = write!(
        out,
        "    <{element} type=\"{kind}\">\n      <hostname>{host}</hostname>\n      <port>{port}</port>\n      <socketType>{socket}</socketType>\n      <authentication>password-cleartext</authentication>\n      <username>%EMAILADDRESS%</username>\n    </{element}>\n",
        port = endpoint.port,
        socket = socket_type(endpoint.security),
    );
}

/// The clientConfig document for `domain`. IMAP comes before POP3 (the
/// first incoming server is the one Thunderbird proposes). Authentication
/// is `password-cleartext`: SASL PLAIN inside TLS, which every sealpost
/// listener requires before login.
pub fn client_config(domain: &str, endpoints: &MailEndpoints) -> String {
    let domain = escape(domain);
    let host = escape(&endpoints.hostname);
    let mut out = String::with_capacity(1024);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n  <emailProvider id=\"{domain}\">\n    <domain>{domain}</domain>\n    <displayName>{domain}</displayName>\n    <displayShortName>{domain}</displayShortName>\n"
    );
    if let Some(e) = endpoints.imap {
        server(&mut out, "incomingServer", "imap", &host, e);
    }
    if let Some(e) = endpoints.pop3 {
        server(&mut out, "incomingServer", "pop3", &host, e);
    }
    if let Some(e) = endpoints.submission {
        server(&mut out, "outgoingServer", "smtp", &host, e);
    }
    out.push_str("  </emailProvider>\n</clientConfig>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_lists_what_is_bound() {
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
            https_port: None,
        };
        let doc = client_config("example.org", &e);
        assert!(doc.contains("<incomingServer type=\"imap\">\n      <hostname>mail.example.org</hostname>\n      <port>993</port>\n      <socketType>SSL</socketType>"), "{doc}");
        assert!(!doc.contains("pop3"));
        assert!(doc.contains("<outgoingServer type=\"smtp\">\n      <hostname>mail.example.org</hostname>\n      <port>587</port>\n      <socketType>STARTTLS</socketType>"), "{doc}");
        assert!(doc.contains("<username>%EMAILADDRESS%</username>"));
    }
}
