//! Certificates from an ACME CA (RFC 8555), kept fresh while the server runs.
//!
//! What sealpost keeps ([`wanted`]): a main certificate for
//! `server.hostname` plus `acme.names`, and one certificate per hosted
//! domain for `acme.domain_names` in front of it (`mta-sts.D`,
//! `autoconfig.D` by default). Separate orders mean one domain whose DNS
//! does not point here yet never keeps the others, nor the mail host
//! name, from their certificates.
//!
//! The [`AcmeTask`] checks every `acme.check_interval_secs`; a certificate
//! that is missing, lacks a name, or expires within
//! `acme.renew_before_days` is ordered ([`order`]). A new certificate is
//! written (key and chain in one file, 0600, rename) and swapped into
//! every listener at once through `sealpost_net::TlsManager`
//! (`switch_to` for the main one, `set_named` for a domain's): new
//! handshakes use it, open connections keep theirs. A failed order is
//! logged on one line with the CA's problem detail and retried after
//! `acme.retry_initial_secs`, doubling up to `acme.retry_max_secs`; the
//! certificate already in place keeps serving.
//!
//! Validation: HTTP-01 tokens are answered from [`Http01Challenges`] by
//! [`http01_routes`] on the HTTP listener; TLS-ALPN-01 certificates are
//! handed to the TLS manager, which presents them to clients offering ALPN
//! `acme-tls/1` on the HTTPS listener.

mod order;
pub mod store;

pub use order::OrderError;
pub use store::{CertId, StoredCert};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parking_lot::RwLock;
use sealpost_config::{AcmeConfig, Config};
use sealpost_directory::Directory;
use sealpost_net::{CancellationToken, TlsManager};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// HTTP-01 key authorizations by token, while an order waits for them.
#[derive(Clone, Default)]
pub struct Http01Challenges {
    tokens: Arc<RwLock<HashMap<String, String>>>,
}

impl Http01Challenges {
    /// Publishes `key_authorization` at `/.well-known/acme-challenge/TOKEN`.
    pub fn insert(&self, token: &str, key_authorization: &str) {
        self.tokens
            .write()
            .insert(token.to_string(), key_authorization.to_string());
    }

    /// Withdraws a token.
    pub fn remove(&self, token: &str) {
        self.tokens.write().remove(token);
    }

    fn get(&self, token: &str) -> Option<String> {
        self.tokens.read().get(token).cloned()
    }
}

/// `GET /.well-known/acme-challenge/{token}` (RFC 8555 section 8.3), for
/// the HTTP listener ([`crate::Exposure::HttpOnly`]).
pub fn http01_routes(challenges: Http01Challenges) -> Router {
    Router::new()
        .route("/.well-known/acme-challenge/{token}", get(answer))
        .with_state(challenges)
}

async fn answer(State(challenges): State<Http01Challenges>, Path(token): Path<String>) -> Response {
    match challenges.get(&token) {
        Some(key_authorization) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            key_authorization,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The certificates the config asks for, with their names, for the
/// domains hosted now.
pub fn wanted(
    config: &AcmeConfig,
    hostname: &str,
    domains: &[String],
) -> BTreeMap<CertId, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut main = vec![hostname.to_string()];
    for name in &config.names {
        if !main.contains(name) {
            main.push(name.clone());
        }
    }
    out.insert(CertId::Main, main);
    if !config.domain_names.is_empty() {
        for domain in domains {
            let names = config
                .domain_names
                .iter()
                .map(|label| format!("{label}.{domain}"))
                .collect();
            out.insert(CertId::Domain(domain.clone()), names);
        }
    }
    out
}

/// Puts every stored, readable certificate into service (at start-up,
/// before the first connection), so a restart serves the ACME certificates
/// at once instead of the `[tls]` ones. Returns how many were installed.
pub fn install_stored(config: &Config, tls: &TlsManager, domains: &[String]) -> usize {
    let Some(dir) = config.acme.dir.as_deref() else {
        return 0;
    };
    let mut installed = 0;
    for (id, names) in wanted(&config.acme, &config.server.hostname, domains) {
        let file = id.file(dir);
        if !file.exists() {
            continue;
        }
        match install(tls, &id, &names, &file) {
            Ok(()) => installed += 1,
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "stored ACME certificate not used")
            }
        }
    }
    installed
}

fn install(
    tls: &TlsManager,
    id: &CertId,
    names: &[String],
    file: &std::path::Path,
) -> Result<(), sealpost_net::TlsError> {
    match id {
        CertId::Main => tls.switch_to(file, file),
        CertId::Domain(_) => tls.set_named(names, file, file),
    }
}

/// Retry state of one certificate after failures.
struct Backoff {
    next_attempt: Instant,
    delay: Duration,
}

/// The renewal task of a running server.
pub struct AcmeTask {
    config: AcmeConfig,
    dir: PathBuf,
    hostname: String,
    directory: Directory,
    tls: TlsManager,
    challenges: Http01Challenges,
}

