"""METADATA and METADATA-SERVER (RFC 5464) against the real binary with
Python's imaplib, over imaps on loopback: server and mailbox entries set
and read back from a second connection, binary values as literals,
DEPTH and MAXSIZE, removal, and the limits' response codes.

imaplib has no METADATA methods: the commands go through its own command
machinery and the untagged METADATA responses (literals included, as
imaplib returns them) are checked for content.
"""
import imaplib
from e2e_lib import args, tls_context, check

a = args()
ctx = tls_context(a["cafile"])
for name in ("GETMETADATA", "SETMETADATA"):
    imaplib.Commands.setdefault(name, ("AUTH", "SELECTED"))


def connect():
    m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
    typ, _ = m.login(a["user"], a["password"])
    check(typ == "OK", "login")
    return m


def get(m, *args):
    """The untagged METADATA data of one GETMETADATA, and its tagged text."""
    m.untagged_responses.pop("METADATA", None)
    typ, data = m._simple_command("GETMETADATA", *args)
    check(typ == "OK", f"GETMETADATA {args}: {typ} {data}")
    return m.untagged_responses.pop("METADATA", []), data


m = connect()
typ, caps = m.capability()
for cap in (b"METADATA", b"METADATA-SERVER"):
    check(cap in caps[0].split(), f"{cap} not advertised: {caps}")
value = b"line one\r\nline two \x00\xff"
typ, data = m._simple_command(
    "SETMETADATA", '""',
    b"(/private/comment \"server note\" /shared/admin ~{" + str(len(value)).encode() + b"+}\r\n"
    + value + b")")
check(typ == "OK", f"SETMETADATA server: {typ} {data}")
typ, data = m._simple_command("SETMETADATA", "INBOX", '(/private/comment "inbox note")')
check(typ == "OK", f"SETMETADATA INBOX: {typ} {data}")
m.logout()

# A new connection reads what the first stored.
m = connect()
data, _ = get(m, '""', "(/private/comment /shared/admin)")
check(data == [(b'"" (/private/comment {11}', b"server note"),
               (b" /shared/admin {" + str(len(value)).encode() + b"}", value), b")"],
      f"server entries: {data}")
data, _ = get(m, "INBOX", "/private/comment")
check(data == [(b'"INBOX" (/private/comment {10}', b"inbox note"), b")"], f"INBOX entry: {data}")
data, tagged = get(m, "(MAXSIZE 12 DEPTH infinity)", '""', "/shared")
check(b"[METADATA LONGENTRIES 21]" in tagged[0], f"LONGENTRIES: {tagged}")
data, _ = get(m, '""', "/private/unset")
check(data == [b'"" (/private/unset NIL)'], f"unset entry: {data}")
typ, data = m._simple_command("SETMETADATA", '""', "(/private/comment NIL)")
check(typ == "OK", f"remove: {typ} {data}")
data, _ = get(m, '""', "/private/comment")
check(data == [b'"" (/private/comment NIL)'], f"removed entry: {data}")
big = b"x" * (64 * 1024 + 1)
typ, data = m._simple_command("SETMETADATA", "INBOX",
                              b"(/private/big {" + str(len(big)).encode() + b"+}\r\n" + big + b")")
check(typ == "NO" and b"[METADATA MAXSIZE 65536]" in data[0], f"too long: {typ} {data}")
typ, data = m._simple_command("GETMETADATA", "Nowhere", "/private/comment")
check(typ == "NO", f"no such mailbox: {typ} {data}")
m.logout()
print("ok")
