"""Soak: a connection storm and long transfers together for a fixed time (NT_SOAK_SECONDS,
default 60) at default settings: zero lost events, every connection reported, stable RSS, and
a connection map that holds only live connections (read with bpftool)."""
import json
import os
import re
import subprocess
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


def main():
    nt.require_root()
    seconds = float(os.environ.get("NT_SOAK_SECONDS", "60"))
    tracer = nt.Tracer("-t", "1")
    stop, done = threading.Event(), []
    th = threading.Thread(target=transfers, args=(stop, done))
    th.start()
    map_id, _ = stale.conns_map(tracer.proc.pid)
    scenarios, rss, entries = [], [], []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        scenarios.append(events.run_scenario("4", "127.0.0.1", "127.0.0.1", 50, parallel=4))
        rss.append(rss_kb(tracer.proc.pid))
        if len(scenarios) % 20 == 1:
            entries.append(len(stale.keys(map_id)))
    stop.set()
    th.join()
    # Every event record arrived: counted as the file grows (an hour's file is too long to
    # parse again at each poll), then checked exactly once below.
    want = sum(sum(e[2] for e in events.expected(sc).values()) for sc in scenarios)
    ports = {(sc["netns"], sc["port"]) for sc in scenarios}
    seen = {"pos": 0, "n": 0}

    def arrived():
        with open(tracer.path, "rb") as f:
            f.seek(seen["pos"])
            data = f.read()
        end = data.rfind(b"\n") + 1
        seen["pos"] += end
        for line in data[:end].splitlines():
            r = json.loads(line)
            if r["type"] in ("connect", "accept", "close") and (
                    (r["netns"], r["sport"]) in ports or (r["netns"], r["dport"]) in ports):
                seen["n"] += 1
        return seen["n"] >= want
    nt.wait_for(arrived, 60, "every record", tracer, step=0.5,
                show=lambda: "%d of %d event records" % (seen["n"], want))
    # Quiet now: the map holds this namespace's live connections only (nothing left behind).
    time.sleep(2.5)  # two dumps (-t 1) for the sweep
    n_map = sum(1 for ns in stale.entries(map_id).values() if ns == nt.own_netns())
    n_live = stale.live_sockets()
    recs = tracer.stop()
    if n_map > n_live:
        nt.fail("%d entries in the connection map after the soak, %d live sockets; sizes "
                "seen: %s" % (n_map, n_live, entries))
    lost = [r for r in recs if r["type"] == "lost"]
    if lost or re.search(r"[1-9]\d* lost", tracer.stderr):
        nt.fail("lost events at default settings: %s %s" % (lost[:3], tracer.stderr))
    # The kernel may hand a later server the same ephemeral port: check per port.
    # The kernel may hand a later server the same port: scenarios on one port are checked as
    # one, over all their times, tuples and processes.
    by_port = {}
    for sc in scenarios:
        key = (sc["port"], sc["netns"])
        if key not in by_port:
            by_port[key] = dict(sc, client=dict(sc["client"], pid=list(sc["client"]["pid"]),
                                                conns=list(sc["client"]["conns"])),
                                server=dict(sc["server"], conns=list(sc["server"]["conns"])),
                                servers=[], exp={})
        m = by_port[key]
        m["t0"], m["t1"] = min(m["t0"], sc["t0"]), max(m["t1"], sc["t1"])
        if m["server"]["pid"] != sc["server"]["pid"]:  # another scenario on the same port
            m["client"]["pid"] += sc["client"]["pid"]
            m["client"]["conns"] += sc["client"]["conns"]
            m["server"]["conns"] += sc["server"]["conns"]
            m["servers"].append(sc["server"]["pid"])
        for k, (pids, comm, n) in events.expected(sc).items():
            e = m["exp"].setdefault(k, [set(), comm, 0])
            e[0] |= pids
            e[2] += n
    n = 0
    index = events.by_port(recs)
    for m in by_port.values():
        n += events.check(index.get((m["netns"], m["port"]), []), m, "ipv4", m["exp"])
    # The first quarter warms up (buffers, allocator); after that RSS must not keep growing.
    # Under ASan (NT_SOAK_RSS=0) freed memory waits in quarantine; LeakSanitizer checks instead.
    warm = rss[len(rss) // 4]
    if os.environ.get("NT_SOAK_RSS") != "0" and rss[-1] > warm + 2048:
        nt.fail("RSS grew from %d kB to %d kB" % (warm, rss[-1]))
    print("ok: soak %.0f s: %d connections, %d transfers, %d records exact, 0 lost, "
          "RSS %d -> %d kB, map %d entries at the end (%d live sockets; max seen %d)" %
          (seconds, n // 4, len(done), n, warm, rss[-1], n_map, n_live, max(entries)))


if __name__ == "__main__":
    main()
