"""Sends messages over SMTP with STARTTLS; prints one line per 250."""
import smtplib
from e2e_lib import args, tls_context

a = args()
ctx = tls_context(a["cafile"])
smtp = smtplib.SMTP("127.0.0.1", a["smtp"], timeout=30)
smtp.ehlo("client.example.net")
smtp.starttls(context=ctx)
smtp.ehlo("client.example.net")
for i in range(a.get("count", 1)):
    msg = f"From: sender@example.net\r\nTo: {a['to']}\r\nSubject: {a['subject']} {i}\r\n\r\nbody {i}\r\n"
    smtp.sendmail("sender@example.net", [a["to"]], msg)
    print(f"250 {i}", flush=True)
smtp.quit()
