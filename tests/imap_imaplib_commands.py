"""Every imaplib command method against the real binary (Python 3.11's
imaplib), each answer checked for content. Methods for extensions sealpost
does not implement (ANNOTATE, SETQUOTA, PROXYAUTH, IMAP2bis's PARTIAL
command (not RFC 9394's PARTIAL, which is a SEARCH/FETCH option),
CRAM-MD5) must get a clean tagged NO or BAD, and the session goes on.
IDLE, which imaplib lacks, is sent raw through imaplib's own socket.
Loopback only.
"""
import imaplib
import re
from e2e_lib import args, tls_context, check

a = args()
ctx = tls_context(a["cafile"])
USER, PW = a["user"], a["password"]

MSG1 = (b"From: Carol <carol@example.net>\r\nTo: alice@example.org\r\nSubject: Lunch plans\r\n"
        b"Date: Mon, 1 Jan 2024 12:00:00 +0000\r\nMessage-ID: <lunch@example.net>\r\n\r\nNoon?\r\n")
MSG2 = (b"From: Dave <dave@example.com>\r\nTo: alice@example.org\r\nSubject: Re: Lunch plans\r\n"
        b"Date: Tue, 2 Jan 2024 12:00:00 +0000\r\nIn-Reply-To: <lunch@example.net>\r\n"
        b"References: <lunch@example.net>\r\n\r\nYes, noon.\r\n")
MSG3 = (b"From: Erin <erin@example.com>\r\nTo: alice@example.org\r\nSubject: Invoice\r\n"
        b"Date: Wed, 3 Jan 2024 12:00:00 +0000\r\n\r\nAttached.\r\n")


def ok(result, what):
    typ, data = result
    check(typ == "OK", f"{what}: {typ} {data}")
    return data


def refused(call, what, server_text=r"command error: (NO|BAD) "):
    """An unsupported command: imaplib raises on the tagged NO/BAD (its
    message quotes the server's answer as `server_text` matches)."""
    try:
        typ, data = call()
    except imaplib.IMAP4.error as e:
        # The server's tagged answer, not an error of imaplib's own.
        text = str(e)
        check(re.search(server_text, text), f"{what}: unexpected error {text}")
        return text
    check(typ in ("NO", "BAD"), f"{what}: {typ} {data}")
    return f"{typ} {data}"


# STARTTLS on the plaintext port, then LOGIN.
m = imaplib.IMAP4("127.0.0.1", a["imap"])
ok(m.starttls(ssl_context=ctx), "starttls")
ok(m.login(USER, PW), "login after starttls")
check(m.logout()[0] == "BYE", "logout")

# AUTHENTICATE PLAIN on imaps.
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
ok(m.authenticate("PLAIN", lambda _: f"\0{USER}\0{PW}".encode()), "authenticate PLAIN")
caps = ok(m.capability(), "capability")[0].split()
for cap in (b"IMAP4rev2", b"IDLE", b"MOVE", b"UIDPLUS", b"QUOTA", b"SORT", b"THREAD=REFERENCES",
            b"NAMESPACE", b"UNSELECT", b"ENABLE", b"SEARCHRES"):
    check(cap in caps, f"capability {cap} missing: {caps}")
ok(m.noop(), "noop")
data = ok(m.namespace(), "namespace")
check(data[0] == b'(("" "/")) (("Shared/" "/")) NIL', f"namespace {data}")
data = ok(m.xatom("ID", '("name" "imaplib")'), "xatom ID")
check(any(b'"sealpost"' in d for d in m.untagged_responses.pop("ID", [])), "ID response")
ok(m.enable("CONDSTORE"), "enable")
data = m.untagged_responses.pop("ENABLED", None)
check(data == [b"CONDSTORE"], f"enable {data}")

# Mailboxes: create, list, rename, subscribe, lsub, status, delete.
ok(m.create("Projects/2024"), "create")
data = ok(m.list('""', "Projects*"), "list")
check(sorted(data) == [b'(\\HasChildren) "/" "Projects"', b'(\\HasNoChildren) "/" "Projects/2024"'],
      f"list {data}")
