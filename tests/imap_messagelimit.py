"""MESSAGELIMIT (RFC 9738) against the real binary with Python's imaplib,
over imaps on loopback, with `[imap] message_limit = 3`: UID commands act
on the lowest UIDs and end OK [LIMIT], so a client pages through them;
sequence-number commands over the limit are refused NO [LIMIT] having
done nothing.

imaplib files a tagged answer's response code under its name in
`untagged_responses`, which is where [LIMIT] is looked for.
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
    """Whether the last command's answer carried [LIMIT] (and forgets it)."""
    return m.untagged_responses.pop("LIMIT", None) is not None


m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
ok(m.login(a["user"], a["password"]), "login")
caps = ok(m.capability(), "capability")[0].split()
check(b"MESSAGELIMIT=3" in caps, f"MESSAGELIMIT=3 not advertised: {caps}")
for n in range(1, 8):
    ok(m.append("INBOX", None, None, f"Subject: n{n}\r\n\r\nbody {n}\r\n".encode()), f"append {n}")
ok(m.select("INBOX"), "select")

# A client that knows the limit pages with UID FETCH from the last UID seen.
uids, start, rounds = [], 1, 0
while True:
    rounds += 1
    data = ok(m.uid("FETCH", f"{start}:*", "(UID)"), f"uid fetch {start}:*")
    got = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data if d]
    check(len(got) <= 3, f"more than the limit in one answer: {got}")
    uids += got
    if not limited(m):
        break
    check(rounds < 5, "paging did not end")
    start = got[-1] + 1
check(uids == list(range(1, 8)) and rounds == 3, f"paged UIDs {uids} in {rounds} rounds")

# Sequence-number commands over the limit do nothing.
typ, data = m.fetch("1:4", "(FLAGS)")
check(typ == "NO" and b"[LIMIT]" in data[0], f"FETCH 1:4: {typ} {data}")
typ, data = m.store("1:*", "+FLAGS", "(\\Deleted)")
check(typ == "NO" and b"[LIMIT]" in data[0], f"STORE 1:*: {typ} {data}")
typ, data = m.search(None, "DELETED")
check(typ == "NO", f"SEARCH over the limit: {typ} {data}")
m.untagged_responses.pop("LIMIT", None)
typ, data = m.copy("1:5", "Trash")
check(typ == "NO" and b"[LIMIT]" in data[0], f"COPY 1:5: {typ} {data}")
m.untagged_responses.pop("LIMIT", None)
data = ok(m.status("Trash", "(MESSAGES)"), "status Trash")
check(b"MESSAGES 0" in data[0], f"a refused COPY copied: {data}")

# UID STORE and UID COPY stop at the limit: the lowest UIDs.
ok(m.uid("STORE", "2:7", "+FLAGS.SILENT", "(\\Flagged)"), "uid store")
check(limited(m), "UID STORE over the limit without [LIMIT]")
data = ok(m.uid("SEARCH", "UID", "1:3", "FLAGGED"), "uid search flagged")
check(data == [b"2 3"], f"flagged after a limited UID STORE: {data}")
ok(m.uid("COPY", "1:*", "Trash"), "uid copy")
check(limited(m), "UID COPY over the limit without [LIMIT]")
data = ok(m.status("Trash", "(MESSAGES)"), "status Trash after UID COPY")
check(b"MESSAGES 3" in data[0], f"UID COPY copied: {data}")
data = ok(m.uid("SEARCH", "UID", "5:*", "FLAGGED"), "uid search 5:*")
check(data == [b""] and not limited(m), f"the rest of the UID STORE was not done: {data}")
data = ok(m.uid("SEARCH", "UID", "4:*", "FLAGGED"), "uid search 4:*")
check(data == [b"4"] and limited(m), f"a UID SEARCH of 4 messages examines 3: {data}")
m.logout()
print("ok")
