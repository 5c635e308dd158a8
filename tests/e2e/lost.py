"""A perf buffer too small for the load drops samples, and says so in band: lost records with
the CPU and the count, the same total in the exit summary, and exactly as many records missing
as were counted lost: records written + lost = the records the application's own connections
must produce. The scenario runs in a network namespace of its own and the tracer keeps only
that namespace (--netns), so no other traffic on the host shares the ring or the count. The
kernel's own ftrace event (sock:inet_sock_set_state, in a tracefs instance of this test) counts
the state changes independently of nettracer, to tell a loss nettracer failed to count from
state changes no program ran for."""
import os
import re
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402
import events  # noqa: E402

TRACEFS = "/sys/kernel/tracing"


class Ftrace:
    """sock:inet_sock_set_state in a tracefs instance of our own (the host's tracing and other
    tests' instances are left alone)."""

    def __init__(self):
        self.dir = None
        if not os.path.isdir(os.path.join(TRACEFS, "instances")):
            print("no tracefs instances: no independent count of state changes")
            return
        self.dir = os.path.join(TRACEFS, "instances", "nt-%s-%d" % (nt.test_name(), os.getpid()))
        if os.path.isdir(self.dir):
            os.rmdir(self.dir)
        os.mkdir(self.dir)
        self.write("buffer_size_kb", "8192")
        self.write("events/sock/inet_sock_set_state/enable", "1")

    def write(self, name, value):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(value)

    def transitions(self, port):
        """(oldstate, newstate) → count for the connections with port at either end."""
        if not self.dir:
            return None
        self.write("tracing_on", "0")
        # A ring that overflowed (other traffic on the host shares the event) lost events of
        # its own: its count is then no truth to compare with.
        over = 0
        for cpu in os.listdir(os.path.join(self.dir, "per_cpu")):
            with open(os.path.join(self.dir, "per_cpu", cpu, "stats")) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k.strip() in ("overrun", "dropped events"):
                        over += int(v.split()[0])
        if over:
            print("the ftrace instance's ring lost %d events: no independent count" % over)
            return None
        n = Counter()
        with open(os.path.join(self.dir, "trace")) as f:
            for line in f:
                m = re.search(r"sport=(\d+) dport=(\d+) .*oldstate=(\w+) newstate=(\w+)", line)
                if m and port in (int(m.group(1)), int(m.group(2))):
                    n[(m.group(3), m.group(4))] += 1
        return n

    def close(self):
        if self.dir:
            self.write("events/sock/inet_sock_set_state/enable", "0")
            os.rmdir(self.dir)


def main():
    nt.require_root()
    per = int(os.environ.get("NT_E2E_STORM", "200"))
    ft = Ftrace()
    try:
        with nt.Netns("ns") as ns:
            run(ns, per, ft)
    finally:
        ft.close()


def run(ns, per, ft):
    t = nt.Tracer("--perf-pages=1", "--netns=%d" % ns.inode, sentinel=False)
    sc = events.run_scenario("4", "127.0.0.1", "127.0.0.1", per, parallel=8, netns=ns)
    exp = events.expected(sc)
    want = sum(e[2] for e in exp.values())
    # Every sample is out (or counted as failed) once the connections' last state changes are.
    nt.wait_for(lambda: not any(port_busy(ns, sc["port"])), 10, "the connections to end", t)
    recs = t.stop()
    lost = [r for r in recs if r["type"] == "lost"]
    ncpu = os.cpu_count()
    bad = [r for r in lost if not 0 <= r["cpu"] < ncpu or r["count"] <= 0 or
           r["reason"] != "perf_buffer" or
           list(r) != ["time", "type", "seq", "reason", "cpu", "count"]]
    if bad:
        nt.fail("malformed lost records: %s" % bad[:3])
    total = sum(r["count"] for r in lost)
    m = re.search(r"(\d+) records, (\d+) lost, (\d+) undecodable, .* (\d+) failed outputs",
                  t.stderr)
    if not m or int(m.group(2)) != total or int(m.group(3)):
        nt.fail("summary %r does not match %d lost in band" % (t.stderr, total))
    ours = [r for r in recs if r["type"] != "lost"]
    foreign = [r for r in ours if r["netns"] != ns.inode]
    if foreign:
        nt.fail("records of other namespaces despite --netns: %s" % foreign[:3])
    got = len(events.relevant(recs, sc))
    stray = len(ours) - got
    # Every sample that reached the ring is a relevant record; every one that did not is
    # counted lost. Nothing else is in the ring (sentinel-free, one namespace, no dumps).
    kinds = Counter(k[0] for k in exp for _ in range(exp[k][2]))
    kinds.subtract(r["type"] for r in events.relevant(recs, sc))
    tr = ft.transitions(sc["port"])
    seen = ""
    if tr is not None:
        conn = tr[("TCP_SYN_SENT", "TCP_ESTABLISHED")]
        closes = sum(n for (old, new), n in tr.items() if new == "TCP_CLOSE" and
                     old not in ("TCP_SYN_SENT", "TCP_SYN_RECV", "TCP_LISTEN", "TCP_CLOSE"))
        seen = "; ftrace saw %d connects and %d closes of established ends" % (conn, closes)
        if conn < kinds_total(exp, "connect") or closes < kinds_total(exp, "close"):
            nt.fail("the kernel's ftrace event saw fewer state changes than the application "
                    "made (%s)%s" % (dict(tr), seen))
    print("1-page buffer: %d of %d records written, %d lost in %d lost records, %d others%s" %
          (got, want, total, len(lost), stray, seen))
    if got + total != want or stray:
        nt.fail("records written %d + lost %d != %d made (missing by kind: %s; %d records not "
                "of the scenario)%s; %s" % (got, total, want, dict(+kinds), stray, seen,
                                            t.stderr.strip()))
    if not total:
        nt.fail("nothing was lost: the test did not exercise the loss path")
    print("ok: written + lost = made, exactly")


def kinds_total(exp, kind):
    return sum(e[2] for k, e in exp.items() if k[0] == kind)


def port_busy(ns, port):
    """Sockets of port in ns that are neither listening nor in time-wait."""
    import subprocess
    out = subprocess.run(ns.cmd(["ss", "-tanH", "sport = :%d or dport = :%d" % (port, port)]),
                         stdout=subprocess.PIPE, text=True).stdout
    return [line for line in out.splitlines() if line.split()[0] not in ("LISTEN",
                                                                         "TIME-WAIT")]


if __name__ == "__main__":
    main()
