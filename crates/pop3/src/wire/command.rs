//! POP3 command parsing (RFC 1939 sections 4-7, RFC 2449 CAPA, RFC 2595
//! STLS, RFC 5034 AUTH, RFC 6856 UTF8).
//!
//! A line cut by the framer becomes a typed [`Command`] or a precise
//! [`CommandError`]. Keywords are case-insensitive (RFC 1939 section 3);
//! arguments are separated by single spaces. Message numbers are decimal,
//! 1 to 2^32-1. A PASS argument is the rest of the line (RFC 1939 allows
//! servers to accept spaces in passwords, and clients send them).

use sealpost_directory::Secret;

/// A parsed client command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `CAPA` (RFC 2449 section 5).
    Capa,
    /// `STLS` (RFC 2595 section 4).
    Stls,
    /// `USER name`.
    User(String),
    /// `PASS secret`.
    Pass(Secret),
    /// `AUTH [mechanism [initial-response]]` (RFC 5034). Without a
    /// mechanism it lists the mechanisms (a widespread extension).
    Auth {
        /// The SASL mechanism name, upper-cased.
        mechanism: Option<String>,
        /// The initial response, base64 (`=` means empty).
        initial: Option<Secret>,
    },
    /// `APOP name digest`: recognized to be refused (never offered).
    Apop,
    /// `STAT`.
    Stat,
    /// `LIST [msg]`.
    List(Option<u32>),
    /// `RETR msg`.
    Retr(u32),
    /// `DELE msg`.
    Dele(u32),
    /// `NOOP`.
    Noop,
    /// `RSET`.
    Rset,
    /// `QUIT`.
    Quit,
    /// `TOP msg n`.
    Top {
        /// Message number.
        msg: u32,
        /// Body lines to send after the header.
        lines: u32,
    },
    /// `UIDL [msg]`.
    Uidl(Option<u32>),
    /// `UTF8` (RFC 6856 section 2).
    Utf8,
}

impl Command {
    /// The keyword, for logs (never the arguments: they may be credentials).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Auth { .. } => "AUTH",
            Command::Apop => "APOP",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Retr(_) => "RETR",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Quit => "QUIT",
            Command::Top { .. } => "TOP",
            Command::Uidl(_) => "UIDL",
            Command::Utf8 => "UTF8",
        }
    }
}

/// Why a line is not a command. Each becomes a `-ERR` and the session goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The line was empty.
    #[error("empty command")]
    Empty,
    /// The keyword is not one we know.
    #[error("unknown command")]
    Unknown,
    /// A known keyword with bad arguments.
    #[error("{0}")]
    Syntax(&'static str),
}

/// Longest user name accepted (octets).
pub const MAX_USER: usize = 254;

