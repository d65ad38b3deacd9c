"""MESSAGELIMIT (RFC 9738) against the real binary with Python's imaplib,
over imaps on loopback, with `[imap] message_limit = 3`: UID commands act
on the highest UIDs they name and end OK [MESSAGELIMIT 3 <lowest UID
acted on>], so a client pages down through them; COPY and
sequence-number commands over the limit are refused NO [MESSAGELIMIT 3]
having done nothing.

imaplib files a tagged answer's response code under its name in
`untagged_responses`, which is where [MESSAGELIMIT] is looked for.
"""
import imaplib
import re
from e2e_lib import args, tls_context, check

a = args()
ctx = tls_context(a["cafile"])


def ok(result, what):
    typ, data = result
    check(typ == "OK", f"{what}: {typ} {data}")
    return data


def limited(m):
    """The lowest UID the last command acted on when it stopped at the
    limit ([MESSAGELIMIT 3 uid]), else None (and forgets it)."""
    data = m.untagged_responses.pop("MESSAGELIMIT", None)
    if data is None:
        return None
    parts = data[-1].split()
    check(parts[0] == b"3" and len(parts) == 2, f"MESSAGELIMIT code: {data}")
    return int(parts[1])


def refused(result, what):
    typ, data = result
    check(typ == "NO" and b"[MESSAGELIMIT 3]" in data[0], f"{what}: {typ} {data}")
    m.untagged_responses.pop("MESSAGELIMIT", None)


m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
ok(m.login(a["user"], a["password"]), "login")
caps = ok(m.capability(), "capability")[0].split()
check(b"MESSAGELIMIT=3" in caps, f"MESSAGELIMIT=3 not advertised: {caps}")
for n in range(1, 8):
    ok(m.append("INBOX", None, None, f"Subject: n{n}\r\n\r\nbody {n}\r\n".encode()), f"append {n}")
ok(m.select("INBOX"), "select")

# A client that knows the limit pages down with UID FETCH below the
# lowest UID the last answer named.
uids, end, rounds = [], "*", 0
while True:
    rounds += 1
    data = ok(m.uid("FETCH", f"1:{end}", "(UID)"), f"uid fetch 1:{end}")
    got = sorted(int(re.search(rb"UID (\d+)", d).group(1)) for d in data if d)
    check(len(got) <= 3, f"more than the limit in one answer: {got}")
    uids = got + uids
    lowest = limited(m)
    if lowest is None:
        break
    check(lowest == got[0], f"[MESSAGELIMIT] names {lowest}, the answer began at {got}")
    check(rounds < 5, "paging did not end")
    end = lowest - 1
check(uids == list(range(1, 8)) and rounds == 3, f"paged UIDs {uids} in {rounds} rounds")

# Sequence-number commands and COPY over the limit do nothing.
refused(m.fetch("1:4", "(FLAGS)"), "FETCH 1:4")
refused(m.store("1:*", "+FLAGS", "(\\Deleted)"), "STORE 1:*")
refused(m.search(None, "DELETED"), "SEARCH over the limit")
refused(m.copy("1:5", "Trash"), "COPY 1:5")
refused(m.uid("COPY", "1:*", "Trash"), "UID COPY 1:*")
data = ok(m.status("Trash", "(MESSAGES)"), "status Trash")
check(b"MESSAGES 0" in data[0], f"a refused COPY copied: {data}")

# UID STORE stops at the limit: the highest UIDs.
ok(m.uid("STORE", "2:7", "+FLAGS.SILENT", "(\\Flagged)"), "uid store")
check(limited(m) == 5, "UID STORE over the limit without [MESSAGELIMIT 3 5]")
data = ok(m.uid("SEARCH", "UID", "4:7", "FLAGGED"), "uid search flagged")
check(data == [b"5 6 7"] and limited(m) == 5, f"flagged after a limited UID STORE: {data}")
data = ok(m.uid("SEARCH", "UID", "2:4", "FLAGGED"), "uid search 2:4")
check(data == [b""] and limited(m) is None, f"the rest of the UID STORE was not done: {data}")
# A UID SEARCH of 4 messages examines the highest 3.
ok(m.uid("STORE", "1", "+FLAGS.SILENT", "(\\Flagged)"), "uid store 1")
data = ok(m.uid("SEARCH", "UID", "1:4", "FLAGGED"), "uid search 1:4")
check(data == [b""] and limited(m) == 2, f"a UID SEARCH of 4 messages examines 3: {data}")
m.logout()
print("ok")
