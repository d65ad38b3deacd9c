"""IMAP through the real binary: STARTTLS rules, login, APPEND, FETCH, SEARCH, IMAPS."""
import imaplib
from e2e_lib import args, tls_context, check

a = args()
ctx = tls_context(a["cafile"])

# Plaintext port: STARTTLS advertised, login refused before it.
m = imaplib.IMAP4("127.0.0.1", a["imap"])
caps = m.capabilities
check("STARTTLS" in caps and "LOGINDISABLED" in caps, f"plaintext capabilities {caps}")
try:
    m.login(a["user"], a["password"])
    check(False, "LOGIN accepted before STARTTLS")
except imaplib.IMAP4.error:
    pass
m.shutdown()

m = imaplib.IMAP4("127.0.0.1", a["imap"])
typ, _ = m.starttls(ssl_context=ctx)
check(typ == "OK", "STARTTLS")
check("LOGINDISABLED" not in m.capabilities, f"after STARTTLS {m.capabilities}")
typ, _ = m.login(a["user"], a["password"])
check(typ == "OK", "LOGIN after STARTTLS")
m.logout()

# Implicit TLS: append, select, fetch, search, store, expunge.
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
m.login(a["user"], a["password"])
body = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: e2e hello\r\n\r\nline one\r\n"
typ, data = m.append("INBOX", r"(\Flagged)", None, body)
check(typ == "OK", f"APPEND {data}")
typ, data = m.select("INBOX")
check(typ == "OK" and int(data[0]) >= 1, f"SELECT {data}")
n = data[0].decode()
typ, data = m.fetch(n, "(FLAGS BODY.PEEK[] ENVELOPE)")
check(typ == "OK", f"FETCH {data}")
check(data[0][1] == body, f"BODY[] exact bytes: {data[0][1]!r}")
# imaplib cuts the response at the BODY[] literal: the items after it
# (ENVELOPE, in request order) arrive as the next element of data.
items = data[0][0] + b"".join(d for d in data[1:] if isinstance(d, bytes))
check(b"\\Flagged" in items and b"e2e hello" in items, f"FETCH items {data!r}")
typ, data = m.search(None, "SUBJECT", '"e2e hello"')
check(typ == "OK" and n.encode() in data[0].split(), f"SEARCH {data}")
typ, data = m.store(n, "+FLAGS", r"(\Deleted)")
check(typ == "OK", f"STORE {data}")
typ, data = m.expunge()
check(typ == "OK", f"EXPUNGE {data}")
m.logout()
print("ok")
