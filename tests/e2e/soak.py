"""Soak: a connection storm and long transfers together for a fixed time (NT_SOAK_SECONDS,
default 60) at default settings: zero lost events, every connection reported, stable RSS, and
a connection map that holds only live connections (read with bpftool)."""
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402
import events  # noqa: E402
import stale  # noqa: E402


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def transfers(stop, done):
    while not stop.is_set():
        c, s, lst = nt.loopback_pair()
        nt.transfer(c, s, 20000000, 1000000)
        for x in (c, s, lst):
            x.close()
        done.append(1)


class Stream:
    """The tracer's file read as it grows, each line once: every line must be JSON with a seq
    one more than the line before. An hour's file (gigabytes) is never held in memory."""

    def __init__(self, path):
        self.path, self.pos, self.seq, self.lines, self.lost = path, 0, 0, 0, []

    def read(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.pos += end
        out = []
        for line in data[:end].splitlines():
            self.lines += 1
            try:
                r = json.loads(line)
            except ValueError as e:
                nt.fail("line %d is not JSON (%s): %r" % (self.lines, e, line[:200]))
            if r.get("seq") != self.seq + 1:
                nt.fail("line %d has seq %r after %r" % (self.lines, r.get("seq"), self.seq))
            self.seq = r["seq"]
            if r["type"] == "lost":
                self.lost.append(r)
            out.append(r)
        return out


def check_scenario(stream, sc, tracer):
    """Waits for the scenario's records and checks them exactly (events.check), but for those
    the kernel's changes where it runs no tracing program account for. Its records are among
    those written since it started: the file was read up to then before it ran."""
    exp = events.expected(sc)
    want = sum(e[2] for e in exp.values())
    mine = []

    def blind():
        return tracer.truth.blind() if tracer.truth else []

    def arrived():
        mine.extend(r for r in stream.read() if r["type"] in ("connect", "accept", "close")
                    and r["netns"] == sc["netns"] and sc["port"] in (r["sport"], r["dport"]))
        return len(events.relevant(mine, sc)) >= want - events.unseeable_count(blind(), exp)
    nt.wait_for(arrived, 30, "the scenario's %d records" % want, step=0.05,
                show=lambda: "%d of %d records of port %d; lost records so far: %s" % (
                    len(events.relevant(mine, sc)), want, sc["port"], stream.lost[-3:]))
    return events.check(mine, sc, "ipv4", blind=blind())


def main():
    nt.require_root()
    seconds = float(os.environ.get("NT_SOAK_SECONDS", "60"))
    # Only this test's connections: other work on the machine (another soak, a build) must not
    # fill the tracer's buffers with its records, and --cgroup is proven over the whole run.
    cg = nt.OwnCgroup()
    try:
        run(seconds, cg)
    finally:
        cg.close()


def run(seconds, cg):
    tracer = nt.Tracer("-t", "1", "--cgroup=" + cg.path)
    stream = Stream(tracer.path)
    stop, done = threading.Event(), []
    th = threading.Thread(target=transfers, args=(stop, done))
    th.start()
    map_id, _ = stale.conns_map(tracer.proc.pid)
    rss, entries, n, scenarios = [], [], 0, 0
    t_end = time.monotonic() + seconds
    t_report = time.monotonic() + 600
    try:
        while time.monotonic() < t_end:
            stream.read()  # what came before the scenario: checked as lines, then dropped
            sc = events.run_scenario("4", "127.0.0.1", "127.0.0.1", 50, parallel=4)
            n += check_scenario(stream, sc, tracer)
            scenarios += 1
            rss.append(rss_kb(tracer.proc.pid))
            if scenarios % 20 == 1:
                entries.append(len(stale.keys(map_id)))
            if time.monotonic() > t_report:  # the long form says how it goes as it goes
                t_report += 600
                print("soak: %d scenarios, %d records exact, %d lines, RSS %d kB, map %d "
                      "entries" % (scenarios, n, stream.lines, rss[-1], entries[-1]),
                      flush=True)
    finally:
        stop.set()
        th.join()
    # Quiet now: the map holds this namespace's live connections only (nothing left behind).
    time.sleep(2.5)  # two dumps (-t 1) for the sweep
    n_map = sum(1 for ns in stale.entries(map_id).values() if ns == nt.own_netns())
    n_live = stale.live_sockets()
    tracer.halt()
    stream.read()
    nt.check_jq(tracer.path)
    if n_map > n_live:
        nt.fail("%d entries in the connection map after the soak, %d live sockets; sizes "
                "seen: %s" % (n_map, n_live, entries))
    if stream.lost or re.search(r"[1-9]\d* lost", tracer.stderr):
        nt.fail("lost events at default settings: %s %s" % (stream.lost[:3], tracer.stderr))
    # Flat: after the first quarter (buffers, allocator warm up) RSS must not keep growing, and
    # the map must not hold more than it did early on (a leak of entries grows with time).
    # Under ASan (NT_SOAK_RSS=0) freed memory waits in quarantine; LeakSanitizer checks instead.
    warm = rss[len(rss) // 4]
    if os.environ.get("NT_SOAK_RSS") != "0" and rss[-1] > warm + 2048:
        nt.fail("RSS grew from %d kB to %d kB" % (warm, rss[-1]))
    # The samples count every entry of the map, other work's connections too, which come and
    # go; a leak raises the floor. The floor of the last quarter against the first quarter's.
    q = len(entries) // 4
    if q and min(entries[-q:]) > max(entries[:q]) + 16:
        nt.fail("the connection map grew: %s" % entries)
    print("ok: soak %.0f s: %d scenarios, %d connections, %d transfers, %d records exact, "
          "%d lines, 0 lost, RSS %d -> %d kB, map %d entries at the end (%d live sockets; "
          "%d to %d seen)" % (seconds, scenarios, n // 4, len(done), n, stream.lines, warm,
                              rss[-1], n_map, n_live, min(entries), max(entries)))


if __name__ == "__main__":
    main()
