"""A perf buffer too small for the load drops samples, and says so in band: lost records with
the CPU and the count, the same total in the exit summary, and exactly as many records missing
as were counted lost: records written + lost = the records the application's own connections
must produce, less those whose state changes the kernel made where it runs no tracing program
(nt.StateTrace names them; BUGS in nettracer(8)). The scenario runs in a network namespace of
its own and the tracer keeps only that namespace (--netns), so no other traffic on the host
shares the ring or the count. The kernel's own ftrace event (sock:inet_sock_set_state, in the
tracefs instance nt.Tracer keeps for its run) counts the state changes independently of
nettracer: it must have seen at least the connections the application made."""
import os
import re
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402
import events  # noqa: E402

STATES = {v: k for k, v in nt.TCP_STATES.items()}


def transitions(t, port):
    """(oldstate, newstate) → count of the kernel's own state changes (nt.StateTrace) for the
    connections with port at either end; None when the trace's ring lost events (other traffic
    on the host shares the event), for then it is no truth to compare with."""
    if t.truth is None:
        print("no state trace (tracefs or NT_E2E_STATE_TRACE): no independent count of state "
              "changes")
        return None
    if t.changes_lost:
        print("the ftrace instance's ring lost %d events: no independent count" % t.changes_lost)
        return None
    return Counter((STATES[c["old"]], STATES[c["new"]]) for c in t.changes
                   if port in (c["sport"], c["dport"]))


def main():
    nt.require_root()
    per = int(os.environ.get("NT_E2E_STORM", "200"))
    with nt.Netns("ns") as ns:
        run(ns, per)


def run(ns, per):
    t = nt.Tracer("--perf-pages=1", "--netns=%d" % ns.inode, sentinel=False, all_changes=True)
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
    tr = transitions(t, sc["port"])
    seen = ""
    if tr is not None:
        conn = tr[("SYN_SENT", "ESTABLISHED")]
        closes = sum(n for (old, new), n in tr.items() if new == "CLOSE" and
                     old not in ("SYN_SENT", "SYN_RECV", "LISTEN", "CLOSE"))
        seen = "; ftrace saw %d connects and %d closes of established ends" % (conn, closes)
        if conn < kinds_total(exp, "connect") or closes < kinds_total(exp, "close"):
            nt.fail("the kernel's ftrace event saw fewer state changes than the application "
                    "made (%s)%s" % (dict(tr), seen))
    print("1-page buffer: %d of %d records written, %d lost in %d lost records, %d others%s" %
          (got, want, total, len(lost), stray, seen))
    # The records whose state changes the kernel made where it may run no tracing program may
    # be missing (BUGS in nettracer(8); events.check).
    hidden = events.unseeable_count(t.blind, exp)
    if hidden:
        print("note: %d records unseeable: the kernel made their state changes where it may "
              "run no tracing program" % hidden)
    if not want - hidden <= got + total <= want or stray:
        nt.fail("records written %d + lost %d != %d made - %d unseeable (missing by kind: %s; "
                "%d records not of the scenario)%s; %s" % (
                    got, total, want, hidden, dict(+kinds), stray, seen, t.stderr.strip()))
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
