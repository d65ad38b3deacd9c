"""Hostile and heavy clients for crates/server/tests/robustness.rs (loopback only).

argv: one JSON object (see e2e_lib.args) with "mode" and ports. Prints one
JSON line of results; exits non-zero (with FAIL: on stderr) when a check fails.
Every wait is bounded: sockets time out, loops have fixed counts.
"""
import imaplib
import json
import poplib
import socket
import ssl
import threading
import time

from e2e_lib import args, check, tls_context

a = args()
CTX = tls_context(a["cafile"])
HOST = "127.0.0.1"


def tls_socket(port, timeout=30):
    raw = socket.create_connection((HOST, port), timeout=timeout)
    return CTX.wrap_socket(raw, server_hostname="mail.example.org")


def read_reply(f):
    """One SMTP reply (all its lines); returns (code, text of the last line)."""
    while True:
        line = f.readline()
        check(line, "connection closed while waiting for a reply")
        if line[3:4] != b"-":
            return int(line[:3]), line[4:].decode().strip()


def closed(sock, f):
    """Whether the server closed the connection (EOF, or a reset)."""
    try:
        return f.readline() == b""
    except (ConnectionResetError, ssl.SSLError, OSError):
        return True


def pop3_reconnect():
    # A mobile client: logs in, reads, and loses its connection without QUIT;
    # then reconnects at once. Every login must succeed (no [IN-USE]).
    n = a["cycles"]
    failures = []
    for i in range(n):
        p = poplib.POP3_SSL(HOST, a["pop3s"], context=CTX, timeout=30)
        p.user(a["user"])
        try:
            p.pass_(a["password"])
        except poplib.error_proto as e:
            failures.append((i, e.args[0].decode(errors="replace")))
            p.sock.close()
            continue
        p.stat()
        p.uidl()
        # Gone without QUIT: the socket closes under the client's feet.
        p.sock.close()
    check(not failures, f"{len(failures)} of {n} logins refused: {failures[:3]}")
    return {"cycles": n}


def pop3_long_line():
    # 1 MB without CRLF before login: -ERR once the limit is passed, then
    # the server closes; the rest of the megabyte is never needed.
    s = tls_socket(a["pop3s"])
    f = s.makefile("rb")
    check(f.readline().startswith(b"+OK"), "greeting")
    start = time.monotonic()
    s.sendall(b"X" * 4096)
    line = f.readline()
    answered = time.monotonic() - start
    check(line.startswith(b"-ERR"), f"long line answered {line!r}")
    check(closed(s, f), "connection still open after the long line")
    return {"answered_secs": answered}


def smtp_bdat_huge():
    # BDAT 99999999999: 552 5.3.4 at once, and the connection closed (the
    # chunk can neither be taken nor skipped).
    s = tls_socket(a["submissions"])
    f = s.makefile("rb")
    check(read_reply(f)[0] == 220, "greeting")
    s.sendall(b"EHLO client.example\r\n")
    read_reply(f)
    s.sendall(b"AUTH PLAIN " + a["plain"].encode() + b"\r\n")
    check(read_reply(f)[0] == 235, "AUTH")
    s.sendall(b"MAIL FROM:<alice@example.org>\r\n")
    check(read_reply(f)[0] == 250, "MAIL")
    s.sendall(b"RCPT TO:<bob@example.net>\r\n")
    check(read_reply(f)[0] == 250, "RCPT")
    start = time.monotonic()
    s.sendall(b"BDAT " + a["size"].encode() + b" LAST\r\n")
    code, text = read_reply(f)
    answered = time.monotonic() - start
    check(code == 552 and text.startswith("5.3.4"), f"BDAT answered {code} {text}")
    check(closed(s, f), "connection still open after a BDAT that cannot be read")
    return {"answered_secs": answered}


def smtp_auth_huge():
    # AUTH PLAIN answered with a 100 KB response: the session stays in step,
    # the NOOP after it gets its own 250.
    s = tls_socket(a["submissions"])
    f = s.makefile("rb")
    check(read_reply(f)[0] == 220, "greeting")
    s.sendall(b"EHLO client.example\r\n")
    read_reply(f)
    s.sendall(b"AUTH PLAIN\r\n")
    check(read_reply(f)[0] == 334, "AUTH PLAIN challenge")
    start = time.monotonic()
    s.sendall(b"A" * (100 * 1024) + b"\r\nNOOP\r\n")
    code, text = read_reply(f)
    answered = time.monotonic() - start
    check(code in (500, 501) and text.startswith("5.5."), f"huge response: {code} {text}")
    code, text = read_reply(f)
    check(code == 250, f"NOOP after the response got {code} {text}")
    s.sendall(b"AUTH PLAIN " + a["plain"].encode() + b"\r\n")
    code, text = read_reply(f)
    check(code == 235, f"a good AUTH afterwards: {code} {text}")
    s.sendall(b"QUIT\r\n")
    read_reply(f)
    return {"answered_secs": answered}


