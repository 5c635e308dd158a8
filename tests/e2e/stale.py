"""Entries whose close was missed leave the connection map, counted, while open connections keep
theirs: entries planted with bpftool for sockets that do not exist (what a missed close leaves)
are gone within a few dumps, and so is anything left by a churn that runs while the start-up
snapshot is taken. The truth is the map itself, read with bpftool, and /proc/net/tcp."""
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

PLANTED = 20
INTERVAL = 0.2
NETNS_OFFSET = 64  # struct nt_conn: tuple 40, owner 24, then netns
CONN_FLAGS_OFFSET = 69  # then direction, then flags


def conns_map(pid):
    """The id of the conns map that process pid holds (its fdinfo names the maps it has)."""
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            info = open("/proc/%d/fdinfo/%s" % (pid, fd)).read()
        except OSError:
            continue
        m = re.search(r"^map_id:\s*(\d+)", info, re.M)
        if not m:
            continue
        show = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", m.group(1)],
                                         stdout=subprocess.PIPE, check=True).stdout)
        if show.get("name") == "conns":
            return int(m.group(1)), show["bytes_value"]
    nt.fail("process %d holds no conns map" % pid)


def entries(map_id):
    """key → netns of every entry (0 until the connection is established)."""
    out = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(map_id)],
                         stdout=subprocess.PIPE, check=True).stdout
    res = {}
    for e in json.loads(out):
        if not isinstance(e.get("value"), list):
            continue  # deleted between bpftool's key walk and its lookup: gone
        value = bytes(int(b, 16) for b in e["value"])
        res[struct.unpack("<Q", bytes(int(b, 16) for b in e["key"]))[0]] = \
            struct.unpack_from("<I", value, NETNS_OFFSET)[0]
    return res


def keys(map_id):
    return set(entries(map_id))


def plant(map_id, value_size, key):
    value = bytearray(value_size)
    value[CONN_FLAGS_OFFSET] = 1  # NT_CONN_ESTABLISHED, as a real entry has
    struct.pack_into("<HH", value, 32, 40000 + key % 1000, 80)  # tuple.sport, dport
    hexes = lambda b: ["%02x" % x for x in b]  # noqa: E731
    subprocess.run(["bpftool", "map", "update", "id", str(map_id), "key", "hex"] +
                   hexes(struct.pack("<Q", key)) + ["value", "hex"] + hexes(value), check=True)


def live_sockets():
    """TCP sockets of this namespace that an entry may name: neither listening nor time-wait."""
    n = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            n += sum(1 for line in list(f)[1:] if line.split()[3] not in ("06", "0A"))
    return n


def stale_count(stderr):
    m = re.search(r"(\d+) stale entries removed", stderr)
    if not m:
        nt.fail("no stale count in the summary: " + stderr)
    return int(m.group(1))


def churn(seconds):
    """Short connections in another process, from before the start until seconds later."""
    code = ("import socket, time\n"
            "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(512)\n"
            "t = time.monotonic() + %f\n"
            "while time.monotonic() < t:\n"
            "    c = socket.create_connection(l.getsockname()); s, _ = l.accept()\n"
            "    c.close(); s.close()\n" % seconds)
    return subprocess.Popen([sys.executable, "-c", code])


def main():
    nt.require_root()
    # Planted entries go, an open connection stays and keeps being reported.
    c, s, lst = nt.loopback_pair()
    port = lst.getsockname()[1]
    tracer = nt.Tracer("-t", str(INTERVAL), "--port", str(port), sentinel=False)
    map_id, value_size = conns_map(tracer.proc.pid)
    nt.wait_for(lambda: nt.find(tracer.records(), "metrics", c.getsockname()[1], port), 10,
                "a metrics record of the open connection")
    planted = {0xffff888000000000 + 0x1000 * i + 0x440 for i in range(PLANTED)}
    # Stopped while bpftool plants, so that no sweep runs before all are seen in the map (on
    # a busy machine planting 20 takes longer than a dump interval).
    tracer.proc.send_signal(signal.SIGSTOP)
    for k in planted:
        plant(map_id, value_size, k)
    left = planted & keys(map_id)
    tracer.proc.send_signal(signal.SIGCONT)
    if left != planted:
        nt.fail("bpftool planted only %d of %d entries" % (len(left), PLANTED))
    nt.wait_for(lambda: not planted & keys(map_id), 5 * INTERVAL + 2,
                "the planted entries to leave the map",
                show=lambda: "still there: %d" % len(planted & keys(map_id)))
    before = len(nt.find(tracer.records(), "metrics", c.getsockname()[1], port))
    nt.wait_for(lambda: len(nt.find(tracer.records(), "metrics", c.getsockname()[1], port)) >=
                before + 3, 10, "more metrics records of the open connection")
    recs = tracer.stop()
    n = stale_count(tracer.stderr)
    if n < PLANTED:
        nt.fail("%d stale entries counted, %d planted" % (n, PLANTED))
    if not nt.find(recs, "metrics", port, c.getsockname()[1]):
        nt.fail("the server end of the open connection was not reported")
    for x in (c, s, lst):
        x.close()
    print("ok: %d planted entries left the map within a few dumps, %d counted; the open "
          "connection kept its metrics records" % (PLANTED, n))

    # Before any dump: the sweep at exit finds and counts them, so the summary is complete.
    tracer = nt.Tracer("-t", "3600", "--port", str(port), sentinel=False)
    map_id, value_size = conns_map(tracer.proc.pid)
    for k in planted:
        plant(map_id, value_size, k)
    tracer.stop()
    n = stale_count(tracer.stderr)
    if n < PLANTED:
        nt.fail("at exit, before any dump: %d stale entries counted, %d planted" % (n, PLANTED))
    print("ok: %d planted entries counted at exit, before any dump" % n)

    # A churn across the start-up snapshot leaves nothing behind once it is over.
    for _ in range(3):
        ch = churn(3.0)
        time.sleep(0.3)
        tracer = nt.Tracer("-t", str(INTERVAL), "--events=metrics", sentinel=False)
        map_id, _ = conns_map(tracer.proc.pid)
        ch.wait()
        time.sleep(4 * INTERVAL)
        # Other tests may run in namespaces of their own: count this one's entries.
        n_map = sum(1 for ns in entries(map_id).values() if ns == nt.own_netns())
        n_live = live_sockets()
        tracer.stop()
        if n_map > n_live:
            nt.fail("%d entries left in the map after the churn, %d live sockets" %
                    (n_map, n_live))
    print("ok: a churn across the start-up snapshot left no entry behind (%d entries, %d live "
          "sockets)" % (n_map, n_live))


if __name__ == "__main__":
    main()
