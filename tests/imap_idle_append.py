"""IDLE over real sockets: a message APPENDed by another session reaches an
idling session within 1 s, measured from the APPEND's tagged OK to the
idler's `* n EXISTS` (the issue's bound; the update normally takes
milliseconds, so 1 s is the margin a loaded 2-core CI machine needs).
Flag changes and expunges by the other session arrive the same way.
Loopback only.
"""
import re
import time
from e2e_lib import args, check
from imap_raw import Conn

BOUND = 1.0
a = args()

idler = Conn(a)
other = Conn(a)
out = idler.ok("SELECT INBOX")
exists = int(next(re.match(rb"\* (\d+) EXISTS", l).group(1) for l in out if l.endswith(b" EXISTS")))
other.ok("SELECT INBOX")

idler.send("idle IDLE\r\n")
check(idler.line() == b"+ idling", "IDLE continuation")


def wait_for(pattern, since, what):
    """The idler's next line, which must match `pattern` within BOUND of `since`."""
    left = BOUND - (time.monotonic() - since)
    line = idler.line_within(max(left, 0))
    took = time.monotonic() - since
    check(line is not None, f"{what}: nothing within {BOUND} s (waited {took:.3f} s)")
    check(re.fullmatch(pattern, line), f"{what}: unexpected {line!r}")
    return line, took


worst = 0.0
for i in range(5):
    body = f"From: idle@example.net\r\nSubject: idle {i}\r\n\r\nnumber {i}\r\n".encode()
    _, done = other.cmd(f"APPEND INBOX {{{len(body)}+}}\r\n".encode() + body)
    acked = time.monotonic()
    check(done.startswith(b"OK [APPENDUID"), f"APPEND {done!r}")
    exists += 1
    _, took = wait_for(rb"\* %d EXISTS" % exists, acked, f"EXISTS for APPEND {i}")
    # rev1 session: RECENT follows EXISTS (RFC 3501 7.3.2).
    wait_for(rb"\* \d+ RECENT", acked, f"RECENT for APPEND {i}")
    worst = max(worst, took)
    print(f"APPEND {i}: EXISTS {took * 1000:.1f} ms after the tagged OK")

# Another session's flag change: an untagged FETCH at once.
_, done = other.cmd(f"STORE {exists} +FLAGS.SILENT (\\Flagged)")
acked = time.monotonic()
check(done.startswith(b"OK"), f"STORE {done!r}")
# The message is \Recent in one session only (RFC 3501 2.3.2): the idler's
# or the appender's, whichever was told of it first.
wait_for(rb"\* %d FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)" % exists, acked, "FETCH for STORE")

# ...and its expunge: an untagged EXPUNGE at once.
_, done = other.cmd(f"STORE {exists} +FLAGS.SILENT (\\Deleted)")
acked = time.monotonic()
check(done.startswith(b"OK"), f"STORE {done!r}")
wait_for(rb"\* %d FETCH \(FLAGS \(\\Flagged \\Deleted( \\Recent)?\)\)" % exists, acked,
         "FETCH for \\Deleted")
_, done = other.cmd("EXPUNGE")
acked = time.monotonic()
check(done.startswith(b"OK"), f"EXPUNGE {done!r}")
wait_for(rb"\* %d EXPUNGE" % exists, acked, "EXPUNGE")
exists -= 1

idler.send("DONE\r\n")
out, done = idler.until("idle")
check(done == b"idle OK IDLE terminated", f"IDLE end {out} {done!r}")
# What IDLE announced is what is there.
out = idler.ok(f"FETCH {exists} (BODY.PEEK[HEADER.FIELDS (Subject)])")
check(b"Subject: idle 3" in out[0], f"last message {out}")
idler.logout()
other.logout()
print(f"worst {worst * 1000:.1f} ms")
print("ok")
