"""An IMAPS client (Python's imaplib over ssl) that checks the server's
certificate the way a mail client does: the chain against a given root
(pebble's issuing root in the ACME tests), the host name against SNI.

Args (JSON): {"name": SNI and verified host name, "port": imaps port,
"cafile": root PEM, "user": optional, "password": optional}.
Prints one JSON line: {"serial": hex, "names": [subjectAltName DNS...]};
with a user, logs in and runs NOOP first. Exits non-zero if the chain or
the name does not verify.
"""
import imaplib
import json
import socket
import ssl

from e2e_lib import args, check, fail


class SniImap(imaplib.IMAP4_SSL):
    """Dials 127.0.0.1 but names (SNI) and verifies `name`."""

    def __init__(self, name, port, ctx):
        self._name = name
        super().__init__(host=name, port=port, ssl_context=ctx, timeout=30)

    def _create_socket(self, timeout):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self._name)


def main():
    a = args()
    ctx = ssl.create_default_context(cafile=a["cafile"])
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        imap = SniImap(a["name"], a["port"], ctx)
    except ssl.SSLCertVerificationError as e:
        fail(f"certificate does not verify: {e.verify_message}")
    cert = imap.sock.getpeercert()
    names = [v for (k, v) in cert.get("subjectAltName", ()) if k == "DNS"]
    if a.get("user"):
        typ, _ = imap.login(a["user"], a["password"])
        check(typ == "OK", "login")
        typ, _ = imap.noop()
        check(typ == "OK", "NOOP")
    imap.logout()
    print(json.dumps({"serial": cert["serialNumber"].lower().lstrip("0"), "names": names}))


main()
