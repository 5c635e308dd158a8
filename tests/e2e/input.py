"""-d --input, the table without privileges: a recorded file read back as user nobody with no
capabilities gives the rows of its last dump, junk lines counted and skipped; --follow in a tmux
pane keeps showing new connections across two rotations of the file."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402
import table  # noqa: E402  (human(), the tmux pane, the wrapper that records the terminal)

ADDR = "127.0.0.1"
COMM = "nt-input-peer"
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
          "--bounding-set=-all"]
DIRS = {"outbound": "out", "inbound": "in", "unknown": "?"}


# ---- The peer: one process of ours holding loopback connections, commanded line by line ----

def unacked(x):
    return struct.unpack_from("I", x.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104), 24)[0]


def peer():
    """Child: {"op": "open"|"more"|"close", ...} lines on stdin, one JSON answer line each. Data
    moved is waited on until acknowledged, so that bytes_sent (acknowledged bytes) is exactly
    what was sent."""
    with open("/proc/self/comm", "w") as f:
        f.write(COMM)
    conns = {}
    print(json.dumps({"pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "open":
            lst = socket.socket()
            lst.bind((ADDR, 0))
            lst.listen(1)
            c = socket.create_connection(lst.getsockname(), source_address=(ADDR, 0))
            s, _ = lst.accept()
            lst.close()
            i = len(conns)
            conns[i] = (c, s)
        else:
            i = cmd["id"]
            c, s = conns[i]
        if cmd["op"] == "close":
            c.close()
            s.close()
            del conns[i]
            print("{}", flush=True)
            continue
        nt.transfer(c, s, cmd["up"], cmd["down"])
        deadline = time.monotonic() + 10
        while unacked(c) or unacked(s):
            if time.monotonic() > deadline:
                sys.exit("data never acknowledged")
            time.sleep(0.01)
        print(json.dumps({"id": i, "cport": c.getsockname()[1], "lport": s.getsockname()[1]}),
              flush=True)


class Conn:
    """What the application knows of one of its connections: ports and bytes moved each way."""

    def __init__(self, peer, up, down):
        self.peer = peer
        a = peer.ask(op="open", up=up, down=down)
        self.id, self.cport, self.lport = a["id"], a["cport"], a["lport"]
        self.up, self.down = up, down

    def more(self, up, down):
        self.peer.ask(op="more", id=self.id, up=up, down=down)
        self.up += up
        self.down += down

    def close(self):
        self.peer.ask(op="close", id=self.id)

    def truth(self):
        """Its two records as (sport, dport, direction, bytes_sent, bytes_received)."""
        return {(self.cport, self.lport, "outbound", self.up, self.down),
                (self.lport, self.cport, "inbound", self.down, self.up)}

    def rows(self):
        """Its two table rows, PID to RECV, as the application's own numbers give them."""
        a, b = "%s:%d" % (ADDR, self.cport), "%s:%d" % (ADDR, self.lport)
        pid = str(self.peer.pid)
        return [[pid, COMM, a, b, "out", table.human(self.up), table.human(self.down)],
                [pid, COMM, b, a, "in", table.human(self.down), table.human(self.up)]]


class Peer:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--peer"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        nt.RUNNING.append(self.proc)
        self.pid = self.ask()["pid"]

    def ask(self, **cmd):
        if cmd:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            nt.fail("the peer died")
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(10)


# ---- The file's own view: its dumps, rendered independently of src/table.c ----

def dumps(path):
    """The metrics records of the file, dump by dump in file order (one dump shares one time);
    whole lines only, as the writer may be halfway through one."""
    out = []
    for r in nt.read_records(path):
        if r["type"] != "metrics":
            continue
        if not out or out[-1][0] != r["time"]:
            out.append((r["time"], []))
        out[-1][1].append(r)
    return out


def facts(recs):
    return {(r["sport"], r["dport"], r["direction"], r["bytes_sent"], r["bytes_received"])
            for r in recs}


def addr(r, a, port):
    return ("[%s]:%d" if r["family"] == "ipv6" else "%s:%d") % (r[a], port)


def render(r):
    """A row from PID to RETR as the man page describes the columns."""
    return [str(r["pid"]), r["comm"], addr(r, "saddr", r["sport"]), addr(r, "daddr", r["dport"]),
            DIRS[r["direction"]], table.human(r["bytes_sent"]), table.human(r["bytes_received"]),
            "%s/%s" % (table.human(r["packets_sent"], 1000),
                       table.human(r["packets_received"], 1000)),
            table.human(r["retransmits"], 1000)]


