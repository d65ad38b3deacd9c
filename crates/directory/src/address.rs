//! Addresses as the directory keeps them, and quota sizes.
//!
//! An address is `local@domain`, stored in lower case:
//!
//! - RFC 5321 §4.5.3.1.1-3: the local part is at most 64 octets, the domain at
//!   most 255 (we keep DNS's practical 253), the whole path at most 256
//!   including the angle brackets, so an address is at most 254 octets.
//! - The local part is a dot-atom (RFC 5322 §3.2.3): no empty labels, no
//!   leading or trailing dot, none of the specials `"(),:;<>@[\]`, no
//!   whitespace or control characters. Quoted local parts are refused: no
//!   hosting customer needs one and every client mishandles them. Non-ASCII
//!   is allowed (RFC 6531, SMTPUTF8) and lower-cased with Unicode rules.
//! - The domain is an ASCII host name (IDNs in their A-label form,
//!   RFC 5890): labels of letters, digits and hyphens, 1-63 octets, no
//!   hyphen at either end.
//!
//! Local parts are compared case-insensitively. RFC 5321 §2.4 lets a server
//! treat them as case-sensitive, but no mailbox provider does and users
//! type `Alice@` and `alice@` interchangeably.
//!
//! Subaddresses (RFC 5233): `user+tag@domain` reaches `user@domain` unless an
//! account or alias with the `+` exists itself (exact matches win).

use crate::DirectoryError;

/// Longest address accepted, in octets (RFC 5321 §4.5.3.1.3 less the brackets).
pub const MAX_ADDRESS_LEN: usize = 254;
/// Longest local part accepted, in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_LEN: usize = 64;
/// Longest domain accepted, in octets.
pub const MAX_DOMAIN_LEN: usize = 253;

/// Largest quota accepted: 1 PiB, far beyond any mailbox, small enough
/// that arithmetic on it never overflows.
pub const MAX_QUOTA: u64 = 1 << 50;

/// Validates an address and returns it in lower case.
///
/// ```
/// use sealpost_directory::normalize_address;
/// assert_eq!(normalize_address("Alice@Example.ORG").unwrap(), "alice@example.org");
/// assert!(normalize_address("alice at example.org").is_err());
/// ```
pub fn normalize_address(address: &str) -> Result<String, DirectoryError> {
    normalize(address)
        .map_err(|why| DirectoryError::Invalid(format!("`{}`: {why}", shown(address))))
}

/// The address limited for display in an error: at most 80 characters and no
/// control characters, so an error stays one readable line.
pub(crate) fn shown(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// The checks behind [`normalize_address`], with the reason as a string.
pub(crate) fn normalize(address: &str) -> Result<String, String> {
    if address.len() > MAX_ADDRESS_LEN * 4 {
        // Cheap refusal before any allocation proportional to the input.
        return Err(format!("longer than {MAX_ADDRESS_LEN} octets"));
    }
    let lower = address.to_lowercase();
    if lower.len() > MAX_ADDRESS_LEN {
        return Err(format!("longer than {MAX_ADDRESS_LEN} octets"));
    }
    let Some((local, domain)) = lower.rsplit_once('@') else {
        return Err("not of the form local@domain".into());
    };
    check_local(local)?;
    check_domain(domain)?;
    Ok(lower)
}

fn check_local(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("empty local part".into());
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(format!("local part longer than {MAX_LOCAL_LEN} octets"));
    }
    for c in local.chars() {
        if c.is_control() || c.is_whitespace() {
            return Err("whitespace or control character in the local part".into());
        }
        if "\"(),:;<>@[\\]".contains(c) {
            return Err(format!("`{c}` in the local part"));
        }
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("empty dot-separated label in the local part".into());
    }
    Ok(())
}

/// Checks a host name (already lower case).
pub(crate) fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("empty domain".into());
    }
    if domain.len() > MAX_DOMAIN_LEN {
        return Err(format!("domain longer than {MAX_DOMAIN_LEN} octets"));
    }
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("domain label empty or longer than 63 octets".into());
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("domain must be letters, digits, hyphens and dots (IDNs as xn--)".into());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label starts or ends with a hyphen".into());
        }
    }
    Ok(())
}

/// Checks a normalized alias: `*@domain` is the domain's catch-all (mail
/// for any address there that is no account or alias); a `*` anywhere
/// else would be taken for a pattern and never match, so it is refused.
pub fn check_alias(alias: &str) -> Result<(), String> {
    let local = alias.rsplit_once('@').map_or(alias, |(l, _)| l);
    if local.contains('*') && local != "*" {
        return Err("`*` only as the whole local part (`*@domain`, the catch-all)".into());
    }
    Ok(())
}

/// The catch-all alias of a normalized address's domain.
pub(crate) fn catch_all_of(address: &str) -> String {
    format!("*@{}", domain_of(address))
}

/// The domain of a normalized address.
pub(crate) fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// `user+tag@domain` → `user@domain` (RFC 5233); `None` when there is no tag
/// or the part before `+` would be empty.
pub(crate) fn without_subaddress(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let (base, _tag) = local.split_once('+')?;
    (!base.is_empty()).then(|| format!("{base}@{domain}"))
}

