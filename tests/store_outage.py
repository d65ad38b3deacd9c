"""One try of each protocol against a server whose database may be away:
IMAP APPEND, SMTP delivery, POP3 login + STAT. Prints one JSON object:
what each answered (the harness decides what it should have been)."""
import imaplib
import json
import poplib
import smtplib
from e2e_lib import args, tls_context

a = args()
ctx = tls_context(a["cafile"])
out = {}

try:
    imap = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx, timeout=60)
    try:
        imap.login(a["user"], a["password"])
        typ, data = imap.append("INBOX", None, None,
                                f"Subject: {a['subject']}\r\n\r\nbody\r\n".encode())
        out["imap"] = f"{typ} {data[0].decode(errors='replace')}"
    except imaplib.IMAP4.error as e:
        out["imap"] = f"NO {e}"
    try:
        imap.logout()
    except Exception:
        pass
except Exception as e:  # connection-level failure: the harness fails on it
    out["imap"] = f"ERROR {e!r}"

try:
    smtp = smtplib.SMTP("127.0.0.1", a["smtp"], timeout=60)
    smtp.ehlo("client.example.net")
    smtp.starttls(context=ctx)
    smtp.ehlo("client.example.net")
    msg = f"From: sender@example.net\r\nTo: {a['user']}\r\nSubject: {a['subject']}\r\n\r\nbody\r\n"
    try:
        smtp.sendmail("sender@example.net", [a["user"]], msg)
        out["smtp"] = "250"
    except smtplib.SMTPDataError as e:
        out["smtp"] = f"{e.smtp_code} {e.smtp_error.decode(errors='replace')}"
    except smtplib.SMTPRecipientsRefused as e:
        code, text = list(e.recipients.values())[0]
        out["smtp"] = f"{code} {text.decode(errors='replace')}"
    try:
        smtp.quit()
    except Exception:
        pass
except Exception as e:
    out["smtp"] = f"ERROR {e!r}"

try:
    pop = poplib.POP3_SSL("127.0.0.1", a["pop3s"], context=ctx, timeout=60)
    try:
        pop.user(a["user"])
        pop.pass_(a["password"])
        count, _ = pop.stat()
        out["pop3"] = f"+OK {count}"
    except poplib.error_proto as e:
        out["pop3"] = e.args[0].decode(errors="replace")
    try:
        pop.quit()
    except Exception:
        pass
except Exception as e:
    out["pop3"] = f"ERROR {e!r}"

print(json.dumps(out), flush=True)
