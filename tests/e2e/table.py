"""-d, the live table: in a tmux pane (Enter refreshes at once, a resize redraws to the new width,
q and Ctrl-C leave the terminal as they found it) and as plain text into a file."""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

# 15 characters (the kernel's longest comm) and 21-character addresses: the table's natural width
# is above 100 columns, so that only a real redraw at 100 keeps the rightmost column.
ADDR = "127.100.200.250"
PEERS = {"a": (300000, 1000), "b": (5000, 2000000)}  # bytes client → server, server → client
INTERVAL = 5
ENTER_LIMIT = 2.5  # seconds from Enter to the new rows


def human(v, base=1024):
    """table_human() of src/table.c, as the man page describes it."""
    units = "KMGTPE" if base == 1024 else "kMGTPE"
    if v < base:
        return str(v)
    x, u = v / base, 0
    while x >= base - 0.5 and u < len(units) - 1:
        x /= base
        u += 1
    return ("%.1f%s" if x < 9.95 else "%.0f%s") % (x, units[u])


def peer(name, up, down):
    """Child: listens, and on a line on stdin connects to itself, moves up bytes to the server and
    down bytes back, waits until both ends have everything acknowledged, then holds the pair open
    until stdin closes."""
    with open("/proc/self/comm", "w") as f:
        f.write(name)
    lst = socket.socket()
    lst.bind((ADDR, 0))
    lst.listen(1)
    print(json.dumps({"pid": os.getpid(), "port": lst.getsockname()[1]}), flush=True)
    if not sys.stdin.readline():
        return
    c = socket.create_connection(lst.getsockname(), source_address=(ADDR, 0))
    s, _ = lst.accept()
    nt.transfer(c, s, up, down)
    deadline = time.monotonic() + 10
    # bytes_sent counts what the peer acknowledged: wait for tcpi_unacked (offset 24) to be 0.
    while any(struct.unpack_from("I", x.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104),
                                 24)[0] for x in (c, s)):
        if time.monotonic() > deadline:
            sys.exit("data never acknowledged")
        time.sleep(0.01)
    print(json.dumps({"cport": c.getsockname()[1]}), flush=True)
    sys.stdin.read()


class Peer:
    def __init__(self, tag):
        self.name = "nt-table-peer-" + tag
        self.up, self.down = PEERS[tag]
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--peer", self.name, str(self.up),
             str(self.down)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        first = json.loads(self.proc.stdout.readline())
        self.pid, self.lport = first["pid"], first["port"]

    def go(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def wait_connected(self):
        line = self.proc.stdout.readline()
        if not line:
            nt.fail("peer %s died" % self.name)
        self.cport = json.loads(line)["cport"]

    def expected(self):
        """The two rows (outbound, then inbound) as whitespace-separated fields, from PID to RECV."""
        a, b = "%s:%d" % (ADDR, self.cport), "%s:%d" % (ADDR, self.lport)
        return [[str(self.pid), self.name, a, b, "out", human(self.up), human(self.down)],
                [str(self.pid), self.name, b, a, "in", human(self.down), human(self.up)]]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(10)


def until(cond, timeout, what, show=None, step=0.05):
    """Polls cond() every step seconds; returns its first true value or fails after timeout,
    printing show() if given."""
    return nt.wait_for(cond, timeout, what, step=step, show=show)


class Pane:
    """A tmux server of our own (no user configuration) with one window of a fixed size."""

    def __init__(self, tag, script, width=160, height=40):
        self.sock = "nt-table-%d-%s" % (os.getpid(), tag)
        r = self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
                      "sh " + shlex.quote(script))
        if r.returncode:
            nt.skip("tmux cannot start a session: " + r.stderr.strip())

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def text(self, escapes=False):
        # -J joins wrapped lines: a line written wider than the pane shows up whole.
        return self.tmux("capture-pane", "-p", "-J", "-t", "t", *(["-e"] if escapes else [])).stdout

    def fmt(self, f):
        return self.tmux("display-message", "-p", "-t", "t", f).stdout.strip()

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def kill(self):
        self.tmux("kill-server")


def wrapper(d, args, prefix=()):
    """The pane runs nettracer (behind prefix, e.g. a setpriv command line) from a shell that
    records the terminal modes before and after, and its exit status, then waits so that the
    screen it left can be inspected."""
    path = os.path.join(d, "run.sh")
    with open(path, "w") as f:
        # Ctrl-C goes to the whole foreground group; an interactive shell would survive it, and
        # so must this one. A caught signal is default again in nettracer after exec.
        f.write("trap : INT\n")
        f.write("stty -g > %s/stty.before\n" % d)
        cmd = list(prefix) + [nt.NETTRACER] if prefix else nt.as_service([nt.NETTRACER])
        f.write(" ".join(shlex.quote(a) for a in cmd + nt.EXTRA + args) + "\n")
        f.write("echo nettracer-exit=$?\n")
        f.write("stty -g > %s/stty.after\n" % d)
        f.write("echo after-exit\n")
        f.write("exec sleep 600\n")
    return path


