"""Shared helpers of the end-to-end tests: run the real nettracer, real sockets, real namespaces."""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
NETTRACER = os.environ.get("NETTRACER") or os.path.join(HERE, "..", "..", "nettracer")
# Extra options for every run, e.g. "--attach=kprobe" inside the VM suite.
EXTRA = os.environ.get("NETTRACER_OPTS", "").split()
if os.environ.get("NETTRACER_ATTACH"):
    EXTRA.append("--attach=" + os.environ["NETTRACER_ATTACH"])
# NT_E2E_AS=USER (make check-caps): every nettracer that the tests start runs as USER with
# exactly the capabilities that packaging/nettracer.service grants, as the service does.
AS_USER = os.environ.get("NT_E2E_AS")
UNIT = os.path.join(os.environ.get("top_srcdir", os.path.join(HERE, "..", "..")),
                    "packaging", "nettracer.service.in")


def unit_caps():
    """The capabilities that the shipped unit grants, in lower case without CAP_."""
    for line in open(UNIT):
        if line.startswith("AmbientCapabilities="):
            return sorted(x[4:].lower() for x in line.split("=", 1)[1].split())
    fail("no AmbientCapabilities= in " + UNIT)


def setpriv(caps, user="nobody"):
    """The command prefix that runs a program as user with exactly caps."""
    c = ",".join(["-all"] + ["+" + x for x in caps])
    return ["setpriv", "--reuid=" + user, "--regid=" + user_group(user), "--clear-groups",
            "--inh-caps=" + c, "--ambient-caps=" + c, "--bounding-set=" + c]


def user_group(user):
    import grp
    import pwd
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def as_service(cmd):
    """cmd, run as NT_E2E_AS with the unit's capabilities when that is set."""
    return setpriv(unit_caps(), AS_USER) + cmd if AS_USER else cmd


def check_service_process(pid):
    """A running nettracer of the NT_E2E_AS mode has that user's uid and exactly the unit's
    capabilities, as the kernel says in /proc/PID/status."""
    import pwd
    st = dict(line.split(":", 1) for line in open("/proc/%d/status" % pid))
    caps = {"sys_admin": 21, "sys_ptrace": 19, "dac_read_search": 2, "net_admin": 12,
            "net_raw": 13}
    want = sum(1 << caps[c] for c in unit_caps())
    uid = int(st["Uid"].split()[1])
    eff = int(st["CapEff"], 16)
    if uid != pwd.getpwnam(AS_USER).pw_uid or eff != want:
        fail("nettracer %d runs with uid %d and capabilities %#x, not as %s with %#x" %
             (pid, uid, eff, AS_USER, want))


