"""Two accounts in two domains (alice@example.org, bob@example.net) through
the real binary: neither reaches the other's mailboxes by any name (SELECT,
EXAMINE, STATUS, LIST, FETCH, SEARCH, COPY, MOVE, APPEND, RENAME, DELETE,
GETQUOTAROOT), hostile names included, and SMTP delivery to one never
shows up for the other. Loopback only.
"""
import base64
import json
import re
import smtplib
import sys
from e2e_lib import tls_context, check
from imap_raw import Conn

a = json.loads(sys.argv[1])
ctx = tls_context(a["cafile"])
ALICE, BOB = "alice@example.org", "bob@example.net"

# Names that try to leave the account: traversal, absolute paths, other
# users' namespaces, encodings of "..", control characters.
HOSTILE = [
    b'"{secret}"',
    b'"../{victim}/{secret}"',
    b'"../../{victim}/INBOX"',
    b'"/{victim}/INBOX"',
    b'"{victim}/{secret}"',
    b'"~{victim}/{secret}"',
    b'"#shared/{victim}/{secret}"',
    b'"Other Users/{victim}/{secret}"',
    b'".."',
    b'"../INBOX"',
    b'"INBOX/../../{victim}/{secret}"',
    b'"./{secret}"',
    b'"&AC4ALg-/{victim}/{secret}"',
    b'"%2e%2e/{victim}/{secret}"',
    b"{%d+}\r\n{secret}\x00",
    b"{%d+}\r\n..\x00/{secret}/x",
    b'"{secret}\x7f"',
]


def secret(who):
    """The victim's private mailbox (named per account, so the attacker
    has no mailbox of that name of its own)."""
    return "Secret-" + who.split("@")[0]


def names(victim):
    out = []
    for n in HOSTILE:
        n = n.replace(b"{victim}", victim.encode()).replace(b"{secret}", secret(victim).encode())
        if b"%d+}" in n:
            n = n % (len(n) - n.index(b"\r\n") - 2)
        out.append(n)
    return out


def smtp_deliver(to, marker):
    msg = f"From: sender@example.com\r\nTo: {to}\r\nSubject: {marker}\r\n\r\n{marker} body\r\n"
    s = smtplib.SMTP("127.0.0.1", a["smtp"], timeout=20)
    s.ehlo("client.example.com")
    s.starttls(context=ctx)
    s.ehlo("client.example.com")
    s.sendmail("sender@example.com", [to], msg)
    s.quit()


def append(c, mailbox, marker):
    body = f"From: {marker}@example.com\r\nSubject: {marker}\r\n\r\n{marker} body\r\n".encode()
    out, done = c.cmd(f"APPEND {mailbox} {{{len(body)}+}}\r\n".encode() + body)
    return done


def list_names(c, ref=b'""', pattern=b'"*"'):
    out, done = c.cmd(b"LIST " + ref + b" " + pattern)
    listed = [l for l in out if l.startswith(b"* LIST")]
    return done, listed


def everything(c):
    """Every message body in every mailbox of the logged-in account."""
    _, listed = list_names(c)
    bodies = {}
    for l in listed:
        if b"\\Noselect" in l or b"\\NonExistent" in l:
            continue
        name = re.search(rb'"/" (.*)$', l).group(1)
        c.ok(b"EXAMINE " + name)
        out = c.ok("FETCH 1:* (BODY.PEEK[])") if not exists_zero(c, name) else []
        bodies[name] = [l for l in out if l.startswith(b"* ")]
    return bodies


def exists_zero(c, name):
    out = c.ok(b"STATUS " + name + b" (MESSAGES)")
    return b"(MESSAGES 0)" in out[0]


