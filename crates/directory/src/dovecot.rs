//! Reading Dovecot passwd-files, for `sealpost import-accounts`.
//!
//! Dovecot's passwd-file has one user a line, colon-separated like
//! /etc/passwd: `user:password:uid:gid:gecos:home:shell:extra_fields`. Only
//! the first two fields matter here: the user (an address, or a bare name
//! that `--domain` completes) and the password hash, in Dovecot's
//! `{SCHEME}hash` form (a hash without a prefix is taken as the crypt string
//! Dovecot's default `CRYPT` scheme reads). Blank lines and lines starting
//! with `#` are skipped. The hash must be one the accounts file accepts
//! ([`crate::legacy`]); a plain text or unsalted one is refused with the
//! line it is on, and so is a user twice, an empty password, or a name that
//! is not an address.
//!
//! Limits: the file is at most [`crate::file::MAX_FILE_LEN`] octets and a
//! line at most [`MAX_LINE_LEN`]; errors are one line, ``FILE:LINE: ...``,
//! and never quote the hash.

use crate::address::{self, shown};
use crate::password::check_stored;
use std::collections::HashMap;
use std::path::Path;

/// Longest line read, in octets.
pub const MAX_LINE_LEN: usize = 4096;

/// One user of a passwd-file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdUser {
    /// The line it is on, from 1.
    pub line: usize,
    /// The address, normalized.
    pub address: String,
    /// The stored hash as written (checked with [`check_stored`]).
    pub hash: String,
}

/// Parses passwd-file text (`file` names it in errors). `domain` completes
/// user names without `@`; without it such a name is an error.
pub fn parse_passwd_file(
    file: &Path,
    text: &str,
    domain: Option<&str>,
) -> Result<Vec<PasswdUser>, String> {
    let mut users = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        // One line whatever the file holds: control characters that a
        // reason echoes from the line (a hash, a scheme) are shown as `?`.
        let at = |why: String| {
            let why: String = why
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            format!("{}:{line}: {why}", file.display())
        };
        if raw.len() > MAX_LINE_LEN {
            return Err(at(format!("line longer than {MAX_LINE_LEN} octets")));
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let mut fields = raw.splitn(3, ':');
        let user = fields.next().unwrap_or("").trim();
        let Some(hash) = fields.next() else {
            return Err(at(
                "no password field (expected `user:{SCHEME}hash:...`)".into()
            ));
        };
        if user.is_empty() {
            return Err(at("empty user name".into()));
        }
        let name = match (user.contains('@'), domain) {
            (true, _) => user.to_owned(),
            (false, Some(d)) => format!("{user}@{d}"),
            (false, None) => {
                return Err(at(format!(
                    "user `{}` has no domain: give --domain",
                    shown(user)
                )));
            }
        };
        let address = address::normalize(&name)
            .map_err(|why| at(format!("user `{}`: {why}", shown(&name))))?;
        if hash.is_empty() {
            return Err(at(format!("{address}: empty password field")));
        }
        check_stored(hash).map_err(|why| at(format!("{address}: {why}")))?;
        if let Some(first) = seen.insert(address.clone(), line) {
            return Err(at(format!("{address} is already on line {first}")));
        }
        users.push(PasswdUser {
            line,
            address,
            hash: hash.to_owned(),
        });
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA512: &str = "{SHA512-CRYPT}$6$CnNX5CchjCoIqTjO$2iQA5UoVkfr9HuqcNY9UhPzUtWvh9dqoSxJ0TiNdp1ra6IDyGUEcqKOD8ctAnmSEDGtYLM6XsZyLWUhMn2jTy0";
    const BLF: &str = "$2y$05$p6GvldSa6nkL/Q4bDgloMO8ETB.R8kB6L/RMRUpyMb7pr9qzh.M5a";

    fn parse(text: &str, domain: Option<&str>) -> Result<Vec<PasswdUser>, String> {
        parse_passwd_file(Path::new("/etc/dovecot/users"), text, domain)
    }

    #[test]
    fn reads_users_with_and_without_domains() {
        let text = format!(
            "# users\n\nAlice@Example.org:{SHA512}:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G\r\nbob:{BLF}\n"
        );
        let users = parse(&text, Some("example.net")).unwrap();
        assert_eq!(
            users,
            vec![
                PasswdUser {
                    line: 3,
                    address: "alice@example.org".into(),
                    hash: SHA512.into()
                },
                PasswdUser {
                    line: 4,
                    address: "bob@example.net".into(),
                    hash: BLF.into()
                },
            ]
        );
    }

    #[test]
    fn errors_name_the_line_and_never_the_hash() {
        let table: Vec<(String, Option<&str>, &str, &[&str])> = vec![
            (
                format!("bob:{BLF}\n"),
                None,
                ":1:",
                &["`bob` has no domain", "--domain"],
            ),
            (
                "a@example.org:{PLAIN}hunter2\n".into(),
                None,
                ":1:",
                &["a@example.org", "plain text", "refused"],
            ),
            (
                "\n\na@example.org:{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99\n".into(),
                None,
                ":3:",
                &["unsalted"],
            ),
            (
                "a@example.org:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n".into(),
                None,
                ":1:",
                &["unsalted"],
            ),
            (
                "a@example.org\n".into(),
                None,
                ":1:",
                &["no password field"],
            ),
            (
                "a@example.org::1000\n".into(),
                None,
                ":1:",
                &["empty password"],
            ),
            (format!(":{BLF}\n"), None, ":1:", &["empty user"]),
            (
                format!("not an address@x@y:{BLF}\n"),
                None,
                ":1:",
                &["not an address"],
            ),
            (
                format!("a@example.org:{BLF}\nA@example.org:{SHA512}\n"),
                None,
                ":2:",
                &["already on line 1"],
            ),
            (
                format!("a@example.org:{}\n", "x".repeat(MAX_LINE_LEN)),
                None,
                ":1:",
                &["longer than"],
            ),
        ];
        for (text, domain, line, words) in table {
            let e = parse(&text, domain).expect_err(&text);
            assert!(e.starts_with("/etc/dovecot/users:"), "{e}");
            assert!(e.contains(line), "want {line} in {e}");
            for w in words {
                assert!(e.contains(w), "want {w:?} in {e}");
            }
            assert!(!e.contains("hunter2") && !e.contains("5f4dcc"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
