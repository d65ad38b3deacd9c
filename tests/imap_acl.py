"""Shared mailboxes through the real binary with Python's imaplib over TLS
(ACL, RFC 4314; the shared namespace, RFC 2342): alice shares Team with
bob; bob sees it as Shared/alice@example.org/Team with exactly the rights
granted (l+r, then i, s, w, t, e one at a time), hears alice's changes
in IDLE, nothing else of alice's,
and nothing once revoked; carol, never granted anything, sees nothing.
Ends with Team shared again as lrs, for the export the harness checks.
Loopback only. Prints "ok" at the end.
"""
import imaplib
from e2e_lib import args, tls_context, check, imaps_login, ok

a = args()
ctx = tls_context(a["cafile"])
ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.org"
TEAM = f"Shared/{ALICE}/Team"
imaplib.Commands.setdefault("LISTRIGHTS", ("AUTH", "SELECTED"))


def no(call, code, what):
    """A tagged NO carrying [code] (imaplib raises on it for some methods
    and returns it for others); returns the server's text."""
    try:
        typ, data = call()
    except imaplib.IMAP4.error as e:
        text = str(e)
    else:
        check(typ == "NO", f"{what}: expected NO [{code}], got {typ} {data}")
        text = data[-1].decode() if data and data[-1] else ""
    check(f"[{code}]" in text, f"{what}: expected [{code}], got {text}")
    return text


def msg(subject):
    return (f"From: Carol <carol@example.net>\r\nTo: team@example.org\r\n"
            f"Subject: {subject}\r\n\r\n{subject} body\r\n").encode()


def listed(m, pattern="*"):
    data = ok(m.list('""', f'"{pattern}"'), f"list {pattern}")
    return [d.decode() for d in data if d]


def grant(rights):
    ok(alice.setacl("Team", BOB, rights), f"setacl {rights}")


def reselect(m, box=TEAM):
    """Rights are taken at SELECT: open the mailbox afresh."""
    if m.state == "SELECTED":
        ok(m.unselect(), "unselect")
    m.is_readonly = False
    try:
        return ok(m.select(box), f"select {box}")
    except imaplib.IMAP4.readonly:
        m.is_readonly = True  # [READ-ONLY]: no right to change anything


alice, bob, carol = (imaps_login(a, ctx, user) for user in (ALICE, BOB, CAROL))
check(b"RIGHTS=texk" in ok(alice.capability(), "capability")[0], "RIGHTS=texk advertised")
data = ok(bob.namespace(), "namespace")
check(data[0] == b'(("" "/")) (("Shared/" "/")) NIL', f"namespace {data}")

# alice's mailboxes: Team (to share) and Private (never shared).
for box in ("Team", "Private"):
    ok(alice.create(box), f"create {box}")
ok(alice.append("Team", "(\\Flagged)", None, msg("Team plan")), "append Team")
ok(alice.append("Private", None, None, msg("Private diary")), "append Private")
ok(alice.append("INBOX", None, None, msg("Inbox secret")), "append INBOX")

# Before any grant bob sees nothing, and Team answers like a missing name.
check(not [l for l in listed(bob) if "Shared" in l], f"bob lists before grant: {listed(bob)}")
before = no(lambda: bob.select(TEAM), "NONEXISTENT", "select before grant")
missing = no(lambda: bob.select(f"Shared/{ALICE}/Nothing"), "NONEXISTENT", "select missing")
check(before == missing, f"invisible differs from missing: {before} / {missing}")

# l+r: bob lists, selects (read-only), fetches.
grant("lr")
data = ok(alice.getacl("Team"), "getacl")
check(data == [f'"Team" "{ALICE}" lrswipkxteacd "{BOB}" lr'.encode()], f"getacl {data}")
names = listed(bob)
shared = [l for l in names if ALICE in l]
check(shared[-1] == f'(\\HasNoChildren) "/" "{TEAM}"', f"bob's list {names}")
check(not [l for l in names if "Private" in l or f"{ALICE}/INBOX" in l], f"leak in {names}")
data = ok(bob.myrights(TEAM), "myrights")
check(data == [f'"{TEAM}" lr'.encode()], f"myrights {data}")
try:
    bob.select(TEAM)
    check(False, "lr must open read-only")
except imaplib.IMAP4.readonly:
    # imaplib's way of saying the server answered [READ-ONLY]; accept it.
    bob.is_readonly = True
