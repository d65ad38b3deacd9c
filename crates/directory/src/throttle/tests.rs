//! Unit tests of the failure windows and of the in-flight queue.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const WINDOW: Duration = Duration::from_secs(900);

fn limits(per_ip: u32, per_account: u32) -> ThrottleLimits {
    ThrottleLimits {
        per_ip,
        per_account,
        window: WINDOW,
    }
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

#[test]
fn per_ip_limit_counts_any_name() {
    let t = Throttle::new(limits(3, 100));
    let now = Instant::now();
    for i in 0..3 {
        assert_eq!(t.refused(ip(1), None, now), None);
        t.failed_at_once(ip(1), Some(&format!("nobody{i}@example.org")), now);
    }
    assert!(t.refused(ip(1), None, now).is_some());
    assert!(t.refused(ip(1), Some("other@example.org"), now).is_some());
    // Another address is not affected.
    assert_eq!(t.refused(ip(2), Some("nobody0@example.org"), now), None);
}

#[test]
fn per_account_limit_across_addresses() {
    let t = Throttle::new(limits(100, 2));
    let now = Instant::now();
    t.failed_at_once(ip(1), Some("alice@example.org"), now);
    t.failed_at_once(ip(2), Some("alice@example.org"), now);
    assert_eq!(
        t.refused(ip(3), Some("alice@example.org"), now),
        Some(WINDOW)
    );
    assert_eq!(t.refused(ip(3), Some("bob@example.org"), now), None);
}

#[test]
fn window_slides() {
    let t = Throttle::new(limits(2, 100));
    let t0 = Instant::now();
    t.failed_at_once(ip(1), None, t0);
    t.failed_at_once(ip(1), None, t0 + Duration::from_secs(100));
    let wait = t.refused(ip(1), None, t0 + Duration::from_secs(200));
    assert_eq!(wait, Some(WINDOW - Duration::from_secs(200)));
    // The first failure leaves the window; one slot opens.
    assert_eq!(t.refused(ip(1), None, t0 + WINDOW), None);
    t.failed_at_once(ip(1), None, t0 + WINDOW);
    assert!(t.refused(ip(1), None, t0 + WINDOW).is_some());
}

#[test]
fn success_clears_account_but_not_address() {
    let t = Throttle::new(limits(3, 2));
    let now = Instant::now();
    t.failed_at_once(ip(1), Some("alice@example.org"), now);
    t.failed_at_once(ip(1), Some("alice@example.org"), now);
    assert!(t.refused(ip(2), Some("alice@example.org"), now).is_some());
    t.succeeded_at_once("alice@example.org");
    assert_eq!(t.refused(ip(2), Some("alice@example.org"), now), None);
    // ip(1) kept its two failures: one more and it is throttled.
    assert_eq!(t.refused(ip(1), Some("bob@example.org"), now), None);
    t.failed_at_once(ip(1), Some("bob@example.org"), now);
    assert!(t.refused(ip(1), Some("carol@example.org"), now).is_some());
}

#[test]
fn zero_turns_a_limit_off() {
    let t = Throttle::new(limits(0, 0));
    let now = Instant::now();
    for _ in 0..1000 {
        t.failed_at_once(ip(1), Some("alice@example.org"), now);
        assert_eq!(t.refused(ip(1), Some("alice@example.org"), now), None);
    }
    assert_eq!(t.tracked(), (0, 0));
}

#[test]
fn ipv6_counts_per_slash_64() {
    let t = Throttle::new(limits(2, 100));
    let now = Instant::now();
    let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
    let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    t.failed_at_once(a, None, now);
    t.failed_at_once(b, None, now);
    assert!(t.refused(a, None, now).is_some());
    assert_eq!(t.refused(other, None, now), None);
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
    assert_eq!(IpKey::of(mapped), IpKey::of(ip(7)));
    assert_ne!(IpKey::of(IpAddr::V6(Ipv6Addr::LOCALHOST)), IpKey::of(ip(1)));
}

#[test]
fn memory_is_bounded() {
    let cap = 50;
    let t = Throttle::with_cap(limits(5, 5), cap);
    let now = Instant::now();
    for i in 0..10_000u32 {
        let addr = IpAddr::V4(Ipv4Addr::from_bits(i));
        let at = now + Duration::from_millis(u64::from(i));
        t.failed_at_once(addr, Some(&format!("u{i}@example.org")), at);
        let (ips, accounts) = t.tracked();
        assert!(ips <= cap && accounts <= cap, "{ips} {accounts}");
    }
    // The most recent keys are the ones kept.
    let last = IpAddr::V4(Ipv4Addr::from_bits(9_999));
    let at = now + Duration::from_millis(9_999);
    for _ in 0..4 {
        t.failed_at_once(last, None, at);
    }
    assert!(t.refused(last, None, at).is_some());
}

#[test]
fn expired_windows_are_pruned_first() {
    let cap = 10;
    let t = Throttle::with_cap(limits(5, 5), cap);
    let t0 = Instant::now();
    for i in 0..10u32 {
        t.failed_at_once(IpAddr::V4(Ipv4Addr::from_bits(i)), None, t0);
    }
    t.failed_at_once(ip(200), None, t0 + WINDOW);
    assert_eq!(t.tracked(), (1, 0));
}

/// Whether `fut` is still pending after the runtime had every chance to run it.
async fn pending<F: Future + Unpin>(fut: &mut F) -> bool {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    futures_poll_once(fut).await
}

async fn futures_poll_once<F: Future + Unpin>(fut: &mut F) -> bool {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx).is_pending())
    })
    .await
}

