//! C:/S: transcripts replayed against the engine (session + framer +
//! delivery into a real store in a tempdir), no socket.
//!
//! Consecutive `C:` lines are sent in one piece (pipelining); the `S:` lines
//! that follow must be exactly what the server wrote. An `S:` line ending in
//! `*` matches by prefix (message ids). `C:` lines are joined with CRLF; a
//! `C!` line is sent raw with `\r`, `\n` escapes and no CRLF added. When the
//! server answers STARTTLS, the rest of the pipelined input is dropped and
//! the session continues as if the handshake succeeded.

use super::env::Env;
use crate::engine::{Control, Engine};
use crate::session::Role;

pub(crate) struct Outcome {
    pub closed: bool,
}

fn unescape(s: &str) -> Vec<u8> {
    s.replace("\\r", "\r")
        .replace("\\n", "\n")
        .replace("\\0", "\0")
        .into_bytes()
}

/// Runs a transcript; panics with context on the first mismatch.
pub(crate) async fn run(env: &Env, role: Role, tls: bool, script: &str) -> Outcome {
    let peer = "192.0.2.7:40000".parse().unwrap();
    let mut engine = Engine::new(
        env.services.clone(),
        role,
        peer,
        tls.then(|| "TLSv1.3 with cipher TEST".to_string()),
    );
    let mut lines = script
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty())
        .peekable();
    let mut out = Vec::new();
    engine.greeting().write_to(&mut out);
    let mut closed = false;
    let mut step = 0;
    loop {
        // Expected server lines.
        let mut expected = Vec::new();
        while let Some(l) = lines.peek() {
            if let Some(s) = l.strip_prefix("S: ") {
                expected.push(s.to_string());
                lines.next();
            } else {
                break;
            }
        }
        let text = String::from_utf8_lossy(&out).into_owned();
        let got: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(
            got.len(),
            expected.len(),
            "step {step}: server said {got:#?}, expected {expected:#?}"
        );
        for (g, e) in got.iter().zip(&expected) {
            match e.strip_suffix('*') {
                Some(prefix) => assert!(g.starts_with(prefix), "step {step}: {g:?} vs {e:?}"),
                None => assert_eq!(g, e, "step {step}"),
            }
        }
        out.clear();
        step += 1;
        // Client input.
        let mut input = Vec::new();
        while let Some(l) = lines.peek() {
            let l = if *l == "C:" { "C: " } else { l };
            if let Some(c) = l.strip_prefix("C: ") {
                input.extend_from_slice(&unescape(c));
                input.extend_from_slice(b"\r\n");
                lines.next();
            } else if let Some(c) = l.strip_prefix("C! ") {
                input.extend_from_slice(&unescape(c));
                lines.next();
            } else {
                break;
            }
        }
        if input.is_empty() {
            assert!(
                lines.peek().is_none(),
                "bad transcript line {:?}",
                lines.peek()
            );
            break;
        }
        assert!(!closed, "client wrote after the server closed");
        loop {
            match engine.process(&mut input, &mut out).await {
                Control::Continue => break,
                Control::Close => {
                    closed = true;
                    break;
                }
                Control::StartTls => {
                    input.clear();
                    engine.tls_started(Some("TLSv1.3 with cipher TEST".into()));
                }
            }
        }
    }
    Outcome { closed }
}
