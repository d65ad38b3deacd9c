//! Framer tests: every case is also fed split at every byte boundary and one
//! byte at a time, and must give the same frames.

use super::*;

/// RFC 5321 to the letter: 1000-octet lines, bare CR and LF refused.
fn limits() -> Limits {
    Limits {
        command_line: 512,
        text_line: 1000,
        max_message: 10_000,
        line_endings: LineEndings::Strict,
    }
}

/// The default policy: bare LF normalized, lines up to 4000 octets here.
fn lenient() -> Limits {
    Limits {
        text_line: 4000,
        line_endings: LineEndings::Normalize,
        ..limits()
    }
}

/// Feeds `input` in pieces cut at `cuts`, starting in data mode if `data`.
/// Every BDAT chunk is kept, as a session in a transaction would ask.
fn run_split(input: &[u8], cuts: &[usize], data: bool) -> (Vec<Frame>, usize) {
    run_split_keeping(input, cuts, data, true)
}

fn run_split_keeping(input: &[u8], cuts: &[usize], data: bool, keep: bool) -> (Vec<Frame>, usize) {
    run_split_with(limits(), input, cuts, data, keep)
}

fn run_split_with(
    limits: Limits,
    input: &[u8],
    cuts: &[usize],
    data: bool,
    keep: bool,
) -> (Vec<Frame>, usize) {
    let mut f = Framer::new(limits);
    if data {
        f.begin_data();
    }
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        buf.extend_from_slice(&input[start..end]);
        start = end;
        while let Some(fr) = f.next(&mut buf) {
            if keep && matches!(fr, Frame::BdatStart { .. }) {
                f.keep_chunk();
            }
            frames.push(fr);
        }
    }
    (frames, buf.len())
}

/// Runs a case whole, split at every position, and byte by byte.
fn frames(input: &[u8], data: bool) -> Vec<Frame> {
    frames_with(limits(), input, data)
}

fn frames_with(limits: Limits, input: &[u8], data: bool) -> Vec<Frame> {
    let (whole, left) = run_split_with(limits, input, &[], data, true);
    for cut in 1..input.len() {
        let (split, left2) = run_split_with(limits, input, &[cut], data, true);
        assert_eq!(split, whole, "split at {cut}");
        assert_eq!(left2, left, "split at {cut}");
    }
    let ones: Vec<usize> = (1..input.len()).collect();
    assert_eq!(
        run_split_with(limits, input, &ones, data, true).0,
        whole,
        "byte by byte"
    );
    whole
}

fn line(s: &str) -> Frame {
    Frame::Line(s.as_bytes().to_vec())
}

#[test]
fn command_lines() {
    assert_eq!(
        frames(b"EHLO x\r\nNOOP\r\n", false),
        vec![line("EHLO x"), line("NOOP")]
    );
    assert_eq!(frames(b"NOOP\n", false), vec![Frame::BareLf]);
    assert_eq!(frames(b"NOOP", false), vec![]);
}

#[test]
fn command_line_limit_is_512_with_crlf() {
    let ok = format!("NOOP {}\r\n", "a".repeat(512 - 7));
    assert_eq!(ok.len(), 512);
    assert_eq!(frames(ok.as_bytes(), false).len(), 1);
    assert!(matches!(frames(ok.as_bytes(), false)[0], Frame::Line(_)));
    let long = format!("NOOP {}\r\nQUIT\r\n", "a".repeat(512 - 6));
    assert_eq!(
        frames(long.as_bytes(), false),
        vec![Frame::LineTooLong, line("QUIT")]
    );
}

/// The client hears about an over-long line as soon as it passes the
/// limit, not when (if ever) the line ends; the rest is dropped unread.
#[test]
fn huge_command_line_is_answered_at_once_and_discarded_without_buffering() {
    let mut f = Framer::new(limits());
    let mut buf = vec![b'a'; 511];
    assert_eq!(f.next(&mut buf), None, "511 octets may still end in time");
    buf.push(b'a');
    assert_eq!(f.next(&mut buf), Some(Frame::LineTooLong));
    assert!(buf.is_empty(), "discarded bytes are not kept");
    buf.extend_from_slice(&[b'a'; 100_000]);
    assert_eq!(f.next(&mut buf), None);
    assert!(buf.is_empty());
    buf.extend_from_slice(b"aaaa\r\nQUIT\r\n");
    assert_eq!(f.next(&mut buf), Some(line("QUIT")));
}

