"""Benchmark driver behind tests/bench/run.sh: connection storm, message storm, metrics dump
cost and decode+format throughput of nettracer, with libbpf-tools tcplife as the peer.

Timings are reported, never judged: the exit status is 1 only when nettracer crashed, lost
events or missed records (and when the workload itself failed), 77 when it cannot run."""
import argparse
import calendar
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import nt  # noqa: E402  (the end-to-end helpers: port_quiet, the kernel's view of a port)
BUILD = os.environ.get("BENCH_BUILDDIR") or os.path.join(HERE, "..", "..")
SUMMARY_RE = re.compile(
    r"nettracer: (\d+) records, (\d+) lost, (\d+) undecodable, (\d+) untracked.*?"
    r"(\d+) failed outputs(?:, (\d+) skipped by the kernel)?")
TCPLIFE_LOST_RE = re.compile(r"lost (\d+) events")

problems = []  # crashes, losses, missing records: what makes the run fail
FOREIGN_TRACERS = {"nettracer", "tcplife", "tcptracer", "tcpconnect", "tcpaccept", "bpftrace"}
interference = []  # rounds that ran while another TCP tracer was attached


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def problem(msg):
    problems.append(msg)
    log("PROBLEM: " + msg)


def online_cpus():
    """CPUs online (the perf buffer has a ring on each), whatever our affinity."""
    try:
        with open("/sys/devices/system/cpu/online") as f:
            n = 0
            for part in f.read().strip().split(","):
                lo, _, hi = part.partition("-")
                n += int(hi or lo) - int(lo) + 1
            return n
    except (OSError, ValueError):
        return os.cpu_count() or 1


def cpu_ns(pid):
    """On-CPU time of every thread of pid in ns (schedstat: exact, unlike clock ticks)."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
    except FileNotFoundError:
        pass
    return total


def user_sys(pid):
    """utime and stime of pid in seconds (clock ticks: coarse, for the split only)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0, 0.0
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def foreign_tracers(ours=()):
    """TCP tracers of other users of the machine: they slow down every run, baseline too."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in ours or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in FOREIGN_TRACERS:
            found.append("%s[%s]" % (comm, d))
    return found


def cpu_busy(interval=0.5):
    """Share of all CPUs busy over interval seconds (/proc/stat), 0..1."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return sum(v[:8]) - idle, sum(v[:8])
    b0, t0 = sample()
    time.sleep(interval)
    b1, t1 = sample()
    return (b1 - b0) / max(1, t1 - t0)


class Quiet:
    """Before each round: waits, within a budget for the whole run, until no other TCP tracer
    runs and the CPUs are mostly idle; notes what it could not wait out."""

    def __init__(self, budget):
        self.deadline = time.monotonic() + budget
        self.busy = []

    def wait(self, what):
        while True:
            others = foreign_tracers()
            busy = cpu_busy()
            if (not others and busy < 0.25) or time.monotonic() > self.deadline:
                break
            time.sleep(1)
        self.busy.append(busy)
        if others:
            interference.append((what, others))
            log("  note: %s ran while %s was tracing too" % (what, ", ".join(others)))
        if busy >= 0.25:
            log("  note: %s started with the CPUs %.0f%% busy" % (what, 100 * busy))


def perf_fds(pid):
    n = 0
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:[perf_event]":
                    n += 1
            except OSError:
                pass
    except FileNotFoundError:
        pass
    return n


def first_dump_size(path):
    """Records of the first metrics dump in a nettracer output file."""
    n, first = 0, None
    with open(path, "rb") as f:
        for line in f:
            if b'"type":"metrics"' not in line:
                continue
            t = line[:40]
            if first is None:
                first = t
            elif t != first:
                break
            n += 1
    return n


def first_metrics(path):
    """The first complete metrics record of a nettracer output file, or None."""
    try:
        with open(path, "rb") as f:
            for line in f:
                if b'"type":"metrics"' in line and line.endswith(b"\n"):
                    return json.loads(line)
    except FileNotFoundError:
        pass
    return None