def own_path(path):
    """Lets the NT_E2E_AS user write in path (a directory or a file of the test's)."""
    if AS_USER:
        import pwd
        pw = pwd.getpwnam(AS_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def fail(why):
    global FAILED
    FAILED = True
    print("FAIL: " + why)
    sys.exit(1)


# A test's directories go when it passes or skips; a failed test keeps them and says where,
# so that what it saw can be read. Only the process that made them removes them (a forked
# helper's exit must not).
TEMP_DIRS = []
FAILED = False


def temp_dir(prefix="nt-e2e-"):
    d = tempfile.mkdtemp(prefix=prefix)
    TEMP_DIRS.append((os.getpid(), d))
    return d


def _uncaught(kind, value, tb):
    global FAILED
    FAILED = True
    sys.__excepthook__(kind, value, tb)


sys.excepthook = _uncaught


def _terminated(sig, frame):
    """A test killed by SIGTERM (a check interrupted) still runs its exit handlers: no tracer
    is left running and no trace instance left in tracefs."""
    fail("terminated by signal %d" % sig)


signal.signal(signal.SIGTERM, _terminated)


def load_failed(err):
    """nettracer exited at start with err on stderr. As root on a kernel with BPF, nothing
    excuses a failed load: EPERM there is a failure (lockdown, a seccomp filter, a missing
    capability the docs do not name), not a reason to skip. Skip only without BPF at all."""
    if os.geteuid() != 0:
        skip("nettracer cannot load without root: " + err.strip())
    if not bpf_available():
        skip("this kernel has no bpf() system call: " + err.strip())
    fail("nettracer could not load as root: " + err.strip())


def bpf_available():
    """The bpf() system call exists (ENOSYS means a kernel built without BPF)."""
    import ctypes
    import platform
    nr = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
    if nr is None:
        return True  # cannot tell: do not skip on a guess
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    # BPF_PROG_LOAD with a zeroed attribute: EINVAL or EFAULT with BPF, ENOSYS without.
    attr = ctypes.create_string_buffer(128)
    if libc.syscall(nr, 5, attr, 128) >= 0:
        return True
    return ctypes.get_errno() != 38  # ENOSYS


def test_name():
    """The running test's file name without .py, for names that must not collide when make
    check -j runs several tests at once."""
    return os.path.splitext(os.path.basename(sys.argv[0] or "nt"))[0]


def require_root():
    if os.geteuid() != 0:
        skip("needs root")
    if not os.path.exists(NETTRACER):
        skip("no nettracer binary at " + NETTRACER)


def wait_for(cond, timeout=10.0, what="condition", tracer=None, step=0.2, show=None):
    """Polls cond() every step seconds until it returns a true value; fails after timeout
    seconds, printing show() if given."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            if show:
                print(show())
            if getattr(cond, "short", None):
                print("records so far: %s" % cond.short)
            if tracer:
                tracer.proc.send_signal(signal.SIGINT)
                tracer.proc.wait(10)
                print(open(tracer.errpath).read())
            fail("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(step)


def read_records(path):
    """Every line must be one JSON object. A last line without its newline is a write still in
    progress (a reader can see part of a write to a live file) and is left for the next read;
    complete_file() checks that none is left once nettracer has exited."""
    recs = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                break
            try:
                recs.append(json.loads(line))
            except ValueError as e:
                fail("%s line %d is not JSON (%s): %r" % (path, n, e, line[:200]))
    return recs


def complete_file(path):
    """After nettracer exited: the output ends with a whole line."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell():
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                fail("%s ends in the middle of a line" % path)


def check_seq(path, recs):
    """One writer numbers the records as it writes them: in a file, each seq is one more than
    the line before it (1 on the first line, unless the file was rotated away under it)."""
    for n, r in enumerate(recs[1:], 2):
        if r.get("seq") != recs[n - 2].get("seq", 0) + 1:
            fail("%s line %d has seq %r after %r" % (path, n, r.get("seq"),
                                                      recs[n - 2].get("seq")))
    if recs and not isinstance(recs[0].get("seq"), int):
        fail("%s line 1 has no seq: %r" % (path, recs[0]))


def check_jq(path):
    """jq is the reader users have: it must accept every line."""
    r = subprocess.run(["jq", "-c", "."], stdin=open(path, "rb"), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        fail("jq rejected the output: " + r.stderr.decode()[:300])


def loopback_pair(family=socket.AF_INET, host="127.0.0.1"):
    """A connected (client, server, listener) triple in this process."""
    lst = socket.socket(family, socket.SOCK_STREAM)
    lst.bind((host, 0))
    lst.listen(16)
    c = socket.create_connection(lst.getsockname()[:2])
    s, _ = lst.accept()
    return c, s, lst


RUNNING = []


@atexit.register
def _stop_all():
    """A failing test must not leave a tracer running (it would trace the next tests); a
    passing one leaves no files."""
    for p in RUNNING:
        if p.poll() is None:
            p.kill()
            p.wait()
    for t in list(TRUTHS):
        t.close()
    mine = [d for pid, d in TEMP_DIRS if pid == os.getpid()]
    if FAILED and mine:
        print("output kept in " + " ".join(mine))
    elif not FAILED:
        for d in mine:
            shutil.rmtree(d, ignore_errors=True)


class Tracer:
    """nettracer writing to a temporary file; ready once it has seen a sentinel connection."""

    def __init__(self, *args, sentinel=True, all_changes=False):
        self.dir = own_path(temp_dir())
        self.path = os.path.join(self.dir, "out.ndjson")
        self.errpath = os.path.join(self.dir, "err.txt")
        cmd = as_service([NETTRACER, "-o", self.path] + EXTRA + list(args) +
                         ([] if sentinel else ["-v"]))
        # The kernel's own record of the state changes from before nettracer starts: which of
        # them no tracing program could see (self.blind once stopped) and, with all_changes,
        # every one (self.changes).
        self.truth = StateTrace.start(all_changes)
        self.changes, self.changes_lost, self.blind = None, 0, []
        self.unseen_made = 0  # establishments a test hid from the hooks on purpose
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(self.errpath, "wb"),
                                     stdin=subprocess.DEVNULL)
        RUNNING.append(self.proc)
        if sentinel:
            self._sentinel()
        else:
            # Filters may hide any sentinel: -v says when the probes are attached instead.
            wait_for(lambda: self.proc.poll() is not None or
                     "existing connections tracked" in open(self.errpath).read(), 15, "start")
            if self.proc.poll() is not None:
                fail("nettracer exited: " + open(self.errpath).read())
        if AS_USER:
            check_service_process(self.proc.pid)

    def _sentinel(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = open(self.errpath).read()
                if re.search(r"permission denied|Operation not permitted|Function not implemented",
                             err, re.I):
                    load_failed(err)
                fail("nettracer exited with %d: %s" % (self.proc.returncode, err))
            c, s, lst = loopback_pair()
            port = lst.getsockname()[1]
            for x in (c, s, lst):
                x.close()
            t_end = time.monotonic() + 1.0
            while time.monotonic() < t_end:
                if os.path.exists(self.path) and any(
                        r.get("type") == "connect" and r.get("dport") == port
                        for r in read_records(self.path)):
                    self.sentinel_lines = sum(1 for _ in open(self.path, "rb"))
                    return
                time.sleep(0.05)
        fail("nettracer never reported the sentinel connection")

    def records(self):
        return read_records(self.path)

    def stop(self, sig=signal.SIGINT, timeout=10):
        self.halt(sig, timeout)
        check_jq(self.path)
        recs = self.records()
        check_seq(self.path, recs)
        return recs

    def halt(self, sig=signal.SIGINT, timeout=10):
        """Stops nettracer and checks how it ended; the file is the caller's to read."""
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("nettracer did not exit within %ds of signal %d" % (timeout, sig))
        self.stderr = open(self.errpath).read()
        if self.truth:
            self.blind, self.changes_lost = self.truth.blind(), self.truth.lost()
            self.changes = self.truth.changes()
            self.truth.close()
        if rc != 0:
            fail("nettracer exited with %d: %s" % (rc, self.stderr))
        if re.search(r"[1-9]\d* skipped by the kernel", self.stderr):
            fail("the kernel skipped hooks and records were lost: " + self.stderr)
        # Each unseen establishment is one the kernel made where it runs no tracing program.
        m = re.search(r"(\d+) unseen establishments", self.stderr)
        hidden = len(hidden_establishments(self.blind)) + self.unseen_made
        if m and int(m.group(1)) > hidden:
            fail("the kernel ran no hook for some state changes (see BUGS in nettracer(8)), "
                 "%d of them on top of a task where it runs no tracing program; is another "
                 "BPF tracer attached? %s; BPF programs on inet_sock_set_state: %s" %
                 (hidden, self.stderr, attached_set_state()))
        complete_file(self.path)


def attached_set_state():
    """What bpftool lists as attached to inet_sock_set_state: other tracers are visible here."""
    r = subprocess.run(["bpftool", "link", "show"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return str(r.stdout.count("inet_sock_set_state"))


class Netns:
    """A network namespace of our own with lo up, removed on exit. Its name carries the test's
    name and pid, so that tests run in parallel (make check -j) never share or delete one
    another's namespace."""

    def __init__(self, tag):
        self.name = "nt-%s-%s-%d" % (test_name(), tag, os.getpid())
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
        if subprocess.run(["ip", "netns", "add", self.name]).returncode != 0:
            fail("ip netns add %s failed" % self.name)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        self.inode = os.stat("/run/netns/" + self.name).st_ino

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name] + argv

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name])

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def own_netns():
    return os.stat("/proc/self/ns/net").st_ino


def port_sockets(port):
    """The sockets of this namespace that use port at either end and are neither listening nor
    in time-wait, as (local, remote, state) in /proc/net/tcp's hex."""
    out = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            for line in list(f)[1:]:
                fields = line.split()
                ports = {int(a.rsplit(":", 1)[1], 16) for a in fields[1:3]}
                if port in ports and fields[3] not in ("06", "0A"):
                    out.append(tuple(fields[1:4]))
    return out


def port_quiet(port):
    """True when no socket in this namespace but a listener or a time-wait one uses port: every
    state change of its connections has happened."""
    return not port_sockets(port)


def cgroup2_mount():
    """Where the cgroup2 file system is mounted (/sys/fs/cgroup, or .../unified on a hybrid
    host)."""
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        sep = fields.index("-")
        if fields[sep + 1] == "cgroup2":
            return fields[4]
    fail("no cgroup2 file system is mounted")


class OwnCgroup:
    """This process (and what it starts from then on) in a cgroup2 group of its own, so that a
    tracer given --cgroup=PATH sees this test's connections only; back in the root group and
    the group removed on exit."""

    def __init__(self):
        self.mount = cgroup2_mount()
        self.path = "/nt-e2e-%s-%d" % (test_name(), os.getpid())
        os.mkdir(self.mount + self.path)
        with open(self.mount + self.path + "/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))

    def close(self):
        with open(self.mount + "/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))
        for _ in range(50):  # the last of its processes may still be exiting
            try:
                os.rmdir(self.mount + self.path)
                return
            except OSError:
                time.sleep(0.1)


# The kernel's names of TCP states, as the ftrace event prints them.
TCP_STATES = {"ESTABLISHED": 1, "SYN_SENT": 2, "SYN_RECV": 3, "FIN_WAIT1": 4, "FIN_WAIT2": 5,
              "TIME_WAIT": 6, "CLOSE": 7, "CLOSE_WAIT": 8, "LAST_ACK": 9, "LISTEN": 10,
              "CLOSING": 11, "NEW_SYN_RECV": 12}
TRUTHS = []  # the StateTraces this process has open, closed at exit whatever happens
# Tasks in whose context the development host's kernel runs no tracing BPF program at all (raw
# tracepoint, tracepoint, tp_btf), and counts no recursion miss: the threads of its init
# process (there, the host's agent). A softirq that runs on top of one makes its state changes
# unseen by every such program; a sockops program still runs. BUGS in nettracer(8).
BLIND_TGIDS = {1}


def hidden_establishments(blind):
    """The changes to ESTABLISHED (from SYN_SENT or SYN_RECV) among blind ones: each is a
    connection that nettracer counts as an unseen establishment at its close."""
    return [c for c in blind if (c["old"], c["new"]) in ((2, 1), (3, 1))]


def tracefs():
    """Where tracefs is mounted; None when it is not."""
    for line in open("/proc/mounts"):
        fields = line.split()
        if fields[2] == "tracefs":
            return fields[1]
    return None


class StateTrace:
    """The kernel's own record of every TCP state change while the test runs: the ftrace event
    sock:inet_sock_set_state, in a trace instance of this test's own (tests running at once do
    not share it), with the thread group of the task each change ran on top of. It tells which
    changes the kernel made in a context where it runs no tracing program (BLIND_TGIDS). The
    pipe is read as it fills, without waiting, so a long test neither parses a change twice
    nor lets the ring overwrite it; only the blind changes are kept, or every one with
    keep_all."""

    _EVENT = re.compile(r"^\s*\S.*?-(\d+)\s+\(\s*(\d+|-+)\)\s+\[(\d+)\]\s+\S+\s+[\d.]+: "
                        r"inet_sock_set_state: family=(\S+) protocol=IPPROTO_TCP sport=(\d+) "
                        r"dport=(\d+) saddr=(\S+) daddr=(\S+) saddrv6=(\S+) daddrv6=(\S+) "
                        r"oldstate=TCP_(\S+) newstate=TCP_(\S+)")

    def __init__(self, root, keep_all=False):
        self.dir = os.path.join(root, "instances", "nt-e2e-%s-%d-%d" % (
            test_name(), os.getpid(), len(TRUTHS)))
        self.keep_all, self.all, self.blind_ones, self.rest = keep_all, [], [], b""
        os.mkdir(self.dir)
        TRUTHS.append(self)
        self._write("options/record-tgid", "1")
        self._write("buffer_size_kb", "16384")
        self.pipe = os.open(os.path.join(self.dir, "trace_pipe"), os.O_RDONLY | os.O_NONBLOCK)
        self._write("events/sock/inet_sock_set_state/enable", "1")

    def _write(self, name, value):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(value)

    def _drain(self):
        """Parses what the pipe holds now: dicts of tid, tgid, cpu, the socket's own ends
        (saddr, sport, daddr, dport, as nettracer prints them) and the states (old, new, as
        numbers)."""
        while True:
            try:
                data = os.read(self.pipe, 1 << 20)
            except BlockingIOError:
                break
            if not data:
                break
            lines = (self.rest + data).split(b"\n")
            self.rest = lines.pop()
            for line in lines:
                m = self._EVENT.match(line.decode(errors="replace"))
                if not m:
                    continue
                # A tgid the trace did not keep ("-------") is none of BLIND_TGIDS.
                tgid = int(m.group(2)) if m.group(2)[0] != "-" else None
                if not self.keep_all and tgid not in BLIND_TGIDS:
                    continue
                v6 = m.group(4) == "AF_INET6"
                c = {"tid": int(m.group(1)), "tgid": tgid, "cpu": int(m.group(3)),
                     "sport": int(m.group(5)), "dport": int(m.group(6)),
                     "saddr": norm_addr(m.group(9) if v6 else m.group(7)),
                     "daddr": norm_addr(m.group(10) if v6 else m.group(8)),
                     "old": TCP_STATES[m.group(11)], "new": TCP_STATES[m.group(12)]}
                if self.keep_all:
                    self.all.append(c)
                if tgid in BLIND_TGIDS:
                    self.blind_ones.append(c)

    @classmethod
    def start(cls, keep_all=False):
        """A trace from now on; None without tracefs (a test that unmounts it) or with
        NT_E2E_STATE_TRACE=0 (the VM guests: tests/vm/e2e.sh says why)."""
        root = tracefs()
        if not root or os.environ.get("NT_E2E_STATE_TRACE") == "0":
            return None
        return cls(root, keep_all)

    def lost(self):
        """The events the instance's ring lost (overwritten or dropped): while not 0, what it
        gives is not the whole truth."""
        n = 0
        for cpu in os.listdir(os.path.join(self.dir, "per_cpu")):
            with open(os.path.join(self.dir, "per_cpu", cpu, "stats")) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k.strip() in ("overrun", "dropped events"):
                        n += int(v.split()[0])
        return n

    def changes(self):
        """Every change so far with keep_all, else None."""
        self._drain()
        return list(self.all) if self.keep_all else None

    def blind(self):
        """The changes so far made where no tracing program runs."""
        self._drain()
        return list(self.blind_ones)

    def close(self):
        if self in TRUTHS:
            TRUTHS.remove(self)
            self._write("events/sock/inet_sock_set_state/enable", "0")
            os.close(self.pipe)
            os.rmdir(self.dir)


def norm_addr(addr):
    """The address as nettracer prints it: v4-mapped IPv6 becomes IPv4."""
    import ipaddress
    a = ipaddress.ip_address(addr.split("%")[0])
    if a.version == 6 and a.ipv4_mapped:
        return str(a.ipv4_mapped)
    return str(a)


def epoch(text):
    """A record's time as seconds since the epoch."""
    import calendar
    whole, _, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)


def conn_key(r):
    return (r["saddr"], r["sport"], r["daddr"], r["dport"])


def setns(path):
    """Moves this thread into the network namespace at path (sockets keep theirs)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            fail("setns(%s): %s" % (path, os.strerror(ctypes.get_errno())))
    finally:
        os.close(fd)


def ss_info(sport, dport, netns=None):
    """tcp_info of one connection as ss prints it: {'segs_out': .., 'rtt': (ms, ms), ...}."""
    cmd = ["ss", "-tinH", "state", "all", "( sport = :%d and dport = :%d )" % (sport, dport)]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout.decode()
    info = {}
    for tok in out.split():
        if ":" not in tok or tok.startswith("[") or tok.count(":") > 1 and "/" not in tok:
            continue
        k, _, v = tok.partition(":")
        if k == "rtt":
            a, b = v.split("/")
            info["rtt"] = (float(a), float(b))
        elif k == "retrans":
            info["retrans"] = int(v.split("/")[1])
        elif v.isdigit():
            info[k] = int(v)
    return info


def transfer(a, b, n_ab, n_ba):
    """a writes n_ab bytes to b while b writes n_ba to a; both read everything."""
    import threading

    def pump(src, dst_count, send_count, out):
        got = 0
        t = threading.Thread(target=src.sendall, args=(b"x" * send_count,))
        t.start()
        while got < dst_count:
            chunk = src.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        t.join()
        out.append(got)

    ra, rb = [], []
    ta = threading.Thread(target=pump, args=(a, n_ba, n_ab, ra))
    tb = threading.Thread(target=pump, args=(b, n_ab, n_ba, rb))
    ta.start()
    tb.start()
    ta.join()
    tb.join()
    if ra != [n_ba] or rb != [n_ab]:
        fail("transfer incomplete: %s %s" % (ra, rb))


def find(recs, type_, sport, dport):
    return [r for r in recs if r["type"] == type_ and r["sport"] == sport and r["dport"] == dport]
