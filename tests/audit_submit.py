"""Submits one message on the submission port (STARTTLS, then AUTH PLAIN)
from "user" to "to" (a list); prints "250" when it is accepted, or
"AUTHFAIL <code>" when the login is refused. Also used to cause login
events for the audit tests."""
import smtplib
from e2e_lib import args, tls_context

a = args()
smtp = smtplib.SMTP("127.0.0.1", a["submission"], timeout=30)
smtp.ehlo("client.example.net")
smtp.starttls(context=tls_context(a["cafile"]))
smtp.ehlo("client.example.net")
try:
    smtp.login(a["user"], a["password"])
except smtplib.SMTPAuthenticationError as e:
    print("AUTHFAIL", e.smtp_code)
    smtp.quit()
    raise SystemExit(0)
to = a["to"] if isinstance(a["to"], list) else [a["to"]]
subject = a.get("subject", "submitted")
body = a.get("body", "submitted body")
msg = (
    f"From: {a['user']}\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n"
    f"Message-ID: <{a.get('msgid', 'submit-1')}@client.example.net>\r\n\r\n{body}\r\n"
)
smtp.sendmail(a["user"], to, msg)
print("250")
smtp.quit()
