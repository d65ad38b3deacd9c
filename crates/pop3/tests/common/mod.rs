//! Shared test support.
#![allow(dead_code)]

pub mod client;
pub mod server;
pub mod transcript;

/// The three messages of alice@example.org's INBOX in every transcript (UIDs 1-3).
pub const MESSAGES: [&[u8]; 3] = [
    b"From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n",
    b"Subject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n",
    "Subject: three\r\nX-Long: yes\r\n\r\nline 1\r\nline 2\r\nline 3\r\n\u{e4} utf8 line\r\n"
        .as_bytes(),
];

pub const ALICE: &str = "alice@example.org";
pub const ALICE_PASS: &str = "correct horse";
pub const BOB: &str = "bob@example.org";
pub const BOB_PASS: &str = "bob-pass";
