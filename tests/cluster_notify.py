"""NOTIFY (RFC 5465 5.4-5.5) across two nodes of a cluster with Python's
imaplib over TLS: session B on node 2 asks for MailboxName and
SubscriptionChange of the personal namespace; session A on node 1
creates, subscribes, renames, unsubscribes and deletes a mailbox, and B
is told each within 5 s without sending a command. Loopback only.
Prints "ok" at the end.
"""
import imaplib
from e2e_lib import args, tls_context, check, imaps_login, told_line

a = args()
ctx = tls_context(a["cafile"])
imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))


A = imaps_login(a, ctx, a["user"], a["imaps_1"])
B = imaps_login(a, ctx, a["user"], a["imaps_2"])
typ, data = B._simple_command("NOTIFY", "SET", "(personal (MailboxName SubscriptionChange))")
check(typ == "OK", f"NOTIFY SET: {typ} {data}")

check(A.create("Projects")[0] == "OK", "create")
line = told_line(B, "CREATE on node 1")
check(line == b'* LIST () "/" "Projects"', f"CREATE: {line!r}")
check(A.subscribe("Projects")[0] == "OK", "subscribe")
line = told_line(B, "SUBSCRIBE on node 1")
check(line == b'* LIST (\\Subscribed) "/" "Projects"', f"SUBSCRIBE: {line!r}")
check(A.rename("Projects", "Done2026")[0] == "OK", "rename")
line = told_line(B, "RENAME on node 1")
check(line == b'* LIST () "/" "Done2026" ("OLDNAME" ("Projects"))', f"RENAME: {line!r}")
check(A.unsubscribe("Projects")[0] == "OK", "unsubscribe")
line = told_line(B, "UNSUBSCRIBE on node 1")
check(line == b'* LIST () "/" "Projects"', f"UNSUBSCRIBE: {line!r}")
check(A.delete("Done2026")[0] == "OK", "delete")
line = told_line(B, "DELETE on node 1")
check(line == b'* LIST (\\NonExistent) "/" "Done2026"', f"DELETE: {line!r}")
# Nothing was told twice: the next change is the next line B reads.
check(A.create("Marker")[0] == "OK", "marker")
line = told_line(B, "the marker's CREATE")
check(line == b'* LIST () "/" "Marker"', f"after the marker: {line!r}")
print("ok")