class Tracer:
    """nettracer or tcplife as a child process writing to a file."""

    def __init__(self, kind, args, workdir, tag, extra=()):
        self.kind = kind
        self.out = os.path.join(workdir, "%s-%s.out" % (kind, tag))
        self.errpath = os.path.join(workdir, "%s-%s.err" % (kind, tag))
        self.stderr = ""
        self.status = None
        self.rusage = None
        fout = open(self.out, "wb") if kind == "tcplife" else subprocess.DEVNULL
        ferr = open(self.errpath, "wb")
        if kind == "nettracer":
            cmd = [args.nettracer, "-o", self.out] + list(extra)
        else:
            cmd = [args.tcplife]
        self.proc = subprocess.Popen(cmd, stdout=fout, stderr=ferr, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        ferr.close()
        if fout is not subprocess.DEVNULL:
            fout.close()

    def alive(self):
        """Without reaping it (Popen.poll would): stop() collects the status and rusage."""
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    def wait_ready(self, probe=True, timeout=30.0):
        """The perf buffer exists (one perf_event fd per CPU), and for nettracer a probe
        connection has come out in the file: events from now on are traced."""
        deadline = time.monotonic() + timeout
        need = online_cpus()
        while perf_fds(self.pid) < need:
            if not self.alive() or time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        time.sleep(0.2)
        if self.kind != "nettracer" or not probe:
            return self.alive()
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen()
        port = lsock.getsockname()[1]
        needle = re.compile(b'"dport":%d[,}]' % port)
        next_probe = 0.0
        try:
            while True:
                if not self.alive() or time.monotonic() > deadline:
                    return False
                if time.monotonic() >= next_probe:
                    c = socket.create_connection(("127.0.0.1", port))
                    a, _ = lsock.accept()
                    c.close()
                    a.close()
                    next_probe = time.monotonic() + 1.0
                with open(self.out, "rb") as f:
                    if needle.search(f.read()):
                        return True
                time.sleep(0.05)
        finally:
            lsock.close()

    def cpu_ns(self):
        return cpu_ns(self.pid)

    def stop(self, timeout=20.0):
        """SIGINT, then the exit status and rusage; a hang or a non-zero exit is a crash."""
        sent = self.alive()
        if sent:
            os.kill(self.pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(self.pid, 0)
                problem("%s did not exit within %.0f s of SIGINT" % (self.kind, timeout))
                break
            time.sleep(0.02)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.status = self.proc.returncode
        self.rusage = ru
        with open(self.errpath, "r", errors="replace") as f:
            self.stderr = f.read()
        if not sent:
            problem("%s was gone before the end of its run (exit status %d): it must run "
                    "until SIGINT" % (self.kind, self.status))
        elif self.status != 0:
            how = "was killed by signal %d" % -self.status if self.status < 0 else \
                "exited with status %d" % self.status
            problem("%s %s: %s" % (self.kind, how, self.stderr.strip()[-500:]))
        return self.status

    def lost(self):
        """Events the tracer says it lost (summary line, "lost" records / messages)."""
        if self.kind == "tcplife":
            return sum(int(n) for n in TCPLIFE_LOST_RE.findall(self.stderr))
        m = SUMMARY_RE.search(self.stderr)
        if not m:
            return 0
        # Samples the perf ring refused: reported by the reader (lost) and counted in the
        # kernel (failed outputs); the same drops usually show up in both.
        # Runs of a hook the kernel skipped lost their events too.
        return max(int(m.group(2)), int(m.group(5))) + int(m.group(3)) + int(m.group(6) or 0)

    def untracked(self):
        m = SUMMARY_RE.search(self.stderr)
        return int(m.group(4)) if m else 0


def tcp_counters():
    """Kernel TCP counters that explain late closes (all namespaces' loopback load included):
    a dropped segment delays a close by a retransmission timeout."""
    found = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        with open(path) as f:
            rows = [line.split() for line in f]
        for head, vals in zip(rows[::2], rows[1::2]):
            for name in ("RetransSegs", "ListenDrops", "TCPBacklogDrop"):
                if name in head:
                    found[name] = int(vals[head.index(name)])
    return found


def counters_delta(before):
    after = tcp_counters()
    return ", ".join("%s +%d" % (k, after[k] - v) for k, v in sorted(before.items()))


def wait_port_quiet(port, timeout=10.0):
    """Waits until every connection on port has made its last state change (the kernel's
    view); False when some are still closing after timeout."""
    deadline = time.monotonic() + timeout
    while not nt.port_quiet(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def run_storm_tool(args, *argv):
    r = subprocess.run([args.storm] + [str(a) for a in argv], capture_output=True, text=True)
    if r.returncode != 0:
        problem("storm %s failed (%d): %s" % (" ".join(map(str, argv)), r.returncode,
                                              r.stderr.strip()))
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def count_nettracer(path, port):
    """connect/accept/close records of the storm (those that involve its server port)."""
    counts = {"connect": 0, "accept": 0, "close": 0, "lost_records": 0}
    with open(path, "rb") as f:
        for line in f:
            rec = json.loads(line)
            t = rec.get("type")
            if t == "lost":
                counts["lost_records"] += rec.get("count", 0)
            elif t == "connect" and rec.get("dport") == port:
                counts["connect"] += 1
            elif t == "accept" and rec.get("sport") == port:
                counts["accept"] += 1
            elif t == "close" and port in (rec.get("sport"), rec.get("dport")):
                counts["close"] += 1
    return counts


def count_tcplife(path, port):
    n = 0
    with open(path, "rb") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and str(port).encode() in (fields[-6], fields[-4]):
                n += 1
    return n


def fmt_range(values, fmt="%.3f"):
    return (fmt + "–" + fmt) % (min(values), max(values))


def med(values):
    return statistics.median(values) if values else float("nan")


# ---- 1. Connection storm ----

def bench_storm(args, workdir, results):
    kinds = ["none", "nettracer"] + (["tcplife"] if args.tcplife else [])
    clients, per = args.storm_clients, args.storm_per_client
    rounds = args.storm_rounds
    runs = {k: [] for k in kinds}
    log("== connection storm: %d clients x %d connections, %d rounds of %s"
        % (clients, per, rounds, "/".join(kinds)))
    for rnd in range(rounds):
        order = kinds[rnd % len(kinds):] + kinds[:rnd % len(kinds)]
        args.quiet.wait("storm round %d" % rnd)
        for kind in order:
            run = {"round": rnd}
            tracer = None
            if kind != "none":
                tracer = Tracer(kind, args, workdir, "storm%d" % rnd)
                if not tracer.wait_ready():
                    tracer.stop()
                    problem("%s did not start: %s" % (kind, tracer.stderr.strip()[-500:]))
                    continue
                cpu0, us0 = tracer.cpu_ns(), user_sys(tracer.pid)
            kernel0 = tcp_counters()
            res = run_storm_tool(args, "conn", clients, per)
            if tracer:
                # Closes finish after the workload when a lost segment was retransmitted; then
                # the tracer drains what the workload left in the ring (poll period 200 ms).
                quiet = res is None or wait_port_quiet(res["port"])
                time.sleep(0.6)
                run["cpu_s"] = (tracer.cpu_ns() - cpu0) / 1e9
                us1 = user_sys(tracer.pid)
                run["user_s"], run["sys_s"] = us1[0] - us0[0], us1[1] - us0[1]
                tracer.stop()
                run["lost"] = tracer.lost()
            if res is None:
                continue
            run.update(wall_s=res["wall_s"], connections=res["connections"],
                       work_cpu_s=res["cpu_s"], total_cpu_s=res["cpu_s"] + run.get("cpu_s", 0))
            if kind == "nettracer":
                c = count_nettracer(tracer.out, res["port"])
                run.update(c)
                run["lost"] = max(run["lost"], c["lost_records"])  # the same drops
                n = res["connections"]
                missing = max(0, n - c["connect"]) + max(0, n - c["accept"]) + \
                    max(0, 2 * n - c["close"])
                extra = max(0, c["connect"] - n) + max(0, c["accept"] - n) + \
                    max(0, c["close"] - 2 * n)
                run["missing"], run["extra"] = missing, extra
                if run["lost"] or missing:
                    problem("storm round %d: nettracer lost %d, missing %d of %d records "
                            "(connect %d, accept %d, close %d; kernel: %s%s; %s)"
                            % (rnd, run["lost"], missing, 4 * n, c["connect"], c["accept"],
                               c["close"], counters_delta(kernel0),
                               "" if quiet else ", connections still closing after 10 s",
                               tracer.stderr.strip().replace("\n", " / ")[-300:]))
                if extra:
                    log("WARNING: storm round %d: %d unexpected extra records" % (rnd, extra))
            elif kind == "tcplife":
                run["lines"] = count_tcplife(tracer.out, res["port"])
            runs[kind].append(run)
            log("  round %d %-9s %.3f s%s" % (rnd, kind, res["wall_s"], "" if not tracer else
                "  tracer CPU %.3f s, lost %d" % (run["cpu_s"], run["lost"])))
            if tracer and not args.keep:
                os.unlink(tracer.out)
    base = {r["round"]: r for r in runs["none"]}
    summary = {}
    for kind in kinds:
        rs = runs[kind]
        if not rs:
            continue
        s = {
            "runs": len(rs),
            "wall_s": med([r["wall_s"] for r in rs]),
            "conn_per_s": med([r["connections"] / r["wall_s"] for r in rs]),
            "cpu_us_per_conn": med([r["total_cpu_s"] / r["connections"] * 1e6 for r in rs]),
        }
        if kind != "none":
            ratios = [r["wall_s"] / base[r["round"]]["wall_s"] for r in rs if r["round"] in base]
            cratios = [r["total_cpu_s"] / base[r["round"]]["work_cpu_s"] for r in rs
                       if r["round"] in base]
            s.update(ratio=med(ratios), ratio_min=min(ratios), ratio_max=max(ratios),
                     cpu_ratio=med(cratios), cpu_ratio_min=min(cratios),
                     cpu_ratio_max=max(cratios),
                     us_per_conn=med([r["cpu_s"] / r["connections"] * 1e6 for r in rs]),
                     user_share=sum(r["user_s"] for r in rs) /
                     max(1e-9, sum(r["user_s"] + r["sys_s"] for r in rs)),
                     lost=sum(r["lost"] for r in rs))
        if kind == "nettracer":
            s.update(connections=sum(r["connections"] for r in rs),
                     connect=sum(r["connect"] for r in rs), accept=sum(r["accept"] for r in rs),
                     close=sum(r["close"] for r in rs), missing=sum(r["missing"] for r in rs),
                     extra=sum(r["extra"] for r in rs))
        if kind == "tcplife":
            s.update(connections=sum(r["connections"] for r in rs),
                     lines=sum(r["lines"] for r in rs))
        summary[kind] = s
    results["storm"] = {"clients": clients, "per_client": per, "rounds": rounds,
                        "summary": summary}


# ---- 1b. Where a storm connection's cost goes: BPF ns per program, tracer CPU ----

def prog_ids(pid):
    """The BPF programs process pid holds (their fdinfo names them)."""
    ids = []
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            text = open("/proc/%d/fdinfo/%s" % (pid, fd)).read()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("prog_id:"):
                ids.append(int(line.split()[1]))
    return sorted(set(ids))


def prog_stats(ids):
    """id → (name, run_cnt, run_time_ns, recursion_misses) from bpftool."""
    out = {}
    for i in ids:
        r = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(i)],
                           capture_output=True, text=True)
        if r.returncode == 0:
            p = json.loads(r.stdout)
            out[i] = (p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0),
                      p.get("recursion_misses", 0))
    return out