def started(pane):
    """Waits for the first table; a failed load is judged by nt.load_failed (a FAIL as root)."""
    def ready():
        t = pane.text()
        return "nettracer-exit=" in t or re.search(r"^\s*PID COMM", t, re.M)
    until(ready, 60, "the first table", pane.text)
    t = pane.text()
    if "nettracer-exit=" in t:
        if re.search(r"permission denied|Operation not permitted|Function not implemented", t,
                     re.I):
            nt.load_failed(t)
        nt.fail("nettracer exited at start:\n" + t)


def header_time(pane):
    m = re.search(r"^nettracer (\d\d:\d\d:\d\d) ", pane.text(), re.M)
    return m and m.group(1)


def find_rows(text, peers):
    """The line numbers of our rows (peer by peer, outbound then inbound), or None until all of
    them are there with the right values."""
    lines = [line.split() for line in text.splitlines()]
    found = []
    for p in peers:
        for want in p.expected():
            hit = [i for i, f in enumerate(lines) if f[:7] == want]
            if not hit:
                return None
            found.append(hit[0])
    return found


def why_not(text, peers):
    """For a failure: each expected row, and the lines of its pid."""
    out = []
    for p in peers:
        out.append("want %s" % p.expected())
        out += ["  got %s" % line.split() for line in text.splitlines()
                if line.split()[:1] == [str(p.pid)]]
    return "\n".join(out) + "\n" + text


def sorted_by_bytes(rows):
    """Peer b (2 MB) above peer a (300 kB); the two rows of one peer tie, in either order."""
    return max(rows[:2]) < min(rows[2:])


def check_left_clean(pane, d, what):
    """After nettracer exits: status 0, modes as before, main screen, cursor shown, and the text
    the shell writes next carries no attribute nettracer left on."""
    until(lambda: "after-exit" in pane.text(), 10, "nettracer to exit after " + what, pane.text)
    text = pane.text()
    if "nettracer-exit=0" not in text:
        nt.fail("nettracer did not exit with 0 after %s:\n%s" % (what, text))
    if open(d + "/stty.before").read() != open(d + "/stty.after").read():
        nt.fail("terminal modes not restored after " + what)
    if pane.fmt("#{alternate_on} #{cursor_flag}") != "0 1":
        nt.fail("after %s: alternate screen/cursor visible = %s, want 0 1" %
                (what, pane.fmt("#{alternate_on} #{cursor_flag}")))
    esc = pane.text(escapes=True)
    if "\033" in esc:
        nt.fail("attributes left on the screen after %s: %r" % (what, esc[:300]))
    # Messages nettracer held back while it owned the screen come first, as "nettracer: ...".
    if [line for line in text.strip().splitlines() if not line.startswith("nettracer: ")] != [
            "nettracer-exit=0", "after-exit"]:
        nt.fail("leftovers on the screen after %s:\n%s" % (what, text))


