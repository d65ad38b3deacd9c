"""Small correctness points strict clients meet, against the real binary
with Python's imaplib over imaps on loopback (issue 18):

- a new message is \\Recent in exactly one session (RFC 3501 2.3.2): of
  two read-write sessions with INBOX selected, only the first told of it;
  a read-only (EXAMINE) session sees it recent while nobody claimed it;
- `FETCH 1:*` in an empty mailbox is OK (as Dovecot), an explicit
  number past the end is still BAD (RFC 9051 6.4.5);
- imaplib's `lsub()` with its default arguments lists the subscriptions.
"""
import imaplib
from e2e_lib import args, tls_context, check, imaps_login, ok

a = args()
ctx = tls_context(a["cafile"])
MSG = b"From: Carol <carol@example.net>\r\nSubject: Hello\r\n\r\nHi.\r\n"


def session():
    return imaps_login(a, ctx, a["user"])


def flags(m, seq):
    """The FLAGS of `seq`, after a NOOP has told the session of new mail."""
    ok(m.noop(), "noop")
    data = ok(m.fetch(seq, "(FLAGS)"), f"fetch {seq} flags")
    return data[0]


# FETCH 1:* in an empty INBOX, then an explicit number past the end.
first = session()
ok(first.select("INBOX"), "select empty INBOX")
data = ok(first.fetch("1:*", "(FLAGS)"), "fetch 1:* of an empty mailbox")
check(data == [None], f"fetch 1:* returned messages: {data}")
ok(first.store("1:*", "+FLAGS", "(\\Seen)"), "store 1:* of an empty mailbox")
try:
    typ, data = first.fetch("1", "(FLAGS)")
except imaplib.IMAP4.error as e:
    typ, data = "BAD", [str(e)]
check(typ == "BAD" and "BAD" in str(data), f"fetch 1 of an empty mailbox: {typ} {data}")
ok(first.noop(), "the session goes on after BAD")

# \Recent: two read-write sessions and one read-only, then a delivery.
second = session()
ok(second.select("INBOX"), "second select")
reader = session()
ok(reader.select("INBOX", readonly=True), "examine")
deliverer = session()
ok(deliverer.append("INBOX", None, None, MSG), "append")
check(b"\\Recent" in flags(reader, "1"), "unclaimed: read-only session sees \\Recent")
check(b"\\Recent" in flags(second, "1"), "the first read-write session told claims \\Recent")
check(b"\\Recent" not in flags(first, "1"), "the other read-write session sees no \\Recent")
data = ok(first.search(None, "RECENT"), "search recent")
check(data == [b""], f"SEARCH RECENT in the other session: {data}")
typ, data = deliverer.status("INBOX", "(RECENT)")
check(typ == "OK" and b"RECENT 0" in data[0], f"status after the claim: {data}")
deliverer.logout()
reader.logout()
second.logout()

# LSUB with imaplib's defaults ('""' and '*'), a subscribed name that does
# not exist included.
ok(first.create("Projects/2026"), "create")
ok(first.subscribe("Projects/2026"), "subscribe")
ok(first.subscribe("Ghost"), "subscribe to a name that does not exist")
data = ok(first.lsub(), "lsub()")
names = [d.rsplit(b" ", 1)[-1] for d in data]
for name in (b'"INBOX"', b'"Projects/2026"', b'"Ghost"'):
    check(name in names, f"lsub() lacks {name}: {data}")
check(b'"Projects"' not in names, f"lsub() * lists an unsubscribed parent: {data}")
first.logout()
print("ok")
