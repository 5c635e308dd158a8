"""The nest stack of the two state change hooks, driven step by step.

The kernel skips a BPF program on a CPU where it is already running, so tp_set_state notes each
change it starts on a per-CPU stack and tp_set_state_nested handles the changes it does not
find there (bpf/nettracer.bpf.c). Nesting comes from interrupts and cannot be arranged from a
test, so this test plays the kernel's part: BPF_PROG_TEST_RUN runs either program on one CPU
with arguments of its choosing (socket addresses that are no socket, which the handlers ignore),
in the orders the kernel produces when it skips one of them, and the counter of changes the
second program took back is read after each run.

The programs are nettracer's own object (the guessed-offset one under --offsets=guess), loaded
by tests/e2e/nest_load and attached nowhere: no state change of the machine runs them, so the
stack holds only what the test's runs leave there, whatever else the machine does.

What is checked is the requirement, not the stack's rules: for each run of the second program,
it must take (report) the change exactly when the first program did not run for it, as the
scenario says. The scenarios are the orders the kernel makes: TCP changes state in process
context and in a softirq that interrupts it, and in process context the second program always
runs after the first. The programs tell contexts apart by the frame of the tracepoint call (its
ctx, where the kernel keeps the arguments); BPF_PROG_TEST_RUN copies the arguments for each
run, so nest_load sets the object's nest_frame_from_args and the test passes the frame as a
fourth argument: one for the process, one per call path of a softirq. Real nesting runs the
second program while the first is still running on the CPU (depth > 0): the test sets depth in
the map as the interrupted first program would have it, so that branch is driven too."""
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
BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM = 1, 2
BPF_PROG_TEST_RUN, BPF_PROG_GET_FD_BY_ID, BPF_MAP_GET_FD_BY_ID = 10, 13, 14
BPF_F_TEST_RUN_ON_CPU = 1
NEST_MAX = 16
NEST = struct.Struct("<IIII" + "QQII" * NEST_MAX)
PROCESS_FRAME, SOFTIRQ_FRAME = 0x1000, 0x2000  # a softirq's call path k: SOFTIRQ_FRAME + 0x40 k
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
    """The two programs and two maps of an unattached copy of nettracer's object, run and read
    on one CPU."""

    def __init__(self, cpu):
        self.cpu = cpu
        tool = os.environ.get("NEST_LOAD") or os.path.join(os.path.dirname(nt.NETTRACER),
                                                           "tests", "e2e", "nest_load")
        if not os.path.exists(tool):
            nt.fail("no %s: make check builds it (make tests/e2e/nest_load)" % tool)
        kind = "guess" if "--offsets=guess" in nt.EXTRA else "btf"
        self.loader = subprocess.Popen(nt.as_service([tool, kind]), stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
        ids = {}
        for line in self.loader.stdout:
            if line.strip() == "ready":
                break
            name, i = line.split()
            ids[name] = int(i)
        else:
            nt.load_failed("tests/e2e/nest_load exited with %s" % self.loader.wait())
        if set(ids) != {"tp_set_state", "tp_set_state_nested", "nest", "stats"} or \
                not all(ids.values()):
            nt.fail("nest_load gave %s" % ids)
        self.fd = {name: bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("<I", ids[name]))
                   for name in ("tp_set_state", "tp_set_state_nested")}
        self.nest_id, self.stats_id = ids["nest"], ids["stats"]
        # Per-CPU maps, read and written whole through bpf(): a bpftool process per step is
        # slow in the VM matrix's emulated guests.
        self.map_fd = {i: bpf(BPF_MAP_GET_FD_BY_ID, struct.pack("<I", i))
                       for i in (self.nest_id, self.stats_id)}
        with open("/sys/devices/system/cpu/possible") as f:
            self.ncpus = 1 + max(int(r.split("-")[-1]) for r in f.read().strip().split(","))
        size = bpftool("map", "show", "id", str(self.nest_id))["bytes_value"]
        if size != NEST.size:
            nt.fail("the nest map holds %d bytes, this test reads %d: update NEST" %
                    (size, NEST.size))
        self.nested_key = stat_index("NT_STAT_NESTED")

    def close(self):
        self.loader.stdin.close()
        if self.loader.wait(timeout=10):
            nt.fail("nest_load exited with %d" % self.loader.returncode)

    def run(self, name, sk, old, new, frame):
        args = struct.pack("<QQQQ", sk, old, new, frame)
        ctx = ctypes.create_string_buffer(args, len(args))
        attr = struct.pack("<IIIIQQIIIIQQIII", self.fd[name], 0, 0, 0, 0, 0, 0, 0,
                           len(ctx.raw), 0, ctypes.addressof(ctx), 0,
                           BPF_F_TEST_RUN_ON_CPU, self.cpu, 0)
        bpf(BPF_PROG_TEST_RUN, attr)

    def _values(self, map_id, key, size, cmd=BPF_MAP_LOOKUP_ELEM, values=None):
        """Every CPU's value (a per-CPU map keeps each rounded up to 8 bytes); written first
        when values are given."""
        slot = (size + 7) // 8 * 8
        k = ctypes.create_string_buffer(struct.pack("<I", key), 4)
        v = ctypes.create_string_buffer(b"".join(x.ljust(slot, b"\0") for x in values)
                                        if values else slot * self.ncpus, slot * self.ncpus)
        bpf(cmd, struct.pack("<IIQQQ", self.map_fd[map_id], 0, ctypes.addressof(k),
                             ctypes.addressof(v), 0))
        return [v.raw[c * slot:c * slot + size] for c in range(self.ncpus)]

    def _value(self, map_id, key, size):
        return self._values(map_id, key, size)[self.cpu]

    def stack(self):
        fields = NEST.unpack(self._value(self.nest_id, 0, NEST.size))
        n, depth, nesting = fields[:3]
        changes = [tuple(fields[4 + 4 * i:8 + 4 * i]) for i in range(NEST_MAX)]
        return n, depth, nesting, changes[:n]

    def set_depth(self, depth):
        """depth as the first program keeps it while it runs: as if it had been interrupted.
        Written on this test's CPU only: the programs are attached nowhere."""
        values = self._values(self.nest_id, 0, NEST.size)
        raw = bytearray(values[self.cpu])
        struct.pack_into("<I", raw, 4, depth)
        values[self.cpu] = bytes(raw)
        self._values(self.nest_id, 0, NEST.size, BPF_MAP_UPDATE_ELEM, values)

    def nested(self):
        return struct.unpack("<Q", self._value(self.stats_id, self.nested_key, 8))[0]


