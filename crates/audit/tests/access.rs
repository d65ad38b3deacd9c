//! `sealpost_audit::accesses`: one account's sign-ins for the account
//! page, newest first, paged, and no other account's records.

mod common;

use common::*;
use sealpost_audit::{Event, LoginOutcome, Protocol, accesses};

fn login_of(account: &str, port: u16, outcome: LoginOutcome) -> Event {
    Event::Login {
        protocol: Protocol::Imap,
        account: account.into(),
        remote: format!("192.0.2.1:{port}"),
        tls: None,
        outcome,
        app_password: None,
        mechanism: None,
    }
}

#[test]
fn pages_hold_the_accounts_sign_ins_newest_first_and_nothing_else() {
    let site = Site::new();
    let log = site.open_with(&small_segments());
    for port in 1..=7u16 {
        let outcome = if port % 2 == 0 {
            LoginOutcome::Failure
        } else {
            LoginOutcome::Success
        };
        log.record(login_of("a@example.org", port, outcome));
        log.record(login_of("b@example.org", 100 + port, LoginOutcome::Success));
        log.record(delivered(port.into(), "a@example.org"));
    }
    log.close().unwrap();
    let keys = site.pii_keys();
    let ports = |skip, take| {
        let page = accesses(&site.dir(), &keys, "A@example.org", skip, take).unwrap();
        assert_eq!(page.total, 7);
        page.accesses
            .iter()
            .map(|a| {
                assert_eq!(a.protocol, "imap");
                a.remote.clone()
            })
            .collect::<Vec<_>>()
    };
    let remote = |p: u16| format!("192.0.2.1:{p}");
    assert_eq!(ports(0, 3), [remote(7), remote(6), remote(5)]);
    assert_eq!(ports(3, 3), [remote(4), remote(3), remote(2)]);
    assert_eq!(ports(6, 3), [remote(1)]);
    assert!(ports(9, 3).is_empty());
    let first = accesses(&site.dir(), &keys, "a@example.org", 0, 2).unwrap();
    assert_eq!(first.accesses[0].outcome, "success");
    assert_eq!(first.accesses[1].outcome, "failure");
    let none = accesses(&site.dir(), &keys, "c@example.org", 0, 10).unwrap();
    assert_eq!((none.total, none.accesses.len()), (0, 0));
}
