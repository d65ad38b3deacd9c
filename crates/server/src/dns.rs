//! `sealpost dns DOMAIN [--check]`: every DNS record a hosted domain needs,
//! in zone-file syntax, and whether each is published.
//!
//! The records: MX to `server.hostname`; SPF (`v=spf1 mx -all`, RFC 7208);
//! one DKIM TXT per `[[smtp.dkim]]` selector of the domain, signing or
//! published only (RFC 6376 3.6.1); DMARC with a `rua` to postmaster
//! (RFC 7489); MTA-STS `_mta-sts` with the served policy's id (RFC 8461
//! 3.1); TLS-RPT `_smtp._tls` (RFC 8460 3); SRV for clients (RFC 6186,
//! RFC 8314 5.1: `_imaps`, `_submissions`, `_pop3s`, `_imap`,
//! `_submission`, `_pop3`, with target "." where the port is not offered);
//! `mta-sts`, `autoconfig` and `autodiscover` names; and TLSA `3 1 1`
//! (DANE-EE, SPKI, SHA-256; RFC 7671 5.1) for the SMTP port when the key
//! stays the same across certificates (not with ACME, which makes a new key
//! for each).
//!
//! `--check` looks each one up through `[smtp.dns]` (static records first,
//! then the resolver) and prints `present`, `missing` or `different` (with
//! what was found) per record; the exit code is 1 unless all are present.
//! A TXT record is "different" when a record of the same kind (`v=spf1`,
//! `v=DKIM1`...) is there with other content; MX when the domain's MX are
//! other hosts; the other types when any record of the type is there.

use crate::startup::{Failure, load_config};
use sealpost_config::{Config, SmtpConfig};
use std::path::Path;

/// One record to publish.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// Owner name, fully qualified with the final dot.
    name: String,
    rtype: &'static str,
    /// The data as a zone file writes it (TXT unquoted).
    data: String,
}

impl Record {
    fn new(name: String, rtype: &'static str, data: impl Into<String>) -> Record {
        Record {
            name: format!("{}.", name.trim_end_matches('.')),
            rtype,
            data: data.into(),
        }
    }

    /// The zone-file line; TXT data quoted and cut into strings of at most
    /// 255 octets (RFC 1035 3.3.14).
    pub(crate) fn line(&self) -> String {
        let data = if self.rtype == "TXT" {
            self.data
                .as_bytes()
                .chunks(255)
                .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            self.data.clone()
        };
        format!("{} 3600 IN {} {}", self.name, self.rtype, data)
    }
}

