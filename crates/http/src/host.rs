//! The `Host` of a request (RFC 9110 section 7.2), made comparable.

/// The host name a request is for, in lower case, without port or trailing
/// dot; `None` when the value is not a host name (an IP literal, garbage,
/// more than 253 octets). IP literals get `None` on purpose: every document
/// here is chosen by name, and an address names no domain.
pub fn normalize_host(value: &str) -> Option<String> {
    if value.len() > 253 + 1 + 6 {
        return None;
    }
    let value = value.trim();
    if value.starts_with('[') {
        return None;
    }
    let name = match value.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        Some(_) => return None,
        None => value,
    };
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if !sealpost_config::is_domain_name(&name) || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return None;
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            normalize_host("Autoconfig.Example.ORG").as_deref(),
            Some("autoconfig.example.org")
        );
        assert_eq!(
            normalize_host("mail.example.org.:8443").as_deref(),
            Some("mail.example.org")
        );
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]:443",
            "a b",
            "x:",
            "x:y",
            "a..b",
            "-a.b",
            "a:1:2",
        ] {
            assert_eq!(normalize_host(bad), None, "{bad:?}");
        }
        assert_eq!(normalize_host(&"a".repeat(300)), None);
    }
}
