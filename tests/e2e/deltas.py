"""-i under churn: the kernel reuses a closed socket's memory at once, yet every connection's
deltas add up to its own totals, and no delta is ever above them.

Three tracers watch the same churn: one with -i, one with -i --events=metrics (every close is
filtered in the kernel, so nothing but the dumps says a connection ended), and one that writes
totals. The truths: the bytes each end of each connection sent and received, counted by this
test, and the totals tracer's close records for the packet and retransmit counters."""
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

CONNS = int(os.environ.get("NT_E2E_CONNS_DELTAS", "300"))
PARALLEL = 20
INTERVAL = 0.1
FIELDS = ("bytes_sent", "bytes_received", "packets_sent", "packets_received", "retransmits")


def serve(lst, truth, lock):
    def handle(s):
        got = sent = 0
        tail = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
            tail = (tail + chunk)[-8:]
            # Each message of the client ends with the size of the reply it asks for and a
            # mark: "!" for the first, "?" for the second.
            if tail[-1:] in (b"!", b"?"):
                n = int(tail[:-1])
                s.sendall(b"y" * n)
                sent += n
        peer = s.getpeername()[:2]
        s.close()
        with lock:
            truth[("server", peer)] = (sent, got)

    while True:
        try:
            s, _ = lst.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(s,), daemon=True).start()


def client(port, src, rng, truth, lock):
    # Each client has a loopback address of its own: the kernel reuses a local port whose
    # connection is in time-wait (tcp_tw_reuse), and two connections with one four-tuple
    # would be one in the truth and in the records.
    c = socket.create_connection(("127.0.0.1", port), source_address=(src, 0))
    me = c.getsockname()[:2]
    sent = got = 0
    for mark, hold in ((b"!", rng.uniform(0, 0.35)), (b"?", 2.5 * INTERVAL)):
        n, reply = rng.randrange(1, 200000), rng.randrange(1, 200000)
        msg = b"x" * n + b"%07d" % reply + mark
        c.sendall(msg)
        sent += len(msg)
        want = got + reply
        while got < want:
            got += len(c.recv(65536))
        # Idle: the dumps of the hold see counters that no longer move.
        time.sleep(hold)
    c.close()
    with lock:
        truth[("client", me)] = (sent, got)


def by_conn(recs, server):
    """(end, client address and port) → records of that connection end, in order. The end is
    told by the server's address and port together: a client on an address of its own may get
    the server's port number as its own."""
    out = {}
    for r in recs:
        if r["type"] not in ("metrics", "close"):
            continue
        if (r["saddr"], r["sport"]) == server:
            out.setdefault(("server", (r["daddr"], r["dport"])), []).append(r)
        elif (r["daddr"], r["dport"]) == server:
            out.setdefault(("client", (r["saddr"], r["sport"])), []).append(r)
    return out


def main():
    nt.require_root()
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(128)
    port = lst.getsockname()[1]
    truth, lock = {}, threading.Lock()
    seed = int(os.environ.get("NT_SEED", time.time()))
    rng = random.Random(seed)
    t_inc = nt.Tracer("-i", "-t", str(INTERVAL), "--port", str(port), sentinel=False)
    t_met = nt.Tracer("-i", "-t", str(INTERVAL), "--events=metrics", "--port", str(port),
                      sentinel=False)
    t_tot = nt.Tracer("--events=close", "--port", str(port), sentinel=False)
    threading.Thread(target=serve, args=(lst, truth, lock), daemon=True).start()
    sem = threading.Semaphore(PARALLEL)
    threads = []

    def one(i, r):
        try:
            client(port, "127.1.%d.%d" % (i // 250, i % 250 + 1), r, truth, lock)
        finally:
            sem.release()

    for i in range(CONNS):
        sem.acquire()
        th = threading.Thread(target=one, args=(i, random.Random(rng.random())))
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    nt.wait_for(lambda: len(truth) == 2 * CONNS and nt.port_quiet(port), 30,
                "every connection closed at both ends",
                show=lambda: "%d of %d ends done; sockets on the port: %s" %
                (len(truth), 2 * CONNS, nt.port_sockets(port)))
    time.sleep(3 * INTERVAL)  # a last dump after the last close
    lst.close()
    tracers = (("inc", t_inc), ("met", t_met), ("tot", t_tot))
    recs = {name: by_conn(t.stop(), ("127.0.0.1", port)) for name, t in tracers}

    bad = []
    for key, (sent, got) in truth.items():
        tot = recs["tot"].get(key)
        if not tot or len(tot) != 1:
            bad.append("%s: %d close records from the totals tracer" % (key, len(tot or [])))
            continue
        total = tot[0]
        if (total["bytes_sent"], total["bytes_received"]) != (sent, got):
            bad.append("%s: totals %d/%d bytes, the application moved %d/%d" %
                       (key, total["bytes_sent"], total["bytes_received"], sent, got))
        for mode in ("inc", "met"):
            rs = recs[mode].get(key, [])
            closes = [r for r in rs if r["type"] == "close"]
            if len(closes) != (1 if mode == "inc" else 0):
                bad.append("%s %s: %d close records" % (mode, key, len(closes)))
            for f in FIELDS:
                over = [r[f] for r in rs if r[f] > total[f]]
                if over:
                    bad.append("%s %s: %s %s above the total %d" % (mode, key, f, over,
                                                                   total[f]))
                s = sum(r[f] for r in rs)
                # Without closes the last dump precedes the FIN and its ACK: only the packet
                # counters may fall short, by the few segments of the close.
                short_ok = mode == "met" and f.startswith("packets")
                if s != total[f] and not (short_ok and total[f] - 4 <= s <= total[f]):
                    bad.append("%s %s: deltas of %s add up to %d, the total is %d (%s)" %
                               (mode, key, f, s, total[f], [r[f] for r in rs]))
    if bad:
        print("seed %d; %d problems:" % (seed, len(bad)))
        print("\n".join(bad[:20]))
        for name, t in tracers:
            print("%s tracer: %s" % (name, t.stderr.strip()))
        nt.fail("deltas do not add up to the totals")
    n = sum(len(v) for v in recs["inc"].values())
    print("ok: %d connections, both ends: %d -i records add up to the totals and the bytes "
          "moved, also with --events=metrics (seed %d)" % (CONNS, n, seed))


if __name__ == "__main__":
    main()