/// Every record `domain` needs, with comments for what was left out.
fn records(config: &Config, domain: &str) -> Result<(Vec<Record>, Vec<String>), Failure> {
    let host = format!("{}.", config.server.hostname.trim_end_matches('.'));
    let d = domain;
    let mut out = vec![
        Record::new(d.into(), "MX", format!("10 {host}")),
        Record::new(d.into(), "TXT", "v=spf1 mx -all"),
    ];
    let mut notes = Vec::new();
    for k in config
        .smtp
        .dkim
        .iter()
        .filter(|k| k.domain.eq_ignore_ascii_case(d))
    {
        let path = SmtpConfig::resolve_path(&config.path, &k.key);
        let pem = std::fs::read(&path)
            .map_err(|e| Failure::runtime(format!("DKIM key {}: {e}", path.display())))?;
        let txt = sealpost_smtp::dkim::public_record(k.algorithm, &pem)
            .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
        out.push(Record::new(
            format!("{}._domainkey.{d}", k.selector),
            "TXT",
            txt,
        ));
    }
    out.push(Record::new(
        format!("_dmarc.{d}"),
        "TXT",
        format!("v=DMARC1; p=quarantine; rua=mailto:postmaster@{d}"),
    ));
    out.push(Record::new(
        format!("_mta-sts.{d}"),
        "TXT",
        format!(
            "v=STSv1; id={}",
            sealpost_http::mta_sts::policy_id(&config.http.mta_sts)
        ),
    ));
    out.push(Record::new(
        format!("_smtp._tls.{d}"),
        "TXT",
        format!("v=TLSRPTv1; rua=mailto:postmaster@{d}"),
    ));
    let l = &config.listen;
    for (service, addrs) in [
        ("_imaps", &l.imaps),
        ("_submissions", &l.submissions),
        ("_pop3s", &l.pop3s),
        ("_imap", &l.imap),
        ("_submission", &l.submission),
        ("_pop3", &l.pop3),
    ] {
        let data = match addrs.first() {
            Some(a) => format!("0 1 {} {host}", a.port()),
            None => "0 0 0 .".to_string(),
        };
        out.push(Record::new(format!("{service}._tcp.{d}"), "SRV", data));
    }
    for label in ["mta-sts", "autoconfig", "autodiscover"] {
        out.push(Record::new(format!("{label}.{d}"), "CNAME", host.clone()));
    }
    match (config.acme.enabled, config.listen.smtp.first()) {
        (true, _) => {
            notes.push("TLSA left out: ACME makes a new key with every certificate".into())
        }
        (false, None) => notes.push("TLSA left out: no smtp listener".into()),
        (false, Some(a)) => {
            let pem = std::fs::read(&config.tls.cert)
                .map_err(|e| Failure::runtime(format!("{}: {e}", config.tls.cert.display())))?;
            out.push(Record::new(
                format!("_{}._tcp.{}", a.port(), config.server.hostname),
                "TLSA",
                format!("3 1 1 {}", spki_sha256(&pem)?),
            ));
        }
    }
    Ok((out, notes))
}

/// SHA-256 of the first certificate's SubjectPublicKeyInfo, hex.
fn spki_sha256(pem: &[u8]) -> Result<String, Failure> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use sha2::Digest;
    let der = CertificateDer::pem_slice_iter(pem)
        .next()
        .ok_or_else(|| Failure::runtime("no certificate in the [tls] cert file"))?
        .map_err(|e| Failure::runtime(format!("[tls] cert: {e}")))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| Failure::runtime(format!("[tls] cert: {e}")))?;
    Ok(hex::encode(sha2::Sha256::digest(cert.public_key().raw)))
}

/// What `--check` found for one record.
enum Found {
    Present,
    Missing,
    Different(Vec<String>),
}

/// Compares what was found with what should be there.
fn judge(r: &Record, found: &[String]) -> Found {
    let norm = |s: &str| -> String {
        let s: String = if r.rtype == "TXT" {
            s.chars().filter(|c| !c.is_whitespace()).collect()
        } else {
            s.split_whitespace()
                .map(|t| t.trim_end_matches('.').to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(" ")
        };
        s.trim_end_matches(';').to_string()
    };
    let want = norm(&r.data);
    if found.iter().any(|f| norm(f) == want) {
        return Found::Present;
    }
    let kind = |s: &str| {
        let s = s.trim_start();
        s.split([';', ' '])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let related: Vec<String> = found
        .iter()
        .filter(|f| r.rtype != "TXT" || kind(f) == kind(&r.data))
        .cloned()
        .collect();
    if related.is_empty() {
        Found::Missing
    } else {
        Found::Different(related)
    }
}

/// Looks each of `records` up (through `[smtp.dns]`) and judges it.
fn look_up(config: &Config, records: &[Record]) -> Result<Vec<Found>, Failure> {
    let lookup =
        sealpost_smtp::lookup::DnsLookup::new(&config.smtp).map_err(|e| Failure::runtime(e.0))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::runtime)?;
    let mut out = Vec::new();
    for r in records {
        let found = rt
            .block_on(lookup.records(&r.name, r.rtype))
            .map_err(|e| Failure::runtime(format!("lookup of {} {}: {e}", r.name, r.rtype)))?;
        out.push(judge(r, &found));
    }
    Ok(out)
}

/// The DKIM TXT records of `selectors` of `domain` (`dkim rotate` prints
/// them, `dkim activate` checks them).
pub(crate) fn dkim_records(
    config: &Config,
    domain: &str,
    selectors: &[String],
) -> Result<Vec<Record>, Failure> {
    let (all, _) = records(config, domain)?;
    Ok(all
        .into_iter()
        .filter(|r| {
            r.rtype == "TXT"
                && selectors
                    .iter()
                    .any(|s| r.name == format!("{s}._domainkey.{domain}."))
        })
        .collect())
}

/// Of `records`, those not published as they should be: one line each
/// (`missing NAME` or `different NAME: found ...`).
pub(crate) fn unpublished(config: &Config, records: &[Record]) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for (r, found) in records.iter().zip(look_up(config, records)?) {
        match found {
            Found::Present => {}
            Found::Missing => out.push(format!("missing {}", r.name)),
            Found::Different(f) => {
                out.push(format!("different {}: found {}", r.name, f.join(" | ")))
            }
        }
    }
    Ok(out)
}

