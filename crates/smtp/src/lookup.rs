//! Looking up DNS records the way the server would see them, for
//! `sealpost dns --check`: the static records of `[smtp.dns]` answer first
//! (all of a name and type; with `static_only`, nothing else exists), then
//! the configured resolver. Answers come back as zone-file data: TXT as one
//! string (its character-strings joined, RFC 7208 3.3 / RFC 6376 3.6.2.2),
//! MX as `PREFERENCE HOST.`, SRV, CNAME and TLSA as hickory prints them.

use crate::mailauth::{MailAuthError, authenticator};
use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::proto::rr::{RData, RecordType};
use sealpost_config::SmtpConfig;

/// Record lookups through `[smtp.dns]`.
pub struct DnsLookup {
    smtp: SmtpConfig,
    resolver: MessageAuthenticator,
}

impl DnsLookup {
    /// The resolver and static records of `smtp`.
    pub fn new(smtp: &SmtpConfig) -> Result<DnsLookup, MailAuthError> {
        Ok(DnsLookup {
            smtp: smtp.clone(),
            resolver: authenticator(smtp)?,
        })
    }

    /// The data of every `rtype` record (TXT, MX, A, AAAA, SRV, CNAME,
    /// TLSA) at `name`; empty when there is none. An error is a failed
    /// lookup (timeout, SERVFAIL), not an absent record.
    pub async fn records(&self, name: &str, rtype: &str) -> Result<Vec<String>, String> {
        let statics = self.statics(name, rtype);
        if !statics.is_empty() || self.smtp.dns.static_only {
            return Ok(statics);
        }
        let kind: RecordType = rtype
            .parse()
            .map_err(|_| format!("unknown record type {rtype}"))?;
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let answer = match self.resolver.resolver().lookup(fqdn, kind).await {
            Ok(a) => a,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(e.to_string()),
        };
        Ok(answer
            .iter()
            .filter(|r| r.record_type() == kind)
            .map(|r| match r {
                RData::TXT(t) => t
                    .txt_data()
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect(),
                other => other.to_string(),
            })
            .collect())
    }

    /// The static records of `name` and `rtype`.
    fn statics(&self, name: &str, rtype: &str) -> Vec<String> {
        let dns = &self.smtp.dns;
        let same = |n: &str| {
            n.trim_end_matches('.')
                .eq_ignore_ascii_case(name.trim_end_matches('.'))
        };
        match rtype {
            "TXT" => dns
                .txt
                .iter()
                .filter(|r| same(&r.name))
                .map(|r| r.value.clone())
                .collect(),
            "MX" => dns
                .mx
                .iter()
                .filter(|r| same(&r.name))
                .map(|r| format!("{} {}.", r.preference, r.host.trim_end_matches('.')))
                .collect(),
            "A" | "AAAA" => dns
                .a
                .iter()
                .filter(|r| same(&r.name) && r.addr.is_ipv4() == (rtype == "A"))
                .map(|r| r.addr.to_string())
                .collect(),
            _ => dns
                .record
                .iter()
                .filter(|r| same(&r.name) && r.kind.as_str() == rtype)
                .map(|r| r.value.clone())
                .collect(),
        }
    }
}