def test_terminal(peers):
    d = nt.temp_dir("nt-table-")
    pids = sum((["-p", str(p.pid)] for p in peers), [])
    pane = Pane("tty", wrapper(d, ["-d", "-t", str(INTERVAL)] + pids))
    try:
        started(pane)
        tty = pane.fmt("#{pane_tty}")
        modes = subprocess.run(["stty", "-F", tty, "-a"], stdout=subprocess.PIPE,
                               text=True).stdout
        if "-icanon" not in modes.split() or "-echo" not in modes.split():
            nt.fail("terminal not in non-canonical no-echo mode while -d runs: " + modes)
        if pane.fmt("#{alternate_on} #{cursor_flag}") != "1 0":
            nt.fail("-d on a terminal: want the alternate screen with the cursor hidden")

        # Right after a periodic refresh, the next one is INTERVAL seconds away: rows that show
        # up before it were drawn because of Enter.
        first = header_time(pane)
        until(lambda: header_time(pane) not in (None, first), INTERVAL + 5, "a periodic refresh",
              pane.text)
        t_refresh = time.monotonic()
        for p in peers:
            p.go()
        for p in peers:
            p.wait_connected()
        if find_rows(pane.text(), peers) is not None:
            nt.fail("rows shown before Enter: the test cannot tell what drew them")
        t_enter = time.monotonic()
        pane.keys("Enter")
        rows = until(lambda: find_rows(pane.text(), peers), ENTER_LIMIT, "the new rows after Enter",
                     lambda: why_not(pane.text(), peers))
        took = time.monotonic() - t_enter
        if time.monotonic() - t_refresh >= INTERVAL - 0.5:
            nt.fail("peers too slow: the rows may come from the periodic refresh")
        if not sorted_by_bytes(rows):
            nt.fail("rows not sorted by bytes:\n" + pane.text())
        print("ok: rows with pid, comm, addresses, direction and bytes %.2f s after Enter "
              "(limit %.1f s, interval %d s)" % (took, ENTER_LIMIT, INTERVAL))

        lines = pane.text().splitlines()
        if min(len(lines[i].rstrip()) for i in rows) <= 100:
            nt.fail("our rows fit 100 columns at 160: the resize below would prove nothing")
        t_resize = time.monotonic()
        pane.tmux("resize-window", "-t", "t", "-x", "100", "-y", "40")

        def redrawn():
            lines = [line.rstrip() for line in pane.text().splitlines()]
            ours = [line for line in lines
                    if any(line.split()[:2] == [str(p.pid), p.name] for p in peers)]
            return (all(len(line) <= 100 for line in lines) and len(ours) == 4 and
                    any(line.endswith(" RTTVAR") for line in lines) and
                    all(re.search(r" \d+(\.\d)?(us|ms|s)$", line) for line in ours) and
                    all("~" in line for line in ours))
        until(redrawn, 5, "a redraw at 100 columns", pane.text)
        print("ok: redrawn to 100 columns %.2f s after the resize (addresses shortened, every "
              "column kept)" % (time.monotonic() - t_resize))

        pane.keys("q")
        check_left_clean(pane, d, "q")
        print("ok: q exits 0; terminal modes restored, main screen, cursor shown, no attributes")
    finally:
        pane.kill()

    # Ctrl-C is the other way out.
    d = nt.temp_dir("nt-table-")
    pane = Pane("intr", wrapper(d, ["-d", "-t", "30"] + pids), width=80, height=24)
    try:
        started(pane)
        pane.keys("C-c")
        check_left_clean(pane, d, "Ctrl-C")
        print("ok: Ctrl-C exits 0 and leaves the terminal clean")
    finally:
        pane.kill()


def test_plain(peers):
    d = nt.temp_dir("nt-table-")
    path = os.path.join(d, "tables.txt")
    pids = sum((["-p", str(p.pid)] for p in peers), [])
    # stdin closed altogether: no reason to stop.
    proc = subprocess.Popen(nt.as_service([nt.NETTRACER] + nt.EXTRA + ["-d", "-t", "0.5"] + pids),
                            stdout=open(path, "wb"), stderr=subprocess.PIPE,
                            preexec_fn=lambda: os.close(0))

    def tables():
        if proc.poll() is not None:
            nt.fail("nettracer -d > file exited with %d: %s" % (proc.returncode,
                                                                 proc.stderr.read()))
        data = open(path, "rb").read()
        # Whole tables only: each ends with an empty line.
        return data.count(b"\n\n") >= 4 and data
    data = until(tables, 15, "four tables in the file")
    proc.send_signal(signal.SIGINT)
    if proc.wait(10) != 0:
        nt.fail("nettracer -d > file: exit %d" % proc.returncode)
    data = open(path, "rb").read()
    if b"\033" in data or b"\r" in data:
        nt.fail("escape codes in the plain tables: %r" % data[:300])
    text = data.decode()
    for table in text.split("\n\n")[:-1]:
        lines = table.strip("\n").split("\n")
        if not re.match(r"nettracer \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  4 connections \(2 out, "
                        r"2 in\)  events \d+  failed 0  lost 0  sort bytes$", lines[0]):
            nt.fail("table header: %r" % lines[0])
        if lines[1].split() != ["PID", "COMM", "LOCAL", "REMOTE", "DIR", "SENT", "RECV",
                                "PACKETS", "RETR", "RTT", "RTTVAR"]:
            nt.fail("column titles: %r" % lines[1])
        rows = find_rows(table, peers)
        if not rows or sorted(rows) != [2, 3, 4, 5] or not sorted_by_bytes(rows):
            nt.fail("rows of a plain table:\n" + table)
    print("ok: plain text without a terminal: %d tables in %.1f kB, no escape codes" %
          (text.count("\n\n"), len(data) / 1000))


def test_usage():
    for args in (["-d", "--sort=bogus"], ["--sort=rtt"]):
        r = subprocess.run(nt.as_service([nt.NETTRACER] + args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=10)
        if r.returncode != 2 or len(r.stderr.decode().strip().split("\n")) != 2 or r.stdout:
            nt.fail("%s: want a usage error, got %d %r" % (args, r.returncode, r.stderr))
    print("ok: an unknown --sort key, or --sort without -d, is a usage error")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--peer":
        peer(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    nt.require_root()
    if not shutil.which("tmux"):
        nt.skip("no tmux")
    test_usage()
    peers = [Peer("b"), Peer("a")]
    try:
        test_terminal(peers)
        test_plain(peers)
    finally:
        for p in peers:
            p.close()


if __name__ == "__main__":
    main()
