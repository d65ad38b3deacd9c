"""A message delivered by SMTP reaches an IMAP session in IDLE within 1 s."""
import time
from e2e_lib import args, tls_context, check, smtp_deliver
from imap_raw import Conn

a = args()
ctx = tls_context(a["cafile"])

c = Conn(a)
c.ok("SELECT INBOX")
idle = c.idle()

accepted = smtp_deliver(a, ctx, "idle test")

check(c.line_with(b"EXISTS", 1.0) is not None, "no EXISTS within 1 s of the 250")
print(f"EXISTS after {time.time() - accepted:.3f}s")
c.done(idle)
c.logout()
print("ok")
