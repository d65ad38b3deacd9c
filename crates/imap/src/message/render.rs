//! ENVELOPE, BODY and BODYSTRUCTURE as written on the wire (RFC 9051
//! section 7.5.2 and the `envelope`, `body`, `body-type-1part`,
//! `body-type-mpart`, `body-ext-1part`, `body-ext-mpart` rules of
//! section 9).
//!
//! - The envelope's Sender and Reply-To default to From when absent or
//!   empty (RFC 9051 7.5.2).
//! - Body parameters are `NIL` when there are none; a text part without a
//!   Content-Type carries `("charset" "us-ascii")` (RFC 2045 5.2).
//! - Extension data is written in full (`md5 dsp lang loc` for one part,
//!   `params dsp lang loc` for multiparts); a single language is a string,
//!   several a list.
//! - Strings are written by the crate's one encoder
//!   (`wire::response::push_string`): quoted when short, 7-bit and free of
//!   CR, LF, NUL and quoted-specials, literals otherwise,
//!   so the result is valid for IMAP4rev1 and IMAP4rev2 clients alike.

use super::address::Addr;
use super::summary::{BodyNode, Envelope, NodeKind, Summary};
use crate::wire::response;

/// Message text is written 7-bit-safe: a summary is rendered the same for
/// every client, so 8-bit values go as literals (RFC 6855 clients too).
fn push_string(out: &mut String, s: &str) {
    response::push_string(out, s, false);
}

fn push_nstring(out: &mut String, s: Option<&str>) {
    response::push_nstring(out, s, false);
}

fn push_addresses(out: &mut String, list: &[Addr]) {
    if list.is_empty() {
        out.push_str("NIL");
        return;
    }
    out.push('(');
    for a in list {
        match a {
            Addr::Mailbox {
                name,
                adl,
                mailbox,
                host,
            } => {
                out.push('(');
                push_nstring(out, name.as_deref());
                out.push(' ');
                push_nstring(out, adl.as_deref());
                out.push(' ');
                push_string(out, mailbox);
                out.push(' ');
                push_string(out, host);
                out.push(')');
            }
            Addr::GroupStart(name) => {
                out.push_str("(NIL NIL ");
                push_string(out, name);
                out.push_str(" NIL)");
            }
            Addr::GroupEnd => out.push_str("(NIL NIL NIL NIL)"),
        }
    }
    out.push(')');
}

pub(crate) fn push_envelope(out: &mut String, e: &Envelope) {
    out.push('(');
    push_nstring(out, e.date.as_deref());
    out.push(' ');
    push_nstring(out, e.subject.as_deref());
    out.push(' ');
    push_addresses(out, &e.from);
    out.push(' ');
    push_addresses(
        out,
        if e.sender.is_empty() {
            &e.from
        } else {
            &e.sender
        },
    );
    out.push(' ');
    push_addresses(
        out,
        if e.reply_to.is_empty() {
            &e.from
        } else {
            &e.reply_to
        },
    );
    for list in [&e.to, &e.cc, &e.bcc] {
        out.push(' ');
        push_addresses(out, list);
    }
    out.push(' ');
    push_nstring(out, e.in_reply_to.as_deref());
    out.push(' ');
    push_nstring(out, e.message_id.as_deref());
    out.push(')');
}

fn push_params(out: &mut String, params: &[(String, String)]) {
    if params.is_empty() {
        out.push_str("NIL");
        return;
    }
    out.push('(');
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_string(out, k);
        out.push(' ');
        push_string(out, v);
    }
    out.push(')');
}

/// `body-fld-dsp SP body-fld-lang SP body-fld-loc`.
fn push_dsp_lang_loc(out: &mut String, b: &BodyNode) {
    match &b.disposition {
        None => out.push_str("NIL"),
        Some((kind, params)) => {
            out.push('(');
            push_string(out, kind);
            out.push(' ');
            push_params(out, params);
            out.push(')');
        }
    }
    out.push(' ');
    match b.language.as_slice() {
        [] => out.push_str("NIL"),
        [one] => push_string(out, one),
        many => {
            out.push('(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                push_string(out, l);
            }
            out.push(')');
        }
    }
    out.push(' ');
    push_nstring(out, b.location.as_deref());
}

/// Writes one body. Recursion follows the summary's nesting, which the
/// MIME parser and the decoder both cap (`mime::MAX_DEPTH`).
pub(crate) fn push_body(out: &mut String, b: &BodyNode, extensible: bool) {
    out.push('(');
    match &b.kind {
        NodeKind::Multipart(parts) => {
            for p in parts {
                push_body(out, p, extensible);
            }
            out.push(' ');
            push_string(out, &b.sub);
            if extensible {
                out.push(' ');
                push_params(out, &b.params);
                out.push(' ');
                push_dsp_lang_loc(out, b);
            }
        }
        kind => {
            push_string(out, &b.main);
            out.push(' ');
            push_string(out, &b.sub);
            out.push(' ');
            push_params(out, &b.params);
            out.push(' ');
            push_nstring(out, b.id.as_deref());
            out.push(' ');
            push_nstring(out, b.description.as_deref());
            out.push(' ');
            push_string(out, &b.encoding);
            out.push(' ');
            out.push_str(&b.size.to_string());
            if let NodeKind::Message(env, inner) = kind {
                out.push(' ');
                push_envelope(out, env);
                out.push(' ');
                push_body(out, inner, extensible);
                out.push(' ');
                out.push_str(&b.lines.to_string());
            } else if b.main.eq_ignore_ascii_case("text") {
                out.push(' ');
                out.push_str(&b.lines.to_string());
            }
            if extensible {
                out.push(' ');
                push_nstring(out, b.md5.as_deref());
                out.push(' ');
                push_dsp_lang_loc(out, b);
            }
        }
    }
    out.push(')');
}

impl Summary {
    /// The ENVELOPE (RFC 9051 7.5.2), ready for the wire.
    pub fn envelope(&self) -> String {
        let mut out = String::with_capacity(256);
        push_envelope(&mut out, &self.envelope);
        out
    }

    /// BODYSTRUCTURE (with extension data) when `extensible`, else BODY.
    pub fn body_structure(&self, extensible: bool) -> String {
        let mut out = String::with_capacity(256);
        push_body(&mut out, &self.body, extensible);
        out
    }
}
