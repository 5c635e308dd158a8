"""--rotate-size under a storm of connections, with a logrotate-style rename + SIGHUP in the
middle: no line split across files, every file within the size, and the union of the files has
every record of every connection exactly once."""
import glob
import gzip
import json
import os
import signal
import socket
import sys
import threading
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

SIZE = 16 * 1024
# Enough for several files of SIZE whatever NT_E2E_CONNS a slow build asks for (ASan: 20).
CONNS = max(int(os.environ.get("NT_E2E_CONNS", "400")), 200)


class Storm:
    """Connections from a loopback address of their own each (ports are reused), accepted and
    closed by a thread."""

    def __init__(self):
        self.lst = socket.socket()
        self.lst.bind(("127.0.0.1", 0))
        self.lst.listen(512)
        self.port = self.lst.getsockname()[1]
        self.addrs = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                s, _ = self.lst.accept()
            except OSError:
                return
            s.close()

    def connect(self, n):
        for _ in range(n):
            i = len(self.addrs) + 1
            addr = "127.%d.%d.%d" % (20 + i // 65536, i // 256 % 256, i % 256)
            c = socket.create_connection(("127.0.0.1", self.port), source_address=(addr, 0))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            c.close()
            self.addrs.append(addr)


def each_once(storm, lines):
    """No line twice, and every connection of the storm has its four records once."""
    dup = [k for k, v in Counter(lines).items() if v > 1]
    if dup:
        nt.fail("%d lines written twice, e.g. %r" % (len(dup), dup[0][:120]))
    got = Counter(kinds(storm, lines))
    for addr in storm.addrs:
        for kind in ("connect-client", "accept-server", "close-client", "close-server"):
            if got[(addr, kind)] != 1:
                nt.fail("%s %s: %d records" % (addr, kind, got[(addr, kind)]))


def records_of(path, live=False):
    """The lines of one output file (gzip'd by logrotate or not), each checked to be JSON. A
    live file (nettracer still writing) may end inside a write in progress: that part is left
    for the next read; once nettracer has exited, no file may."""
    data = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    if live:
        data = data[:data.rfind(b"\n") + 1]
    elif data and not data.endswith(b"\n"):
        nt.fail("%s ends inside a line" % path)
    lines = data.split(b"\n")[:-1]
    for n, line in enumerate(lines, 1):
        try:
            json.loads(line)
        except ValueError:
            nt.fail("%s line %d is not JSON (a line split across files?): %r" %
                    (path, n, line[:120]))
    return lines


def kinds(storm, lines):
    """(address, kind) of every record of the storm's connections."""
    mine = set(storm.addrs)
    got = []
    for line in lines:
        r = json.loads(line)
        if r["type"] in ("connect", "close") and r["saddr"] in mine:
            got.append((r["saddr"], r["type"] + "-client"))
        elif r["type"] in ("accept", "close") and r["daddr"] in mine:
            got.append((r["daddr"], r["type"] + "-server"))
    return got


def try_rename(a, b):
    try:
        os.rename(a, b)
        return True
    except FileNotFoundError:
        return False


def main():
    nt.require_root()
    storm = Storm()
    t = nt.Tracer("--port=%d" % storm.port, "--events=connect,accept,close",
                  "--rotate-size=%d" % SIZE, "--rotate-keep=1000", sentinel=False)
    files = lambda: [t.path] + glob.glob(t.path + ".*")  # noqa: E731
    storm.connect(CONNS // 2)
    # What logrotate does, between nettracer's own rotations: rename, then SIGHUP.
    nt.wait_for(lambda: os.path.exists(t.path + ".1"), 15, "a first rotation")
    # While nettracer rotates, FILE is FILE.0 for a moment: a rename then misses it, as
    # logrotate would (missingok), and is tried again.
    nt.wait_for(lambda: try_rename(t.path, t.path + ".hup"), 5, "the rename of FILE")
    t.proc.send_signal(signal.SIGHUP)
    storm.connect(CONNS - CONNS // 2)
    want = 4 * len(storm.addrs)

    def complete():
        try:
            return sum(len(kinds(storm, records_of(f, live=True))) for f in files()) >= want
        except FileNotFoundError:
            return False  # renamed by a rotation while we read (FILE.0 lives a moment): again
    nt.wait_for(complete, 20, "every record of %d connections" % len(storm.addrs))
    t.stop()
    paths = sorted(files())
    lines, per_file = [], {}
    for f in paths:
        ls = records_of(f)
        per_file[f] = len(ls)
        size = os.path.getsize(f)
        if size > SIZE and len(ls) > 1:
            nt.fail("%s has %d bytes, more than --rotate-size=%d" % (f, size, SIZE))
        lines += ls
    numbered = sorted(int(f.rsplit(".", 1)[1]) for f in paths if f[-1].isdigit())
    if len(numbered) < 3 or numbered != list(range(1, len(numbered) + 1)):
        nt.fail("rotated files are not FILE.1 ... FILE.N: %s" % numbered)
    if not os.path.exists(t.path + ".hup") or not per_file[t.path + ".hup"]:
        nt.fail("nothing was written to the file renamed before SIGHUP")
    each_once(storm, lines)
    print("ok: %d connections, %d records in %d files of at most %d bytes, each once" %
          (len(storm.addrs), len(lines), len(paths), SIZE))


if __name__ == "__main__":
    main()
