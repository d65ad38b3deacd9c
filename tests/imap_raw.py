"""A raw IMAP client over TLS for the end-to-end scripts (loopback only).

The scripts speak IMAP themselves where imaplib cannot: pipelining, hostile
bytes in names, exact answers, timed waits for untagged responses.
"""
import re
import socket
import time
from e2e_lib import tls_context, fail, check


class Conn:
    """One connection to the imaps port, logged in unless `user` is None."""

    def __init__(self, a, user=None, password=None, login=True):
        raw = socket.create_connection(("127.0.0.1", a["imaps"]), timeout=60)
        self.s = tls_context(a["cafile"]).wrap_socket(raw)
        self.buf = b""
        self.n = 0
        self.greeting = self.line()
        if login:
            self.ok(f'LOGIN "{user or a["user"]}" "{password or a["password"]}"')

    def fill(self, timeout=None):
        """Reads more bytes; False on timeout (when one is given)."""
        self.s.settimeout(60 if timeout is None else max(timeout, 0.001))
        try:
            chunk = self.s.recv(1 << 16)
        except socket.timeout:
            if timeout is None:
                fail("server did not answer within 60 s")
            return False
        if not chunk:
            fail("server closed the connection")
        self.buf += chunk
        return True

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def line_within(self, seconds):
        """The next line if it arrives within `seconds`, else None."""
        end = time.monotonic() + seconds
        while b"\r\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not self.fill(left):
                return None
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def line_with(self, needle, seconds):
        """The first line holding `needle` if it arrives within `seconds`,
        else None; the lines before it are passed over."""
        end = time.monotonic() + seconds
        while True:
            line = self.line_within(end - time.monotonic())
            if line is None or needle in line:
                return line

    def read_literal(self, size):
        while len(self.buf) < size:
            self.fill()
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def tag(self):
        self.n += 1
        return f"t{self.n}"

    def response(self):
        """One whole response line, literals inlined."""
        line = self.line()
        m = re.search(rb"\{(\d+)\}$", line)
        while m:
            data = self.read_literal(int(m.group(1)))
            rest = self.line()
            line = line + b"\r\n" + data + rest
            m = re.search(rb"\{(\d+)\}$", rest)
        return line

    def until(self, tag):
        """Untagged responses up to `tag`'s answer: (untagged, tagged)."""
        out = []
        while True:
            line = self.response()
            if line.startswith(tag.encode() + b" "):
                return out, line
            out.append(line)

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, command):
        """Sends one command (str or bytes, CRLF added); returns
        (untagged, tagged) with the tagged line's tag stripped."""
        tag = self.tag()
        body = command if isinstance(command, bytes) else command.encode()
        self.send(tag.encode() + b" " + body + b"\r\n")
        out, done = self.until(tag)
        return out, done[len(tag) + 1:]

    def ok(self, command):
        out, done = self.cmd(command)
        check(done.startswith(b"OK"), f"{command[:80]!r}: {done!r}")
        return out

    def idle(self):
        """Sends IDLE and waits for its continuation; returns the tag that
        `done` ends it with."""
        tag = self.tag()
        self.send(f"{tag} IDLE\r\n")
        line = self.line()
        check(line.startswith(b"+ "), f"IDLE continuation: {line!r}")
        return tag

    def done(self, tag):
        """Ends the IDLE `tag` started; its tagged answer must be OK."""
        self.send("DONE\r\n")
        _, done = self.until(tag)
        check(done.startswith(f"{tag} OK".encode()), f"IDLE end: {done!r}")

    def pipeline_appends(self, items, mailbox="INBOX"):
        """APPENDs with LITERAL+, all sent before any answer is read."""
        tags = []
        payload = bytearray()
        for flags, body in items:
            tag = self.tag()
            tags.append(tag)
            payload += f"{tag} APPEND {mailbox} ({' '.join(flags)}) {{{len(body)}+}}\r\n".encode()
            payload += body + b"\r\n"
        # A batch (about 30 KB) and its answers fit in the socket buffers, so
        # sending it all before reading cannot deadlock.
        self.s.sendall(bytes(payload))
        for tag in tags:
            _, done = self.until(tag)
            check(done.startswith(f"{tag} OK [APPENDUID".encode()), f"APPEND: {done!r}")

    def logout(self):
        tag = self.tag()
        self.send(f"{tag} LOGOUT\r\n")
        self.until(tag)
        self.s.close()