def bench_cost(args, workdir, results):
    """One storm per tracer with kernel.bpf_stats_enabled=1, switched on only for it: BPF ns per
    connection per program (bpftool run_time_ns / run_cnt) and the tracer's own CPU per
    connection and per record (schedstat). The two clock reads per run that bpf_stats adds are
    included; compare programs measured the same way."""
    kinds = ["nettracer"] + (["tcplife"] if args.tcplife else [])
    clients, per = args.storm_clients, args.storm_per_client
    cost = {}
    log("== cost split: one storm each with bpf_stats on (%s)" % "/".join(kinds))
    old = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
    try:
        for kind in kinds:
            args.quiet.wait("cost %s" % kind)
            tracer = Tracer(kind, args, workdir, "cost")
            if not tracer.wait_ready():
                tracer.stop()
                problem("%s did not start: %s" % (kind, tracer.stderr.strip()[-500:]))
                continue
            ids = prog_ids(tracer.pid)
            with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
                f.write("1")
            before, cpu0 = prog_stats(ids), tracer.cpu_ns()
            res = run_storm_tool(args, "conn", clients, per)
            if res:
                wait_port_quiet(res["port"])
            time.sleep(0.6)
            after, cpu1 = prog_stats(ids), tracer.cpu_ns()
            with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
                f.write(old)
            tracer.stop()
            if not res:
                continue
            n = res["connections"]
            progs = []
            for i, (name, cnt, ns, miss) in after.items():
                b = before.get(i, (name, 0, 0, 0))
                runs, t = cnt - b[1], ns - b[2]
                if runs:
                    progs.append({"name": name, "runs_per_conn": runs / n,
                                  "ns_per_run": t / runs, "ns_per_conn": t / n,
                                  "recursion_misses": miss - b[3]})
            c = {"connections": n, "programs": sorted(progs, key=lambda x: -x["ns_per_conn"]),
                 "bpf_ns_per_conn": sum(x["ns_per_conn"] for x in progs),
                 "tracer_us_per_conn": (cpu1 - cpu0) / 1e3 / n}
            if kind == "nettracer":
                recs = count_nettracer(tracer.out, res["port"])
                nrec = recs["connect"] + recs["accept"] + recs["close"]
                c["records"] = nrec
                c["tracer_us_per_record"] = (cpu1 - cpu0) / 1e3 / max(1, nrec)
            cost[kind] = c
            log("  %s: BPF %.2f µs/conn, tracer %.2f µs/conn" %
                (kind, c["bpf_ns_per_conn"] / 1e3, c["tracer_us_per_conn"]))
            if not args.keep:
                os.unlink(tracer.out)
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    results["cost"] = cost


