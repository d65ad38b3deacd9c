#!/usr/bin/env python3
"""A next-hop SMTP server on loopback for queue tests: records what it gets.

Usage: smtp_sink.py DIR [--dsn] [--hold FILE] [--rcpt CODE] [--data CODE,CODE,...]

Prints "PORT n" once listening on 127.0.0.1 (an ephemeral port), then serves
until killed. Every transaction is written to DIR as NNNN.json once it ends:
{"ehlo", "mail", "rcpts": [RCPT lines], "data": text or null, "reply": code}.

--dsn        advertise DSN in the EHLO reply (default: not)
--hold FILE  while FILE exists, MAIL gets "451 4.3.0" (the hop is "busy")
--stall FILE while FILE exists, a new connection gets no greeting (the hop
             hangs: a delivery attempt stays in flight, for kill tests);
             it is greeted once FILE is removed (after 120 s at most);
             FILE.waiting is made when a connection starts waiting
--rcpt CODE  the reply to every RCPT (default 250)
--data LIST  replies to successive DATA terminators, the last repeating
             (e.g. "451,250": the first attempt is deferred, then accepted)

No TLS: the queue's opportunistic STARTTLS falls back to plaintext, which
is what a next hop without STARTTLS gets.
"""
import json
import os
import socket
import socketserver
import sys
import threading
import time

ARGS = sys.argv[1:]
DIR = ARGS[0]
DSN = "--dsn" in ARGS


def opt(name, default):
    if name in ARGS:
        return ARGS[ARGS.index(name) + 1]
    return default


HOLD = opt("--hold", None)
STALL = opt("--stall", None)
RCPT_CODE = int(opt("--rcpt", "250"))
DATA_CODES = [int(c) for c in opt("--data", "250").split(",")]
LOCK = threading.Lock()
STATE = {"seq": 0, "data": 0}

TEXT = {250: "2.0.0 ok", 354: "go ahead", 451: "4.3.0 try again later",
        452: "4.2.2 over quota", 550: "5.1.1 no such user here",
        554: "5.7.1 refused"}


def reply(code):
    return ("%d %s\r\n" % (code, TEXT.get(code, "whatever"))).encode()


def save(tx):
    with LOCK:
        STATE["seq"] += 1
        n = STATE["seq"]
    path = os.path.join(DIR, "%04d.json" % n)
    with open(path + ".tmp", "w") as f:
        json.dump(tx, f)
    os.rename(path + ".tmp", path)


class Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def send(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def handle(self):
        waited = 0.0
        if STALL and os.path.exists(STALL):
            # Tells a test that an attempt is in flight now.
            open(STALL + ".waiting", "w").close()
        while STALL and os.path.exists(STALL) and waited < 120:
            time.sleep(0.05)
            waited += 0.05
        self.send(b"220 sink.example ESMTP test sink\r\n")
        tx = None
        ehlo = ""
        while True:
            line = self.rfile.readline(4096)
            if not line:
                break
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = text.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                ehlo = text
                caps = ["sink.example", "8BITMIME", "SIZE 10000000", "SMTPUTF8"]
                if DSN:
                    caps.append("DSN")
                out = "".join("250-%s\r\n" % c for c in caps[:-1])
                self.send((out + "250 %s\r\n" % caps[-1]).encode())
            elif verb == "MAIL":
                if HOLD and os.path.exists(HOLD):
                    save({"ehlo": ehlo, "mail": text, "rcpts": [], "data": None,
                          "reply": 451})
                    self.send(reply(451))
                    continue
                tx = {"ehlo": ehlo, "mail": text, "rcpts": [], "data": None}
                self.send(reply(250))
            elif verb == "RCPT":
                if tx is not None:
                    tx["rcpts"].append(text)
                self.send(reply(RCPT_CODE))
            elif verb == "DATA":
                if tx is None or RCPT_CODE != 250:
                    self.send(b"503 5.5.1 no valid recipients\r\n")
                    continue
                self.send(reply(354))
                body = []
                while True:
                    l = self.rfile.readline(65536)
                    if not l or l == b".\r\n":
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    body.append(l)
                with LOCK:
                    i = STATE["data"]
                    STATE["data"] += 1
                code = DATA_CODES[min(i, len(DATA_CODES) - 1)]
                tx["data"] = b"".join(body).decode("utf-8", "replace")
                tx["reply"] = code
                save(tx)
                tx = None
                self.send(reply(code))
            elif verb == "RSET":
                tx = None
                self.send(reply(250))
            elif verb == "QUIT":
                break
            else:
                self.send(b"502 5.5.1 not here\r\n")
        if tx is not None:
            # Ended before DATA (e.g. every RCPT refused).
            tx["reply"] = RCPT_CODE if RCPT_CODE != 250 else None
            save(tx)
        try:
            self.send(b"221 2.0.0 bye\r\n")
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    address_family = socket.AF_INET


if __name__ == "__main__":
    os.makedirs(DIR, exist_ok=True)
    srv = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
