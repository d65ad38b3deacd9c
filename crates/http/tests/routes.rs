//! The route table's exposures over real sockets: `sealpost_net`'s accept
//! loop and TLS, hyper, and curl as the client.

use axum::Router;
use axum::routing::get;
use sealpost_config::{HttpConfig, IpNetwork};
use sealpost_directory::{Directory, ThrottleLimits};
use sealpost_http::{Exposure, HttpServer, MailEndpoints, Routes, Site};
use sealpost_net::{
    CancellationToken, ConnLimiter, ListenerKind, TaskTracker, TlsManager, serve_listener,
};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

struct Running {
    http: SocketAddr,
    https: SocketAddr,
    cert: std::path::PathBuf,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn routes() -> Routes {
    let mut routes = Routes::new();
    routes
        .add(
            Exposure::Private,
            Router::new().route("/metrics", get(|| async { "private" })),
        )
        .add(
            Exposure::HttpsOnly,
            Router::new().route("/account", get(|| async { "https only" })),
        )
        .add(
            Exposure::HttpOnly,
            Router::new().route("/plain", get(|| async { "http only" })),
        )
        .add(
            Exposure::Public,
            Router::new().route("/both", get(|| async { "both" })),
        );
    routes
}

fn site(dir: &Path, https_port: u16) -> Site {
    let directory = Directory::load(
        &dir.join("accounts.toml"),
        vec!["example.org".into()],
        ThrottleLimits {
            per_ip: 20,
            per_account: 10,
            window: Duration::from_secs(900),
        },
    )
    .unwrap();
    let endpoints = MailEndpoints::from_listeners(
        "mail.example.org",
        &[(
            ListenerKind::Https,
            SocketAddr::from(([127, 0, 0, 1], https_port)),
        )],
    );
    Site::new(directory, endpoints, Default::default())
}

async fn start(private_from: Vec<IpNetwork>) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let (tls, _) =
        TlsManager::load_or_generate(&cert, &dir.path().join("key.pem"), "mail.example.org")
            .unwrap();
    let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (http, https) = (
        http_listener.local_addr().unwrap(),
        https_listener.local_addr().unwrap(),
    );
    let config = HttpConfig {
        private_from,
        ..HttpConfig::default()
    };
    let server = Arc::new(HttpServer::new(
        &config,
        &site(dir.path(), https.port()),
        routes(),
    ));
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let limiter = ConnLimiter::new(64, 16);
    for (listener, kind) in [
        (http_listener, ListenerKind::Http),
        (https_listener, ListenerKind::Https),
    ] {
        tokio::spawn(serve_listener(
            listener,
            kind,
            tls.clone(),
            limiter.clone(),
            Duration::from_secs(10),
            server.clone(),
            shutdown.clone(),
            tracker.clone(),
        ));
    }
    Running {
        http,
        https,
        cert,
        shutdown,
        _dir: dir,
    }
}

/// (status, body, Location) of a GET with curl.
async fn get_with_curl(url: String, cert: &Path, resolve: Option<String>) -> (u16, String) {
    let cert = cert.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new("curl");
        cmd.args(["--silent", "--max-time", "20", "--cacert"])
            .arg(&cert)
            .args(["--write-out", "\n%{http_code}"]);
        if let Some(r) = resolve {
            cmd.args(["--resolve", &r]);
        }
        let out = cmd.arg(&url).output().expect("curl must be installed");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.parse().unwrap(), body.to_string())
    })
    .await
    .unwrap()
}

impl Running {
    async fn http(&self, path: &str) -> (u16, String) {
        get_with_curl(format!("http://{}{path}", self.http), &self.cert, None).await
    }

    async fn https(&self, path: &str) -> (u16, String) {
        let resolve = format!("mail.example.org:{}:127.0.0.1", self.https.port());
        let url = format!("https://mail.example.org:{}{path}", self.https.port());
        get_with_curl(url, &self.cert, Some(resolve)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_exposure_is_served_where_it_belongs() {
    let s = start(HttpConfig::default().private_from).await;
    assert_eq!(s.http("/both").await, (200, "both".into()));
    assert_eq!(s.https("/both").await, (200, "both".into()));
    assert_eq!(s.http("/plain").await, (200, "http only".into()));
    assert_eq!(s.https("/plain").await.0, 404);
    assert_eq!(s.https("/account").await, (200, "https only".into()));
    // Loopback is in private_from by default.
    assert_eq!(s.http("/metrics").await, (200, "private".into()));
    assert_eq!(s.https("/metrics").await, (200, "private".into()));
    assert_eq!(s.https("/nothing").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_routes_are_hidden_from_other_networks() {
    let s = start(vec!["10.0.0.0/8".parse().unwrap()]).await;
    assert_eq!(s.http("/metrics").await.0, 404);
    assert_eq!(s.https("/metrics").await.0, 404);
    assert_eq!(s.https("/both").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_only_routes_redirect_from_http_for_our_names() {
    let s = start(HttpConfig::default().private_from).await;
    let url = format!("http://{}/account?x=1", s.http);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["--silent", "--max-time", "20", "-o", "/dev/null"])
            .args([
                "-H",
                "Host: mail.example.org",
                "--write-out",
                "%{http_code} %{redirect_url}",
            ])
            .arg(url)
            .output()
            .expect("curl must be installed")
    })
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "308 https://mail.example.org:{}/account?x=1",
            s.https.port()
        )
    );
}

#[test]
#[should_panic]
fn two_routers_claiming_one_path_on_a_listener_fail_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut routes = Routes::new();
    routes
        .add(
            Exposure::Public,
            Router::new().route("/x", get(|| async { "a" })),
        )
        .add(
            Exposure::HttpsOnly,
            Router::new().route("/x", get(|| async { "b" })),
        );
    let _ = HttpServer::new(&HttpConfig::default(), &site(dir.path(), 443), routes);
}