# ---- 2. Message storm ----

def bench_msg(args, workdir, results):
    conns, msgs, size, pattern = args.msg_conns, args.msg_count, 64, args.msg_pattern
    kinds = ["none", "nettracer"]
    runs = {k: [] for k in kinds}
    log("== message storm: %d connections x %d %d-byte messages (%s), %d rounds"
        % (conns, msgs, size, pattern, args.rounds))
    for rnd in range(args.rounds):
        order = kinds if rnd % 2 == 0 else kinds[::-1]
        args.quiet.wait("message storm round %d" % rnd)
        for kind in order:
            tracer = None
            if kind == "nettracer":
                tracer = Tracer(kind, args, workdir, "msg%d" % rnd)
                if not tracer.wait_ready():
                    tracer.stop()
                    problem("nettracer did not start: " + tracer.stderr.strip()[-500:])
                    continue
                cpu0 = tracer.cpu_ns()
            res = run_storm_tool(args, "msg", conns, msgs, size, pattern)
            run = {"round": rnd}
            if tracer:
                run["cpu_s"] = (tracer.cpu_ns() - cpu0) / 1e9
                if res:
                    wait_port_quiet(res["port"])
                tracer.stop()
                c = count_nettracer(tracer.out, res["port"] if res else -1)
                run["lost"] = max(tracer.lost(), c["lost_records"])
                if res and (c["connect"] < conns or c["accept"] < conns or
                            c["close"] < 2 * conns or run["lost"]):
                    problem("message storm round %d: nettracer lost %d, records %s"
                            % (rnd, run["lost"], c))
                if not args.keep:
                    os.unlink(tracer.out)
            if res is None:
                continue
            run.update(wall_s=res["wall_s"], messages=res["messages"], work_cpu_s=res["cpu_s"],
                       total_cpu_s=res["cpu_s"] + run.get("cpu_s", 0))
            runs[kind].append(run)
            log("  round %d %-9s %.3f s" % (rnd, kind, res["wall_s"]))
    base = {r["round"]: r for r in runs["none"]}
    summary = {}
    for kind in kinds:
        rs = runs[kind]
        if not rs:
            continue
        s = {"runs": len(rs), "wall_s": med([r["wall_s"] for r in rs]),
             "msg_per_s": med([r["messages"] / r["wall_s"] for r in rs]),
             "cpu_ns_per_msg": med([r["total_cpu_s"] / r["messages"] * 1e9 for r in rs])}
        if kind != "none":
            ratios = [r["wall_s"] / base[r["round"]]["wall_s"] for r in rs if r["round"] in base]
            cratios = [r["total_cpu_s"] / base[r["round"]]["work_cpu_s"] for r in rs
                       if r["round"] in base]
            s.update(ratio=med(ratios), ratio_min=min(ratios), ratio_max=max(ratios),
                     cpu_ratio=med(cratios), cpu_ratio_min=min(cratios),
                     cpu_ratio_max=max(cratios),
                     cpu_s=med([r["cpu_s"] for r in rs]), lost=sum(r["lost"] for r in rs))
        summary[kind] = s
    results["msg"] = {"connections": conns, "messages": msgs, "size": size,
                      "pattern": pattern, "rounds": args.rounds, "summary": summary}


