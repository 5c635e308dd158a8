"""What went wrong and how long it took, against what the application itself saw: failed
connects with the errno connect() returned (refused on loopback; timed out and host-unreachable
through nftables in a namespace pair; abandoned), resets on both ends of an SO_LINGER 0 close,
and handshake and connection durations against the application's clock."""
import errno
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

HOME = "/proc/%d/ns/net" % os.getpid()
# With BTF and with guessed offsets alike (guess.sh runs it with --offsets=guess too).
OFFSETS = "guessed" if "--offsets=guess" in nt.EXTRA else "BTF"
PREFIX = "10.198.%d" % (os.getpid() % 200 + 20)


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        nt.fail("%s: %s" % (" ".join(cmd), r.stderr.decode().strip()))


def nft(ns, rules):
    run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules.encode())


def one(recs, type_, **match):
    found = [r for r in recs if r["type"] == type_ and
             all(r.get(k) == v for k, v in match.items())]
    if len(found) != 1:
        nt.fail("%d %s records with %s, want 1: %s" % (len(found), type_, match, found[:3]))
    return found[0]


def near(what, got_us, want_s, frac=0.10):
    if abs(got_us / 1e6 - want_s) > frac * want_s:
        nt.fail("%s: %.3f s, the application measured %.3f s" % (what, got_us / 1e6, want_s))


def timed_connect(addr, timeout=None, syn_retries=None):
    """connect() in the client namespace: (socket or None, errno, seconds)."""
    c = socket.socket()
    c.settimeout(timeout)
    if syn_retries:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, syn_retries)
    t0 = time.monotonic()
    err = c.connect_ex(addr)
    dt = time.monotonic() - t0
    if err:
        c.close()
        return None, err, dt
    return c, 0, dt


