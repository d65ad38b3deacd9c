//! Cross-module tests: golden ENVELOPE/BODY/BODYSTRUCTURE files for
//! real-world-like messages, an independent parser (imap-proto) reading
//! what we write, sizes checked against the sections we serve, threading,
//! and the fuzz corpus replayed.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use imap_proto::types::{AttributeValue, BodyStructure, Response};

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/message")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const FIXTURES: &[&str] = &[
    "alternative.eml",
    "mixed_attachment.eml",
    "forward_rfc822.eml",
    "eight_bit_headers.eml",
    "rfc2047_subject.eml",
    "digest.eml",
];

fn rendered(raw: &[u8]) -> String {
    let s = Summary::decode(&Summary::from_message(raw).encode()).expect("round trip");
    format!(
        "ENVELOPE {}\nBODY {}\nBODYSTRUCTURE {}\nPREVIEW {}\n",
        s.envelope(),
        s.body_structure(false),
        s.body_structure(true),
        s.preview()
    )
}

/// Each fixture's rendering must equal its `.golden` file; on a mismatch the
/// output is written beside it as `.actual` for review.
#[test]
fn golden_envelope_and_body_structure() {
    let mut failed = Vec::new();
    for name in FIXTURES {
        let got = rendered(&fixture(name));
        let golden = fixtures().join(name.replace(".eml", ".golden"));
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            let _ = std::fs::write(golden.with_extension("actual"), &got);
            failed.push(*name);
        }
    }
    assert!(
        failed.is_empty(),
        "golden mismatch (see *.actual): {failed:?}"
    );
}

/// A simple message whose ENVELOPE and BODYSTRUCTURE are worked out by hand
/// from RFC 9051 7.5.2.
#[test]
fn hand_derived_simple_message() {
    let raw = b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\nSubject: IMAP4rev2 WG mtg summary and minutes\r\nTo: imap@cac.washington.edu\r\ncc: minutes@CNRI.Reston.VA.US, \"John Klensin\" <KLENSIN@MIT.EDU>\r\nMessage-Id: <B27397-0100000@cac.washington.edu>\r\n\r\nline one\r\nline two\r\n";
    let s = Summary::from_message(raw);
    assert_eq!(
        s.envelope(),
        "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"IMAP4rev2 WG mtg summary and minutes\" \
         ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
         ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
         ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
         ((NIL NIL \"imap\" \"cac.washington.edu\")) \
         ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) \
         NIL NIL \"<B27397-0100000@cac.washington.edu>\")"
    );
    // No Content-Type: text/plain; charset=us-ascii, 7bit; 20 octets, 2 lines.
    assert_eq!(
        s.body_structure(false),
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 20 2)"
    );
    assert_eq!(
        s.body_structure(true),
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 20 2 NIL NIL NIL NIL)"
    );
}

fn parse_fetch(item: &str, value: &str) -> Vec<AttributeValue<'static>> {
    let line = format!("* 1 FETCH ({item} {value})\r\n");
    let (rest, resp) = imap_proto::parser::parse_response(line.as_bytes())
        .unwrap_or_else(|e| panic!("imap-proto rejects {item}: {e:?}\n{line}"));
    assert!(
        rest.is_empty(),
        "left over: {:?}",
        String::from_utf8_lossy(rest)
    );
    match resp {
        Response::Fetch(1, attrs) => attrs.into_iter().map(AttributeValue::into_owned).collect(),
        other => panic!("not a FETCH: {other:?}"),
    }
}

fn cow(s: &Option<Cow<'_, [u8]>>) -> Option<String> {
    s.as_ref().map(|c| String::from_utf8_lossy(c).into_owned())
}

