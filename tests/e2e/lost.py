"""A perf buffer too small for the load drops samples, and says so in band: lost records with
the CPU and the count, as many as the probes failed to output, the same total in the exit
summary, and never more missing records than that."""
import os
import re
from collections import Counter
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402
import events  # noqa: E402


ATTEMPTS = 3


def attempt():
    """One run; None when every missing record is accounted for, else what is not."""
    t = nt.Tracer("--perf-pages=1")
    sc = events.run_scenario("4", "127.0.0.1", "127.0.0.1", 200, parallel=8)
    want = sum(e[2] for e in events.expected(sc).values())

    # Every sample is out (or counted as failed) once the connections' last state changes are.
    nt.wait_for(lambda: nt.port_quiet(sc["port"]), 10, "the connections to end", t)
    nt.wait_for(lambda: any(r["type"] == "lost" for r in t.records()), 10, "lost records", t)
    recs = t.stop()
    lost = [r for r in recs if r["type"] == "lost"]
    ncpu = os.cpu_count()
    if any(not 0 <= r["cpu"] < ncpu or r["count"] <= 0 or r["reason"] != "perf_buffer"
           or list(r) != ["time", "type", "seq", "reason", "cpu", "count"] for r in lost):
        nt.fail("malformed lost records: %s" % lost[:3])
    total = sum(r["count"] for r in lost)
    m = re.search(r"(\d+) lost, (\d+) undecodable, .* (\d+) failed outputs", t.stderr)
    if not m or int(m.group(1)) != total:
        nt.fail("summary %r does not match %d lost in band" % (t.stderr, total))
    # The kernel reports a drop in band only once the ring has room again: at exit nettracer
    # reports the rest from the probes' own count, so the two agree exactly.
    failed = int(m.group(3))
    got = len(events.relevant(recs, sc))
    if got > want or total != failed or int(m.group(2)):
        nt.fail("%d of %d records, %d lost in band, %d failed outputs: %s" %
                (got, want, total, failed, t.stderr.strip()))
    print("1-page buffer: %d lost records, %d samples as the probes counted, %d missing of %d"
          % (len(lost), total, want - got, want))
    if want - got <= total:
        return None
    kinds = Counter(k[0] for k in events.expected(sc))
    kinds.subtract(r["type"] for r in events.relevant(recs, sc))
    return "%d missing records not accounted for (missing by kind: %s); %s" % (
        want - got - total, dict(kinds), t.stderr.strip())


def main():
    nt.require_root()
    # Seen on a 6.18 host in about 3 runs in 100: a burst of state changes that the kernel
    # processed in a softirq on top of another task reached the ftrace event but neither state
    # change program, with no recursion miss counted (man page, BUGS). Repeated runs tell that
    # from a loss nettracer fails to count, which shows every time.
    for i in range(ATTEMPTS):
        why = attempt()
        if why is None:
            print("ok: the lost records account for every missing record")
            return
        print("attempt %d: %s" % (i + 1, why))
    nt.fail("in %d runs out of %d: %s" % (ATTEMPTS, ATTEMPTS, why))


if __name__ == "__main__":
    main()
