"""A grant changed while the grantee has the shared mailbox selected
(RFC 4314 5.1.1), through the real binary with Python's imaplib over TLS:
alice shares Team with bob, who selects it. Rights lost but `r` kept are
told at once (PERMANENTFLAGS) and refused at bob's next command; `r`
taken away closes bob's session within a second with `* BYE [NOPERM]`,
unasked, and nothing of Team reaches him after it; the same for a
session in IDLE on Team (EXAMINEd), whose revocation is a DELETEACL.
Loopback only. Prints "ok" at the end.
"""
import imaplib
import time
from e2e_lib import args, tls_context, check, imaps_login, ok, told

a = args()
ctx = tls_context(a["cafile"])
ALICE, BOB = "alice@example.org", "bob@example.org"
TEAM = f"Shared/{ALICE}/Team"
MSG = b"From: Carol <carol@example.net>\r\nSubject: Plan\r\n\r\nQuarterly plan body\r\n"


def login(user):
    return imaps_login(a, ctx, user)


def closed_for_revocation(m, what):
    """`* BYE [NOPERM]` within a second, then the end of the connection."""
    start = time.monotonic()
    line = told(m, what)
    took = time.monotonic() - start
    check(line.startswith(b"* BYE [NOPERM] "), f"after {what}: {line!r}")
    check(took < 1.0, f"BYE after {what} took {took:.2f} s")
    rest = told(m, f"the BYE after {what}", within=5.0)
    check(rest == b"", f"after the BYE of {what}: {rest!r}")


alice = login(ALICE)
ok(alice.create("Team"), "create Team")
ok(alice.append("Team", "(\\Flagged)", None, MSG), "append Team")
ok(alice.setacl("Team", BOB, "lrsw"), "grant lrsw")

# Selected read-write; `s` taken away: told at once, refused next.
bob = login(BOB)
ok(bob.select(TEAM), "select Team")
ok(alice.setacl("Team", BOB, "lrw"), "take s away")
line = told(bob, "losing s")
check(line == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n", f"FLAGS: {line!r}")
line = told(bob, "losing s")
check(line.startswith(b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\*)] "),
      f"PERMANENTFLAGS: {line!r}")
typ, data = bob.store("1", "+FLAGS", "(\\Seen)")
check(typ == "NO" and b"[NOPERM]" in data[-1], f"store \\Seen without s: {typ} {data}")
data = ok(bob.fetch("1", "(BODY[TEXT])"), "fetch the body")
check(b"Quarterly plan body" in data[0][1], f"fetch {data}")
data = ok(bob.fetch("1", "(FLAGS)"), "fetch flags")
check(b"\\Seen" not in data[0], f"FETCH BODY[] set \\Seen without s: {data}")

# `r` taken away: BYE within a second, unasked, and nothing after it.
ok(alice.setacl("Team", BOB, "lw"), "take r away")
closed_for_revocation(bob, "SETACL lw")
ok(alice.append("Team", None, None, MSG), "append after the revocation")
try:
    bob.noop()
    check(False, "bob's session outlived the revocation")
except (imaplib.IMAP4.abort, OSError):
    pass

# In IDLE (EXAMINE): told of alice's append, then BYE at the DELETEACL,
# and nothing of the appends that follow.
ok(alice.setacl("Team", BOB, "lr"), "grant lr")
bob = login(BOB)
ok(bob.select(TEAM, readonly=True), "examine Team")
bob.send(b"I1 IDLE\r\n")
check(bob.readline().startswith(b"+ "), "IDLE continuation")
ok(alice.append("Team", None, None, MSG), "append during IDLE")
line = told(bob, "the append during IDLE")
check(line == b"* 3 EXISTS\r\n", f"IDLE update {line!r}")
line = told(bob, "the append during IDLE")
check(line == b"* 3 RECENT\r\n", f"IDLE update {line!r}")
ok(alice.deleteacl("Team", BOB), "deleteacl during IDLE")
ok(alice.append("Team", None, None, MSG), "append after the DELETEACL")
closed_for_revocation(bob, "DELETEACL during IDLE")

# The grant is gone for any new session too, as a missing mailbox is.
bob = login(BOB)
typ, data = bob.select(TEAM)
check(typ == "NO" and b"[NONEXISTENT]" in data[-1], f"select after revoke: {typ} {data}")
for m in (alice, bob):
    check(m.logout()[0] == "BYE", "logout")
print("ok")
