"""The shipped logrotate file, run for real (logrotate -f, three times) against a running
nettracer under a storm of connections: every record of every connection is in the union of the
live file and the rotated ones (compressed or not) exactly once, and no line is split."""
import glob
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402
from rotate import Storm, each_once, kinds, records_of  # noqa: E402

SHIPPED = os.path.join(os.environ.get("top_srcdir", os.path.join(nt.HERE, "..", "..")),
                       "packaging", "logrotate", "nettracer")
RELOAD = "systemctl reload nettracer.service >/dev/null 2>&1 || true"


def config(d, pid):
    """The shipped file with the test's directory and a SIGHUP to this nettracer instead of
    systemctl: everything else as shipped."""
    text = open(SHIPPED).read()
    if re.search(r"^\s*copytruncate\s*$", text, re.M) or "/var/log/nettracer/*.ndjson" not in text \
            or RELOAD not in text:
        nt.fail("the shipped logrotate file is not what this test expects:\n" + text)
    text = text.replace("/var/log/nettracer/*.ndjson", d + "/*.ndjson")
    return text.replace(RELOAD, "kill -HUP %d" % pid)


def main():
    nt.require_root()
    logrotate = os.environ.get("LOGROTATE") or shutil.which("logrotate") or "/usr/sbin/logrotate"
    if logrotate == "no" or not os.path.exists(logrotate):
        nt.skip("logrotate is not installed (Debian package logrotate)")
    storm = Storm()
    t = nt.Tracer("--port=%d" % storm.port, "--events=connect,accept,close,lost",
                  sentinel=False)
    d = t.dir  # nettracer writes out.ndjson there: the config's glob matches only that
    conf = os.path.join(d, "logrotate.conf")
    open(conf, "w").write(config(d, t.proc.pid))
    stop = threading.Event()

    def run_storm():
        # Steady, not flat out: the test is about rotation, not about the perf buffer.
        while not stop.is_set():
            storm.connect(20)
            time.sleep(0.01)
    th = threading.Thread(target=run_storm)
    th.start()
    try:
        for i in range(3):
            size = os.path.getsize(t.path) if os.path.exists(t.path) else 0
            nt.wait_for(lambda: os.path.exists(t.path) and os.path.getsize(t.path) > size + 4096,
                        15, "records before rotation %d" % (i + 1))
            r = subprocess.run([logrotate, "-f", "-s", os.path.join(d, "state"), conf],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode:
                nt.fail("logrotate -f failed: " + r.stdout.decode())
            nt.wait_for(lambda: os.path.exists(t.path), 10, "nettracer to make a new file")
    finally:
        stop.set()
        th.join()
    want = 4 * len(storm.addrs)
    files = lambda: [t.path] + sorted(glob.glob(t.path + ".*"))  # noqa: E731

    def complete():
        return sum(len(kinds(storm, records_of(f, live=True))) for f in files()) >= want

    def missing():
        lines = [x for f in files() for x in records_of(f, live=True)]
        got = Counter(kinds(storm, lines))
        miss = [(a, k) for a in storm.addrs for k in ("connect-client", "accept-server",
                "close-client", "close-server") if not got[(a, k)]]
        lost = [x for x in lines if b'"type":"lost"' in x]
        return "missing %d, e.g. %s; lost records: %s; stderr: %s" % (
            len(miss), miss[:5], lost[:5], open(t.errpath).read()[-500:])
    nt.wait_for(complete, 20, "every record of %d connections" % len(storm.addrs),
                show=missing)
    t.stop()
    paths = files()
    rotated = sorted(os.path.basename(p) for p in paths[1:])
    if rotated != ["out.ndjson.1", "out.ndjson.2.gz", "out.ndjson.3.gz"]:
        nt.fail("logrotate did not rotate three times as configured: %s" % rotated)
    lines = []
    for f in paths:
        lines += records_of(f)
    lost = [x for x in lines if b'"type":"lost"' in x]
    if lost:
        nt.fail("the kernel dropped samples (perf buffer): %s" % lost[:3])
    each_once(storm, lines)
    print("ok: logrotate -f three times under a storm: %d connections, %d records in %s, "
          "each once" % (len(storm.addrs), len(lines), ", ".join(rotated + ["out.ndjson"])))


if __name__ == "__main__":
    main()
