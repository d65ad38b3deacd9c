#!/usr/bin/env python3
"""Holds one SMTP conversation with Python's smtplib and prints every reply.

Usage: smtp_converse.py JSON
  port      the listener
  tls       "plain" (never STARTTLS), "starttls" (default) or "implicit"
  cafile    the server's certificate (verified; the host name is not)
  ehlo      the EHLO name, sent first (and again after STARTTLS); null: none
  commands  what to send, in order; each is
              "LINE"                    a command line (smtplib's docmd)
              {"raw": "text"}           these octets as they are, then one reply
              {"auth_plain": [u, p]}    AUTH PLAIN with the initial response

Prints one JSON list: [code, "text"] for each command, in order. The client
keeps going after refusals: the point is to see every answer. A command the
server answers by closing the connection gets [0, "closed"] and ends the list.
"""
import base64
import json
import smtplib
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from e2e_lib import tls_context  # noqa: E402

a = json.loads(sys.argv[1])
mode = a.get("tls", "starttls")
ctx = tls_context(a["cafile"])
ehlo = a.get("ehlo", "client.example.net")

if mode == "implicit":
    s = smtplib.SMTP_SSL("127.0.0.1", a["port"], timeout=60, context=ctx)
else:
    s = smtplib.SMTP("127.0.0.1", a["port"], timeout=60)
if ehlo is not None:
    s.ehlo(ehlo)
if mode == "starttls":
    s.starttls(context=ctx)
    if ehlo is not None:
        s.ehlo(ehlo)

out = []
for c in a.get("commands", []):
    try:
        if isinstance(c, str):
            code, text = s.docmd(c)
        elif "raw" in c:
            s.send(c["raw"].encode("utf-8"))
            code, text = s.getreply()
        elif "auth_plain" in c:
            user, password = c["auth_plain"]
            token = base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()
            code, text = s.docmd("AUTH", "PLAIN " + token)
        else:
            raise SystemExit("bad command %r" % (c,))
    except smtplib.SMTPServerDisconnected:
        out.append([0, "closed"])
        break
    out.append([code, text.decode("utf-8", "replace")])
print(json.dumps(out), flush=True)
try:
    s.quit()
except (smtplib.SMTPException, OSError):
    pass
