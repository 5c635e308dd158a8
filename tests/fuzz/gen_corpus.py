#!/usr/bin/env python3
"""Writes the committed fuzzing seeds under tests/fuzz/corpus/ (run it after an ABI change)."""
import os
import socket
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# struct nt_event in bpf/nettracer.h, little-endian: 128 bytes before the counters, 176 in all.
# ts, sk, type, netns, tuple (saddr, daddr, sport, dport, family, pad), owner (pid, uid, comm,
# cgroup_id), birth, duration, error, direction, reset, pad, reset_reason, pad.
HEAD = struct.Struct("<QQII16s16sHHHHII16sQQQiBBHII")
COUNTERS = struct.Struct("<QQIIIIIIIBBBB")
assert HEAD.size == 128 and COUNTERS.size == 48

AF_INET, AF_INET6 = 2, 10
CONNECT, ACCEPT, CLOSE = 1, 2, 3
OUTBOUND, INBOUND = 1, 2


def v4(text):
    return socket.inet_pton(socket.AF_INET, text).ljust(16, b"\0")


def v6(text):
    return socket.inet_pton(socket.AF_INET6, text)


def event(type_, family, saddr, daddr, comm, direction, counters=None, cgroup_id=4321,
          duration=1_500_000, error=0, reset=0, reason=0):
    head = HEAD.pack(5_000_000_000, 0xFFFF888012345678, type_, 4026531840, saddr, daddr,
                     43210, 443, family, 0, 4242, 1000, comm, cgroup_id, 1_000_000, duration,
                     error, direction, reset, 0, reason, 0)
    return head if counters is None else head + COUNTERS.pack(*counters)


# bytes_acked, bytes_received, segs_out, segs_in, retrans, srtt<<3, mdev<<2, snd_una, write_seq,
# state, prev_state, sk_flags, valid
FIN_BOTH_WAYS = (1002, 5001, 12, 9, 1, 800, 400, 7000, 7000, 7, 6, 2, 1)
RESET = (1, 0, 1, 1, 0, 0, 0, 0, 0, 7, 2, 0, 1)

# struct input in tests/fuzz/fuzz_json.c (x86-64 layout).
JSON_INPUT = struct.Struct("<BBBBIQQIIII16s16sHH4xQ5QII17s")
assert JSON_INPUT.size == 153


def record(type_, v6, saddr, daddr, comm, has_metrics=0, reason=0, seq=1,
           counters=(1002, 5001, 12, 9, 1), time_ns=1_700_000_000_123_456_789):
    return JSON_INPUT.pack(type_, v6, 1, has_metrics, reason, time_ns, seq, 4242, 1000,
                           4026531840, 3, saddr, daddr, 43210, 443, 7, *counters, 250, 125,
                           comm)


U64_MAX = 2**64 - 1

