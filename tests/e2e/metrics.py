"""Metrics from the map dumps against the kernel's own tcp_info (ss -tin): exact bytes, packets,
retransmits and RTT; close records carry final totals; -i deltas sum to the totals; connections
that existed before nettracer started are dumped with their owner."""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

CLIENT_BYTES, SERVER_BYTES = 1000000, 123457


KEYS = ("segs_out", "segs_in", "retrans", "rtt", "bytes_acked", "bytes_received")


def as_ss(m):
    """A metrics record in ss's terms; ss prints RTT in ms with %g: six significant digits."""
    return {"segs_out": m["packets_sent"], "segs_in": m["packets_received"],
            "retrans": m["retransmits"],
            "rtt": (float("%g" % (m["rtt_us"] / 1000)), float("%g" % (m["rttvar_us"] / 1000)))}


def ss_quiet(info):
    """What a quiet connection keeps the same, of ss_info's info."""
    return {k: info.get(k, 0) for k in KEYS}


def quiet_match(tracer, sock_end, sport, dport, dumps=3, netns=None, peer_netns=None):
    """Once the connection is quiet (neither end has a segment in flight, which a timer could
    still send again, and ss shows the same tcp_info twice, half a second apart), every
    metrics record of this end that the next dumps write must equal ss: not just one of
    them. netns, peer_netns: where this end and the other are, when not in this namespace."""
    prev = [None]

    def settled():
        mine = nt.ss_info(sport, dport, netns)
        now = ss_quiet(mine)
        same, prev[0] = now == prev[0], now
        idle = all(info.get("unacked", 0) == 0
                   for info in (mine, nt.ss_info(dport, sport, peer_netns)))
        return same and idle
    nt.wait_for(settled, 10, "port %d to be quiet in ss -tin" % sport, tracer, step=0.5)
    before = prev[0]
    n0 = len(nt.find(tracer.records(), "metrics", sport, dport))
    recs = nt.wait_for(lambda: nt.find(tracer.records(), "metrics", sport, dport)[n0 + dumps:] and
                       nt.find(tracer.records(), "metrics", sport, dport), 15,
                       "%d dumps of port %d" % (dumps, sport), tracer)
    after = ss_quiet(nt.ss_info(sport, dport, netns))
    if before != after:
        nt.fail("%s: port %d was not quiet: ss %s, then %s" % (sock_end, sport, before, after))
    want = {k: after[k] for k in ("segs_out", "segs_in", "retrans", "rtt")}
    quiet = recs[n0:]
    bad = [(i, as_ss(m)) for i, m in enumerate(quiet) if as_ss(m) != want]
    if bad:
        nt.fail("%s: %d of %d metrics records of the quiet period differ from ss -tin %s: %s"
                % (sock_end, len(bad), len(quiet), want, bad[:5]))
    return quiet[-1], after


def check_bytes(rec, sent, received, what):
    if rec["bytes_sent"] != sent or rec["bytes_received"] != received:
        nt.fail("%s: bytes_sent %d bytes_received %d, want %d %d" %
                (what, rec["bytes_sent"], rec["bytes_received"], sent, received))