def smtp_content():
    # A 2,000-octet line and a message with bare LF line ends, each sent
    # with its bytes as they are (raw socket: smtplib would fix the LFs).
    long_line = "L" * 2000
    bodies = {
        "long-line": ("From: alice@example.org\r\nSubject: long-line\r\n\r\n"
                      + long_line + "\r\nafter\r\n").encode(),
        "bare-lf": b"From: alice@example.org\nSubject: bare-lf\nX-Test: yes\n\nfirst\nsecond\n",
    }
    s = tls_socket(a["submissions"])
    f = s.makefile("rb")
    check(read_reply(f)[0] == 220, "greeting")
    s.sendall(b"EHLO client.example\r\n")
    read_reply(f)
    s.sendall(b"AUTH PLAIN " + a["plain"].encode() + b"\r\n")
    check(read_reply(f)[0] == 235, "AUTH")
    for name, body in bodies.items():
        s.sendall(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n")
        for what in ("MAIL", "RCPT"):
            check(read_reply(f)[0] == 250, what)
        check(read_reply(f)[0] == 354, "DATA")
        # Only <CRLF>.<CRLF> ends DATA, so the bare-LF one ends with CRLF too.
        end = b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"
        s.sendall(body + end)
        code, text = read_reply(f)
        check(code == 250, f"{name}: {code} {text}")
    s.sendall(b"QUIT\r\n")
    read_reply(f)
    # Read both back over IMAP.
    m = imaplib.IMAP4_SSL(HOST, a["imaps"], ssl_context=CTX)
    m.login("bob@example.net", a["password"])
    m.select("INBOX", readonly=True)
    got = {}
    for name in bodies:
        typ, data = m.search(None, "SUBJECT", f'"{name}"')
        nums = data[0].split()
        check(len(nums) == 1, f"{name}: {len(nums)} messages")
        typ, data = m.fetch(nums[0], "(BODY.PEEK[])")
        got[name] = data[0][1]
    m.logout()
    check(("\r\n" + long_line + "\r\nafter\r\n").encode() in got["long-line"],
          "the 2,000-octet line is not there intact")
    bare = got["bare-lf"]
    check(b"From: alice@example.org\r\nSubject: bare-lf\r\nX-Test: yes\r\n\r\nfirst\r\nsecond\r\n" in bare,
          f"bare-LF message not normalized to CRLF: {bare[-80:]!r}")
    check(b"\n" not in bare.replace(b"\r\n", b""), "a bare LF was stored")
    return {"long_line": len(long_line)}


def imap_login_storm():
    # A webmail server or company NAT: many sessions of many accounts, all
    # with the right password, from one address, in batches.
    users = a["users"]
    total, batch = a["sessions"], a["batch"]
    refused = []
    lock = threading.Lock()

    def one(i):
        user = users[i % len(users)]
        try:
            m = imaplib.IMAP4_SSL(HOST, a["imaps"], ssl_context=CTX, timeout=120)
            try:
                m.login(user, a["password"])
                m.select("INBOX", readonly=True)
            finally:
                try:
                    m.logout()
                except Exception:
                    pass
        except Exception as e:  # noqa: BLE001 - every refusal is reported
            with lock:
                refused.append(f"{user}: {e}")

    start = time.monotonic()
    for b in range(0, total, batch):
        threads = [threading.Thread(target=one, args=(i,)) for i in range(b, min(b + batch, total))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    secs = time.monotonic() - start
    check(not refused, f"{len(refused)} of {total} good logins refused: {refused[:3]}")
    return {"sessions": total, "secs": secs}


def imap_bad_logins():
    # An attacker: concurrent wrong passwords from one address. Each answer
    # is either a failure or a throttled refusal that says so.
    n = a["attempts"]
    answers = []
    lock = threading.Lock()

    def one(i):
        m = imaplib.IMAP4_SSL(HOST, a["imaps"], ssl_context=CTX, timeout=120)
        try:
            m.login(a["users"][i % len(a["users"])], "wrong password")
            answer = "OK"
        except imaplib.IMAP4.error as e:
            answer = str(e)
        try:
            m.logout()
        except Exception:
            pass
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    # Even the right password is refused now, with the same reason.
    m = imaplib.IMAP4_SSL(HOST, a["imaps"], ssl_context=CTX, timeout=60)
    try:
        m.login(a["users"][0], a["password"])
        after = "OK"
    except imaplib.IMAP4.error as e:
        after = str(e)
    return {"answers": answers, "after": after}


MODES = {
    "pop3-reconnect": pop3_reconnect,
    "pop3-long-line": pop3_long_line,
    "smtp-bdat-huge": smtp_bdat_huge,
    "smtp-auth-huge": smtp_auth_huge,
    "smtp-content": smtp_content,
    "imap-login-storm": imap_login_storm,
    "imap-bad-logins": imap_bad_logins,
}

print(json.dumps(MODES[a["mode"]]()))
