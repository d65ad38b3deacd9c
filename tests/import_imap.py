"""IMAP client side of crates/server/tests/import_imap.rs (imaplib only).

python3 import_imap.py COMMAND JSON

JSON: {"port": P, "cafile": F, "user": U, "password": W, ...}.
Commands:
  fill-first   folders, messages with flags, keywords and dates, a subscription
  fill-delta   one new message in INBOX, flags changed on two others
  fill-bulk    {"count": N, "size": S} messages of S octets into "Bulk"
  dump         every selectable folder (delimiter as "/"): UIDVALIDITY and
               each message's UID, flags (without \\Recent), INTERNALDATE and
               SHA-256 of BODY[]; the subscriptions; as JSON on stdout
  fill-special "Sent Messages" (\\Sent at the source) and "Spam" (\\Junk)
               with a message each; two messages in INBOX
  special      {name: special-use attribute or null} of every folder (LIST)
  store        {"box", "uid", "op", "flags"}: UID STORE in box
  flags        {"box"}: {uid: sorted flags without \\Recent} as JSON
  watch        select INBOX, print "ready N", wait for a line on stdin, NOOP,
               print "now N" (N: messages in INBOX as the server says)
"""

import hashlib
import imaplib
import json
import re
import ssl
import sys

JAN2 = 1577959200


def connect(a):
    ctx = ssl.create_default_context(cafile=a["cafile"])
    ctx.check_hostname = False
    m = imaplib.IMAP4_SSL("127.0.0.1", a["port"], ssl_context=ctx, timeout=30)
    m.login(a["user"], a["password"])
    return m


def message(subject, size=0):
    body = "x" * max(0, size - 120)
    lines = "\r\n".join(body[i:i + 76] for i in range(0, len(body), 76))
    return (
        f"From: bob@example.net\r\nTo: alice@example.org\r\nSubject: {subject}\r\n"
        f"Date: Thu, 02 Jan 2020 10:00:00 +0000\r\n\r\n{subject} body\r\n{lines}\r\n"
    ).encode()


def ok(typ_data):
    typ, data = typ_data
    assert typ == "OK", data
    return data


def fill_first(m):
    for box in ["Lists.rust", "Entw&APw-rfe", "Archive"]:
        ok(m.create(box))
    appends = [
        ("INBOX", r"(\Seen)", 0, "first"),
        ("INBOX", r"(\Answered \Seen Work)", 1, "second"),
        ("INBOX", r"($Forwarded)", 2, "third"),
        ("INBOX", "()", 3, "fourth"),
        ("Lists.rust", r"(\Flagged \Seen $Label1)", 4, "fifth"),
        ("Entw&APw-rfe", r"(\Draft)", 5, "sixth"),
    ]
    for box, flags, day, subject in appends:
        date = imaplib.Time2Internaldate(JAN2 + day * 86400)
        ok(m.append(box, flags, date, message(subject)))
    ok(m.subscribe("Lists.rust"))
    ok(m.subscribe("INBOX"))


def fill_delta(m):
    date = imaplib.Time2Internaldate(JAN2 + 9 * 86400)
    ok(m.append("INBOX", r"(Later)", date, message("seventh")))
    ok(m.select("INBOX"))
    ok(m.uid("STORE", "1", "+FLAGS", r"(\Flagged)"))
    ok(m.uid("STORE", "2", "-FLAGS", r"(\Seen Work)"))


def fill_bulk(m, count, size):
    ok(m.create("Bulk"))
    for i in range(count):
        date = imaplib.Time2Internaldate(JAN2 + i * 60)
        flags = r"(\Seen)" if i % 3 == 0 else "()"
        ok(m.append("Bulk", flags, date, message(f"bulk {i}", size)))


LIST_RE = re.compile(rb'\((?P<attrs>[^)]*)\) (?P<delim>"[^"]*"|NIL) (?P<name>.+)$')


def names(m, command):
    data = ok(m._simple_command(command, '""', "*"))
    data = m._untagged_response("OK", data, command)[1]
    out = []
    for line in data:
        if not line:
            continue
        g = LIST_RE.match(line)
        assert g, line
        name = g["name"].strip(b'"').decode()
        delim = g["delim"].strip(b'"').decode()
        selectable = b"\\noselect" not in g["attrs"].lower() and b"\\nonexistent" not in g["attrs"].lower()
        out.append((name, name.replace(delim, "/") if delim and delim != "NIL" else name, selectable))
    return out