#[test]
fn auth_lines_may_be_longer() {
    let auth = format!("AUTH PLAIN {}\r\n", "A".repeat(MAX_AUTH_LINE - 13));
    assert_eq!(auth.len(), MAX_AUTH_LINE);
    let (fr, _) = run_split(auth.as_bytes(), &[], false);
    assert!(matches!(&fr[..], [Frame::Line(_)]), "{:?}", fr.len());
    // A response line inside an exchange, only when the session says so.
    let response = format!("{}\r\nNOOP\r\n", "A".repeat(5000));
    let mut f = Framer::new(limits());
    f.set_auth_response(true);
    let mut buf = response.clone().into_bytes();
    assert!(matches!(f.next(&mut buf), Some(Frame::Line(l)) if l.len() == 5000));
    f.set_auth_response(false);
    assert_eq!(f.next(&mut buf), Some(line("NOOP")));
    let (fr, _) = run_split(response.as_bytes(), &[], false);
    assert_eq!(fr, vec![Frame::LineTooLong, line("NOOP")]);
    // Past 12288 octets even a response is too long, answered at once.
    let mut f = Framer::new(limits());
    f.set_auth_response(true);
    let mut buf = vec![b'A'; 100 * 1024];
    assert_eq!(f.next(&mut buf), Some(Frame::LineTooLong));
    buf.extend_from_slice(b"AAAA\r\nNOOP\r\n");
    f.set_auth_response(false);
    assert_eq!(f.next(&mut buf), Some(line("NOOP")));
}

#[test]
fn bdat_chunks_are_exact() {
    // The chunk is exactly 5 octets: the LF after them starts a new (bare) line.
    assert_eq!(
        frames(b"BDAT 5\r\nQUIT\r\nBDAT 0 LAST\r\nNOOP\r\n", false),
        vec![
            Frame::BdatStart {
                size: 5,
                last: false
            },
            Frame::Bdat {
                size: 5,
                last: false,
                chunk: Some(b"QUIT\r".to_vec())
            },
            Frame::BareLf,
            Frame::BdatStart {
                size: 0,
                last: true
            },
            Frame::Bdat {
                size: 0,
                last: true,
                chunk: Some(Vec::new())
            },
            line("NOOP"),
        ]
    );
}

#[test]
fn bdat_chunk_contents_are_never_commands() {
    assert_eq!(
        frames(b"BDAT 12 LAST\r\nRSET\r\nQUIT\r\nNOOP\r\n", false),
        vec![
            Frame::BdatStart {
                size: 12,
                last: true
            },
            Frame::Bdat {
                size: 12,
                last: true,
                chunk: Some(b"RSET\r\nQUIT\r\n".to_vec())
            },
            line("NOOP"),
        ]
    );
}

/// A chunk over the message limit is refused when announced and never
/// read: the session closes, so the chunk's octets are never commands.
#[test]
fn bdat_over_limit_is_refused_at_once() {
    for size in [
        "10001",
        "99999999999",
        "18446744073709551615",
        "18446744073709551616",
        "999999999999999999999999999999",
    ] {
        for last in ["", " LAST"] {
            let input = format!("BDAT {size}{last}\r\nxxxxxxxx");
            let (fr, _) = run_split(input.as_bytes(), &[], false);
            assert_eq!(fr.first(), Some(&Frame::BdatTooBig), "{input}");
        }
    }
    // At the limit it is a chunk.
    let (fr, _) = run_split(b"BDAT 10000\r\n", &[], false);
    assert_eq!(
        fr,
        vec![Frame::BdatStart {
            size: 10_000,
            last: false
        }]
    );
}

#[test]
fn bdat_chunk_not_kept_is_counted_down_and_dropped() {
    let input = b"BDAT 12 LAST\r\nRSET\r\nQUIT\r\nNOOP\r\n";
    for cut in 0..input.len() {
        let (fr, left) = run_split_keeping(input, &[cut], false, false);
        assert_eq!(
            fr,
            vec![
                Frame::BdatStart {
                    size: 12,
                    last: true
                },
                Frame::Bdat {
                    size: 12,
                    last: true,
                    chunk: None
                },
                line("NOOP"),
            ],
            "cut at {cut}"
        );
        assert_eq!(left, 0);
    }
}

/// The attack the audit found: a client with no transaction announces a
/// chunk of the full message size and streams it. Nothing may pile up.
#[test]
fn unwanted_large_chunk_streams_through_without_being_held() {
    let mut f = Framer::new(Limits {
        max_message: 50 * 1024 * 1024,
        ..limits()
    });
    let size = 40 * 1024 * 1024u64;
    let mut buf = format!("BDAT {size} LAST\r\n").into_bytes();
    assert_eq!(
        f.next(&mut buf),
        Some(Frame::BdatStart { size, last: true })
    );
    // No keep_chunk(): the session had no transaction.
    let piece = vec![b'x'; 64 * 1024];
    let mut sent = 0u64;
    while sent < size {
        buf.extend_from_slice(&piece);
        sent += piece.len() as u64;
        let frame = f.next(&mut buf);
        assert_eq!(f.buffered(), 0, "the framer holds chunk octets at {sent}");
        assert!(buf.is_empty(), "input not consumed at {sent}");
        if sent < size {
            assert_eq!(frame, None);
        } else {
            assert_eq!(
                frame,
                Some(Frame::Bdat {
                    size,
                    last: true,
                    chunk: None
                })
            );
        }
    }
}

