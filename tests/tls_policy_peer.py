#!/usr/bin/env python3
"""A recipient domain for outbound TLS policy tests, on loopback: an HTTPS
MTA-STS policy host and an SMTP mail exchanger with STARTTLS.

Usage: tls_policy_peer.py DIR SMTP_CERT SMTP_KEY [--https CERT KEY POLICY] [--requiretls]

SMTP_CERT/SMTP_KEY (PEM) are what the MX shows after STARTTLS; with
--https, a policy host with its own certificate serves the file POLICY.
Prints "HTTPS n" (only with --https) and "SMTP n" once listening on
127.0.0.1 (ephemeral ports), then serves until killed. With --requiretls
the MX offers REQUIRETLS (RFC 8689) once TLS is on.

HTTPS: GET /.well-known/mta-sts.txt answers POLICY's content as text/plain;
anything else is 404. Each GET is counted in DIR/policy-fetches. POST
/tlsrpt (a TLS report, RFC 8460 5.4) is answered 503 while DIR/post-fail
exists; otherwise its body is saved as DIR/report-NNNN.gz (with its
Content-Type in report-NNNN.type) and answered 200.
SMTP: EHLO offers STARTTLS; every transaction that reaches the end of DATA
is written to DIR as NNNN.json: {"mail", "rcpts", "data", "tls"}, where
"tls" says whether it came over TLS.
"""
import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading

ARGS = sys.argv[1:]
DIR, SMTP_CERT, SMTP_KEY = ARGS[0], ARGS[1], ARGS[2]
HTTPS = ARGS[ARGS.index("--https") + 1:][:3] if "--https" in ARGS else None
POLICY = HTTPS[2] if HTTPS else None
REQUIRETLS = "--requiretls" in ARGS
LOCK = threading.Lock()
STATE = {"seq": 0, "fetches": 0}


def context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def save(tx):
    with LOCK:
        STATE["seq"] += 1
        path = os.path.join(DIR, "%04d.json" % STATE["seq"])
    with open(path + ".tmp", "w") as f:
        json.dump(tx, f)
    os.rename(path + ".tmp", path)


class PolicyHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with LOCK:
            STATE["fetches"] += 1
            with open(os.path.join(DIR, "policy-fetches"), "w") as f:
                f.write(str(STATE["fetches"]))
        if self.path != "/.well-known/mta-sts.txt":
            self.send_error(404)
            return
        with open(POLICY, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(length, 1 << 20))
        if self.path != "/tlsrpt":
            self.send_error(404)
            return
        if os.path.exists(os.path.join(DIR, "post-fail")):
            self.send_error(503)
            return
        with LOCK:
            STATE["seq"] += 1
            path = os.path.join(DIR, "report-%04d" % STATE["seq"])
        with open(path + ".type", "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.rename(path + ".tmp", path + ".gz")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class SmtpHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(30)
        io = sock.makefile("rwb")
        tls = False

        def send(text):
            io.write(text.encode())
            io.flush()

        send("220 mx.remote.example ESMTP\r\n")
        tx = None
        while True:
            line = io.readline(4096)
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = text.split(" ", 1)[0].upper()
            if verb == "EHLO":
                caps = ["mx.remote.example", "8BITMIME"]
                if not tls:
                    caps.append("STARTTLS")
                elif REQUIRETLS:
                    caps.append("REQUIRETLS")
                send("".join("250-%s\r\n" % c for c in caps[:-1]) + "250 %s\r\n" % caps[-1])
            elif verb == "STARTTLS" and not tls:
                send("220 2.0.0 go ahead\r\n")
                try:
                    sock = context(SMTP_CERT, SMTP_KEY).wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # the client refused our certificate
                io = sock.makefile("rwb")
                tls = True
            elif verb == "MAIL":
                tx = {"mail": text, "rcpts": [], "data": None, "tls": tls}
                send("250 2.0.0 ok\r\n")
            elif verb == "RCPT" and tx is not None:
                tx["rcpts"].append(text)
                send("250 2.1.5 ok\r\n")
            elif verb == "DATA" and tx is not None:
                send("354 go ahead\r\n")
                body = []
                while True:
                    l = io.readline(65536)
                    if not l or l == b".\r\n":
                        break
                    body.append(l[1:] if l.startswith(b".") else l)
                tx["data"] = b"".join(body).decode("utf-8", "replace")
                save(tx)
                tx = None
                send("250 2.0.0 queued\r\n")
            elif verb == "QUIT":
                send("221 2.0.0 bye\r\n")
                return
            else:
                send("502 5.5.1 not here\r\n")


class Threading(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    address_family = socket.AF_INET


if __name__ == "__main__":
    os.makedirs(DIR, exist_ok=True)
    if POLICY:
        https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PolicyHandler)
        https.socket = context(HTTPS[0], HTTPS[1]).wrap_socket(https.socket, server_side=True)
        threading.Thread(target=https.serve_forever, daemon=True).start()
        print("HTTPS %d" % https.server_address[1], flush=True)
    smtp = Threading(("127.0.0.1", 0), SmtpHandler)
    print("SMTP %d" % smtp.server_address[1], flush=True)
    smtp.serve_forever()
