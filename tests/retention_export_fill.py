"""Gives "user" mail with every kind of flag for the export tests: INBOX
(delivered by SMTP beforehand) gets \\Seen \\Answered, \\Draft \\Flagged with
keywords, and no flag; a nested mailbox and one with a space get appended
messages, one with a From_ line in its body and \\Deleted set."""
import imaplib
from e2e_lib import args, tls_context, check

a = args()
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=tls_context(a["cafile"]))
m.login(a["user"], a["password"])
typ, data = m.select("INBOX")
check(int(data[0]) >= 3, f"INBOX has {data}")
m.store("1", "+FLAGS", r"(\Seen \Answered)")
m.store("2", "+FLAGS", r"(\Draft \Flagged $Forwarded Work_Item)")
m.store("3", "-FLAGS", r"(\Seen)")
for name in ["Work", "Work/Projects", "My Box"]:
    typ, _ = m.create(f'"{name}"')
    check(typ == "OK", f"create {name}")
m.append('"Work/Projects"', r"(\Seen $Label1)", None,
         b"Subject: nested\r\n\r\nFrom here on\r\n>From there\r\n")
m.append('"My Box"', r"(\Deleted \Answered)", None, b"Subject: spaced\r\n\r\nbody\r\n")
m.append('"My Box"', None, None, b"Subject: no flags, no final newline\r\n\r\nend")
m.logout()
print("ok")
