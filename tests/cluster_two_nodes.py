"""Two sealpost nodes over one PostgreSQL database, through real clients
(imaplib, poplib). The harness passes both nodes' ports; modes:

  pop3-in-use   a POP3 session on node 1 holds the maildrop: a login on
                node 2 gets -ERR [IN-USE]; once node 1's session QUITs, the
                login on node 2 succeeds (within a few seconds).
  append        two IMAP sessions, one per node, APPEND to one INBOX at the
                same time: every APPENDUID is distinct, each session's are
                increasing, and both nodes list the same UIDs afterwards.
Loopback only.
"""
import imaplib
import poplib
import re
import sys
import threading
import time

from e2e_lib import args, check, tls_context

a = args()
ctx = tls_context(a["cafile"])
mode = a["mode"]


def pop(port):
    p = poplib.POP3_SSL("127.0.0.1", port, context=ctx, timeout=30)
    p.user(a["user"])
    return p


if mode == "pop3-in-use":
    one = pop(a["pop3s_1"])
    one.pass_(a["password"])
    n = one.stat()[0]
    two = pop(a["pop3s_2"])
    try:
        two.pass_(a["password"])
        check(False, "node 2 let a second session into the maildrop")
    except poplib.error_proto as e:
        check(b"[IN-USE]" in e.args[0], f"node 2 said {e.args[0]!r}")
    check(one.quit().startswith(b"+OK"), "QUIT on node 1")
    deadline = time.time() + 5
    while True:
        two = pop(a["pop3s_2"])
        try:
            two.pass_(a["password"])
            break
        except poplib.error_proto as e:
            check(time.time() < deadline, f"node 2 still refuses after QUIT: {e.args[0]!r}")
            time.sleep(0.2)
    check(two.stat()[0] == n, "node 2 sees the same maildrop")
    two.quit()
    print("ok")
elif mode == "append":
    per = int(a["count"])
    got = {1: [], 2: []}
    errors = []
    start = threading.Barrier(2)

    def appender(node):
        try:
            m = imaplib.IMAP4_SSL("127.0.0.1", a[f"imaps_{node}"], ssl_context=ctx)
            m.login(a["user"], a["password"])
            start.wait()
            for i in range(per):
                msg = f"From: s@example.net\r\nSubject: node{node} n{i}\r\n\r\nx\r\n".encode()
                typ, data = m.append("INBOX", None, None, msg)
                check(typ == "OK", f"APPEND on node {node}: {data}")
                uid = re.search(rb"APPENDUID \d+ (\d+)", data[0])
                check(uid is not None, f"no APPENDUID: {data}")
                got[node].append(int(uid.group(1)))
            m.logout()
        except Exception as e:  # reported below, so the test fails
            errors.append(f"node {node}: {e!r}")

    threads = [threading.Thread(target=appender, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, f"{errors}")
    for node in (1, 2):
        check(got[node] == sorted(got[node]) and len(set(got[node])) == per,
              f"node {node}'s UIDs not increasing: {got[node]}")
    every = got[1] + got[2]
    check(len(set(every)) == 2 * per, f"a UID was given twice: {sorted(every)}")
    for node in (1, 2):
        m = imaplib.IMAP4_SSL("127.0.0.1", a[f"imaps_{node}"], ssl_context=ctx)
        m.login(a["user"], a["password"])
        m.select("INBOX")
        typ, data = m.uid("SEARCH", None, "ALL")
        listed = sorted(int(u) for u in data[0].split())
        check(set(every) <= set(listed), f"node {node} lists {listed}, missing some of {sorted(every)}")
        m.logout()
    print("ok")
else:
    sys.exit("unknown mode " + mode)
