"""A test peer in its own process: 'server' accepts, 'client' connects; both report tuples as JSON.

server FAMILY ADDR COUNT [V6ONLY]  prints {"port":P} at once, then, after COUNT connections,
                                   {"pid":..,"conns":[[saddr,sport,daddr,dport],...]}
client FAMILY ADDR PORT COUNT [PARALLEL]  connects COUNT times (in PARALLEL processes), prints
                                   {"pid":[..],"conns":[...]} with the local end first
"""
import json
import os
import socket
import sys


def name(n):
    with open("/proc/self/comm", "w") as f:
        f.write(n)


def tup(s):
    a, b = s.getsockname(), s.getpeername()
    return [a[0], a[1], b[0], b[1]]


def server(fam, addr, count, v6only=None):
    name("nt-server")
    lst = socket.socket(fam, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        lst.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    lst.bind((addr, 0))
    lst.listen(1024)
    print(json.dumps({"port": lst.getsockname()[1]}), flush=True)
    conns = []
    for _ in range(count):
        s, _ = lst.accept()
        conns.append(tup(s))
        while s.recv(4096):
            pass
        s.close()
    print(json.dumps({"pid": os.getpid(), "conns": conns}), flush=True)


def client_run(fam, addr, port, count):
    out = []
    for _ in range(count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.connect((addr, port))
        out.append(tup(s))
        s.sendall(b"ping")
        s.shutdown(socket.SHUT_WR)
        s.close()
    return out


def client(fam, addr, port, count, parallel=1):
    name("nt-client")
    if parallel == 1:
        print(json.dumps({"pid": [os.getpid()], "conns": client_run(fam, addr, port, count)}))
        return
    pipes, pids = [], []
    for _ in range(parallel):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            data = json.dumps(client_run(fam, addr, port, count)).encode()
            os.write(w, data)
            os._exit(0)
        os.close(w)
        pipes.append(r)
        pids.append(pid)
    conns = []
    for r in pipes:
        buf = b""
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            buf += chunk
        conns += json.loads(buf)
    for pid in pids:
        os.waitpid(pid, 0)
    print(json.dumps({"pid": pids, "conns": conns}))


if __name__ == "__main__":
    fam = {"4": socket.AF_INET, "6": socket.AF_INET6}[sys.argv[2]]
    if sys.argv[1] == "server":
        server(fam, sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
    else:
        client(fam, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
               int(sys.argv[6]) if len(sys.argv) > 6 else 1)