FETCH_RE = re.compile(rb"UID (\d+)|FLAGS \(([^)]*)\)|INTERNALDATE \"([^\"]+)\"")


def dump(m):
    folders = {}
    for wire, name, selectable in names(m, "LIST"):
        if not selectable:
            continue
        typ, data = m.select('"' + wire + '"', readonly=True)
        assert typ == "OK", (wire, data)
        exists = int(data[0])
        uidvalidity = int(m.response("UIDVALIDITY")[1][0])
        messages = []
        if exists:
            for d in ok(m.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")):
                if not isinstance(d, tuple):
                    continue
                uid = flags = date = None
                for g in FETCH_RE.finditer(d[0]):
                    if g.group(1):
                        uid = int(g.group(1))
                    elif g.group(2) is not None:
                        flags = sorted(f for f in g.group(2).decode().split() if f != "\\Recent")
                    elif g.group(3):
                        date = g.group(3).decode()
                messages.append([uid, flags, date, hashlib.sha256(d[1]).hexdigest()])
        messages.sort()
        folders[name] = {"uidvalidity": uidvalidity, "messages": messages}
    subscribed = sorted(name for _, name, _ in names(m, "LSUB"))
    return {"folders": folders, "subscribed": subscribed}


def fill_special(m):
    for box in ["Sent Messages", "Spam"]:
        ok(m.create(f'"{box}"'))
        ok(m.append(f'"{box}"', r"(\Seen)", imaplib.Time2Internaldate(JAN2), message(box)))
    ok(m.append("INBOX", r"(\Seen Work)", imaplib.Time2Internaldate(JAN2), message("one")))
    ok(m.append("INBOX", r"(\Flagged)", imaplib.Time2Internaldate(JAN2), message("two")))


SPECIAL = {"\\sent", "\\drafts", "\\trash", "\\junk", "\\archive"}


def special(m):
    out = {}
    for line in ok(m.list('""', "*")):
        g = LIST_RE.match(line)
        assert g, line
        name = g["name"].strip(b'"').decode()
        uses = [a for a in g["attrs"].decode().split() if a.lower() in SPECIAL]
        assert len(uses) <= 1, line
        out[name] = uses[0] if uses else None
    return out


def store(m, a):
    ok(m.select(a["box"]))
    ok(m.uid("STORE", str(a["uid"]), a["op"], a["flags"]))


def flags(m, a):
    ok(m.select(a["box"], readonly=True))
    out = {}
    for d in ok(m.uid("FETCH", "1:*", "(UID FLAGS)")):
        uid = flags = None
        for g in FETCH_RE.finditer(d):
            if g.group(1):
                uid = g.group(1).decode()
            elif g.group(2) is not None:
                flags = sorted(f for f in g.group(2).decode().split() if f != "\\Recent")
        out[uid] = flags
    return out


def watch(m):
    typ, data = m.select("INBOX")
    print("ready", int(data[0]), flush=True)
    sys.stdin.readline()
    ok(m.noop())
    exists = m.untagged_responses.get("EXISTS")
    print("now", int(exists[-1]) if exists else "none", flush=True)


def main():
    command, a = sys.argv[1], json.loads(sys.argv[2])
    m = connect(a)
    if command == "fill-first":
        fill_first(m)
    elif command == "fill-delta":
        fill_delta(m)
    elif command == "fill-bulk":
        fill_bulk(m, a["count"], a["size"])
    elif command == "fill-special":
        fill_special(m)
    elif command == "special":
        print(json.dumps(special(m)))
    elif command == "store":
        store(m, a)
    elif command == "flags":
        print(json.dumps(flags(m, a), sort_keys=True))
    elif command == "dump":
        print(json.dumps(dump(m), sort_keys=True))
    elif command == "watch":
        watch(m)
    else:
        raise SystemExit(f"unknown command {command}")
    m.logout()


if __name__ == "__main__":
    main()
