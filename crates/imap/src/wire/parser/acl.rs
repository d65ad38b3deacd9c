//! The grammar of the ACL commands (RFC 4314 section 7): SETACL, DELETEACL,
//! GETACL, LISTRIGHTS and MYRIGHTS. Identifiers are astrings of at most
//! [`MAX_IDENTIFIER`] octets; a rights string with an unknown letter is a
//! syntax error, so it is answered `BAD` (RFC 4314 3.1).

use super::{R, mailbox, sp_mailbox};
use crate::wire::acl::{AclCommand, MAX_IDENTIFIER, Rights, RightsChange};
use crate::wire::command::CommandKind;
use crate::wire::parser::Cursor;

/// The arguments of the ACL command `name` (upper-cased).
pub(super) fn acl(c: &mut Cursor, name: &str) -> R<CommandKind> {
    let cmd = match name {
        "SETACL" => {
            let mailbox = sp_mailbox(c)?;
            let identifier = sp_identifier(c)?;
            c.sp()?;
            let (change, rights) = mod_rights(c)?;
            AclCommand::Set {
                mailbox,
                identifier,
                change,
                rights,
            }
        }
        "DELETEACL" => AclCommand::Delete {
            mailbox: sp_mailbox(c)?,
            identifier: sp_identifier(c)?,
        },
        "GETACL" => AclCommand::Get(sp_mailbox(c)?),
        "LISTRIGHTS" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            AclCommand::ListRights {
                mailbox,
                identifier: sp_identifier(c)?,
            }
        }
        _ => AclCommand::MyRights(sp_mailbox(c)?),
    };
    Ok(CommandKind::Acl(cmd))
}

fn sp_identifier(c: &mut Cursor) -> R<String> {
    c.sp()?;
    let id = c.astring_utf8()?;
    if id.is_empty() || id.len() > MAX_IDENTIFIER {
        return Err("identifier empty or too long");
    }
    Ok(id)
}

/// `mod-rights = astring` holding `["+" / "-"] rights`.
fn mod_rights(c: &mut Cursor) -> R<(RightsChange, Rights)> {
    let text = c.astring_utf8()?;
    let (change, letters) = match text.as_bytes().first() {
        Some(b'+') => (RightsChange::Add, &text[1..]),
        Some(b'-') => (RightsChange::Remove, &text[1..]),
        _ => (RightsChange::Replace, text.as_str()),
    };
    if letters.len() > 64 {
        return Err("rights string too long");
    }
    let rights = Rights::parse(letters).map_err(|_| "unknown right")?;
    Ok((change, rights))
}

#[cfg(test)]
mod tests {
    use crate::wire::acl::{AclCommand, Rights, RightsChange};
    use crate::wire::command::{CommandKind, MailboxArg};
    use crate::wire::parser::parse_command;

    fn acl(line: &str) -> AclCommand {
        match parse_command(line.as_bytes()).unwrap().kind {
            CommandKind::Acl(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_each_command() {
        assert_eq!(
            acl("a SETACL INBOX bob@example.org +lr\r\n"),
            AclCommand::Set {
                mailbox: MailboxArg("INBOX".into()),
                identifier: "bob@example.org".into(),
                change: RightsChange::Add,
                rights: Rights::parse("lr").unwrap(),
            }
        );
        assert!(matches!(
            acl("a setacl \"Team x\" bob@example.org \"\"\r\n"),
            AclCommand::Set { change: RightsChange::Replace, rights, .. } if rights.is_empty()
        ));
        assert!(matches!(
            acl("a SETACL INBOX bob@example.org -d\r\n"),
            AclCommand::Set {
                change: RightsChange::Remove,
                ..
            }
        ));
        assert!(matches!(
            acl("a DELETEACL INBOX bob@example.org\r\n"),
            AclCommand::Delete { .. }
        ));
        assert_eq!(
            acl("a GETACL INBOX\r\n"),
            AclCommand::Get(MailboxArg("INBOX".into()))
        );
        assert!(matches!(
            acl("a LISTRIGHTS INBOX {3}\r\nbob\r\n"),
            AclCommand::ListRights { identifier, .. } if identifier == "bob"
        ));
        assert_eq!(
            acl("a MYRIGHTS Shared/o@x/INBOX\r\n"),
            AclCommand::MyRights(MailboxArg("Shared/o@x/INBOX".into()))
        );
    }

    #[test]
    fn refuses_bad_arguments() {
        for line in [
            "a SETACL INBOX bob +lz\r\n",
            "a SETACL INBOX bob\r\n",
            "a SETACL INBOX \"\" lr\r\n",
            "a GETACL\r\n",
            "a GETACL INBOX extra\r\n",
            "a MYRIGHTS\r\n",
            "a LISTRIGHTS INBOX\r\n",
            "a DELETEACL INBOX\r\n",
        ] {
            assert!(parse_command(line.as_bytes()).is_err(), "{line}");
        }
        let long = format!("a DELETEACL INBOX {}\r\n", "x".repeat(321));
        assert!(parse_command(long.as_bytes()).is_err());
        let rights = format!("a SETACL INBOX bob {}\r\n", "l".repeat(65));
        assert!(parse_command(rights.as_bytes()).is_err());
    }
}
