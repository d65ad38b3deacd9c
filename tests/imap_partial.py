"""PARTIAL (RFC 9394) against the real binary over imaps on loopback, with
raw commands (imaplib has no PARTIAL): a client pages through a UID SEARCH
from the newest end, saves the page and fetches `$`, and pages a UID FETCH.
"""
import re
from e2e_lib import args, check
from imap_raw import Conn

a = args()
c = Conn(a)
for n in range(1, 8):
    body = f"Subject: p{n}\r\n\r\nbody {n}\r\n".encode()
    _, done = c.cmd(f"APPEND INBOX {{{len(body)}+}}\r\n".encode() + body)
    check(done.startswith(b"OK [APPENDUID"), f"APPEND {done!r}")
caps = b" ".join(c.ok("CAPABILITY"))
check(re.search(rb"\bPARTIAL\b", caps), f"PARTIAL not advertised: {caps!r}")
c.ok("SELECT INBOX")

pages = []
for first in (1, 4, 7):
    out = c.ok(f"UID SEARCH RETURN (PARTIAL -{first}:-{first + 2}) ALL")
    check(len(out) == 1 and out[0].startswith(b"* ESEARCH (TAG "), f"page {first}: {out}")
    found = re.search(rb" UID PARTIAL \((-\d+:-\d+) ([0-9:,]+|NIL)\)$", out[0])
    check(found, f"page {first}: {out}")
    check(found.group(1) == f"-{first}:-{first + 2}".encode(), f"range echoed: {out}")
    pages.append(found.group(2))
check(pages == [b"5:7", b"2:4", b"1"], f"pages from the newest end: {pages}")

out = c.ok("UID SEARCH RETURN (SAVE PARTIAL 2:3) ALL")
check(out[0].endswith(b"PARTIAL (2:3 2:3)"), f"saved page: {out}")
out = c.ok("UID FETCH $ (UID)")
check([l for l in out if b"FETCH" in l] == [b"* 2 FETCH (UID 2)", b"* 3 FETCH (UID 3)"],
      f"FETCH $ after SAVE PARTIAL: {out}")
out = c.ok("UID FETCH 1:* (UID) (PARTIAL -1:-2)")
check(out == [b"* 6 FETCH (UID 6)", b"* 7 FETCH (UID 7)"], f"UID FETCH PARTIAL: {out}")
_, done = c.cmd("UID SEARCH RETURN (PARTIAL 1:2 ALL) ALL")
check(done.startswith(b"BAD"), f"PARTIAL with ALL: {done!r}")
c.logout()
print("ok")
