"""Filters act in the kernel: --port, -p, --netns, --no-loopback and --events each keep exactly the
matching records."""
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
    c = socket.create_connection(("127.0.0.1", keep))
    s, _ = lst.accept()
    c.close()
    s.close()
    nt.wait_for(lambda: len(conn_records(tp, [keep])) == 4, 10, "--port records", tp)
    nt.wait_for(lambda: len(conn_records(te, others + [keep])) == 6, 10, "--events records", te)
    if conn_records(tp, others):
        nt.fail("--port let other ports through")
    if {r["type"] for r in conn_records(te, others + [keep])} != {"close"}:
        nt.fail("--events=close wrote other types")
    tp.stop()
    te.stop()
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
        recs = conn_records(tpid, [port])
        if [r["type"] for r in recs] != ["accept", "close"] or recs[0]["pid"] != os.getpid():
            nt.fail("-p: %s" % recs)
        if any(r["netns"] != ns.inode for r in tns.records()):
            nt.fail("--netns let another namespace through")
        child.kill()
        tpid.stop()
        tns.stop()
        nl = [r for r in tnl.stop() if r["type"] != "metrics"]
        if len(nl) != 4 or any(r["daddr"] != "10.198.0.1" for r in nl):
            nt.fail("--no-loopback: %s" % nl)
    print("ok: -p, --netns and --no-loopback keep exactly the matching records")


if __name__ == "__main__":
    main()
