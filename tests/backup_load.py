"""Mail load while a backup runs: SMTP deliveries to two accounts, IMAP
APPENDs to one, and a thread that appends and expunges at once (so blob
files are unlinked while the backup copies). Each acknowledged message is
one line "UNIX_TIME TOKEN USER" in the "log" file, written after its 250 or
APPEND OK. Runs until the "stop" file appears (at most 120 s)."""
import imaplib
import os
import smtplib
import threading
import time
from e2e_lib import args, tls_context, fail

a = args()
ctx = tls_context(a["cafile"])
lock = threading.Lock()
errors = []
log = open(a["log"], "a")


def acked(token, user):
    with lock:
        log.write(f"{time.time():.6f} {token} {user}\n")
        log.flush()


def stopping(start):
    return os.path.exists(a["stop"]) or time.time() - start > 120


def message(token, to):
    return (f"From: load@example.net\r\nTo: {to}\r\nSubject: {token}\r\n"
            f"Message-ID: <{token}@example.net>\r\n\r\nbody-of-{token}\r\n" + "x" * 2000 + "\r\n")


def smtp_sender(name, to):
    start = time.time()
    try:
        s = smtplib.SMTP("127.0.0.1", a["smtp"], timeout=30)
        s.ehlo("load.example.net")
        s.starttls(context=ctx)
        s.ehlo("load.example.net")
        i = 0
        while not stopping(start):
            token = f"{name}-{i}"
            s.sendmail("load@example.net", [to], message(token, to))
            acked(token, to)
            i += 1
        s.quit()
    except Exception as e:  # reported below: the test fails
        errors.append(f"{name}: {e!r}")


def imap_appender(name, user, mailbox, expunge):
    start = time.time()
    try:
        m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
        m.login(user, a["password"])
        if mailbox != "INBOX":
            m.create(mailbox)
        m.select(mailbox)
        i = 0
        while not stopping(start):
            token = f"{name}-{i}"
            typ, _ = m.append(mailbox, None, None, message(token, user).encode())
            if typ != "OK":
                raise RuntimeError(f"APPEND {typ}")
            if expunge:
                m.store("1:*", "+FLAGS", "(\\Deleted)")
                m.expunge()
            else:
                acked(token, user)
            i += 1
        m.logout()
    except Exception as e:
        errors.append(f"{name}: {e!r}")


threads = [
    threading.Thread(target=smtp_sender, args=("smtp-a", a["users"][0])),
    threading.Thread(target=smtp_sender, args=("smtp-b", a["users"][1])),
    threading.Thread(target=imap_appender, args=("append-b", a["users"][1], "INBOX", False)),
    threading.Thread(target=imap_appender, args=("churn-a", a["users"][0], "Churn", True)),
]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    fail("; ".join(errors))
print("done")
