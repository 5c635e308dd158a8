"""A full connection map is counted and said, never silent: with --map-size=16 and 40 open
connection ends of this test, stderr names the untracked connections with a count at least as
large as the number of this test's ends that never reached the map, dumps hold at most 16, and
every close is still reported (pid 0 for the untracked ones)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

MAP = 16
PAIRS = 20


def main():
    nt.require_root()
    t = nt.Tracer("--map-size=%d" % MAP, "-t", "0.3", "-v")
    pairs = [nt.loopback_pair() for _ in range(PAIRS)]
    ends = {(x.getsockname()[1], x.getpeername()[1]) for c, s, _ in pairs for x in (c, s)}
    nt.wait_for(lambda: "connection map is full" in open(t.errpath).read(), 10,
                "the map-full warning", t)
    # A dump after every end is established: the ends of ours that it holds are all the map
    # ever took of ours (an end gets its slot when it connects or is accepted, not later).
    n0 = len([r for r in t.records() if r["type"] == "metrics"])
    nt.wait_for(lambda: len([r for r in t.records() if r["type"] == "metrics"]) > n0 + 1, 10,
                "two more dumps", t)
    for c, s, lst in pairs:
        for x in (c, s, lst):
            x.close()

    def closes():
        # By both ports: other work on the host may use one of ours at another time.
        return [r for r in t.records() if r["type"] == "close" and
                (r["sport"], r["dport"]) in ends]
    nt.wait_for(lambda: len(closes()) == 2 * PAIRS, 10, "all %d closes" % (2 * PAIRS), t)
    recs = t.stop()
    dumps = {}
    for r in recs:
        if r["type"] == "metrics":
            dumps[r["time"]] = dumps.get(r["time"], 0) + 1
    if not dumps or max(dumps.values()) > MAP:
        nt.fail("dumps of a %d-entry map: %s" % (MAP, sorted(dumps.values())))
    tracked = {(r["sport"], r["dport"]) for r in recs if r["type"] == "metrics"} & ends
    untracked = len(ends) - len(tracked)
    # Other traffic on the host takes slots too, so at least 40 - 16 of ours never fit.
    if untracked < len(ends) - MAP:
        nt.fail("%d of our %d ends in the dumps of a %d-entry map" % (len(tracked), len(ends),
                                                                     MAP))
    m = re.search(r"(\d+) untracked \(map full\)", t.stderr)
    if not m:
        nt.fail("no untracked count in the summary: %r" % t.stderr)
    # The summary counts the whole host's connections that did not fit (other traffic
    # included), so ours give a lower bound, not an exact figure.
    if int(m.group(1)) < untracked:
        nt.fail("summary says %s untracked; this test alone had %d ends that never reached "
                "the map: %r" % (m.group(1), untracked, t.stderr))
    unknown = [r for r in closes() if r["pid"] == 0]
    if len(unknown) < untracked:
        nt.fail("%d untracked ends of ours, but only %d closes with pid 0: %s" %
                (untracked, len(unknown), closes()))
    print("ok: map full: warned, dumps of at most %d, %d of our %d ends untracked, summary "
          "counts %s, all %d closes (%d without owner)" %
          (max(dumps.values()), untracked, len(ends), m.group(1), 2 * PAIRS, len(unknown)))


if __name__ == "__main__":
    main()
