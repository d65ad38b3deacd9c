//! One certificate order (RFC 8555 section 7.4) through instant-acme: new
//! order, one challenge per authorization (HTTP-01, section 8.3, or
//! TLS-ALPN-01, RFC 8737), wait until ready, finalize with a fresh P-256
//! key, download the chain.
//!
//! The account (section 7.3) is created on first use and kept in
//! `acme.dir`; later runs load it. The HTTP client trusts the system's
//! roots plus `acme.ca_file`, over rustls with the ring provider like the
//! rest of sealpost.

use super::Http01Challenges;
use super::store::account_file;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, ChallengeType, Identifier,
    NewAccount, NewOrder, OrderStatus, Problem, RetryPolicy,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use sealpost_config::{AcmeChallenge, AcmeConfig};
use sealpost_net::TlsManager;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Why an order failed, in one line (the CA's problem document when it sent one).
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The CA answered with a problem (RFC 7807 / RFC 8555 section 6.7).
    #[error("{0}")]
    Problem(String),
    /// The CA could not be reached or answered nonsense.
    #[error("{0}")]
    Transport(String),
    /// A local file could not be read or written.
    #[error("{0}")]
    Local(String),
}

impl From<instant_acme::Error> for OrderError {
    fn from(e: instant_acme::Error) -> Self {
        match e {
            instant_acme::Error::Api(p) => OrderError::Problem(problem_line(&p)),
            other => OrderError::Transport(one_line(&with_sources(&other))),
        }
    }
}

/// An error and its sources, `outer: inner: ...` (hyper's "client error
/// (Connect)" says nothing without them).
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `type: detail` of a problem, with its subproblems, on one line.
fn problem_line(p: &Problem) -> String {
    let kind = p
        .r#type
        .as_deref()
        .map(|t| t.trim_start_matches("urn:ietf:params:acme:error:"))
        .unwrap_or("problem");
    let mut line = format!("{kind}: {}", p.detail.as_deref().unwrap_or("(no detail)"));
    for sub in &p.subproblems {
        line.push_str(&format!("; {sub}"));
    }
    one_line(&line)
}

/// The HTTP client for the CA: system roots plus `ca_file`.
fn http_client(config: &AcmeConfig) -> Result<Box<dyn instant_acme::HttpClient>, OrderError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(file) = &config.ca_file {
        let pem = std::fs::read(file)
            .map_err(|e| OrderError::Local(format!("acme.ca_file {}: {e}", file.display())))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
            if roots.add(cert).is_ok() {
                added += 1;
            }
        }
        if added == 0 {
            return Err(OrderError::Local(format!(
                "acme.ca_file {}: no PEM certificate in it",
                file.display()
            )));
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| OrderError::Local(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, BodyWrapper<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    Ok(Box::new(client))
}

/// Loads the account for the configured directory, or creates it (and
/// stores its key 0600).
pub(crate) async fn account(config: &AcmeConfig, dir: &Path) -> Result<Account, OrderError> {
    let file = account_file(dir, &config.directory);
    if let Ok(json) = std::fs::read(&file) {
        let credentials: AccountCredentials = serde_json::from_slice(&json)
            .map_err(|e| OrderError::Local(format!("{}: {e}", file.display())))?;
        return Ok(Account::builder_with_http(http_client(config)?)
            .from_credentials(credentials)
            .await?);
    }
    let contact: Vec<&str> = config.contact.iter().map(String::as_str).collect();
    let (account, credentials) = Account::builder_with_http(http_client(config)?)
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: config.accept_terms,
                only_return_existing: false,
            },
            config.directory.clone(),
            None,
        )
        .await?;
    let json = serde_json::to_vec(&credentials).map_err(|e| OrderError::Local(e.to_string()))?;
    sealpost_net::write_private_durable(&file, &json)
        .map_err(|e| OrderError::Local(e.to_string()))?;
    tracing::info!(directory = %config.directory, file = %file.display(), "ACME account created");
    Ok(account)
}

/// Removes what an order put up for validation, however the order ends.
struct Published<'a> {
    challenges: &'a Http01Challenges,
    tls: &'a TlsManager,
    tokens: Vec<String>,
    alpn_names: Vec<String>,
}

impl Drop for Published<'_> {
    fn drop(&mut self) {
        for token in &self.tokens {
            self.challenges.remove(token);
        }
        for name in &self.alpn_names {
            self.tls.clear_alpn_challenge(name);
        }
    }
}

