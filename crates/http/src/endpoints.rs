//! What the autoconfig documents advertise: the mail host name and, per
//! protocol, the port and security of a listener that is really bound.
//!
//! Implicit TLS is preferred (RFC 8314 section 3: clients should use it);
//! a STARTTLS listener is advertised only where no implicit-TLS one
//! exists. Plaintext is never advertised: sealpost has none (its STARTTLS
//! listeners refuse login before the upgrade), and a document must not
//! teach a client otherwise.

use sealpost_net::ListenerKind;
use std::net::SocketAddr;

/// How a client secures a connection to an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (imaps 993, pop3s 995, submissions 465).
    ImplicitTls,
    /// Plaintext greeting, then STARTTLS/STLS before anything else.
    StartTls,
}

/// One advertised service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// The TCP port (the bound port: with port 0 in the config, the one the
    /// system chose).
    pub port: u16,
    /// Implicit TLS or STARTTLS.
    pub security: Security,
}

/// The mail services of this server as clients should reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailEndpoints {
    /// The host name clients connect to (`server.hostname`, which the
    /// certificate carries).
    pub hostname: String,
    /// IMAP, if any listener serves it.
    pub imap: Option<Endpoint>,
    /// POP3, if any listener serves it.
    pub pop3: Option<Endpoint>,
    /// Message submission, if any listener serves it.
    pub submission: Option<Endpoint>,
    /// The HTTPS listener's port, for URLs that point back here.
    pub https_port: Option<u16>,
}

impl MailEndpoints {
    /// Picks, per protocol, the first bound listener of the preferred kind.
    pub fn from_listeners(hostname: &str, bound: &[(ListenerKind, SocketAddr)]) -> MailEndpoints {
        let port = |kind: ListenerKind| {
            bound
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, addr)| addr.port())
        };
        let pick = |implicit: ListenerKind, starttls: ListenerKind| {
            port(implicit)
                .map(|port| Endpoint {
                    port,
                    security: Security::ImplicitTls,
                })
                .or_else(|| {
                    port(starttls).map(|port| Endpoint {
                        port,
                        security: Security::StartTls,
                    })
                })
        };
        MailEndpoints {
            hostname: hostname.to_string(),
            imap: pick(ListenerKind::Imaps, ListenerKind::Imap),
            pop3: pick(ListenerKind::Pop3s, ListenerKind::Pop3),
            submission: pick(ListenerKind::Submissions, ListenerKind::Submission),
            https_port: port(ListenerKind::Https),
        }
    }

    /// `https://HOST[:PORT]` of this server, if it has an HTTPS listener.
    pub fn https_base(&self) -> Option<String> {
        self.https_port.map(|p| match p {
            443 => format!("https://{}", self.hostname),
            p => format!("https://{}:{p}", self.hostname),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implicit_tls_preferred_starttls_otherwise_nothing_plain() {
        let a = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        let e = MailEndpoints::from_listeners(
            "mail.example.org",
            &[
                (ListenerKind::Imap, a(143)),
                (ListenerKind::Imaps, a(993)),
                (ListenerKind::Pop3, a(110)),
                (ListenerKind::Submission, a(587)),
                (ListenerKind::Smtp, a(25)),
                (ListenerKind::Https, a(443)),
            ],
        );
        assert_eq!(
            e.imap,
            Some(Endpoint {
                port: 993,
                security: Security::ImplicitTls
            })
        );
        assert_eq!(
            e.pop3,
            Some(Endpoint {
                port: 110,
                security: Security::StartTls
            })
        );
        assert_eq!(
            e.submission,
            Some(Endpoint {
                port: 587,
                security: Security::StartTls
            })
        );
        assert_eq!(e.https_base().as_deref(), Some("https://mail.example.org"));
        let none = MailEndpoints::from_listeners("m.example", &[(ListenerKind::Smtp, a(25))]);
        assert_eq!((none.imap, none.pop3, none.submission), (None, None, None));
        assert_eq!(none.https_base(), None);
    }
}
