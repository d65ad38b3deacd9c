//! Helpers of the domain and DNS end-to-end tests: submitting and fetching
//! with Python's smtplib and imaplib (root tests/ scripts), DKIM public
//! keys derived independently with `openssl pkey`, and DKIM verification
//! by mail-auth against those keys.

#![allow(dead_code)]

use crate::common::{PASSWORD, Server, Site, python};
use base64::Engine;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
};
use serde_json::{Value, json};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// One message through tests/smtp_submit.py on `listener` (AUTH when `user`).
pub fn send(site: &Site, server: &Server, listener: &str, args: Value) -> Value {
    let mut all = json!({
        "port": server.addr(listener).port(),
        "cafile": site.path("certs/cert.pem"),
        "tls": if listener == "submissions" { "implicit" } else { "starttls" },
    });
    for (k, v) in args.as_object().unwrap() {
        all[k] = v.clone();
    }
    let out = python("smtp_submit.py", &[&all.to_string()]);
    assert!(
        out.code == 0,
        "smtp_submit.py: {}{}",
        out.stdout,
        out.stderr
    );
    serde_json::from_str(out.stdout.trim()).unwrap()
}

/// The raw message in `user`'s INBOX with `subject` (tests/imap_fetch_raw.py).
pub fn fetch_raw(site: &Site, server: &Server, user: &str, subject: &str) -> String {
    let args = json!({
        "cafile": site.path("certs/cert.pem"),
        "imaps": server.addr("imaps").port(),
        "user": user,
        "password": PASSWORD,
        "subject": subject,
    });
    let out = python("imap_fetch_raw.py", &[&args.to_string()]);
    assert!(out.ok(), "imap_fetch_raw.py: {}{}", out.stdout, out.stderr);
    out.stdout
}

/// The DKIM TXT record of a private key file, made by `openssl pkey`
/// (not by sealpost): SubjectPublicKeyInfo for RSA, the raw 32 octets for
/// Ed25519 (the end of its SubjectPublicKeyInfo).
pub fn openssl_record(key: &Path) -> String {
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(key)
        .output()
        .expect("openssl must be installed");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let der = out.stdout;
    if der.len() == 44 {
        format!("v=DKIM1; k=ed25519; p={}", b64.encode(&der[12..]))
    } else {
        format!("v=DKIM1; k=rsa; p={}", b64.encode(&der))
    }
}

/// TXT records by owner name (with the final dot), for mail-auth.
pub struct Records(HashMap<String, Txt>);

impl Records {
    pub fn new(txt: &[(String, String)]) -> Records {
        Records(
            txt.iter()
                .map(|(name, value)| {
                    let key = format!("{}.", name.trim_end_matches('.'));
                    (key, DomainKey::parse(value.as_bytes()).unwrap().into())
                })
                .collect(),
        )
    }
}

impl ResolverCache<String, Txt> for Records {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        Some(
            self.0
                .get(name)
                .cloned()
                .unwrap_or(Txt::Error(mail_auth::Error::DnsRecordNotFound(
                    mail_auth::hickory_resolver::proto::op::ResponseCode::NXDomain,
                ))),
        )
    }
    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }
    fn insert(&self, _: String, _: Txt, _: Instant) {}
}

/// Each DKIM signature of `raw` as (selector, passed), verified by mail-auth
/// with only `records` as DNS.
pub fn dkim_verify(raw: &str, records: &Records) -> Vec<(String, bool)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let auth = MessageAuthenticator::new(
            ResolverConfig::from_parts(None, vec![], NameServerConfigGroup::default()),
            ResolverOpts::default(),
        )
        .unwrap();
        let msg = AuthenticatedMessage::parse(raw.as_bytes()).expect("a message");
        auth.verify_dkim(Parameters::new(&msg).with_txt_cache(records))
            .await
            .iter()
            .map(|o| {
                let sel = o.signature().map(|s| s.s.clone()).unwrap_or_default();
                (sel, *o.result() == DkimResult::Pass)
            })
            .collect()
    })
}
