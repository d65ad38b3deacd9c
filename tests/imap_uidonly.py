"""UIDONLY (RFC 9586) against the real binary over imaps on loopback, with
raw commands on imaplib's socket helpers (imaplib has no UIDONLY): after
ENABLE UIDONLY, sequence numbers get `BAD [UIDREQUIRED]`, FETCH answers and
another session's flag changes come as `* uid UIDFETCH`, expunges as
VANISHED.
"""
import re
from e2e_lib import args, check
from imap_raw import Conn

a = args()
c = Conn(a)
for n in range(1, 4):
    body = f"Subject: u{n}\r\n\r\nbody {n}\r\n".encode()
    _, done = c.cmd(f"APPEND INBOX {{{len(body)}+}}\r\n".encode() + body)
    check(done.startswith(b"OK [APPENDUID"), f"APPEND {done!r}")
caps = b" ".join(c.ok("CAPABILITY"))
check(re.search(rb"\bUIDONLY\b", caps), f"UIDONLY not advertised: {caps!r}")
out = c.ok("ENABLE UIDONLY")
check(out == [b"* ENABLED UIDONLY"], f"ENABLE: {out}")
out = c.ok("SELECT INBOX")
check(b"* 3 EXISTS" in out, f"SELECT: {out}")

for command in ("FETCH 1 (FLAGS)", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL",
                "UID SEARCH 1:2", "COPY 1 Trash"):
    _, done = c.cmd(command)
    check(done.startswith(b"BAD [UIDREQUIRED]"), f"{command}: {done!r}")

out = c.ok("UID FETCH 1:* (FLAGS)")
check([re.sub(rb"FLAGS \([^)]*\)", b"FLAGS", l) for l in out]
      == [b"* 1 UIDFETCH (FLAGS)", b"* 2 UIDFETCH (FLAGS)", b"* 3 UIDFETCH (FLAGS)"],
      f"UID FETCH: {out}")

other = Conn(a)
other.ok("SELECT INBOX")
other.ok("UID STORE 2 +FLAGS.SILENT (\\Flagged)")
other.ok("UID STORE 1 +FLAGS.SILENT (\\Deleted)")
other.ok("UID EXPUNGE 1")
other.logout()
out = c.ok("NOOP")
check(b"* VANISHED 1" in out and not any(l.endswith(b" EXPUNGE") for l in out),
      f"VANISHED, not EXPUNGE: {out}")
check(any(re.fullmatch(rb"\* 2 UIDFETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)", l) for l in out),
      f"another session's change as UIDFETCH: {out}")
c.logout()
print("ok")
