//! Wiring of the HTTP(S) listener and the ACME task into `serve`.
//!
//! This is where routes are registered: [`routes`] starts from sealpost's
//! built-in ones; metrics/health (`health`) and the account page
//! (`account_page`, on by `[http.account] enabled`) add theirs here with
//! the `sealpost_http::Exposure` they need (see `sealpost_http::routes` for
//! which belongs where).

use crate::health::Health;
use crate::services::Services;
use sealpost_config::Config;
use sealpost_directory::Directory;
use sealpost_http::account::{self, AccountPage};
use sealpost_http::acme::{AcmeTask, Http01Challenges};
use sealpost_http::{Exposure, HttpServer, MailEndpoints, Routes, Site};
use sealpost_net::{CancellationToken, ConnLimiter, ListenerKind, TaskTracker, TlsManager};
use std::net::SocketAddr;
use std::sync::Arc;

/// What the HTTP listeners share.
pub struct Web {
    /// The handler of the `http` and `https` listeners.
    pub server: Arc<HttpServer>,
    /// Their connection caps (`[http]`), apart from the mail listeners'.
    pub limiter: ConnLimiter,
    /// HTTP-01 tokens, published by the ACME task, answered by the server.
    pub challenges: Http01Challenges,
}

/// Every route of the HTTP listeners, by exposure.
fn routes(
    site: &Site,
    challenges: &Http01Challenges,
    health: &Health,
    services: &Services,
) -> Routes {
    let mut routes = sealpost_http::builtin_routes(site, challenges);
    routes.add(Exposure::Private, health.router());
    let page = &services.config.http.account;
    if page.enabled {
        // HTTPS only: on `http` the listener's fallback redirects.
        let backend = Arc::new(crate::account_page::Backend::new(services));
        let mut account = AccountPage::new(
            page,
            services.directory.clone(),
            services.audit.clone(),
            backend,
        );
        match crate::account_page::SessionFile::open(&services.config) {
            Ok(file) => account = account.keep_sessions_in(Arc::new(file)),
            Err(e) => {
                tracing::warn!(error = %e, "account page sessions will not survive a restart")
            }
        }
        routes.add(Exposure::HttpsOnly, account::router(account));
    }
    routes
}

/// Builds the HTTP server for the listeners actually bound (their ports
/// are what autoconfig advertises).
pub fn build(
    config: &Config,
    directory: &Directory,
    bound: &[(ListenerKind, SocketAddr)],
    health: &Health,
    services: &Services,
) -> Web {
    let endpoints = MailEndpoints::from_listeners(&config.server.hostname, bound);
    let site = Site::new(directory.clone(), endpoints, config.http.mta_sts.clone());
    let challenges = Http01Challenges::default();
    let server = Arc::new(HttpServer::new(
        &config.http,
        &site,
        routes(&site, &challenges, health, services),
    ));
    if config.http.account.enabled
        && let Some(base) = site.endpoints().https_base()
    {
        tracing::info!(url = %format!("{base}/account"), "account page");
    }
    Web {
        server,
        limiter: ConnLimiter::new(
            config.http.max_connections,
            config.http.max_connections_per_ip,
        ),
        challenges,
    }
}

/// Serves the ACME certificates already on disk, before any listener
/// accepts (no-op without `[acme] enabled`).
pub fn install_stored_certificates(config: &Config, tls: &TlsManager, directory: &Directory) {
    if !config.acme.enabled {
        return;
    }
    let n = sealpost_http::acme::install_stored(config, tls, &directory.domains());
    if n > 0 {
        tracing::info!(certificates = n, "serving stored ACME certificates");
    }
}

/// Starts the ACME task (no-op without `[acme] enabled`).
pub fn spawn_acme(
    config: &Config,
    directory: &Directory,
    tls: &TlsManager,
    web: &Web,
    shutdown: &CancellationToken,
    tracker: &TaskTracker,
) {
    if !config.acme.enabled {
        return;
    }
    let task = AcmeTask::new(
        config,
        directory.clone(),
        tls.clone(),
        web.challenges.clone(),
    );
    tracker.spawn(task.run(shutdown.clone()));
}
