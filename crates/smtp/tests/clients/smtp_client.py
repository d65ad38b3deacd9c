#!/usr/bin/env python3
"""Real-client checks against a sealpost SMTP server on loopback.

Usage: smtp_client.py CASE HOST PORT
Prints what happened; exits 0 when the server behaved as expected.
Certificates are self-signed in tests, so verification is off.
"""
import smtplib
import socket
import ssl
import sys

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def starttls(host, port):
    s = smtplib.SMTP(host, port, timeout=20)
    s.ehlo("client.example")
    s.starttls(context=CTX)
    s.ehlo("client.example")
    return s


def case_size(host, port):
    # smtplib sends SIZE= when the server advertises SIZE: refused at MAIL.
    s = starttls(host, port)
    assert s.has_extn("size"), s.esmtp_features
    body = "Subject: big\r\n\r\n" + ("x" * 998 + "\r\n") * 200
    try:
        s.sendmail("a@example.net", ["alice@example.org"], body)
    except smtplib.SMTPSenderRefused as e:
        assert e.smtp_code == 552, e
        assert b"5.3.4" in e.smtp_error, e
        print("refused", e.smtp_code, e.smtp_error)
        return
    raise AssertionError("oversized message accepted")


def case_pipelining(host, port):
    s = starttls(host, port)
    assert s.has_extn("pipelining")
    # Send MAIL, RCPT, RCPT, DATA in one write, then read four replies.
    s.send(b"MAIL FROM:<p@example.net>\r\nRCPT TO:<alice@example.org>\r\n"
           b"RCPT TO:<nobody@example.org>\r\nDATA\r\n")
    codes = [s.getreply()[0] for _ in range(4)]
    assert codes == [250, 250, 550, 354], codes
    s.send(b"Subject: pipelined\r\n\r\nhi\r\n.\r\n")
    code, msg = s.getreply()
    assert code == 250, (code, msg)
    s.quit()
    print("pipelined", codes, code)


def case_bdat(host, port):
    s = starttls(host, port)
    assert s.has_extn("chunking")
    chunk1 = b"Subject: chunked\r\n\r\n"
    chunk2 = b"line one\r\n.\r\nstill data\r\n"
    s.send(b"MAIL FROM:<c@example.net>\r\nRCPT TO:<alice@example.org>\r\n")
    assert s.getreply()[0] == 250
    assert s.getreply()[0] == 250
    s.send(b"BDAT %d\r\n" % len(chunk1) + chunk1)
    code, msg = s.getreply()
    assert code == 250, (code, msg)
    s.send(b"BDAT %d LAST\r\n" % len(chunk2) + chunk2)
    code, msg = s.getreply()
    assert code == 250, (code, msg)
    s.quit()
    print("bdat", code, msg)


def case_smuggle(host, port):
    s = starttls(host, port)
    s.send(b"MAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
    assert [s.getreply()[0] for _ in range(3)] == [250, 250, 354]
    s.send(b"Subject: smuggle\r\n\r\nhi\n.\r\nMAIL FROM:<admin@example.org>\r\n"
           b"RCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n")
    # <LF>.<CR><LF> is not the end: under the default policy (bare LF
    # normalized, as Postfix 3.9 does) everything up to the real
    # <CRLF>.<CRLF> is one message to alice; the "commands" are its text.
    code, msg = s.getreply()
    assert code == 250, (code, msg)
    # The session goes on, in step: exactly one reply per command.
    code, _ = s.noop()
    assert code == 250
    s.quit()
    print("smuggling not executed", code)


def case_submissions(host, port):
    s = smtplib.SMTP_SSL(host, port, timeout=20, context=CTX)
    s.ehlo("client.example")
    assert "PLAIN" in s.esmtp_features.get("auth", ""), s.esmtp_features
    s.login("alice@example.org", "secret")
    refused = s.sendmail("alice@example.org", ["bob@example.org"],
                         "From: alice@example.org\r\nSubject: via smtplib\r\n\r\nhello bob\r\n")
    assert refused == {}, refused
    s.quit()
    print("submitted")


def case_starttls_injection(host, port):
    # Commands pipelined behind STARTTLS must be dropped (CVE-2011-0411).
    raw = socket.create_connection((host, port), timeout=20)
    f = raw.makefile("rb")
    f.readline()
    raw.sendall(b"EHLO client.example\r\n")
    while True:
        line = f.readline()
        if line[3:4] == b" ":
            break
    raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.net>\r\n")
    line = f.readline()
    assert line.startswith(b"220 "), line
    tls = CTX.wrap_socket(raw, server_hostname="mx.example.org")
    tf = tls.makefile("rb")
    tls.sendall(b"MAIL FROM:<x@example.net>\r\n")
    line = tf.readline()
    # The injected MAIL was not executed: no 250, and EHLO is required again.
    assert line.startswith(b"503 5.5.1"), line
    print("injection dropped", line)


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    CASES[sys.argv[1]](sys.argv[2], int(sys.argv[3]))