/// A TLS-ALPN-01 validation certificate (RFC 8737 section 3): self-signed,
/// the one name, the critical acmeIdentifier extension holding the SHA-256
/// of the key authorization.
fn alpn_certificate(
    name: &str,
    digest: &[u8],
) -> Result<
    (
        rustls::pki_types::CertificateDer<'static>,
        rustls::pki_types::PrivateKeyDer<'static>,
    ),
    OrderError,
> {
    let local = |e: rcgen::Error| OrderError::Local(format!("validation certificate: {e}"));
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).map_err(local)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate().map_err(local)?;
    let cert = params.self_signed(&key).map_err(local)?;
    Ok((
        cert.der().clone(),
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    ))
}

/// Orders a certificate for `names`; returns (private key PEM, chain PEM).
pub(crate) async fn obtain(
    account: &Account,
    names: &[String],
    challenge: AcmeChallenge,
    challenges: &Http01Challenges,
    tls: &TlsManager,
) -> Result<(String, String), OrderError> {
    let identifiers: Vec<Identifier> = names.iter().cloned().map(Identifier::Dns).collect();
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
    let kind = match challenge {
        AcmeChallenge::Http01 => ChallengeType::Http01,
        AcmeChallenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
    };
    let mut published = Published {
        challenges,
        tls,
        tokens: Vec::new(),
        alpn_names: Vec::new(),
    };
    {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(OrderError::Problem(format!(
                        "authorization for {} is {other:?}",
                        authorization.identifier()
                    )));
                }
            }
            let name = authorization.identifier().to_string();
            let mut handle = authorization.challenge(kind.clone()).ok_or_else(|| {
                OrderError::Problem(format!(
                    "the CA offers no {} challenge for {name}",
                    challenge.as_str()
                ))
            })?;
            let key_authorization = handle.key_authorization();
            match challenge {
                AcmeChallenge::Http01 => {
                    challenges.insert(&handle.token, key_authorization.as_str());
                    published.tokens.push(handle.token.clone());
                }
                AcmeChallenge::TlsAlpn01 => {
                    let (cert, key) = alpn_certificate(&name, key_authorization.digest().as_ref())?;
                    tls.set_alpn_challenge(&name, cert, key)
                        .map_err(|e| OrderError::Local(e.to_string()))?;
                    published.alpn_names.push(name.clone());
                }
            }
            handle.set_ready().await?;
        }
    }
    let patience = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .timeout(Duration::from_secs(120));
    let status = order.poll_ready(&patience).await?;
    if status != OrderStatus::Ready {
        return Err(why_not_ready(&mut order, status).await);
    }
    drop(published);
    let key_pem = order.finalize().await?;
    let chain_pem = order.poll_certificate(&patience).await?;
    Ok((key_pem, chain_pem))
}

/// The CA's reason an order did not become ready: the order's own error,
/// else the first failed challenge's.
async fn why_not_ready(order: &mut instant_acme::Order, status: OrderStatus) -> OrderError {
    if let Some(p) = &order.state().error {
        return OrderError::Problem(problem_line(p));
    }
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authorization)) = authorizations.next().await {
        if authorization.refresh().await.is_err() {
            continue;
        }
        let name = authorization.identifier().to_string();
        for c in &authorization.challenges {
            if let Some(p) = &c.error {
                return OrderError::Problem(format!("{name}: {}", problem_line(p)));
            }
        }
    }
    OrderError::Problem(format!("order is {status:?}, not ready"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_certificate_carries_the_critical_acme_identifier() {
        let digest = [7u8; 32];
        let (cert, _) = alpn_certificate("mta-sts.example.org", &digest).unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert).unwrap();
        let ext = parsed
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier");
        assert!(ext.critical);
        // DER OCTET STRING of 32 octets: 04 20 ...
        assert_eq!(&ext.value[..2], &[0x04, 0x20]);
        assert_eq!(&ext.value[2..], &digest);
    }

    #[test]
    fn problems_are_one_line() {
        let p: Problem = serde_json::from_str(
            r#"{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Error creating new order ::\n example.net is blocked","status":400}"#,
        )
        .unwrap();
        assert_eq!(
            problem_line(&p),
            "rejectedIdentifier: Error creating new order :: example.net is blocked"
        );
    }
}
