//! What every built-in route needs to know about this server: its name,
//! its hosted domains (live, from the directory: a domain added while the
//! server runs is answered for at once), its listeners and its policy.

use crate::MailEndpoints;
use sealpost_config::MtaStsConfig;
use sealpost_directory::Directory;
use std::sync::Arc;

/// Labels in front of a hosted domain that name this server's web services
/// (`autoconfig.example.org`, `mta-sts.example.org`, ...).
pub const SERVICE_LABELS: [&str; 3] = ["autoconfig", "autodiscover", "mta-sts"];

/// The server as the HTTP routes see it. Cheap to clone.
#[derive(Clone)]
pub struct Site {
    inner: Arc<Inner>,
}

struct Inner {
    directory: Directory,
    endpoints: MailEndpoints,
    mta_sts: MtaStsConfig,
}

impl Site {
    /// A site over the live directory and the bound listeners.
    pub fn new(directory: Directory, endpoints: MailEndpoints, mta_sts: MtaStsConfig) -> Site {
        Site {
            inner: Arc::new(Inner {
                directory,
                endpoints,
                mta_sts,
            }),
        }
    }

    /// The advertised mail services.
    pub fn endpoints(&self) -> &MailEndpoints {
        &self.inner.endpoints
    }

    /// The MTA-STS policy settings.
    pub fn mta_sts(&self) -> &MtaStsConfig {
        &self.inner.mta_sts
    }

    /// The mail host name.
    pub fn hostname(&self) -> &str {
        &self.inner.endpoints.hostname
    }

    /// Whether `domain` (lower case) is hosted here now.
    pub fn is_hosted(&self, domain: &str) -> bool {
        self.inner.directory.is_local_domain(domain)
    }

    /// The hosted domains now, sorted.
    pub fn domains(&self) -> Vec<String> {
        self.inner.directory.domains()
    }

    /// The hosted domain a host name stands for: the domain itself or one of
    /// its service names (`autoconfig.D`, `autodiscover.D`, `mta-sts.D`).
    pub fn domain_of_host(&self, host: &str) -> Option<String> {
        if self.is_hosted(host) {
            return Some(host.to_string());
        }
        let (label, rest) = host.split_once('.')?;
        (SERVICE_LABELS.contains(&label) && self.is_hosted(rest)).then(|| rest.to_string())
    }

    /// Whether requests for `host` are ours to answer (the mail host name,
    /// a hosted domain or one of its service names).
    pub fn serves_host(&self, host: &str) -> bool {
        host == self.hostname() || self.domain_of_host(host).is_some()
    }
}
