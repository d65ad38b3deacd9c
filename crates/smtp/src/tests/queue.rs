//! The queue runner with time as a parameter ([`Queue::run_once_at`]):
//! backoff doubling, the delay DSN after `smtp.delay_warning_secs`, NOTIFY
//! NEVER, lifetime expiry. The next hop is a peer on loopback that answers
//! every connection with `421` (a temporary failure, at once).

use super::env::{Env, env_with};
use crate::queue::{NewMessage, NewRecipient, Queue, QueueEntry};
use crate::wire::Notify;
use tokio::io::AsyncWriteExt;

/// A next hop that is always busy; returns its port.
async fn busy_peer() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"421 4.3.2 busy, try later\r\n").await;
        }
    });
    port
}

async fn env_routed(extra: &str) -> Env {
    let port = busy_peer().await;
    env_with(&format!(
        "max_errors = 20\nrelay_timeout_secs = 5\n{extra}\n[[smtp.route]]\ndomain = \"example.net\"\nhost = \"127.0.0.1:{port}\"\n"
    ))
}

fn enqueue(queue: &Queue, notify: Option<Notify>) -> String {
    queue
        .enqueue(
            NewMessage {
                sender: "alice@example.org".into(),
                recipients: vec![NewRecipient {
                    address: "carol@example.net".into(),
                    orcpt: Some("rfc822;carol+2Bx@example.net".into()),
                    notify,
                }],
                envid: Some("ENV-1".into()),
                ret: None,
                smtputf8: false,
                requiretls: false,
            },
            b"From: alice@example.org\r\nSubject: waiting\r\n\r\nbody\r\n",
        )
        .unwrap()
}

fn entry(queue: &Queue) -> QueueEntry {
    let list = queue.list().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].clone()
}

/// DSNs the sender (alice, hosted here) received.
fn dsns(env: &Env) -> Vec<String> {
    env.inbox("alice@example.org")
        .into_iter()
        .map(|m| String::from_utf8(m).unwrap())
        .collect()
}

#[tokio::test]
async fn backoff_doubles_from_the_initial_wait_up_to_the_maximum() {
    // The defaults: 300 s first, doubling, at most 4 hours.
    let env = env_routed("").await;
    let queue = &env.services.queue;
    enqueue(queue, None);
    let mut t = entry(queue).created;
    let mut waits = Vec::new();
    for _ in 0..8 {
        // Not due yet a second early: nothing happens.
        let before = entry(queue);
        if before.attempts > 0 {
            queue.run_once_at(t - 1).await;
            assert_eq!(entry(queue).attempts, before.attempts, "attempted early");
        }
        queue.run_once_at(t).await;
        let after = entry(queue);
        assert_eq!(after.attempts, before.attempts + 1);
        assert!(
            after.recipients[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("421 4.3.2"),
            "{after:?}"
        );
        waits.push(after.next_attempt - t);
        t = after.next_attempt;
    }
    assert_eq!(waits, vec![300, 600, 1200, 2400, 4800, 9600, 14400, 14400]);
}

#[test]
fn backoff_follows_the_configured_limits() {
    let mut smtp = sealpost_config::SmtpConfig {
        retry_initial_secs: 10,
        retry_max_secs: 70,
        ..Default::default()
    };
    let waits: Vec<u64> = (1..=6)
        .map(|n| crate::queue::runner::backoff(&smtp, n))
        .collect();
    assert_eq!(waits, vec![10, 20, 40, 70, 70, 70]);
    smtp.retry_initial_secs = 0; // treated as 1, never a busy loop
    assert_eq!(crate::queue::runner::backoff(&smtp, 1), 1);
    assert_eq!(crate::queue::runner::backoff(&smtp, 200), 70);
}

#[tokio::test]
async fn delay_dsn_once_after_the_default_four_hours() {
    let env = env_routed("").await;
    let queue = &env.services.queue;
    enqueue(
        queue,
        Some(Notify {
            delay: true,
            failure: true,
            ..Default::default()
        }),
    );
    let created = entry(queue).created;
    queue.run_once_at(created).await;
    queue.run_once_at(created + 4 * 3600 - 1).await;
    assert!(dsns(&env).is_empty(), "delay DSN before 4 hours");
    queue.run_once_at(created + 4 * 3600).await;
    let got = dsns(&env);
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert!(
        m.contains("Subject: Delayed Mail (still being retried)"),
        "{m}"
    );
    assert!(m.contains("Action: delayed\r\nStatus: 4.3.2\r\n"), "{m}");
    assert!(
        m.contains("Original-Recipient: rfc822; carol+x@example.net"),
        "{m}"
    );
    assert!(m.contains("Original-Envelope-Id: ENV-1"), "{m}");
    assert!(m.contains("Will-Retry-Until: "), "{m}");
    assert!(m.contains("Diagnostic-Code: smtp; 421 4.3.2 busy"), "{m}");
    assert!(
        m.contains("Subject: waiting") && !m.contains("body"),
        "headers only: {m}"
    );
    assert!(entry(queue).recipients[0].delay_reported);
    // Later attempts send no second one.
    queue.run_once_at(created + 6 * 3600).await;
    queue.run_once_at(created + 10 * 3600).await;
    assert_eq!(dsns(&env).len(), 1);
}

#[tokio::test]
async fn delay_warning_time_is_configurable_and_zero_turns_it_off() {
    let env = env_routed("delay_warning_secs = 60").await;
    let queue = &env.services.queue;
    enqueue(queue, None); // no NOTIFY: FAILURE,DELAY
    let created = entry(queue).created;
    queue.run_once_at(created + 59).await;
    assert!(dsns(&env).is_empty());
    queue.run_once_at(created + 3600).await;
    assert_eq!(dsns(&env).len(), 1);

    let env = env_routed("delay_warning_secs = 0").await;
    let queue = &env.services.queue;
    enqueue(queue, None);
    let created = entry(queue).created;
    queue.run_once_at(created + 24 * 3600).await;
    assert!(dsns(&env).is_empty(), "delay DSNs are off");
}

#[tokio::test]
async fn notify_failure_only_gets_no_delay_dsn_but_the_bounce() {
    let env = env_routed("").await;
    let queue = &env.services.queue;
    enqueue(
        queue,
        Some(Notify {
            failure: true,
            ..Default::default()
        }),
    );
    let created = entry(queue).created;
    queue.run_once_at(created + 5 * 3600).await;
    assert!(dsns(&env).is_empty(), "DELAY was not asked for");
    // Past the 5-day lifetime: it fails and bounces.
    queue.run_once_at(created + 5 * 24 * 3600).await;
    let got = dsns(&env);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].contains("Action: failed\r\nStatus: 4.4.7"),
        "{}",
        got[0]
    );
    assert!(queue.list().unwrap().is_empty());
}

