//! A minimal IMAP4rev1 client (RFC 3501) for load: tagged commands, untagged
//! responses with literals (section 4.3) read whole, synchronizing and
//! non-synchronizing (RFC 7888 LITERAL+) APPEND, and IDLE (RFC 2177).

use crate::conn::Conn;
use anyhow::{Result, bail};
use std::net::SocketAddr;

/// A server's answer to one tagged command.
pub struct Reply {
    /// Every untagged response, literals inlined.
    pub untagged: Vec<Vec<u8>>,
    /// The tagged status line (OK/NO/BAD and text).
    pub status: String,
}

impl Reply {
    /// Whether one response is `* n EXISTS`.
    pub fn is_exists(response: &[u8]) -> bool {
        let head = String::from_utf8_lossy(&response[..response.len().min(40)]);
        let mut w = head.split_ascii_whitespace();
        matches!((w.next(), w.next(), w.next()), (Some("*"), Some(n), Some(kw))
            if n.parse::<u32>().is_ok() && kw.eq_ignore_ascii_case("EXISTS"))
    }

    /// The `n` of `* n EXISTS`, the last one seen.
    pub fn exists(&self) -> Option<u32> {
        self.untagged.iter().rev().find_map(|u| {
            let s = std::str::from_utf8(u).ok()?;
            let mut w = s.split_ascii_whitespace();
            let (_, n, kw) = (w.next()?, w.next()?, w.next()?);
            kw.eq_ignore_ascii_case("EXISTS").then(|| n.parse().ok())?
        })
    }

    /// Applies the reply's `* n EXISTS` (sets) and `* n EXPUNGE` (one
    /// fewer) to a client's message count, in order.
    pub fn track_count(&self, count: &mut u32) {
        for u in &self.untagged {
            let head = String::from_utf8_lossy(&u[..u.len().min(40)]);
            let mut w = head.split_ascii_whitespace();
            let (Some("*"), Some(n), Some(kw)) = (w.next(), w.next(), w.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else { continue };
            if kw.eq_ignore_ascii_case("EXISTS") {
                *count = n;
            } else if kw.eq_ignore_ascii_case("EXPUNGE") {
                *count = count.saturating_sub(1);
            }
        }
    }

    /// How many untagged FETCH responses came back.
    pub fn fetches(&self) -> usize {
        self.untagged
            .iter()
            .filter(|u| {
                let s = String::from_utf8_lossy(&u[..u.len().min(40)]).to_ascii_uppercase();
                s.split_ascii_whitespace().nth(2) == Some("FETCH")
            })
            .count()
    }

    /// The total octets of the untagged responses.
    pub fn octets(&self) -> usize {
        self.untagged.iter().map(Vec::len).sum()
    }
}

/// One IMAP connection.
pub struct Imap {
    conn: Conn,
    next_tag: u32,
}

/// The `{n}` or `{n+}` announced at the end of a line, if any.
fn literal_len(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}\r\n")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    std::str::from_utf8(digits).ok()?.parse().ok()
}

impl Imap {
    /// Connects with implicit TLS and reads the greeting.
    pub async fn connect(addr: SocketAddr) -> Result<Imap> {
        let mut imap = Imap {
            conn: Conn::connect(addr, true).await?,
            next_tag: 1,
        };
        let greeting = imap.response().await?;
        if !greeting.starts_with(b"* OK") && !greeting.starts_with(b"* PREAUTH") {
            bail!("IMAP greeting: {}", String::from_utf8_lossy(&greeting));
        }
        Ok(imap)
    }

    /// Connects and logs in.
    pub async fn login(addr: SocketAddr, user: &str, pass: &str) -> Result<Imap> {
        let mut imap = Imap::connect(addr).await?;
        imap.ok(&format!("LOGIN {} {}", quote(user), quote(pass)))
            .await?;
        Ok(imap)
    }

