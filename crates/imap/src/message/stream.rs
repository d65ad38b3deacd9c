//! The summary of a message made while it streams in, with a bounded part
//! of it in memory ([`StreamSummary`]): what the store runs on a message
//! too large to hold whole (an import of a 20 MiB message), so that FETCH
//! ENVELOPE/BODYSTRUCTURE/PREVIEW of it never read the message again.
//!
//! It gives exactly what [`Summary::from_message`] gives for the whole
//! message. The lines go through the same state machine as `mime.rs`'s
//! parse (RFC 5322 2.1 headers ended by a blank line, RFC 2046 5.1.1
//! delimiters whose preceding line break belongs to them, 5.2.1
//! message/rfc822, the depth and part caps), one line at a time:
//!
//! - every entity's header is kept (in a *skeleton* of the message), so
//!   the envelope, the media types and every field BODYSTRUCTURE names
//!   come from the same header parsing as for a whole message;
//! - a body is not kept, only measured: octets and lines, with the line
//!   break before a delimiter left out as `mime.rs` leaves it out;
//! - of the first inline text/plain and text/html parts (the RFC 8970
//!   preview's candidates) the first [`KEEP_TEXT`] octets are kept, all
//!   that the preview reads of a part.
//!
//! Then the skeleton is parsed into the [`Entity`] tree the whole message
//! would give, and the summary is made from it with the measured sizes.
//!
//! Limits: at most [`MAX_SKELETON`] octets of headers are kept, and a line
//! that could still be a boundary delimiter is held up to [`LINE_HEAD`]
//! octets. A message past either (headers of megabytes, a delimiter
//! followed by kilobytes of padding) gets no summary from here; IMAP then
//! makes it from the message when asked, as for messages stored before
//! summaries existed.

use super::mime::{self, ContentType, Entity, Field, Kind, MAX_DEPTH, MAX_FIELDS, MAX_PARTS};
use super::summary::Summary;
use std::ops::Range;

/// Most octets of headers (and preview text) kept.
pub const MAX_SKELETON: usize = 8 << 20;
/// Octets of a preview candidate's body kept: what the preview reads.
pub const KEEP_TEXT: usize = super::text::PREVIEW_SCAN;
/// Longest line held while it could be a boundary delimiter.
pub const LINE_HEAD: usize = 8 * 1024;

/// What an entity is, once its header has been read.
enum State {
    Header,
    Leaf {
        keep: usize,
    },
    Multipart {
        boundary: Vec<u8>,
        digest: bool,
        /// Delimiters still end parts (no close delimiter yet).
        splitting: bool,
        /// A part is open (a delimiter was seen).
        in_part: bool,
        /// Part ranges ended so far (`split_multipart`'s count).
        ranges: usize,
        /// The entity budget ran out: no further part is listed.
        stopped: bool,
    },
    Message,
}

/// An entity being read.
struct Open {
    node: usize,
    depth: usize,
    in_digest: bool,
    /// Inside an encapsulated message (not a preview candidate).
    in_message: bool,
    state: State,
    body_off: u64,
    body_lfs: u64,
}

/// What is known of an entity (in creation order, which is the pre-order
/// of the tree).
struct Node {
    header: Range<usize>,
    body: Range<usize>,
    fields: Vec<Field>,
    ctype: ContentType,
    children: Vec<usize>,
    message: Option<usize>,
    size: u64,
    lines: u64,
}

fn text_plain() -> ContentType {
    ContentType {
        main: "text".into(),
        sub: "plain".into(),
        params: vec![(b"charset".to_vec(), b"us-ascii".to_vec())],
    }
}

/// The summary of a message fed in pieces (see the module docs).
pub struct StreamSummary {
    skel: Vec<u8>,
    nodes: Vec<Node>,
    stack: Vec<Open>,
    budget: usize,
    kept_plain: bool,
    kept_html: bool,
    /// Offset where the current line starts, and LFs before it.
    line_start: u64,
    lfs: u64,
    /// The current line: its first octets (while it may be a delimiter),
    /// its length, whether its octets went to the entity already, and its
    /// last two octets.
    head: Vec<u8>,
    line_len: u64,
    flushed: bool,
    tail: [u8; 2],
    /// The previous line: octets before its line break, and the break's.
    last_content: u64,
    last_eol: u64,
    failed: bool,
}

