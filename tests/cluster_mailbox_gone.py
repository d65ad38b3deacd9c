"""A selected mailbox renamed, then deleted, on another node of a cluster
(RFC 2180 3.4, 3.3), with Python's imaplib over TLS: alice's session on
node 2 has Work selected and idles in it; her session on node 1 renames
Work to Job and appends to it: the session on node 2 goes on, is told
the new message in IDLE and reads it through a CATENATE URL relative to
the selected mailbox (now Job); then node 1 deletes Job and the session on
node 2 gets `* BYE`, unasked, within 5 s, and its connection closes.
Loopback only. Prints "ok" at the end.
"""
from e2e_lib import args, tls_context, check, imaps_login, ok, told_line

a = args()
ctx = tls_context(a["cafile"])
ALICE = a["user"]
MSG = b"From: Carol <carol@example.net>\r\nSubject: plan\r\n\r\nDraft.\r\n"
BYE = b"* BYE The selected mailbox was deleted, closing the connection"


def connect(port, user):
    return imaps_login(a, ctx, user, port)


one = connect(a["imaps_1"], ALICE)
ok(one.create("Work"), "create Work on node 1")
ok(one.append("Work", None, None, MSG), "append on node 1")
two = connect(a["imaps_2"], ALICE)
ok(two.select("Work"), "select Work on node 2")
two.send(b"I1 IDLE\r\n")
check(two.readline().startswith(b"+ "), "IDLE continuation")

ok(one.rename("Work", "Job"), "rename on node 1")
ok(one.append("Job", None, None, MSG), "append to Job on node 1")
line = told_line(two, "the append after the rename on node 1")
check(line == b"* 2 EXISTS", f"IDLE on node 2 after the rename: {line!r}")
two.send(b"DONE\r\n")
while True:
    line = told_line(two, "DONE")
    if line.startswith(b"I1 "):
        check(line.startswith(b"I1 OK"), f"IDLE end: {line!r}")
        break
typ, data = two.uid("FETCH", "1:*", "(FLAGS)")
check(typ == "OK" and len(data) == 2, f"fetch on node 2 after the rename: {typ} {data}")
# The session took the new name: a CATENATE URL relative to the selected
# mailbox (RFC 4469 5) reads Job, where the old name would find nothing.
two.send(b'C1 APPEND INBOX CATENATE (URL ";UID=2")\r\n')
line = told_line(two, "CATENATE")
check(line.startswith(b"C1 OK [APPENDUID "), f"relative URL after the rename: {line!r}")

two.send(b"I2 IDLE\r\n")
check(two.readline().startswith(b"+ "), "IDLE continuation")
ok(one.delete("Job"), "delete on node 1")
line = told_line(two, "the delete on node 1")
check(line == BYE, f"after the delete on node 1: {line!r}")
two.sock.settimeout(5)
rest = two.readline()
check(rest == b"", f"after the BYE: {rest!r}")
print("ok")
