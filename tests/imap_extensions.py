"""MULTIAPPEND (RFC 3502), REPLACE (RFC 8508) and OBJECTID (RFC 8474)
against the real binary with Python's imaplib, over imaps on loopback.

imaplib has no method for these: the commands go through its own
command machinery, the messages as LITERAL+ literals ({n+}) inside the
arguments, and every answer is checked for content.
"""
import imaplib
import re
from e2e_lib import args, tls_context, check

a = args()
ctx = tls_context(a["cafile"])
imaplib.Commands.setdefault("REPLACE", ("SELECTED",))

MSG1 = (b"From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: Lunch\r\n"
        b"Message-ID: <lunch@example.net>\r\n\r\nNoon?\r\n")
MSG2 = (b"From: Dave <dave@example.com>\r\nTo: alice@example.org\r\nSubject: Re: Lunch\r\n"
        b"In-Reply-To: <lunch@example.net>\r\nReferences: <lunch@example.net>\r\n\r\nYes.\r\n")
DRAFT = b"From: alice@example.org\r\nSubject: Draft\r\n\r\nfirst version\r\n"
DRAFT2 = b"From: alice@example.org\r\nSubject: Draft\r\n\r\nsecond, longer version\r\n"


def lit(flags, msg):
    return b"(" + flags + b") {" + str(len(msg)).encode() + b"+}\r\n" + msg


def ok(result, what):
    typ, data = result
    check(typ == "OK", f"{what}: {typ} {data}")
    return data


def messages(m, mailbox):
    data = ok(m.status(mailbox, "(MESSAGES)"), f"status {mailbox}")
    return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))


def object_id(text, item):
    found = re.search(item.encode() + rb" \(([A-Za-z0-9_-]{1,255})\)", text)
    check(found, f"no {item} in {text!r}")
    return found.group(1).decode()


m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
ok(m.login(a["user"], a["password"]), "login")
caps = ok(m.capability(), "capability")[0].split()
for cap in (b"MULTIAPPEND", b"REPLACE", b"OBJECTID", b"LITERAL+"):
    check(cap in caps, f"capability {cap} missing: {caps}")

# MULTIAPPEND: three messages, one APPENDUID with three UIDs.
data = ok(m._simple_command("APPEND", "Drafts", lit(b"\\Seen", MSG1) + b" " + lit(b"", MSG2)
                            + b" " + lit(b"\\Draft", DRAFT)), "multiappend")
check(re.search(rb"\[APPENDUID \d+ 1:3\]", data[0]), f"multiappend answer {data}")
check(messages(m, "Drafts") == 3, "multiappend stored three")
# All or none: the third message over the quota (1 MiB) stores nothing.
big = b"Subject: big\r\n\r\n" + b"x" * (1024 * 1024) + b"\r\n"
try:
    typ, data = m._simple_command("APPEND", "INBOX", lit(b"", MSG1) + b" " + lit(b"", big))
except imaplib.IMAP4.error as e:
    typ, data = "NO", [str(e).encode()]
check(typ == "NO" and b"OVERQUOTA" in data[0], f"multiappend over quota: {typ} {data}")
check(messages(m, "INBOX") == 0, "a refused multiappend stored nothing")

# OBJECTID: MAILBOXID in CREATE, STATUS, SELECT; kept across RENAME.
data = ok(m.create("Projects"), "create")
created = object_id(data[0], "MAILBOXID")
data = ok(m.status("Projects", "(MAILBOXID)"), "status mailboxid")
check(object_id(data[0], "MAILBOXID") == created, f"status {data}")
ok(m.rename("Projects", "Work"), "rename")
data = ok(m.status("Work", "(MAILBOXID)"), "status after rename")
check(object_id(data[0], "MAILBOXID") == created, f"after rename {data}")

# EMAILID / THREADID: the reply shares its parent's thread; COPY keeps them.
drafts = object_id(ok(m.status("Drafts", "(MAILBOXID)"), "status Drafts")[0], "MAILBOXID")
ok(m.select("Drafts"), "select Drafts")
selected = m.response("MAILBOXID")[1]
check(selected == [f"({drafts})".encode()], f"SELECT MAILBOXID {selected} for {drafts}")
data = ok(m.fetch("1:3", "(EMAILID THREADID)"), "fetch objectids")
ids = [(object_id(d, "EMAILID"), object_id(d, "THREADID")) for d in data]
check(len({e for e, _ in ids}) == 3, f"three EMAILIDs {ids}")
check(ids[0][1] == ids[1][1] != ids[2][1], f"THREADIDs {ids}")
ok(m.copy("1", "Work"), "copy")
typ, data = m._simple_command("SEARCH", "EMAILID", ids[1][0])
data = m._untagged_response(typ, data, "SEARCH")[1]
check(typ == "OK" and data == [b"2"], f"search emailid {typ} {data}")

# REPLACE: the draft moves to Sent in its new version, the old one goes.
typ, data = m._simple_command("REPLACE", "3", "Sent", lit(b"\\Seen", DRAFT2))
check(typ == "OK", f"replace {typ} {data}")
check(m.response("APPENDUID")[1][0] is not None, "replace APPENDUID")
check(m.response("EXPUNGE")[1][0] == b"3", f"replace EXPUNGE {m.response('EXPUNGE')}")
check(messages(m, "Sent") == 1, "replacement in Sent")
# UID REPLACE in place, and a failed one keeps the old message.
typ, data = m.uid("REPLACE", "2", "Drafts", lit(b"", DRAFT2))
check(typ == "OK", f"uid replace {typ} {data}")
try:
    typ, data = m._simple_command("REPLACE", "1", "Nowhere", lit(b"", DRAFT2))
except imaplib.IMAP4.error as e:
    typ, data = "NO", [str(e).encode()]
check(typ == "NO" and b"TRYCREATE" in data[0], f"replace into nowhere {typ} {data}")
check(messages(m, "Drafts") == 2, "a failed replace kept the old message")

ok(m.select("Work"), "select Work")
data = ok(m.fetch("1", "(EMAILID THREADID)"), "fetch copy")
check((object_id(data[0], "EMAILID"), object_id(data[0], "THREADID")) == ids[0],
      f"COPY keeps ids {data} {ids[0]}")
m.logout()
print("ok")
