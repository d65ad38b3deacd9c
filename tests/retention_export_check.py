"""Checks an export archive against what IMAP serves, strictly, in both
formats, and round-trips the mbox back in.

- maildir: every mailbox is a Maildir that Python's mailbox.Maildir opens;
  each message is byte-identical to IMAP's BODY[] and its flags in the file
  name (D F R S T) are exactly the IMAP system flags.
- mbox: every mailbox parses with mailbox.mbox; each message, with the
  three flag header lines taken off and mboxrd quoting undone, is
  byte-identical (a message without a final line break gets one: mbox
  cannot end it otherwise); Status/X-Status/X-Keywords say exactly the IMAP flags
  and keywords; then each message is APPENDed with those flags to the same
  mailbox of "target" and must come back with the same bytes and flags.
Prints "ok <messages>"."""
import imaplib
import mailbox
import os
import re
import tarfile
import tempfile
from e2e_lib import args, tls_context, check

a = args()
tmp = tempfile.mkdtemp()
with tarfile.open(a["archive"]) as tar:
    names = tar.getnames()
    check("README.txt" in names and "access-log.csv" in names, f"members {names}")
    tar.extractall(tmp, filter="data")

SYSTEM = {"\\Seen": ("R", "S"), "\\Answered": ("A", "R"), "\\Flagged": ("F", "F"),
          "\\Draft": ("T", "D"), "\\Deleted": ("D", "T")}


def login(user):
    m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=tls_context(a["cafile"]))
    m.login(user, a["password"])
    return m


def served(m, name):
    """[(flags set, keywords set, bytes)] of a mailbox, by UID."""
    typ, _ = m.select(f'"{name}"', readonly=True)
    check(typ == "OK", f"select {name}")
    typ, data = m.uid("fetch", "1:*", "(FLAGS BODY.PEEK[])")
    out = []
    for d in data:
        if not isinstance(d, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", d[0]).group(1).decode().split()
        system = {f for f in flags if f.startswith("\\") and f != "\\Recent"}
        keywords = {f for f in flags if not f.startswith("\\")}
        out.append((system, keywords, d[1]))
    return out


def mailboxes(m):
    typ, data = m.list()
    names = []
    for line in data:
        mm = re.match(rb'\((.*?)\) "(.)" (.*)', line)
        name = mm.group(3).decode()
        names.append(name.strip('"'))
    return names


src = login(a["user"])
total = 0
for name in mailboxes(src):
    want = served(src, name)
    if a["format"] == "maildir":
        path = os.path.join(tmp, "Maildir", name)
        box = mailbox.Maildir(path, factory=None, create=False)
        got = []
        for key in box.keys():
            msg = box.get_message(key)
            got.append((set(msg.get_flags()), box.get_bytes(key), msg.get_subdir()))
        check(len(got) == len(want), f"{name}: {len(got)} exported, {len(want)} served")
        # Maildir keeps no order: match by content.
        for system, keywords, body in want:
            match = [g for g in got if g[1] == body]
            check(len(match) >= 1, f"{name}: message not exported byte-identical: {body[:80]!r}")
            flags, _, subdir = match[0]
            check(flags == {SYSTEM[f][1] for f in system}, f"{name}: flags {flags} for {system}")
            check(subdir == "cur", f"{name}: in {subdir}")
            total += 1
    else:
        box = mailbox.mbox(os.path.join(tmp, "mbox", f"{name}.mbox"), create=False)
        keys = box.keys()
        check(len(keys) == len(want), f"{name}: {len(keys)} exported, {len(want)} served")
        dst = login(a["target"])
        if name.upper() != "INBOX":
            dst.create(f'"{name}"')
        for key, (system, keywords, body) in zip(keys, want):
            raw = box.get_bytes(key)
            lines = raw.split(b"\n")
            check(lines[0].startswith(b"Status: ") and lines[1].startswith(b"X-Status: ")
                  and lines[2].startswith(b"X-Keywords: "), f"flag headers {lines[:3]}")
            status = lines[0][8:].strip().decode()
            xstatus = lines[1][10:].strip().decode()
            kws = set(lines[2][12:].strip().decode().split())
            text = re.sub(rb"(?m)^>(>*From )", rb"\1", b"\n".join(lines[3:]))
            # mbox cannot end a message without a line break: one is added
            # (documented in the archive's README); Maildir keeps every byte.
            expected = body if body.endswith(b"\n") else body + (b"\r\n" if b"\r\n" in body else b"\n")
            check(text == expected, f"{name}: bytes differ: {text[:80]!r} vs {expected[:80]!r}")
            got = {f for f, (c, _) in SYSTEM.items() if c in (status if f == "\\Seen" else xstatus)}
            check(got == system, f"{name}: Status {status!r} X-Status {xstatus!r} for {system}")
            check(kws == keywords, f"{name}: X-Keywords {kws} for {keywords}")
            check("O" in status, f"{name}: Status without O: {status!r}")
            # Back in, from what the mbox says.
            flags = " ".join(sorted(got | kws))
            typ, _ = dst.append(f'"{name}"', f"({flags})", None, text)
            check(typ == "OK", f"append to {name}")
            total += 1
        back = served(dst, name)
        want = [(s, k, b if b.endswith(b"\n") else b + b"\r\n") for s, k, b in want]
        check(back == want, f"{name}: round trip differs:\n{back}\n{want}")
        dst.logout()
src.logout()
print("ok", total)
