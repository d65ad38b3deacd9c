//! Fuzz entry points, shared by `fuzz/smtp_command`, `fuzz/smtp_data` and
//! the corpus replay in `cargo test`. Each checks invariants and panics if
//! one breaks; any other panic is a bug too.

use crate::wire::framer::{LineEndings, MAX_AUTH_LINE};
use crate::wire::{Command, Frame, Framer, Limits};

/// The fuzzed framer's limits: RFC 5321's 1000-octet lines and strict line
/// ends, or 1500-octet lines with bare LFs normalized (the default policy).
fn limits(line_endings: LineEndings) -> Limits {
    Limits {
        command_line: 512,
        text_line: match line_endings {
            LineEndings::Strict => 1000,
            LineEndings::Normalize => 1500,
        },
        max_message: 4096,
        line_endings,
    }
}

/// Feeds `input` in two pieces cut at `cut`, collecting frames. The n-th
/// BDAT chunk is kept when bit n (mod 8) of the input's second octet is set,
/// as a session with a transaction would ask; others must hold nothing.
fn frames(input: &[u8], cut: usize, data: bool, policy: LineEndings) -> Vec<Frame> {
    let mut f = Framer::new(limits(policy));
    if data {
        f.begin_data();
    }
    let keep_bits = input.get(1).copied().unwrap_or(0);
    let mut chunks = 0u32;
    let mut kept = false;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let cut = cut.min(input.len());
    for piece in [&input[..cut], &input[cut..]] {
        buf.extend_from_slice(piece);
        while let Some(fr) = f.next(&mut buf) {
            match &fr {
                Frame::BdatStart { .. } => {
                    kept = keep_bits >> (chunks % 8) & 1 == 1;
                    chunks += 1;
                    if kept {
                        f.keep_chunk();
                    }
                }
                Frame::Bdat { chunk, .. } => {
                    assert!(kept || chunk.is_none(), "a chunk not asked for was kept");
                }
                _ => {}
            }
            if !kept {
                assert_eq!(f.buffered(), 0, "framer holds octets of a dropped chunk");
            }
            out.push(fr);
        }
        if f.in_message() && !kept && !data {
            assert_eq!(f.buffered(), 0, "framer holds octets of a dropped chunk");
        }
        assert!(
            buf.len() <= 1024,
            "framer keeps {} unconsumed octets",
            buf.len()
        );
    }
    out
}

/// Command-mode framing and command parsing.
pub fn command(data: &[u8]) {
    let cut = data.first().copied().unwrap_or(0) as usize;
    let whole = frames(data, data.len(), false, LineEndings::Normalize);
    assert_eq!(
        whole,
        frames(data, cut, false, LineEndings::Normalize),
        "framing depends on how input is split"
    );
    for fr in &whole {
        if let Frame::Line(line) = fr {
            let auth = line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"AUTH ");
            assert!(line.len() <= 510 || auth && line.len() <= MAX_AUTH_LINE - 2);
            assert!(!line.contains(&b'\n'));
            if let Ok(cmd) = Command::parse(line) {
                let text = format!("{cmd:?}");
                assert!(!text.contains('\r') && !text.contains('\n'));
            } else if let Err(e) = Command::parse(line) {
                let reply = e.reply().to_bytes();
                assert!(reply.ends_with(b"\r\n"));
                assert_eq!(reply.iter().filter(|&&b| b == b'\n').count(), 1);
            }
        }
        if let Frame::Bdat {
            size,
            chunk: Some(c),
            ..
        } = fr
        {
            assert_eq!(*size, c.len() as u64);
        }
    }
}