/// Parses one command line (without its line ending).
pub fn parse_command(line: &[u8]) -> Result<Command, CommandError> {
    if line.is_empty() {
        return Err(CommandError::Empty);
    }
    if line.contains(&0) {
        return Err(CommandError::Syntax("NUL is not allowed in commands"));
    }
    let (keyword, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if keyword.len() > 4 || !keyword.iter().all(u8::is_ascii_alphanumeric) {
        return Err(CommandError::Unknown);
    }
    let mut kw = [0u8; 4];
    kw[..keyword.len()].copy_from_slice(keyword);
    kw.make_ascii_uppercase();
    let kw = &kw[..keyword.len()];
    let args = Args::new(rest);
    let command = match kw {
        b"CAPA" => args.none(Command::Capa)?,
        b"STLS" => args.none(Command::Stls)?,
        b"STAT" => args.none(Command::Stat)?,
        b"NOOP" => args.none(Command::Noop)?,
        b"RSET" => args.none(Command::Rset)?,
        b"QUIT" => args.none(Command::Quit)?,
        b"UTF8" => args.none(Command::Utf8)?,
        b"APOP" => Command::Apop,
        b"LIST" => Command::List(args.optional_number()?),
        b"UIDL" => Command::Uidl(args.optional_number()?),
        b"RETR" => Command::Retr(args.one_number()?),
        b"DELE" => Command::Dele(args.one_number()?),
        b"TOP" => {
            let [msg, lines] = args.words::<2>("TOP needs a message number and a line count")?;
            Command::Top {
                msg: message_number(msg)?,
                lines: count(lines)?,
            }
        }
        b"USER" => {
            let name = args
                .rest()
                .ok_or(CommandError::Syntax("USER needs a name"))?;
            if name.is_empty() || name.len() > MAX_USER || name.contains(&b' ') {
                return Err(CommandError::Syntax("USER needs one name"));
            }
            let name = std::str::from_utf8(name)
                .map_err(|_| CommandError::Syntax("user name is not UTF-8"))?;
            if name.chars().any(char::is_control) {
                return Err(CommandError::Syntax("user name has control characters"));
            }
            Command::User(name.to_string())
        }
        b"PASS" => {
            let pass = args
                .rest()
                .ok_or(CommandError::Syntax("PASS needs a password"))?;
            if pass.is_empty() {
                return Err(CommandError::Syntax("PASS needs a password"));
            }
            let pass = std::str::from_utf8(pass)
                .map_err(|_| CommandError::Syntax("password is not UTF-8"))?;
            Command::Pass(Secret::new(pass))
        }
        b"AUTH" => match args.rest() {
            None => Command::Auth {
                mechanism: None,
                initial: None,
            },
            Some(rest) => {
                let mut parts = rest.split(|&b| b == b' ');
                let mech = parts.next().unwrap_or_default();
                let initial = parts.next();
                if parts.next().is_some() || mech.is_empty() || mech.len() > 20 {
                    return Err(CommandError::Syntax(
                        "AUTH takes a mechanism and an initial response",
                    ));
                }
                if !mech
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(CommandError::Syntax("bad SASL mechanism name"));
                }
                let initial =
                    match initial {
                        None => None,
                        Some([]) => {
                            return Err(CommandError::Syntax("empty initial response"));
                        }
                        Some(r) => Some(Secret::new(std::str::from_utf8(r).map_err(|_| {
                            CommandError::Syntax("initial response is not base64")
                        })?)),
                    };
                Command::Auth {
                    mechanism: Some(String::from_utf8_lossy(mech).to_ascii_uppercase()),
                    initial,
                }
            }
        },
        _ => return Err(CommandError::Unknown),
    };
    Ok(command)
}

/// The argument part of a line.
struct Args<'a>(Option<&'a [u8]>);

impl<'a> Args<'a> {
    fn new(rest: Option<&'a [u8]>) -> Self {
        Args(rest)
    }

    fn rest(&self) -> Option<&'a [u8]> {
        self.0
    }

    fn none(&self, c: Command) -> Result<Command, CommandError> {
        match self.0 {
            None => Ok(c),
            Some(_) => Err(CommandError::Syntax("this command takes no arguments")),
        }
    }

    fn words<const N: usize>(&self, msg: &'static str) -> Result<[&'a [u8]; N], CommandError> {
        let rest = self.0.ok_or(CommandError::Syntax(msg))?;
        let mut out = [&b""[..]; N];
        let mut parts = rest.split(|&b| b == b' ');
        for slot in out.iter_mut() {
            *slot = parts.next().ok_or(CommandError::Syntax(msg))?;
        }
        if parts.next().is_some() {
            return Err(CommandError::Syntax(msg));
        }
        Ok(out)
    }

    fn one_number(&self) -> Result<u32, CommandError> {
        let [n] = self.words::<1>("a message number is required")?;
        message_number(n)
    }

    fn optional_number(&self) -> Result<Option<u32>, CommandError> {
        match self.0 {
            None => Ok(None),
            Some(_) => self.one_number().map(Some),
        }
    }
}