SEEDS = {
    "decode": {
        "connect_v4": event(CONNECT, AF_INET, v4("10.1.2.3"), v4("93.184.216.34"), b"curl",
                            OUTBOUND),
        "accept_v6": event(ACCEPT, AF_INET6, v6("2001:db8::1"), v6("2001:db8::2"), b"nginx",
                           INBOUND, (0,) * 13),
        "close_v4_mapped": event(CLOSE, AF_INET6, v6("::ffff:10.1.2.3"),
                                 v6("::ffff:93.184.216.34"), b"0123456789abcdef", OUTBOUND,
                                 FIN_BOTH_WAYS),
        "close_padded": event(CLOSE, AF_INET, v4("127.0.0.1"), v4("127.0.0.1"),
                              b"ab\xff\xfe\xc0\xaf\xed\xa0\x80", INBOUND, RESET) + b"\0" * 4,
    },
    "json": {
        "connect_v4": record(0, 0, v4("10.1.2.3"), v4("93.184.216.34"), b"curl"),
        "accept_v6": record(1, 1, v6("2001:db8::1"), v6("::1"), b"nginx"),
        "close_v4_mapped_v6": record(2, 1, v6("::ffff:10.1.2.3"), v6("::"),
                                     b"0123456789abcdefX", has_metrics=1),
        "metrics_max": record(3, 1, b"\xff" * 16, v6("1:0:0:1::"), b"\x1f" * 16, has_metrics=1,
                              seq=U64_MAX, counters=(U64_MAX, 2**63, 2**63 - 1, 2**53 + 1, 0),
                              time_ns=U64_MAX),
        "lost_perf_buffer": record(4, 0, b"", b"", b"", reason=0, seq=2**63),
        "lost_output": record(4, 0, b"", b"", b"", reason=1, time_ns=0),
        "comm_escapes": record(0, 0, v4("0.0.0.0"), v4("255.255.255.255"),
                               b"a\"b\\c\n\x01\x7f\xc0\xaf\xed\xa0\x80\xe2\x82"),
    },
    "procnet": {
        "socket": b"socket:[12345]",
        "pipe": b"pipe:[3]",
        "status": b"Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nPid:\t42\n"
                  b"PPid:\t1\nUid:\t33\t33\t33\t33\nGid:\t33\t33\t33\t33\n",
    },
    "cli": {
        "interval": b"-t\x000.5\x00-i\x00-v",
        "long": b"--interval=2\x00--map-size=1024\x00--perf-pages=64\x00--attach=kprobe\x00"
                b"-o\x00/tmp/out.ndjson",
        "filters": b"-p\x0042\x00--pid=7\x00--port=443\x00--netns=4026531840\x00--no-loopback\x00"
                   b"--events=connect,close,metrics",
        "cluster": b"-ivt3\x00-hV",
        "display": b"-d\x00--sort=rtt\x00--offsets=guess\x00--events=metrics,lost",
    },
    # fuzz_deltas.c: a mode byte (1: -i), then (op, a, b) steps; op & 7 is the step, op >> 3
    # the socket address: 0, 1 grow; 2 open; 3 close; 4 read closes; 5 lose one; 6 dump (a:
    # closes racing it); 7 FINs.
    "deltas": {
        "reuse": bytes([1]) + bytes(sum(([op, a, b] for op, a, b in (
            (2, 0, 0), (0, 40, 3), (6, 0, 0), (0, 9, 200), (3, 0, 0), (2, 1, 0), (0, 1, 1),
            (6, 0, 0), (4, 3, 0), (6, 0, 0))), [])),
        "racing": bytes([1]) + bytes(sum(([op, a, b] for op, a, b in (
            (2, 0, 0), (10, 1, 0), (0, 200, 7), (8, 3, 9), (6, 0, 0), (7, 3, 0), (6, 0x21, 0),
            (2, 0, 0), (0, 5, 5), (5, 0, 0), (6, 0x03, 0), (6, 0, 0))), [])),
        "totals": bytes([0]) + bytes(sum(([op, a, b] for op, a, b in (
            (2, 0, 0), (0, 77, 0xc0), (6, 0, 0), (3, 0, 0), (6, 0, 0))), [])),
    },
    # fuzz_table.c: sort, width, height, ansi, time, events, failed, lost; 64 bytes a row.
    "table": {
        "terminal": bytes([5, 80, 10, 1]) + struct.pack("<QHBB", 1700000000 << 30, 9, 1, 0) +
        bytes(range(64)) * 3,
        "plain": bytes([0, 0x80, 0x80, 0]) + struct.pack("<QHBB", 0, 300, 2, 1) +
        bytes(range(255, 191, -1)) * 2,
        "narrow": bytes([7, 30, 4, 0]) + bytes(12) + bytes(range(1, 65)) * 5,
    },
}

for name, seeds in SEEDS.items():
    directory = os.path.join(HERE, "corpus", name)
    os.makedirs(directory, exist_ok=True)
    for seed, data in seeds.items():
        with open(os.path.join(directory, seed), "wb") as f:
            f.write(data)
