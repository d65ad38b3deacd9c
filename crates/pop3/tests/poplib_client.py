"""Python's poplib against a live sealpost POP3 server (driven by tests/poplib.rs).

Every poplib command: capa, stls, utf8, user, pass_, apop (refused), stat,
list, retr, top, uidl, dele, rset, noop, quit; plus [AUTH], [IN-USE] and the
STLS-only rules of the plaintext listener. Exits non-zero on the first
failed expectation, printing which.

argv: host pop3s_port pop3_port cafile
env:  POP3_MESSAGES = the three messages of alice's INBOX, base64, comma-separated
"""

import base64
import os
import poplib
import ssl
import sys

host, pop3s_port, pop3_port, cafile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
MESSAGES = [base64.b64decode(m) for m in os.environ["POP3_MESSAGES"].split(",")]
ALICE, ALICE_PASS = "alice@example.org", "correct horse"

ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False  # the generated certificate names "localhost"; we dial 127.0.0.1


def check(cond, what):
    if not cond:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)
    print("ok:", what)


def refused(fn, prefix, what):
    try:
        fn()
    except poplib.error_proto as e:
        msg = e.args[0]
        msg = msg if isinstance(msg, bytes) else str(msg).encode()
        check(msg.startswith(prefix), f"{what}: {msg!r} starts with {prefix!r}")
        return msg
    check(False, f"{what}: expected {prefix!r}, got +OK")


def lines_of(raw):
    """What poplib returns for a message: lines without CRLF, dots unstuffed."""
    return raw.split(b"\r\n")[:-1] if raw.endswith(b"\r\n") else raw.split(b"\r\n")


def login(p, user=ALICE, password=ALICE_PASS):
    check(p.user(user).startswith(b"+OK"), f"USER {user}")
    check(p.pass_(password).startswith(b"+OK"), f"PASS for {user}")


# ---- pop3s: implicit TLS ---------------------------------------------------
p = poplib.POP3_SSL(host, pop3s_port, context=ctx, timeout=30)
check(p.getwelcome().startswith(b"+OK"), "greeting")
caps = p.capa()
for c in ["USER", "SASL", "TOP", "UIDL", "PIPELINING", "RESP-CODES", "AUTH-RESP-CODE", "UTF8", "IMPLEMENTATION", "EXPIRE"]:
    check(c in caps, f"CAPA lists {c}")
check(caps["SASL"] == ["PLAIN"], "SASL PLAIN only")
check("STLS" not in caps, "no STLS on implicit TLS")
check("APOP" not in caps, "APOP is not offered")
check("LOGIN-DELAY" not in caps, "no LOGIN-DELAY when it is 0")

# APOP: poplib refuses without a timestamp; the server says -ERR when sent anyway.
refused(lambda: p.apop(ALICE, ALICE_PASS), b"-ERR", "poplib.apop (no timestamp in greeting)")
refused(lambda: p._shortcmd("APOP %s %s" % (ALICE, "c4c9334bac560ecc979e58001b3e22fb")), b"-ERR", "APOP sent raw")

check(p.utf8().startswith(b"+OK"), "UTF8")

p.user(ALICE)
refused(lambda: p.pass_("wrong"), b"-ERR [AUTH]", "wrong password gets [AUTH]")
login(p)

count, size = p.stat()
check(count == 3 and size == sum(len(m) for m in MESSAGES), f"STAT {count} {size}")
resp, listing, _ = p.list()
check(listing == [b"%d %d" % (i + 1, len(m)) for i, m in enumerate(MESSAGES)], f"LIST {listing}")
check(p.list(2) == b"+OK 2 %d" % len(MESSAGES[1]), "LIST 2")
refused(lambda: p.list(9), b"-ERR", "LIST of a missing message")

resp, uidls, _ = p.uidl()
check(len(uidls) == 3 and len({u.split()[1] for u in uidls}) == 3, f"UIDL {uidls}")
check(p.uidl(1).split()[2] == uidls[0].split()[1], "UIDL 1 agrees with UIDL")

for i, m in enumerate(MESSAGES):
    resp, lines, octets = p.retr(i + 1)
    check(lines == lines_of(m), f"RETR {i + 1} gives the stored message back (dot-stuffing undone)")
    check(resp.startswith(b"+OK"), f"RETR {i + 1} status")

resp, lines, _ = p.top(3, 1)
header, body = MESSAGES[2].split(b"\r\n\r\n", 1)
check(lines == header.split(b"\r\n") + [b""] + body.split(b"\r\n")[:1], f"TOP 3 1 {lines}")
resp, lines, _ = p.top(1, 0)
check(lines == MESSAGES[0].split(b"\r\n\r\n")[0].split(b"\r\n") + [b""], f"TOP 1 0 {lines}")

check(p.dele(1).startswith(b"+OK"), "DELE 1")
refused(lambda: p.retr(1), b"-ERR", "RETR of a deleted message")
check(p.stat()[0] == 2, "STAT after DELE")
check(p.rset().startswith(b"+OK"), "RSET")
check(p.stat()[0] == 3, "STAT after RSET")
check(p.noop().startswith(b"+OK"), "NOOP")
check(p.dele(1).startswith(b"+OK"), "DELE 1 again")

# One POP3 session per maildrop.
q = poplib.POP3_SSL(host, pop3s_port, context=ctx, timeout=30)
q.user(ALICE)
refused(lambda: q.pass_(ALICE_PASS), b"-ERR [IN-USE]", "second session on the same maildrop")
q.quit()

check(p.quit().startswith(b"+OK"), "QUIT")

# The lock is gone and the deletion took effect.
p = poplib.POP3_SSL(host, pop3s_port, context=ctx, timeout=30)
login(p)
check(p.stat()[0] == 2, "message deleted at QUIT")
resp, uidls_after, _ = p.uidl()
check([u.split()[1] for u in uidls_after] == [u.split()[1] for u in uidls[1:]], "UIDLs are stable across sessions")
p.quit()

# ---- pop3: STLS required --------------------------------------------------
p = poplib.POP3(host, pop3_port, timeout=30)
caps = p.capa()
check("STLS" in caps, "plain listener offers STLS")
check("USER" not in caps and "SASL" not in caps, "no USER or SASL before STLS")
refused(lambda: p.user(ALICE), b"-ERR", "USER before STLS")
refused(lambda: p.pass_(ALICE_PASS), b"-ERR", "PASS before STLS")
check(p.stls(context=ctx).startswith(b"+OK"), "STLS")
caps = p.capa()
check("USER" in caps and "STLS" not in caps, "after STLS: USER, no STLS")
login(p)
check(p.stat()[0] == 2, "STAT over STLS")
check(p.quit().startswith(b"+OK"), "QUIT over STLS")

print("ALL OK")