#[test]
fn keep_chunk_after_octets_were_read_or_over_the_limit_keeps_nothing() {
    let mut f = Framer::new(limits());
    let mut buf = b"BDAT 4\r\nab".to_vec();
    assert!(matches!(f.next(&mut buf), Some(Frame::BdatStart { .. })));
    assert_eq!(f.next(&mut buf), None);
    f.keep_chunk();
    buf.extend_from_slice(b"cd");
    assert_eq!(
        f.next(&mut buf),
        Some(Frame::Bdat {
            size: 4,
            last: false,
            chunk: None
        })
    );
    let mut f = Framer::new(Limits {
        max_message: 20_000,
        ..limits()
    });
    let mut buf = b"BDAT 10001\r\n".to_vec();
    assert!(matches!(f.next(&mut buf), Some(Frame::BdatStart { .. })));
    f.limits.max_message = 10_000;
    f.keep_chunk();
    buf.extend(std::iter::repeat_n(b'y', 10_001));
    assert_eq!(f.buffered(), 0);
    assert!(matches!(
        f.next(&mut buf),
        Some(Frame::Bdat { chunk: None, .. })
    ));
    // keep_chunk outside a chunk is harmless.
    f.keep_chunk();
    let mut buf = b"NOOP\r\n".to_vec();
    assert_eq!(f.next(&mut buf), Some(line("NOOP")));
}

#[test]
fn bad_bdat_is_a_line() {
    assert_eq!(frames(b"BDAT x\r\n", false), vec![line("BDAT x")]);
}

#[test]
fn data_ends_at_crlf_dot_crlf_and_unstuffs() {
    assert_eq!(
        frames(b"Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n", true),
        vec![
            Frame::Data(Ok(b"Subject: x\r\n\r\n.dot\r\n".to_vec())),
            line("QUIT")
        ]
    );
    assert_eq!(frames(b".\r\n", true), vec![Frame::Data(Ok(Vec::new()))]);
}

#[test]
fn smuggling_sequences_never_end_data() {
    // Each of these contains a lone "." line with a broken ending; none may
    // end the message, and every message with one is refused.
    for (name, msg) in [
        ("LF.CRLF", &b"a\r\nb\n.\r\nMAIL FROM:<x@y.org>\r\n.\r\n"[..]),
        ("CRLF.LF", b"a\r\n.\nMAIL FROM:<x@y.org>\r\n.\r\n"),
        ("CR.CR", b"a\r.\rMAIL FROM:<x@y.org>\r\n.\r\n"),
        ("LF.LF", b"a\n.\nMAIL FROM:<x@y.org>\r\n.\r\n"),
        ("CR.CRLF", b"a\r.\r\nMAIL FROM:<x@y.org>\r\n.\r\n"),
        ("bare CR in line", b"a\rb\r\n.\r\n"),
    ] {
        let mut all = msg.to_vec();
        all.extend_from_slice(b"QUIT\r\n");
        assert_eq!(
            frames(&all, true),
            vec![Frame::Data(Err(DataError::BareLineEnding)), line("QUIT")],
            "{name}"
        );
    }
}

#[test]
fn dot_after_bare_lf_line_is_data() {
    // The "." after a bare-LF line is not a terminator: the message goes on
    // to the real one, and the smuggled command inside is swallowed.
    let (fr, _) = run_split(b"x\n.\r\nRSET\r\n", &[], true);
    assert_eq!(fr, vec![]);
}

#[test]
fn text_line_limit() {
    let ok = format!("{}\r\n.\r\n", "a".repeat(998));
    assert_eq!(
        frames(ok.as_bytes(), true),
        vec![Frame::Data(Ok(ok.as_bytes()[..1000].to_vec()))]
    );
    let stuffed = format!(".{}\r\n.\r\n", "a".repeat(998));
    assert!(matches!(
        &frames(stuffed.as_bytes(), true)[0],
        Frame::Data(Ok(_))
    ));
    let long = format!("{}\r\n.\r\nQUIT\r\n", "a".repeat(999));
    assert_eq!(
        frames(long.as_bytes(), true),
        vec![Frame::Data(Err(DataError::LineTooLong(1000))), line("QUIT")]
    );
}

