"""Fetches a client-autoconfig document the way a mail client does and
prints what it says, parsed, as one JSON line.

Args (JSON): {"kind": "thunderbird" | "autodiscover" | "autodiscover_json"
| "mobileconfig" | "raw", "scheme": "http" | "https", "port": listener
port, "host": Host header, "sni": name to verify the certificate against
(https), "cafile": PEM, "method": "GET" | "POST", "path": path and query,
"body": request body (text)}.

Output: {"status": code, "content_type": ..., "parsed": ...} where
parsed is, per kind:
- thunderbird: {"domain", "incoming": [{type, hostname, port, socketType,
  username, authentication}], "outgoing": [...]} (xml.etree);
- autodiscover: {"protocols": [{Type, Server, Port, SSL, Encryption,
  LoginName}], "error_code"} (xml.etree, with the 2006a namespace);
- autodiscover_json: the JSON object;
- mobileconfig: the plist as plistlib reads it;
- raw: the body text.
"""
import http.client
import json
import plistlib
import socket
import ssl
import xml.etree.ElementTree as ET

from e2e_lib import args

NS_2006A = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
NS_2006 = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"


class SniHTTPS(http.client.HTTPSConnection):
    """Dials 127.0.0.1, names and verifies `sni`."""

    def __init__(self, sni, port, ctx):
        super().__init__("127.0.0.1", port, context=ctx, timeout=30)
        self._sni = sni

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._sni)


def fetch(a):
    if a["scheme"] == "https":
        ctx = ssl.create_default_context(cafile=a["cafile"])
        ctx.check_hostname = True
        conn = SniHTTPS(a["sni"], a["port"], ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", a["port"], timeout=30)
    body = a.get("body")
    headers = {"Host": a["host"]}
    if body is not None:
        headers["Content-Type"] = "text/xml"
    conn.request(a.get("method", "GET"), a["path"], body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.getheader("Content-Type"), r.read()


def servers(provider, tag):
    out = []
    for s in provider.findall(tag):
        entry = {"type": s.get("type")}
        for child in s:
            entry[child.tag] = child.text
        entry["port"] = int(entry["port"])
        out.append(entry)
    return out


def parse(kind, body):
    if kind == "thunderbird":
        root = ET.fromstring(body)
        assert root.tag == "clientConfig" and root.get("version") == "1.1", root.tag
        provider = root.find("emailProvider")
        return {
            "domain": provider.findtext("domain"),
            "incoming": servers(provider, "incomingServer"),
            "outgoing": servers(provider, "outgoingServer"),
        }
    if kind == "autodiscover":
        root = ET.fromstring(body)
        assert root.tag == NS_2006 + "Autodiscover", root.tag
        protocols = []
        for p in root.iter(NS_2006A + "Protocol"):
            entry = {c.tag.replace(NS_2006A, ""): c.text for c in p}
            entry["Port"] = int(entry["Port"])
            protocols.append(entry)
        code = root.findtext(f"{NS_2006}Response/{NS_2006}Error/{NS_2006}ErrorCode")
        return {"protocols": protocols, "error_code": code}
    if kind == "autodiscover_json":
        return json.loads(body)
    if kind == "mobileconfig":
        return plistlib.loads(body)
    return body.decode("utf-8", "replace")


def main():
    a = args()
    status, ctype, body = fetch(a)
    parsed = parse(a["kind"], body) if status == 200 or a["kind"] in ("raw", "autodiscover_json") else None
    if a["kind"] == "autodiscover" and status == 400:
        parsed = parse("autodiscover", body)
    print(json.dumps({"status": status, "content_type": ctype, "parsed": parsed}, default=str))


main()
