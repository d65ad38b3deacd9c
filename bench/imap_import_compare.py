"""IMAP import speed and peak memory: `sealpost import ADDRESS --imap`
against mbsync, both copying the same account from the same Dovecot, in
the same run.

python3 bench/imap_import_compare.py SEALPOST_BINARY [MESSAGES [ROUNDS]]

Generates an account of MESSAGES messages (default 600: mail-sized text
messages of 2 to 60 KiB with a few attachments of 200 KiB to 1 MiB, spread
over INBOX, Archive and Lists/rust, some flagged and answered) and puts it
into a Dovecot started on a loopback port with TLS (a private CA made with
openssl), with `doveadm import`. Then, ROUNDS times (default 3), A and B
interleaved so that both see the same load:

- `sealpost import copy@example.org --imap imaps://alice@127.0.0.1:PORT
  --password-stdin --ca-file CA` into a fresh embedded store (sealed,
  summaries built, fsync'd);
- `mbsync` pulling the same account over the same TLS into a fresh
  Maildir (its default fsync on).

Each command is timed whole, its peak RSS read from wait4(). Prints one
Markdown row per round and tool, then the medians, and the load average
before and after (the machine may be shared). Needs dovecot-imapd, isync
and openssl (Debian's packages); runs as root (Dovecot's mail user is
nobody).
"""

import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PASSWORD = "source password"


def message(rng, n):
    """One message: text of 2-60 KiB, one in twelve with an attachment."""
    words = ["mail", "server", "import", "rust", "dovecot", "sealpost", "flag", "folder"]
    body_len = rng.randint(2, 60) * 1024
    lines = []
    size = 0
    while size < body_len:
        line = " ".join(rng.choice(words) for _ in range(12))
        lines.append(line)
        size += len(line) + 1
    text = "\n".join(lines)
    head = (
        f"From: Sender {n} <s{n}@example.net>\nTo: alice@example.org\n"
        f"Subject: message {n}\nDate: Thu, 02 Jan 2020 10:{n % 60:02d}:00 +0000\n"
        f"Message-ID: <{n}@example.net>\nMIME-Version: 1.0\n"
    )
    if n % 12:
        return (head + "Content-Type: text/plain; charset=utf-8\n\n" + text + "\n").encode()
    attachment = os.urandom(rng.randint(200, 1024) * 1024)
    import base64

    b64 = base64.encodebytes(attachment).decode()
    return (
        head
        + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
        + "Content-Type: text/plain; charset=utf-8\n\n"
        + text
        + "\n--b\nContent-Type: application/octet-stream\n"
        + 'Content-Disposition: attachment; filename="a.bin"\n'
        + "Content-Transfer-Encoding: base64\n\n"
        + b64
        + "--b--\n"
    ).encode()


def make_maildir(root, count):
    """A Maildir with INBOX, .Archive and .Lists.rust; returns its octets."""
    rng = random.Random(16)
    maildir = os.path.join(root, "source")
    folders = [maildir, os.path.join(maildir, ".Archive"), os.path.join(maildir, ".Lists.rust")]
    for f in folders:
        for sub in ["cur", "new", "tmp"]:
            os.makedirs(os.path.join(f, sub))
    total = 0
    for n in range(count):
        folder = folders[n % 3]
        flags = ["", "S", "FS", "RS"][n % 4]
        raw = message(rng, n)
        total += len(raw)
        with open(os.path.join(folder, "cur", f"{n}.M{n}P1.bench:2,{flags}"), "wb") as f:
            f.write(raw)
    return maildir, total


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dovecot(root):
    d = os.path.join(root, "dovecot")
    os.makedirs(d)
    os.chmod(d, 0o755)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")

    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench CA")
    ssl("req", *ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
    ssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "cert.pem", "-days", "2", "-extfile", "ext.cnf")
    for sub in ["mail", "home"]:
        os.makedirs(os.path.join(d, sub))
        shutil.chown(os.path.join(d, sub), "nobody", "nogroup")
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write(f"alice:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(
            f"base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n"
            f"protocols = imap\nlisten = 127.0.0.1\nssl = required\n"
            f"ssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n"
            f"mail_location = maildir:{d}/mail/%u\n"
            f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {d}/passwd\n}}\n"
            f"userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/home/%u\n}}\n"
            "service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n"
            f"  inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n"
        )
    subprocess.run(["dovecot", "-c", conf], check=True)
    end = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < end, "dovecot does not listen"
            time.sleep(0.05)
    return conf, port, os.path.join(d, "ca.pem")


