"""--format=ecs: a storm of loopback connections traced twice at once, once in ECS and once in the
default format; every ECS line parses, and each record's ECS values equal the default record's,
converted here to ECS independently of src/ecs.c (nettracer(8), ECS OUTPUT, is the mapping)."""
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

STORM = 150      # connections that come and go
HELD = 4         # connections held open, idle, through a dump (metrics records)
RESET_EVERY = 10  # every tenth storm connection ends with a reset (SO_LINGER 0)
REFUSED = 8      # connects to a closed port: connect_failed ECONNREFUSED
# The two tracers run their own probes: what each stamps with its own clock read (the record's
# time, a duration) differs by the time between the two programs' runs. Everything else must be
# equal.
TIME_SLACK_NS = 5_000_000


def expected_ecs(r):
    """A default-format record as ECS, from the man page's table."""
    t = r["type"]
    e = {"@timestamp": r["time"], "ecs": {"version": "8.11.0"}}
    ev = {"kind": {"metrics": "metric", "lost": "pipeline_error"}.get(t, "event"),
          "action": {"connect": "connection-connect", "accept": "connection-accept",
                     "close": "connection-close", "connect_failed": "connection-failed",
                     "metrics": "connection-metrics", "lost": "records-lost"}[t],
          "sequence": r["seq"]}
    e["event"] = ev
    if t == "lost":
        lost = {"reason": r["reason"], "count": r["count"]}
        if "cpu" in r:
            lost["cpu"] = r["cpu"]
        e["nettracer"] = {"lost": lost}
        return e
    ev["category"] = ["network"]
    ev["type"] = ["connection", {"close": "end", "metrics": "info"}.get(t, "start")]
    if t != "metrics":
        bad = t == "connect_failed" or (t == "close" and ("reset" in r or "error" in r))
        ev["outcome"] = "failure" if bad else "success"
    us = r.get("handshake_us" if t == "connect" else "duration_us")
    if us is not None:
        ev["duration"] = us * 1000
    direction = r.get("direction", {"connect": "outbound", "connect_failed": "outbound",
                                    "accept": "inbound"}.get(t, "unknown"))
    local = {"ip": r["saddr"], "port": r["sport"]}
    remote = {"ip": r["daddr"], "port": r["dport"]}
    if "bytes_sent" in r:
        local.update(bytes=r["bytes_sent"], packets=r["packets_sent"])
        remote.update(bytes=r["bytes_received"], packets=r["packets_received"])
    src, dst = (remote, local) if direction == "inbound" else (local, remote)
    e["source"], e["destination"] = src, dst
    e["network"] = {"transport": "tcp", "type": r["family"],
                    "direction": {"outbound": "egress", "inbound": "ingress"}.get(direction,
                                                                                 "unknown")}
    e["process"] = {"pid": r["pid"], "name": r["comm"]}
    e["user"] = {"id": str(r["uid"])}
    if "container_id" in r:
        e["container"] = {"id": r["container_id"]}
    n = {"netns": r["netns"]}
    for k in ("cgroup_id", "cgroup", "retransmits", "rtt_us", "rttvar_us", "reset",
              "reset_reason", "error", "abandoned"):
        if k in r:
            n[k] = r[k]
    e["nettracer"] = n
    return e


def key(e):
    """One record of one end of a connection, in either format once converted: on loopback both
    ends have the same source (the initiator) and destination, and differ by direction."""
    return (e["event"]["action"], e["network"]["direction"], e["source"]["ip"], e["source"]["port"],
            e["destination"]["ip"], e["destination"]["port"])


def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def stop(tr):
    tr.proc.send_signal(signal.SIGINT)
    if tr.proc.wait(10) != 0:
        nt.fail("nettracer exited with %d: %s" % (tr.proc.returncode, open(tr.errpath).read()))
    nt.complete_file(tr.path)


def serve(lst, stop_ev):
    while not stop_ev.is_set():
        try:
            s, _ = lst.accept()
        except OSError:
            return
        threading.Thread(target=echo, args=(s,), daemon=True).start()


def echo(s):
    with s:
        data = b""
        while len(data) < 1000:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        try:
            s.sendall(b"y" * 3000)
        except OSError:
            pass


def unacked(s):
    return struct.unpack_from("I", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104), 24)[0]