/// imap-proto parses our ENVELOPE and both body forms, and the values it
/// reads back are the ones we meant.
#[test]
fn imap_proto_accepts_our_output() {
    // Each fixture as is (CRLF) and with bare LF line ends, as some
    // mailers and mbox imports store them.
    let variants = FIXTURES.iter().flat_map(|name| {
        let crlf = fixture(name);
        let lf = String::from_utf8_lossy(&crlf)
            .replace("\r\n", "\n")
            .into_bytes();
        [(*name, crlf), (*name, lf)]
    });
    for (name, raw) in variants {
        let s = Summary::from_message(&raw);
        let attrs = parse_fetch("ENVELOPE", &s.envelope());
        let AttributeValue::Envelope(env) = &attrs[0] else {
            panic!("{name}: {attrs:?}")
        };
        assert_eq!(
            cow(&env.message_id).map(|m| m.trim_matches(['<', '>']).to_string()),
            s.message_id(),
            "{name}"
        );
        let from = env.from.as_ref().expect("from");
        assert_eq!(cow(&from[0].mailbox), s.from_addr(), "{name}");
        for ext in [false, true] {
            // imap-proto reads the body grammar only after BODYSTRUCTURE;
            // its extension data is optional, so BODY's form parses there too.
            let attrs = parse_fetch("BODYSTRUCTURE", &s.body_structure(ext));
            let AttributeValue::BodyStructure(bs) = &attrs[0] else {
                panic!("{name}: {attrs:?}")
            };
            check_sizes(&raw, bs, &mut Vec::new(), name);
            if !ext {
                assert!(
                    !has_extension(bs),
                    "{name}: BODY must carry no extension data"
                );
            }
        }
    }
}

fn has_extension(bs: &BodyStructure<'_>) -> bool {
    match bs {
        BodyStructure::Basic { extension, .. }
        | BodyStructure::Text { extension, .. }
        | BodyStructure::Message { extension, .. } => extension.is_some(),
        BodyStructure::Multipart {
            common, extension, ..
        } => extension.is_some() || common.disposition.is_some() || common.language.is_some(),
    }
}

/// Every part's octet count equals the length of `BODY[part]`, and text
/// parts' line counts match the section's lines.
fn check_sizes(raw: &[u8], bs: &BodyStructure<'_>, path: &mut Vec<u32>, name: &str) {
    let part = |p: &[u32]| {
        section(
            raw,
            &SectionSpec {
                part: if p.is_empty() { vec![1] } else { p.to_vec() },
                text: SectionText::Full,
            },
        )
        .unwrap_or_else(|| panic!("{name}: no section {p:?}"))
    };
    match bs {
        BodyStructure::Multipart { bodies, .. } => {
            for (i, b) in bodies.iter().enumerate() {
                path.push(i as u32 + 1);
                check_sizes(raw, b, path, name);
                path.pop();
            }
        }
        BodyStructure::Text { other, lines, .. } => {
            let bytes = part(path);
            assert_eq!(other.octets as usize, bytes.len(), "{name} {path:?}");
            let lf = bytes.iter().filter(|&&b| b == b'\n').count();
            assert!(
                *lines as usize == lf || *lines as usize == lf + 1,
                "{name} {path:?}"
            );
        }
        BodyStructure::Basic { other, .. } => {
            assert_eq!(other.octets as usize, part(path).len(), "{name} {path:?}");
        }
        BodyStructure::Message { other, body, .. } => {
            assert_eq!(other.octets as usize, part(path).len(), "{name} {path:?}");
            if !matches!(**body, BodyStructure::Multipart { .. }) {
                path.push(1);
                check_sizes(raw, body, path, name);
                path.pop();
            } else {
                check_sizes(raw, body, path, name);
            }
        }
    }
}