#[tokio::test]
async fn notify_never_gets_no_dsn_at_all() {
    let env = env_routed("").await;
    let queue = &env.services.queue;
    enqueue(
        queue,
        Some(Notify {
            never: true,
            ..Default::default()
        }),
    );
    let created = entry(queue).created;
    queue.run_once_at(created + 5 * 3600).await;
    queue.run_once_at(created + 5 * 24 * 3600).await;
    assert!(queue.list().unwrap().is_empty(), "expired and removed");
    assert!(dsns(&env).is_empty(), "NOTIFY=NEVER");
}

#[tokio::test]
async fn no_bounce_for_a_null_sender() {
    let env = env_routed("").await;
    let queue = &env.services.queue;
    queue
        .enqueue(
            NewMessage {
                sender: String::new(),
                recipients: vec![NewRecipient {
                    address: "carol@example.net".into(),
                    orcpt: None,
                    notify: None,
                }],
                envid: None,
                ret: None,
                smtputf8: false,
                requiretls: false,
            },
            b"From: MAILER-DAEMON@mx.example.org\r\nSubject: a bounce\r\n\r\nx\r\n",
        )
        .unwrap();
    let created = entry(queue).created;
    queue.run_once_at(created + 5 * 3600).await;
    queue.run_once_at(created + 5 * 24 * 3600).await;
    assert!(
        queue.list().unwrap().is_empty(),
        "expired and removed, nothing new queued"
    );
    for account in [
        "alice@example.org",
        "postmaster@example.org",
        "bob@example.org",
    ] {
        assert!(env.inbox(account).is_empty(), "{account} got a bounce");
    }
}

#[tokio::test]
async fn static_mx_records_come_in_preference_order() {
    let env = env_with(
        "[[smtp.dns.mx]]\nname = \"example.net\"\nhost = \"mx20.example.net\"\npreference = 20\n\
         [[smtp.dns.mx]]\nname = \"example.net\"\nhost = \"mx5.example.net\"\npreference = 5\n\
         [[smtp.dns.mx]]\nname = \"example.net\"\nhost = \"mx10.example.net\"\npreference = 10\n\
         [[smtp.dns.a]]\nname = \"mx5.example.net\"\naddr = \"127.0.0.1\"\n",
    );
    let dns = &env.services.mail_auth;
    assert_eq!(
        dns.mx("example.net").await.unwrap(),
        vec!["mx5.example.net", "mx10.example.net", "mx20.example.net"]
    );
    assert_eq!(
        dns.addresses("mx5.example.net").await.unwrap(),
        vec![std::net::IpAddr::from([127, 0, 0, 1])]
    );
    // static_only: nothing else exists.
    assert!(dns.mx("example.com").await.unwrap_or_default().is_empty());
    assert!(dns.addresses("mx10.example.net").await.is_err());
}

/// Queues a message from a sender elsewhere (its DSN goes through the
/// queue) and bounces it with `queue bounce`; returns the DSN's entry and
/// content.
fn bounce_from_elsewhere(queue: &Queue, requiretls: bool) -> (QueueEntry, String) {
    let new = NewMessage {
        sender: "zed@remote.example".into(),
        recipients: vec![NewRecipient {
            address: "carol@example.net".into(),
            orcpt: None,
            notify: None,
        }],
        envid: None,
        ret: None,
        smtputf8: false,
        requiretls,
    };
    let id = queue
        .enqueue(new, b"Subject: sealed\r\n\r\nsecret body\r\n")
        .unwrap();
    assert_eq!(queue.bounce(&id, "mail.example.org").unwrap(), 1);
    let list = queue.list().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let dsn = list.into_iter().next().unwrap();
    assert_eq!(dsn.sender, "");
    assert_eq!(dsn.recipients[0].address, "zed@remote.example");
    let (_, content) = queue.get(&dsn.id).unwrap();
    (dsn, String::from_utf8(content).unwrap())
}

#[tokio::test]
async fn the_bounce_of_a_requiretls_message_is_sent_with_requiretls_and_headers_only() {
    let env = env_routed("").await;
    let (dsn, content) = bounce_from_elsewhere(&env.services.queue, true);
    // RFC 8689 5.
    assert!(dsn.requiretls, "{dsn:?}");
    assert!(content.contains("Subject: sealed"), "{content}");
    assert!(!content.contains("secret body"), "{content}");
    let env = env_routed("").await;
    let (dsn, content) = bounce_from_elsewhere(&env.services.queue, false);
    assert!(!dsn.requiretls, "{dsn:?}");
    assert!(content.contains("secret body"), "{content}");
}
