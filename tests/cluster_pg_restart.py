"""An IMAP session in IDLE on node 2 lives through a restart of the
PostgreSQL server and still hears a delivery made through node 1 within
1 s of its 250 (node 2 reconnects its change notices and catches up from
the last MODSEQ it saw). The restart is made here (tests/pg.sh pause, then
resume) so that it falls inside the IDLE; deliveries refused while the
database is away (451) are retried until one is acknowledged."""
import smtplib
import socket
import subprocess
import time
from e2e_lib import args, tls_context, check

a = args()
ctx = tls_context(a["cafile"])

raw = socket.create_connection(("127.0.0.1", a["imaps"]), timeout=10)
s = ctx.wrap_socket(raw)
buf = b""


def read_until(pred, timeout):
    global buf
    s.settimeout(timeout)
    end = time.time() + timeout
    while not pred(buf):
        if time.time() > end:
            return False
        try:
            s.settimeout(max(0.01, end - time.time()))
            chunk = s.recv(65536)
        except socket.timeout:
            return False
        if not chunk:
            return False
        buf += chunk
    return True


def deliver(subject):
    """Sends one message through node 1; the time of its 250, or None."""
    msg = f"From: sender@example.net\r\nTo: {a['user']}\r\nSubject: {subject}\r\n\r\nhi\r\n"
    try:
        smtp = smtplib.SMTP("127.0.0.1", a["smtp"], timeout=10)
        smtp.ehlo("client.example.net")
        smtp.starttls(context=ctx)
        smtp.ehlo("client.example.net")
        smtp.sendmail("sender@example.net", [a["user"]], msg)
        accepted = time.time()
        smtp.quit()
        return accepted
    except (smtplib.SMTPException, OSError):
        return None


check(read_until(lambda b: b"\r\n" in b, 5), "greeting")
s.sendall(f'a LOGIN "{a["user"]}" "{a["password"]}"\r\n'.encode())
check(read_until(lambda b: b"a OK" in b or b"a NO" in b, 10) and b"a OK" in buf, f"login {buf!r}")
s.sendall(b"b SELECT INBOX\r\n")
check(read_until(lambda b: b"b OK" in b, 5), f"select {buf!r}")
buf = b""
s.sendall(b"c IDLE\r\n")
check(read_until(lambda b: b"+ " in b, 5), f"idle continuation {buf!r}")
buf = b""

accepted = deliver("idle before restart")
check(accepted is not None, "delivery before the restart refused")
check(read_until(lambda b: b"EXISTS" in b, 1.0), f"no EXISTS within 1 s before the restart: {buf!r}")
buf = b""

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
check(read_until(lambda b: b"EXISTS" in b, 1.0), f"no EXISTS within 1 s of the 250 after the restart: {buf!r}")
print(f"first 250 {accepted - restarted:.3f}s after the restart; EXISTS {time.time() - accepted:.3f}s after it")
s.sendall(b"DONE\r\n")
check(read_until(lambda b: b"c OK" in b, 5), f"IDLE end {buf!r}")
s.sendall(b"d LOGOUT\r\n")
print("ok")
