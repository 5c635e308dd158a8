"""The capabilities of nettracer.service are enough and each is needed: nettracer runs as user
nobody (setpriv) with exactly CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH (and
CAP_NET_ADMIN and CAP_NET_RAW for guessing), traces a new connection and names the process of
one that existed before it; without any one of them it stops at once and names the one that is
missing."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

CAPS = ["sys_admin", "sys_ptrace", "dac_read_search"]
GUESS_CAPS = ["net_admin", "net_raw"]


def traced(binary, d, caps, *args):
    out = os.path.join(d, "out.ndjson")
    if os.path.exists(out):
        os.unlink(out)
    # A connection from before the start, held by this process (root): its pid needs
    # CAP_SYS_PTRACE in /proc/PID/fd.
    c0, s0, l0 = nt.loopback_pair()
    port0 = l0.getsockname()[1]
    err = open(os.path.join(d, "err"), "w+")
    p = subprocess.Popen(nt.setpriv(caps) + [binary, "-v", "-t", "0.3", "-o", out] + nt.EXTRA +
                         list(args), stdout=subprocess.DEVNULL, stderr=err,
                         stdin=subprocess.DEVNULL)
    nt.RUNNING.append(p)
    stderr = lambda: open(err.name).read()  # noqa: E731
    nt.wait_for(lambda: p.poll() is not None or "existing connections tracked" in stderr(), 20,
                "nettracer to start as nobody")
    if p.poll() is not None:
        nt.fail("nettracer as nobody with %s exited %d: %s" % (caps, p.returncode, stderr()))
    c, s, lst = nt.loopback_pair()
    port = lst.getsockname()[1]

    def seen():
        recs = nt.read_records(out) if os.path.exists(out) else []
        new = [r for r in recs if r["type"] == "connect" and r["dport"] == port]
        old = [r for r in recs if r["type"] == "metrics" and r["dport"] == port0]
        return new and old and (new, old)
    new, old = nt.wait_for(seen, 15, "records of a new and an old connection", show=stderr)
    for x in (c, s, lst, c0, s0, l0):
        x.close()
    p.send_signal(2)
    if p.wait(15) != 0:
        nt.fail("exit %d: %s" % (p.returncode, stderr()))
    if new[0]["pid"] != os.getpid() or old[0]["pid"] != os.getpid():
        nt.fail("with %s: pids %d (new) and %d (existing), not %d" %
                (caps, new[0]["pid"], old[0]["pid"], os.getpid()))
    return stderr()


def refused(binary, caps, missing, *args):
    try:
        r = subprocess.run(nt.setpriv(caps) + [binary, "-o", "/dev/null"] + nt.EXTRA + list(args),
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=20)
    except subprocess.TimeoutExpired:
        nt.fail("without %s nettracer did not stop at start-up" % missing)
    err = r.stderr.decode()
    named = [x for x in ("SYS_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH", "NET_ADMIN", "NET_RAW")
             if "CAP_" + x + " (" in err]
    if r.returncode != 1 or named != [missing.upper()]:
        nt.fail("without %s: exit %d, names %s: %r" % (missing, r.returncode, named, err))


def main():
    nt.require_root()
    if not shutil.which("setpriv"):
        nt.skip("no setpriv (util-linux)")
    if subprocess.run(["id", "nobody"], stdout=subprocess.DEVNULL).returncode:
        nt.skip("no user nobody")
    if nt.unit_caps() != sorted(CAPS + GUESS_CAPS):
        nt.fail("the unit grants %s, the test proves %s" % (nt.unit_caps(), CAPS + GUESS_CAPS))
    d = nt.temp_dir("nt-caps-")
    try:
        os.chmod(d, 0o777)  # nobody writes its output there and runs its copy of the binary
        binary = os.path.join(d, "nettracer")
        shutil.copy(nt.NETTRACER, binary)
        os.chmod(binary, 0o755)
        traced(binary, d, CAPS)
        print("ok: as nobody with %s" % ",".join(CAPS))
        for cap in CAPS:
            refused(binary, [x for x in CAPS if x != cap], cap)
            print("ok: without %s: refused, and named" % cap)
        # CAP_NET_ADMIN (TCP_REPAIR) and CAP_NET_RAW (ICMP errors) only matter for guessing.
        for cap in GUESS_CAPS:
            refused(binary, CAPS + [x for x in GUESS_CAPS if x != cap], cap, "--offsets=guess")
            print("ok: --offsets=guess without %s: refused, and named" % cap)
        traced(binary, d, CAPS + GUESS_CAPS, "--offsets=guess")
        print("ok: --offsets=guess as nobody with %s too" % ",".join(GUESS_CAPS))
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