def measure(args, stdin=b"", env=None):
    """Runs args; returns (seconds, peak RSS in MiB)."""
    t = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    p.stdin.write(stdin)
    p.stdin.close()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.monotonic() - t
    out = p.stdout.read().decode() + p.stderr.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0, (args, out)
    return secs, usage.ru_maxrss / 1024, out


def sealpost_site(root, binary):
    site = os.path.join(root, "sealpost")
    if os.path.exists(site):
        shutil.rmtree(site)
    os.makedirs(site)
    config = os.path.join(site, "sealpost.toml")
    with open(config, "w") as f:
        f.write(
            '[server]\nhostname = "mail.example.org"\ndata_dir = "data"\n'
            'master_key = "keys/master.key"\naudit_signing_key = "keys/audit.key"\n'
            '[tls]\ncert = "certs/cert.pem"\nkey = "certs/key.pem"\n'
            '[[domain]]\nname = "example.org"\n'
        )
    subprocess.run(
        [binary, "-c", config, "account", "add", "copy@example.org", "--password-stdin"],
        input=b"bench password\n", check=True, capture_output=True,
    )
    return config


def mbsync_rc(root, port, ca):
    near = os.path.join(root, "mbsync-near")
    if os.path.exists(near):
        shutil.rmtree(near)
    os.makedirs(near)
    rc = os.path.join(root, "mbsyncrc")
    with open(rc, "w") as f:
        f.write(
            f"IMAPAccount src\nHost 127.0.0.1\nPort {port}\nUser alice\nPass \"{PASSWORD}\"\n"
            f"SSLType IMAPS\nCertificateFile {ca}\n\n"
            "IMAPStore src-remote\nAccount src\n\n"
            f"MaildirStore near\nPath {near}/\nInbox {near}/INBOX\nSubFolders Verbatim\n\n"
            "Channel copy\nFar :src-remote:\nNear :near:\nPatterns *\nCreate Near\n"
            f"Sync Pull\nSyncState *\n"
        )
    return rc


def main():
    binary = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    root = tempfile.mkdtemp(prefix="sealpost-imap-import-bench.")
    os.chmod(root, 0o755)
    conf = None
    try:
        source, octets = make_maildir(root, count)
        subprocess.run(["chown", "-R", "nobody:nogroup", source], check=True)
        conf, port, ca = dovecot(root)
        subprocess.run(["doveadm", "-c", conf, "import", "-u", "alice", f"maildir:{source}", "", "all"],
                       check=True)
        got = sum(
            int(line.split("=")[1])
            for line in subprocess.run(
                ["doveadm", "-c", conf, "mailbox", "status", "-u", "alice", "messages", "*"],
                check=True, capture_output=True, text=True,
            ).stdout.split()
            if line.startswith("messages=")
        )
        assert got == count, (got, count)
        print(f"{count} messages, {octets / 1048576:.1f} MiB in 3 folders; load average before: "
              f"{os.getloadavg()[0]:.2f}")
        print("| round | tool | seconds | messages/s | MiB/s | peak RSS MiB |")
        print("|---|---|---:|---:|---:|---:|")
        results = {"sealpost import --imap": [], "mbsync": []}
        for r in range(1, rounds + 1):
            for tool in results:
                if tool == "mbsync":
                    rc = mbsync_rc(root, port, ca)
                    secs, rss, _ = measure(["mbsync", "-c", rc, "-a", "-q"])
                else:
                    config = sealpost_site(root, binary)
                    secs, rss, out = measure(
                        [binary, "-c", config, "import", "copy@example.org", "--imap",
                         f"imaps://alice@127.0.0.1:{port}", "--password-stdin", "--ca-file", ca],
                        stdin=f"{PASSWORD}\n".encode(),
                    )
                    assert f"imported {count} messages" in out, out
                results[tool].append((secs, rss))
                print(f"| {r} | {tool} | {secs:.2f} | {count / secs:.0f} | "
                      f"{octets / 1048576 / secs:.1f} | {rss:.0f} |", flush=True)
        print()
        print("| tool | median seconds | messages/s | peak RSS MiB |")
        print("|---|---:|---:|---:|")
        for tool, runs in results.items():
            secs = statistics.median(s for s, _ in runs)
            rss = max(m for _, m in runs)
            print(f"| {tool} | {secs:.2f} | {count / secs:.0f} | {rss:.0f} |")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if conf:
            subprocess.run(["doveadm", "-c", conf, "stop"])
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
