"""Shared helpers for the end-to-end client scripts (loopback only)."""
import json
import ssl
import sys


def args():
    """The harness passes one JSON object: ports, cafile, user, password..."""
    return json.loads(sys.argv[1])


def tls_context(cafile):
    """Trusts only the test server's self-signed certificate. Clients dial
    127.0.0.1, so the chain is verified but not the host name."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def smtp_deliver(a, ctx, subject):
    """Sends one message to `a["user"]` through `a["smtp"]` (STARTTLS);
    returns the time of its 250. SMTP errors raise."""
    import smtplib
    import time
    msg = f"From: sender@example.net\r\nTo: {a['user']}\r\nSubject: {subject}\r\n\r\nhi\r\n"
    smtp = smtplib.SMTP("127.0.0.1", a["smtp"], timeout=10)
    smtp.ehlo("client.example.net")
    smtp.starttls(context=ctx)
    smtp.ehlo("client.example.net")
    smtp.sendmail("sender@example.net", [a["user"]], msg)
    accepted = time.time()
    smtp.quit()
    return accepted


def imaps_login(a, ctx, user, port=None):
    """An imaplib session over TLS to the test server, logged in as `user`
    with the harness's password; `port` names another imaps port (a node
    of a cluster), `a["imaps"]` by default."""
    import imaplib
    m = imaplib.IMAP4_SSL("127.0.0.1", port or a["imaps"], ssl_context=ctx)
    ok(m.login(user, a["password"]), f"login {user}")
    return m


def ok(result, what):
    """The data of an imaplib result that must be OK."""
    typ, data = result
    check(typ == "OK", f"{what}: {typ} {data}")
    return data


def told(m, what, within=1.0):
    """The next line the server sends unasked, read within `within` s."""
    m.sock.settimeout(within)
    try:
        line = m.readline()
    except OSError as e:
        check(False, f"nothing told within {within} s of {what}: {e}")
    finally:
        m.sock.settimeout(None)
    return line


def told_line(m, what, within=5.0):
    """Like `told`, within 5 s by default, and the line without its CRLF;
    a line cut short (the connection closed) fails."""
    line = told(m, what, within)
    check(line.endswith(b"\r\n"), f"after {what}: {line!r}")
    return line[:-2]
