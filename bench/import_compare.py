"""Import speed and peak memory: `sealpost import` against `doveadm import`
into Dovecot, on the same generated Maildir and mbox, in the same run.

python3 bench/import_compare.py SEALPOST_BINARY [MIB]

(SEALPOST_BINARY "-" measures doveadm alone.)

Writes a Maildir and an mbox of MIB MiB each (1 MiB messages of 1000-octet
LF lines, default 1024) under a temporary folder, then imports each with
both tools, timing the whole command and reading its peak RSS from
wait4() (the largest resident set of the process and its children).
Prints one Markdown table row per tool and source. Needs dovecot-imapd;
runs as root (Dovecot's mail user is nobody).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

LINE = b"x" * 1000 + b"\n"


def message(n):
    head = f"From: bob@example.net\nSubject: big {n}\n\n".encode()
    return head + LINE * ((1 << 20) // len(LINE))


def make_sources(root, mib):
    maildir = os.path.join(root, "Maildir")
    for sub in ["cur", "new", "tmp"]:
        os.makedirs(os.path.join(maildir, sub))
    for n in range(mib):
        with open(os.path.join(maildir, "cur", f"{n}.M{n}P1.host:2,S"), "wb") as f:
            f.write(message(n))
    mboxdir = os.path.join(root, "mbox")
    os.makedirs(mboxdir)
    with open(os.path.join(mboxdir, "INBOX"), "wb") as f:
        for n in range(mib):
            f.write(b"From bob@example.net Thu Jan  2 10:00:00 2020\n")
            f.write(message(n))
            f.write(b"\n")
    return maildir, mboxdir


def measure(args, stdin=b""):
    """Runs args; returns (seconds, peak RSS in MiB)."""
    t = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(stdin)
    p.stdin.close()
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.monotonic() - t
    out = p.stdout.read().decode() + p.stderr.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0, (args, out)
    return secs, usage.ru_maxrss / 1024


def sealpost_site(root, binary):
    site = os.path.join(root, "sealpost")
    os.makedirs(site)
    config = os.path.join(site, "sealpost.toml")
    with open(config, "w") as f:
        f.write(
            '[server]\nhostname = "mail.example.org"\ndata_dir = "data"\n'
            'master_key = "keys/master.key"\naudit_signing_key = "keys/audit.key"\n'
            '[tls]\ncert = "certs/cert.pem"\nkey = "certs/key.pem"\n'
            '[[domain]]\nname = "example.org"\n'
        )
    for user in ["maildir", "mbox"]:
        subprocess.run(
            [binary, "-c", config, "account", "add", f"{user}@example.org", "--password-stdin"],
            input=b"bench password\n", check=True, capture_output=True,
        )
    return config


def dovecot(root):
    d = os.path.join(root, "dovecot")
    os.makedirs(d)
    os.chmod(d, 0o755)
    for sub in ["mail", "home"]:
        os.makedirs(os.path.join(d, sub))
        shutil.chown(os.path.join(d, sub), "nobody", "nogroup")
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write("maildir:{PLAIN}x\nmbox:{PLAIN}x\n")
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(
            f"base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n"
            f"protocols = imap\nlisten = 127.0.0.1\nssl = no\n"
            f"mail_location = maildir:{d}/mail/%u\n"
            f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {d}/passwd\n}}\n"
            f"userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/home/%u\n}}\n"
            "service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n"
            "  inet_listener imaps {\n    port = 0\n  }\n}\n"
        )
    subprocess.run(["dovecot", "-c", conf], check=True)
    return conf


def main():
    binary = None if sys.argv[1] == "-" else os.path.abspath(sys.argv[1])
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    root = tempfile.mkdtemp(prefix="sealpost-import-bench.")
    os.chmod(root, 0o755)
    conf = None
    try:
        maildir, mboxdir = make_sources(root, mib)
        # doveadm works as nobody and writes its index files into the source.
        subprocess.run(["chown", "-R", "nobody:nogroup", maildir, mboxdir], check=True)
        config = binary and sealpost_site(root, binary)
        conf = dovecot(root)
        print(f"{mib} messages of 1 MiB; seconds, messages/s and peak RSS of the whole command")
        print("| tool | source | seconds | messages/s | peak RSS MiB |")
        print("|---|---|---:|---:|---:|")
        for kind, path, doveloc in [
            ("maildir", maildir, f"maildir:{maildir}"),
            ("mbox", os.path.join(mboxdir, "INBOX"), f"mbox:{mboxdir}:INBOX={mboxdir}/INBOX"),
        ]:
            if binary:
                secs, rss = measure([binary, "-c", config, "import", f"{kind}@example.org", "--from", path])
                print(f"| sealpost import | {kind} | {secs:.1f} | {mib / secs:.0f} | {rss:.0f} |", flush=True)
            secs, rss = measure(["doveadm", "-c", conf, "import", "-u", kind, doveloc, "", "all"])
            got = subprocess.run(
                ["doveadm", "-c", conf, "mailbox", "status", "-u", kind, "messages", "INBOX"],
                check=True, capture_output=True, text=True,
            ).stdout.strip()
            assert got.endswith(f"messages={mib}"), got
            print(f"| doveadm import | {kind} | {secs:.1f} | {mib / secs:.0f} | {rss:.0f} |", flush=True)
    finally:
        if conf:
            subprocess.run(["doveadm", "-c", conf, "stop"])
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
