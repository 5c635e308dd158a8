"""A full connection map is counted and said, never silent: with --map-size=16 and 40 open
connection ends, stderr names the untracked connections, dumps hold at most 16, and every
close is still reported (pid 0 for the untracked ones)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402


def main():
    nt.require_root()
    t = nt.Tracer("--map-size=16", "-t", "0.3")
    pairs = [nt.loopback_pair() for _ in range(20)]
    ports = {p[2].getsockname()[1] for p in pairs}
    nt.wait_for(lambda: "connection map is full" in open(t.errpath).read(), 10,
                "the map-full warning", t)
    for c, s, lst in pairs:
        for x in (c, s, lst):
            x.close()

    def closes():
        return [r for r in t.records() if r["type"] == "close" and
                (r["sport"] in ports or r["dport"] in ports)]
    nt.wait_for(lambda: len(closes()) == 40, 10, "all 40 closes", t)
    recs = t.stop()
    dumps = {}
    for r in recs:
        if r["type"] == "metrics":
            dumps[r["time"]] = dumps.get(r["time"], 0) + 1
    if not dumps or max(dumps.values()) > 16:
        nt.fail("dumps of a 16-entry map: %s" % sorted(dumps.values()))
    unknown = [r for r in closes() if r["pid"] == 0]
    if not unknown or "untracked (map full)" not in t.stderr:
        nt.fail("untracked connections: %d closes with pid 0; stderr %r" % (len(unknown),
                                                                           t.stderr))
    print("ok: map full: warned, dumps of at most %d, all 40 closes (%d without owner)" %
          (max(dumps.values()), len(unknown)))


if __name__ == "__main__":
    main()
