//! Limits on bounces to our SRS addresses (#15), sans-IO: time is a
//! parameter.
//!
//! A bounce to `SRS0=...@ours` is relayed on to the original sender
//! (`session/envelope.rs`). Without a limit, whoever holds many valid SRS
//! addresses (every forwarded message hands one to the next hop), or
//! simply sends many, could have us relay a burst of bounces at one
//! address: a bounce reflector under our name, which is what lands a
//! forwarding host on blocklists. So RCPTs to SRS addresses are counted in
//! fixed windows of `[smtp] srs_bounce_window_secs`:
//!
//! - all together, valid or forged: at most `srs_bounces_total`;
//! - per original sender (valid ones only: a forged address names nobody
//!   we could trust): at most `srs_bounces_per_sender`.
//!
//! Over either limit the RCPT gets `451 4.7.1` (RFC 3463: delivery not
//! authorized, temporarily): a real bounce is retried by its sender later
//! and nothing is lost; a flood costs us a reply line. Counts are kept in
//! memory per node (a restart starts them afresh), bounded by the total
//! limit (only admitted senders are remembered). The first refusal of a
//! window on each limit is logged (`srs_bounce_limited`), not every one.

use crate::wire::{Enhanced, Reply};
use sealpost_config::SmtpConfig;
use std::collections::HashMap;
use std::sync::Mutex;

/// The counters of both limits (shared by every SMTP session of a node).
#[derive(Debug)]
pub struct BounceLimit {
    per_sender: u32,
    total: u32,
    window: i64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    window_start: i64,
    total: u32,
    senders: HashMap<String, u32>,
    logged_total: bool,
    logged_sender: bool,
}

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// `srs_bounces_total`.
    Total,
    /// `srs_bounces_per_sender`.
    Sender,
}

impl Limited {
    /// The RCPT reply.
    pub fn reply(self) -> Reply {
        let text = match self {
            Limited::Total => "Too many bounces to forwarded mail; try again later",
            Limited::Sender => "Too many bounces for this sender; try again later",
        };
        Reply::new(451, Enhanced(4, 7, 1), text)
    }
}

impl BounceLimit {
    /// The limits of `[smtp]` (validation keeps them at least 1).
    pub fn new(smtp: &SmtpConfig) -> BounceLimit {
        BounceLimit::with(
            smtp.srs_bounces_per_sender,
            smtp.srs_bounces_total,
            smtp.srs_bounce_window_secs,
        )
    }

    /// Explicit limits (tests, fuzzing).
    pub fn with(per_sender: u32, total: u32, window_secs: u64) -> BounceLimit {
        BounceLimit {
            per_sender: per_sender.max(1),
            total: total.max(1),
            window: window_secs.clamp(1, i64::MAX as u64) as i64,
            state: Mutex::new(State::default()),
        }
    }

    /// Counts one RCPT to an SRS address of ours at `now` (Unix seconds):
    /// `original` is the sender it reversed to, `None` when it did not
    /// (forged, expired). `Err` when a limit is reached: nothing counted.
    pub fn admit(&self, original: Option<&str>, now: i64) -> Result<(), Limited> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now >= s.window_start.saturating_add(self.window) || now < s.window_start {
            *s = State {
                window_start: now,
                ..State::default()
            };
        }
        if s.total >= self.total {
            if !std::mem::replace(&mut s.logged_total, true) {
                log(Limited::Total, self.total, self.window);
            }
            return Err(Limited::Total);
        }
        if let Some(original) = original {
            let key = original.to_ascii_lowercase();
            let n = s.senders.get(&key).copied().unwrap_or(0);
            if n >= self.per_sender {
                if !std::mem::replace(&mut s.logged_sender, true) {
                    log(Limited::Sender, self.per_sender, self.window);
                }
                return Err(Limited::Sender);
            }
            s.senders.insert(key, n + 1);
        }
        s.total += 1;
        Ok(())
    }
}

fn log(which: Limited, limit: u32, window: i64) {
    let limit_name = match which {
        Limited::Total => "srs_bounces_total",
        Limited::Sender => "srs_bounces_per_sender",
    };
    tracing::warn!(
        target: "sealpost::event",
        event = "srs_bounce_limited",
        limit = limit_name,
        value = limit,
        window_secs = window,
        "bounces to SRS addresses over the limit: answered 451 until the window ends"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_sender_and_total_limits_in_fixed_windows() {
        let l = BounceLimit::with(2, 5, 60);
        assert_eq!(l.admit(Some("carol@origin.example"), 100), Ok(()));
        assert_eq!(l.admit(Some("Carol@Origin.example"), 101), Ok(()));
        assert_eq!(
            l.admit(Some("carol@origin.example"), 102),
            Err(Limited::Sender)
        );
        assert_eq!(l.admit(Some("dave@origin.example"), 103), Ok(()));
        assert_eq!(l.admit(None, 104), Ok(()));
        assert_eq!(l.admit(None, 105), Ok(()));
        // Five counted (the refused one was not): everything waits now.
        assert_eq!(l.admit(None, 106), Err(Limited::Total));
        assert_eq!(
            l.admit(Some("erin@origin.example"), 106),
            Err(Limited::Total)
        );
        // A new window starts afresh.
        assert_eq!(l.admit(Some("carol@origin.example"), 160), Ok(()));
        assert_eq!(l.admit(Some("carol@origin.example"), 161), Ok(()));
        assert_eq!(
            l.admit(Some("carol@origin.example"), 162),
            Err(Limited::Sender)
        );
        assert_eq!(
            Limited::Sender.reply().to_string(),
            "451 4.7.1 Too many bounces for this sender; try again later"
        );
    }
}