    /// Reads one response (a line and any literals it announces).
    async fn response(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let start = out.len();
            self.conn.line(&mut out).await?;
            match literal_len(&out[start..]) {
                Some(n) => self.conn.exact(n, &mut out).await?,
                None => return Ok(out),
            }
        }
    }

    fn tag(&mut self) -> String {
        let t = format!("b{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    async fn until_tagged(&mut self, tag: &str) -> Result<Reply> {
        let mut untagged = Vec::new();
        loop {
            let r = self.response().await?;
            if r.starts_with(tag.as_bytes()) && r.get(tag.len()) == Some(&b' ') {
                let status = String::from_utf8_lossy(&r[tag.len() + 1..])
                    .trim_end()
                    .to_string();
                return Ok(Reply { untagged, status });
            }
            if r.starts_with(b"+") {
                bail!("unexpected continuation: {}", String::from_utf8_lossy(&r));
            }
            untagged.push(r);
        }
    }

    /// Sends a command and reads its answer, whatever the status.
    pub async fn command(&mut self, command: &str) -> Result<Reply> {
        let tag = self.tag();
        self.conn
            .send(format!("{tag} {command}\r\n").as_bytes())
            .await?;
        self.until_tagged(&tag).await
    }

    /// Sends a command and fails unless it ends in OK.
    pub async fn ok(&mut self, command: &str) -> Result<Reply> {
        let reply = self.command(command).await?;
        if !reply.status.starts_with("OK") {
            let verb = command.split(' ').next().unwrap_or("");
            bail!("{verb}: {}", reply.status);
        }
        Ok(reply)
    }

    /// APPEND with a synchronizing literal: waits for the go-ahead. The
    /// reply may carry other sessions' EXISTS and EXPUNGE.
    pub async fn append(&mut self, mailbox: &str, flags: &str, message: &[u8]) -> Result<Reply> {
        let tag = self.tag();
        self.conn
            .send(format!("{tag} APPEND {mailbox} ({flags}) {{{}}}\r\n", message.len()).as_bytes())
            .await?;
        let go = self.response().await?;
        if !go.starts_with(b"+") {
            bail!("APPEND: {}", String::from_utf8_lossy(&go));
        }
        let mut data = Vec::with_capacity(message.len() + 2);
        data.extend_from_slice(message);
        data.extend_from_slice(b"\r\n");
        self.conn.send(&data).await?;
        let reply = self.until_tagged(&tag).await?;
        if !reply.status.starts_with("OK") {
            bail!("APPEND: {}", reply.status);
        }
        Ok(reply)
    }

    /// Pipelined APPENDs with LITERAL+ (RFC 7888): up to `window` in flight.
    /// Returns how many were appended.
    pub async fn append_pipelined(
        &mut self,
        mailbox: &str,
        count: usize,
        window: usize,
        mut message: impl FnMut(usize) -> Vec<u8>,
    ) -> Result<usize> {
        let mut tags = std::collections::VecDeque::new();
        let mut sent = 0;
        let mut done = 0;
        while done < count {
            let mut batch = Vec::new();
            while sent < count && tags.len() < window.max(1) {
                let m = message(sent);
                let tag = self.tag();
                batch.extend_from_slice(
                    format!("{tag} APPEND {mailbox} {{{}+}}\r\n", m.len()).as_bytes(),
                );
                batch.extend_from_slice(&m);
                batch.extend_from_slice(b"\r\n");
                tags.push_back(tag);
                sent += 1;
            }
            if !batch.is_empty() {
                self.conn.send(&batch).await?;
            }
            let tag = tags.pop_front().expect("one in flight");
            let reply = self.until_tagged(&tag).await?;
            if !reply.status.starts_with("OK") {
                bail!("APPEND: {}", reply.status);
            }
            done += 1;
        }
        Ok(done)
    }

    /// Enters IDLE and waits for the server's continuation.
    pub async fn idle(&mut self) -> Result<()> {
        let tag = self.tag();
        self.conn.send(format!("{tag} IDLE\r\n").as_bytes()).await?;
        loop {
            let r = self.response().await?;
            if r.starts_with(b"+") {
                return Ok(());
            }
            if r.starts_with(tag.as_bytes()) {
                bail!("IDLE: {}", String::from_utf8_lossy(&r));
            }
        }
    }

    /// Reads responses until one matches `want` (e.g. an EXISTS during
    /// IDLE) and returns it; a tagged or continuation response first is an
    /// error.
    pub async fn untagged_until(&mut self, want: impl Fn(&[u8]) -> bool) -> Result<Vec<u8>> {
        loop {
            let r = self.response().await?;
            if want(&r) {
                return Ok(r);
            }
            if !r.starts_with(b"* ") {
                bail!("waiting in IDLE: {}", String::from_utf8_lossy(&r));
            }
        }
    }

    /// Leaves IDLE (the tag of the IDLE command is the last one issued).
    pub async fn done(&mut self) -> Result<()> {
        let tag = format!("b{}", self.next_tag - 1);
        self.conn.send(b"DONE\r\n").await?;
        self.until_tagged(&tag).await?;
        Ok(())
    }

    /// LOGOUT, reading the BYE and the tagged OK.
    pub async fn logout(mut self) -> Result<()> {
        self.ok("LOGOUT").await?;
        Ok(())
    }
}

/// An IMAP quoted string (RFC 3501 section 4.3) for the ASCII the benchmark uses.
pub fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {12}\r\n"), Some(12));
        assert_eq!(literal_len(b"a APPEND x {7+}\r\n"), Some(7));
        assert_eq!(literal_len(b"* OK fine\r\n"), None);
        assert_eq!(literal_len(b"* OK {x}\r\n"), None);
    }

    #[test]
    fn exists_and_fetch_counts() {
        let r = Reply {
            untagged: vec![
                b"* 3 EXISTS\r\n".to_vec(),
                b"* 1 FETCH (UID 4 FLAGS ())\r\n".to_vec(),
                b"* 2 fetch (UID 5 FLAGS (\\Seen))\r\n".to_vec(),
                b"* 7 EXISTS\r\n".to_vec(),
            ],
            status: "OK".into(),
        };
        assert_eq!(r.exists(), Some(7));
        assert!(Reply::is_exists(b"* 12 EXISTS\r\n"));
        assert!(!Reply::is_exists(b"* 12 RECENT\r\n"));
        assert!(!Reply::is_exists(b"* OK Still here\r\n"));
        assert_eq!(r.fetches(), 2);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