def main():
    nt.require_root()
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(256)
    port = lst.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connects are refused
    cport = closed.getsockname()[1]
    args = ["-t", "1", "--port", str(port), "--port", str(cport)]
    ecs = nt.Tracer("--format=ecs", *args, sentinel=False)
    dflt = nt.Tracer(*args, sentinel=False)
    stop_ev = threading.Event()
    threading.Thread(target=serve, args=(lst, stop_ev), daemon=True).start()

    for i in range(STORM):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"x" * 1000)
        got = 0
        while got < 3000:
            got += len(c.recv(65536))
        if i % RESET_EVERY == 0:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    for _ in range(REFUSED):
        s = socket.socket()
        if s.connect_ex(("127.0.0.1", cport)) == 0:
            nt.fail("a connect to a port that does not listen succeeded")
        s.close()
    held = []
    for _ in range(HELD):
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"x" * 500)  # below the server's 1000: it waits, the pair stays established
        held.append(c)
    nt.wait_for(lambda: not any(unacked(c) for c in held), 10, "held data acknowledged")
    # Counters settle: the last dump of each tracer comes a second or more after the last ack.
    t0 = time.time() + 1.0

    def dumped(tr):
        want = {c.getsockname()[1] for c in held}
        seen = {r["sport"] for r in tr.records()
                if r["type"] == "metrics" and nt.epoch(r["time"]) > t0 + 0.01}
        return want <= seen

    def dumped_ecs():
        want = {c.getsockname()[1] for c in held}
        seen = {e["source"]["port"] for e in read_ecs(ecs.path, partial=True)
                if e["event"]["kind"] == "metric" and nt.epoch(e["@timestamp"]) > t0 + 0.01}
        return want <= seen
    nt.wait_for(lambda: dumped(dflt) and dumped_ecs(), 15, "a dump after the traffic in both")
    stop(ecs)
    drecs = dflt.stop()
    for c in held:
        c.close()
    stop_ev.set()
    lst.close()
    closed.close()

    got = read_ecs(ecs.path)
    for n, e in enumerate(got, 1):
        if e["event"]["sequence"] != n:
            nt.fail("ECS line %d has event.sequence %r" % (n, e["event"]["sequence"]))
    # Metrics: the last dump, per connection end, in each file (the held ends are idle by then).
    want = {}
    for r in drecs:
        if r["type"] == "metrics" and nt.epoch(r["time"]) <= t0 + 0.01:
            continue
        want[key(expected_ecs(r))] = expected_ecs(r)
    have = {}
    for e in got:
        if e["event"]["kind"] == "metric" and nt.epoch(e["@timestamp"]) <= t0 + 0.01:
            continue
        have[key(e)] = e
    if set(want) != set(have):
        nt.fail("records in one format only: default %s, ECS %s" %
                (sorted(set(want) - set(have))[:5], sorted(set(have) - set(want))[:5]))
    counts = {}
    for k, w in want.items():
        fw, fh = flat(w), flat(have[k])
        del fw["event.sequence"], fh["event.sequence"]  # each stream numbers its own
        if set(fw) != set(fh):
            nt.fail("%s: fields differ: want only %s, ECS only %s" %
                    (k, sorted(set(fw) - set(fh)), sorted(set(fh) - set(fw))))
        for f in fw:
            a, b = fw[f], fh[f]
            if f == "@timestamp":
                a, b = nt.epoch(a) * 1e9, nt.epoch(b) * 1e9
            if f in ("@timestamp", "event.duration"):
                # event.duration: ECS nanoseconds against the default's microseconds * 1000.
                # A metrics record's time is its tracer's dump time: the two dump on their own
                # clocks, within one interval (-t 1) of each other.
                slack = TIME_SLACK_NS + (1000 if f == "event.duration" else 0)
                if k[0] == "connection-metrics" and f == "@timestamp":
                    slack = 1_000_000_000 + TIME_SLACK_NS
                if abs(a - b) > slack:
                    nt.fail("%s: %s is %r in ECS, %r by the default format" % (k, f, fh[f],
                                                                               fw[f]))
            elif a != b:
                nt.fail("%s: %s is %r in ECS, %r by the default format" % (k, f, b, a))
        counts[k[0]] = counts.get(k[0], 0) + 1
    outcomes = {}
    for e in have.values():
        o = (e["event"]["action"], e["event"].get("outcome"))
        outcomes[o] = outcomes.get(o, 0) + 1
    if counts.get("connection-connect", 0) < STORM + HELD or \
            counts.get("connection-failed", 0) != REFUSED or \
            counts.get("connection-metrics", 0) < 2 * HELD or \
            outcomes.get(("connection-close", "failure"), 0) < STORM // RESET_EVERY:
        nt.fail("not every kind of record was compared: %s %s" % (counts, outcomes))
    print("ok: %d ECS lines parse; %d records equal field by field to the default format's "
          "(%s)" % (len(got), len(want), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))


def read_ecs(path, partial=False):
    out = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                if partial:
                    break
                nt.fail("%s line %d has no newline" % (path, n))
            try:
                out.append(json.loads(line))
            except ValueError as e:
                nt.fail("ECS line %d does not parse (%s): %r" % (n, e, line[:200]))
    return out


if __name__ == "__main__":
    main()
