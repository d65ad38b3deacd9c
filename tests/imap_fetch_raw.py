"""Writes the raw bytes (BODY.PEEK[]) of the first INBOX message whose
subject matches to standard output, over IMAPS with imaplib; exits 1 when
there is none."""
import imaplib
import sys
from e2e_lib import args, fail, tls_context

a = args()
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=tls_context(a["cafile"]))
m.login(a["user"], a["password"])
m.select("INBOX", readonly=True)
typ, data = m.search(None, "SUBJECT", f'"{a["subject"]}"')
ids = data[0].split()
if not ids:
    fail(f"no message with subject {a['subject']!r}")
typ, data = m.fetch(ids[0], "(BODY.PEEK[])")
sys.stdout.buffer.write(data[0][1])
sys.stdout.flush()
m.logout()
