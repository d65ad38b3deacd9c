#!/usr/bin/env python3
"""Submits one message with Python's smtplib and reports what happened.

Usage: smtp_submit.py JSON
  port          the listener
  tls           "implicit" (SMTP_SSL) or "starttls" (default)
  user, password  AUTH (LOGIN/PLAIN as smtplib picks); no AUTH when absent
  from, to      envelope sender and a list of recipients
  mail_options, rcpt_options  ESMTP parameters (e.g. ["RET=HDRS"], ["NOTIFY=SUCCESS"])
  subject, from_header, body  the message (From: defaults to the sender)
  headers       more header lines, e.g. ["TLS-Required: No"]
  cafile        when given, the certificate is verified against it

Prints one JSON line: {"ok": true, "refused": {...}} when the server took
the message (for at least one recipient), else {"ok": false, "stage": ...,
"code": n, "error": "..."}. Exits 0 either way; 2 when the server could not
be reached or spoke nonsense.
"""
import json
import smtplib
import ssl
import sys

a = json.loads(sys.argv[1])
if a.get("cafile"):
    ctx = ssl.create_default_context(cafile=a["cafile"])
    ctx.check_hostname = False
else:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE


def result(**kw):
    print(json.dumps(kw), flush=True)
    sys.exit(0)


try:
    if a.get("tls") == "implicit":
        s = smtplib.SMTP_SSL("127.0.0.1", a["port"], timeout=30, context=ctx)
        s.ehlo("client.example")
    else:
        s = smtplib.SMTP("127.0.0.1", a["port"], timeout=30)
        s.ehlo("client.example")
        s.starttls(context=ctx)
        s.ehlo("client.example")
    if a.get("user"):
        try:
            s.login(a["user"], a["password"])
        except smtplib.SMTPAuthenticationError as e:
            result(ok=False, stage="auth", code=e.smtp_code, error=e.smtp_error.decode())
        except smtplib.SMTPResponseException as e:
            result(ok=False, stage="auth", code=e.smtp_code, error=e.smtp_error.decode())
    sender = a["from"]
    msg = "From: %s\r\nTo: %s\r\nSubject: %s\r\n%s\r\n%s\r\n" % (
        a.get("from_header", sender), ", ".join(a["to"]), a.get("subject", "test"),
        "".join(h + "\r\n" for h in a.get("headers", [])), a.get("body", "hello"))
    try:
        refused = s.sendmail(sender, a["to"], msg.encode(),
                             a.get("mail_options", []), a.get("rcpt_options", []))
    except smtplib.SMTPSenderRefused as e:
        result(ok=False, stage="mail", code=e.smtp_code, error=e.smtp_error.decode())
    except smtplib.SMTPRecipientsRefused as e:
        (code, err), = list(e.recipients.values())[:1]
        result(ok=False, stage="rcpt", code=code, error=err.decode())
    except smtplib.SMTPDataError as e:
        result(ok=False, stage="data", code=e.smtp_code, error=e.smtp_error.decode())
    try:
        s.quit()
    except smtplib.SMTPException:
        pass
    result(ok=True, refused={k: [v[0], v[1].decode()] for k, v in refused.items()})
except (OSError, smtplib.SMTPException) as e:
    print(json.dumps({"ok": False, "stage": "connect", "error": repr(e)}), flush=True)
    sys.exit(2)
