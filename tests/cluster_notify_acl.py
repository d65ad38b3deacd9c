"""NOTIFY (RFC 5465 5.9) and grants changed on another node of a cluster,
with Python's imaplib over TLS: alice's session on node 2 watches
`subtree Shared`; bob, on node 1, shares a mailbox he creates there after
her NOTIFY SET, writes to it, and revokes the grant. Alice is told the
grant (LIST, STATUS), bob's new message (STATUS), the revocation
(`LIST (\\NoAccess)`), and nothing more of it, each within 5 s and
without sending a command. Then a second session of alice's on node 2
EXAMINEs the mailbox, bob revokes the grant again on node 1, and that
session is closed with `* BYE [NOPERM]` (RFC 4314 5.1.1), unasked, with
nothing after it. Loopback only. Prints "ok" at the end.
"""
import imaplib
import re
from e2e_lib import args, tls_context, check, imaps_login, ok, told_line

a = args()
ctx = tls_context(a["cafile"])
for c in ("NOTIFY", "SETACL", "DELETEACL"):
    imaplib.Commands.setdefault(c, ("AUTH", "SELECTED"))
ALICE, BOB = a["user"], "bob@example.net"
TEAM = f"Shared/{BOB}/Team".encode()
MSG = b"From: Carol <carol@example.net>\r\nSubject: plan\r\n\r\nDraft.\r\n"


def connect(port, user):
    return imaps_login(a, ctx, user, port)


alice = connect(a["imaps_2"], ALICE)
bob = connect(a["imaps_1"], BOB)
ok(alice._simple_command("NOTIFY", "SET", "(personal (MailboxName))",
                         "(subtree Shared (MessageNew MessageExpunge MailboxName))"), "NOTIFY SET")
ok(bob.create("Team"), "create Team")
ok(bob._simple_command("SETACL", "Team", ALICE, "lr"), "grant on node 1")
line = told_line(alice, "the grant on node 1")
check(line == b'* LIST () "/" "' + TEAM + b'"', f"grant: {line!r}")
line = told_line(alice, "the grant's STATUS")
check(re.fullmatch(rb'\* STATUS "' + TEAM + rb'" \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0\)', line),
      f"STATUS of the newly shared mailbox: {line!r}")
ok(bob.append("Team", None, None, MSG), "append on node 1")
line = told_line(alice, "bob's APPEND on node 1")
check(re.fullmatch(rb'\* STATUS "' + TEAM + rb'" \(MESSAGES 1 .*\)', line), f"STATUS: {line!r}")
ok(bob._simple_command("DELETEACL", "Team", ALICE), "revoke on node 1")
line = told_line(alice, "the revocation on node 1")
check(line == b'* LIST (\\NoAccess) "/" "' + TEAM + b'"', f"revocation: {line!r}")
ok(bob.append("Team", None, None, MSG), "append after the revocation")
# Nothing more of Team: alice's own next change is the next line she reads.
ok(connect(a["imaps_1"], ALICE).create("Marker"), "marker")
line = told_line(alice, "the marker's CREATE")
check(line == b'* LIST () "/" "Marker"', f"after the marker: {line!r}")

# Selected on node 2, revoked on node 1: BYE, then nothing.
ok(bob._simple_command("SETACL", "Team", ALICE, "lr"), "grant again on node 1")
reader = connect(a["imaps_2"], ALICE)
ok(reader.select(TEAM.decode(), readonly=True), "EXAMINE on node 2")
ok(bob._simple_command("DELETEACL", "Team", ALICE), "revoke on node 1 while selected on node 2")
line = told_line(reader, "the revocation of the selected mailbox on node 1")
check(line.startswith(b"* BYE [NOPERM] "), f"revocation while selected: {line!r}")
ok(bob.append("Team", None, None, MSG), "append after the revocation")
reader.sock.settimeout(5)
rest = reader.readline()
check(rest == b"", f"after the BYE: {rest!r}")
print("ok")
