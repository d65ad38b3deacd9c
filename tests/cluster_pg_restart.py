"""An IMAP session in IDLE on node 2 lives through a restart of the
PostgreSQL server and still hears a delivery made through node 1 within
1 s of its 250 (node 2 reconnects its change notices and catches up from
the last MODSEQ it saw). The restart is made here (tests/pg.sh pause, then
resume) so that it falls inside the IDLE; deliveries refused while the
database is away (451) are retried until one is acknowledged."""
import smtplib
import subprocess
import time
from e2e_lib import args, tls_context, check, smtp_deliver
from imap_raw import Conn

a = args()
ctx = tls_context(a["cafile"])


def deliver(subject):
    """Sends one message through node 1; the time of its 250, or None."""
    try:
        return smtp_deliver(a, ctx, subject)
    except (smtplib.SMTPException, OSError):
        return None


c = Conn(a)
c.ok("SELECT INBOX")
idle = c.idle()

accepted = deliver("idle before restart")
check(accepted is not None, "delivery before the restart refused")
check(c.line_with(b"EXISTS", 1.0) is not None, "no EXISTS within 1 s before the restart")

for step in ("pause", "resume"):
    r = subprocess.run(["bash", a["pg_sh"], step, a["pg_dir"]], capture_output=True, text=True)
    check(r.returncode == 0, f"pg.sh {step}: {r.stderr}")
restarted = time.time()

accepted = None
while accepted is None and time.time() - restarted < 30:
    accepted = deliver("idle after restart")
    if accepted is None:
        time.sleep(0.1)
check(accepted is not None, "no delivery acknowledged within 30 s of the restart")
check(c.line_with(b"EXISTS", 1.0) is not None, "no EXISTS within 1 s of the 250 after the restart")
print(f"first 250 {accepted - restarted:.3f}s after the restart; EXISTS {time.time() - accepted:.3f}s after it")
c.done(idle)
c.logout()
print("ok")