data = ok(bob.fetch("1", "(FLAGS BODY.PEEK[])"), "fetch")
check(b"Team plan body" in data[0][1] and b"\\Flagged" in data[0][0], f"fetch {data}")
no(lambda: bob.getacl(TEAM), "NOPERM", "getacl without a")
no(lambda: bob.setacl(TEAM, BOB, "lrswipkxtea"), "NOPERM", "setacl without a")
typ, data = bob._simple_command("LISTRIGHTS", "Team", BOB)
check(typ == "NO", f"listrights on bob's own namespace {typ} {data}")
typ, data = alice._simple_command("LISTRIGHTS", "Team", BOB)
check(typ == "OK", f"listrights {typ}")
lr = alice._untagged_response(typ, data, "LISTRIGHTS")[1]
check(lr == [f'"Team" "{BOB}" "" l r s w i p k x t e a c d'.encode()], f"listrights {lr}")

# Nothing else of alice's, by any of her names.
for box in (f"Shared/{ALICE}/INBOX", f"Shared/{ALICE}/Private", f"Shared/{ALICE}", "Shared"):
    no(lambda: bob.status(box, "(MESSAGES)"), "NONEXISTENT", f"status {box}")
    no(lambda: bob.select(box, readonly=True), "NONEXISTENT", f"examine {box}")
check(not [l for l in listed(carol) if "Shared" in l], "carol sees a shared mailbox")
no(lambda: carol.select(TEAM), "NONEXISTENT", "carol select")

# Each write right, refused before it is granted and honoured after.
reselect(bob)
no(lambda: bob.append(TEAM, None, None, msg("Bob note")), "NOPERM", "append without i")
grant("lri")
ok(bob.append(TEAM, "(\\Seen)", None, msg("Bob note")), "append with i")
for flag, right in (("\\Seen", "s"), ("$Work", "w"), ("\\Deleted", "t")):
    reselect(bob)
    no(lambda: bob.store("1", "+FLAGS", f"({flag})"), "NOPERM", f"store {flag} without {right}")
    grant("lri" + right)
    reselect(bob)
    data = ok(bob.store("1", "+FLAGS", f"({flag})"), f"store {flag} with {right}")
    check(flag.encode() in data[0], f"store {flag}: {data}")
grant("lrit")
reselect(bob)
no(lambda: bob.expunge(), "NOPERM", "expunge without e")
grant("lrite")
reselect(bob)
data = ok(bob.expunge(), "expunge with e")
check(data == [b"1"], f"expunge {data}")
data = ok(alice.status("Team", "(MESSAGES)"), "owner status")
check(b"MESSAGES 1" in data[0], f"owner sees bob's expunge: {data}")

# IDLE (raw, imaplib has no method): bob, idling in Team, hears alice's append.
reselect(bob)
bob.send(b"IDLE1 IDLE\r\n")
check(bob.readline().startswith(b"+ "), "IDLE continuation")
ok(alice.append("Team", None, None, msg("While bob idles")), "append during IDLE")
line = bob.readline()
check(line == b"* 2 EXISTS\r\n", f"IDLE update {line}")
bob.send(b"DONE\r\n")
while True:
    line = bob.readline()
    if line.startswith(b"IDLE1 "):
        check(line.startswith(b"IDLE1 OK"), f"IDLE end {line}")
        break

# Revoked: invisible again, exactly like a missing mailbox (a revocation
# while bob has Team selected: tests/imap_acl_revoke.py).
ok(bob.unselect(), "unselect")
ok(alice.deleteacl("Team", BOB), "deleteacl")
gone = no(lambda: bob.select(TEAM), "NONEXISTENT", "select after revoke")
check(gone == missing, f"revoked differs from missing: {gone} / {missing}")
check(not [l for l in listed(bob) if "Shared" in l], "bob lists after revoke")
no(lambda: bob.append(TEAM, None, None, msg("late")), "TRYCREATE", "append after revoke")
data = ok(alice.getacl("Team"), "getacl after revoke")
check(data == [f'"Team" "{ALICE}" lrswipkxteacd'.encode()], f"getacl {data}")

# A standing grant for the data export that the harness checks next.
grant("lrs")
for m in (alice, bob, carol):
    check(m.logout()[0] == "BYE", "logout")
print("ok")
