#!/bin/sh
# VM smoke test: one loopback connection gives connect, accept and close with the right ports and pids.
#
# Runs ./nettracer -v --attach=$NETTRACER_ATTACH (default auto), makes one IPv4 loopback
# connection from a client process to a server process (python3), sends a few bytes, closes,
# and checks the records; exit 0 when they match, 1 when not, 77 when it cannot run.
# Meant for tests/vm/suite.sh, inside the guest; it runs on the host as well.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
NETTRACER=${NETTRACER:-$top/nettracer}
mode=${NETTRACER_ATTACH:-auto}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "$NETTRACER" ] || { echo "SKIP: no nettracer at $NETTRACER"; exit 77; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
rc=0
python3 - "$NETTRACER" "$mode" "$dir" <<'EOF' || rc=$?
import json, os, signal, socket, subprocess, sys, time

nettracer, mode, d = sys.argv[1:4]
out, err = os.path.join(d, "out"), os.path.join(d, "err")
tracer = subprocess.Popen([nettracer, "-v", "--attach=" + mode], stdout=open(out, "w"),
                          stderr=open(err, "w"))


def fail(why):
    if tracer.poll() is None:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(30)
    print("FAIL (%s): %s" % (mode, why))
    print("--- stderr\n" + open(err).read() + "--- stdout\n" + open(out).read(), end="")
    sys.exit(1)


def wait_for(cond, what, timeout=60.0):
    """Bounded poll: the guest runs about 16 times slower than the host."""
    deadline = time.monotonic() + timeout
    while not cond():
        if tracer.poll() is not None:
            fail("nettracer exited while waiting for " + what)
        if time.monotonic() > deadline:
            fail("timed out waiting for " + what)
        time.sleep(0.1)


t0 = time.monotonic()
wait_for(lambda: "nettracer: attach strategy " in open(err).read(), "the attach strategy line")
t_attach = time.monotonic() - t0

lst = socket.socket()
lst.bind(("127.0.0.1", 0))
lst.listen(1)
sport = lst.getsockname()[1]
rd, wr = os.pipe()
server = os.fork()
if server == 0:
    s, _ = lst.accept()
    s.recv(16)
    s.close()
    os._exit(0)
lst.close()
c = socket.create_connection(("127.0.0.1", sport))
cport = c.getsockname()[1]
c.sendall(b"hello")
c.recv(16)  # the server's close
c.close()
os.waitpid(server, 0)
client = os.getpid()


def records():
    recs = []
    for line in open(out):
        r = json.loads(line)
        if r.get("type") in ("connect", "accept", "close") and sport in (r["sport"], r["dport"]):
            recs.append(r)
    return recs


wait_for(lambda: sum(r["type"] == "close" for r in records()) >= 2, "two close records", 30)
tracer.send_signal(signal.SIGINT)
if tracer.wait(30) != 0:
    fail("nettracer exited with status %d" % tracer.returncode)

want = {
    ("connect", cport, sport, client),
    ("accept", sport, cport, server),
    ("close", cport, sport, client),
    ("close", sport, cport, server),
}
got = set()
for r in records():
    if r["saddr"] != "127.0.0.1" or r["daddr"] != "127.0.0.1" or r["family"] != "ipv4":
        fail("wrong addresses: %s" % json.dumps(r))
    got.add((r["type"], r["sport"], r["dport"], r["pid"]))
if got != want or len(records()) != 4:
    fail("expected %s, got %s" % (sorted(want), sorted((t for t in got), key=str)))
strategy = open(err).read().split("nettracer: attach strategy ")[1].split()[0]
if mode != "auto" and strategy != mode:
    fail("asked for %s, attached %s" % (mode, strategy))
# Nothing of ours is left behind: no BPF program, and no kprobe event in tracefs (the kprobe
# mode on kernels where libbpf falls back to tracefs-created kprobes).
progs = subprocess.run(["bpftool", "prog", "show"], stdout=subprocess.PIPE, text=True).stdout
left = [n for n in ("tp_set_state", "inet_csk_acc", "tp_exit_accept") if n in progs]  # 15 chars
if left:
    fail("BPF programs left after exit: %s" % left)
for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
    try:
        events = open(os.path.join(root, "kprobe_events")).read()
    except OSError:
        continue
    if "inet_csk_accept" in events:
        fail("kprobe events left in %s: %s" % (root, events.strip()))
print("ok: %s attached in %.1fs; connect/accept/close %d->%d, pids %d/%d" %
      (strategy, t_attach, cport, sport, client, server))
EOF
exit "$rc"