/// DATA-mode framing, under both line-end policies (the second octet's
/// top bit chooses which is checked against a split feed): accepted
/// messages never hold a bare LF, never (strict) a bare CR, never a line
/// over the limit, never more than the size limit; and whatever the policy,
/// the message ends at the same place.
pub fn data(data: &[u8]) {
    let cut = data.first().copied().unwrap_or(0) as usize;
    let policy = if data.get(1).is_some_and(|b| b & 0x80 != 0) {
        LineEndings::Strict
    } else {
        LineEndings::Normalize
    };
    let whole = frames(data, data.len(), true, policy);
    assert_eq!(
        whole,
        frames(data, cut, true, policy),
        "framing depends on how input is split"
    );
    for p in [LineEndings::Strict, LineEndings::Normalize] {
        let all = frames(data, data.len(), true, p);
        // Where DATA ends does not depend on the policy: only <CRLF>.<CRLF>.
        let ends = |f: &Vec<Frame>| f.iter().position(|x| matches!(x, Frame::Data(_)));
        assert_eq!(
            ends(&all).is_some(),
            ends(&whole).is_some(),
            "end of DATA depends on the line-end policy"
        );
        let Some(Frame::Data(Ok(msg))) = all.first() else {
            continue;
        };
        assert!(msg.len() as u64 <= limits(p).max_message);
        let mut prev = 0u8;
        for (i, &b) in msg.iter().enumerate() {
            if b == b'\n' {
                assert_eq!(prev, b'\r', "bare LF at {i}");
            }
            if prev == b'\r' && p == LineEndings::Strict {
                assert_eq!(b, b'\n', "bare CR at {i}");
            }
            prev = b;
        }
        assert!(msg.is_empty() || msg.ends_with(b"\r\n"));
        for line in msg.split(|&b| b == b'\n') {
            assert!(line.len() <= limits(p).text_line);
        }
    }
}

/// The directory the session target uses: alice@example.org (alias
/// al@example.org) and bob@example.org, loaded once from a file in the
/// temporary folder. The hash is never checked: credentials are decided
/// by [`auth_outcome`].
fn directory() -> &'static sealpost_directory::Directory {
    static DIR: std::sync::OnceLock<sealpost_directory::Directory> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        const HASH: &str = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        // One fixed file (not one per process), written whole by the
        // shared helper so parallel fuzz jobs never read it half-written.
        let dir = std::env::temp_dir().join("sealpost-smtp-fuzz");
        sealpost_durable::create_dir(&dir).unwrap();
        let path = dir.join("accounts.toml");
        sealpost_durable::write(
            &path,
            format!(
                "[[account]]\naddress = \"alice@example.org\"\npassword = \"{HASH}\"\naliases = [\"al@example.org\"]\n\n\
                 [[account]]\naddress = \"bob@example.org\"\npassword = \"{HASH}\"\n\n\
                 [[forward]]\naddress = \"fwd@example.org\"\nto = [\"out@elsewhere.example\"]\n"
            )
            .as_bytes(),
        )
        .unwrap();
        sealpost_directory::Directory::load(
            &path,
            vec!["example.org".into()],
            sealpost_directory::ThrottleLimits {
                per_ip: 1000,
                per_account: 1000,
                window: std::time::Duration::from_secs(60),
            },
        )
        .unwrap()
    })
}

/// The directory's answer without argon2: alice with password `secret`
/// succeeds, a user name starting with `t` is throttled, the rest fail.
fn auth_outcome(username: &str, password: &str) -> sealpost_directory::AuthOutcome {
    use sealpost_directory::AuthOutcome;
    if username.starts_with('t') {
        return AuthOutcome::Throttled {
            retry_after: std::time::Duration::from_secs(60),
            reason: sealpost_directory::ThrottleReason::Failures,
        };
    }
    match directory().account(username) {
        Some(a) if password == "secret" && a.address == "alice@example.org" => {
            AuthOutcome::Success(a)
        }
        _ => AuthOutcome::Failed,
    }
}

