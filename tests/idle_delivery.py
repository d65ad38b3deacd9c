"""A message delivered by SMTP reaches an IMAP session in IDLE within 1 s."""
import smtplib
import socket
import ssl
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
            chunk = s.recv(65536)
        except socket.timeout:
            return False
        if not chunk:
            return False
        buf += chunk
    return True


check(read_until(lambda b: b"\r\n" in b, 5), "greeting")
s.sendall(f'a LOGIN "{a["user"]}" "{a["password"]}"\r\n'.encode())
check(read_until(lambda b: b"a OK" in b or b"a NO" in b, 10) and b"a OK" in buf, f"login {buf!r}")
s.sendall(b"b SELECT INBOX\r\n")
check(read_until(lambda b: b"b OK" in b, 5), f"select {buf!r}")
buf = b""
s.sendall(b"c IDLE\r\n")
check(read_until(lambda b: b"+ " in b, 5), f"idle continuation {buf!r}")
buf = b""

msg = "From: sender@example.net\r\nTo: {0}\r\nSubject: idle test\r\n\r\nhi\r\n".format(a["user"])
smtp = smtplib.SMTP("127.0.0.1", a["smtp"], timeout=10)
smtp.ehlo("client.example.net")
smtp.starttls(context=ctx)
smtp.ehlo("client.example.net")
smtp.sendmail("sender@example.net", [a["user"]], msg)
accepted = time.time()
smtp.quit()

check(read_until(lambda b: b"EXISTS" in b, 1.0), f"no EXISTS within 1 s of the 250: {buf!r}")
print(f"EXISTS after {time.time() - accepted:.3f}s")
s.sendall(b"DONE\r\n")
check(read_until(lambda b: b"c OK" in b, 5), f"IDLE end {buf!r}")
s.sendall(b"d LOGOUT\r\n")
print("ok")