def test_exact():
    tracer = nt.Tracer("-t", "0.3")
    c, s, lst = nt.loopback_pair()
    nt.transfer(c, s, CLIENT_BYTES, SERVER_BYTES)
    cp, sp = c.getsockname()[1], s.getsockname()[1]
    for end, (sport, dport), sent, recv, direction in (
            ("client", (cp, sp), CLIENT_BYTES, SERVER_BYTES, "outbound"),
            ("server", (sp, cp), SERVER_BYTES, CLIENT_BYTES, "inbound")):
        m, ss = quiet_match(tracer, end, sport, dport)
        check_bytes(m, sent, recv, end + " metrics")
        if m["direction"] != direction or m["pid"] != os.getpid():
            nt.fail("%s metrics: direction %s pid %d" % (end, m["direction"], m["pid"]))
        print("ok: %s metrics equal ss -tin: packets %d/%d, retransmits %d, rtt %d/%d us" %
              (end, m["packets_sent"], m["packets_received"], m["retransmits"], m["rtt_us"],
               m["rttvar_us"]))
    c.close()
    s.close()
    lst.close()
    nt.wait_for(lambda: len(nt.find(tracer.records(), "close", cp, sp)) +
                len(nt.find(tracer.records(), "close", sp, cp)) == 2, 10, "both closes", tracer)
    recs = tracer.stop()
    check_bytes(nt.find(recs, "close", cp, sp)[0], CLIENT_BYTES, SERVER_BYTES, "client close")
    check_bytes(nt.find(recs, "close", sp, cp)[0], SERVER_BYTES, CLIENT_BYTES, "server close")
    for sport, dport, sent, recv in ((cp, sp, CLIENT_BYTES, SERVER_BYTES),
                                     (sp, cp, SERVER_BYTES, CLIENT_BYTES)):
        check_bytes(nt.find(recs, "metrics", sport, dport)[-1], sent, recv, "last metrics")
    print("ok: close records and last dumps carry exactly %d/%d bytes" %
          (CLIENT_BYTES, SERVER_BYTES))


def test_incremental():
    """Deltas from one nettracer (-i) sum to the totals another one reports at close."""
    totals = nt.Tracer("-t", "30")
    deltas = nt.Tracer("-i", "-t", "0.2")
    c, s, lst = nt.loopback_pair()
    cp, sp = c.getsockname()[1], s.getsockname()[1]
    for i in range(6):
        nt.transfer(c, s, 100000 * (i + 1), 777 * (i + 1))
        n = len(nt.find(deltas.records(), "metrics", cp, sp))
        nt.wait_for(lambda: len(nt.find(deltas.records(), "metrics", cp, sp)) > n, 10,
                    "a dump", deltas)
    c.close()
    s.close()
    done = lambda t: nt.find(t.records(), "close", cp, sp)  # noqa: E731
    nt.wait_for(lambda: done(totals) and done(deltas), 10, "closes", deltas)
    final = done(totals)[0]
    drecs = deltas.stop()
    totals.stop()
    parts = nt.find(drecs, "metrics", cp, sp) + nt.find(drecs, "close", cp, sp)
    for k in ("bytes_sent", "bytes_received", "packets_sent", "packets_received", "retransmits"):
        if sum(r[k] for r in parts) != final[k]:
            nt.fail("-i: sum of %s deltas %d != total %d" % (k, sum(r[k] for r in parts),
                                                               final[k]))
    if final["bytes_sent"] != 100000 * 21:
        nt.fail("total bytes_sent %d" % final["bytes_sent"])
    print("ok: -i: %d deltas sum to the totals (%d bytes sent)" % (len(parts), final["bytes_sent"]))


HOLDER = """
import socket, sys, json
open('/proc/self/comm', 'w').write('nt-holder')
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen()
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
c.sendall(b'y' * 4321); s.recv(8192)
print(json.dumps([c.getsockname()[1], s.getsockname()[1]]), flush=True)
sys.stdin.readline()
"""


def test_existing():
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    cp, sp = json.loads(holder.stdout.readline())
    tracer = nt.Tracer("-t", "0.5")
    recs = nt.wait_for(lambda: nt.find(tracer.records(), "metrics", cp, sp), 10,
                       "a dump of the existing connection", tracer)
    m = recs[0]
    if m["pid"] != holder.pid or m["comm"] != "nt-holder" or m["bytes_sent"] != 4321:
        nt.fail("existing connection: %s" % m)
    if m["direction"] != "outbound":
        nt.fail("existing client end: direction %s" % m["direction"])
    srv = nt.find(tracer.records(), "metrics", sp, cp)
    if not srv or srv[0]["direction"] != "inbound" or srv[0]["bytes_received"] != 4321:
        nt.fail("existing server end: %s" % srv)
    holder.stdin.close()
    holder.wait()
    nt.wait_for(lambda: nt.find(tracer.records(), "close", cp, sp), 10, "its close", tracer)
    tracer.stop()
    print("ok: connection opened before start dumped with pid %d, then closed" % holder.pid)


def main():
    nt.require_root()
    test_exact()
    test_incremental()
    test_existing()


if __name__ == "__main__":
    main()
