"""After a restore: logs in as each user, reads every message of INBOX
whole and checks its body names its own subject; prints one line
"USER TOKEN" per readable message. Any unreadable message fails."""
import email
import imaplib
from e2e_lib import args, tls_context, fail, check

a = args()
ctx = tls_context(a["cafile"])
for user in a["users"]:
    m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
    m.login(user, a["password"])
    typ, data = m.select("INBOX", readonly=True)
    check(typ == "OK", f"SELECT {user}: {typ}")
    if int(data[0]) == 0:
        m.logout()
        continue
    typ, data = m.fetch("1:*", "(BODY.PEEK[])")
    check(typ == "OK", f"FETCH {user}: {typ}")
    for item in data:
        if not isinstance(item, tuple):
            continue
        msg = email.message_from_bytes(item[1])
        token = msg["Subject"]
        body = msg.get_payload()
        if f"body-of-{token}" not in body:
            fail(f"{user}: message {token} is not whole: {body[:80]!r}")
        print(f"{user} {token}")
    m.logout()
