"""Shared helpers for the end-to-end client scripts (loopback only)."""
import json
import ssl
import sys


def args():
    """The harness passes one JSON object: ports, cafile, user, password..."""
    return json.loads(sys.argv[1])


def tls_context(cafile):
    """Trusts only the test server's self-signed certificate. Clients dial
    127.0.0.1, so the chain is verified but not the host name."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
