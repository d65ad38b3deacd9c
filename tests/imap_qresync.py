"""QRESYNC (RFC 7162) through the real binary: a client knows INBOX at some
HIGHESTMODSEQ and disconnects; another connection changes flags, expunges
and appends; a NEW connection's SELECT (QRESYNC ...) reports exactly those
changes: VANISHED (EARLIER) is the expunged UIDs, one FETCH per changed
message. Loopback only.
"""
import re
from e2e_lib import args, check
from imap_raw import Conn

a = args()

c = Conn(a)
for n in range(1, 7):
    body = f"Subject: q{n}\r\n\r\nbody {n}\r\n".encode()
    _, done = c.cmd(f"APPEND INBOX {{{len(body)}+}}\r\n".encode() + body)
    check(done.startswith(b"OK [APPENDUID"), f"APPEND {done!r}")
c.ok("ENABLE QRESYNC")
out = c.ok("SELECT INBOX")
validity = int(next(re.search(rb"UIDVALIDITY (\d+)", l).group(1) for l in out if b"[UIDVALIDITY" in l))
modseq = int(next(re.search(rb"HIGHESTMODSEQ (\d+)", l).group(1) for l in out if b"[HIGHESTMODSEQ" in l))
c.logout()

other = Conn(a)
other.ok("SELECT INBOX")
other.ok("UID STORE 2 +FLAGS.SILENT (\\Seen)")
other.ok("UID STORE 4 +FLAGS.SILENT (\\Flagged $Later)")
other.ok("UID STORE 3,5 +FLAGS.SILENT (\\Deleted)")
other.ok("UID EXPUNGE 3,5")
body = b"Subject: q7\r\n\r\nbody 7\r\n"
_, done = other.cmd(b"APPEND INBOX (\\Draft) {%d+}\r\n" % len(body) + body)
check(done.startswith(b"OK [APPENDUID"), f"APPEND {done!r}")
other.logout()

c = Conn(a)
c.ok("ENABLE QRESYNC")
out = c.ok(f"SELECT INBOX (QRESYNC ({validity} {modseq} 1:6))")
vanished = [l for l in out if l.startswith(b"* VANISHED")]
check(vanished == [b"* VANISHED (EARLIER) 3,5"], f"VANISHED: {out}")
fetches = [re.sub(rb"MODSEQ \((\d+)\)", b"MODSEQ", l) for l in out if b" FETCH " in l]
check(fetches == [
    b"* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ)",
    b"* 3 FETCH (UID 4 FLAGS (\\Flagged $Later) MODSEQ)",
    # Not \Recent: the appending session had INBOX selected and took it
    # (RFC 3501 2.3.2: one session only).
    b"* 5 FETCH (UID 7 FLAGS (\\Draft) MODSEQ)",
], f"FETCH: {out}")
for l in out:
    m = re.search(rb"MODSEQ \((\d+)\)", l)
    if m:
        check(int(m.group(1)) > modseq, f"modseq not above {modseq}: {l!r}")
check(b"* 5 EXISTS" in out, f"EXISTS: {out}")
c.logout()
print("ok")
