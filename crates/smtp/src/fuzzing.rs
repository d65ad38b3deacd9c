//! Fuzz entry points, shared by `fuzz/smtp_command`, `fuzz/smtp_data` and
//! the corpus replay in `cargo test`. Each checks invariants and panics if
//! one breaks; any other panic is a bug too.

use crate::wire::{Command, Frame, Framer, Limits};

fn limits() -> Limits {
    Limits {
        command_line: 512,
        text_line: 1000,
        max_message: 4096,
    }
}

/// Feeds `input` in two pieces cut at `cut`, collecting frames. The n-th
/// BDAT chunk is kept when bit n (mod 8) of the input's second octet is set,
/// as a session with a transaction would ask; others must hold nothing.
fn frames(input: &[u8], cut: usize, data: bool) -> Vec<Frame> {
    let mut f = Framer::new(limits());
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
    let whole = frames(data, data.len(), false);
    assert_eq!(
        whole,
        frames(data, cut, false),
        "framing depends on how input is split"
    );
    for fr in &whole {
        if let Frame::Line(line) = fr {
            assert!(line.len() <= 510);
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

/// DATA-mode framing: accepted messages never hold a bare CR or LF, never
/// a line over the limit, never more than the size limit.
pub fn data(data: &[u8]) {
    let cut = data.first().copied().unwrap_or(0) as usize;
    let whole = frames(data, data.len(), true);
    assert_eq!(
        whole,
        frames(data, cut, true),
        "framing depends on how input is split"
    );
    if let Some(Frame::Data(Ok(msg))) = whole.first() {
        assert!(msg.len() as u64 <= limits().max_message);
        let mut prev = 0u8;
        for (i, &b) in msg.iter().enumerate() {
            if b == b'\n' {
                assert_eq!(prev, b'\r', "bare LF at {i}");
            }
            if prev == b'\r' {
                assert_eq!(b, b'\n', "bare CR at {i}");
            }
            prev = b;
        }
        assert!(msg.is_empty() || msg.ends_with(b"\r\n"));
        for line in msg.split(|&b| b == b'\n') {
            assert!(line.len() <= 1000);
        }
    }
}