impl Default for StreamSummary {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamSummary {
    /// Starts a message.
    pub fn new() -> StreamSummary {
        let mut s = StreamSummary {
            skel: Vec::new(),
            nodes: Vec::new(),
            stack: Vec::new(),
            budget: MAX_PARTS,
            kept_plain: false,
            kept_html: false,
            line_start: 0,
            lfs: 0,
            head: Vec::new(),
            line_len: 0,
            flushed: false,
            tail: [0; 2],
            last_content: 0,
            last_eol: 0,
            failed: false,
        };
        s.budget -= 1;
        s.open(0, false, false);
        s
    }

    fn open(&mut self, depth: usize, in_digest: bool, in_message: bool) {
        let at = self.skel.len();
        self.nodes.push(Node {
            header: at..at,
            body: at..at,
            fields: Vec::new(),
            ctype: text_plain(),
            children: Vec::new(),
            message: None,
            size: 0,
            lines: 0,
        });
        let node = self.nodes.len() - 1;
        if let Some(parent) = self.stack.last() {
            let p = parent.node;
            match parent.state {
                State::Message => self.nodes[p].message = Some(node),
                _ => self.nodes[p].children.push(node),
            }
        }
        self.stack.push(Open {
            node,
            depth,
            in_digest,
            in_message,
            state: State::Header,
            body_off: 0,
            body_lfs: 0,
        });
    }