#[test]
fn sections_of_the_forwarded_message() {
    let raw = fixture("forward_rfc822.eml");
    let get = |part: &[u32], text: SectionText| {
        section(
            &raw,
            &SectionSpec {
                part: part.to_vec(),
                text,
            },
        )
        .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(
        get(&[2], SectionText::HeaderFields(vec!["Subject".into()])).as_deref(),
        Some("Subject: Lunch on Friday?\r\n\r\n")
    );
    assert_eq!(
        get(&[2, 1], SectionText::Full).as_deref(),
        Some("Friday at 12:30?")
    );
    assert_eq!(
        get(&[2, 2], SectionText::Mime).as_deref(),
        Some("Content-Type: text/html; charset=us-ascii\r\n\r\n")
    );
    assert_eq!(
        get(&[2, 2], SectionText::Full).as_deref(),
        Some("<p>Friday at 12:30?</p>")
    );
    assert_eq!(
        get(&[2], SectionText::Mime).as_deref(),
        Some("Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n")
    );
    // The whole is header + text, byte for byte.
    let whole = get(&[], SectionText::Full).unwrap();
    let h = get(&[], SectionText::Header).unwrap();
    let t = get(&[], SectionText::Text).unwrap();
    assert_eq!(whole, h + &t);
}

#[test]
fn sections_of_the_digest() {
    let raw = fixture("digest.eml");
    let get = |part: &[u32], text: SectionText| {
        section(
            &raw,
            &SectionSpec {
                part: part.to_vec(),
                text,
            },
        )
        .map(|v| String::from_utf8(v).unwrap())
    };
    // Digest parts default to message/rfc822 (RFC 2046 5.1.5): HEADER and
    // TEXT reach into them, and their MIME header is empty.
    assert_eq!(
        get(&[2, 2], SectionText::HeaderFields(vec!["subject".into()])).as_deref(),
        Some("Subject: Re: Meeting moved\r\n\r\n")
    );
    assert_eq!(
        get(&[2, 1], SectionText::Text).as_deref(),
        Some("The meeting is now on Tuesday.")
    );
    assert_eq!(
        get(&[2, 1, 1], SectionText::Full).as_deref(),
        Some("The meeting is now on Tuesday.")
    );
    assert_eq!(get(&[2, 1], SectionText::Mime).as_deref(), Some("\r\n"));
    assert_eq!(get(&[2, 3], SectionText::Full), None);
}

#[test]
fn binary_of_the_attachment() {
    let raw = fixture("mixed_attachment.eml");
    let pdf = binary(&raw, &[2]).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    assert!(pdf.ends_with(b"%%EOF\n"));
}

fn msg(headers: &str) -> Summary {
    Summary::from_message(format!("{headers}\r\n\r\nbody\r\n").as_bytes())
}

#[test]
fn ordered_subject_threads() {
    let m = [
        msg("Subject: apples\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000"),
        msg("Subject: Re: pears\r\nDate: Mon, 1 Jan 2024 09:00:00 +0000"),
        msg("Subject: RE: Apples\r\nDate: Mon, 1 Jan 2024 11:00:00 +0000"),
        msg("Subject: pears\r\nDate: Mon, 1 Jan 2024 12:00:00 +0000"),
        msg("Subject: Fwd: apples\r\nDate: Mon, 1 Jan 2024 10:30:00 +0000"),
        msg("Subject: plums\r\nDate: Mon, 1 Jan 2024 08:00:00 +0000"),
    ];
    let input: Vec<(u32, &Summary)> = m
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32 + 1, s))
        .collect();
    let t = thread_ordered_subject(&input);
    // plums (08:00) first, then pears (first is #2 at 09:00), then apples.
    assert_eq!(format_threads(&t), "(6)(2 4)(1 (5)(3))");
}

#[test]
fn references_threads() {
    let m = [
        msg("Message-ID: <a@x>\r\nSubject: topic\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000"),
        msg(
            "Message-ID: <b@x>\r\nReferences: <a@x>\r\nSubject: Re: topic\r\nDate: Mon, 1 Jan 2024 11:00:00 +0000",
        ),
        msg(
            "Message-ID: <c@x>\r\nIn-Reply-To: <a@x>\r\nSubject: Re: topic\r\nDate: Mon, 1 Jan 2024 10:30:00 +0000",
        ),
        msg(
            "Message-ID: <d@x>\r\nReferences: <a@x> <b@x>\r\nSubject: Re: topic\r\nDate: Mon, 1 Jan 2024 12:00:00 +0000",
        ),
        msg(
            "Message-ID: <e@x>\r\nReferences: <missing@x>\r\nSubject: other\r\nDate: Mon, 1 Jan 2024 09:00:00 +0000",
        ),
        msg("Message-ID: <f@x>\r\nSubject: Re: other\r\nDate: Mon, 1 Jan 2024 13:00:00 +0000"),
        msg("Message-ID: <g@x>\r\nSubject: lonely\r\nDate: Mon, 1 Jan 2024 08:00:00 +0000"),
    ];
    let input: Vec<(u32, &Summary)> = m
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32 + 1, s))
        .collect();
    let t = thread_references(&input);
    // g alone; e (its dummy parent pruned, a single child at top level) with
    // f merged under it by subject (f is a reply, e is not); a with c then b
    // by date, d under b.
    assert_eq!(format_threads(&t), "(7)(5 6)(1 (3)(2 4))");
}

#[test]
fn references_two_roots_under_a_dummy() {
    let m = [
        msg(
            "Message-ID: <1@x>\r\nReferences: <root@x>\r\nSubject: Re: s\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000",
        ),
        msg(
            "Message-ID: <2@x>\r\nReferences: <root@x>\r\nSubject: Re: s\r\nDate: Mon, 1 Jan 2024 09:00:00 +0000",
        ),
    ];
    let input: Vec<(u32, &Summary)> = m
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32 + 1, s))
        .collect();
    let t = thread_references(&input);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].id, None);
    assert_eq!(format_threads(&t), "((2)(1))");
}

