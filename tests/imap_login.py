"""Prints OK or NO for an IMAPS login; with "subject", also counts matching messages in INBOX."""
import imaplib
from e2e_lib import args, tls_context

a = args()
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=tls_context(a["cafile"]))
try:
    m.login(a["user"], a["password"])
except imaplib.IMAP4.error as e:
    print("NO", e)
    raise SystemExit(0)
if "subject" in a:
    typ, data = m.select("INBOX", readonly=True)
    typ, data = m.search(None, "SUBJECT", f'"{a["subject"]}"')
    print("OK", len(data[0].split()))
else:
    print("OK")
m.logout()