def play(hooks, steps, sk):
    """Runs every step and checks, after each run of the second program, that it took the change
    exactly when the scenario says it must. A step is (program, change, must the second take
    it?): "first" and "second" run in process context, "first/softirq" and "second/softirq" in
    a softirq (by its call path 0; "first/softirq:3" by path 3); "depth" sets the first
    program's depth."""
    for what, runs in steps:
        for prog, i, take in runs:
            if prog == "depth":
                hooks.set_depth(i)
                continue
            name, _, where = prog.partition("/")
            path = int(where.partition(":")[2] or 0)
            frame = SOFTIRQ_FRAME + 0x40 * path if where else PROCESS_FRAME
            before, count = hooks.stack(), hooks.nested()
            hooks.run("tp_set_state" if name == "first" else "tp_set_state_nested", sk(i), 1, 7,
                      frame)
            got = hooks.stack()
            delta = hooks.nested() - count
            if name == "first" and delta:
                nt.fail("%s: the first program changed the count of taken changes" % what)
            if take is not None and delta != int(take):
                nt.fail("%s: the second program %s change %d (it must %s); stack before %s, "
                        "now %s, depth %d" % (what, "took" if delta else "did not take", i,
                                              "take it" if take else "not take it",
                                              [hex(c[0]) for c in before[3]],
                                              [hex(c[0]) for c in got[3]], got[1]))
            if got[0] > NEST_MAX or got[2]:
                nt.fail("%s: stack of %d entries, nesting flag %d" % (what, got[0], got[2]))
        print("ok: %s" % what)


