"""NOTIFY (RFC 5465) against the real binary with Python's imaplib, over
imaps on loopback: session B selects INBOX and asks for the selected
mailbox's new messages (with FETCH items) and the personal namespace's
message and hierarchy events; session A creates, fills, subscribes,
renames and deletes a mailbox, and a message arrives by SMTP. B reads
what it is told without sending a command (no polling), each within 5 s.

imaplib has no NOTIFY method: the command goes through its own command
machinery, and B's unsolicited responses are read line by line.
"""
import imaplib
import re
from e2e_lib import args, tls_context, check, imaps_login, smtp_deliver, told_line

a = args()
ctx = tls_context(a["cafile"])
imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))


A = imaps_login(a, ctx, a["user"])
B = imaps_login(a, ctx, a["user"])
typ, caps = B.capability()
check(b"NOTIFY" in caps[0].split(), f"NOTIFY not advertised: {caps}")
typ, _ = B.select("INBOX")
check(typ == "OK", "select")
typ, data = B._simple_command(
    "NOTIFY", "SET",
    "(selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From Subject)]) MessageExpunge))",
    "(personal (MessageNew MessageExpunge MailboxName SubscriptionChange))")
check(typ == "OK", f"NOTIFY SET: {typ} {data}")
typ, data = B._simple_command("NOTIFY", "SET", "(personal (MessageNew MessageExpunge AnnotationChange))")
check(typ == "NO" and b"[BADEVENT (" in data[0], f"BADEVENT: {typ} {data}")
# Set again (a refused SET changes nothing here either way).
typ, data = B._simple_command(
    "NOTIFY", "SET",
    "(selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From Subject)]) MessageExpunge))",
    "(personal (MessageNew MessageExpunge MailboxName SubscriptionChange))")
check(typ == "OK", f"NOTIFY SET again: {typ} {data}")

check(A.create("Projects")[0] == "OK", "create")
line = told_line(B, "CREATE")
check(line == b'* LIST () "/" "Projects"', f"CREATE: {line!r}")
msg = b"From: Carol <carol@example.net>\r\nSubject: kickoff\r\n\r\nMonday.\r\n"
check(A.append("Projects", None, None, msg)[0] == "OK", "append")
line = told_line(B, "APPEND")
check(re.fullmatch(rb'\* STATUS "Projects" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)', line),
      f"APPEND: {line!r}")
check(A.subscribe("Projects")[0] == "OK", "subscribe")
line = told_line(B, "SUBSCRIBE")
check(line == b'* LIST (\\Subscribed) "/" "Projects"', f"SUBSCRIBE: {line!r}")
check(A.rename("Projects", "Archive2026")[0] == "OK", "rename")
line = told_line(B, "RENAME")
check(line == b'* LIST () "/" "Archive2026" ("OLDNAME" ("Projects"))', f"RENAME: {line!r}")
check(A.delete("Archive2026")[0] == "OK", "delete")
line = told_line(B, "DELETE")
check(line == b'* LIST (\\NonExistent) "/" "Archive2026"', f"DELETE: {line!r}")

# Mail delivered by SMTP to the selected INBOX: EXISTS, then the FETCH items.
smtp_deliver(a, ctx, "notify test")
check(told_line(B, "delivery") == b"* 1 EXISTS", "EXISTS")
line = told_line(B, "delivery")
if line == b"* 1 RECENT":
    line = told_line(B, "delivery")
check(re.fullmatch(rb"\* 1 FETCH \(UID 1 BODY\[HEADER\.FIELDS \(.*\)\] \{\d+\}", line), f"FETCH: {line!r}")
header = b""
while True:
    l = told_line(B, "FETCH literal")
    if l == b")":
        break
    header += l + b"\n"
check(b"Subject: notify test" in header and b"hi" not in header, f"header: {header!r}")

typ, data = B._simple_command("NOTIFY", "NONE")
check(typ == "OK", f"NOTIFY NONE: {typ} {data}")
check(A.create("Quiet")[0] == "OK", "create after NONE")
typ, data = B.noop()
check(typ == "OK" and not any(b"Quiet" in x for x in B.untagged_responses.get("LIST", [])),
      f"after NONE: {B.untagged_responses}")
A.logout()
B.logout()
print("ok")
