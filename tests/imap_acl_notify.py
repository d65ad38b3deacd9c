"""NOTIFY (RFC 5465) and RENAME on shared mailboxes (RFC 4314) through the
real binary with Python's imaplib over TLS: alice shares Team with bob;
bob's NOTIFY `subtree Shared` tells him of alice's new message in Team
(as STATUS under its Shared/ name) without a command; bob, holding `x` on
Team and `k` on Projects, renames Team under Projects, which renames
alice's mailbox; a mailbox alice shares after bob's NOTIFY SET is told
(LIST, STATUS) and watched from the grant on; once alice revokes a grant,
bob is told `LIST (\\NoAccess)` and hears nothing more of it (RFC 5465
5.9). Loopback only. Prints "ok" at the end.
"""
import imaplib
import re
from e2e_lib import args, tls_context, check, imaps_login, ok, told_line

a = args()
ctx = tls_context(a["cafile"])
ALICE, BOB = "alice@example.org", "bob@example.org"
SHARED = f"Shared/{ALICE}"
imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("SETACL", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("DELETEACL", ("AUTH", "SELECTED"))


MSG = b"From: Carol <carol@example.net>\r\nSubject: plan\r\n\r\nDraft.\r\n"
alice = imaps_login(a, ctx, ALICE)
ok(alice.create("Team"), "create Team")
ok(alice.create("Projects"), "create Projects")
ok(alice._simple_command("SETACL", "Team", BOB, "lrx"), "grant Team")
ok(alice._simple_command("SETACL", "Projects", BOB, "lrk"), "grant Projects")

bob = imaps_login(a, ctx, BOB)
ok(bob._simple_command("NOTIFY", "SET", "(subtree Shared (MessageNew MessageExpunge MailboxName))",
                       "(personal (MailboxName))"), "NOTIFY SET")
ok(alice.append("Team", None, None, MSG), "append to Team")
line = told_line(bob, "alice's APPEND")
check(re.fullmatch(rb'\* STATUS "' + SHARED.encode() + rb'/Team" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)', line),
      f"STATUS of the shared mailbox: {line!r}")

# bob renames alice's Team under Projects: x on Team, k on Projects.
ok(bob.rename(f'"{SHARED}/Team"', f'"{SHARED}/Projects/Team"'), "bob's RENAME")
line = told_line(bob, "the RENAME")
check(line == f'* LIST () "/" "{SHARED}/Projects/Team" ("OLDNAME" ("{SHARED}/Team"))'.encode(),
      f"RENAME told: {line!r}")
names = b" ".join(ok(alice.list(), "alice's LIST"))
check(b'"Projects/Team"' in names and b' "Team"' not in names, f"alice's mailboxes: {names!r}")
# Across accounts: refused.
typ, data = bob.rename(f'"{SHARED}/Projects/Team"', "Mine")
check(typ == "NO" and b"[CANNOT]" in data[0], f"RENAME across accounts: {typ} {data}")

# Shared after bob's NOTIFY SET: watched from the grant on (RFC 5465 5.9:
# told as LIST, with the counters to go on from), nothing before it.
ok(alice.create("Later"), "create Later")
ok(alice.append("Later", None, None, MSG), "append before the grant")
ok(alice._simple_command("SETACL", "Later", BOB, "lr"), "grant Later")
line = told_line(bob, "the grant")
check(line == f'* LIST () "/" "{SHARED}/Later"'.encode(), f"grant told: {line!r}")
line = told_line(bob, "the grant's STATUS")
check(re.fullmatch(rb'\* STATUS "' + SHARED.encode() + rb'/Later" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)', line),
      f"STATUS of the newly shared mailbox: {line!r}")
ok(alice.append("Later", None, None, MSG), "append after the grant")
line = told_line(bob, "alice's APPEND to Later")
check(re.fullmatch(rb'\* STATUS "' + SHARED.encode() + rb'/Later" \(MESSAGES 2 .*\)', line),
      f"STATUS after the grant: {line!r}")

# Revoked: told as \NoAccess at once, then nothing more of either; bob's
# own next change is the next thing he hears.
ok(alice._simple_command("DELETEACL", "Later", BOB), "revoke Later")
line = told_line(bob, "the revocation of Later")
check(line == f'* LIST (\\NoAccess) "/" "{SHARED}/Later"'.encode(), f"revocation told: {line!r}")
ok(alice._simple_command("DELETEACL", "Projects/Team", BOB), "revoke")
line = told_line(bob, "the revocation of Projects/Team")
check(line == f'* LIST (\\NoAccess) "/" "{SHARED}/Projects/Team"'.encode(), f"revocation told: {line!r}")
ok(alice.append("Projects/Team", None, None, MSG), "append after the revocation")
ok(alice.append("Later", None, None, MSG), "append to Later after the revocation")
bob2 = imaps_login(a, ctx, BOB)
ok(bob2.create("Marker"), "bob's marker")
line = told_line(bob, "bob's CREATE")
check(line == b'* LIST () "/" "Marker"', f"after the revocation: {line!r}")
print("ok")
