"""Server and Maildir sides of the mbsync end-to-end test (loopback only).

Usage: imap_mbsync.py STEP JSON, where STEP is one of

  fill            APPEND `count` messages with flags to INBOX, pipelined with
                  LITERAL+ over a few connections (fast even with fsync).
  server-changes  Change the server side: flags set and cleared, messages
                  expunged, new ones APPENDed (by Message-ID numbers).
  local-changes   Change the Maildir side: flags set by renaming files, one
                  new message written into new/.
  compare         Print both sides as JSON and fail unless they match
                  exactly: same Message-IDs, same flags, same bodies (a
                  Maildir file is the message with LF line ends, as Maildir
                  keeps it; the server's copy has CRLF; and the X-TUID
                  header mbsync adds to messages it copies, to find them
                  again, is not part of the comparison).

Every message carries `Message-ID: <sync-N@example.net>`, so both sides can
be matched without relying on UIDs.
"""
import json
import os
import re
import sys
import threading
from e2e_lib import check
from imap_raw import Conn

FLAG_LETTERS = {"\\Seen": "S", "\\Answered": "R", "\\Flagged": "F", "\\Draft": "D", "\\Deleted": "T"}


def message(n):
    return (
        f"From: Sender {n} <sender{n}@example.net>\r\n"
        f"To: alice@example.org\r\n"
        f"Subject: sync message {n}\r\n"
        f"Date: Mon, 1 Jan 2024 12:00:00 +0000\r\n"
        f"Message-ID: <sync-{n}@example.net>\r\n"
        f"\r\n"
        f"Body of message {n}.\r\n"
        f"Second line {'x' * (n % 50)}\r\n"
    ).encode()


def initial_flags(n):
    f = []
    if n % 3 == 0:
        f.append("\\Seen")
    if n % 5 == 0:
        f.append("\\Flagged")
    if n % 7 == 0:
        f.append("\\Answered")
    if n % 11 == 0:
        f.append("\\Draft")
    return f


def server_messages(a, mailbox="INBOX"):
    """Message-ID number -> (flags, body) in a mailbox on the server."""
    c = Conn(a)
    c.ok(f'SELECT "{mailbox}"')
    out = c.ok("UID FETCH 1:* (FLAGS BODY.PEEK[])")
    c.logout()
    msgs = {}
    for line in out:
        m = re.match(rb"\* \d+ FETCH \(UID \d+ FLAGS \(([^)]*)\) BODY\[\] \{(\d+)\}\r\n", line)
        check(m is not None, f"unexpected FETCH line {line[:100]!r}")
        size = int(m.group(2))
        body = line[m.end(): m.end() + size]
        flags = sorted(f for f in m.group(1).decode().split() if f != "\\Recent")
        n = message_number(body)
        check(n not in msgs, f"message {n} twice on the server")
        msgs[n] = (flags, without_tuid(body))
    return msgs


def without_tuid(body):
    """The message without mbsync's own X-TUID tracking header."""
    head, sep, rest = body.partition(b"\r\n\r\n")
    lines = [l for l in head.split(b"\r\n") if not l.startswith(b"X-TUID: ")]
    return b"\r\n".join(lines) + sep + rest


def message_number(body):
    m = re.search(rb"Message-ID: <sync-(\d+)@example.net>", body)
    check(m is not None, f"no test Message-ID in {body[:200]!r}")
    return int(m.group(1))


def maildir_messages(path):
    """Message-ID number -> (flags, body with CRLF) in a Maildir folder."""
    msgs = {}
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                raw = f.read()
            letters = name.split(":2,", 1)[1] if ":2," in name else ""
            flags = sorted(f for f, l in FLAG_LETTERS.items() if l in letters)
            body = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            n = message_number(body)
            check(n not in msgs, f"message {n} twice in the Maildir")
            msgs[n] = (flags, without_tuid(body))
    return msgs


def fill(a):
    count = a["count"]
    conns = 4
    items = [(initial_flags(n), message(n)) for n in range(1, count + 1)]
    # Split into contiguous runs so UIDs follow Message-ID numbers per run.
    per = (count + conns - 1) // conns
    errors = []

    def worker(part):
        try:
            c = Conn(a)
            for i in range(0, len(part), 100):
                c.pipeline_appends(part[i:i + 100])
            c.logout()
        except SystemExit as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(items[i:i + per],)) for i in range(0, count, per)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "a fill connection failed")
    print(json.dumps({"filled": count}))


