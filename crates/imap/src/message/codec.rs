//! The binary encoding of a [`Summary`] kept beside every message.
//!
//! Format version 1, all integers LEB128 varints, strings length-prefixed
//! UTF-8, optional strings prefixed with `0` (absent) or `len + 1`:
//!
//! ```text
//! summary  = %x01 envelope body preview:str subject:opt-str
//!            date:(%x00 / %x01 zigzag) count *str(references)
//! envelope = date:opt subject:opt 6(count *addr) in-reply-to:opt message-id:opt
//! addr     = %x00 name:opt adl:opt mailbox:str host:str / %x01 group:str / %x02
//! body     = kind:(%x00 leaf / %x01 multipart / %x02 message) main:str sub:str
//!            count *(str str) id:opt description:opt encoding:str size lines
//!            md5:opt (%x00 / %x01 str count *(str str)) count *str location:opt
//!            [count *body / envelope body]
//! ```
//!
//! Decoding checks every length against the remaining input and caps
//! nesting, so corrupt or hostile bytes give `None`, never a panic or a
//! huge allocation.

use super::address::Addr;
use super::mime::MAX_DEPTH;
use super::summary::{BodyNode, Envelope, NodeKind, Summary};

/// The current format version (first byte).
pub const VERSION: u8 = 1;

struct W(Vec<u8>);

impl W {
    fn uint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }
    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt(&mut self, s: Option<&str>) {
        match s {
            None => self.uint(0),
            Some(s) => {
                self.uint(s.len() as u64 + 1);
                self.0.extend_from_slice(s.as_bytes());
            }
        }
    }
    fn params(&mut self, p: &[(String, String)]) {
        self.uint(p.len() as u64);
        for (k, v) in p {
            self.str(k);
            self.str(v);
        }
    }
    fn addrs(&mut self, list: &[Addr]) {
        self.uint(list.len() as u64);
        for a in list {
            match a {
                Addr::Mailbox {
                    name,
                    adl,
                    mailbox,
                    host,
                } => {
                    self.0.push(0);
                    self.opt(name.as_deref());
                    self.opt(adl.as_deref());
                    self.str(mailbox);
                    self.str(host);
                }
                Addr::GroupStart(g) => {
                    self.0.push(1);
                    self.str(g);
                }
                Addr::GroupEnd => self.0.push(2),
            }
        }
    }
    fn envelope(&mut self, e: &Envelope) {
        self.opt(e.date.as_deref());
        self.opt(e.subject.as_deref());
        for list in [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc] {
            self.addrs(list);
        }
        self.opt(e.in_reply_to.as_deref());
        self.opt(e.message_id.as_deref());
    }
    fn body(&mut self, b: &BodyNode) {
        self.0.push(match b.kind {
            NodeKind::Leaf => 0,
            NodeKind::Multipart(_) => 1,
            NodeKind::Message(..) => 2,
        });
        self.str(&b.main);
        self.str(&b.sub);
        self.params(&b.params);
        self.opt(b.id.as_deref());
        self.opt(b.description.as_deref());
        self.str(&b.encoding);
        self.uint(u64::from(b.size));
        self.uint(u64::from(b.lines));
        self.opt(b.md5.as_deref());
        match &b.disposition {
            None => self.0.push(0),
            Some((kind, params)) => {
                self.0.push(1);
                self.str(kind);
                self.params(params);
            }
        }
        self.uint(b.language.len() as u64);
        for l in &b.language {
            self.str(l);
        }
        self.opt(b.location.as_deref());
        match &b.kind {
            NodeKind::Leaf => {}
            NodeKind::Multipart(parts) => {
                self.uint(parts.len() as u64);
                for p in parts {
                    self.body(p);
                }
            }
            NodeKind::Message(env, body) => {
                self.envelope(env);
                self.body(body);
            }
        }
    }
}

struct R<'a> {
    b: &'a [u8],
    i: usize,
}