impl AcmeTask {
    /// A task for `config` (which must have `acme.enabled`), answering
    /// HTTP-01 through `challenges` and swapping certificates into `tls`.
    pub fn new(
        config: &Config,
        directory: Directory,
        tls: TlsManager,
        challenges: Http01Challenges,
    ) -> AcmeTask {
        AcmeTask {
            dir: config
                .acme
                .dir
                .clone()
                .unwrap_or_else(|| config.server.data_dir.join("acme")),
            config: config.acme.clone(),
            hostname: config.server.hostname.clone(),
            directory,
            tls,
            challenges,
        }
    }

    /// Runs until `shutdown`: checks at once, then every check interval.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff: HashMap<CertId, Backoff> = HashMap::new();
        let mut account: Option<instant_acme::Account> = None;
        let every = Duration::from_secs(self.config.check_interval_secs);
        loop {
            let pass = self.pass(&mut account, &mut backoff);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                () = pass => {}
            }
            let now = Instant::now();
            let next = backoff
                .values()
                .map(|b| b.next_attempt.saturating_duration_since(now))
                .fold(every, Duration::min);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(next) => {}
            }
        }
    }

    /// One look at every wanted certificate.
    async fn pass(
        &self,
        account: &mut Option<instant_acme::Account>,
        backoff: &mut HashMap<CertId, Backoff>,
    ) {
        let domains = self.directory.domains();
        let wanted = wanted(&self.config, &self.hostname, &domains);
        // Domains no longer hosted: stop presenting their certificates.
        for file in self.tls.named_sources() {
            let still = wanted.keys().any(|id| id.file(&self.dir) == file);
            if !still {
                self.tls.clear_named(&file);
            }
        }
        backoff.retain(|id, _| wanted.contains_key(id));
        let renew_before = Duration::from_secs(self.config.renew_before_days * 86400);
        for (id, names) in wanted {
            if backoff
                .get(&id)
                .is_some_and(|b| b.next_attempt > Instant::now())
            {
                continue;
            }
            let file = id.file(&self.dir);
            let stored = store::inspect(&file);
            let due = stored
                .as_ref()
                .is_none_or(|s| s.needs_renewal(&names, renew_before, SystemTime::now()));
            if !due {
                continue;
            }
            let attempt = async {
                if account.is_none() {
                    *account = Some(order::account(&self.config, &self.dir).await?);
                }
                let account = account.as_ref().expect("set above");
                let (key_pem, chain_pem) = order::obtain(
                    account,
                    &names,
                    self.config.challenge,
                    &self.challenges,
                    &self.tls,
                )
                .await?;
                let mut pem = key_pem.into_bytes();
                if !pem.ends_with(b"\n") {
                    pem.push(b'\n');
                }
                pem.extend_from_slice(chain_pem.as_bytes());
                sealpost_net::write_private_durable(&file, &pem)
                    .map_err(|e| OrderError::Local(e.to_string()))?;
                install(&self.tls, &id, &names, &file)
                    .map_err(|e| OrderError::Local(e.to_string()))?;
                Ok::<_, OrderError>(())
            };
            match tokio::time::timeout(Duration::from_secs(300), attempt).await {
                Ok(Ok(())) => {
                    backoff.remove(&id);
                    let new = store::inspect(&file);
                    tracing::info!(
                        names = %names.join(","),
                        serial = new.as_ref().map(|c| c.serial.as_str()).unwrap_or("?"),
                        expires = new.as_ref().map(|c| c.expires.as_str()).unwrap_or("?"),
                        renewed = stored.is_some(),
                        file = %file.display(),
                        "ACME certificate installed on every listener"
                    );
                }
                result => {
                    let error = match result {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out after 300 s".to_string(),
                    };
                    // Next attempt reloads the account (and the CA's directory).
                    *account = None;
                    let initial = Duration::from_secs(self.config.retry_initial_secs);
                    let max = Duration::from_secs(self.config.retry_max_secs);
                    let entry = backoff.entry(id.clone()).or_insert(Backoff {
                        next_attempt: Instant::now(),
                        delay: initial / 2,
                    });
                    entry.delay = (entry.delay * 2).clamp(initial, max);
                    entry.next_attempt = Instant::now() + entry.delay;
                    tracing::warn!(
                        names = %names.join(","),
                        retry_in_secs = entry.delay.as_secs(),
                        error = %error,
                        "ACME order failed; the current certificate stays in use"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_and_per_domain_certificates() {
        let mut c = AcmeConfig {
            names: vec!["imap.example.org".into(), "mail.example.org".into()],
            ..AcmeConfig::default()
        };
        let w = wanted(
            &c,
            "mail.example.org",
            &["example.org".into(), "example.net".into()],
        );
        assert_eq!(
            w[&CertId::Main],
            vec!["mail.example.org", "imap.example.org"]
        );
        assert_eq!(
            w[&CertId::Domain("example.net".into())],
            vec!["mta-sts.example.net", "autoconfig.example.net"]
        );
        assert_eq!(w.len(), 3);
        c.domain_names.clear();
        assert_eq!(wanted(&c, "m.example", &["example.org".into()]).len(), 1);
    }
}