/// Checks one serialized reply: `ddd[- ]text` lines, each ending in CRLF,
/// no other CR or LF.
fn check_reply(bytes: &[u8]) {
    assert!(bytes.ends_with(b"\r\n"), "reply without CRLF: {bytes:?}");
    for line in bytes[..bytes.len() - 2].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(!line.contains(&b'\r'), "bare CR in reply: {bytes:?}");
        assert!(line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit));
        assert!(line.len() == 3 || line[3] == b' ' || line[3] == b'-');
    }
}

/// The session state machine with the framer, fed random client input:
/// the first octet picks the role and whether TLS is on from the start,
/// the second where the input is cut (a STARTTLS drops what follows it in
/// the same piece, as the socket loop does). Invariants: every reply is
/// well formed; nothing is delivered before TLS, without a recipient,
/// over the size or recipient limits, or (submission) without AUTH and
/// from an address the account does not own; inbound never relays; a
/// chunk the session did not ask for is never held.
pub fn session(data: &[u8]) {
    session_deliveries(data);
}

/// [`session`], returning how many messages reached delivery (the corpus
/// replay checks the seeds get that far, so the checks there do run).
pub fn session_deliveries(data: &[u8]) -> usize {
    use crate::session::{Action, Destination, Role, Session, SessionConfig};
    let mut delivered = 0;
    let (Some(&mode), Some(&cut)) = (data.first(), data.get(1)) else {
        return 0;
    };
    let input = &data[2..];
    let role = if mode & 1 == 0 {
        Role::Inbound
    } else {
        Role::Submission
    };
    // Bit 2: strict line ends (bare LF refused) instead of the default.
    let policy = if mode & 4 != 0 {
        LineEndings::Strict
    } else {
        LineEndings::Normalize
    };
    let config = SessionConfig {
        hostname: "mx.example.org".into(),
        role,
        max_message_size: limits(policy).max_message,
        max_recipients: 3,
        max_errors: 50,
        max_auth_failures: 3,
        postmaster_domain: Some("example.org".into()),
        srs: std::sync::Arc::new(crate::srs::Srs::new([42u8; 32])),
        srs_limit: std::sync::Arc::new(crate::srs_limit::BounceLimit::with(20, 500, 3600)),
    };
    let directory = directory();
    let mut session = Session::new(config, mode & 2 != 0);
    let mut framer = Framer::new(limits(policy));
    check_reply(&session.greeting().to_bytes());
    let cut = (cut as usize).min(input.len());
    let mut buf = Vec::new();
    let mut kept = false;
    'pieces: for piece in [&input[..cut], &input[cut..]] {
        buf.extend_from_slice(piece);
        loop {
            framer.set_auth_response(session.in_auth_exchange());
            let Some(frame) = framer.next(&mut buf) else {
                break;
            };
            let mut action = session.on_frame(frame, directory);
            loop {
                match action {
                    Action::Reply(r) => check_reply(&r.to_bytes()),
                    Action::StartData(r) => {
                        assert_eq!(r.code, 354);
                        framer.begin_data();
                    }
                    Action::StartTls(r) => {
                        assert_eq!(r.code, 220);
                        assert!(!session.is_tls());
                        buf.clear();
                        session.tls_started();
                        continue 'pieces;
                    }
                    Action::Close(r) => {
                        check_reply(&r.to_bytes());
                        return delivered;
                    }
                    Action::ReadChunk { keep } => {
                        kept = keep;
                        if keep {
                            framer.keep_chunk();
                        }
                    }
                    Action::Authenticate {
                        username, password, ..
                    } => {
                        assert!(session.is_tls(), "credentials taken in plaintext");
                        assert_eq!(role, Role::Submission);
                        action = session.auth_result(auth_outcome(&username, password.expose()));
                        continue;
                    }
                    Action::Deliver(msg) => {
                        assert!(session.is_tls(), "delivery before TLS");
                        let env = &msg.envelope;
                        assert!(!env.recipients.is_empty());
                        assert!(env.recipients.len() <= 3);
                        assert!(msg.data.len() as u64 <= limits(policy).max_message);
                        match role {
                            Role::Inbound => {
                                assert!(msg.account.is_none());
                                // Only a configured forward leaves again:
                                // no fuzzed input can forge an SRS address.
                                for r in &env.recipients {
                                    let forwarded = matches!(
                                        directory.recipient(&r.address.to_string()),
                                        sealpost_directory::Recipient::Forward(_)
                                    );
                                    assert!(
                                        matches!(r.destination, Destination::Local(_))
                                            || (forwarded
                                                && matches!(
                                                    r.destination,
                                                    Destination::Forward { .. }
                                                )),
                                        "inbound relays to {}",
                                        r.address
                                    );
                                }
                            }
                            Role::Submission => {
                                let account =
                                    msg.account.as_ref().expect("submission without AUTH");
                                let from = env.from.to_string();
                                assert!(directory.owns_address(&account.address, &from));
                            }
                        }
                        delivered += 1;
                        session.delivered();
                    }
                }
                break;
            }
            if !kept && framer.in_chunk() {
                assert_eq!(framer.buffered(), 0, "holds a chunk it was not asked for");
            }
        }
    }
    delivered
}

