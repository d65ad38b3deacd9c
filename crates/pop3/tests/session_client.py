"""A scripted POP3-over-TLS client for tests/coexist.rs and tests/lifecycle.rs.

argv: mode host port cafile user password
It prints "STEP <name>" lines and, where the Rust side must act in between,
waits for one line on stdin. Replies it checks are printed as "GOT <reply>".
Exits non-zero on a failed expectation.
"""

import poplib
import socket
import ssl
import sys

mode, host, port, cafile, user, password = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False


def step(name):
    print("STEP", name, flush=True)


def wait_go():
    line = sys.stdin.readline()
    if line.strip() != "GO":
        sys.exit("expected GO, got %r" % line)


def check(cond, what):
    if not cond:
        print("FAILED:", what, file=sys.stderr, flush=True)
        sys.exit(1)


def err(fn):
    try:
        fn()
    except poplib.error_proto as e:
        return e.args[0]
    return b"+OK (unexpected)"


if mode == "stls-pipelined":
    # Plaintext commands pipelined behind STLS must be dropped, not run after the handshake.
    raw = socket.create_connection((host, int(port)), timeout=30)
    f = raw.makefile("rb")
    check(f.readline().startswith(b"+OK"), "greeting")
    raw.sendall(b"STLS\r\nUSER %s\r\nPASS %s\r\n" % (user.encode(), password.encode()))
    line = f.readline()
    check(line == b"+OK Begin TLS negotiation\r\n", "STLS: %r" % line)
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    tf = tls.makefile("rb")
    tls.sendall(b"STAT\r\n")
    line = tf.readline()
    check(line == b"-ERR not logged in: authenticate first\r\n", "pipelined PASS was not obeyed: %r" % line)
    tls.sendall(b"QUIT\r\n")
    check(tf.readline().startswith(b"+OK"), "QUIT")
    step("done")
    sys.exit(0)

if mode in ("long-line", "long-line-logged-in", "auth-failures"):
    raw = socket.create_connection((host, int(port)), timeout=30)
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    f = tls.makefile("rb")
    check(f.readline().startswith(b"+OK"), "greeting")
    if mode == "long-line":
        # A line without CRLF, before login: the -ERR comes once 255 octets
        # are passed, without the line ever ending, and the server closes.
        tls.sendall(b"X" * 4096)
        line = f.readline()
        check(line == b"-ERR line too long (at most 255 octets), closing\r\n", "long line: %r" % line)
        check(f.readline() == b"", "closed after a long line before login")
    elif mode == "long-line-logged-in":
        # After login: -ERR once the limit is passed (the line has not
        # ended), the rest of the 1 MiB line (and the "QUIT" in its tail)
        # is dropped, and the session goes on in step.
        tls.sendall(b"USER %s\r\nPASS %s\r\n" % (user.encode(), password.encode()))
        check(f.readline() == b"+OK send PASS\r\n", "USER")
        check(f.readline().startswith(b"+OK logged in"), "PASS")
        tls.sendall(b"X" * 4096)
        line = f.readline()
        check(line == b"-ERR line too long (at most 255 octets)\r\n", "long line: %r" % line)
        for _ in range(255):
            tls.sendall(b"X" * 4096)
        tls.sendall(b" QUIT\r\nNOOP\r\n")
        line = f.readline()
        check(line == b"+OK\r\n" or line.startswith(b"+OK "), "session goes on: %r" % line)
        tls.sendall(b"QUIT\r\n")
        check(f.readline().startswith(b"+OK"), "QUIT")
    else:
        for i in range(3):
            tls.sendall(b"USER %s\r\nPASS wrong%d\r\n" % (user.encode(), i))
            check(f.readline() == b"+OK send PASS\r\n", "USER")
            line = f.readline()
            want = b"-ERR [AUTH] too many failed logins, closing\r\n" if i == 2 else b"-ERR [AUTH] invalid user name or password\r\n"
            check(line == want, "failure %d: %r" % (i, line))
        check(f.readline() == b"", "closed after the last failure")
    step("done")
    sys.exit(0)

p = poplib.POP3_SSL(host, int(port), context=ctx, timeout=30)
p.user(user)
if mode == "login-delay":
    p.pass_(password)
    p.quit()
    p = poplib.POP3_SSL(host, int(port), context=ctx, timeout=30)
    p.user(user)
    e = err(lambda: p.pass_(password))
    check(e.startswith(b"-ERR [LOGIN-DELAY]"), "second login too soon: %r" % e)
    p.quit()
    step("done")
    sys.exit(0)
p.pass_(password)

if mode == "coexist":
    count, _ = p.stat()
    check(count == 3, "3 messages at login")
    step("logged-in")
    wait_go()  # Rust: IMAP-style expunge of UID 2, and a new delivery
    count, _ = p.stat()
    check(count == 2, "STAT leaves out the expunged message, not the new one: %d" % count)
    _, listing, _ = p.list()
    check([l.split()[0] for l in listing] == [b"1", b"3"], "LIST keeps numbers: %r" % listing)
    _, uidls, _ = p.uidl()
    check([l.split()[0] for l in uidls] == [b"1", b"3"], "UIDL keeps numbers: %r" % uidls)
    e = err(lambda: p.retr(2))
    check(e == b"-ERR message 2 was deleted by another session", "RETR 2: %r" % e)
    e = err(lambda: p.list(4))
    check(e.startswith(b"-ERR no such message"), "new delivery is not in the session: %r" % e)
    _, lines, _ = p.retr(3)
    check(b"Subject: three" in lines, "RETR 3 still works")
    p.dele(1)
    check(p.quit().startswith(b"+OK"), "QUIT")
    step("quit")
elif mode == "no-quit":
    p.dele(1)
    p.dele(2)
    step("deleted")
    # Drop the connection without QUIT.
    p.sock.shutdown(socket.SHUT_RDWR)
    p.sock.close()
    step("dropped")
elif mode == "shutdown":
    p.dele(1)
    step("logged-in")
    line = p.file.readline()
    print("GOT", line.decode().strip(), flush=True)
    check(line == b"-ERR [SYS/TEMP] server shutting down\r\n", "goodbye on shutdown: %r" % line)
    check(p.file.readline() == b"", "closed after the goodbye")
    step("closed")
elif mode == "idle":
    step("logged-in")
    line = p.file.readline()
    check(line == b"", "idle timeout closes without a response: %r" % line)
    step("closed")
elif mode == "big":
    import hashlib
    resp, lines, octets = p.retr(1)
    body = b"\r\n".join(lines) + b"\r\n"
    print("GOT", hashlib.sha256(body).hexdigest(), len(body), flush=True)
    p.quit()
    step("done")
elif mode == "relogin":
    # A client that has read QUIT's +OK may log in again at once: the
    # maildrop is free before the reply is sent, not when the connection
    # task ends. Fetchmail-style pollers and load generators do exactly this.
    for i in range(40):
        check(p.quit().startswith(b"+OK"), "QUIT %d" % i)
        p = poplib.POP3_SSL(host, int(port), context=ctx, timeout=30)
        p.user(user)
        try:
            p.pass_(password)
        except poplib.error_proto as e:
            check(False, "login %d right after QUIT: %r" % (i, e.args[0]))
        check(p.stat()[0] == 3, "STAT %d" % i)
    p.quit()
    step("done")
elif mode == "stat":
    print("GOT", p.stat()[0], flush=True)
    p.quit()
    step("done")
else:
    sys.exit("unknown mode " + mode)
