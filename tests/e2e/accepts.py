"""Accepts go to the process and thread that made them, with offsets from BTF and guessed:
several server processes accept at once, each on its own port, and several threads (each with
its own name) accept on one port. Each accept() caller records the peer it got; every accept
record must be there once, with that caller's pid and thread name."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

SERVERS = 4
THREADS = 4
CONNS = int(os.environ.get("NT_E2E_CONNS_ACCEPTS", "300"))

# A server: THREADS threads (named acc-N, which becomes their comm) accept CONNS connections in
# all on one listener, then print what each got. The port goes out first, on its own line.
SERVER = r"""
import ctypes, json, socket, sys, threading
threads, conns = int(sys.argv[1]), int(sys.argv[2])
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4096)
print(l.getsockname()[1], flush=True)
got, lock = [], threading.Lock()
def run(i):
    ctypes.CDLL(None).prctl(15, ("acc-%d" % i).encode(), 0, 0, 0)  # PR_SET_NAME
    while True:
        with lock:
            if len(got) >= conns:
                return
        try:
            l.settimeout(1.0)
            s, peer = l.accept()
        except socket.timeout:
            continue
        with lock:
            got.append(["acc-%d" % i, peer[0], peer[1]])
        s.close()
ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps(got), flush=True)
"""

# A client: n connections, each from a loopback address of its own. The kernel gives a local
# port whose connection is in time-wait to a new connection (tcp_tw_reuse), and two accepts of
# one four-tuple would be one in the truth.
CLIENT = r"""
import socket, sys
port, k, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for j in range(n):
    src = "127.%d.%d.%d" % (2 + k, j // 250, j % 250 + 1)
    c = socket.create_connection(("127.0.0.1", port), source_address=(src, 0))
    c.recv(1); c.close()
"""


def run(offsets):
    tracer = nt.Tracer("--offsets=" + offsets, "--events=accept", sentinel=False)
    layout = [(1, CONNS)] * SERVERS + [(THREADS, CONNS)]
    servers = [subprocess.Popen([sys.executable, "-c", SERVER, str(t), str(n)],
                                stdout=subprocess.PIPE, text=True) for t, n in layout]
    ports = [int(p.stdout.readline()) for p in servers]
    clients = [subprocess.Popen([sys.executable, "-c", CLIENT, str(port), str(k), str(n)])
               for k, (port, (_, n)) in enumerate(zip(ports, layout))]
    truth = {}
    for p, port in zip(servers, ports):
        for name, addr, peer in json.loads(p.stdout.readline()):
            truth[(port, addr, peer)] = (p.pid, name)
        p.wait()
    for c in clients:
        c.wait()
    # Ours: a server's port and one of its client's addresses (other work on the host may use
    # one of these ports at another time, never from those addresses).
    nets = {port: "127.%d." % (2 + k) for k, port in enumerate(ports)}

    def ours(recs):
        return [r for r in recs if r["type"] == "accept" and r["sport"] in nets and
                r["daddr"].startswith(nets[r["sport"]])]
    nt.wait_for(lambda: len(ours(tracer.records())) >= len(truth), 20, "every accept record",
                show=lambda: "records: %d of %d" % (len(ours(tracer.records())), len(truth)))
    recs = ours(tracer.stop())
    seen, bad = {}, []
    for r in recs:
        key = (r["sport"], r["daddr"], r["dport"])
        seen[key] = seen.get(key, 0) + 1
        want = truth.get(key)
        if want is None:
            bad.append("an accept no server made: %s" % r)
        elif (r["pid"], r["comm"]) != want:
            bad.append("%s went to pid %d %s, accepted by pid %d %s" %
                       (key, r["pid"], r["comm"], want[0], want[1]))
    bad += ["%s reported %d times" % (k, n) for k, n in seen.items() if n != 1]
    missing = [k for k in truth if k not in seen]
    if bad or missing:
        print("\n".join(bad[:20]))
        nt.fail("offsets %s: %d of %d accepts wrong, %d missing; summary: %s" %
                (offsets, len(bad), len(truth), len(missing), tracer.stderr.strip()))
    print("ok: offsets %s: %d accepts by %d processes and %d threads, each once with its own "
          "process and thread" % (offsets, len(truth), SERVERS + 1, THREADS))


def main():
    nt.require_root()
    for offsets in ("btf", "guess"):
        run(offsets)


if __name__ == "__main__":
    main()