def wait_dump(path, conns, gone=(), count=1, what="a dump"):
    """Waits for count dumps, each with exactly the application's view of conns (and none of
    gone); returns the last of them."""
    want = set().union(*(c.truth() for c in conns))
    ports = {p for c in gone for p in (c.cport, c.lport)}

    def ok():
        hits = [d for d in dumps(path) if want <= facts(d[1]) and
                not any(r["sport"] in ports for r in d[1])]
        return len(hits) >= count and hits[-1]
    return table.until(ok, 10, what, lambda: "want %s\nlast dumps: %s" % (
        sorted(want), [sorted(facts(d[1])) for d in dumps(path)[-2:]]))


def plain_tables(text):
    """Plain -d output → [(header, [row fields])], each table ending with an empty line."""
    if not text.endswith("\n\n"):
        nt.fail("plain output does not end with a whole table: %r" % text[-200:])
    out = []
    for t in text[:-2].split("\n\n"):
        lines = t.split("\n")
        if len(lines) < 2 or lines[1].split()[:7] != ["PID", "COMM", "LOCAL", "REMOTE", "DIR",
                                                      "SENT", "RECV"]:
            nt.fail("not a table:\n" + t)
        out.append((lines[0], [line.split() for line in lines[2:]]))
    return out


def check_table(what, hdr, rows, last_time, last):
    want = sorted(render(r) for r in last)
    got = sorted(row[:9] for row in rows)
    if got != want:
        nt.fail("%s: rows are not the file's last dump\nwant %s\ngot  %s" % (what, want, got))
    # The header's clock is the last dump's: not an earlier table, not a newer junk line's.
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(nt.epoch(last_time))))
    if not hdr.startswith("nettracer %s  %d connections " % (when, len(last))):
        nt.fail("%s: header %r, want the time %s and %d connections" % (what, hdr, when,
                                                                        len(last)))


def check_summary(what, err, nrecs, njunk):
    m = re.search(r"nettracer: (\d+) records read, (\d+) lines skipped", err)
    if not m or (int(m.group(1)), int(m.group(2))) != (nrecs, njunk):
        nt.fail("%s: want '%d records read, %d lines skipped' on stderr, got %r" %
                (what, nrecs, njunk, err))


def readable_by_nobody(*paths):
    for p in paths:
        os.chmod(p, 0o755 if os.path.isdir(p) else 0o644)


def test_golden():
    peer = Peer()
    tr = nt.Tracer("-t", "0.5", "-p", str(peer.pid), sentinel=False)
    try:
        a, b, c = Conn(peer, 100000, 3000), Conn(peer, 5000, 700000), Conn(peer, 20, 40)
        wait_dump(tr.path, [a, b, c], count=2, what="two dumps with the three connections")
        a.more(2000000, 10)
        c.more(1500, 0)
        wait_dump(tr.path, [a, b, c], what="a dump with the bytes moved later")
        b.close()
        wait_dump(tr.path, [a, c], gone=[b], what="a dump without the closed connection")
        recs = tr.stop()
    finally:
        peer.close()
    all_dumps = dumps(tr.path)
    last_time, last = all_dumps[-1]
    # The last dump is what the application has at the end: a and c, with every byte moved.
    if facts(last) != a.truth() | c.truth():
        nt.fail("the writer's last dump is not the application's view:\n%s\nwant %s" %
                (sorted(facts(last)), sorted(a.truth() | c.truth())))
    if len(all_dumps) < 4:
        nt.fail("fewer than four dumps: the last one would not be told from the first")

    # Lines a reader must pass over. The last two would each start a newer dump if they were
    # taken: a record with a later time whose bytes are text, and a whole record with a later
    # time that lacks only its newline (a write still in progress, never to be finished).
    later = dict(last[0], time="2099-01-01T00:00:00.000000Z", sport=1, bytes_sent=7)
    junk = ["this is not JSON", "", '{"hello": "world"}', "[1, 2, 3]",
            json.dumps(dict(later, bytes_sent="7"))]
    with open(tr.path, "a") as f:
        f.write("\n".join(junk) + "\n" + json.dumps(later))
    readable_by_nobody(tr.dir, tr.path)

    t0 = time.monotonic()
    cmd = NOBODY + [nt.NETTRACER, "-d", "--input=" + tr.path, "-t", "1"]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    if r.returncode != 0:
        nt.fail("-d --input as nobody exited %d: %s" % (r.returncode, r.stderr))
    if "\033" in r.stdout:
        nt.fail("escape codes in the plain table: %r" % r.stdout[:200])
    tables = plain_tables(r.stdout)
    if len(tables) != 1:
        nt.fail("a file without --follow: want one table, got %d:\n%s" % (len(tables), r.stdout))
    check_table("--input=FILE", tables[0][0], tables[0][1], last_time, last)
    check_summary("--input=FILE", r.stderr, len(recs), len(junk) + 1)
    print("ok: as nobody without capabilities, --input=FILE prints one table in %.2f s: the %d "
          "rows of the last of %d dumps, %d junk lines skipped" %
          (time.monotonic() - t0, len(last), len(all_dumps), len(junk) + 1))

    # Standard input, from a pipe; no controlling terminal, so the keys come from nowhere.
    cat = subprocess.Popen(["cat", tr.path], stdout=subprocess.PIPE)
    r = subprocess.run(NOBODY + [nt.NETTRACER, "-d", "--input=-", "-t", "1"], stdin=cat.stdout,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30,
                       start_new_session=True)
    cat.stdout.close()
    cat.wait()
    if r.returncode != 0:
        nt.fail("cat FILE | -d --input=- exited %d: %s" % (r.returncode, r.stderr))
    hdr, rows = plain_tables(r.stdout)[-1]
    check_table("--input=-", hdr, rows, last_time, last)
    check_summary("--input=-", r.stderr, len(recs), len(junk) + 1)
    print("ok: cat FILE | nettracer -d --input=- ends with the same rows and the same counts")