def main():
    nt.require_root()
    tracer = nt.Tracer("-t", "30")
    me = os.getpid()

    # Refused on loopback.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed_port = s.getsockname()[1]
    s.close()
    _, err, _ = timed_connect(("127.0.0.1", closed_port))
    if err != errno.ECONNREFUSED:
        nt.fail("connect() to a closed port gave %s" % errno.errorcode.get(err, err))

    # SO_LINGER 0 on one end of a loopback pair, a normal close on another pair.
    c, srv, lst = nt.loopback_pair()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rst_ports = (c.getsockname()[1], lst.getsockname()[1])
    c.close()
    time.sleep(0.1)
    srv.close()
    lst.close()
    c, srv, lst = nt.loopback_pair()
    fin_ports = (c.getsockname()[1], lst.getsockname()[1])
    c.close()
    srv.close()
    lst.close()

    with nt.Netns("fa") as na, nt.Netns("fb") as nb:
        a, b = na.name, nb.name
        run(["ip", "link", "add", "nt-fa%d" % (me % 10000), "netns", a, "type", "veth", "peer",
             "name", "nt-fb%d" % (me % 10000), "netns", b])
        run(["ip", "-n", a, "addr", "add", PREFIX + ".1/24", "dev", "nt-fa%d" % (me % 10000)])
        run(["ip", "-n", b, "addr", "add", PREFIX + ".2/24", "dev", "nt-fb%d" % (me % 10000)])
        run(["ip", "-n", a, "link", "set", "nt-fa%d" % (me % 10000), "up"])
        run(["ip", "-n", b, "link", "set", "nt-fb%d" % (me % 10000), "up"])
        run(["ip", "netns", "exec", a, "sysctl", "-qw", "net.ipv4.tcp_syn_retries=1"])
        nt.setns("/run/netns/" + b)
        lst = socket.socket()
        lst.bind((PREFIX + ".2", 0))
        lst.listen()
        nt.setns(HOME)
        srv = PREFIX + ".2"
        drop_port, unreach_port, late_port, abandon_port = 7001, 7002, lst.getsockname()[1], 7003
        nft(b, """table inet ntfail {
  chain in {
    type filter hook input priority 0; policy accept;
    tcp dport { %d, %d } drop
    tcp dport %d reject with icmp type host-unreachable
  }
  chain late {
    type filter hook input priority -1; policy accept;
    tcp dport %d drop
  }
}
""" % (drop_port, abandon_port, unreach_port, late_port))
        nt.setns("/run/netns/" + a)
        try:
            _, err, timeout_s = timed_connect((srv, drop_port))
            if err != errno.ETIMEDOUT:
                nt.fail("connect() to a peer that drops SYNs gave %s" %
                        errno.errorcode.get(err, err))
            _, err, _ = timed_connect((srv, unreach_port))
            if err != errno.EHOSTUNREACH:
                nt.fail("connect() through reject host-unreachable gave %s" %
                        errno.errorcode.get(err, err))
            ab = socket.socket()
            ab.setblocking(False)
            ab.connect_ex((srv, abandon_port))
            time.sleep(0.2)
            ab_port = ab.getsockname()[1]
            ab.close()
            # The first SYN is dropped; the rule goes 0.3 s later, before the retransmission at
            # 1 s, or on a slow guest before one of the next two (3 s, 7 s).
            threading.Timer(0.3, lambda: nft(b, "delete chain inet ntfail late")).start()
            c, err, handshake_s = timed_connect((srv, late_port), syn_retries=3)
            t_est = time.monotonic()
            if err:
                nt.fail("connect() after a dropped SYN gave %s" % errno.errorcode.get(err, err))
        finally:
            nt.setns(HOME)
        s, _ = lst.accept()
        time.sleep(0.5)
        late_sport = c.getsockname()[1]
        c.close()
        held_s = time.monotonic() - t_est
        s.close()
        lst.close()
        nt.wait_for(lambda: nt.find(tracer.records(), "close", late_port, late_sport), 10,
                    "the server's close")
        recs = tracer.stop()

    def error_is(r, name):
        return r.get("error") == name and "abandoned" not in r

    r = one(recs, "connect_failed", dport=closed_port, daddr="127.0.0.1")
    if not error_is(r, "ECONNREFUSED") or r["pid"] != me:
        nt.fail("refused connect: %s" % r)
    r = one(recs, "connect_failed", dport=drop_port, daddr=srv)
    if not error_is(r, "ETIMEDOUT") or r["pid"] != me:
        nt.fail("timed-out connect: %s" % r)
    near("duration of the timed-out connect", r["duration_us"], timeout_s)
    r = one(recs, "connect_failed", dport=unreach_port, daddr=srv)
    if not error_is(r, "EHOSTUNREACH"):
        nt.fail("unreachable connect: %s" % r)
    r = one(recs, "connect_failed", dport=abandon_port, sport=ab_port)
    if "error" in r or r.get("abandoned") is not True:
        nt.fail("abandoned connect: %s" % r)
    if [x for x in recs if x["type"] == "connect" and x["dport"] in
            (closed_port, drop_port, unreach_port, abandon_port)]:
        nt.fail("a failed connect was also reported as a connect")
    print("ok (%s offsets): connect_failed ECONNREFUSED, ETIMEDOUT (%.2f s), EHOSTUNREACH and "
          "abandoned, as connect() returned them" % (OFFSETS, timeout_s))

    r = one(recs, "connect", sport=late_sport, dport=late_port)
    if handshake_s < 0.9:
        nt.fail("the first SYN was not dropped: connect() took %.3f s" % handshake_s)
    near("handshake after a dropped SYN", r["handshake_us"], handshake_s)
    handshake_us = r["handshake_us"]
    r = one(recs, "close", sport=late_sport, dport=late_port)
    near("duration of a connection held 0.5 s", r["duration_us"], held_s)
    if "reset" in r:
        nt.fail("a normal close reported a reset: %s" % r)
    print("ok: handshake %.3f s after a dropped SYN (connect() took %.3f s), duration %.3f s "
          "(held %.3f s)" % (handshake_us / 1e6, handshake_s, r["duration_us"] / 1e6, held_s))

    cport, lport = rst_ports
    r = one(recs, "close", sport=cport, dport=lport)
    if r.get("reset") != "sent":
        nt.fail("the SO_LINGER 0 end: %s" % r)
    r = one(recs, "close", sport=lport, dport=cport)
    if r.get("reset") != "received" or r.get("error") != "ECONNRESET":
        nt.fail("the peer of an SO_LINGER 0 close: %s" % r)
    cport, lport = fin_ports
    for r in (one(recs, "close", sport=cport, dport=lport),
              one(recs, "close", sport=lport, dport=cport)):
        if "reset" in r or "error" in r:
            nt.fail("a normal close: %s" % r)
    print("ok (%s offsets): SO_LINGER 0: reset sent on the closing end, received with "
          "ECONNRESET on the peer; a normal close has neither" % OFFSETS)


if __name__ == "__main__":
    main()
