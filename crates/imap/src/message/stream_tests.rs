//! The streamed summary is the whole message's, whatever the structure
//! and wherever the pieces are cut.

use super::*;

fn streamed(raw: &[u8], piece: usize) -> Vec<u8> {
    let mut s = StreamSummary::new();
    for p in raw.chunks(piece.max(1)) {
        s.push(p);
    }
    s.finish()
}

/// Same summary as the whole message's, for pieces of every size up to
/// `max_piece` and a few large ones.
fn same(name: &str, raw: &[u8], max_piece: usize) {
    let whole = Summary::from_message(raw).encode();
    let pieces = (1..=max_piece).chain([64, 4096, raw.len().max(1)]);
    for piece in pieces {
        let got = streamed(raw, piece);
        assert!(!got.is_empty(), "{name}: no summary (pieces of {piece})");
        if got != whole {
            panic!(
                "{name}, pieces of {piece}:\n streamed {:?}\n whole    {:?}",
                Summary::decode(&got),
                Summary::from_message(raw)
            );
        }
    }
}

const CASES: &[(&str, &str)] = &[
    ("empty", ""),
    ("header only, no blank line", "Subject: hi\r\nFrom: a@b.c"),
    ("header and body", "Subject: hi\r\n\r\nbody\r\nline two"),
    ("body ends with a line break", "Subject: hi\r\n\r\nbody\r\n"),
    (
        "LF only",
        "Subject: hi\nContent-Type: text/plain\n\nbody\nmore\n",
    ),
    ("CR CR LF", "Subject: hi\\r\r\n\r\nbody\\r\r\n"),
    (
        "multipart",
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1\r\n\r\nsecond\r\n--b1--\r\nepilogue\r\n",
    ),
    (
        "unterminated multipart",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>",
    ),
    (
        "multipart without delimiters",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts here\r\n",
    ),
    (
        "multipart with an empty body",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n",
    ),
    (
        "multipart without boundary",
        "Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n",
    ),
    (
        "empty parts and a header without blank line",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n\r\n--b\r\nContent-Type: text/plain\r\n--b\r\n\r\n\r\n--b--",
    ),
    (
        "boundary prefix and padding",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--bb\r\n--b \t\r\n\r\nnext\r\n--b-- \r\n--b\r\nafter close\r\n",
    ),
    (
        "nested, same and prefixed boundaries",
        "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/alternative; boundary=oo\r\n\r\n--oo\r\n\r\nplain\r\n--oo\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--o\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\ninner same boundary\r\n--o--\r\n",
    ),
    (
        "message/rfc822 with a multipart inside",
        "Subject: outer\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\ntext\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: Inner <in@example.org>\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\n\r\ninner text\r\n--y--\r\n--x--\r\n",
    ),
    (
        "message/rfc822 cut in its header",
        "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: no blank line\r\n--x--",
    ),
    (
        "digest",
        "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nbody one\r\n--d\r\nContent-Type: text/plain\r\n\r\nnot a message\r\n--d--\r\n",
    ),
    (
        "attachment first, then inline text",
        "Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nattached\r\n--m\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 =\r\nsoft\r\n--m--\r\n",
    ),
    (
        "folded headers and a final delimiter without line break",
        "Subject: a\r\n folded\r\n subject\r\nContent-Type: multipart/mixed;\r\n\tboundary=\"f\"\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\nlast\r\n--f--",
    ),
];

#[test]
fn every_case_in_pieces_of_every_size() {
    for (name, raw) in CASES {
        same(name, raw.as_bytes(), 40);
        let lf = raw.replace("\r\n", "\n");
        same(name, lf.as_bytes(), 20);
    }
}

#[test]
fn the_fixtures_in_pieces() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/message");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            same(
                &path.display().to_string(),
                &std::fs::read(&path).unwrap(),
                3,
            );
            n += 1;
        }
    }
    assert!(n >= 5, "{n} fixtures");
}

/// Past the depth cap and past the part cap, as the whole parse does.
#[test]
fn depth_and_part_caps() {
    let mut deep = String::new();
    for i in 0..MAX_DEPTH + 3 {
        deep.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    deep.push_str("\r\ninnermost\r\n");
    same("deep multiparts", deep.as_bytes(), 2);
    let mut nested = String::new();
    for _ in 0..MAX_DEPTH + 3 {
        nested.push_str("Content-Type: message/rfc822\r\n\r\n");
    }
    nested.push_str("Subject: innermost\r\n\r\nbody\r\n");
    same("deep messages", nested.as_bytes(), 2);
    let mut many = String::from("Content-Type: multipart/mixed; boundary=p\r\n\r\n");
    for i in 0..MAX_PARTS + 5 {
        many.push_str(&format!("--p\r\n\r\n{i}\r\n"));
    }
    many.push_str("--p--\r\n");
    let whole = Summary::from_message(many.as_bytes()).encode();
    assert_eq!(streamed(many.as_bytes(), 4096), whole, "too many parts");
}

/// A 20 MiB multipart message: the same summary, with a preview from a
/// base64 text part longer than what the preview reads, and memory for
/// the headers only.
#[test]
fn a_large_multipart_message() {
    let mut raw = b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: large\r\nMessage-ID: <large@example.org>\r\nContent-Type: multipart/mixed; boundary=\"==big==\"\r\n\r\n--==big==\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    for i in 0..2000 {
        raw.extend_from_slice(format!("SGVsbG8sIHRoaXMgaXMgbGluZSB{i:05}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"--==big==\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n\r\n");
    let line = [b'A'; 76];
    while raw.len() < 20 << 20 {
        raw.extend_from_slice(&line);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"--==big==--\r\n");
    let whole = Summary::from_message(&raw).encode();
    let mut s = StreamSummary::new();
    for p in raw.chunks(65_536) {
        s.push(p);
    }
    assert!(s.skel.len() < 32 * 1024, "kept {} octets", s.skel.len());
    assert_eq!(s.finish(), whole);
}

/// Past the limits: no summary (IMAP then makes it from the message).
#[test]
fn limits_give_no_summary() {
    let mut raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b".to_vec();
    raw.extend(std::iter::repeat_n(b' ', LINE_HEAD + 10));
    raw.extend_from_slice(b"\r\n\r\nx\r\n");
    assert!(
        streamed(&raw, 1000).is_empty(),
        "a padded delimiter too long to hold"
    );
    let mut huge = b"Subject: x\r\n".to_vec();
    let field = format!("X-Filler: {}\r\n", "y".repeat(1000));
    while huge.len() <= MAX_SKELETON {
        huge.extend_from_slice(field.as_bytes());
    }
    huge.extend_from_slice(b"\r\nbody\r\n");
    assert!(streamed(&huge, 65_536).is_empty(), "headers past the limit");
    // A long line that cannot be a delimiter is fine.
    let mut long = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n".to_vec();
    long.extend(std::iter::repeat_n(b'z', 3 * LINE_HEAD));
    long.extend_from_slice(b"\r\n--b--\r\n");
    same("long content line", &long, 1);
}
