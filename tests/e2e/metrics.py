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


def quiet_match(tracer, sock_end, sport, dport):
    """The latest metrics record of one end equals ss, and ss did not move around it."""
    keys = ("segs_out", "segs_in", "retrans", "rtt", "bytes_acked", "bytes_received")

    def cond():
        before = {k: v for k, v in nt.ss_info(sport, dport).items() if k in keys}
        recs = nt.find(tracer.records(), "metrics", sport, dport)
        after = {k: v for k, v in nt.ss_info(sport, dport).items() if k in keys}
        if not recs or before != after:
            return None
        m = recs[-1]
        want = {
            "packets_sent": after.get("segs_out", 0),
            "packets_received": after.get("segs_in", 0),
            "retransmits": after.get("retrans", 0),
            "rtt": after["rtt"],
        }
        got = {k: m[k] for k in want if k != "rtt"}
        # ss prints RTT in ms with %g: six significant digits.
        got["rtt"] = (float("%g" % (m["rtt_us"] / 1000)), float("%g" % (m["rttvar_us"] / 1000)))
        last[0] = (got, want)
        return (m, after) if got == want else None
    last = [None]
    try:
        return nt.wait_for(cond, 15, "a metrics record equal to ss -tin for port %d" % sport,
                           tracer)
    finally:
        if last[0] and last[0][0] != last[0][1]:
            print("last comparison: nettracer %s, ss %s" % last[0])


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
