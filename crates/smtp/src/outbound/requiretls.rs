//! What the sender asked of the relay's TLS (RFC 8689): `MAIL FROM ...
//! REQUIRETLS` (kept with the queue entry) or a `TLS-Required: No` header
//! field (section 5: ignore the recipient domain's DANE and MTA-STS
//! failures, still trying STARTTLS). REQUIRETLS wins when both are there
//! (section 4.1: the header field is ignored with the MAIL parameter).

/// The sender's demand on one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsDemand {
    /// Nothing asked: the recipient domain's policy decides.
    Default,
    /// `REQUIRETLS`: only MX hosts authenticated by DANE or MTA-STS (its
    /// mode taken as `enforce`), which must offer REQUIRETLS themselves.
    RequireTls,
    /// `TLS-Required: No`: policies are not applied; opportunistic TLS.
    PolicyIgnored,
}

/// The header section scanned for `TLS-Required` (a longer one is cut).
const MAX_HEADER_SCAN: usize = 256 * 1024;

impl TlsDemand {
    /// The demand of a message with the `requiretls` flag and `message`
    /// (header section first).
    pub fn of(requiretls: bool, message: &[u8]) -> TlsDemand {
        if requiretls {
            TlsDemand::RequireTls
        } else if tls_required_no(message) {
            TlsDemand::PolicyIgnored
        } else {
            TlsDemand::Default
        }
    }
}

/// Whether the header section has a `TLS-Required: No` field (the field
/// name and the value are case-insensitive; folded lines are unfolded).
pub fn tls_required_no(message: &[u8]) -> bool {
    let head = &message[..message.len().min(MAX_HEADER_SCAN)];
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| head.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(head.len());
    let text = String::from_utf8_lossy(&head[..end]);
    let mut fields: Vec<String> = Vec::new();
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.push_str(line);
            }
        } else {
            fields.push(line.to_string());
        }
    }
    fields.iter().any(|f| {
        f.split_once(':').is_some_and(|(name, value)| {
            name.trim_end().eq_ignore_ascii_case("TLS-Required")
                && value.trim().eq_ignore_ascii_case("No")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_field() {
        assert!(tls_required_no(
            b"Subject: x\r\nTLS-Required: No\r\n\r\nbody"
        ));
        assert!(tls_required_no(b"tls-required:\r\n  no\r\n\r\n"));
        assert!(!tls_required_no(b"TLS-Required: Yes\r\n\r\n"));
        assert!(!tls_required_no(b"Subject: x\r\n\r\nTLS-Required: No\r\n"));
        assert!(!tls_required_no(b"X-TLS-Required: No\r\n\r\n"));
        assert_eq!(
            TlsDemand::of(true, b"TLS-Required: No\r\n\r\n"),
            TlsDemand::RequireTls
        );
        assert_eq!(
            TlsDemand::of(false, b"TLS-Required: No\r\n\r\n"),
            TlsDemand::PolicyIgnored
        );
        assert_eq!(
            TlsDemand::of(false, b"Subject: x\r\n\r\n"),
            TlsDemand::Default
        );
    }
}
