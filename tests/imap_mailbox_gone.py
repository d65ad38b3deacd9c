"""A selected mailbox deleted or renamed by another session (RFC 2180
3.3, 3.4), through the real binary with Python's imaplib over TLS: alice
has Work selected in two sessions, one of them in IDLE; a third session
renames Work to Job: both go on working (a new message reaches the one in
IDLE); then it deletes Job: both get `* BYE` within a second, unasked,
and their connections close. The same for bob, in IDLE on alice's Team
through a grant, when alice deletes Team. Loopback only. Prints "ok" at
the end.
"""
import imaplib
import time
from e2e_lib import args, tls_context, check, imaps_login, ok, told

a = args()
ctx = tls_context(a["cafile"])
ALICE, BOB = "alice@example.org", "bob@example.org"
MSG = b"From: Carol <carol@example.net>\r\nSubject: Plan\r\n\r\nQuarterly plan body\r\n"
BYE = b"* BYE The selected mailbox was deleted, closing the connection\r\n"


def login(user):
    return imaps_login(a, ctx, user)


def idle(m):
    m.send(b"I1 IDLE\r\n")
    check(m.readline().startswith(b"+ "), "IDLE continuation")


def closed_for_deletion(m, what):
    """`* BYE` within a second, then the end of the connection."""
    start = time.monotonic()
    line = told(m, what)
    took = time.monotonic() - start
    check(line == BYE, f"after {what}: {line!r}")
    check(took < 1.0, f"BYE after {what} took {took:.2f} s")
    rest = told(m, f"the BYE after {what}", within=5.0)
    check(rest == b"", f"after the BYE of {what}: {rest!r}")


alice = login(ALICE)
ok(alice.create("Work"), "create Work")
ok(alice.append("Work", None, None, MSG), "append Work")
idler = login(ALICE)
ok(idler.select("Work"), "select Work (idler)")
idle(idler)
reader = login(ALICE)
ok(reader.select("Work", readonly=True), "examine Work (reader)")

# RENAME: both go on under the new name; the one in IDLE hears new mail.
ok(alice.rename("Work", "Job"), "rename Work Job")
ok(alice.append("Job", None, None, MSG), "append Job")
line = told(idler, "the append after the rename")
check(line == b"* 2 EXISTS\r\n", f"IDLE after rename: {line!r}")
ok(reader.noop(), "noop after the rename")
check(reader.untagged_responses.get("EXISTS", [])[-1:] == [b"2"], f"{reader.untagged_responses}")
data = ok(reader.fetch("1:*", "(BODY.PEEK[TEXT])"), "fetch after the rename")
check(sum(1 for d in data if isinstance(d, tuple)) == 2, f"fetch after rename: {data}")
check(all(b"Quarterly plan body" in d[1] for d in data if isinstance(d, tuple)),
      f"fetch after rename: {data}")

# DELETE: both are closed at once, in IDLE or not.
told(idler, "the append after the rename")  # * 2 RECENT
ok(alice.delete("Job"), "delete Job")
closed_for_deletion(idler, "DELETE during IDLE")
closed_for_deletion(reader, "DELETE between commands")
try:
    reader.noop()
    check(False, "the reader's session outlived the DELETE")
except (imaplib.IMAP4.abort, OSError):
    pass

# A grantee in IDLE on the deleted mailbox: the same BYE, not NOPERM.
ok(alice.create("Team"), "create Team")
ok(alice.append("Team", None, None, MSG), "append Team")
ok(alice.setacl("Team", BOB, "lrs"), "grant lrs")
bob = login(BOB)
ok(bob.select(f"Shared/{ALICE}/Team"), "bob selects Team")
idle(bob)
ok(alice.delete("Team"), "delete Team")
closed_for_deletion(bob, "the owner's DELETE, grantee in IDLE")

check(alice.logout()[0] == "BYE", "logout")
print("ok")
