"""Output errors never stop tracing: -o on a tmpfs that fills up, then gets room again, and
standard output into a non-blocking pipe whose reader stops reading for a while. nettracer keeps
running; every connection the test made is either written or counted in a lost record."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

# Enough connections to overflow the 1 MiB nettracer holds (a connect record is ~200 bytes).
STORM = int(os.environ.get("NT_E2E_OUTERR", "9000"))


class Server:
    """A listener that accepts and closes in a thread; connect() makes one connection from a
    loopback address of its own and returns it, the key of its connect record (ports are
    reused at once)."""

    def __init__(self):
        self.lst = socket.socket()
        self.lst.bind(("127.0.0.1", 0))
        self.lst.listen(512)
        self.port = self.lst.getsockname()[1]
        self.stop = False
        self.n = 0
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        while not self.stop:
            try:
                s, _ = self.lst.accept()
            except OSError:
                return
            s.close()

    def connect(self):
        self.n += 1
        addr = "127.%d.%d.%d" % (10 + self.n // 65536, self.n // 256 % 256, self.n % 256)
        c = socket.create_connection(("127.0.0.1", self.port), source_address=(addr, 0))
        # RST instead of TIME_WAIT: thousands of connections would otherwise pin their ports.
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        c.close()
        return addr

    def close(self):
        self.stop = True
        self.lst.close()


CGROUP = None  # this test's own cgroup (nt.OwnCgroup), set by main()


def start(server, out_args, stdout):
    err = tempfile.NamedTemporaryFile(prefix="nt-outerr-", suffix=".err", delete=False)
    # --port matches either end, and under make -j check another test's client may get the
    # server's port as its own: the cgroup keeps this test's connections only.
    cmd = [nt.NETTRACER, "-v", "--events=connect,lost", "--port=%d" % server.port,
           "--cgroup=" + CGROUP.path] + nt.EXTRA + out_args
    p = subprocess.Popen(nt.as_service(cmd), stdout=stdout, stderr=err, stdin=subprocess.DEVNULL)
    nt.RUNNING.append(p)
    p.errpath = err.name

    def ready():
        if p.poll() is not None:
            nt.fail("nettracer exited with %d: %s" % (p.returncode, open(err.name).read()))
        return "existing connections tracked" in open(err.name).read()
    nt.wait_for(ready, 15, "nettracer to attach")
    return p


def stderr_of(p):
    return open(p.errpath).read()


def check(lines, made, after, p, what):
    """lines: every output line. made: every client port; after: those made once writing
    worked again."""
    recs = []
    for n, line in enumerate(lines, 1):
        try:
            recs.append(json.loads(line))
        except ValueError:
            nt.fail("%s: line %d is not JSON: %r" % (what, n, line[:200]))
    ports = [r["saddr"] for r in recs if r["type"] == "connect"]
    lost = [r for r in recs if r["type"] == "lost"]
    for r in lost:
        # Until the writer branch names the reason, an output loss looks like any other.
        if "reason" in r and r["reason"] != "output":
            nt.fail("%s: a lost record of reason %r: %s" % (what, r["reason"], r))
    dropped = sum(r["count"] for r in lost)
    if len(ports) != len(set(ports)):
        nt.fail("%s: %d connect records written twice" % (what, len(ports) - len(set(ports))))
    if set(ports) - set(made):
        nt.fail("%s: connect records of connections the test did not make" % what)
    missing_after = set(after) - set(ports)
    if missing_after:
        nt.fail("%s: %d of %d connections made after writing worked again are missing" %
                (what, len(missing_after), len(after)))
    if not dropped:
        nt.fail("%s: nothing was dropped: the test did not overflow what nettracer holds" % what)
    if len(ports) + dropped != len(made):
        nt.fail("%s: %d written + %d dropped != %d connections made" %
                (what, len(ports), dropped, len(made)))
    first_lost = next(i for i, r in enumerate(recs) if r["type"] == "lost")
    if not any(r["type"] == "connect" for r in recs[first_lost:]):
        nt.fail("%s: no record after the lost record" % what)
    err = stderr_of(p)
    said = re.findall(r"works again; (\d+) records dropped meanwhile", err)
    if sum(int(x) for x in said) != dropped:
        nt.fail("%s: stderr says %s dropped, the lost records %d:\n%s" % (what, said, dropped, err))
    if len(re.findall(r"tracing goes on", err)) != len(said):
        nt.fail("%s: each failure is not said exactly once:\n%s" % (what, err))
    summary = re.search(r"(\d+) dropped \(output\)", err)
    if not summary or int(summary.group(1)) != dropped:
        nt.fail("%s: the exit summary does not count %d dropped:\n%s" % (what, dropped, err))
    os.unlink(p.errpath)
    print("ok: %s: %d connections, %d written, %d dropped and reported in %d lost record(s)" %
          (what, len(made), len(ports), dropped, len(lost)))


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        nt.fail("nettracer did not stop")
    if rc != 0:
        nt.fail("nettracer exited with %d: %s" % (rc, stderr_of(p)))


def disk_full():
    d = nt.temp_dir("nt-full-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "nt-e2e-full", d]).returncode:
        nt.skip("cannot mount a tmpfs")
    server = Server()
    p = None
    try:
        out = os.path.join(d, "out.ndjson")
        p = start(server, ["-o", out], subprocess.DEVNULL)
        made = [server.connect() for _ in range(100)]
        nt.wait_for(lambda: len(nt.read_records(out)) >= 100, 10, "the first records")
        full = []
        # Until the file system is full and nettracer says so, then beyond what it holds.
        while "tracing goes on" not in stderr_of(p) and len(full) < 5 * STORM:
            full += [server.connect() for _ in range(200)]
        made += full + [server.connect() for _ in range(STORM)]
        if "No space left on device" not in stderr_of(p):
            nt.fail("nettracer did not say that the disk is full: " + stderr_of(p))
        if p.poll() is not None:
            nt.fail("nettracer stopped on a full disk: " + stderr_of(p))
        subprocess.run(["mount", "-o", "remount,size=64m", d], check=True)
        nt.wait_for(lambda: "works again" in stderr_of(p), 15, "writing to work again",
                    show=lambda: stderr_of(p))
        after = [server.connect() for _ in range(300)]
        made += after
        nt.wait_for(lambda: set(after) <= {r.get("saddr") for r in nt.read_records(out)}, 15,
                    "the records made after the gap")
        stop(p)
        nt.complete_file(out)
        check(open(out, "rb").read().decode().splitlines(), made, after, p, "disk full")
    finally:
        server.close()
        if p and p.poll() is None:
            p.kill()  # it holds the file open: the umount would fail
            p.wait()
        subprocess.run(["umount", d])
        os.rmdir(d)


def stalled_pipe():
    r, w = os.pipe()
    os.set_blocking(w, False)
    server = Server()
    data, reading, done = [], threading.Event(), threading.Event()
    reading.set()

    def reader():
        while True:
            reading.wait()
            chunk = os.read(r, 65536)
            if not chunk:
                done.set()
                return
            data.append(chunk)
    threading.Thread(target=reader, daemon=True).start()
    try:
        p = start(server, [], w)
        os.close(w)
        made = [server.connect() for _ in range(100)]
        nt.wait_for(lambda: b"".join(data).count(b"\n") >= 100, 10, "the first records")
        reading.clear()
        time.sleep(0.3)  # lets the reader finish the read it is in (it stops before the next)
        stalled = []
        while "tracing goes on" not in stderr_of(p) and len(stalled) < 5 * STORM:
            stalled += [server.connect() for _ in range(200)]
        made += stalled + [server.connect() for _ in range(STORM // 2)]
        if "Resource temporarily unavailable" not in stderr_of(p):
            nt.fail("nettracer did not say that the reader is stalled: " + stderr_of(p))
        if p.poll() is not None:
            nt.fail("nettracer stopped on a stalled reader: " + stderr_of(p))
        reading.set()
        nt.wait_for(lambda: "works again" in stderr_of(p), 15, "writing to work again",
                    show=lambda: stderr_of(p))
        after = [server.connect() for _ in range(300)]
        made += after

        def seen():
            lines = b"".join(data).split(b"\n")[:-1]
            return set(after) <= {json.loads(x).get("saddr") for x in lines}
        nt.wait_for(seen, 15, "the records made after the gap")
        stop(p)
        if not done.wait(10):
            nt.fail("the pipe did not reach its end")
        text = b"".join(data)
        if text and not text.endswith(b"\n"):
            nt.fail("the pipe ends inside a line")
        check(text.decode().splitlines(), made, after, p, "stalled pipe")
    finally:
        server.close()
        os.close(r)


def bad_stdout():
    """A closed or read-only standard output is an error at start-up, before anything loads."""
    for what, kw in (("closed", {"preexec_fn": lambda: os.close(1)}),
                     ("not open for writing", {"stdout": open("/dev/null", "rb")})):
        r = subprocess.run(nt.as_service([nt.NETTRACER, "-v"] + nt.EXTRA), stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=20, **kw)
        err = r.stderr.decode()
        if r.returncode != 1 or "standard output is " + what not in err or "libbpf" in err:
            nt.fail("stdout %s: exit %d, %r" % (what, r.returncode, err[:300]))
    print("ok: a closed or read-only stdout is refused at start-up")


def main():
    global CGROUP
    nt.require_root()
    bad_stdout()
    CGROUP = nt.OwnCgroup()
    try:
        disk_full()
        stalled_pipe()
    finally:
        CGROUP.close()


if __name__ == "__main__":
    main()
