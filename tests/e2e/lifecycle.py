"""Process life: usage errors, unwritable output, SIGINT/SIGTERM teardown (bpftool shows nothing
of ours afterwards), SIGHUP reopen for log rotation, a reader that leaves, no stdin."""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402


def run(args, **kw):
    return subprocess.run(nt.as_service([nt.NETTRACER] + args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=20, **kw)


def test_usage():
    for args in (["--bogus"], ["-t", "abc"], ["-t"], ["--perf-pages=3"], ["extra"]):
        r = run(args)
        lines = r.stderr.decode().strip().split("\n")
        if r.returncode != 2 or len(lines) != 2 or "--help" not in lines[1] or r.stdout:
            nt.fail("usage error %s: rc %d stderr %r" % (args, r.returncode, r.stderr))
    r = run(["--help"])
    if r.returncode != 0 or b"--output" not in r.stdout or r.stderr:
        nt.fail("--help: rc %d" % r.returncode)
    r = run(["-V"])
    if r.returncode != 0 or not r.stdout.startswith(b"nettracer "):
        nt.fail("-V: %r" % r.stdout)
    print("ok: usage errors exit 2 with one line and a hint; --help and -V exit 0")


def bpf_objects(kind, pid=None):
    """ids of the BPF programs or links that exist (bpftool), or that pid holds (its fdinfo)."""
    if pid is None:
        out = subprocess.run(["bpftool", "-j", kind, "show"], stdout=subprocess.PIPE).stdout
        return {o["id"] for o in json.loads(out or b"[]")}
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            for line in open("/proc/%d/fdinfo/%s" % (pid, fd)):
                if line.startswith(kind + "_id:"):
                    ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def test_output_errors():
    d = nt.temp_dir()
    r = run(["-o", os.path.join(d, "no", "such", "dir", "f")])
    if r.returncode != 1 or b"cannot open output" not in r.stderr:
        nt.fail("unwritable output: rc %d %r" % (r.returncode, r.stderr))
    target = os.path.join(d, "target")
    link = os.path.join(d, "link")
    open(target, "w").close()
    os.symlink(target, link)
    r = run(["-v", "-o", link])
    if r.returncode != 1 or os.path.getsize(target) != 0:
        nt.fail("a symlink at the output path was followed: rc %d" % r.returncode)
    if b"libbpf" in r.stderr or b"attach" in r.stderr:
        nt.fail("BPF work done although the output could not be opened: %r" % r.stderr)
    print("ok: unopenable output and planted symlink: exit 1 before loading BPF")


def test_signals():
    for sig in (signal.SIGINT, signal.SIGTERM):
        t = nt.Tracer()
        progs, links = bpf_objects("prog", t.proc.pid), bpf_objects("link", t.proc.pid)
        if not progs or not links:
            nt.fail("bpftool shows no programs or links of the running tracer")
        if os.stat(t.path).st_mode & 0o777 != 0o640:
            nt.fail("output mode %o" % (os.stat(t.path).st_mode & 0o777))
        c, s, lst = nt.loopback_pair()
        port = lst.getsockname()[1]
        for x in (c, s, lst):
            x.close()
        t.stop(sig)
        # The closes were pending in the ring below the wake-up batch: the exit must flush them.
        # Loss records (the ring overflowed under the rest of a make -j4 check) name no ports.
        mine = [r for r in t.records() if port in (r.get("sport"), r.get("dport"))]
        if len(mine) != 4:
            nt.fail("records pending at signal %d were lost: %d of 4 (%d loss records)" % (
                sig, len(mine), sum(1 for r in t.records() if r["type"] == "lost")))
        # The kernel frees a program and a link after their last descriptor closes, from a
        # workqueue and after an RCU grace period: a moment after the exit, not at it.
        nt.wait_for(lambda: not (progs & bpf_objects("prog") or links & bpf_objects("link")),
                    5, "the tracer's BPF programs and links to go after signal %d" % sig,
                    show=lambda: "left: programs %s, links %s" % (
                        sorted(progs & bpf_objects("prog")), sorted(links & bpf_objects("link"))))
    print("ok: SIGINT and SIGTERM flush, exit 0 and detach everything")


def test_rotation(cg):
    """logrotate's way: rename, then SIGHUP; every record in exactly one file."""
    t = nt.Tracer("--cgroup=" + cg.path)
    rotated = t.path + ".1"
    tuples = []
    for i in range(60):
        c, s, lst = nt.loopback_pair()
        tuples.append((c.getsockname()[1], lst.getsockname()[1]))
        for x in (c, s, lst):
            x.close()
        if i == 30:
            os.rename(t.path, rotated)
            t.proc.send_signal(signal.SIGHUP)
    # By both ports: other work on the host may use one of these ports at another time.
    ends = {(sport, cport) for cport, sport in tuples}
    nt.wait_for(lambda: os.path.exists(t.path) and sum(
        1 for r in nt.read_records(t.path) + nt.read_records(rotated)
        if r["type"] == "close" and (r["sport"], r["dport"]) in ends) >= 60, 10, "all closes",
        t)
    t.stop()
    nt.complete_file(rotated)
    recs = nt.read_records(rotated) + nt.read_records(t.path)
    # By both ports: a later listener may get an earlier one's port.
    for cport, sport in tuples:
        n = sum(1 for r in recs if r["type"] in ("connect", "accept", "close") and
                {r["sport"], r["dport"]} == {cport, sport})
        if n != 4:
            nt.fail("connection %d-%d: %d records across the rotation, want 4" %
                    (cport, sport, n))
    print("ok: rename + SIGHUP: 240 records, each exactly once across both files")


def test_reader_leaves(cg):
    """nettracer | head -1 ends quietly within a second of the reader leaving."""
    p = subprocess.Popen(nt.as_service([nt.NETTRACER, "--cgroup=" + cg.path]),
                         stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = b""
    deadline = time.monotonic() + 15
    # Connections until the first record comes: the first ones may precede the attach.
    while not line and time.monotonic() < deadline:
        c, s, lst = nt.loopback_pair()
        for x in (c, s, lst):
            x.close()
        if select.select([p.stdout], [], [], 0.5)[0]:
            line = p.stdout.readline()
    if not line:
        p.kill()
        nt.fail("no record on the pipe within 15 s")
    # A rare event reaches a reader on a pipe within a second, below any wake-up batch.
    time.sleep(1.5)
    c, s, lst = nt.loopback_pair()
    port = lst.getsockname()[1]
    t0 = time.monotonic()
    for x in (c, s, lst):
        x.close()
    latency = None
    while latency is None and time.monotonic() - t0 < 5:
        if select.select([p.stdout], [], [], 0.1)[0]:
            rec = json.loads(p.stdout.readline())
            if rec["type"] == "connect" and rec["dport"] == port:
                latency = time.monotonic() - t0
    if latency is None or latency > 1.0:
        p.kill()
        nt.fail("a rare record took %s s to reach the pipe" % latency)
    p.stdout.close()
    for _ in range(3):
        c, s, lst = nt.loopback_pair()
        for x in (c, s, lst):
            x.close()
    t1 = time.monotonic()
    try:
        rc = p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        nt.fail("nettracer kept running after its reader left")
    err = p.stderr.read()
    if rc != 0 or b"error" in err.lower() or b"Broken pipe" in err:
        nt.fail("reader left: rc %d stderr %r" % (rc, err))
    print("ok: a rare record reached the pipe in %.2f s; reader left: exit 0 in %.2f s, quietly"
          % (latency, time.monotonic() - t1))


def test_no_stdin():
    path = tempfile.mktemp()
    p = subprocess.Popen(["sh", "-c", 'exec "$0" -o "$1" <&-', nt.NETTRACER, path],
                         stderr=subprocess.PIPE)
    def seen():
        c, s, lst = nt.loopback_pair()
        port = lst.getsockname()[1]
        for x in (c, s, lst):
            x.close()
        time.sleep(0.3)
        return os.path.exists(path) and any(r["dport"] == port for r in nt.read_records(path)
                                            if r["type"] == "connect")
    nt.wait_for(seen, 15, "records with stdin closed")
    p.send_signal(signal.SIGTERM)
    if p.wait(10) != 0:
        nt.fail("stdin closed: rc %d %r" % (p.returncode, p.stderr.read()))
    print("ok: runs with standard input closed")


def test_privileges():
    """Unprivileged: one line naming what is missing, exit 1, nothing loaded, no file made."""
    path = tempfile.mktemp()
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", "--bounding-set=-all", nt.NETTRACER, "-o", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    lines = r.stderr.decode().strip().split("\n")
    if r.returncode != 1 or len(lines) != 1 or "CAP_SYS_ADMIN" not in lines[0]:
        nt.fail("unprivileged: rc %d stderr %r" % (r.returncode, r.stderr))
    if os.path.exists(path):
        nt.fail("unprivileged run created its output file")
    print("ok: unprivileged: %s (exit 1)" % lines[0])


def test_tracefs_unmounted():
    """The tracepoint mode mounts tracefs where libbpf looks for it. Proven in a mount namespace
    of its own (unshare -m), so that the host's tracefs, and every other test using it at the
    same time, is left alone, and the umount cannot be refused because something else holds
    the mount."""
    if "tracepoint" not in " ".join(nt.EXTRA) and os.path.exists(
            "/sys/bus/event_source/devices/kprobe/type"):
        print("ok: tracefs test not applicable (not the tracepoint mode)")
        return
    if not shutil.which("unshare"):
        nt.skip("no unshare(1) for a private mount namespace")
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                        os.path.abspath(__file__), "--tracefs-child"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode()
    if r.returncode != 0:
        nt.fail("tracefs unmounted (exit %d):\n%s" % (r.returncode, out))
    print(out.strip())


def tracefs_child():
    """In a private mount namespace: nothing may be left that shows tracefs, then nettracer
    must mount it and run."""
    for path in ("/sys/kernel/debug/tracing", "/sys/kernel/debug", "/sys/kernel/tracing"):
        if os.path.ismount(path):
            r = subprocess.run(["umount", path], stderr=subprocess.PIPE)
            if r.returncode != 0:
                nt.fail("umount %s in a private mount namespace: %s" %
                        (path, r.stderr.decode().strip()))
    for path in ("/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"):
        if os.path.exists(path):
            nt.fail("%s still there after the umounts: the test would prove nothing" % path)
    t = nt.Tracer()
    t.stop()
    if not os.path.exists("/sys/kernel/tracing/events/syscalls"):
        nt.fail("tracefs not mounted after start")
    print("ok: tracefs unmounted: nettracer mounted it and ran")


def main():
    if sys.argv[1:] == ["--tracefs-child"]:
        tracefs_child()
        return
    nt.require_root()
    test_usage()
    test_privileges()
    test_tracefs_unmounted()
    test_output_errors()
    test_signals()
    # Only this test's connections: under make -j4 check the rest of the suite's traffic filled
    # the ring (its loss records name no ports) and the pipe (a "rare" record came after
    # thousands).
    cg = nt.OwnCgroup()
    try:
        test_rotation(cg)
        test_reader_leaves(cg)
    finally:
        cg.close()
    test_no_stdin()


if __name__ == "__main__":
    main()
