"""Reads an export archive: every mbox parses with Python's mailbox module,
every message is byte-identical to what IMAP serves, flags are preserved."""
import imaplib
import mailbox
import os
import re
import tarfile
import tempfile
from e2e_lib import args, tls_context, check

a = args()
with tarfile.open(a["archive"]) as tar:
    names = tar.getnames()
    check("README.txt" in names and "access-log.csv" in names, f"archive members {names}")
    tmp = tempfile.mkdtemp()
    tar.extractall(tmp, filter="data")

m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=tls_context(a["cafile"]))
m.login(a["user"], a["password"])
total = 0
for name in ["INBOX", "Archive"]:
    path = os.path.join(tmp, "mbox", f"{name}.mbox")
    box = mailbox.mbox(path, create=False)
    exported = []
    for key in box.keys():
        raw = box.get_bytes(key)
        msg = box[key]
        # Our three flag lines come first; mboxrd quoting is undone line by line.
        lines = raw.split(b"\n")
        check(lines[0].startswith(b"Status: ") and lines[1].startswith(b"X-Status: ") and lines[2].startswith(b"X-Keywords: "), f"flag headers {lines[:3]}")
        body = b"\n".join(lines[3:])
        body = re.sub(rb"(?m)^>(>*From )", rb"\1", body)
        exported.append((body, msg.get_flags(), lines[2][len(b"X-Keywords: "):].strip()))
    m.select(name, readonly=True)
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[])") if exported else ("OK", [])
    served = [d for d in data if isinstance(d, tuple)]
    check(len(served) == len(exported), f"{name}: {len(served)} served, {len(exported)} exported")
    for (meta, body), (ebody, eflags, ekw) in zip(served, exported):
        check(body.replace(b"\r\n", b"\r\n") == ebody, f"{name}: message differs: {body[:60]!r} vs {ebody[:60]!r}")
        seen = b"\\Seen" in meta
        check(("R" in eflags) == seen, f"{name}: seen flag {meta!r} vs {eflags}")
        check(("F" in eflags) == (b"\\Flagged" in meta), f"{name}: flagged {meta!r} vs {eflags}")
        for kw in ekw.split():
            check(kw in meta, f"{name}: keyword {kw!r} missing from {meta!r}")
        total += 1
print("ok", total)