ok(m.rename("Projects/2024", "Projects/2025"), "rename")
ok(m.subscribe("Projects/2025"), "subscribe")
data = ok(m.lsub('""', "Projects/*"), "lsub")
check(data == [b'() "/" "Projects/2025"'], f"lsub {data}")
ok(m.unsubscribe("Projects/2025"), "unsubscribe")
data = ok(m.lsub('""', "Projects/*"), "lsub after unsubscribe")
check(data == [None], f"lsub after unsubscribe {data}")
ok(m.delete("Projects/2025"), "delete")
data = ok(m.list('""', "Projects/*"), "list after delete")
check(data == [None], f"list after delete {data}")

# APPEND with flags and date, then the selected state.
for msg, flags in ((MSG1, r"(\Seen)"), (MSG2, None), (MSG3, r"(\Flagged)")):
    data = ok(m.append("INBOX", flags, imaplib.Time2Internaldate(1704110400), msg), "append")
    check(b"APPENDUID" in data[0], f"append {data}")
data = ok(m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT)"), "status")
check(data == [b'"INBOX" (MESSAGES 3 UNSEEN 2 UIDNEXT 4)'], f"status {data}")
data = ok(m.select("INBOX"), "select")
check(data == [b"3"], f"select {data}")
check(m.response("UIDVALIDITY")[1][0].isdigit(), "response UIDVALIDITY")
typ, data = m.recent()
check(typ == "OK" and data[0] in (b"3", None), f"recent {typ} {data}")
ok(m.check(), "check")

data = ok(m.fetch("1", "(FLAGS BODY.PEEK[])"), "fetch")
check(data[0][1] == MSG1 and b"\\Seen" in data[0][0], f"fetch {data}")
data = ok(m.search(None, "UNSEEN"), "search")
check(data == [b"2 3"], f"search {data}")
data = ok(m.search("UTF-8", "SUBJECT", "lunch"), "search with charset")
check(data == [b"1 2"], f"search charset {data}")
data = ok(m.sort("(REVERSE DATE)", "UTF-8", "ALL"), "sort")
check(data == [b"3 2 1"], f"sort {data}")
data = ok(m.thread("REFERENCES", "UTF-8", "ALL"), "thread")
check(data == [b"(1 2)(3)"], f"thread {data}")
data = ok(m.store("2", "+FLAGS", r"(\Answered)"), "store")
check(b"\\Answered" in data[0], f"store {data}")
data = ok(m.copy("1:2", "Archive"), "copy")
check(data[0].startswith(b"[COPYUID ") and b" 1:2 1:2]" in data[0], f"copy {data}")
data = ok(m.status("Archive", "(MESSAGES)"), "status Archive")
check(data == [b'"Archive" (MESSAGES 2)'], f"copy landed {data}")

# UID forms: FETCH, SEARCH, STORE, COPY, MOVE, SORT, THREAD, EXPUNGE.
data = ok(m.uid("FETCH", "3", "(UID FLAGS)"), "uid fetch")
check(re.search(rb"UID 3 FLAGS \(\\Flagged", data[0]), f"uid fetch {data}")
data = ok(m.uid("SEARCH", None, "FLAGGED"), "uid search")
check(data == [b"3"], f"uid search {data}")
ok(m.uid("STORE", "3", "+FLAGS", r"(\Seen)"), "uid store")
ok(m.uid("COPY", "3", "Sent"), "uid copy")
ok(m.uid("MOVE", "3", "Trash"), "uid move")
data = m.untagged_responses.pop("EXPUNGE", None)
check(data == [b"3"], f"uid move expunged {data}")
data = ok(m.status("Trash", "(MESSAGES)"), "status Trash")
check(data == [b'"Trash" (MESSAGES 1)'], f"move landed {data}")
data = ok(m.uid("SEARCH", None, "ALL"), "uid search after move")
check(data == [b"1 2"], f"moved message left INBOX {data}")
data = ok(m.uid("SORT", "(SUBJECT)", "UTF-8", "ALL"), "uid sort")
check(data == [b"1 2"], f"uid sort {data}")
data = ok(m.uid("THREAD", "ORDEREDSUBJECT", "UTF-8", "ALL"), "uid thread")
check(data == [b"(1 2)"], f"uid thread {data}")
ok(m.store("2", "+FLAGS", r"(\Deleted)"), "store deleted")
ok(m.uid("EXPUNGE", "2"), "uid expunge")
data = m.untagged_responses.pop("EXPUNGE", None)
check(data == [b"2"], f"uid expunge {data}")
ok(m.store("1", "+FLAGS", r"(\Deleted)"), "store deleted")
data = ok(m.expunge(), "expunge")
check(data == [b"1"], f"expunge {data}")
ok(m.unselect(), "unselect")
ok(m.select("Archive", readonly=True), "examine")
ok(m.close(), "close")

