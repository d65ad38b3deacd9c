"""FETCH 1:* BODY.PEEK[] of a large mailbox is written while it is made,
not built whole in memory: with a client that reads slowly, the server's
resident memory stays far below the size of the response."""
import imaplib
import socket
import time

from e2e_lib import args, check, tls_context

a = args()
ctx = tls_context(a["cafile"])
COUNT, SIZE = a["count"], a["size"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
m.login(a["user"], a["password"])
line = b"x" * 998 + b"\r\n"
body = line * (SIZE // len(line))
for i in range(COUNT):
    msg = f"Subject: big {i}\r\n\r\n".encode() + body
    typ, _ = m.append("INBOX", None, None, msg)
    check(typ == "OK", f"APPEND {i}")
m.logout()
total = COUNT * SIZE

raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", a["imaps"])))
raw.settimeout(60)


def read_until(tag):
    data = b""
    while not any(l.startswith(tag) for l in data.split(b"\r\n")):
        chunk = raw.recv(65536)
        check(chunk, "connection closed")
        data += chunk
    return data


read_until(b"* OK")
raw.sendall(f'l LOGIN {a["user"]} "{a["password"]}"\r\n'.encode())
read_until(b"l OK")
raw.sendall(b"s SELECT INBOX\r\n")
read_until(b"s OK")
# Let memory settle after the APPENDs, then ask for everything.
time.sleep(1)
before = rss_kib(a["pid"])
raw.sendall(b"f FETCH 1:* BODY.PEEK[]\r\n")
got = 0
while got < 1 << 20:
    got += len(raw.recv(65536))
# A server that builds the whole response has had time to build it.
time.sleep(3)
peak = rss_kib(a["pid"])
tail = b""
while True:
    chunk = raw.recv(1 << 20)
    check(chunk, "connection closed during FETCH")
    got += len(chunk)
    tail = (tail + chunk)[-200:]
    if b"\r\nf OK" in tail or tail.startswith(b"f OK"):
        break
check(got >= total, f"only {got} of {total} octets")
grown = peak - before
check(grown < 16 * 1024,
      f"server grew {grown} KiB while a {total // 1024} KiB response was pending")
print(f"ok: {got} octets, server grew {grown} KiB")
