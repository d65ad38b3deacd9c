"""Prints the SMTP reply code and text to RCPT TO for an address (after STARTTLS)."""
import smtplib
from e2e_lib import args, tls_context

a = args()
smtp = smtplib.SMTP("127.0.0.1", a["smtp"], timeout=30)
smtp.ehlo("client.example.net")
smtp.starttls(context=tls_context(a["cafile"]))
smtp.ehlo("client.example.net")
smtp.mail("sender@example.net")
code, text = smtp.rcpt(a["to"])
print(code, text.decode())
smtp.quit()
