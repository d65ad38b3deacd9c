"""CATENATE (RFC 4469) against the real binary with Python's imaplib, over
imaps on loopback: a message built from a TEXT literal and IMAP URLs
(RFC 5092) naming a part of a stored message, its APPENDUID, the built
message read back with FETCH; a URL to nothing (wrong UIDVALIDITY,
missing message) is NO [BADURL] and appends nothing; a shared mailbox
bob may see but not read answers exactly as a missing one, and once he
holds `r` the same URL works.

imaplib has no CATENATE method: the APPEND goes through its command
machinery with the TEXT parts as LITERAL+ literals in the arguments.
Prints "ok" at the end.
"""
import imaplib
import re
from e2e_lib import args, tls_context, check

a = args()
ctx = tls_context(a["cafile"])
ALICE, BOB = a["user"], "bob@example.net"
MIXED = (b"From: Ann <ann@example.org>\r\nSubject: Parts\r\n"
         b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
         b"--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n"
         b"--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n")


def login(user):
    m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
    typ, _ = m.login(user, a["password"])
    check(typ == "OK", f"login {user}")
    return m


def text(data):
    """A CATENATE TEXT part: a LITERAL+ literal inside the arguments."""
    return b"TEXT {%d+}\r\n" % len(data) + data


def catenate(m, mailbox, *parts):
    """APPEND mailbox CATENATE (parts): (typ, tagged text)."""
    arg = b"CATENATE (" + b" ".join(parts) + b")"
    typ, data = m._simple_command("APPEND", mailbox, arg)
    return typ, (data[-1] or b"").decode()


def url(u):
    return b'URL "' + u.encode() + b'"'


def status(m, box, item):
    typ, data = m.status(box, f"({item})")
    check(typ == "OK", f"status {box}: {data}")
    return int(re.search(rf"{item} (\d+)", data[0].decode()).group(1))


def body(m, box, uid):
    typ, _ = m.select(box, readonly=True)
    check(typ == "OK", f"select {box}")
    typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
    check(typ == "OK" and isinstance(data[0], tuple), f"fetch {box} {uid}: {data}")
    m.unselect()
    return data[0][1]


m = login(ALICE)
typ, caps = m.capability()
check(b"CATENATE" in caps[0].split(), f"CATENATE not advertised: {caps}")
check(m.append("INBOX", None, None, MIXED)[0] == "OK", "append INBOX")
check(m.create("Outbox")[0] == "OK", "create Outbox")
v = status(m, "INBOX", "UIDVALIDITY")

m.untagged_responses.pop("APPENDUID", None)
head = b"From: alice@example.org\r\nSubject: Fwd: Parts\r\n\r\n"
typ, said = catenate(m, "Outbox", text(head),
                     url(f"/INBOX;UIDVALIDITY={v}/;UID=1/;SECTION=2"),
                     text(b"\r\n-- \r\nalice\r\n"))
check(typ == "OK", f"catenate: {typ} {said}")
sent_v = status(m, "Outbox", "UIDVALIDITY")
appenduid = m.response("APPENDUID")[1][0].decode()
check(appenduid == f"{sent_v} 1", f"APPENDUID {appenduid}")
got = body(m, "Outbox", 1)
check(got == head + b"second part\r\n-- \r\nalice\r\n", f"built message {got!r}")

# URLs that name nothing: NO [BADURL url], nothing appended.
for bad in (f"/INBOX;UIDVALIDITY={v + 1}/;UID=1", "/INBOX/;UID=2",
            "/INBOX/;UID=1/;SECTION=9", "/Nowhere/;UID=1"):
    typ, said = catenate(m, "Outbox", text(b"x"), url(bad))
    check(typ == "NO" and said.startswith(f"[BADURL {bad}]"), f"{bad}: {typ} {said}")
check(status(m, "Outbox", "MESSAGES") == 1, "a failed CATENATE appended something")

# A shared mailbox: visible to bob (l) but not readable is a missing one.
check(m.create("Team")[0] == "OK", "create Team")
check(m.append("Team", None, None, MIXED)[0] == "OK", "append Team")
check(m.setacl("Team", BOB, "l")[0] == "OK", "setacl l")
bob = login(BOB)
answers = []
for u in (f"/Shared/{ALICE}/Team/;UID=1", f"/Shared/{ALICE}/Nowhere/;UID=1"):
    u = u.replace("@", "%40")
    typ, said = catenate(bob, "INBOX", url(u))
    check(typ == "NO", f"bob {u}: {typ} {said}")
    answers.append(said.replace(u, "URL"))
check(answers[0] == answers[1] and answers[0].startswith("[BADURL URL]"),
      f"an unreadable mailbox answers unlike a missing one: {answers}")
check(status(bob, "INBOX", "MESSAGES") == 0, "bob's INBOX changed")
check(m.setacl("Team", BOB, "lr")[0] == "OK", "setacl lr")
typ, said = catenate(bob, "INBOX", url(f"/Shared/{ALICE.replace('@', '%40')}/Team/;UID=1/;SECTION=1"))
check(typ == "OK", f"bob with r: {typ} {said}")
check(body(bob, "INBOX", 1) == b"first part", "bob's built message")
bob.logout()
m.logout()
print("ok")
