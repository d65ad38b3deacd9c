//! The operator's routes on the HTTP listeners: Prometheus `/metrics`,
//! `/healthz` and `/readyz`, registered under `Exposure::Private` (only
//! clients in `[http] private_from`, loopback by default, get an answer;
//! others get `404`).
//!
//! - `/metrics`: the text exposition (format 0.0.4) of every metric
//!   (`sealpost_telemetry::metrics`); counters move where things happen,
//!   gauges of state (queue size and oldest age, store octets, messages and
//!   accounts, the audit writer, throttled addresses) are sampled here, at
//!   scrape time.
//! - `/healthz`: `200 ok` while the process answers at all.
//! - `/readyz`: `200` when the store answers and data_dir takes a durable
//!   write, the audit writer is writing, and every configured listener is
//!   bound and accepting; otherwise `503` naming what is not. One line per
//!   check either way.
//!
//! Uses `services` (see the module order in `main.rs`).

use crate::services::Services;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use sealpost_telemetry::metrics as m;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the routes read.
#[derive(Clone)]
pub struct Health {
    services: Services,
    /// Set once every listener accepts.
    listening: Arc<AtomicBool>,
}

impl Health {
    pub fn new(services: &Services) -> Health {
        Health {
            services: services.clone(),
            listening: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Every configured listener is bound and accepting.
    pub fn listeners_accepting(&self) {
        self.listening.store(true, Ordering::Relaxed);
    }

    /// The routes (state attached), for `Exposure::Private`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .with_state(self.clone())
    }
}

async fn metrics(State(health): State<Health>) -> impl IntoResponse {
    let s = health.services.clone();
    let _ = tokio::task::spawn_blocking(move || sample(&s)).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m::render(),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(health): State<Health>) -> (StatusCode, String) {
    let s = health.services.clone();
    let store = tokio::task::spawn_blocking(move || store_ready(&s))
        .await
        .unwrap_or_else(|_| Err("check panicked".into()));
    let audit = match health.services.audit.health() {
        Some(h) if !h.writing => Err("stopped after a write failure".to_string()),
        _ => Ok(()),
    };
    let listeners = if health.listening.load(Ordering::Relaxed) {
        Ok(())
    } else {
        Err("not all bound yet".to_string())
    };
    let mut body = String::new();
    let mut ready = true;
    for (name, r) in [("store", store), ("audit", audit), ("listeners", listeners)] {
        match r {
            Ok(()) => body.push_str(&format!("{name} ok\n")),
            Err(e) => {
                ready = false;
                body.push_str(&format!("{name} not ready: {e}\n"));
            }
        }
    }
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, body)
}

/// The store answers and data_dir takes a durable write (a full disk or a
/// read-only remount fails here before a client's `250` would).
fn store_ready(s: &Services) -> Result<(), String> {
    s.store.accounts().map_err(|e| e.to_string())?;
    let probe = s.config.server.data_dir.join(".ready-probe");
    sealpost_durable::write(&probe, b"ready\n").map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Sets the gauges of state.
fn sample(s: &Services) {
    let now = chrono::Utc::now().timestamp();
    if let Some(queue) = &s.queue
        && let Ok(entries) = queue.list()
    {
        m::gauge!(m::QUEUE_MESSAGES).set(entries.len() as f64);
        let oldest = entries.iter().map(|e| e.created).min();
        m::gauge!(m::QUEUE_OLDEST_SECONDS).set(oldest.map_or(0, |t| (now - t).max(0)) as f64);
    }
    if let Ok(records) = s.store.accounts() {
        let (mut active, mut deleted, mut bytes, mut messages) = (0u64, 0u64, 0u64, 0u64);
        for r in records {
            if r.state != sealpost_store::AccountState::Active {
                deleted += 1;
                continue;
            }
            active += 1;
            if let Ok(u) = s.store.quota(r.id) {
                bytes += u.bytes;
                messages += u.messages;
            }
        }
        m::gauge!(m::STORE_ACCOUNTS, "state" => "active").set(active as f64);
        m::gauge!(m::STORE_ACCOUNTS, "state" => "deleted").set(deleted as f64);
        m::gauge!(m::STORE_BYTES).set(bytes as f64);
        m::gauge!(m::STORE_MESSAGES).set(messages as f64);
    }
    let audit = s.audit.health();
    m::gauge!(m::AUDIT_WRITING).set(if audit.is_some_and(|h| h.writing) {
        1.0
    } else {
        0.0
    });
    if let Some(h) = audit {
        m::gauge!(m::AUDIT_UNATTESTED_SECONDS).set(h.unattested_age_ms as f64 / 1000.0);
        m::gauge!(m::AUDIT_LAST_ATTESTED)
            .set(h.last_attested_ms.map_or(0.0, |t| t as f64 / 1000.0));
    }
    let (addresses, accounts) = s.directory.throttled();
    m::gauge!(m::THROTTLED, "kind" => "address").set(addresses as f64);
    m::gauge!(m::THROTTLED, "kind" => "account").set(accounts as f64);
}
