"""The nest stack of the two state change hooks, driven step by step on a live nettracer.

The kernel skips a BPF program on a CPU where it is already running, so tp_set_state notes each
change it starts on a per-CPU stack and tp_set_state_nested handles the changes it does not
find there (bpf/nettracer.bpf.c). Nesting comes from interrupts and cannot be arranged from a
test, so this test plays the kernel's part: BPF_PROG_TEST_RUN runs either program of the loaded
object on one CPU with arguments of its choosing (socket addresses that are no socket, which the
handlers ignore), in the orders the kernel produces when it skips one of them, and bpftool
reads the stack and the counters back. After each step they must equal what the stack's rules
give: the model below."""
import ctypes
import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
BPF_PROG_TEST_RUN, BPF_PROG_GET_FD_BY_ID = 10, 13
BPF_F_TEST_RUN_ON_CPU = 1
NEST_MAX = 8
NEST = struct.Struct("<IIII" + "QQ" * NEST_MAX)
libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd, attr):
    """The bpf() system call: its return value (a file descriptor for the GET_FD commands)."""
    buf = ctypes.create_string_buffer(attr, 128)
    libc.syscall.restype = ctypes.c_long
    ret = libc.syscall(SYS_BPF, cmd, buf, 128)
    if ret < 0:
        nt.fail("bpf(%d): %s" % (cmd, os.strerror(ctypes.get_errno())))
    return ret


def bpftool(*args):
    return json.loads(subprocess.run(["bpftool", "-j"] + list(args), check=True,
                                     stdout=subprocess.PIPE).stdout)


def stat_index(name):
    """Where the stats map keeps a counter: the enum in the ABI header."""
    with open(os.path.join(nt.HERE, "..", "..", "bpf", "nettracer.h")) as f:
        body = re.search(r"enum nt_stat \{(.*?)\};", f.read(), re.S).group(1)
    names = re.findall(r"^\s*(NT_STAT_\w+)", body, re.M)
    return names.index(name)


class Hooks:
    """The two programs and two maps of the running nettracer, run and read on one CPU."""

    def __init__(self, cpu):
        self.cpu = cpu
        progs = {p["name"]: p for p in bpftool("prog", "show") if p["name"].startswith("tp_set_state")}
        if set(progs) != {"tp_set_state", "tp_set_state_nested"}:
            nt.fail("state change programs loaded: %s" % sorted(progs))
        self.fd = {}
        for name, p in progs.items():
            self.fd[name] = bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("<I", p["id"]))
        maps = {m["name"]: m["id"] for m in bpftool("map", "show")
                if m["id"] in progs["tp_set_state"]["map_ids"]}
        self.nest_id, self.stats_id = maps["nest"], maps["stats"]
        size = bpftool("map", "show", "id", str(self.nest_id))["bytes_value"]
        if size != NEST.size:
            nt.fail("the nest map holds %d bytes, this test reads %d: update NEST" %
                    (size, NEST.size))
        self.nested_key = stat_index("NT_STAT_NESTED")

    def run(self, name, sk, old, new):
        ctx = ctypes.create_string_buffer(struct.pack("<QQQ", sk, old, new))
        attr = struct.pack("<IIIIQQIIIIQQIII", self.fd[name], 0, 0, 0, 0, 0, 0, 0,
                           len(ctx.raw), 0, ctypes.addressof(ctx), 0,
                           BPF_F_TEST_RUN_ON_CPU, self.cpu, 0)
        bpf(BPF_PROG_TEST_RUN, attr)

    def _value(self, map_id, key):
        entry = bpftool("map", "lookup", "id", str(map_id), "key",
                        *[str(b) for b in struct.pack("<I", key)])
        for v in entry["values"]:
            if v["cpu"] == self.cpu:
                return bytes(int(b, 16) for b in v["value"])
        nt.fail("no value for CPU %d in map %d" % (self.cpu, map_id))

    def stack(self):
        fields = NEST.unpack(self._value(self.nest_id, 0))
        n, depth, nesting = fields[:3]
        changes = [(fields[4 + 2 * i], fields[5 + 2 * i]) for i in range(NEST_MAX)]
        return n, depth, nesting, changes[:n]

    def nested(self):
        return struct.unpack("<Q", self._value(self.stats_id, self.nested_key))[0]


class Model:
    """The stack's rules. First program: push (when full, the oldest entry goes). Second
    program: outside the first one's code, look from the top down; a change found is removed
    with every entry above it, one not found is handled and counted."""

    def __init__(self, changes, nested):
        self.changes, self.nested = list(changes), nested

    def first(self, change):
        self.changes = (self.changes + [change])[-NEST_MAX:]

    def second(self, change):
        for i in range(len(self.changes) - 1, -1, -1):
            if self.changes[i] == change:
                del self.changes[i:]
                return
        self.nested += 1


def main():
    nt.require_root()
    if SYS_BPF is None:
        nt.skip("no bpf syscall number for " + platform.machine())
    if not shutil.which("bpftool"):
        nt.skip("no bpftool")
    tracer = nt.Tracer()
    cpu = os.cpu_count() - 1
    os.sched_setaffinity(0, {cpu})  # this process' own sockets stay off the others' way
    hooks = Hooks(cpu)
    n, depth, nesting, changes = hooks.stack()
    if depth or nesting:
        nt.fail("idle CPU %d: depth %d, nesting %d" % (cpu, depth, nesting))
    model = Model(changes, hooks.nested())
    sk = lambda i: 0xdead0000 + 0x100 * i  # noqa: E731  (user addresses: no socket there)
    change = lambda i: (sk(i), 1 << 32 | 7)  # noqa: E731  ESTABLISHED -> CLOSE, as noted
    steps = [
        ("both programs run", [("first", 1), ("second", 1)]),
        ("the kernel skipped the first", [("second", 2)]),
        ("the kernel skipped the second: its entry stays", [("first", 3)]),
        ("a change between the two programs of another", [("first", 4), ("first", 5),
                                                          ("second", 5), ("second", 4)]),
        ("an entry left above is dropped with the one found", [("first", 6), ("first", 7),
                                                               ("second", 6)]),
        ("a full stack drops its oldest entry", [("first", 10 + i) for i in range(NEST_MAX + 2)]),
        ("the newest is found at the top", [("second", 10 + NEST_MAX + 1)]),
        ("a dropped entry is not found: taken", [("second", 10)]),
        ("the oldest left is found at the bottom", [("second", 12)]),
    ]
    for what, runs in steps:
        for prog, i in runs:
            hooks.run("tp_set_state" if prog == "first" else "tp_set_state_nested",
                      sk(i), 1, 7)
            getattr(model, prog)(change(i))
        got = hooks.stack()
        if got[3] != model.changes or got[1] or got[2] or hooks.nested() != model.nested:
            nt.fail("%s: stack %s, taken %d; the rules give %s, taken %d"
                    % (what, [hex(c[0]) for c in got[3]], hooks.nested(),
                       [hex(c[0]) for c in model.changes], model.nested))
        print("ok: %s (%d entries, %d taken)" % (what, len(model.changes), model.nested))
    tracer.stop()
    print("ok: nest stack follows its rules through %d steps" % len(steps))


if __name__ == "__main__":
    main()
