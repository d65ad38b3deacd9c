"""Hostile IMAP inputs for crates/server/tests/imap_hostile.rs (loopback only).

Raw TLS sockets, because a library would fix up the bytes (imaplib for the
one check that is about what imaplib itself sees). argv: one JSON object
(see e2e_lib.args) with "mode", "imaps", "cafile", "user", "password".
Prints one JSON line: how long each hostile input took to be answered.
Every wait is bounded: sockets time out after 30 s, loops have fixed counts.
"""
import imaplib
import json
import socket
import ssl
import time

from e2e_lib import args, check, tls_context

a = args()
CTX = tls_context(a["cafile"])
HOST = "127.0.0.1"


class Imap:
    """One raw IMAP connection over TLS."""

    def __init__(self):
        raw = socket.create_connection((HOST, a["imaps"]), timeout=30)
        self.s = CTX.wrap_socket(raw, server_hostname="mail.example.org")
        self.f = self.s.makefile("rb")
        check(self.f.readline().startswith(b"* OK"), "greeting")

    def line(self):
        return self.f.readline()

    def until_tagged(self, tag):
        lines = []
        while True:
            line = self.line()
            check(line, f"connection closed before {tag}'s answer: {lines!r}")
            lines.append(line)
            if line.startswith(tag.encode() + b" "):
                return lines

    def cmd(self, text):
        tag = text.split(" ")[0]
        self.s.sendall(text.encode() + b"\r\n")
        return self.until_tagged(tag)

    def login(self):
        r = self.cmd(f'l LOGIN {a["user"]} "{a["password"]}"')
        check(r[-1].startswith(b"l OK"), f"login: {r!r}")

    def answer_to(self, data):
        """Sends `data`; the first line that comes back, and after how long."""
        start = time.monotonic()
        self.s.sendall(data)
        line = self.line()
        return line, time.monotonic() - start

    def closed(self):
        """Whether the server closes the connection (nothing more, then EOF)."""
        try:
            rest = self.f.read()
        except (ConnectionResetError, ssl.SSLError, OSError):
            return True
        check(rest == b"", f"more after the goodbye: {rest[:200]!r}")
        return True


def expect(line, prefix, what):
    check(line.startswith(prefix), f"{what}: expected {prefix!r}, got {line[:200]!r}")


def huge_literals():
    # Non-synchronizing literals no limit allows, after login: BYE [TOOBIG]
    # at once and the connection closed; the "literal" (commands) never runs.
    times = {}
    for name, command in [
        ("append-100g", b"b APPEND INBOX {99999999999+}\r\n"),
        ("append-4g", b"b APPEND INBOX {4294967296+}\r\n"),
        ("append-2^64", b"b APPEND INBOX {18446744073709551616+}\r\n"),
        ("create-2g", b"b CREATE {2147483648+}\r\n"),
    ]:
        c = Imap()
        c.login()
        line, secs = c.answer_to(command + b"c LOGOUT\r\nd NOOP\r\n")
        expect(line, b"* BYE [TOOBIG]", name)
        check(c.closed(), f"{name}: still open")
        times[name] = secs
    # Before login every literal over the (small) pre-login limit closes.
    for name, command in [
        ("login-2m", b"a LOGIN {2097152+}\r\n" + b"x" * 65536),
        ("login-2m-sync", b"a LOGIN {2097152}\r\n"),
    ]:
        c = Imap()
        line, secs = c.answer_to(command)
        expect(line, b"* BYE [TOOBIG]", name)
        check(c.closed(), f"{name}: still open")
        times[name] = secs
    return times