/// Fuzzes the outbound TLS policy parsers (`fuzz/smtp_tls_policy`): the
/// MTA-STS record and policy (RFC 8461 3.1, 3.2) and a TLSA record
/// (RFC 6698 2.2) from the same text; each result keeps its limits, and
/// MX matching holds for any host name.
pub fn tls_policy(data: &[u8]) {
    use crate::outbound::{dane, mta_sts};
    let text = String::from_utf8_lossy(data);
    if let Ok(id) = mta_sts::parse_record(&text) {
        assert!((1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
    if let Ok(p) = mta_sts::parse_policy(&text) {
        assert!(p.mx.len() <= mta_sts::MAX_MX_PATTERNS);
        assert!(p.max_age <= mta_sts::MAX_AGE_LIMIT);
        assert!(p.mode == mta_sts::Mode::None || !p.mx.is_empty());
        for line in text.lines().take(8) {
            let _ = p.matches(line);
        }
        for mx in p.mx.iter().filter(|m| !m.starts_with("*.")) {
            assert!(p.matches(mx), "a policy matches its own mx {mx}");
        }
    }
    if let Some(t) = dane::parse_tlsa(&text) {
        assert!(matches!(t.usage, 2 | 3) && t.selector <= 1 && t.matching <= 2);
        let want = match t.matching {
            1 => 32,
            2 => 64,
            _ => t.data.len(),
        };
        assert_eq!(t.data.len(), want);
    }
}

/// Fuzzes SRS (`fuzz/smtp_srs`): reversing any local part never panics and
/// yields an address only for a hash made with the secret; any sender that
/// rewrites reverses to itself; hop counting never counts more fields than
/// the header has lines.
pub fn srs(data: &[u8]) {
    use crate::srs::{MAX_LOCAL, Srs, check_loop, hops};
    const NOW: i64 = 1_796_342_400;
    let s = Srs::new([42u8; 32]);
    let text = String::from_utf8_lossy(data);
    if let Ok(original) = s.reverse(&text, NOW) {
        assert!(original.contains('@'));
    }
    if let Ok(rewritten) = s.forward(&text, "example.org", NOW)
        && !text.is_empty()
    {
        let (local, domain) = rewritten.rsplit_once('@').expect("an address");
        assert_eq!(domain, "example.org");
        assert!(local.len() <= MAX_LOCAL);
        let back = s.reverse(local, NOW).expect("our own rewriting reverses");
        if local.starts_with("SRS1") {
            // Another forwarder's SRS address: back to its SRS0 form there.
            assert!(back.starts_with("SRS0"), "{back}");
        } else {
            assert_eq!(back, text);
        }
    }
    let (n, _) = hops(data, "fwd@example.org");
    assert!(n <= data.split(|&b| b == b'\n').count());
    let _ = check_loop(data, &text);
}
