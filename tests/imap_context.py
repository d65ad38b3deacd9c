"""ESORT and CONTEXT=SEARCH/CONTEXT=SORT (RFC 5267) against the real
binary with Python's imaplib, over imaps on loopback.

imaplib sends SORT/SEARCH with RETURN options through its own `uid`
method and CANCELUPDATE through its command machinery; the untagged
responses are read from the lines imaplib itself receives (recorded in
arrival order, so REMOVEFROM-before-EXPUNGE can be checked). A second
imaplib session makes the changes the first one's contexts must follow.
"""
import imaplib
from e2e_lib import args, tls_context, check

a = args()
ctx = tls_context(a["cafile"])
imaplib.Commands.setdefault("CANCELUPDATE", ("SELECTED",))


def ok(result, what):
    typ, data = result
    check(typ == "OK", f"{what}: {typ} {data}")
    return data


def connect():
    m = imaplib.IMAP4_SSL("127.0.0.1", a["imaps"], ssl_context=ctx)
    ok(m.login(a["user"], a["password"]), "login")
    return m


def msg(n):
    """A message whose size grows with n."""
    return f"Subject: m{n}\r\n\r\n{'x' * (n * 10)}\r\n".encode()


m = connect()
caps = ok(m.capability(), "capability")[0].split()
for cap in (b"ESORT", b"CONTEXT=SEARCH", b"CONTEXT=SORT"):
    check(cap in caps, f"capability {cap} missing: {caps}")
# Sizes in UID order 3, 1, 4, 2; UIDs 2 and 4 flagged.
for n, flags in ((3, ""), (1, "(\\Flagged)"), (4, ""), (2, "(\\Flagged)")):
    ok(m.append("INBOX", flags or None, None, msg(n)), f"append {n}")
ok(m.select("INBOX"), "select")

# Every line imaplib reads, in order.
lines = []
_get_line = m._get_line


def recording():
    line = _get_line()
    lines.append(line)
    return line


m._get_line = recording


def esearch(tag):
    """The ESEARCH lines for `tag` received since the last call."""
    found = [l for l in lines if l.startswith(b'* ESEARCH (TAG "' + tag + b'")')]
    return found


def tag_of_last():
    return lines[-1].split(b" ", 1)[0]


# ESORT: MIN, MAX, COUNT and ALL in sort order.
ok(m.uid("SORT", "RETURN (MIN MAX COUNT ALL)", "(REVERSE SIZE)", "UTF-8", "ALL"), "esort")
t = tag_of_last()
check(esearch(t) == [b'* ESEARCH (TAG "' + t + b'") UID MIN 3 MAX 2 COUNT 4 ALL 3,1,4,2'],
      f"ESORT answer: {lines[-3:]}")
data = ok(m.sort("(SIZE)", "UTF-8", "ALL"), "plain sort")
check(data == [b"2 4 1 3"], f"SORT without RETURN answers as before: {data}")

# Two updating contexts: a UID SEARCH and a SORT by descending size.
ok(m.uid("SEARCH", "RETURN (UPDATE COUNT)", "FLAGGED"), "search update")
search_tag = tag_of_last()
check(esearch(search_tag)[-1].endswith(b"UID COUNT 2"), f"search: {lines[-3:]}")
ok(m._simple_command("SORT", "RETURN (UPDATE ALL)", "(REVERSE SIZE)", "UTF-8", "UNFLAGGED"),
   "sort update")
sort_tag = tag_of_last()
check(esearch(sort_tag)[-1].endswith(b") ALL 3,1"), f"sort: {lines[-3:]}")

# Another session flags UID 1 and appends a large unflagged message.
other = connect()
ok(other.select("INBOX"), "other select")
ok(other.uid("STORE", "1", "+FLAGS.SILENT", "(\\Flagged)"), "other store")
ok(other.append("INBOX", None, None, msg(9)), "other append")
del lines[:]
ok(m.noop(), "noop")
check(esearch(search_tag) == [b'* ESEARCH (TAG "' + search_tag + b'") UID ADDTO (0 1)'],
      f"search context after flag: {lines}")
# UID 1 (sequence 1) was at position 2 of [3, 1]; UID 5 (sequence 5) is
# the largest, so it comes first.
check(esearch(sort_tag) == [b'* ESEARCH (TAG "' + sort_tag + b'") REMOVEFROM (2 1) ADDTO (1 5)'],
      f"sort context after flag and append: {lines}")
exists = [i for i, l in enumerate(lines) if l.endswith(b" EXISTS")]
added = [i for i, l in enumerate(lines) if b"ADDTO (1 5)" in l]
check(exists and added and exists[0] < added[0], f"ADDTO after EXISTS: {lines}")

# The other session expunges UID 2 (flagged, sequence 2): REMOVEFROM is
# sent before the EXPUNGE, while sequence 2 still names it.
ok(other.uid("STORE", "2", "+FLAGS.SILENT", "(\\Deleted)"), "other delete")
ok(other.expunge(), "other expunge")
del lines[:]
ok(m.noop(), "noop after expunge")
removed = [i for i, l in enumerate(lines) if l == b'* ESEARCH (TAG "' + search_tag + b'") UID REMOVEFROM (0 2)']
expunged = [i for i, l in enumerate(lines) if l == b"* 2 EXPUNGE"]
check(removed and expunged and removed[0] < expunged[0], f"REMOVEFROM before EXPUNGE: {lines}")

# CANCELUPDATE: the search context stops, the sort context goes on.
ok(m._simple_command("CANCELUPDATE", f'"{search_tag.decode()}"'), "cancelupdate")
ok(other.uid("STORE", "3", "+FLAGS.SILENT", "(\\Flagged)"), "other flags 3")
del lines[:]
ok(m.noop(), "noop after cancel")
check(not esearch(search_tag), f"cancelled context still updated: {lines}")
# UID 3 is now sequence 2, at position 2 of [5, 3].
check(esearch(sort_tag) == [b'* ESEARCH (TAG "' + sort_tag + b'") REMOVEFROM (2 2)'],
      f"sort context after flagging 3: {lines}")

# A SORT with SAVE is refused (SEARCHRES defines SAVE for SEARCH only).
try:
    typ, data = m._simple_command("SORT", "RETURN (SAVE)", "(SIZE)", "UTF-8", "ALL")
except imaplib.IMAP4.error as e:
    typ, data = "BAD", [str(e).encode()]
check(typ == "BAD", f"SORT RETURN (SAVE): {typ} {data}")
other.logout()
m.logout()
print("ok")