def main():
    nt.require_root()
    if SYS_BPF is None:
        nt.skip("no bpf syscall number for " + platform.machine())
    if not shutil.which("bpftool"):
        nt.skip("no bpftool")
    cpu = os.cpu_count() - 1
    hooks = Hooks(cpu)
    n, depth, nesting, changes = hooks.stack()
    if n or depth or nesting:
        nt.fail("the stack of programs nothing ran: %d entries, depth %d, nesting %d" %
                (n, depth, nesting))
    sk = lambda i: 0xdead0000 + 0x100 * i  # noqa: E731  (user addresses: no socket there)
    # (what happens, [(program or depth, change, must the second program take it?)])
    # A softirq's burst by one call path, and one by more paths than the stack holds entries.
    burst = [("first/softirq", 11 + i, None) for i in range(3 * NEST_MAX)]
    wide = [("first/softirq:%d" % (i % (NEST_MAX + 4)), 11 + i, None) for i in range(3 * NEST_MAX)]
    leftovers = [step for k in range(NEST_MAX + 2) for step in
                 (("first", 40 + k, None), ("second", 40 + k, False),
                  ("first/softirq:%d" % k, 60 + k, None))]
    steps = [
        ("both programs run for a change", [("first", 1, None), ("second", 1, False)]),
        ("the kernel skipped the first", [("second/softirq", 2, True)]),
        # A softirq while the process enters the second program for its change: the kernel
        # skips the second for the softirq's change, and the process's second drops it.
        ("the kernel skipped the second",
         [("first", 3, None), ("first/softirq", 4, None), ("second", 3, False)]),
        ("a change between the two programs of another",
         [("first", 5, None), ("first/softirq", 6, None), ("second/softirq", 6, False),
          ("second", 5, False)]),
        # A softirq's burst of changes (a loopback backlog's worth) while the process enters
        # the second program: none of them may push out the process's change. The old stack,
        # which dropped its oldest entry when full, failed here.
        ("a burst while the second is skipped",
         [("first", 10, None)] + burst + [("second", 10, False)]),
        ("a burst by many paths while the second is skipped",
         [("first", 9, None)] + wide + [("second", 9, False)]),
        # Softirqs while the process leaves the second program: their changes stay on the
        # stack for good, more of them than it holds.
        ("changes left on the stack by softirqs", leftovers),
        ("a burst above them", [("first", 80, None)] + wide + [("second", 80, False)]),
        # Entries one call path left for good, more than the stack holds, then a burst by the
        # same path while the process enters the second: the path's old entries go.
        ("entries of one path left for good, then a burst by it",
         [("first", 90, None), ("second", 90, False)] +
         [("first/softirq", 91 + i, None) for i in range(NEST_MAX - 1)] +
         [("first", 110, None), ("first/softirq", 111, None), ("first/softirq", 112, None),
          ("second", 110, False)]),
        # Entries of many paths left for good before the second last ran; then a burst by
        # other paths fills the stack: the entry that must stay is neither oldest nor newest.
        ("old entries of many paths, then a burst by others",
         [("first", 120, None), ("second", 120, False)] +
         [("first/softirq:%d" % (20 + i), 121 + i, None) for i in range(NEST_MAX - 2)] +
         [("first", 140, None), ("second", 140, False), ("first", 141, None)] +
         [("first/softirq:%d" % (40 + i), 142 + i, None) for i in range(3)] +
         [("second", 141, False)]),
        # An entry a softirq left names the socket (its address reused) and transition of a
        # later change, one the kernel skipped the first program for: it must not hide it.
        ("an entry left for good that names a later change",
         [("first", 84, None), ("second", 84, False), ("first/softirq:7", 85, None),
          ("second", 85, True)]),
        # Real nesting: a softirq change interrupts the first program on this CPU. The
        # kernel skips the first for it; the second runs for it while the first is still
        # running (depth 1) and must take it, even when an entry left on the stack (31, from
        # a softirq while the process left the second) names the same socket and transition.
        ("interrupting the first program: a new change",
         [("first", 29, None), ("second", 29, False), ("first/softirq", 31, None),
          ("first", 30, None), ("depth", 1, None), ("second/softirq", 32, True)]),
        ("interrupting the first program: a change equal to an old entry below",
         [("second/softirq", 31, True)]),
        ("the interrupted first program returns, the second runs for its change",
         [("depth", 0, None), ("second", 30, False)]),
    ]
    play(hooks, steps, sk)
    hooks.close()
    print("ok: the second program took exactly the changes the first did not run for, in %d "
          "scenarios, %d of them with the first still running" % (len(steps), 2))


if __name__ == "__main__":
    main()
