"""A real log shipper: rsyslog (imfile + mmjsonparse) tails nettracer's -o file while it is
rotated (rename + SIGHUP); every record arrives exactly once and parses as JSON."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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


def main():
    nt.require_root()
    rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not os.path.exists(rsyslogd):
        nt.skip("rsyslog is not installed")
    d = tempfile.mkdtemp(prefix="nt-ship-")
    os.mkdir(d + "/work")
    open(d + "/rsyslog.conf", "w").write(CONF.format(d=d))
    rs = subprocess.Popen([rsyslogd, "-n", "-f", d + "/rsyslog.conf", "-i", d + "/rs.pid"],
                          stderr=subprocess.PIPE)
    out = d + "/nt.ndjson"
    tracer = subprocess.Popen([nt.NETTRACER, "-o", out, "-t", "0.5"], stdin=subprocess.DEVNULL)
    try:
        nt.wait_for(lambda: connections(1) and os.path.exists(out) and os.path.getsize(out) > 0,
                    15, "first records")
        ports = connections(100)
        os.rename(out, out + ".1")
        tracer.send_signal(signal.SIGHUP)
        ports += connections(100)
        # Written through the rotation: the new file has our closes and they stopped coming
        # (what the kernel delivers is the other tests' business; here shipping is).
        sizes = []

        def settled():
            recs = nt.read_records(out) if os.path.exists(out) else []
            sizes.append(sum(1 for r in recs if r["type"] == "close" and r["sport"] in ports))
            return len(sizes) > 5 and sizes[-1] > 0 and len(set(sizes[-5:])) == 1
        nt.wait_for(settled, 15, "the new file to settle")
        tracer.send_signal(signal.SIGTERM)
        if tracer.wait(10) != 0:
            nt.fail("nettracer exit %d" % tracer.returncode)
        nt.complete_file(out + ".1")
        nt.complete_file(out)
        written = nt.read_records(out + ".1") + nt.read_records(out)
        want = Counter(canon(r) for r in written)
        shipped = d + "/shipped.json"

        def arrived():
            return os.path.exists(shipped) and sum(1 for _ in open(shipped)) >= len(written)
        nt.wait_for(arrived, 30, "rsyslog to ship %d records" % len(written))
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
    print("ok: rsyslog shipped %d records across a rotation, each exactly once" % len(written))


if __name__ == "__main__":
    main()