pub fn run(path: &Path, domain: &str, check: bool) -> Result<(), Failure> {
    let config = load_config(path)?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if !config.is_local_domain(&domain) {
        return Err(Failure::runtime(format!(
            "{domain} is not hosted here (sealpost domain add {domain})"
        )));
    }
    let (records, notes) = records(&config, &domain)?;
    if !check {
        println!("; DNS records for {domain}, to publish in its zone");
        println!(
            "; {} needs A/AAAA records of this server",
            config.server.hostname
        );
        for n in notes {
            println!("; {n}");
        }
        for r in &records {
            println!("{}", r.line());
        }
        return Ok(());
    }
    let mut bad = 0;
    for (r, found) in records.iter().zip(look_up(&config, &records)?) {
        match found {
            Found::Present => println!("present   {} {}", r.name, r.rtype),
            Found::Missing => {
                bad += 1;
                println!("missing   {}", r.line());
            }
            Found::Different(f) => {
                bad += 1;
                println!("different {} {}: found {}", r.name, r.rtype, f.join(" | "));
                println!("          want  {}", r.line());
            }
        }
    }
    if bad > 0 {
        return Err(Failure::runtime(format!(
            "{bad} of {} records of {domain} are missing or different",
            records.len()
        )));
    }
    println!("all {} records of {domain} are published", records.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_data_is_cut_into_strings_of_255_octets() {
        let long = "p".repeat(300);
        let line = Record::new("s._domainkey.example.org".into(), "TXT", long).line();
        let want = format!(
            "s._domainkey.example.org. 3600 IN TXT \"{}\" \"{}\"",
            "p".repeat(255),
            "p".repeat(45)
        );
        assert_eq!(line, want);
    }

    #[test]
    fn found_records_are_judged_by_kind() {
        let spf = Record::new("example.org".into(), "TXT", "v=spf1 mx -all");
        let other_txt = vec!["google-site-verification=x".to_string()];
        assert!(matches!(judge(&spf, &other_txt), Found::Missing));
        let spaced = vec!["v=spf1  mx   -all".to_string()];
        assert!(matches!(judge(&spf, &spaced), Found::Present));
        let wrong = vec!["v=spf1 a -all".to_string(), "x=1".to_string()];
        match judge(&spf, &wrong) {
            Found::Different(f) => assert_eq!(f, vec!["v=spf1 a -all".to_string()]),
            _ => panic!("not different"),
        }
        let srv = Record::new(
            "_imaps._tcp.example.org".into(),
            "SRV",
            "0 1 993 Mail.Example.org.",
        );
        assert!(matches!(
            judge(&srv, &["0 1 993 mail.example.org".into()]),
            Found::Present
        ));
        assert!(matches!(judge(&srv, &[]), Found::Missing));
    }
}
