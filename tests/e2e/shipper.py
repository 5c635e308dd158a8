"""A real log shipper: rsyslog (imfile + mmjsonparse) tails nettracer's -o file while it is
rotated, by rename + SIGHUP (as logrotate does) and by nettracer's own --rotate-size; every
record arrives exactly once and parses as JSON."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

CONF = """
global(workDirectory="{d}/work")
module(load="imfile" mode="inotify")
module(load="mmjsonparse")
template(name="json" type="string" string="%$!all-json%\\n")
input(type="imfile" file="{d}/nt.ndjson" tag="nettracer" ruleset="nt" freshStartTail="off" addMetadata="off")
ruleset(name="nt") {{
  action(type="mmjsonparse" cookie="")
  if $parsesuccess == "OK" then {{
    action(type="omfile" file="{d}/shipped.json" template="json")
  }} else {{
    action(type="omfile" file="{d}/bad.txt")
  }}
}}
"""


def connections(n):
    ports = []
    for _ in range(n):
        c, s, lst = nt.loopback_pair()
        ports.append(lst.getsockname()[1])
        for x in (c, s, lst):
            x.close()
    return ports


def canon(r):
    return json.dumps(r, sort_keys=True)


def ship(rotate_size):
    """rsyslog tails the -o file while it rotates: by rename + SIGHUP (rotate_size None), or by
    nettracer itself at rotate_size bytes. Returns how many records arrived (each once)."""
    rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    d = nt.own_path(nt.temp_dir("nt-ship-"))
    os.mkdir(d + "/work")
    open(d + "/rsyslog.conf", "w").write(CONF.format(d=d))
    rs = subprocess.Popen([rsyslogd, "-n", "-f", d + "/rsyslog.conf", "-i", d + "/rs.pid"],
                          stderr=subprocess.PIPE)
    out = d + "/nt.ndjson"
    extra = ["--rotate-size=%d" % rotate_size, "--rotate-keep=1000"] if rotate_size else []
    # Only this test's connections: the files then rotate at our pace, whatever else runs.
    tracer = subprocess.Popen(nt.as_service([nt.NETTRACER, "-o", out, "-t", "0.5", "-p",
                                             str(os.getpid())] + extra), stdin=subprocess.DEVNULL)
    try:
        nt.wait_for(lambda: connections(1) and os.path.exists(out) and os.path.getsize(out) > 0,
                    15, "first records")
        ports = []
        # Paced: a shipper follows a file by its name, so each file must live longer than the
        # shipper takes to notice it (man page, ROTATION); a few per second here.
        for i in range(10):
            ports += connections(20)
            if i == 4 and not rotate_size:
                os.rename(out, out + ".1")
                tracer.send_signal(signal.SIGHUP)
            time.sleep(0.3)
        # Written through the rotation: the new file has our closes and they stopped coming
        # (what the kernel delivers is the other tests' business; here shipping is).
        sizes = []

        def files():
            rotated = sorted((f for f in os.listdir(d) if f.startswith("nt.ndjson.")),
                             key=lambda f: -int(f.rsplit(".", 1)[1]))
            return [d + "/" + f for f in rotated] + ([out] if os.path.exists(out) else [])

        def settled():
            try:
                recs = [r for f in files() for r in nt.read_records(f)]
            except FileNotFoundError:
                return False  # renamed by a rotation while we read: look again

            sizes.append(sum(1 for r in recs if r["type"] == "close" and r["sport"] in ports))
            return len(sizes) > 5 and sizes[-1] > 0 and len(set(sizes[-5:])) == 1
        nt.wait_for(settled, 15, "the files to settle")
        tracer.send_signal(signal.SIGTERM)
        if tracer.wait(10) != 0:
            nt.fail("nettracer exit %d" % tracer.returncode)
        for f in files():
            nt.complete_file(f)
        if rotate_size and len(files()) < 3:
            nt.fail("--rotate-size=%d rotated only into %s" % (rotate_size, files()))
        written = [r for f in files() for r in nt.read_records(f)]
        want = Counter(canon(r) for r in written)
        shipped = d + "/shipped.json"

        def arrived():
            return os.path.exists(shipped) and sum(1 for _ in open(shipped)) >= len(written)
        nt.wait_for(arrived, 30, "rsyslog to ship %d records" % len(written),
                    show=lambda: "shipped so far: %d" % (
                        sum(1 for _ in open(shipped)) if os.path.exists(shipped) else 0))
    finally:
        if tracer.poll() is None:
            tracer.kill()
        rs.send_signal(signal.SIGTERM)
        rs.wait(10)
    got = Counter(canon(r) for r in nt.read_records(shipped))
    if os.path.exists(d + "/bad.txt"):
        nt.fail("rsyslog could not parse: %s" % open(d + "/bad.txt").read()[:300])
    if got != want:
        extra, missing = got - want, want - got
        nt.fail("shipped records differ: %d extra, %d missing, e.g. %s" %
                (sum(extra.values()), sum(missing.values()), list((extra or missing))[:1]))
    nfiles = len(files())
    shutil.rmtree(d, ignore_errors=True)
    return len(written), nfiles


def main():
    nt.require_root()
    if not os.path.exists(shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"):
        nt.fail("rsyslog is not installed (bootstrap installs it)")
    n, _ = ship(None)
    print("ok: rsyslog shipped %d records across a rename + SIGHUP, each exactly once" % n)
    n, nfiles = ship(65536)
    print("ok: rsyslog shipped %d records across %d files of --rotate-size=64k, each exactly "
          "once" % (n, nfiles))


if __name__ == "__main__":
    main()
