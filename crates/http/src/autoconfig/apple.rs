//! An Apple configuration profile (`.mobileconfig`, an XML property list)
//! with one `com.apple.mail.managed` payload, for iOS, iPadOS and macOS
//! Mail: `GET /apple/mobileconfig?email=ADDRESS`.
//!
//! The profile is unsigned: devices show it as "Unverified" before
//! installing. Signing would need a certificate from a CA the devices
//! trust and a CMS signature at every request; the content is public
//! anyway (host names and ports) and carries no password, so the user
//! types it at install time.
//!
//! The payload identifiers and UUIDs are derived from the address, so
//! installing the profile again replaces the old one instead of adding a
//! second account. `IncomingMailServerUseSSL`/`OutgoingMailServerUseSSL`
//! are true for implicit TLS and for STARTTLS alike: Apple's Mail uses
//! STARTTLS when the port is a STARTTLS port and the flag is set.

use super::{Refusal, hosted_address, xml::escape};
use crate::{MailEndpoints, Site};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// The query of the profile route.
#[derive(Debug, Deserialize)]
pub struct MobileconfigQuery {
    /// The address to set up.
    pub email: Option<String>,
}

pub(crate) async fn handle(
    State(site): State<Site>,
    Query(query): Query<MobileconfigQuery>,
) -> Response {
    let Some(address) = query.email.filter(|a| !a.trim().is_empty()) else {
        return Refusal::BadAddress.into_response();
    };
    let (address, domain) = match hosted_address(&site, &address) {
        Ok(x) => x,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(body) = profile(&address, site.endpoints()) else {
        // Neither IMAP nor POP3 is offered: nothing to configure.
        return Refusal::NotHosted.into_response();
    };
    let disposition = format!("attachment; filename=\"{domain}.mobileconfig\"");
    let mut response = super::document("application/x-apple-aspen-config", body);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A UUID-shaped string derived from the address (version 4 layout).
fn derived_uuid(address: &str, what: &str) -> String {
    let d = Sha256::digest(format!("sealpost mobileconfig\0{what}\0{address}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode_upper(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `mail.example.org` -> `org.example.mail`, for payload identifiers.
fn reverse_dns(host: &str) -> String {
    host.rsplit('.').collect::<Vec<_>>().join(".")
}

/// The entries of one plist `<dict>`, written at one indentation.
struct Dict {
    out: String,
    indent: &'static str,
}

impl Dict {
    fn new(indent: &'static str) -> Dict {
        Dict {
            out: String::new(),
            indent,
        }
    }

    fn string(&mut self, key: &str, value: &str) {
        let i = self.indent;
        let _ = write!(
            self.out,
            "{i}<key>{key}</key>\n{i}<string>{}</string>\n",
            escape(value)
        );
    }

    fn int(&mut self, key: &str, value: u16) {
        let i = self.indent;
        let _ = write!(
            self.out,
            "{i}<key>{key}</key>\n{i}<integer>{value}</integer>\n"
        );
    }

    fn bool(&mut self, key: &str, value: bool) {
        let i = self.indent;
        let v = if value { "true" } else { "false" };
        let _ = write!(self.out, "{i}<key>{key}</key>\n{i}<{v}/>\n");
    }
}

/// The profile for `address`, or `None` without an IMAP or POP3 listener.
pub fn profile(address: &str, endpoints: &MailEndpoints) -> Option<String> {
    let (account_type, incoming) = match (endpoints.imap, endpoints.pop3) {
        (Some(e), _) => ("EmailTypeIMAP", e),
        (None, Some(e)) => ("EmailTypePOP", e),
        (None, None) => return None,
    };
    let host = &endpoints.hostname;
    let base_id = format!(
        "{}.sealpost.{}",
        reverse_dns(host),
        &derived_uuid(address, "id")[..8].to_ascii_lowercase()
    );
    let mut mail = Dict::new("      ");
    mail.string("EmailAccountDescription", address);
    mail.string("EmailAccountType", account_type);
    mail.string("EmailAddress", address);
    mail.string("IncomingMailServerAuthentication", "EmailAuthPassword");
    mail.string("IncomingMailServerHostName", host);
    mail.int("IncomingMailServerPortNumber", incoming.port);
    mail.bool("IncomingMailServerUseSSL", true);
    mail.string("IncomingMailServerUsername", address);
    if let Some(out) = endpoints.submission {
        mail.string("OutgoingMailServerAuthentication", "EmailAuthPassword");
        mail.string("OutgoingMailServerHostName", host);
        mail.int("OutgoingMailServerPortNumber", out.port);
        mail.bool("OutgoingMailServerUseSSL", true);
        mail.string("OutgoingMailServerUsername", address);
        mail.bool("OutgoingPasswordSameAsIncomingPassword", true);
    }
    mail.string("PayloadDisplayName", address);
    mail.string("PayloadIdentifier", &format!("{base_id}.mail"));
    mail.string("PayloadType", "com.apple.mail.managed");
    mail.string("PayloadUUID", &derived_uuid(address, "mail"));
    mail.int("PayloadVersion", 1);
    mail.bool("PreventAppSheet", false);
    mail.bool("PreventMove", false);
    mail.bool("SMIMEEnabled", false);

    let mut profile = Dict::new("  ");
    profile.string(
        "PayloadDescription",
        &format!("Mail settings for {address}"),
    );
    profile.string("PayloadDisplayName", &format!("Mail: {address}"));
    profile.string("PayloadIdentifier", &base_id);
    profile.string("PayloadOrganization", host);
    profile.bool("PayloadRemovalDisallowed", false);
    profile.string("PayloadType", "Configuration");
    profile.string("PayloadUUID", &derived_uuid(address, "profile"));
    profile.int("PayloadVersion", 1);

    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n  <key>PayloadContent</key>\n  <array>\n    <dict>\n{}    </dict>\n  </array>\n{}</dict>\n</plist>\n",
        mail.out, profile.out
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Endpoint, Security};

    #[test]
    fn stable_ids_per_address() {
        let a = derived_uuid("a@example.org", "mail");
        assert_eq!(a, derived_uuid("a@example.org", "mail"));
        assert_ne!(a, derived_uuid("b@example.org", "mail"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_eq!(reverse_dns("mail.example.org"), "org.example.mail");
    }

    #[test]
    fn pop3_only_server_gets_a_pop_account() {
        let e = MailEndpoints {
            hostname: "m.example".into(),
            imap: None,
            pop3: Some(Endpoint {
                port: 995,
                security: Security::ImplicitTls,
            }),
            submission: None,
            https_port: None,
        };
        let p = profile("x@example.org", &e).unwrap();
        assert!(p.contains("<string>EmailTypePOP</string>"));
        assert!(p.contains("<integer>995</integer>"));
        assert!(!p.contains("Outgoing"));
        let none = MailEndpoints { pop3: None, ..e };
        assert!(profile("x@example.org", &none).is_none());
    }
}
