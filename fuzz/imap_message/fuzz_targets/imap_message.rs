//! Random bytes through the IMAP message logic: summarize, encode/decode,
//! ENVELOPE, BODY/BODYSTRUCTURE, sections, BINARY and SEARCH. Nothing may
//! panic, and a summary must decode back to itself. The crate's test
//! `message::tests::fuzz_corpus_replays` runs the same steps on the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost_imap::message::{
    SectionSpec, SectionText, Summary, TextWhere, binary, format_threads, search_text, section,
    thread_ordered_subject, thread_references,
};

fuzz_target!(|raw: &[u8]| {
    let s = Summary::from_message(raw);
    let d = Summary::decode(&s.encode()).expect("own encoding decodes");
    assert_eq!(d, s);
    let _ = (
        d.envelope(),
        d.body_structure(true),
        d.body_structure(false),
    );
    let _ = (
        d.base_subject(),
        d.display_from(),
        d.display_to(),
        d.references(),
    );
    for part in [&[][..], &[1], &[2], &[1, 1], &[2, 1], &[1, 2, 3]] {
        for text in [
            SectionText::Full,
            SectionText::Header,
            SectionText::Text,
            SectionText::Mime,
            SectionText::HeaderFields(vec!["subject".into()]),
            SectionText::HeaderFieldsNot(vec!["subject".into()]),
        ] {
            let _ = section(
                raw,
                &SectionSpec {
                    part: part.to_vec(),
                    text,
                },
            );
        }
        let _ = binary(raw, part);
    }
    let _ = search_text(raw, "x", TextWhere::Text);
    // Arbitrary bytes that happen to decode must render too.
    if let Some(junk) = Summary::decode(raw) {
        let _ = (junk.envelope(), junk.body_structure(true), junk.preview());
    }
    // The input cut into messages at NUL bytes, threaded both ways.
    let parts: Vec<Summary> = raw
        .split(|&b| b == 0)
        .take(64)
        .map(Summary::from_message)
        .collect();
    let msgs: Vec<(u32, &Summary)> = parts
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32 + 1, s))
        .collect();
    let _ = format_threads(&thread_references(&msgs));
    let _ = format_threads(&thread_ordered_subject(&msgs));
});
