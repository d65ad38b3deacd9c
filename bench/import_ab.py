"""Maildir import speed of two sealpost builds, A/B interleaved on the same
Maildir, so that both see the same load on a shared machine.

python3 bench/import_ab.py BINARY_A BINARY_B [MIB [ROUNDS]]

Writes a Maildir of MIB messages of 1 MiB (1000-octet LF lines, default
256; the same messages as bench/import_compare.py), then ROUNDS times
(default 3) imports it with A, then with B, each into a fresh embedded
store (`sealpost import ADDRESS --from MAILDIR`, offline). Prints the
seconds, messages/s, peak RSS and user+system CPU seconds of every run,
the median of each build and the load average before and after.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from import_compare import make_sources, sealpost_site  # noqa: E402


def run(args):
    t = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    secs = time.monotonic() - t
    out = p.stdout.read().decode() + p.stderr.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0, (args, out)
    return secs, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out


def main():
    builds = [os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])]
    mib = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    root = tempfile.mkdtemp(prefix="sealpost-import-ab.")
    try:
        maildir, mboxdir = make_sources(root, mib)
        shutil.rmtree(mboxdir)
        print(f"{mib} messages of 1 MiB; load average before: {os.getloadavg()[0]:.2f}")
        print("| round | build | seconds | messages/s | CPU seconds | peak RSS MiB |")
        print("|---|---|---:|---:|---:|---:|")
        times = {"A": [], "B": []}
        for r in range(1, rounds + 1):
            for name, binary in zip("AB", builds):
                site = os.path.join(root, "site")
                shutil.rmtree(site, ignore_errors=True)
                os.makedirs(site)
                config = sealpost_site(site, binary)
                secs, rss, cpu, out = run(
                    [binary, "-c", config, "import", "maildir@example.org", "--from", maildir]
                )
                assert f"imported {mib} messages" in out, out
                times[name].append(secs)
                print(f"| {r} | {name} | {secs:.2f} | {mib / secs:.0f} | {cpu:.2f} | {rss:.0f} |",
                      flush=True)
        for name in "AB":
            secs = statistics.median(times[name])
            print(f"{name}: median {secs:.2f} s, {mib / secs:.0f} messages/s")
        print(f"B/A speed: {statistics.median(times['A']) / statistics.median(times['B']):.2f}x; "
              f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