def literal_discarded_in_step():
    # Over the limit but cheap to discard ([imap] max_literal = 1000): the
    # tagged BAD comes before the literal is sent; its octets, which look
    # like commands, are thrown away; the next command is answered.
    c = Imap()
    c.login()
    line, secs = c.answer_to(b"b APPEND INBOX {1500+}\r\n")
    expect(line, b"b BAD [TOOBIG]", "APPEND 1500")
    c.s.sendall(b"x LOGOUT\r\n" * 150 + b"\r\n")
    r = c.cmd("c NOOP")
    check(r == [b"c OK NOOP completed\r\n"], f"after the discarded literal: {r!r}")
    r = c.cmd("d STATUS INBOX (MESSAGES)")
    check(b"MESSAGES 0" in r[0], f"nothing was appended: {r!r}")
    return {"append-1500": secs}


def long_lines():
    times = {}
    # 1 MB without CRLF before login: BYE at once, closed.
    c = Imap()
    line, secs = c.answer_to(b"X" * (1 << 20))
    expect(line, b"* BYE [LIMIT]", "1 MB line before login")
    check(c.closed(), "still open after the 1 MB line")
    times["line-1m-prelogin"] = secs
    # After login: BAD [LIMIT] once the limit is passed, before the line
    # ends; the rest is skipped and the next command answered.
    c = Imap()
    c.login()
    line, secs = c.answer_to(b"t5 NOOP " + b"X" * 100_000)
    expect(line, b"t5 BAD [LIMIT]", "100 KB line after login")
    times["line-100k"] = secs
    c.s.sendall(b"X" * 100_000 + b"\r\n")
    r = c.cmd("t6 NOOP")
    check(r == [b"t6 OK NOOP completed\r\n"], f"after the long line: {r!r}")
    return times


def sasl_and_idle():
    times = {}
    # A 100 KB SASL response before login: BYE, closed.
    c = Imap()
    c.s.sendall(b"a AUTHENTICATE PLAIN\r\n")
    expect(c.line(), b"+", "AUTHENTICATE continuation")
    line, secs = c.answer_to(b"A" * 100_000 + b"\r\n")
    expect(line, b"* BYE [LIMIT]", "100 KB AUTHENTICATE response")
    check(c.closed(), "still open after the 100 KB SASL response")
    times["sasl-100k"] = secs
    # IDLE answered with 100 KB instead of DONE: IDLE ends with BAD, the
    # next command gets its own answer.
    c = Imap()
    c.login()
    c.cmd("s SELECT INBOX")
    c.s.sendall(b"i IDLE\r\n")
    expect(c.line(), b"+ idling", "IDLE")
    line, secs = c.answer_to(b"D" * 100_000)
    expect(line, b"i BAD [LIMIT]", "100 KB instead of DONE")
    times["idle-100k"] = secs
    c.s.sendall(b"\r\n")
    r = c.cmd("n NOOP")
    check(r[-1] == b"n OK NOOP completed\r\n", f"after IDLE: {r!r}")
    return times


def list_bad_mutf7_then_logout():
    # Raw: OK with no match, then LOGOUT's BYE and tagged OK, then EOF.
    c = Imap()
    c.login()
    r = c.cmd('t LIST "" "&Jjo"')
    check(r == [b"t OK LIST completed\r\n"], f"LIST: {r!r}")
    r = c.cmd("o LOGOUT")
    check(r == [b"* BYE Logging out\r\n", b"o OK LOGOUT completed\r\n"], f"LOGOUT: {r!r}")
    check(c.closed(), "open after LOGOUT")
    # imaplib: the same, as a client library sees it.
    m = imaplib.IMAP4_SSL(HOST, a["imaps"], ssl_context=CTX, timeout=30)
    m.login(a["user"], a["password"])
    typ, data = m.list('""', '"&Jjo"')
    check(typ == "OK" and data == [None], f"imaplib LIST: {typ} {data}")
    typ, data = m.logout()
    check(typ == "BYE", f"imaplib LOGOUT: {typ} {data}")
    return {}


MODES = {
    "huge-literals": huge_literals,
    "literal-discarded": literal_discarded_in_step,
    "long-lines": long_lines,
    "sasl-and-idle": sasl_and_idle,
    "list-logout": list_bad_mutf7_then_logout,
}

print(json.dumps(MODES[a["mode"]]()))