def attack(attacker, victim, victim_markers):
    """`attacker` tries every way into `victim`'s mailboxes."""
    c = Conn(a, user=attacker)
    _, own_before = list_names(c)
    check(append(c, "INBOX", f"own-{attacker}").startswith(b"OK"), "attacker's own APPEND")
    for name in names(victim):
        for verb in (b"SELECT ", b"EXAMINE "):
            out, done = c.cmd(verb + name)
            check(done.startswith((b"NO", b"BAD")) and not out,
                  f"{attacker} {verb}{name!r}: {out} {done!r}")
        out, done = c.cmd(b"STATUS " + name + b" (MESSAGES UIDNEXT)")
        check(done.startswith((b"NO", b"BAD")) and not out, f"STATUS {name!r}: {out} {done!r}")
        out, done = c.cmd(b"GETQUOTAROOT " + name)
        check(done.startswith((b"NO", b"BAD")) and not out, f"GETQUOTAROOT {name!r}: {out} {done!r}")
        for command in (b"DELETE " + name, b"RENAME " + name + b" Stolen"):
            out, done = c.cmd(command)
            check(done.startswith((b"NO", b"BAD")), f"{command!r}: {done!r}")
        body = b"Subject: planted\r\n\r\nplanted\r\n"
        out, done = c.cmd(b"APPEND " + name + b" {%d+}\r\n" % len(body) + body)
        check(done.startswith((b"NO", b"BAD")), f"APPEND {name!r}: {done!r}")
        for ref, pattern in ((name, b'"*"'), (b'""', name), (name, b'"%"')):
            done, listed = list_names(c, ref, pattern)
            check(not listed, f"LIST {ref!r} {pattern!r} showed {listed}")
    # COPY and MOVE into the victim's mailboxes by any name fail.
    c.ok("SELECT INBOX")
    for name in names(victim):
        for verb in (b"COPY 1 ", b"UID COPY 1:* ", b"MOVE 1 ", b"UID MOVE 1:* "):
            out, done = c.cmd(verb + name)
            check(done.startswith((b"NO", b"BAD")), f"{verb}{name!r}: {done!r}")
    # The attacker's INBOX holds its own mail only, by any search.
    out = c.ok("UID FETCH 1:* (BODY.PEEK[])")
    for marker in victim_markers:
        check(not any(marker.encode() in l for l in out), f"{attacker} fetched {marker}")
        out2 = c.ok(f'SEARCH TEXT "{marker}"')
        check(out2 == [b"* SEARCH"], f"{attacker} SEARCH {marker}: {out2}")
    # A mailbox of the same name is the attacker's own, apart from the victim's.
    c.ok("UNSELECT")
    mine = secret(victim)
    check(c.cmd(f"CREATE {mine}")[1].startswith(b"OK"), f"attacker CREATE {mine}")
    check(append(c, mine, f"planted-by-{attacker}").startswith(b"OK"), f"attacker APPEND {mine}")
    _, own_after = list_names(c)
    check(set(own_after) - set(own_before) == {f'* LIST (\\HasNoChildren) "/" "{mine}"'.encode()},
          f"{attacker}'s LIST changed: {set(own_after) ^ set(own_before)}")
    # Every mailbox the attacker can see holds nothing of the victim's.
    for name, lines in everything(c).items():
        for marker in victim_markers:
            check(not any(marker.encode() in l for l in lines), f"{attacker} sees {marker} in {name}")
    c.logout()


def main():
    for who in (ALICE, BOB):
        c = Conn(a, user=who)
        c.ok(f"CREATE {secret(who)}")
        check(append(c, secret(who), f"secret-of-{who}").startswith(b"OK"), f"{who} APPEND")
        c.logout()
    smtp_deliver(ALICE, "smtp-for-alice")
    smtp_deliver(BOB, "smtp-for-bob")
    # SASL PLAIN cannot act for the other account.
    c = Conn(a, login=False)
    ir = base64.b64encode(f"{ALICE}\0{BOB}\0{a['password']}".encode()).decode()
    out, done = c.cmd(f"AUTHENTICATE PLAIN {ir}")
    check(done.startswith(b"NO [AUTHENTICATIONFAILED]"), f"authzid of another account: {done!r}")
    c.logout()

    attack(BOB, ALICE, ["smtp-for-alice", f"secret-of-{ALICE}"])
    attack(ALICE, BOB, ["smtp-for-bob", f"secret-of-{BOB}"])

    # Each still has exactly its own mail, and none of the other's.
    for who, other in ((ALICE, BOB), (BOB, ALICE)):
        c = Conn(a, user=who)
        seen = everything(c)
        inbox = seen[b'"INBOX"']
        check(len(inbox) == 2, f"{who}'s INBOX: {inbox}")
        check(f"smtp-for-{who.split('@')[0]}".encode() in inbox[0], f"{who} lost its SMTP mail")
        check(f"own-{who}".encode() in inbox[1], f"{who} lost its own APPEND")
        own = seen[f'"{secret(who)}"'.encode()]
        check(len(own) == 1 and f"secret-of-{who}".encode() in own[0], f"{who}'s secret: {own}")
        planted = seen[f'"{secret(other)}"'.encode()]
        check(len(planted) == 1 and f"planted-by-{who}".encode() in planted[0],
              f"{who}'s copy of the name: {planted}")
        for lines in seen.values():
            for marker in (f"smtp-for-{other.split('@')[0]}", f"secret-of-{other}",
                           f"planted-by-{other}", f"own-{other}"):
                check(not any(marker.encode() in l for l in lines), f"{who} sees {marker}")
        c.logout()
    print("ok")


main()