# ---- 3. Metrics dump cost ----

def dump_run(args, workdir, nconns, map_size, window):
    """CPU of nettracer -t 1 over `window` whole dump periods with nconns idle connections."""
    # The connections live in a network namespace of their own, and the tracer watches only
    # that one when it can: what the rest of the machine does stays out of the measurement.
    holder = subprocess.Popen([args.storm, "hold", str(nconns), "netns"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    line = holder.stdout.readline().split()
    if not line or line[0] != "ready":
        holder.kill()
        holder.wait()
        problem("storm hold %d failed" % nconns)
        return None
    netns = int(line[3])
    extra = ["-t", "1"] + (["--map-size=%d" % map_size] if map_size else [])
    if args.netns_filter:
        extra.append("--netns=%d" % netns)
    tracer = Tracer("nettracer", args, workdir, "dump%d-%d" % (nconns, map_size or 0), extra)
    row = None
    try:
        if not tracer.wait_ready(probe=False):
            problem("nettracer did not start: " + tracer.stderr)
            return None
        # Sample in the middle of a dump period: a metrics record carries its dump's time.
        deadline = time.monotonic() + (60 if nconns else 3)
        rec = None
        while rec is None and time.monotonic() < deadline and tracer.alive():
            rec = first_metrics(tracer.out)
            time.sleep(0.05)
        if rec:
            t = rec["time"]
            dump_epoch = calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + \
                float("0" + t[19:-1])
            phase = (time.time() - dump_epoch) % 1.0
            time.sleep((1.5 - phase) % 1.0 + 1.0)
        cpu0, t0, us0 = tracer.cpu_ns(), time.monotonic(), user_sys(tracer.pid)
        time.sleep(window)
        cpu1, t1, us1 = tracer.cpu_ns(), time.monotonic(), user_sys(tracer.pid)
        per_dump = first_dump_size(tracer.out)
        size = os.path.getsize(tracer.out)
        with open(tracer.out, "rb") as f:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        row = {"connections": nconns, "sockets": 2 * nconns, "map_size": map_size or 65536,
               "cpu_s": (cpu1 - cpu0) / 1e9, "seconds": t1 - t0, "lines": lines,
               "user_s": us1[0] - us0[0], "sys_s": us1[1] - us0[1], "per_dump": per_dump,
               "bytes": size}
    finally:
        tracer.stop()
        holder.stdin.close()
        holder.wait()
        if row:
            lost = tracer.lost()
            untracked = tracer.untracked()
            row.update(lost=lost, untracked=untracked)
            if lost:
                problem("dump %d connections: nettracer lost %d events" % (nconns, lost))
            if untracked:
                problem("dump %d connections: %d connections untracked (map full)"
                        % (nconns, untracked))
            if args.netns_filter and nconns and row["per_dump"] != 2 * nconns:
                problem("dump %d connections: a dump had %d records, not %d"
                        % (nconns, row["per_dump"], 2 * nconns))
        if not args.keep:
            os.unlink(tracer.out)
    return row


def bench_dump(args, workdir, results):
    log("== metrics dump cost: nettracer -t 1, %s connections" % args.dump_sizes)
    rows = []
    series = [(None, [0] + [n for n in args.dump_sizes if 2 * n <= 65536])]
    if args.big_map:
        series.append((131072, [0] + list(args.dump_sizes)))
    for map_size, sizes in series:
        idle = None
        for n in sizes:
            args.quiet.wait("dump %d connections" % n)
            row = dump_run(args, workdir, n, map_size, args.dump_window)
            if not row:
                continue
            if n == 0:
                idle = row["cpu_s"] / row["seconds"]
            row["idle_cpu_s_per_s"] = idle
            # One dump per second; what an idle tracer spends per second is not the dump.
            per_dump = row["cpu_s"] / row["seconds"] - (idle or 0)
            row["ms_per_dump"] = per_dump * 1e3
            row["us_per_socket"] = per_dump * 1e6 / row["sockets"] if n else None
            rows.append(row)
            log("  map %-6d %6d connections: %.2f ms CPU per dump (%.3f s CPU in %.1f s)"
                % (row["map_size"], n, row["ms_per_dump"], row["cpu_s"], row["seconds"]))
    results["dump"] = rows


# ---- 4. Decode + format throughput ----

def decode_runs(args, *argv):
    """Three runs of decode_bench with argv, pinned to CPU 0: their JSON lines, or None."""
    runs = []
    for _ in range(3):
        cmd = [args.decode] + list(argv)
        r = subprocess.run((["taskset", "-c", "0"] if shutil.which("taskset") else []) + cmd,
                           capture_output=True, text=True)
        if r.returncode != 0:
            problem("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
            return None
        runs.append(json.loads(r.stdout))
    return runs


def bench_decode(args, workdir, results):
    log("== decode+format: %d records through pipeline_sample() to /dev/null" % args.decode_n)
    runs = decode_runs(args, str(args.decode_n))
    if not runs:
        return
    for x in runs:
        log("  %.0f records/s" % x["records_per_s"])
    best = max(runs, key=lambda x: x["records_per_s"])
    results["decode"] = {"runs": runs, "median_per_s": med([x["records_per_s"] for x in runs]),
                         "best": best}
    # The user-space half of a dump of 10k connections (20k sockets), on its own: metrics state,
    # format and sink for each conns map entry, as the dump callback runs them.
    dumps = decode_runs(args, "dump", "20000", "20")
    if not dumps:
        return
    results["decode"]["dump"] = min(dumps, key=lambda x: x["ms_per_dump"])
    log("  dump, user-space half: %.2f ms per 20000 sockets" %
        results["decode"]["dump"]["ms_per_dump"])


# ---- Report ----

def machine(args):
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    strategy = "?"
    version = first([args.nettracer, "--version"])
    tl = first(["dpkg-query", "-W", "-f", "${Version}", "libbpf-tools"]) if args.tcplife else ""
    p = subprocess.Popen([args.nettracer, "-v", "-o", "/dev/null"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    _, e = p.communicate(timeout=20)
    m = re.search(r"attach strategy (.*)", e)
    if m:
        strategy = m.group(1).strip()
    return {"kernel": platform.release(), "cpu": model, "cpus": online_cpus(),
            "mem_mb": mem, "nettracer": version, "attach": strategy,
            "tcplife": ("libbpf-tools " + tl) if args.tcplife else "not installed",
            "python": platform.python_version()}


def report(args, results):
    out = []
    w = out.append
    m = results["machine"]
    w("## nettracer benchmark (%s)" % ("smoke" if args.smoke else "full"))
    w("")
    w("Machine: %s, %d CPUs online, %d MiB RAM, Linux %s; %s (attach %s); peer %s."
      % (m["cpu"], m["cpus"], m["mem_mb"], m["kernel"], m["nettracer"], m["attach"],
         m["tcplife"]))
    w("")
    st = results.get("storm")
    if st:
        w("### 1. Connection storm: %d clients × %d connections, %d alternating rounds"
          % (st["clients"], st["per_client"], st["rounds"]))
        w("")
        w("| tracer | wall s (median) | slowdown median | slowdown min–max | conn/s (median) "
          "| tracer CPU µs/conn (user share) | all CPU µs/conn | CPU ratio median (min–max) "
          "| records vs expected | lost |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for kind, s in st["summary"].items():
            if kind == "none":
                w("| none | %.3f | ×1.000 | – | %.0f | – | %.1f | ×1.000 | – | – |"
                  % (s["wall_s"], s["conn_per_s"], s["cpu_us_per_conn"]))
                continue
            if kind == "nettracer":
                n = s["connections"]
                recs = ("connect %d/%d, accept %d/%d, close %d/%d (missing %d, extra %d)"
                        % (s["connect"], n, s["accept"], n, s["close"], 2 * n, s["missing"],
                           s["extra"]))
            else:
                recs = "%d lines / %d sockets" % (s["lines"], 2 * s["connections"])
            w("| %s | %.3f | ×%.3f | ×%.3f–×%.3f | %.0f | %.1f (%.0f%%) | %.1f "
              "| ×%.3f (×%.3f–×%.3f) | %s | %d |"
              % (kind, s["wall_s"], s["ratio"], s["ratio_min"], s["ratio_max"],
                 s["conn_per_s"], s["us_per_conn"], 100 * s["user_share"],
                 s["cpu_us_per_conn"], s["cpu_ratio"], s["cpu_ratio_min"], s["cpu_ratio_max"],
                 recs, s["lost"]))
        w("")
    cost = results.get("cost")
    if cost:
        w("### 1b. Cost split of a storm connection (bpf_stats on for this run only)")
        w("")
        w("| tracer | program | runs/conn | ns/run | ns/conn | recursion misses |")
        w("|---|---|---|---|---|---|")
        for kind, c in cost.items():
            for p in c["programs"]:
                w("| %s | %s | %.2f | %.0f | %.0f | %d |" % (kind, p["name"], p["runs_per_conn"],
                                                          p["ns_per_run"], p["ns_per_conn"],
                                                          p["recursion_misses"]))
        w("")
        w("| tracer | all BPF µs/conn | tracer process µs/conn | µs/record |")
        w("|---|---|---|---|")
        for kind, c in cost.items():
            w("| %s | %.2f | %.2f | %s |" % (kind, c["bpf_ns_per_conn"] / 1e3,
                                             c["tracer_us_per_conn"],
                                             "%.2f" % c["tracer_us_per_record"]
                                             if "tracer_us_per_record" in c else "–"))
        w("")
    ms = results.get("msg")
    if ms:
        w("### 2. Message storm: %d connections × %d %d-byte messages (%s), %d rounds"
          % (ms["connections"], ms["messages"], ms["size"],
             ms["pattern"], ms["rounds"]))
        w("")
        w("| tracer | wall s (median) | slowdown median | slowdown min–max | messages/s "
          "| tracer CPU s | all CPU ns/message | CPU ratio median (min–max) | lost |")
        w("|---|---|---|---|---|---|---|---|---|")
        for kind, s in ms["summary"].items():
            if kind == "none":
                w("| none | %.3f | ×1.000 | – | %.0f | – | %.0f | ×1.000 | – |"
                  % (s["wall_s"], s["msg_per_s"], s["cpu_ns_per_msg"]))
            else:
                w("| %s | %.3f | ×%.3f | ×%.3f–×%.3f | %.0f | %.3f | %.0f | ×%.3f (×%.3f–×%.3f) "
                  "| %d |"
                  % (kind, s["wall_s"], s["ratio"], s["ratio_min"], s["ratio_max"],
                     s["msg_per_s"], s["cpu_s"], s["cpu_ns_per_msg"], s["cpu_ratio"],
                     s["cpu_ratio_min"], s["cpu_ratio_max"], s["lost"]))
        w("")
    rows = results.get("dump")
    if rows:
        w("### 3. Metrics dump cost: nettracer -t 1%s, idle loopback connections "
          "(each is 2 tracked sockets)" % (" --netns=(theirs)" if args.netns_filter else ""))
        w("")
        w("| --map-size | connections | sockets | records per dump | tracer CPU ms per dump "
          "| user share | µs per socket | per-socket cost vs smallest | lost | untracked |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for ms_ in sorted({r["map_size"] for r in rows}):
            rs = [r for r in rows if r["map_size"] == ms_]
            ref = next((r["us_per_socket"] for r in rs if r["connections"]), None)
            for r in rs:
                if not r["connections"]:
                    w("| %d | 0 (idle baseline) | 0 | %d | %.2f ms/s idle | – | – | – | %d | %d |"
                      % (ms_, r["per_dump"], r["idle_cpu_s_per_s"] * 1e3, r["lost"],
                         r["untracked"]))
                    continue
                share = r["user_s"] / max(1e-9, r["user_s"] + r["sys_s"])
                w("| %d | %d | %d | %d | %.2f | %.0f%% | %.2f | ×%.2f | %d | %d |"
                  % (ms_, r["connections"], r["sockets"], r["per_dump"], r["ms_per_dump"],
                     100 * share,
                     r["us_per_socket"],
                     r["us_per_socket"] / ref, r["lost"], r["untracked"]))
        w("")
    d = results.get("decode")
    if d:
        b = d["best"]
        w("### 4. Decode + format + sink, one core (%d records, 3 runs)" % b["records"])
        w("")
        w("| records/s (median) | records/s (best) | ns/record | decode ns | JSON format ns "
          "| sink write ns | line bytes |")
        w("|---|---|---|---|---|---|---|")
        w("| %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %d |"
          % (d["median_per_s"], b["records_per_s"], b["ns_per_record"], b["decode_ns"],
             b["format_ns"], b["write_ns"], b["line_bytes"]))
        w("")
        if d.get("dump"):
            w("The user-space half of a dump, alone on one core (`decode_bench dump 20000 20`, "
              "best of 3): %.2f ms per dump of 20000 sockets, %.0f ns per socket (metrics state, "
              "format, sink)." % (d["dump"]["ms_per_dump"], d["dump"]["ns_per_socket"]))
            w("")
    busy = results.get("background_busy")
    if busy:
        w("CPU busy before the rounds (other work on the machine): median %.0f%%, max %.0f%%."
          % (100 * med(busy), 100 * max(busy)))
        w("")
    if interference:
        pids = sorted({p for _, found in interference for p in found})
        w("Other TCP tracers were attached during %d of the rounds (%s): their probes slow "
          "every run, the baseline too, and compete for the CPUs." % (len(interference),
                                                                       ", ".join(pids)))
        w("")
    w("### Targets")
    w("")
    w("| target | measured | met |")
    w("|---|---|---|")

    def yes(ok):
        return "yes" if ok else "**no**"
    if st and "nettracer" in st["summary"]:
        s = st["summary"]["nettracer"]
        w("| zero lost events at max connection rate, defaults | %d lost, %d missing records "
          "| %s |" % (s["lost"], s["missing"], yes(not s["lost"] and not s["missing"])))
        tl = st["summary"].get("tcplife")
        w("| storm slowdown ≤ ×1.10 (wall; CPU ratio for reference) | ×%.3f (CPU ×%.3f) | %s |"
          % (s["ratio"], s["cpu_ratio"], yes(s["ratio"] <= 1.10)))
        if tl:
            w("| storm slowdown below tcplife's | ×%.3f vs ×%.3f | %s |"
              % (s["ratio"], tl["ratio"], yes(s["ratio"] < tl["ratio"])))
        if tl:
            w("| storm CPU cost below tcplife's | ×%.3f vs ×%.3f | %s |"
              % (s["cpu_ratio"], tl["cpu_ratio"], yes(s["cpu_ratio"] < tl["cpu_ratio"])))
    if cost and "nettracer" in cost:
        c = cost["nettracer"]
        w("| BPF programs ≤ 2.0 µs per storm connection | %.2f µs | %s |"
          % (c["bpf_ns_per_conn"] / 1e3, yes(c["bpf_ns_per_conn"] <= 2000)))
        w("| nettracer process ≤ 2.0 µs per storm connection (4 records) | %.2f µs | %s |"
          % (c["tracer_us_per_conn"], yes(c["tracer_us_per_conn"] <= 2.0)))
    if ms and "nettracer" in ms["summary"]:
        r = ms["summary"]["nettracer"]
        w("| message storm ≤ ×1.02 (wall; CPU ratio for reference) | ×%.3f (CPU ×%.3f) | %s |"
          % (r["ratio"], r["cpu_ratio"], yes(r["ratio"] <= 1.02)))
    if rows:
        r10 = [r for r in rows if r["connections"] == 10000]
        for r in r10:
            w("| one dump of 10k connections ≤ 10 ms tracer CPU (--map-size %d) | %.2f ms | %s |"
              % (r["map_size"], r["ms_per_dump"], yes(r["ms_per_dump"] <= 10)))
        big = [r for r in rows if r["connections"] and r["map_size"] == max(
            x["map_size"] for x in rows)]
        if len(big) >= 2:
            lo, hi = big[0], big[-1]
            g = hi["us_per_socket"] / lo["us_per_socket"]
            w("| linear growth (per-socket cost, %d vs %d connections) | ×%.2f | %s |"
              % (hi["connections"], lo["connections"], g, yes(g <= 1.2)))
    if d:
        w("| ≥ 3,000,000 records/s decode+format (best of 3: noise only slows) | %.0f/s | %s |"
          % (d["best"]["records_per_s"], yes(d["best"]["records_per_s"] >= 3000000)))
    w("")
    if problems:
        w("Problems: " + "; ".join(problems))
    else:
        w("No crash, no lost event, no missing record.")
    return "\n".join(out) + "\n"


def find_tcplife():
    try:
        r = subprocess.run(["dpkg", "-L", "libbpf-tools"], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if line.endswith("/tcplife") and os.access(line, os.X_OK):
                return line
    except OSError:
        pass
    return shutil.which("tcplife")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true",
                    help="about 30 s; fails only on a crash or lost events")
    ap.add_argument("--only", default="decode,storm,msg,dump",
                    help="comma-separated parts: decode, storm, msg, dump")
    ap.add_argument("--rounds", type=int, help="alternating rounds per comparison")
    ap.add_argument("--markdown", help="also write the report to this file")
    ap.add_argument("--json", help="write raw results as JSON to this file")
    ap.add_argument("--keep", action="store_true", help="keep the tracers' output files")
    ap.add_argument("--no-tcplife", action="store_true", help="do not run the peer tool")
    ap.add_argument("--quiet-wait", type=float,
                    help="seconds to wait in all for other TCP tracers to exit and the CPUs "
                    "to be idle before rounds (default 120, smoke 0)")
    args = ap.parse_args()

    args.nettracer = os.environ.get("NETTRACER") or os.path.join(BUILD, "nettracer")
    bindir = os.environ.get("BENCH_BINDIR") or os.path.join(BUILD, "tests", "bench")
    args.storm = os.path.join(bindir, "storm")
    args.decode = os.path.join(bindir, "decode_bench")
    parts = set(args.only.split(","))
    if os.geteuid() != 0:
        print("SKIP: the benchmarks need root (BPF)")
        return SKIP
    for p in (args.nettracer, args.storm, args.decode):
        if not os.access(p, os.X_OK):
            print("SKIP: %s is not built (make bench builds it)" % p)
            return SKIP
    help_text = subprocess.run([args.nettracer, "--help"], capture_output=True,
                               text=True).stdout
    args.netns_filter = "--netns" in help_text
    args.tcplife = None
    if not args.smoke and not args.no_tcplife:
        args.tcplife = find_tcplife()
        if not args.tcplife:
            log("tcplife not found (apt-get install libbpf-tools): no peer comparison")
    if args.quiet_wait is None:
        args.quiet_wait = 0 if args.smoke else 120
    args.storm_rounds = args.rounds or (2 if args.smoke else 7)
    if args.smoke:
        args.rounds = args.rounds or 2
        args.storm_clients, args.storm_per_client = 4, 1500
        args.msg_conns, args.msg_count, args.msg_pattern = 4, 100000, "oneway"
        args.dump_sizes, args.dump_window, args.big_map = [1000], 2, False
        args.decode_n = 300000
    else:
        args.rounds = args.rounds or 5
        args.storm_clients, args.storm_per_client = 4, 5000
        args.msg_conns, args.msg_count, args.msg_pattern = 4, 500000, "oneway"
        args.dump_sizes, args.dump_window, args.big_map = [1000, 10000, 50000], 8, True
        args.decode_n = 2000000

    results = {"smoke": args.smoke}
    args.quiet = Quiet(args.quiet_wait)
    t0 = time.monotonic()
    results["machine"] = machine(args)
    workdir = tempfile.mkdtemp(prefix="nettracer-bench-")
    try:
        if "decode" in parts:
            bench_decode(args, workdir, results)
        if "storm" in parts:
            bench_storm(args, workdir, results)
            bench_cost(args, workdir, results)
        if "msg" in parts:
            bench_msg(args, workdir, results)
        if "dump" in parts:
            bench_dump(args, workdir, results)
    finally:
        if args.keep:
            log("outputs kept in " + workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["problems"] = problems
    results["interference"] = interference
    results["background_busy"] = args.quiet.busy
    results["seconds"] = time.monotonic() - t0
    text = report(args, results)
    text += "\nTotal %.0f s.\n" % results["seconds"]
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if problems:
        print("FAIL: %d problem(s): nettracer crashed, lost events or the workload failed"
              % len(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
