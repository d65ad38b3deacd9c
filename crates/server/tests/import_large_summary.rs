//! A 20 MiB multipart message imported from a Maildir by the real binary
//! gets its summary at import (made while it streams in, headers kept and
//! bodies measured), and FETCH ENVELOPE and BODYSTRUCTURE over IMAP
//! (Python's imaplib) answer exactly as for the same message appended over
//! IMAP, whose summary is made from the whole message.

mod audit_support;
mod common;

use audit_support::*;
use common::*;

/// A multipart/mixed message of about 20 MiB (LF line endings, as Dovecot
/// keeps Maildir files): a text part, a 20 MiB base64 attachment and an
/// attached message with a multipart/alternative of its own.
fn large_message() -> Vec<u8> {
    let mut m = b"From: Bob Example <bob@example.net>\nTo: Alice <alice@example.org>\n\
Cc: carol@example.org\nSubject: =?UTF-8?Q?Gro=C3=9Fe?= Datei\n\
Date: Thu, 02 Jan 2020 10:00:00 +0000\nMessage-ID: <large.1@example.net>\n\
In-Reply-To: <earlier@example.net>\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"outer\"\n\npreamble\n--outer\n\
Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
Hallo Alice, anbei die gro=C3=9Fe Datei.\n\n--outer\n\
Content-Type: application/octet-stream; name=\"data.bin\"\n\
Content-Disposition: attachment; filename=\"data.bin\"\n\
Content-Transfer-Encoding: base64\nContent-ID: <data@example.net>\n\n"
        .to_vec();
    let line = [b'Q'; 76];
    while m.len() < 20 << 20 {
        m.extend_from_slice(&line);
        m.push(b'\n');
    }
    m.extend_from_slice(
        b"--outer\nContent-Type: message/rfc822\n\n\
From: Dave <dave@example.org>\nSubject: inner\nMessage-ID: <inner@example.org>\n\
Content-Type: multipart/alternative; boundary=inner\n\n--inner\n\
Content-Type: text/plain\n\ninner text\n--inner\nContent-Type: text/html\n\n\
<p>inner html</p>\n--inner--\n--outer--\nepilogue\n",
    );
    m
}

const FETCH: &str = r#"
import imaplib, ssl, sys, json
a = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=a["cafile"])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
m.login(a["user"], a["password"])
raw = open(a["message"], "rb").read().replace(b"\n", b"\r\n")
typ, _ = m.create("Appended")
typ, data = m.append("Appended", None, None, raw)
assert typ == "OK", data
for box in ["INBOX", "Appended"]:
    typ, _ = m.select(box, readonly=True)
    assert typ == "OK", box
    typ, data = m.uid("FETCH", "1:*", "(RFC822.SIZE ENVELOPE BODYSTRUCTURE)")
    assert typ == "OK" and len(data) == 1, data
    text = data[0].decode()
    print(box, text[text.index("RFC822.SIZE"):])
m.logout()
"#;

#[test]
fn a_20_mib_multipart_message_gets_its_envelope_and_structure_at_import() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let maildir = site.path("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let raw = large_message();
    let file = maildir.join("cur/1577959200.M1P1.big:2,S");
    std::fs::write(&file, &raw).unwrap();
    let out = site.cli(
        &[
            "import",
            "alice@example.org",
            "--from",
            maildir.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.ok(), "{}{}", out.stdout, out.stderr);

    // The summary was made at import: the stored one is the whole
    // message's.
    {
        let store = open_store(&site);
        let account = store.account_id("alice@example.org").unwrap().unwrap();
        let inbox = store
            .mailbox(account, &sealpost_store::MailboxName::inbox())
            .unwrap()
            .unwrap()
            .id;
        let uid = store.snapshot(account, inbox).unwrap().entries[0].uid;
        let meta = store.meta(account, inbox, uid).unwrap().unwrap();
        assert!(meta.size > 20 << 20, "{}", meta.size);
        assert!(!meta.summary.is_empty(), "no summary stored at import");
        let stored = sealpost_imap::message::Summary::decode(&meta.summary).unwrap();
        let message = store.read(account, inbox, uid).unwrap().unwrap();
        assert_eq!(
            stored,
            sealpost_imap::message::Summary::from_message(&message)
        );
    }

    let server = site.start();
    let args = script_args(
        &site,
        &server,
        serde_json::json!({ "message": file.to_str().unwrap() }),
    );
    let got = std::process::Command::new("python3")
        .args(["-c", FETCH, &args])
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&got.stdout).into_owned();
    assert!(
        got.status.success(),
        "{}{text}",
        String::from_utf8_lossy(&got.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let imported = lines[0].strip_prefix("INBOX ").unwrap();
    let appended = lines[1].strip_prefix("Appended ").unwrap();
    assert_eq!(imported, appended, "imported and appended answer alike");
    for want in [
        "\"Thu, 02 Jan 2020 10:00:00 +0000\"",
        "\"=?UTF-8?Q?Gro=C3=9Fe?= Datei\"",
        "((\"Bob Example\" NIL \"bob\" \"example.net\"))",
        "\"<earlier@example.net>\" \"<large.1@example.net>\"",
        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\"",
        "\"<data@example.net>\" NIL \"BASE64\"",
        "\"MESSAGE\" \"RFC822\"",
        "\"inner\"",
        "\"ALTERNATIVE\"",
        "\"MIXED\"",
    ] {
        assert!(
            imported
                .to_ascii_uppercase()
                .contains(&want.to_ascii_uppercase()),
            "{want}: {imported}"
        );
    }
    // The attachment's size: its lines of 77 octets (CRLF now), less the
    // line break before the next delimiter.
    let lines_of_q = raw
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"QQQQ"))
        .count();
    let size = lines_of_q * 78 - 2;
    assert!(
        imported
            .to_ascii_uppercase()
            .contains(&format!("\"BASE64\" {size} ")),
        "size {size}: {imported}"
    );
    server.stop();
}
