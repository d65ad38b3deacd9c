#!/usr/bin/env python3
"""Reads the first TLS report (RFC 8460 5.3) in an INBOX over IMAPS and
prints one JSON object: the report's headers that matter and its
gunzipped JSON. Exits 1 when there is none or it is malformed.

JSON argument: imaps, cafile, user, password."""
import email
import gzip
import imaplib
import json
from e2e_lib import args, check, fail, tls_context

a = args()
m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=tls_context(a["cafile"]))
m.login(a["user"], a["password"])
m.select("INBOX", readonly=True)
typ, data = m.search(None, "HEADER", "TLS-Report-Domain", '""')
ids = data[0].split()
if not ids:
    fail("no TLS report")
typ, data = m.fetch(ids[0], "(BODY.PEEK[])")
msg = email.message_from_bytes(data[0][1])
m.logout()
check(msg.get_content_type() == "multipart/report", "not multipart/report")
check(msg.get_param("report-type") == "tlsrpt", "report-type is not tlsrpt")
parts = [p for p in msg.walk() if p.get_content_type() == "application/tlsrpt+gzip"]
check(len(parts) == 1, "no application/tlsrpt+gzip part")
report = json.loads(gzip.decompress(parts[0].get_payload(decode=True)))
print(json.dumps({
    "subject": msg["Subject"],
    "domain": msg["TLS-Report-Domain"],
    "submitter": msg["TLS-Report-Submitter"],
    "filename": parts[0].get_filename(),
    "report": report,
}))
