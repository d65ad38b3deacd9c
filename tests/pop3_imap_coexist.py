"""IMAP and POP3 on the same INBOX at once, both through real clients
(imaplib, poplib) against the real binary. What is checked is the behaviour
documented in crates/pop3/README.md: POP3 numbers never change during its
session; an IMAP expunge makes the message vanish from POP3 without
renumbering; mail arriving during the POP3 session stays out of it; POP3's
QUIT deletions reach a selected IMAP session as EXPUNGE; UIDL is IMAP's
UIDVALIDITY and UID."""
import imaplib
import poplib
import re

from e2e_lib import args, check, tls_context

a = args()
ctx = tls_context(a["cafile"])

imap = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
imap.login(a["user"], a["password"])
for i in (1, 2, 3):
    msg = f"From: s@example.net\r\nSubject: m{i}\r\n\r\nbody {i}\r\n".encode()
    typ, _ = imap.append("INBOX", None, None, msg)
    check(typ == "OK", f"APPEND {i}")
typ, data = imap.select("INBOX")
check(typ == "OK" and int(data[0]) == 3, f"SELECT {data}")
typ, data = imap.status("INBOX", "(UIDVALIDITY)")
uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
typ, data = imap.uid("FETCH", "1:*", "(UID)")
uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data if d]
check(len(uids) == 3, f"UIDs {uids}")

pop = poplib.POP3_SSL("127.0.0.1", a["pop3s"], context=ctx)
pop.user(a["user"])
pop.pass_(a["password"])
count, _ = pop.stat()
check(count == 3, f"POP3 STAT {count}")
_, lines, _ = pop.uidl()
uidl = dict(l.decode().split() for l in lines)
want = {str(n): f"{u:08X}{uidvalidity:08X}" for n, u in zip((1, 2, 3), uids)}
check(uidl == want, f"UIDL {uidl} vs IMAP {want}")

# IMAP expunges message 2 and new mail arrives, while POP3 is in session.
typ, _ = imap.store("2", "+FLAGS", r"(\Deleted)")
check(typ == "OK", "STORE")
typ, data = imap.expunge()
check(typ == "OK" and data == [b"2"], f"EXPUNGE {data}")
typ, _ = imap.append("INBOX", None, None, b"Subject: m4\r\n\r\nlate\r\n")
check(typ == "OK", "APPEND 4")

# POP3: 2 vanished without renumbering; the late message is not in this session.
count, _ = pop.stat()
check(count == 2, f"STAT after IMAP expunge: {count}")
_, lines, _ = pop.list()
numbers = [l.split()[0] for l in lines]
check(numbers == [b"1", b"3"], f"LIST {lines}")
_, lines, _ = pop.uidl()
check(dict(l.decode().split() for l in lines) == {"1": want["1"], "3": want["3"]},
      f"UIDL after expunge {lines}")
try:
    pop.retr(2)
    check(False, "RETR of a message IMAP expunged succeeded")
except poplib.error_proto as e:
    check(b"deleted by another session" in e.args[0], f"RETR 2: {e}")
_, body, _ = pop.retr(3)
check(b"body 3" in b"\r\n".join(body), f"RETR 3 {body}")
pop.dele(1)
pop.quit()

# The IMAP session sees POP3's deletion; the late message is still there.
typ, data = imap.noop()
check(typ == "OK", "NOOP")
untagged = imap.untagged_responses
check(b"1" in untagged.get("EXPUNGE", []), f"no EXPUNGE after POP3 QUIT: {untagged}")
typ, data = imap.select("INBOX")
check(int(data[0]) == 2, f"INBOX after POP3 QUIT: {data}")
typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
subjects = b" ".join(d[1] for d in data if isinstance(d, tuple))
check(b"m3" in subjects and b"m4" in subjects and b"m1" not in subjects, f"left: {subjects}")
imap.logout()
print("ok")
