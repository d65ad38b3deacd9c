"""Sends messages over SMTP with STARTTLS (optional "from" and "body");
prints one line per 250."""
import smtplib
from e2e_lib import args, tls_context

a = args()
ctx = tls_context(a["cafile"])
smtp = smtplib.SMTP("127.0.0.1", a["smtp"], timeout=30)
smtp.ehlo("client.example.net")
smtp.starttls(context=ctx)
smtp.ehlo("client.example.net")
sender = a.get("from", "sender@example.net")
for i in range(a.get("count", 1)):
    body = a.get("body", "body")
    msg = f"From: {sender}\r\nTo: {a['to']}\r\nSubject: {a['subject']} {i}\r\n\r\n{body} {i}\r\n"
    smtp.sendmail(sender, [a["to"]], msg)
    print(f"250 {i}", flush=True)
smtp.quit()