# Quota (alice has 1 MiB in the accounts file).
data = ok(m.getquotaroot("INBOX"), "getquotaroot")
check(data[0] == [b'"INBOX" ""'] and re.match(rb'"" \(STORAGE \d+ 1024\)', data[1][0]),
      f"getquotaroot {data}")
data = ok(m.getquota('""'), "getquota")
check(re.match(rb'"" \(STORAGE \d+ 1024\)', data[0]), f"getquota {data}")

# IDLE (imaplib has no method): raw, through imaplib's socket.
ok(m.select("INBOX"), "select for idle")
m.send(b"IDLE1 IDLE\r\n")
check(m.readline().startswith(b"+ "), "IDLE continuation")
other = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
other.login(USER, PW)
ok(other.append("INBOX", None, None, MSG3), "append from another session")
other.logout()
line = m.readline()
check(re.match(rb"\* \d+ EXISTS", line), f"IDLE update {line}")
m.send(b"DONE\r\n")
while True:
    line = m.readline()
    if line.startswith(b"IDLE1 "):
        check(line.startswith(b"IDLE1 OK"), f"IDLE end {line}")
        break

# Not implemented: a clean tagged NO or BAD each, and the session goes on.
text = refused(lambda: m.partial("1", "BODY[]", "0", "10"), "partial")
check(m.noop()[0] == "OK", "session after partial")
print(f"partial: {text}")
ok(m.unselect(), "unselect before the refusals")
# ACL (RFC 4314): the owner's methods work (tests/imap_acl.py has the rest).
ok(m.setacl("INBOX", "bob@example.net", "lr"), "setacl")
data = ok(m.getacl("INBOX"), "getacl")
check(data == [f'"INBOX" "{USER}" lrswipkxteacd "bob@example.net" lr'.encode()], f"getacl {data}")
ok(m.deleteacl("INBOX", "bob@example.net"), "deleteacl")
data = ok(m.myrights("INBOX"), "myrights")
check(data == [b'"INBOX" lrswipkxteacd'], f"myrights {data}")
refused(lambda: m.setacl("INBOX", "anyone", "lr"), "setacl anyone")
refusals = {
    "getannotation": lambda: m.getannotation("INBOX", '"/comment"', '"value.priv"'),
    "setannotation": lambda: m.setannotation("INBOX", '"/comment"', '("value.priv" "x")'),
    "setquota": lambda: m.setquota('""', "(STORAGE 1)"),
    "proxyauth": lambda: m.proxyauth("bob@example.net"),
}
for name, call in refusals.items():
    text = refused(call, name)
    check(m.noop()[0] == "OK", f"session after {name}")
    print(f"{name}: {text}")
check("NOPERM" in refused(lambda: m.setquota('""', "(STORAGE 1)"), "setquota"), "SETQUOTA NOPERM")
check(m.logout()[0] == "BYE", "logout")

m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
# imaplib reports a failed AUTHENTICATE with the server's text alone.
refused(lambda: m.login_cram_md5(USER, PW), "login_cram_md5",
        r"^\[CANNOT\] Unsupported authentication mechanism$")
check(m.noop()[0] == "OK", "session after CRAM-MD5")
ok(m.login(USER, PW), "login after a refused mechanism")
# UTF8=ACCEPT: imaplib then sends and reads names as UTF-8.
ok(m.enable("UTF8=ACCEPT"), "enable UTF8=ACCEPT")
ok(m.create('"Entwürfe"'), "create UTF-8 name")
data = ok(m.list('""', '"Entw*"'), "list UTF-8 name")
check(data == ['(\\HasNoChildren) "/" "Entwürfe"'.encode()], f"list UTF-8 {data}")
check(m.logout()[0] == "BYE", "logout")
print("ok")
