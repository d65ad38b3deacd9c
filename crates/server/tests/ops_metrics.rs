//! Prometheus metrics and health checks through the real binary: curl
//! scrapes `/metrics` on the HTTP listener after real traffic, the values
//! moved, and `promtool check metrics` (Debian's `prometheus` package;
//! the test fails without it) accepts the exposition; `/healthz` and
//! `/readyz` answer on loopback.

mod common;
mod smtp_support;

use common::{Server, Site};
use serde_json::json;
use smtp_support::{count, submit, submit_as_alice};
use std::io::Write;
use std::process::{Command, Stdio};

fn site() -> Site {
    let site = Site::with_listeners(&["http"], "");
    site.add_account("alice@example.org");
    site.add_account("bob@example.net");
    site
}

/// `curl -s -w '%{http_code}'` on the HTTP listener: (status, body).
fn curl(server: &Server, path: &str) -> (u16, String) {
    let url = format!("http://{}{path}", server.addr("http"));
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20", "-w", "\n%{http_code}", &url])
        .output()
        .expect("curl must be installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_string())
}

/// The value of the sample `name{labels}` (labels as exposed, in order;
/// `""` for none), if present.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let key = if labels.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{labels}}}")
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(&key)?.strip_prefix(' ')?.trim().parse().ok())
}

fn promtool(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (Debian package prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn metrics_move_with_traffic_and_pass_promtool() {
    let site = site();
    let server = site.start();
    let (code, before) = curl(&server, "/metrics");
    assert_eq!(code, 200, "{before}");
    let logins = |t: &str, r: &str| {
        sample(
            t,
            "sealpost_logins_total",
            &format!("protocol=\"submission\",result=\"{r}\""),
        )
        .unwrap_or(0.0)
    };
    submit_as_alice(&site, &server, "submissions", "bob@example.net", "metrics");
    let r = submit(
        &site,
        &server,
        "submissions",
        json!({"user": "alice@example.org", "password": "wrong", "from": "alice@example.org", "to": ["bob@example.net"]}),
    );
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(count(&site, &server, "bob@example.net", "metrics"), 1);
    let (code, after) = curl(&server, "/metrics");
    assert_eq!(code, 200);
    assert_eq!(
        logins(&after, "success") - logins(&before, "success"),
        1.0,
        "{after}"
    );
    // smtplib tries its next mechanism after a refusal: one or two failures.
    assert!(
        logins(&after, "failure") - logins(&before, "failure") >= 1.0,
        "{after}"
    );
    assert!(
        sample(
            &after,
            "sealpost_logins_total",
            "protocol=\"imap\",result=\"success\""
        )
        .unwrap()
            >= 1.0
    );
    for outcome in ["accepted", "delivered"] {
        let v = sample(
            &after,
            "sealpost_messages_total",
            &format!("outcome=\"{outcome}\""),
        );
        assert_eq!(v, Some(1.0), "{outcome}: {after}");
    }
    assert!(
        sample(
            &after,
            "sealpost_connections_total",
            "protocol=\"submissions\""
        )
        .unwrap()
            >= 2.0
    );
    assert!(sample(&after, "sealpost_connections_total", "protocol=\"imaps\"").unwrap() >= 1.0);
    // Command latency histograms: the DATA's end was timed once, in one
    // bucket family with +Inf, sum and count.
    assert_eq!(
        sample(
            &after,
            "sealpost_command_duration_seconds_count",
            "protocol=\"submission\",command=\"DATA_END\""
        ),
        Some(1.0),
        "{after}"
    );
    assert!(after.contains("sealpost_command_duration_seconds_bucket{protocol=\"imap\",command=\"LOGIN\",le=\"+Inf\"}")
        || after.contains("sealpost_command_duration_seconds_bucket{protocol=\"imap\",command=\"AUTHENTICATE\",le=\"+Inf\"}"), "{after}");
    // State sampled at the scrape.
    assert_eq!(
        sample(&after, "sealpost_store_messages", ""),
        Some(1.0),
        "{after}"
    );
    assert!(sample(&after, "sealpost_store_bytes", "").unwrap() > 0.0);
    assert_eq!(
        sample(&after, "sealpost_store_accounts", "state=\"active\""),
        Some(2.0)
    );
    assert_eq!(sample(&after, "sealpost_queue_messages", ""), Some(0.0));
    assert_eq!(sample(&after, "sealpost_audit_writing", ""), Some(1.0));
    assert!(sample(&after, "sealpost_audit_records_total", "").unwrap() >= 4.0);
    assert_eq!(
        sample(&after, "sealpost_throttled_addresses", "kind=\"address\""),
        Some(0.0)
    );
    let (ok, report) = promtool(&after);
    assert!(ok, "promtool check metrics: {report}\n{after}");
}

#[test]
fn promtool_refuses_a_broken_exposition() {
    // The check above can fail: promtool is there and strict.
    let (ok, report) = promtool("# TYPE x counter\nx_total{a=\"1\" 3\n");
    assert!(!ok, "{report}");
}

#[test]
fn health_and_readiness_answer_on_loopback() {
    let site = site();
    let server = site.start();
    assert_eq!(curl(&server, "/healthz"), (200, "ok\n".to_string()));
    let (code, body) = curl(&server, "/readyz");
    assert_eq!(code, 200, "{body}");
    assert_eq!(body, "store ok\naudit ok\nlisteners ok\n");
    // A write into data_dir fails (the probe's name taken by a non-empty
    // folder, which even root cannot rename a file over): not ready, and
    // the body says which check failed; ready again once it is gone.
    let blocker = site.path("data/.ready-probe");
    std::fs::create_dir_all(blocker.join("x")).unwrap();
    let (code, body) = curl(&server, "/readyz");
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("store not ready") && body.contains("audit ok"),
        "{body}"
    );
    std::fs::remove_dir_all(&blocker).unwrap();
    assert_eq!(curl(&server, "/readyz").0, 200);
}

#[test]
fn operator_routes_are_private() {
    // Only `[http] private_from` may scrape: with loopback left out, the
    // same request is a 404 as if the route did not exist.
    let site = Site::with_listeners(&["http"], "[http]\nprivate_from = [\"192.0.2.0/24\"]\n");
    let server = site.start();
    for path in ["/metrics", "/healthz", "/readyz"] {
        assert_eq!(curl(&server, path).0, 404, "{path}");
    }
}