#[test]
fn references_loops_and_duplicates_terminate() {
    let m = [
        msg("Message-ID: <a@x>\r\nReferences: <b@x>\r\nSubject: x"),
        msg("Message-ID: <b@x>\r\nReferences: <a@x>\r\nSubject: y"),
        msg("Message-ID: <a@x>\r\nSubject: z"),
        msg("Message-ID: <c@x>\r\nReferences: <c@x>\r\nSubject: w"),
    ];
    let input: Vec<(u32, &Summary)> = m
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32 + 1, s))
        .collect();
    let t = thread_references(&input);
    let out = format_threads(&t);
    for id in ["1", "2", "3", "4"] {
        assert_eq!(out.matches(id).count(), 1, "{out}");
    }
}

#[test]
fn long_reply_chain_does_not_overflow() {
    let n = 20_000u32;
    let summaries: Vec<Summary> = (0..n)
        .map(|i| {
            let refs = if i == 0 {
                String::new()
            } else {
                format!("\r\nIn-Reply-To: <{}@x>", i - 1)
            };
            msg(&format!("Message-ID: <{i}@x>{refs}\r\nSubject: chain"))
        })
        .collect();
    let input: Vec<(u32, &Summary)> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32 + 1, s))
        .collect();
    let t = thread_references(&input);
    let out = format_threads(&t);
    assert!(out.starts_with("(1 2 3 "));
    assert!(out.ends_with(&format!(" {n})")));
    drop(t);
}

#[test]
fn format_threads_syntax() {
    let leaf = |id| ThreadNode {
        id: Some(id),
        children: vec![],
    };
    let t = vec![
        ThreadNode {
            id: Some(3),
            children: vec![ThreadNode {
                id: Some(6),
                children: vec![
                    ThreadNode {
                        id: Some(4),
                        children: vec![leaf(23)],
                    },
                    ThreadNode {
                        id: Some(44),
                        children: vec![ThreadNode {
                            id: Some(7),
                            children: vec![leaf(96)],
                        }],
                    },
                ],
            }],
        },
        ThreadNode {
            id: None,
            children: vec![leaf(1), leaf(2)],
        },
    ];
    // RFC 5256 section 4's example, plus a dummy-rooted thread.
    assert_eq!(format_threads(&t), "(3 6 (4 23)(44 7 96))((1)(2))");
    assert_eq!(format_threads(&[]), "");
}

/// The fuzz corpus, replayed: summarize, decode, render, extract sections.
#[test]
fn fuzz_corpus_replays() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/imap_message/corpus/imap_message");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        crate::fuzzing::message(&bytes);
        n += 1;
    }
    assert!(n >= 5, "corpus has {n} files");
}

/// Every prefix of every fixture (a message cut anywhere) goes through the
/// whole pipeline without a panic, and its summary round-trips.
#[test]
fn every_prefix_of_the_fixtures() {
    for name in FIXTURES {
        let raw = fixture(name);
        for n in 0..=raw.len() {
            crate::fuzzing::message(&raw[..n]);
        }
    }
}

/// The real store runs the summarizer at delivery and hands the bytes back
/// (decrypted) in the message's metadata.
#[test]
fn store_keeps_the_summary() {
    use sealpost_store::{Store, StoreOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(StoreOptions {
        data_dir: dir.path().join("data"),
        master_key: dir.path().join("master.key"),
        summarizer: std::sync::Arc::new(ImapSummarizer),
    })
    .expect("open store");
    let account = store.create_account("zoe@example.fr").expect("account");
    for name in FIXTURES {
        let raw = fixture(name);
        let appended = store.deliver(account, &raw).expect("deliver");
        let meta = store
            .meta(account, appended.mailbox, appended.uid)
            .expect("meta")
            .expect("message exists");
        let summary = Summary::decode(&meta.summary).expect("stored summary decodes");
        assert_eq!(summary, Summary::from_message(&raw), "{name}");
        assert_eq!(
            rendered(&raw),
            std::fs::read_to_string(fixtures().join(name.replace(".eml", ".golden")))
                .unwrap_or_default()
        );
    }
}
