//! Parser table tests: valid commands, their typed form, and refusals.

use super::*;

fn ok(input: &str) -> CommandKind {
    match parse_command(input.as_bytes()) {
        Ok(c) => c.kind,
        Err(e) => panic!("{input:?}: {e:?}"),
    }
}

fn bad(input: &[u8]) -> ParseError {
    match parse_command(input) {
        Ok(c) => panic!("{input:?} parsed as {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn simple_commands_any_case() {
    assert_eq!(ok("a noop\r\n"), CommandKind::Noop);
    assert_eq!(ok("A1 CAPABILITY\r\n"), CommandKind::Capability);
    assert_eq!(ok("x LoGoUt\r\n"), CommandKind::Logout);
    assert_eq!(ok("x IDLE\r\n"), CommandKind::Idle);
}

#[test]
fn login_with_quoted_and_literal() {
    let CommandKind::Login { user, password } = ok("a LOGIN \"al\\\"ice\" {3}\r\np w\r\n") else {
        panic!()
    };
    assert_eq!(user, "al\"ice");
    assert_eq!(password.expose(), "p w");
}

#[test]
fn password_never_prints() {
    let c = parse_command(b"a LOGIN alice hunter2\r\n").unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn authenticate_with_initial_response() {
    assert_eq!(
        ok("a AUTHENTICATE plain AGFsaWNlAHB3\r\n"),
        CommandKind::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some("AGFsaWNlAHB3".into())
        }
    );
    assert_eq!(
        ok("a AUTHENTICATE PLAIN =\r\n"),
        CommandKind::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some("=".into())
        }
    );
}

#[test]
fn select_with_qresync() {
    let CommandKind::Select {
        mailbox, options, ..
    } = ok("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n")
    else {
        panic!()
    };
    assert_eq!(mailbox.0, "INBOX");
    let q = options.qresync.unwrap();
    assert_eq!((q.uid_validity, q.modseq), (67890007, 20050715194045000));
    assert!(q.known_uids.unwrap().contains(300, 1000));
}

#[test]
fn list_extended() {
    let CommandKind::List {
        patterns, options, ..
    } = ok("a LIST (SUBSCRIBED) \"\" (\"*\" %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n")
    else {
        panic!()
    };
    assert_eq!(patterns.len(), 2);
    assert!(options.subscribed && options.return_children);
    assert_eq!(
        options.return_status,
        Some(vec![StatusItem::Messages, StatusItem::Unseen])
    );
}

#[test]
fn append_with_flags_date_and_literal() {
    let CommandKind::Append {
        mailbox,
        flags,
        date,
        message,
    } = ok("a APPEND Drafts (\\Seen $Work) \"05-Jan-2024 10:00:00 +0100\" {5+}\r\nhello\r\n")
    else {
        panic!()
    };
    assert_eq!(mailbox.0, "Drafts");
    assert_eq!(flags, vec!["\\Seen", "$Work"]);
    assert_eq!(date, Some(1704445200));
    assert_eq!(message, b"hello");
}

#[test]
fn fetch_items() {
    let CommandKind::Fetch { uid, items, .. } = ok(
        "a UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)] BODY[1.2.MIME]<0.100> BINARY[1] BINARY.SIZE[2] RFC822.SIZE)\r\n",
    ) else {
        panic!()
    };
    assert!(uid);
    assert_eq!(items.len(), 6);
    assert_eq!(
        items[1],
        FetchAtt::BodySection {
            peek: true,
            section: Section {
                part: vec![],
                text: SectionText::HeaderFields(vec!["From".into(), "Subject".into()])
            },
            partial: None
        }
    );
    assert_eq!(
        items[2],
        FetchAtt::BodySection {
            peek: false,
            section: Section {
                part: vec![1, 2],
                text: SectionText::Mime
            },
            partial: Some((0, 100))
        }
    );
    assert!(
        matches!(ok("a FETCH 1 FAST\r\n"), CommandKind::Fetch { items, .. } if items.len() == 3)
    );
    assert!(matches!(
        ok("a FETCH 1 BODY[]\r\n"),
        CommandKind::Fetch { .. }
    ));
}

#[test]
fn fetch_changedsince() {
    let CommandKind::Fetch { modifiers, .. } =
        ok("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n")
    else {
        panic!()
    };
    assert_eq!(modifiers.changed_since, Some(12345));
    assert!(modifiers.vanished);
    bad(b"a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n");
}

#[test]
fn store_forms() {
    assert_eq!(
        ok("a STORE 1:3 +FLAGS.SILENT (\\Deleted)\r\n"),
        CommandKind::Store {
            uid: false,
            set: MessageSet::Set(SequenceSet(vec![(SeqBound::Num(1), SeqBound::Num(3))])),
            op: StoreOp::Add,
            silent: true,
            flags: vec!["\\Deleted".into()],
            unchanged_since: None
        }
    );
    let CommandKind::Store {
        unchanged_since,
        flags,
        ..
    } = ok("a UID STORE 5 (UNCHANGEDSINCE 7) FLAGS \\Seen foo\r\n")
    else {
        panic!()
    };
    assert_eq!(unchanged_since, Some(7));
    assert_eq!(flags, vec!["\\Seen", "foo"]);
}

#[test]
fn search_keys() {
    let CommandKind::Search { key, ret, .. } = ok(
        "a SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR FROM alice (SINCE 1-Feb-2024 NOT SEEN) UID 1:5 LARGER 10\r\n",
    ) else {
        panic!()
    };
    assert!(ret.extended && ret.min && ret.count && !ret.all);
    let SearchKey::And(keys) = key else { panic!() };
    assert_eq!(keys.len(), 3);
    assert!(matches!(&keys[0], SearchKey::Or(..)));
    assert_eq!(keys[2], SearchKey::Larger(10));
}

#[test]
fn search_bad_charset_is_its_own_error() {
    assert_eq!(
        bad(b"a SEARCH CHARSET KOI8-R ALL\r\n").kind,
        ParseErrorKind::BadCharset
    );
}

#[test]
fn search_depth_is_bounded() {
    let mut s = b"a SEARCH ".to_vec();
    s.extend(std::iter::repeat_n(b'(', 10_000));
    s.extend_from_slice(b"ALL");
    s.extend(std::iter::repeat_n(b')', 10_000));
    s.extend_from_slice(b"\r\n");
    assert_eq!(bad(&s).kind, ParseErrorKind::Syntax);
    let mut s = b"a SEARCH".to_vec();
    for _ in 0..10_000 {
        s.extend_from_slice(b" NOT");
    }
    s.extend_from_slice(b" ALL\r\n");
    assert_eq!(bad(&s).kind, ParseErrorKind::Syntax);
}

#[test]
fn errors_keep_the_tag_when_they_can() {
    assert_eq!(bad(b"a1 FROB\r\n").kind, ParseErrorKind::UnknownCommand);
    assert_eq!(bad(b"a1 FROB\r\n").tag.unwrap().as_str(), "a1");
    assert_eq!(bad(b"a1 SELECT\r\n").tag.unwrap().as_str(), "a1");
    assert!(bad(b"\r\n").tag.is_none());
    assert!(bad(b"+ NOOP\r\n").tag.is_none());
    assert!(bad(b"a\xff NOOP\r\n").tag.is_none());
}

#[test]
fn refusals() {
    for input in [
        &b"a NOOP extra\r\n"[..],
        b"a SELECT \"unterminated\r\n",
        b"a LOGIN {10}\r\nshort\r\n",
        b"a FETCH 0 FLAGS\r\n",
        b"a FETCH 1 (FLAGS\r\n",
        b"a FETCH 99999999999 FLAGS\r\n",
        b"a STORE 1 FLAGS\r\n",
        b"a SEARCH BEFORE 31-Feb-2024\r\n",
        b"a APPEND INBOX \"bad date\" {1+}\r\nx\r\n",
        b"a SELECT \"a\x00b\"\r\n",
        b"a ENABLE\r\n",
        b"a UID FROB 1\r\n",
    ] {
        bad(input);
    }
}

#[test]
fn no_input_prefix_panics() {
    let input = b"a UID FETCH 1:*,3 (BODY.PEEK[1.HEADER.FIELDS.NOT (A B)]<1.2> BINARY.PEEK[1]) (CHANGEDSINCE 3)\r\n";
    for end in 0..input.len() {
        let _ = parse_command(&input[..end]);
    }
}

#[test]
fn sort_and_thread() {
    assert_eq!(
        ok("a UID SORT (REVERSE DATE subject) UTF-8 ALL\r\n"),
        CommandKind::Sort {
            uid: true,
            ret: None,
            criteria: vec![
                SortCriterion {
                    reverse: true,
                    key: SortKey::Date
                },
                SortCriterion {
                    reverse: false,
                    key: SortKey::Subject
                }
            ],
            key: SearchKey::All
        }
    );
    assert_eq!(
        ok("a THREAD REFERENCES US-ASCII SEEN FLAGGED\r\n"),
        CommandKind::Thread {
            uid: false,
            algorithm: ThreadAlgorithm::References,
            key: SearchKey::And(vec![SearchKey::Seen, SearchKey::Flagged])
        }
    );
    assert_eq!(
        bad(b"a SORT (DATE) KOI8-R ALL\r\n").kind,
        ParseErrorKind::BadCharset
    );
    bad(b"a SORT () UTF-8 ALL\r\n");
    bad(b"a THREAD FOO UTF-8 ALL\r\n");
}

#[test]
fn append_utf8_data_item() {
    let CommandKind::Append { message, .. } = ok("a APPEND INBOX UTF8 (~{3+}\r\nabc)\r\n") else {
        panic!()
    };
    assert_eq!(message, b"abc");
    bad(b"a APPEND INBOX UTF8 (~{3+}\r\nabc\r\n");
}

#[test]
fn preview_followed_by_other_items_or_modifiers() {
    // Regression: `PREVIEW ` was taken as the start of `(LAZY)`.
    let CommandKind::Fetch { items, .. } = ok("a FETCH 1 (PREVIEW FLAGS)\r\n") else {
        panic!()
    };
    assert_eq!(items, vec![FetchAtt::Preview, FetchAtt::Flags]);
    let CommandKind::Fetch { items, .. } = ok("a FETCH 1 (PREVIEW (LAZY) UID)\r\n") else {
        panic!()
    };
    assert_eq!(items, vec![FetchAtt::Preview, FetchAtt::Uid]);
    let CommandKind::Fetch {
        items, modifiers, ..
    } = ok("a FETCH 1 PREVIEW (CHANGEDSINCE 5)\r\n")
    else {
        panic!()
    };
    assert_eq!(items, vec![FetchAtt::Preview]);
    assert_eq!(modifiers.changed_since, Some(5));
    bad(b"a FETCH 1 (PREVIEW (EAGER))\r\n");
    bad(b"a FETCH 1 (PREVIEW (LAZY)\r\n");
}

#[test]
fn saved_result_and_search_save() {
    // RFC 5182: `$` wherever a sequence set goes.
    for input in [
        "a FETCH $ FLAGS\r\n",
        "a UID FETCH $ (UID)\r\n",
        "a STORE $ +FLAGS (\\Seen)\r\n",
        "a UID STORE $ FLAGS ()\r\n",
        "a COPY $ Archive\r\n",
        "a UID MOVE $ Trash\r\n",
        "a UID EXPUNGE $\r\n",
    ] {
        let set = match ok(input) {
            CommandKind::Fetch { set, .. }
            | CommandKind::Store { set, .. }
            | CommandKind::Copy { set, .. }
            | CommandKind::Move { set, .. } => set,
            CommandKind::Expunge { uids: Some(set) } => set,
            other => panic!("{input:?}: {other:?}"),
        };
        assert_eq!(set, MessageSet::Saved, "{input:?}");
    }
    let CommandKind::Search { ret, key, .. } = ok("a SEARCH RETURN (SAVE) FLAGGED\r\n") else {
        panic!()
    };
    assert!(ret.extended && ret.save && !ret.all && !ret.min);
    assert_eq!(key, SearchKey::Flagged);
    let CommandKind::Search { key, .. } = ok("a UID SEARCH UID $ $ SEEN\r\n") else {
        panic!()
    };
    assert_eq!(
        key,
        SearchKey::And(vec![SearchKey::Saved, SearchKey::Saved, SearchKey::Seen])
    );
    let CommandKind::Search { ret, .. } = ok("a SEARCH RETURN (SAVE MIN) ALL\r\n") else {
        panic!()
    };
    assert!(ret.save && ret.min && !ret.all);
    // `$` is a whole set, not a member of one.
    bad(b"a FETCH 1,$ FLAGS\r\n");
    bad(b"a FETCH $:3 FLAGS\r\n");
    bad(b"a FETCH $$ FLAGS\r\n");
}

#[test]
fn setquota_parses_for_a_clean_refusal() {
    assert_eq!(
        ok("a SETQUOTA \"\" (STORAGE 512)\r\n"),
        CommandKind::SetQuota {
            root: String::new(),
            limits: vec![("STORAGE".into(), 512)]
        }
    );
    assert_eq!(
        ok("a SETQUOTA x ()\r\n"),
        CommandKind::SetQuota {
            root: "x".into(),
            limits: vec![]
        }
    );
    bad(b"a SETQUOTA \"\" (STORAGE)\r\n");
    bad(b"a SETQUOTA \"\"\r\n");
}

#[test]
fn esort_and_context_return_options() {
    let CommandKind::Sort { ret, .. } = ok("a SORT RETURN (MIN MAX) (SIZE) UTF-8 ALL\r\n") else {
        panic!("not SORT");
    };
    let ret = ret.unwrap();
    assert!(ret.extended && ret.min && ret.max && !ret.all && !ret.update);
    let CommandKind::Sort { ret, .. } = ok("a UID SORT RETURN () (SIZE) UTF-8 ALL\r\n") else {
        panic!("not SORT");
    };
    assert!(ret.unwrap().all, "RETURN () is ALL");
    let CommandKind::Search { ret, .. } = ok("a SEARCH RETURN (CONTEXT) ALL\r\n") else {
        panic!("not SEARCH");
    };
    assert!(ret.all && !ret.update, "a mere hint is ALL");
    let CommandKind::Search { ret, .. } = ok("a SEARCH RETURN (update count) ALL\r\n") else {
        panic!("not SEARCH");
    };
    assert!(ret.update && ret.count && !ret.all);
    assert_eq!(
        ok("a CANCELUPDATE \"b1\" \"b2\"\r\n"),
        CommandKind::CancelUpdate(vec!["b1".into(), "b2".into()])
    );
    for refused in [
        &b"a SORT RETURN (SAVE) (SIZE) UTF-8 ALL\r\n"[..],
        b"a SORT RETURN (MIN MIN) (SIZE) UTF-8 ALL\r\n",
        b"a SEARCH RETURN (UPDATE UPDATE) ALL\r\n",
        b"a SORT RETURN (ALL PARTIAL 1:2) (SIZE) UTF-8 ALL\r\n",
        b"a SORT RETURN MIN (SIZE) UTF-8 ALL\r\n",
        b"a CANCELUPDATE\r\n",
        b"a CANCELUPDATE b1\r\n",
    ] {
        assert_eq!(bad(refused).kind, ParseErrorKind::Syntax, "{refused:?}");
    }
    let many = format!("a CANCELUPDATE{}\r\n", " \"t\"".repeat(101));
    assert_eq!(bad(many.as_bytes()).message, "too many tags");
}

#[test]
fn metadata_commands() {
    assert_eq!(
        ok("a GETMETADATA (MAXSIZE 1024 DEPTH infinity) INBOX (/private/comment /shared/x)\r\n"),
        CommandKind::GetMetadata {
            mailbox: MailboxArg("INBOX".into()),
            entries: vec!["/private/comment".into(), "/shared/x".into()],
            maxsize: Some(1024),
            depth: MetadataDepth::Infinity,
        }
    );
    assert_eq!(
        ok("a SETMETADATA \"\" (/private/a NIL /shared/b ~{2}\r\n\0x)\r\n"),
        CommandKind::SetMetadata {
            mailbox: MailboxArg(String::new()),
            entries: vec![
                ("/private/a".into(), None),
                ("/shared/b".into(), Some(b"\0x".to_vec())),
            ],
        }
    );
    for refused in [
        &b"a SETMETADATA INBOX (/private \"x\")\r\n"[..],
        b"a GETMETADATA INBOX /private/\r\n",
        b"a GETMETADATA (DEPTH 1 MAXSIZE 1 MAXSIZE 2) INBOX /private/a\r\n",
        b"a GETMETADATA INBOX /private/%\r\n",
        b"a SETMETADATA INBOX ()\r\n",
        b"a SETMETADATA INBOX (/private/a)\r\n",
    ] {
        assert_eq!(bad(refused).kind, ParseErrorKind::Syntax, "{refused:?}");
    }
    let long = format!("a GETMETADATA INBOX /private/{}\r\n", "x".repeat(1020));
    assert_eq!(bad(long.as_bytes()).message, "invalid entry name");
    let many = format!(
        "a GETMETADATA INBOX ({})\r\n",
        vec!["/private/a"; 101].join(" ")
    );
    assert_eq!(bad(many.as_bytes()).message, "too many entries");
}

#[test]
fn append_with_catenate() {
    use crate::wire::catenate::{CatPart, MAX_CATENATE_PARTS};
    let CommandKind::Catenate {
        mailbox,
        messages,
        replace: None,
    } = ok(
        "a APPEND Out {1+}\r\nx (\\Seen) CATENATE (TEXT {2+}\r\nhi URL \"/INBOX/;UID=1\" URL ;UID=2)\r\n",
    )
    else {
        panic!()
    };
    assert_eq!(mailbox.0, "Out");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].parts, vec![CatPart::Text(b"x".to_vec())]);
    assert_eq!(messages[1].flags, vec!["\\Seen".to_string()]);
    assert_eq!(
        messages[1].parts,
        vec![
            CatPart::Text(b"hi".to_vec()),
            CatPart::Url("/INBOX/;UID=1".into()),
            CatPart::Url(";UID=2".into()),
        ]
    );
    bad(b"a APPEND Out CATENATE ()\r\n");
    bad(b"a APPEND Out CATENATE (TEXT \"x\")\r\n");
    bad(b"a APPEND Out CATENATE (URL /a/;UID=1\r\n");
    let CommandKind::Catenate { replace, .. } =
        ok("a UID REPLACE 7 Out CATENATE (URL /a/;UID=1)\r\n")
    else {
        panic!()
    };
    assert_eq!(replace, Some((true, 7)));
    bad(b"a REPLACE 1 Out CATENATE (URL /a/;UID=1) {1+}\r\nx\r\n");
    let many = vec!["URL x"; MAX_CATENATE_PARTS + 1].join(" ");
    bad(format!("a APPEND Out CATENATE ({many})\r\n").as_bytes());
    let just = vec!["URL x"; MAX_CATENATE_PARTS].join(" ");
    ok(&format!("a APPEND Out CATENATE ({just})\r\n"));
}
