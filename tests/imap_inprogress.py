"""INPROGRESS (RFC 9585) against the real binary with Python's imaplib,
over imaps on loopback, with `[imap] progress_interval_ms = 0` so that a
SEARCH of message bodies reports before each message it loads. imaplib
files the untagged OK's response code under INPROGRESS.
"""
import imaplib
import re
from e2e_lib import args, tls_context, check

a = args()
ctx = tls_context(a["cafile"])

m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
typ, _ = m.login(a["user"], a["password"])
check(typ == "OK", "login")
typ, caps = m.capability()
check(b"INPROGRESS" in caps[0].split(), f"INPROGRESS not advertised: {caps}")
for n in range(5):
    typ, _ = m.append("INBOX", None, None, f"Subject: n{n}\r\n\r\nneedle {n}\r\n".encode())
    check(typ == "OK", f"append {n}")
check(m.select("INBOX")[0] == "OK", "select")
m.untagged_responses.pop("INPROGRESS", None)
typ, data = m.uid("SEARCH", "BODY", "needle")
check(typ == "OK" and data == [b"1 2 3 4 5"], f"search: {typ} {data}")
notes = m.untagged_responses.pop("INPROGRESS", [])
tag = rb'"[A-Z]+\d+"'
steps = []
for note in notes:
    found = re.fullmatch(rb"\((" + tag + rb") (\d+) (\d+)\)", note)
    check(found, f"INPROGRESS data {note!r}")
    steps.append((int(found.group(2)), int(found.group(3))))
check(steps == [(i, 5) for i in range(5)], f"progress steps {steps}")
m.logout()
print("ok")
