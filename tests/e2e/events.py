"""connect / accept / close for IPv4, IPv6, v4-mapped IPv6 and another network namespace:
exactly one record of each kind per connection end, with the right process, tuple and netns."""
import ipaddress
import json
import os
import subprocess
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

PEER = os.path.join(nt.HERE, "peer.py")


def norm(addr):
    """The address as nettracer prints it: v4-mapped IPv6 becomes IPv4."""
    a = ipaddress.ip_address(addr.split("%")[0])
    if a.version == 6 and a.ipv4_mapped:
        return str(a.ipv4_mapped)
    return str(a)


def run_scenario(fam, listen, connect, count, parallel=1, v6only=None, netns=None):
    wrap = netns.cmd if netns else (lambda a: a)
    t0 = time.time()
    args = ["server", fam, listen, str(count * parallel)] + ([v6only] if v6only else [])
    srv = subprocess.Popen(wrap([sys.executable, PEER] + args), stdout=subprocess.PIPE)
    port = json.loads(srv.stdout.readline())["port"]
    cli = subprocess.run(wrap([sys.executable, PEER, "client", fam, connect, str(port),
                               str(count), str(parallel)]), stdout=subprocess.PIPE, check=True)
    client = json.loads(cli.stdout)
    server = json.loads(srv.stdout.readline())
    srv.wait()
    return {
        "t0": t0,
        "t1": time.time(),
        "port": port,
        "netns": netns.inode if netns else nt.own_netns(),
        "client": client,
        "server": server,
    }


def expected(sc):
    """(type, tuple) → [allowed pids, comm, count] for every record the scenario must produce.
    A count above 1: loopback reuses a client port in time-wait (tcp_tw_reuse=2)."""
    exp = {}
    for kind, pids, comm, types in (("client", sc["client"]["pid"], "nt-client",
                                     ("connect", "close")),
                                    ("server", [sc["server"]["pid"]], "nt-server",
                                     ("accept", "close"))):
        for c in sc[kind]["conns"]:
            key = (norm(c[0]), c[1], norm(c[2]), c[3])
            for t in types:
                exp.setdefault((t,) + key, [set(pids), comm, 0])[2] += 1
    return exp


def relevant(recs, sc):
    """The scenario's records; the test's own connections (sentinel, transfers) may have used
    the same port at another time."""
    # Another test running at the same time (make check -j), or other work on the host, can
    # listen on the same port once the scenario's server has gone: its records have neither
    # the scenario's tuples nor its processes. A record with one of the two is the
    # scenario's, right or wrong, and is checked.
    tuples = {(norm(c[0]), c[1], norm(c[2]), c[3]) for kind in ("client", "server")
              for c in sc[kind]["conns"]}
    pids = set(sc["client"]["pid"]) | {sc["server"]["pid"]} | set(sc.get("servers", []))
    # Only while it ran: a tuple reused later (the kernel gives the same ports again) is not
    # the scenario's. Closes may come a little after its processes have gone.
    return [r for r in recs if r["type"] in ("connect", "accept", "close")
            and r["netns"] == sc["netns"] and sc["port"] in (r["sport"], r["dport"])
            and r["pid"] != os.getpid() and (nt.conn_key(r) in tuples or r["pid"] in pids)
            and sc["t0"] - 1 <= nt.epoch(r["time"]) <= sc["t1"] + 10]


def check(recs, sc, family, exp=None):
    """exp: the expected records when several scenarios shared the listening port."""
    exp = exp or expected(sc)
    got = Counter((r["type"],) + nt.conn_key(r) for r in relevant(recs, sc))
    for k, n in got.items():
        if k not in exp:
            nt.fail("unexpected record %s" % (k,))
        if n != exp[k][2]:
            nt.fail("record %s reported %d times, made %d times: %s" % (
                k, n, exp[k][2], [r for r in relevant(recs, sc)
                                  if (r["type"],) + nt.conn_key(r) == k]))
    missing = [k for k in exp if k not in got]
    if missing:
        nt.fail("%d of %d records missing, e.g. %s" % (len(missing), len(exp), missing[:3]))
    for r in relevant(recs, sc):
        pids, comm, _ = exp[(r["type"],) + nt.conn_key(r)]
        if r["pid"] not in pids or r["comm"] != comm:
            nt.fail("wrong process in %s: pid %d comm %s, want %s %s: %s" %
                    (r["type"], r["pid"], r["comm"], pids, comm, json.dumps(r)))
        if r["family"] != family or r["uid"] != os.geteuid():
            nt.fail("wrong family or uid: %s" % r)
    return sum(e[2] for e in exp.values())


def by_port(recs):
    """(netns, port) -> the event records with that port at either end: a scenario's records
    are among those of its port, so a long run need not scan every record for each one."""
    index = {}
    for r in recs:
        if r["type"] in ("connect", "accept", "close"):
            for port in {r["sport"], r["dport"]}:
                index.setdefault((r["netns"], port), []).append(r)
    return index


def complete(tracer, scenarios):
    def done():
        index = by_port(tracer.records())
        mine = [(sc, relevant(index.get((sc["netns"], sc["port"]), []), sc))
                for sc, _ in scenarios]
        ok = all(len(rs) >= sum(e[2] for e in expected(sc).values()) for sc, rs in mine)
        if not ok:
            # Said on a timeout: which kinds of record are short.
            done.short = [(sc["port"], Counter(r["type"] for r in rs)) for sc, rs in mine]
        return ok
    return done


def main():
    nt.require_root()
    count = int(os.environ.get("NT_E2E_CONNS", "50"))
    tracer = nt.Tracer()
    with nt.Netns("ns") as ns:
        scenarios = [
            (run_scenario("4", "127.0.0.1", "127.0.0.1", count), "ipv4"),
            (run_scenario("6", "::1", "::1", count), "ipv6"),
            (run_scenario("6", "::", "::ffff:127.0.0.1", count, v6only="0"), "ipv4"),
            (run_scenario("4", "127.0.0.1", "127.0.0.1", count, netns=ns), "ipv4"),
        ]
        nt.wait_for(complete(tracer, scenarios), 20, "every record", tracer)
        recs = tracer.stop()
    for name, (sc, fam) in zip(("ipv4", "ipv6", "v4-mapped", "netns"), scenarios):
        n = check(recs, sc, fam)
        print("ok: %s: %d records exact (port %d, netns %d)" % (name, n, sc["port"], sc["netns"]))


if __name__ == "__main__":
    main()