def server_changes(a):
    c = Conn(a)
    c.ok("SELECT INBOX")
    uids = uid_map(c)
    ch = a["changes"]

    def uid_set(ns):
        return ",".join(uids[n] for n in ns)

    c.ok(f"UID STORE {uid_set(ch['flag'])} +FLAGS.SILENT (\\Flagged)")
    c.ok(f"UID STORE {uid_set(ch['unseen'])} -FLAGS.SILENT (\\Seen)")
    c.ok(f"UID STORE {uid_set(ch['answer'])} +FLAGS.SILENT (\\Answered \\Seen)")
    c.ok(f"UID STORE {uid_set(ch['expunge'])} +FLAGS.SILENT (\\Deleted)")
    c.ok(f"UID EXPUNGE {uid_set(ch['expunge'])}")
    c.pipeline_appends([(["\\Seen"] if n % 2 else [], message(n)) for n in ch["append"]])
    c.logout()
    print(json.dumps({"server_changes": "done"}))


def uid_map(c):
    """Message-ID number -> UID, from one FETCH of the Message-ID fields."""
    out = c.ok("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Message-ID)])")
    uids = {}
    for line in out:
        m = re.match(rb"\* \d+ FETCH \(UID (\d+) ", line)
        check(m is not None, f"unexpected FETCH line {line[:100]!r}")
        uids[message_number(line)] = m.group(1).decode()
    return uids


def local_changes(a):
    box = a["maildir"]
    ch = a["changes"]
    files = {}
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(box, sub)):
            with open(os.path.join(box, sub, name), "rb") as f:
                files[message_number(f.read().replace(b"\n", b"\r\n"))] = (sub, name)

    def add_flags(n, letters):
        sub, name = files[n]
        base, _, have = name.partition(":2,")
        new = base + ":2," + "".join(sorted(set(have) | set(letters)))
        os.rename(os.path.join(box, sub, name), os.path.join(box, "cur", new))

    for n in ch["seen"]:
        add_flags(n, "S")
    for n in ch["flag"]:
        add_flags(n, "F")
    write_new(box, ch["new"])
    # A folder made locally, with one message, for `Create Both`.
    folder = os.path.join(os.path.dirname(box), ch["folder"])
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(folder, sub))
    write_new(folder, ch["folder_message"])
    print(json.dumps({"local_changes": "done"}))


def write_new(box, n):
    """Delivers message n into a Maildir folder the Maildir way (tmp, then new)."""
    body = message(n).replace(b"\r\n", b"\n")
    tmp = os.path.join(box, "tmp", f"local-{n}.test")
    with open(tmp, "wb") as f:
        f.write(body)
    os.rename(tmp, os.path.join(box, "new", f"local-{n}.test"))


def expected_after(count, server, local):
    """What both sides must hold after the changes and a sync."""
    want = {n: set(initial_flags(n)) for n in range(1, count + 1)}
    if server:
        for n in server["flag"]:
            want[n].add("\\Flagged")
        for n in server["unseen"]:
            want[n].discard("\\Seen")
        for n in server["answer"]:
            want[n] |= {"\\Answered", "\\Seen"}
        for n in server["expunge"]:
            del want[n]
        for n in server["append"]:
            want[n] = {"\\Seen"} if n % 2 else set()
    if local:
        for n in local["seen"]:
            want[n].add("\\Seen")
        for n in local["flag"]:
            want[n].add("\\Flagged")
        want[local["new"]] = set()
    return {n: sorted(f) for n, f in want.items()}


def compare(a):
    far = server_messages(a)
    near = maildir_messages(a["maildir"])
    want = expected_after(a["count"], a.get("server_changes"), a.get("local_changes"))
    print(json.dumps({"server": len(far), "maildir": len(near), "expected": len(want)}))
    # Both sides hold the same messages, flags and bodies...
    check(set(far) == set(near),
          f"different messages: only on server {sorted(set(far) - set(near))[:20]}, "
          f"only in Maildir {sorted(set(near) - set(far))[:20]}")
    for n in sorted(far):
        check(far[n][0] == near[n][0], f"message {n}: server flags {far[n][0]}, Maildir flags {near[n][0]}")
        check(far[n][1] == near[n][1], f"message {n}: bodies differ:\n{far[n][1]!r}\n{near[n][1]!r}")
    # ...and they are what the changes made of the account.
    check(set(want) == set(far), f"expected {len(want)} messages, have {len(far)}: "
          f"missing {sorted(set(want) - set(far))[:20]}, extra {sorted(set(far) - set(want))[:20]}")
    for n in sorted(want):
        check(far[n][0] == want[n], f"message {n}: flags {far[n][0]}, expected {want[n]}")
        check(far[n][1] == message(n), f"message {n}: body changed: {far[n][1]!r}")
    local = a.get("local_changes")
    if local:
        name = local["folder"]
        far = server_messages(a, name)
        near = maildir_messages(os.path.join(os.path.dirname(a["maildir"]), name))
        n = local["folder_message"]
        check(far == near == {n: ([], message(n))}, f"folder {name}: server {far}, Maildir {near}")
    print(json.dumps({"matched": len(want)}))


def main():
    step, a = sys.argv[1], json.loads(sys.argv[2])
    {"fill": fill, "server-changes": server_changes, "local-changes": local_changes,
     "compare": compare}[step](a)


if __name__ == "__main__":
    main()