impl R<'_> {
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.i)?;
        self.i += 1;
        Some(v)
    }
    fn uint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            v |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint()?).ok()
    }
    /// A count of items that each take at least one byte.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.uint()?).ok()?;
        (n <= self.b.len() - self.i).then_some(n)
    }
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.i.checked_add(n)?;
        let s = self.b.get(self.i..end)?;
        self.i = end;
        Some(s)
    }
    fn str(&mut self) -> Option<String> {
        let n = usize::try_from(self.uint()?).ok()?;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }
    fn opt(&mut self) -> Option<Option<String>> {
        let n = usize::try_from(self.uint()?).ok()?;
        if n == 0 {
            return Some(None);
        }
        String::from_utf8(self.bytes(n - 1)?.to_vec())
            .ok()
            .map(Some)
    }
    fn params(&mut self) -> Option<Vec<(String, String)>> {
        let n = self.count()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push((self.str()?, self.str()?));
        }
        Some(out)
    }
    fn addrs(&mut self) -> Option<Vec<Addr>> {
        let n = self.count()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(match self.byte()? {
                0 => Addr::Mailbox {
                    name: self.opt()?,
                    adl: self.opt()?,
                    mailbox: self.str()?,
                    host: self.str()?,
                },
                1 => Addr::GroupStart(self.str()?),
                2 => Addr::GroupEnd,
                _ => return None,
            });
        }
        Some(out)
    }
    fn envelope(&mut self) -> Option<Envelope> {
        Some(Envelope {
            date: self.opt()?,
            subject: self.opt()?,
            from: self.addrs()?,
            sender: self.addrs()?,
            reply_to: self.addrs()?,
            to: self.addrs()?,
            cc: self.addrs()?,
            bcc: self.addrs()?,
            in_reply_to: self.opt()?,
            message_id: self.opt()?,
        })
    }
    fn body(&mut self, depth: usize) -> Option<BodyNode> {
        if depth > MAX_DEPTH * 2 {
            return None;
        }
        let tag = self.byte()?;
        let main = self.str()?;
        let sub = self.str()?;
        let params = self.params()?;
        let id = self.opt()?;
        let description = self.opt()?;
        let encoding = self.str()?;
        let size = self.u32()?;
        let lines = self.u32()?;
        let md5 = self.opt()?;
        let disposition = match self.byte()? {
            0 => None,
            1 => Some((self.str()?, self.params()?)),
            _ => return None,
        };
        let n = self.count()?;
        let mut language = Vec::with_capacity(n);
        for _ in 0..n {
            language.push(self.str()?);
        }
        let location = self.opt()?;
        let kind = match tag {
            0 => NodeKind::Leaf,
            1 => {
                let n = self.count()?;
                if n == 0 {
                    return None;
                }
                let mut parts = Vec::with_capacity(n);
                for _ in 0..n {
                    parts.push(self.body(depth + 1)?);
                }
                NodeKind::Multipart(parts)
            }
            2 => {
                let env = self.envelope()?;
                NodeKind::Message(Box::new(env), Box::new(self.body(depth + 1)?))
            }
            _ => return None,
        };
        Some(BodyNode {
            main,
            sub,
            params,
            id,
            description,
            encoding,
            size,
            lines,
            md5,
            disposition,
            language,
            location,
            kind,
        })
    }
}

impl Summary {
    /// Encodes the summary (format [`VERSION`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = W(Vec::with_capacity(256));
        w.0.push(VERSION);
        w.envelope(&self.envelope);
        w.body(&self.body);
        w.str(&self.preview);
        w.opt(self.subject.as_deref());
        match self.sent_date {
            None => w.0.push(0),
            Some(d) => {
                w.0.push(1);
                w.uint(((d << 1) ^ (d >> 63)) as u64);
            }
        }
        w.uint(self.references.len() as u64);
        for r in &self.references {
            w.str(r);
        }
        w.0
    }

    /// Decodes what [`Summary::encode`] produced; `None` for an unknown
    /// version or damaged bytes (the caller may re-summarize the message).
    pub fn decode(bytes: &[u8]) -> Option<Summary> {
        let mut r = R { b: bytes, i: 0 };
        if r.byte()? != VERSION {
            return None;
        }
        let envelope = r.envelope()?;
        let body = r.body(0)?;
        let preview = r.str()?;
        let subject = r.opt()?;
        let sent_date = match r.byte()? {
            0 => None,
            1 => {
                let z = r.uint()?;
                Some(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            _ => return None,
        };
        let n = r.count()?;
        let mut references = Vec::with_capacity(n);
        for _ in 0..n {
            references.push(r.str()?);
        }
        (r.i == bytes.len()).then_some(Summary {
            envelope,
            body,
            preview,
            subject,
            sent_date,
            references,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Date: Thu, 1 Jan 1970 00:00:00 -0100\r\nFrom: A <a@x>, Grp: b@y;\r\nSubject: s\r\nReferences: <r1> <r2>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Disposition: inline; filename=a.txt\r\nContent-Language: en, de\r\n\r\ntext\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n--b--\r\n";

    #[test]
    fn round_trip() {
        let s = Summary::from_message(MSG);
        let bytes = s.encode();
        assert_eq!(bytes[0], VERSION);
        assert_eq!(Summary::decode(&bytes), Some(s));
    }

    #[test]
    fn negative_and_large_dates_round_trip() {
        for d in [i64::MIN, -1, 0, 1, i64::MAX] {
            let mut s = Summary::from_message(b"\r\n");
            s.sent_date = Some(d);
            assert_eq!(Summary::decode(&s.encode()).unwrap().sent_date, Some(d));
        }
    }

    #[test]
    fn every_truncation_is_rejected() {
        let bytes = Summary::from_message(MSG).encode();
        for n in 0..bytes.len() {
            assert_eq!(Summary::decode(&bytes[..n]), None, "prefix {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Summary::decode(&longer), None);
    }

    #[test]
    fn unknown_version_and_junk_are_rejected() {
        let mut bytes = Summary::from_message(MSG).encode();
        bytes[0] = 2;
        assert_eq!(Summary::decode(&bytes), None);
        assert_eq!(Summary::decode(&[]), None);
        assert_eq!(
            Summary::decode(&[
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ]),
            None
        );
    }

    #[test]
    fn single_byte_corruption_never_panics() {
        let bytes = Summary::from_message(MSG).encode();
        for i in 0..bytes.len() {
            for v in [0u8, 1, 2, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                let _ = Summary::decode(&b);
            }
        }
    }

    #[test]
    fn small_message_has_small_summary() {
        let s = Summary::from_message(b"From: a@b\r\nSubject: hi\r\n\r\nhello\r\n");
        assert!(s.encode().len() < 80, "{}", s.encode().len());
    }
}