/// Parses a quota: octets as digits, or with a binary unit suffix
/// `K`, `M`, `G`, `T` (optionally followed by `B` or `iB`; 1G = 2^30 octets).
///
/// ```
/// use sealpost_directory::parse_quota;
/// assert_eq!(parse_quota("500M").unwrap(), 500 << 20);
/// assert_eq!(parse_quota("1073741824").unwrap(), 1 << 30);
/// assert!(parse_quota("0").is_err());
/// ```
pub fn parse_quota(text: &str) -> Result<u64, DirectoryError> {
    quota(text).map_err(|why| DirectoryError::Invalid(format!("quota `{}`: {why}", shown(text))))
}

pub(crate) fn quota(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.len() > 32 {
        return Err("too long".into());
    }
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(digits_end);
    if digits.is_empty() {
        return Err("expected a number of octets, optionally with K, M, G or T".into());
    }
    let unit = unit.trim_start();
    let unit_upper = unit.to_ascii_uppercase();
    let unit_core = unit_upper
        .strip_suffix("IB")
        .or_else(|| unit_upper.strip_suffix('B'))
        .unwrap_or(&unit_upper);
    let shift = match unit_core {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("unknown unit `{}`: use K, M, G or T", shown(unit))),
    };
    if unit_core.is_empty() && !unit.is_empty() && unit_upper != "B" {
        return Err(format!("unknown unit `{}`", shown(unit)));
    }
    let n: u64 = digits.parse().map_err(|_| "number too large".to_string())?;
    let octets = n
        .checked_mul(1u64 << shift)
        .filter(|&q| q <= MAX_QUOTA)
        .ok_or_else(|| "larger than 1 PiB".to_string())?;
    check_quota(octets)
}

/// A quota must be positive (leave it out for no limit) and at most [`MAX_QUOTA`].
pub(crate) fn check_quota(octets: u64) -> Result<u64, String> {
    if octets == 0 {
        return Err("must be positive; leave quota out for no limit".into());
    }
    if octets > MAX_QUOTA {
        return Err("larger than 1 PiB".into());
    }
    Ok(octets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case() {
        assert_eq!(normalize("Alice@Example.ORG").unwrap(), "alice@example.org");
        assert_eq!(normalize("ÄRGER@example.org").unwrap(), "ärger@example.org");
    }

    #[test]
    fn accepts_ordinary_addresses() {
        for a in [
            "a@b",
            "first.last@example.org",
            "user+tag@example.org",
            "x-y_z@sub.example.co.uk",
            "o'brien@example.ie",
            "postmaster@xn--bcher-kva.example",
        ] {
            assert!(normalize(a).is_ok(), "{a}");
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        for a in [
            "",
            "alice",
            "@example.org",
            "alice@",
            "al ice@example.org",
            "alice@exa mple.org",
            "alice\t@example.org",
            "alice\r\n@example.org",
            "ali\0ce@example.org",
            "\"alice\"@example.org",
            "a@b@example.org",
            ".alice@example.org",
            "alice.@example.org",
            "al..ice@example.org",
            "alice@example..org",
            "alice@-example.org",
            "alice@example-.org",
            "alice@example.org.",
            "alice@exa_mple.org",
            "alice@bücher.example",
            "<alice@example.org>",
        ] {
            assert!(normalize(a).is_err(), "{a:?} accepted");
        }
    }

    #[test]
    fn length_limits() {
        let local = "a".repeat(MAX_LOCAL_LEN);
        assert!(normalize(&format!("{local}@example.org")).is_ok());
        assert!(normalize(&format!("{local}a@example.org")).is_err());
        let label = "b".repeat(63);
        assert!(normalize(&format!("a@{label}.org")).is_ok());
        assert!(normalize(&format!("a@{label}b.org")).is_err());
        // 254 octets in all is the limit.
        let domain = format!(
            "{}.{}.{}.{}",
            "c".repeat(63),
            "d".repeat(63),
            "e".repeat(63),
            "f".repeat(57)
        );
        let ok = format!(
            "{}@{domain}",
            "g".repeat(MAX_ADDRESS_LEN - 1 - domain.len())
        );
        assert_eq!(ok.len(), MAX_ADDRESS_LEN);
        assert!(normalize(&ok).is_ok());
        assert!(normalize(&format!("h{ok}")).is_err());
        assert!(normalize(&"x".repeat(100_000)).is_err());
    }

    #[test]
    fn subaddress() {
        assert_eq!(
            without_subaddress("bob+news@example.org").as_deref(),
            Some("bob@example.org")
        );
        assert_eq!(
            without_subaddress("bob+a+b@example.org").as_deref(),
            Some("bob@example.org")
        );
        assert_eq!(without_subaddress("bob@example.org"), None);
        assert_eq!(without_subaddress("+tag@example.org"), None);
    }

    #[test]
    fn quotas() {
        let table: &[(&str, Option<u64>)] = &[
            ("1", Some(1)),
            ("1073741824", Some(1 << 30)),
            ("1K", Some(1024)),
            ("1k", Some(1024)),
            ("500M", Some(500 << 20)),
            ("500MB", Some(500 << 20)),
            ("500MiB", Some(500 << 20)),
            ("2 G", Some(2 << 30)),
            ("1T", Some(1 << 40)),
            (" 7G ", Some(7 << 30)),
            ("12B", Some(12)),
            ("1024T", Some(1 << 50)),
            ("1025T", None),
            ("0", None),
            ("0G", None),
            ("", None),
            ("G", None),
            ("-1", None),
            ("1.5G", None),
            ("1X", None),
            ("1GG", None),
            ("1iB", None),
            ("99999999999999999999999", None),
            ("18446744073709551615T", None),
        ];
        for (text, want) in table {
            assert_eq!(quota(text).ok(), *want, "{text:?}");
        }
    }
}