def test_follow():
    peer = Peer()
    tr = nt.Tracer("-t", "1", "-p", str(peer.pid), sentinel=False)
    d = nt.temp_dir("nt-input-")
    pane = None
    try:
        # The writer creates its file 0640 (the man page says so): root's alone. A reader that
        # is not root needs the operator to make it readable, here and at each rotation.
        if os.stat(tr.path).st_mode & 0o777 != 0o640:
            nt.fail("the writer created %s with mode %o, the man page says 0640" %
                    (tr.path, os.stat(tr.path).st_mode & 0o777))
        readable_by_nobody(tr.dir, tr.path)
        pane = table.Pane("follow", table.wrapper(
            d, ["-d", "--input=" + tr.path, "--follow", "-t", "1"], prefix=NOBODY))
        table.started(pane)
        conns = []
        for n in range(3):
            if n:
                old = "%s.%d" % (tr.path, n)
                os.rename(tr.path, old)
                fd = os.open(tr.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                os.fchmod(fd, 0o644)
                os.close(fd)
                nt.own_path(tr.path)  # the writer's own (make check-caps runs it as nobody)
                tr.proc.send_signal(signal.SIGHUP)
                # The writer's dumps of the connections already open go to the new file once it
                # has reopened the name: from then on, whatever is new is in the new file only.
                table.until(lambda: os.path.getsize(tr.path) > 0, 5,
                            "the writer to write the new file after SIGHUP")
                if os.stat(tr.path).st_mode & 0o777 != 0o644:
                    nt.fail("the writer changed the new file's mode to %o" %
                            (os.stat(tr.path).st_mode & 0o777))
            conns.append(Conn(peer, 1000 * (n + 1), 30000 * (n + 1)))
            t0 = time.monotonic()

            def shown():
                lines = [line.split()[:7] for line in pane.text().splitlines()]
                return all(row in lines for c in conns for row in c.rows())
            table.until(shown, 6, "the rows of connection %d in the pane" % (n + 1),
                        lambda: "want %s\n%s" % ([c.rows() for c in conns], pane.text()))
            took = time.monotonic() - t0
            if n:
                ports = (conns[-1].cport, conns[-1].lport)
                if any(r.get("sport") in ports for r in nt.read_records(old)):
                    nt.fail("connection %d is in the rotated file: its rows prove nothing" % n)
            print("ok: %s: connection %d (and the ones before) shown %.2f s after it was made" %
                  ("before any rotation" if not n else "after rotation %d" % n, n + 1, took))
        pane.keys("q")
        table.check_left_clean(pane, d, "q")
        print("ok: q exits 0 and gives the terminal back as it was")
    finally:
        if pane:
            pane.kill()
        peer.close()
    tr.stop()


def main():
    if sys.argv[1:] == ["--peer"]:
        peer()
        return
    nt.require_root()
    for tool in ("setpriv", "tmux"):
        if not shutil.which(tool):
            nt.skip("no " + tool)
    t0 = time.monotonic()
    test_golden()
    test_follow()
    print("ok: %.1f s in all" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