#[test]
fn very_long_data_line_is_not_buffered() {
    let mut f = Framer::new(limits());
    f.begin_data();
    let mut buf = vec![b'a'; 50_000];
    assert_eq!(f.next(&mut buf), None);
    assert!(buf.is_empty());
    buf.extend_from_slice(b"aaa\r\n.\r\n");
    assert_eq!(
        f.next(&mut buf),
        Some(Frame::Data(Err(DataError::LineTooLong(1000))))
    );
}

#[test]
fn message_size_limit_is_exact() {
    // 100 lines of 98 + CRLF = 10,000 octets: at the limit.
    let mut ok = Vec::new();
    for _ in 0..100 {
        ok.extend(std::iter::repeat_n(b'a', 98));
        ok.extend_from_slice(b"\r\n");
    }
    let mut input = ok.clone();
    input.extend_from_slice(b".\r\n");
    assert_eq!(
        run_split(&input, &[], true).0,
        vec![Frame::Data(Ok(ok.clone()))]
    );
    let mut over = b"b\r\n".to_vec();
    over.extend_from_slice(&input);
    over.extend_from_slice(b"NOOP\r\n");
    assert_eq!(
        run_split(&over, &[7, 300], true).0,
        vec![Frame::Data(Err(DataError::TooBig)), line("NOOP")]
    );
}

#[test]
fn error_replies() {
    assert_eq!(DataError::TooBig.reply().code, 552);
    assert_eq!(DataError::LineTooLong(1000).reply().code, 500);
    assert_eq!(DataError::BareLineEnding.reply().code, 550);
}

/// The default policy accepts what Postfix accepts: bare LF line ends
/// (stored as CRLF), bare CR inside a line, long lines.
#[test]
fn lenient_policy_normalizes_bare_lf_and_takes_long_lines() {
    assert_eq!(
        frames_with(
            lenient(),
            b"Subject: x\n\nline one\nline two\r\n..dot\n.\r\nRSET\r\n.\r\nQUIT\r\n",
            true
        ),
        vec![
            Frame::Data(Ok(
                b"Subject: x\r\n\r\nline one\r\nline two\r\n.dot\r\n\r\nRSET\r\n".to_vec()
            )),
            line("QUIT")
        ],
        "the \".\" after a bare LF is content (unstuffed), not the end"
    );
    let long = format!("{}\r\n.\r\n", "a".repeat(2000));
    assert_eq!(
        frames_with(lenient(), long.as_bytes(), true),
        vec![Frame::Data(Ok(long.as_bytes()[..2002].to_vec()))]
    );
    let cr = b"a\rb\r\n.\r\n";
    assert_eq!(
        frames_with(lenient(), cr, true),
        vec![Frame::Data(Ok(b"a\rb\r\n".to_vec()))]
    );
    let too_long = format!("{}\r\n.\r\nQUIT\r\n", "a".repeat(3999));
    assert_eq!(
        frames_with(lenient(), too_long.as_bytes(), true),
        vec![Frame::Data(Err(DataError::LineTooLong(4000))), line("QUIT")]
    );
}

/// Under the default policy as under the strict one, only <CRLF>.<CRLF>
/// ends DATA: every smuggling sequence is content, and the command after
/// it is part of the message, never run.
#[test]
fn smuggling_sequences_never_end_data_when_normalizing() {
    for (name, msg, stored) in [
        (
            "LF.CRLF",
            &b"a\r\nb\n.\r\nMAIL FROM:<x@y.org>\r\n.\r\n"[..],
            &b"a\r\nb\r\n\r\nMAIL FROM:<x@y.org>\r\n"[..],
        ),
        (
            "CRLF.LF",
            b"a\r\n.\nMAIL FROM:<x@y.org>\r\n.\r\n",
            b"a\r\n\r\nMAIL FROM:<x@y.org>\r\n",
        ),
        (
            "LF.LF",
            b"a\n.\nMAIL FROM:<x@y.org>\r\n.\r\n",
            b"a\r\n\r\nMAIL FROM:<x@y.org>\r\n",
        ),
        (
            "CR.CR",
            b"a\r.\rMAIL FROM:<x@y.org>\r\n.\r\n",
            b"a\r.\rMAIL FROM:<x@y.org>\r\n",
        ),
        (
            "CR.CRLF",
            b"a\r.\r\nMAIL FROM:<x@y.org>\r\n.\r\n",
            b"a\r.\r\nMAIL FROM:<x@y.org>\r\n",
        ),
    ] {
        let mut all = msg.to_vec();
        all.extend_from_slice(b"QUIT\r\n");
        assert_eq!(
            frames_with(lenient(), &all, true),
            vec![Frame::Data(Ok(stored.to_vec())), line("QUIT")],
            "{name}"
        );
    }
}