#[tokio::test]
async fn checks_in_flight_are_not_failures_and_extra_ones_wait() {
    let t = Throttle::new(limits(3, 100));
    let mut running = Vec::new();
    for i in 0..3 {
        let a = t
            .admit(ip(1), Some(&format!("u{i}@example.org")))
            .await
            .unwrap();
        running.push(a);
    }
    // The budget (3 failures) is spoken for by checks in flight: the next
    // attempt waits instead of being refused...
    let mut fourth = Box::pin(t.admit(ip(1), Some("u3@example.org")));
    assert!(pending(&mut fourth).await, "admitted past the budget");
    assert_eq!(t.in_flight(), (3, 3, 1));
    assert_eq!(
        t.refused(ip(1), None, Instant::now()),
        None,
        "no failure yet"
    );
    // ...and goes once one of them ends well.
    running.pop().unwrap().succeeded();
    let a = fourth.await.unwrap();
    a.succeeded();
    for a in running {
        a.succeeded();
    }
    assert_eq!(t.in_flight(), (0, 0, 0));
    assert_eq!(t.tracked(), (0, 0), "successes left no failure behind");
}

#[tokio::test]
async fn waiters_are_refused_without_a_check_once_failures_fill_the_window() {
    let t = Throttle::new(limits(2, 100));
    let a = t.admit(ip(1), None).await.unwrap();
    let b = t.admit(ip(1), None).await.unwrap();
    let mut waiting: Vec<_> = (0..5).map(|_| Box::pin(t.admit(ip(1), None))).collect();
    for w in &mut waiting {
        assert!(pending(w).await);
    }
    a.failed();
    b.failed();
    for w in waiting {
        let refused = w.await.unwrap_err();
        assert_eq!(refused.reason, ThrottleReason::Failures);
        assert!(refused.retry_after > Duration::from_secs(800));
    }
    assert_eq!(t.in_flight(), (0, 0, 0));
}

#[tokio::test]
async fn one_address_runs_a_bounded_number_of_checks() {
    let t = Throttle::new(limits(0, 0));
    let running: Vec<_> = futures_all(&t, MAX_RUNNING_PER_IP as usize).await;
    let mut next = Box::pin(t.admit(ip(1), None));
    assert!(pending(&mut next).await);
    // Another address is not held up by this one.
    t.admit(ip(2), None).await.unwrap().succeeded();
    drop(running);
    next.await.unwrap().succeeded();
}

async fn futures_all(t: &Throttle, n: usize) -> Vec<Attempt> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(t.admit(ip(1), None).await.unwrap());
    }
    v
}

#[tokio::test]
async fn the_queue_is_bounded_and_says_busy() {
    let t = Throttle::new(limits(0, 0));
    let running = futures_all(&t, MAX_RUNNING_PER_IP as usize).await;
    let mut waiting: Vec<_> = (0..MAX_WAITING_PER_IP)
        .map(|_| Box::pin(t.admit(ip(1), None)))
        .collect();
    for w in &mut waiting {
        assert!(futures_poll_once(w).await);
    }
    let refused = t.admit(ip(1), None).await.unwrap_err();
    assert_eq!(refused.reason, ThrottleReason::Busy);
    // A client that gives up waiting gives its place back.
    drop(waiting);
    assert_eq!(t.in_flight().2, 0);
    drop(running);
    assert_eq!(t.in_flight(), (0, 0, 0));
}

#[tokio::test]
async fn an_attempt_dropped_without_an_outcome_counts_as_failed() {
    let t = Throttle::new(limits(1, 100));
    drop(t.admit(ip(1), Some("a@example.org")).await.unwrap());
    assert!(t.refused(ip(1), None, Instant::now()).is_some());
}