/// A decimal without sign, at most 10 digits, fitting a u32.
fn decimal(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn message_number(s: &[u8]) -> Result<u32, CommandError> {
    match decimal(s) {
        Some(0) => Err(CommandError::Syntax("message numbers start at 1")),
        Some(n) => Ok(n),
        None => Err(CommandError::Syntax("invalid message number")),
    }
}

fn count(s: &[u8]) -> Result<u32, CommandError> {
    decimal(s).ok_or(CommandError::Syntax("invalid line count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse_command(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"))
    }
    fn err(line: &[u8]) -> CommandError {
        parse_command(line).expect_err(&String::from_utf8_lossy(line))
    }

    #[test]
    fn commands() {
        let cases: &[(&str, Command)] = &[
            ("CAPA", Command::Capa),
            ("capa", Command::Capa),
            ("StLs", Command::Stls),
            (
                "USER alice@example.org",
                Command::User("alice@example.org".into()),
            ),
            (
                "USER jürgen@example.org",
                Command::User("jürgen@example.org".into()),
            ),
            (
                "PASS secret with spaces",
                Command::Pass(Secret::new("secret with spaces")),
            ),
            (
                "AUTH",
                Command::Auth {
                    mechanism: None,
                    initial: None,
                },
            ),
            (
                "AUTH plain",
                Command::Auth {
                    mechanism: Some("PLAIN".into()),
                    initial: None,
                },
            ),
            (
                "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
                Command::Auth {
                    mechanism: Some("PLAIN".into()),
                    initial: Some(Secret::new("AGFsaWNlAHNlY3JldA==")),
                },
            ),
            ("APOP mrose c4c9334bac560ecc979e58001b3e22fb", Command::Apop),
            ("STAT", Command::Stat),
            ("LIST", Command::List(None)),
            ("LIST 2", Command::List(Some(2))),
            ("list 4294967295", Command::List(Some(u32::MAX))),
            ("RETR 1", Command::Retr(1)),
            ("DELE 10", Command::Dele(10)),
            ("NOOP", Command::Noop),
            ("RSET", Command::Rset),
            ("QUIT", Command::Quit),
            ("TOP 1 0", Command::Top { msg: 1, lines: 0 }),
            ("top 3 25", Command::Top { msg: 3, lines: 25 }),
            ("UIDL", Command::Uidl(None)),
            ("UIDL 7", Command::Uidl(Some(7))),
            ("UTF8", Command::Utf8),
        ];
        for (line, want) in cases {
            assert_eq!(&ok(line), want, "{line}");
        }
    }

    #[test]
    fn errors() {
        let cases: &[(&[u8], CommandError)] = &[
            (b"", CommandError::Empty),
            (b"XYZZY", CommandError::Unknown),
            (b"LISTS", CommandError::Unknown),
            (b" LIST", CommandError::Unknown),
            (b"LI\xffT", CommandError::Unknown),
            (
                b"STAT 1",
                CommandError::Syntax("this command takes no arguments"),
            ),
            (
                b"QUIT ",
                CommandError::Syntax("this command takes no arguments"),
            ),
            (
                b"LIST 0",
                CommandError::Syntax("message numbers start at 1"),
            ),
            (b"LIST -1", CommandError::Syntax("invalid message number")),
            (b"LIST +1", CommandError::Syntax("invalid message number")),
            (
                b"LIST 4294967296",
                CommandError::Syntax("invalid message number"),
            ),
            (
                b"LIST 1 2",
                CommandError::Syntax("a message number is required"),
            ),
            (
                b"LIST  1",
                CommandError::Syntax("a message number is required"),
            ),
            (
                b"RETR",
                CommandError::Syntax("a message number is required"),
            ),
            (b"RETR x", CommandError::Syntax("invalid message number")),
            (
                b"TOP 1",
                CommandError::Syntax("TOP needs a message number and a line count"),
            ),
            (
                b"TOP 1 2 3",
                CommandError::Syntax("TOP needs a message number and a line count"),
            ),
            (b"TOP 1 x", CommandError::Syntax("invalid line count")),
            (b"USER", CommandError::Syntax("USER needs a name")),
            (b"USER a b", CommandError::Syntax("USER needs one name")),
            (b"USER \xff", CommandError::Syntax("user name is not UTF-8")),
            (b"PASS", CommandError::Syntax("PASS needs a password")),
            (b"PASS ", CommandError::Syntax("PASS needs a password")),
            (
                b"NOOP\0",
                CommandError::Syntax("NUL is not allowed in commands"),
            ),
            (
                b"AUTH PLAIN a b",
                CommandError::Syntax("AUTH takes a mechanism and an initial response"),
            ),
            (
                b"AUTH PL*IN",
                CommandError::Syntax("bad SASL mechanism name"),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(&err(line), want, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn debug_never_shows_passwords() {
        let c = ok("PASS hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        let c = ok("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
        assert!(!format!("{c:?}").contains("AGFsaWNl"));
    }
}
