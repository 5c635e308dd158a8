"""Filters act in the kernel: --port, -p, --netns, --no-loopback and --events each keep exactly the
matching records. Every negative check runs after the tracer has exited, on everything it wrote,
records flushed at exit included."""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

HOLD = """
import socket, sys
open('/proc/self/comm', 'w').write('nt-filtered')
c = socket.create_connection(('127.0.0.1', int(sys.argv[1]))); c.close()
"""


def pair_ports(n, host="127.0.0.1"):
    out = []
    for _ in range(n):
        c, s, lst = nt.loopback_pair(host=host)
        out.append(lst.getsockname()[1])
        for x in (c, s, lst):
            x.close()
    return out


def conn_records(t, ports):
    return [r for r in t.records() if r["type"] != "metrics" and
            (r["sport"] in ports or r["dport"] in ports)]


def main():
    nt.require_root()
    # --port keeps one listener's connections out of three; --events=close keeps closes only.
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    keep = lst.getsockname()[1]
    tp = nt.Tracer("--port=%d" % keep, sentinel=False)
    te = nt.Tracer("--events=close,lost", sentinel=False)
    others = pair_ports(2)
    # Closed right before the tracers stop: its records are read at exit, if at all.
    late = nt.loopback_pair()
    others.append(late[2].getsockname()[1])
    c = socket.create_connection(("127.0.0.1", keep))
    s, _ = lst.accept()
    c.close()
    s.close()
    nt.wait_for(lambda: len(conn_records(tp, [keep])) == 4, 10, "--port records", tp)
    nt.wait_for(lambda: len(conn_records(te, others + [keep])) == 6, 10, "--events records", te)
    for x in late:
        x.close()
    nt.wait_for(lambda: nt.port_quiet(others[-1]), 10, "the late connection to end", te)
    precs = tp.stop()
    erecs = te.stop()
    stray = [r for r in precs if r["type"] != "lost" and keep not in (r["sport"], r["dport"])]
    if stray:
        nt.fail("--port=%d let other ports through: %s" % (keep, stray[:5]))
    mine = [r for r in precs if r["type"] != "metrics"]
    if len(mine) != 4:
        nt.fail("--port=%d: want connect, accept and two closes, got %s" % (keep, mine))
    wrong = [r for r in erecs if r["type"] not in ("close", "lost")]
    if wrong:
        nt.fail("--events=close,lost wrote other types: %s" % wrong[:5])
    ours = [r for r in erecs if r["type"] == "close" and
            {r["sport"], r["dport"]} & set(others + [keep])]
    if len(ours) != 8:
        nt.fail("--events=close,lost: want 8 closes of ours, got %s" % ours)
    print("ok: --port and --events keep exactly the matching records")

    # -p keeps one process's records; --netns one namespace's.
    with nt.Netns("ns") as ns:
        # A local address that is not loopback: --no-loopback must keep it.
        subprocess.run(ns.cmd(["ip", "link", "add", "nt-d0", "type", "veth", "peer", "name",
                               "nt-d1"]), check=True)
        subprocess.run(ns.cmd(["ip", "addr", "add", "10.198.0.1/24", "dev", "nt-d0"]), check=True)
        subprocess.run(ns.cmd(["ip", "link", "set", "nt-d0", "up"]), check=True)
        lst2 = socket.socket()
        lst2.bind(("127.0.0.1", 0))
        lst2.listen(8)
        port = lst2.getsockname()[1]
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        tpid = nt.Tracer("-p", str(os.getpid()), sentinel=False)
        tns = nt.Tracer("--netns=%d" % ns.inode, sentinel=False)
        tnl = nt.Tracer("--no-loopback", sentinel=False)
        other = subprocess.run([sys.executable, "-c", HOLD, str(port)])
        a, _ = lst2.accept()
        a.close()
        mine = pair_ports(1)
        subprocess.run(ns.cmd([sys.executable, "-c",
                               "import socket; l = socket.socket(); l.bind(('10.198.0.1', 0));"
                               "l.listen(); c = socket.create_connection(l.getsockname());"
                               "s, _ = l.accept(); c.close(); s.close()"]), check=True)
        nt.wait_for(lambda: len(conn_records(tpid, mine)) == 4, 10, "-p records", tpid)
        nt.wait_for(lambda: len([r for r in tns.records() if r["type"] != "metrics"]) == 4, 10,
                    "--netns records", tns)
        child.kill()
        precs = tpid.stop()
        nrecs = tns.stop()
        recs = [r for r in precs if r["type"] != "metrics" and port in (r["sport"], r["dport"])]
        if [r["type"] for r in recs] != ["accept", "close"] or recs[0]["pid"] != os.getpid():
            nt.fail("-p: records of port %d: %s" % (port, recs))
        others_p = [r for r in precs if r["type"] != "lost" and r["pid"] != os.getpid()]
        if others_p:
            nt.fail("-p %d let other processes through: %s" % (os.getpid(), others_p[:5]))
        stray = [r for r in nrecs if r["type"] != "lost" and r["netns"] != ns.inode]
        if stray:
            nt.fail("--netns=%d let another namespace through: %s" % (ns.inode, stray[:5]))
        nl = [r for r in tnl.stop() if r["type"] not in ("metrics", "lost")]
        loop = [r for r in nl if r["daddr"].startswith("127.") or r["daddr"] == "::1" or
                r["daddr"].startswith("::ffff:127.")]
        inns = [r for r in nl if r["netns"] == ns.inode]
        if loop or len(inns) != 4 or any(r["daddr"] != "10.198.0.1" for r in inns):
            nt.fail("--no-loopback: loopback records %s; records of namespace %d: %s" %
                    (loop[:5], ns.inode, inns))
    print("ok: -p, --netns and --no-loopback keep exactly the matching records")


if __name__ == "__main__":
    main()
