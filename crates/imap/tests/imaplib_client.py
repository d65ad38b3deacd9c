"""Drives sealpost's IMAP server with Python's imaplib over real TLS.

Usage: imaplib_client.py IMAPS_PORT IMAP_PORT USER PASSWORD
Exits non-zero (with a message) on the first unexpected answer.
"""
import imaplib
import ssl
import sys

imaps_port, imap_port, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def check(cond, what):
    if not cond:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


# Implicit TLS.
m = imaplib.IMAP4_SSL("127.0.0.1", imaps_port, ssl_context=ctx, timeout=20)
check("IMAP4REV1" in m.capabilities, "capabilities %r" % (m.capabilities,))
typ, _ = m.login(user, password)
check(typ == "OK", "login")
typ, _ = m.create("Projects/2024")
check(typ == "OK", "create")
typ, data = m.list()
check(typ == "OK" and any(b"Projects/2024" in d for d in data), "list %r" % data)
msg = b"From: carol@example.net\r\nSubject: imaplib test\r\n\r\nHello from Python.\r\n"
typ, data = m.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(1700000000), msg)
check(typ == "OK" and b"APPENDUID" in data[0], "append %r" % data)
typ, data = m.select("INBOX")
check(typ == "OK" and data[0] == b"1", "select %r" % data)
typ, data = m.fetch("1", "(FLAGS RFC822.SIZE BODY.PEEK[])")
check(typ == "OK", "fetch")
check(data[0][1] == msg, "body %r" % (data,))
check(b"\\Flagged" in data[0][0], "flags %r" % (data,))
typ, data = m.search(None, "SUBJECT", "imaplib")
check(typ == "OK" and data[0] == b"1", "search %r" % data)
typ, data = m.uid("SEARCH", "ALL")
check(typ == "OK" and data[0] == b"1", "uid search %r" % data)
typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
check(typ == "OK" and b"\\Deleted" in data[0], "store %r" % data)
typ, data = m.expunge()
check(typ == "OK" and data[0] == b"1", "expunge %r" % data)
typ, data = m.status("INBOX", "(MESSAGES UIDNEXT)")
check(typ == "OK" and b"MESSAGES 0" in data[0], "status %r" % data)
m.close()
m.logout()

# STARTTLS on the plaintext listener.
m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=20)
check("STARTTLS" in m.capabilities and "LOGINDISABLED" in m.capabilities, "plain caps %r" % (m.capabilities,))
try:
    m.login(user, password)
    check(False, "login before STARTTLS was accepted")
except imaplib.IMAP4.error:
    pass
m.starttls(ssl_context=ctx)
typ, _ = m.login(user, password)
check(typ == "OK", "login after STARTTLS")
typ, data = m.select("Projects/2024", readonly=True)
check(typ == "OK", "examine %r" % data)
m.logout()
print("ok")
