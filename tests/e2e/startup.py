"""A word at start-up: with stderr on a terminal (a pty), one line once the probes are attached,
never on stdout; with stderr not a terminal, nothing."""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

WORD = b"nettracer: tracing TCP ("


def on_pty():
    master, slave = pty.openpty()
    p = subprocess.Popen(nt.as_service([nt.NETTRACER] + nt.EXTRA), stdout=subprocess.PIPE,
                         stderr=slave,
                         stdin=subprocess.DEVNULL)
    nt.RUNNING.append(p)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 15
    while WORD not in seen or not seen.endswith(b"\n"):
        if time.monotonic() > deadline or p.poll() is not None:
            nt.fail("no start-up line on the terminal: %r" % seen)
        if select.select([master], [], [], 0.2)[0]:
            seen += os.read(master, 4096)
    # Said once attached: a connection made right now is traced.
    c, s, lst = nt.loopback_pair()
    port = lst.getsockname()[1]
    for x in (c, s, lst):
        x.close()
    out = b""
    deadline = time.monotonic() + 10
    while b'"dport":%d' % port not in out:
        if time.monotonic() > deadline:
            nt.fail("the connection made after the start-up line was not traced")
        if select.select([p.stdout], [], [], 0.2)[0]:
            out += os.read(p.stdout.fileno(), 65536)
        while select.select([master], [], [], 0)[0]:
            seen += os.read(master, 4096)
    p.send_signal(signal.SIGINT)
    out += p.stdout.read()
    if p.wait(10) != 0:
        nt.fail("nettracer exited with %d" % p.returncode)
    try:
        while select.select([master], [], [], 0.2)[0]:
            seen += os.read(master, 4096)
    except OSError:
        pass  # EIO: the other side of the pty is closed
    os.close(master)
    line = [x for x in seen.decode().splitlines() if x.startswith(WORD.decode())]
    if len(line) != 1:
        nt.fail("start-up line %d times: %r" % (len(line), seen))
    if not ("hooks, BTF offsets" in line[0] or "hooks, guessed offsets" in line[0]) or \
            "NDJSON to standard output; Ctrl-C stops" not in line[0]:
        nt.fail("start-up line does not say what it does: %r" % line[0])
    if WORD in out:
        nt.fail("the start-up line went to stdout")
    for x in out.splitlines():
        json.loads(x)
    print("ok: on a terminal: %s" % line[0].strip())


def not_a_terminal():
    t = nt.Tracer()
    t.stop()
    if WORD.decode() in t.stderr:
        nt.fail("start-up line with stderr not a terminal: %r" % t.stderr)
    print("ok: nothing when stderr is a file")


def main():
    nt.require_root()
    on_pty()
    not_a_terminal()


if __name__ == "__main__":
    main()