    /// Adds the next octets of the message.
    pub fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.failed {
            let (piece, complete) = match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => (&bytes[..=i], true),
                None => (bytes, false),
            };
            self.line_bytes(piece);
            if complete {
                self.end_line(true);
            }
            bytes = &bytes[piece.len()..];
        }
    }

    /// The encoded summary; empty when a limit was passed.
    pub fn finish(mut self) -> Vec<u8> {
        if self.line_len > 0 && !self.failed {
            self.end_line(false);
        }
        if self.failed {
            return Vec::new();
        }
        let (end, lfs) = (self.line_start, self.lfs);
        let partial = self.last_eol == 0 && self.last_content > 0;
        while !self.stack.is_empty() {
            self.close_top(end, lfs, partial);
        }
        self.summary().encode()
    }

    fn line_bytes(&mut self, piece: &[u8]) {
        self.line_len += piece.len() as u64;
        for &b in piece.iter().rev().take(2).rev() {
            self.tail = [self.tail[1], b];
        }
        if self.flushed {
            self.deliver(piece);
            return;
        }
        let room = LINE_HEAD - self.head.len();
        if piece.len() <= room {
            self.head.extend_from_slice(piece);
            return;
        }
        self.head.extend_from_slice(&piece[..room]);
        if self.may_be_delimiter() {
            self.failed = true;
            return;
        }
        let head = std::mem::take(&mut self.head);
        self.deliver(&head);
        self.head = head;
        self.flushed = true;
        self.deliver(&piece[room..]);
    }

    /// Whether the held start of a long line could still be a delimiter.
    fn may_be_delimiter(&self) -> bool {
        self.stack.iter().any(|o| match &o.state {
            State::Multipart {
                boundary,
                splitting: true,
                ..
            } => {
                let Some(rest) = self.head.strip_prefix(b"--") else {
                    return false;
                };
                if rest.len() < boundary.len() {
                    return boundary.starts_with(rest);
                }
                let Some(rest) = rest.strip_prefix(boundary.as_slice()) else {
                    return false;
                };
                let rest = rest.strip_prefix(b"--").unwrap_or(rest);
                rest.iter()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            }
            _ => false,
        })
    }

    /// Which multipart on the stack (outermost first) the held line is a
    /// delimiter of, and whether it closes it.
    fn delimiter(&self) -> Option<(usize, bool)> {
        self.stack
            .iter()
            .enumerate()
            .find_map(|(i, o)| match &o.state {
                State::Multipart {
                    boundary,
                    splitting: true,
                    ..
                } => {
                    let rest = self
                        .head
                        .strip_prefix(b"--")?
                        .strip_prefix(boundary.as_slice())?;
                    let (close, rest) = match rest.strip_prefix(b"--") {
                        Some(r) => (true, r),
                        None => (false, rest),
                    };
                    rest.iter()
                        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                        .then_some((i, close))
                }
                _ => None,
            })
    }

    /// Octets of the current line go to the innermost entity.
    fn deliver(&mut self, bytes: &[u8]) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        match &mut top.state {
            State::Header => {
                if self.skel.len() + bytes.len() > MAX_SKELETON {
                    self.failed = true;
                    return;
                }
                self.skel.extend_from_slice(bytes);
            }
            State::Leaf { keep } if *keep > 0 => {
                let n = (*keep).min(bytes.len());
                *keep -= n;
                self.skel.extend_from_slice(&bytes[..n]);
            }
            _ => {}
        }
    }

    fn end_line(&mut self, complete: bool) {
        let eol = if !complete {
            0
        } else if self.line_len >= 2 && self.tail[0] == b'\r' {
            2
        } else {
            1
        };
        let mut delimiter = None;
        if !self.flushed {
            delimiter = self.delimiter();
            if delimiter.is_none() {
                let head = std::mem::take(&mut self.head);
                self.deliver(&head);
                self.head = head;
            }
        }
        let next = self.line_start + self.line_len;
        let lfs = self.lfs + u64::from(complete);
        if let Some((level, close)) = delimiter {
            self.on_delimiter(level, close);
        } else if let Some(top) = self.stack.last()
            && matches!(top.state, State::Header)
            && !self.flushed
            && (self.head == b"\n" || self.head == b"\r\n")
        {
            self.end_header(next, lfs);
        }
        self.line_start = next;
        self.lfs = lfs;
        self.last_content = self.line_len - eol;
        self.last_eol = eol;
        self.head.clear();
        self.line_len = 0;
        self.flushed = false;
        self.tail = [0; 2];
    }

    /// A delimiter of the multipart at `level`: what is open inside it
    /// ends before the line break that precedes the delimiter.
    fn on_delimiter(&mut self, level: usize, close: bool) {
        let end = self.line_start - self.last_eol;
        let lfs = self.lfs - u64::from(self.last_eol > 0);
        let partial = self.last_content > 0;
        while self.stack.len() > level + 1 {
            self.close_top(end, lfs, partial);
        }
        let (depth, in_message) = (self.stack[level].depth, self.stack[level].in_message);
        let State::Multipart {
            digest,
            splitting,
            in_part,
            ranges,
            stopped,
            ..
        } = &mut self.stack[level].state
        else {
            return;
        };
        if *in_part {
            *ranges += 1;
        }
        if close || *ranges >= MAX_PARTS {
            *splitting = false;
            *in_part = false;
            return;
        }
        *in_part = true;
        if *stopped || self.budget == 0 {
            *stopped = true;
            return;
        }
        let digest = *digest;
        self.budget -= 1;
        self.open(depth + 1, digest, in_message);
    }

    /// The header of the innermost entity ended; its body starts at `off`.
    fn end_header(&mut self, off: u64, lfs: u64) {
        let Some(top) = self.stack.last_mut() else {
            return;
        };
        top.body_off = off;
        top.body_lfs = lfs;
        let (depth, in_digest, in_message) = (top.depth, top.in_digest, top.in_message);
        let node = &mut self.nodes[top.node];
        node.header.end = self.skel.len();
        node.body = self.skel.len()..self.skel.len();
        let (fields, _) = mime::header_fields(&self.skel, node.header.clone(), MAX_FIELDS);
        node.fields = fields;
        let e = Entity {
            header: node.header.clone(),
            body: node.body.clone(),
            fields: std::mem::take(&mut node.fields),
            ctype: text_plain(),
            kind: Kind::Leaf,
        };
        let mut ctype = match e
            .field(&self.skel, "content-type")
            .and_then(mime::parse_content_type)
        {
            Some(ct) => ct,
            None if in_digest => ContentType {
                main: "message".into(),
                sub: "rfc822".into(),
                params: Vec::new(),
            },
            None => text_plain(),
        };
        let too_deep = depth + 1 >= MAX_DEPTH;
        let mut state = State::Leaf { keep: 0 };
        let mut inner = false;
        if ctype.is_main("multipart") {
            match ctype.param("boundary").map(<[u8]>::to_vec) {
                Some(b) if !b.is_empty() && !too_deep => {
                    state = State::Multipart {
                        boundary: b,
                        digest: ctype.sub.eq_ignore_ascii_case("digest"),
                        splitting: true,
                        in_part: false,
                        ranges: 0,
                        stopped: false,
                    }
                }
                _ => ctype = text_plain(),
            }
        } else if ctype.is_message() {
            if too_deep || self.budget == 0 {
                ctype = ContentType {
                    main: "application".into(),
                    sub: "octet-stream".into(),
                    params: Vec::new(),
                };
            } else {
                self.budget -= 1;
                state = State::Message;
                inner = true;
            }
        }
        if matches!(state, State::Leaf { .. }) && !in_message {
            let inline = !e
                .field(&self.skel, "content-disposition")
                .and_then(mime::parse_disposition)
                .is_some_and(|(kind, _)| kind.eq_ignore_ascii_case(b"attachment"));
            if inline && ctype.is("text", "plain") && !self.kept_plain {
                self.kept_plain = true;
                state = State::Leaf { keep: KEEP_TEXT };
            } else if inline && ctype.is("text", "html") && !self.kept_html {
                self.kept_html = true;
                state = State::Leaf { keep: KEEP_TEXT };
            }
        }
        let node = &mut self.nodes[top.node];
        node.fields = e.fields;
        node.ctype = ctype;
        top.state = state;
        if inner {
            self.open(depth + 1, false, true);
            let top = self.stack.last_mut().expect("just opened");
            top.body_off = off;
            top.body_lfs = lfs;
        }
    }

    /// Ends the innermost entity at `end` (`lfs` line feeds before it;
    /// `partial`: its last octet is not a line feed).
    fn close_top(&mut self, end: u64, lfs: u64, partial: bool) {
        if matches!(self.stack.last().map(|o| &o.state), Some(State::Header)) {
            // No blank line: all of it was header, the body is empty.
            self.end_header(end, lfs);
            if let Some(top) = self.stack.last()
                && matches!(top.state, State::Header)
            {
                // The encapsulated message just opened, empty too.
                self.close_top(end, lfs, partial);
            }
        }
        let Some(o) = self.stack.pop() else {
            return;
        };
        let size = end.saturating_sub(o.body_off);
        let lines = if size == 0 {
            0
        } else {
            lfs - o.body_lfs + u64::from(partial)
        };
        let empty_multipart =
            matches!(o.state, State::Multipart { .. }) && self.nodes[o.node].children.is_empty();
        let node = &mut self.nodes[o.node];
        node.size = size;
        node.lines = lines;
        if let State::Leaf { .. } = o.state {
            // The kept start of the body, without what the whole body
            // does not hold (the line break before a delimiter).
            let kept = node.body.start..self.skel.len();
            let len = (kept.len() as u64).min(size) as usize;
            node.body = kept.start..kept.start + len;
        }
        if empty_multipart {
            let at = self.skel.len();
            self.nodes.push(Node {
                header: at..at,
                body: at..at,
                fields: Vec::new(),
                ctype: text_plain(),
                children: Vec::new(),
                message: None,
                size: 0,
                lines: 0,
            });
            let n = self.nodes.len() - 1;
            self.nodes[o.node].children.push(n);
        }
    }

    fn entity(&mut self, n: usize) -> Entity {
        let kind = if let Some(m) = self.nodes[n].message {
            Kind::Message(Box::new(self.entity(m)))
        } else if self.nodes[n].ctype.is_main("multipart") {
            let children = self.nodes[n].children.clone();
            Kind::Multipart(children.into_iter().map(|c| self.entity(c)).collect())
        } else {
            Kind::Leaf
        };
        let node = &mut self.nodes[n];
        Entity {
            header: node.header.clone(),
            body: node.body.clone(),
            fields: std::mem::take(&mut node.fields),
            ctype: std::mem::replace(&mut node.ctype, text_plain()),
            kind,
        }
    }

    fn summary(&mut self) -> Summary {
        let sizes: Vec<(u32, u32)> = self
            .nodes
            .iter()
            .map(|n| {
                (
                    u32::try_from(n.size).unwrap_or(u32::MAX),
                    u32::try_from(n.lines).unwrap_or(u32::MAX),
                )
            })
            .collect();
        let root = self.entity(0);
        // The entities in pre-order are the nodes in creation order.
        let mut order: Vec<*const Entity> = Vec::with_capacity(sizes.len());
        fn walk(e: &Entity, out: &mut Vec<*const Entity>) {
            out.push(e as *const Entity);
            match &e.kind {
                Kind::Leaf => {}
                Kind::Multipart(parts) => parts.iter().for_each(|p| walk(p, out)),
                Kind::Message(inner) => walk(inner, out),
            }
        }
        walk(&root, &mut order);
        let measured: std::collections::HashMap<*const Entity, (u32, u32)> =
            order.into_iter().zip(sizes).collect();
        Summary::from_parsed(&self.skel, &root, &|e: &Entity| {
            measured
                .get(&(e as *const Entity))
                .copied()
                .unwrap_or((0, 0))
        })
    }
}

/// [`sealpost_store::SummaryStream`] for the store.
impl sealpost_store::SummaryStream for StreamSummary {
    fn push(&mut self, bytes: &[u8]) {
        StreamSummary::push(self, bytes);
    }
    fn finish(self: Box<Self>) -> Vec<u8> {
        StreamSummary::finish(*self)
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
