"""Whose connection it was: processes moved into cgroups that this test creates in the cgroup2
hierarchy, named as docker (systemd driver) and CRI-O name a container's scope. Their records
must carry the cgroup's id (the directory's inode, as stat gives it), its path and the container
id; --cgroup keeps only one of them, in the kernel; the client's close, which the kernel
finishes in softirq when the server's FIN arrives, still names the client's cgroup."""
import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402

CONNS = 20

# A process that joins a cgroup first, then serves or connects.
PEER = r"""
import os, socket, sys, time
open(os.path.join(sys.argv[1], "cgroup.procs"), "w").write(str(os.getpid()))
if sys.argv[2] == "server":
    l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
    print(l.getsockname()[1], flush=True)
    for _ in range(int(sys.argv[3])):
        s, _ = l.accept()
        s.recv(1)          # the client's FIN: the client closes first
        s.close()
else:
    for _ in range(int(sys.argv[3])):
        c = socket.create_connection(("127.0.0.1", int(sys.argv[4])))
        c.close()
        time.sleep(0.01)
"""


def main():
    nt.require_root()
    mount = nt.cgroup2_mount()
    parent = "/nt-e2e-containers-%d" % os.getpid()
    docker_id, crio_id = secrets.token_hex(32), secrets.token_hex(32)
    client_cg = parent + "/system.slice/docker-%s.scope" % docker_id
    server_cg = parent + "/kubepods.slice/crio-%s.scope" % crio_id
    made = []
    try:
        for cg in (client_cg, server_cg):
            os.makedirs(mount + cg)
            made.append(cg)
        ids = {cg: os.stat(mount + cg).st_ino for cg in (client_cg, server_cg)}
        all_ = nt.Tracer("--events=connect,accept,close", sentinel=False)
        only = nt.Tracer("--cgroup=" + client_cg, sentinel=False)
        parent_abs = nt.Tracer("--cgroup=" + mount + parent, sentinel=False)
        server = subprocess.Popen([sys.executable, "-c", PEER, mount + server_cg, "server",
                                   str(CONNS)], stdout=subprocess.PIPE, text=True)
        port = int(server.stdout.readline())
        client = subprocess.Popen([sys.executable, "-c", PEER, mount + client_cg, "client",
                                   str(CONNS), str(port)])
        client.wait()
        server.wait()
        if client.returncode or server.returncode:
            nt.fail("the peers failed: %d %d" % (client.returncode, server.returncode))
        nt.wait_for(lambda: nt.port_quiet(port), 10, "every connection closed")
        nt.wait_for(lambda: sum(1 for r in all_.records() if port in (r["sport"], r["dport"]))
                    >= 4 * CONNS, 10, "every record")
        recs = {name: [r for r in t.stop() if port in (r.get("sport"), r.get("dport"))]
                for name, t in (("all", all_), ("only", only), ("parent", parent_abs))}
    finally:
        for cg in reversed(made):
            os.rmdir(mount + cg)
        for d in (parent + "/system.slice", parent + "/kubepods.slice", parent):
            if os.path.isdir(mount + d):
                os.rmdir(mount + d)

    want = {"client": (client.pid, client_cg, docker_id), "server": (server.pid, server_cg,
                                                                       crio_id)}
    counts = {}
    for r in recs["all"]:
        end = "server" if r["sport"] == port else "client"
        pid, cg, cid = want[end]
        counts[(end, r["type"])] = counts.get((end, r["type"]), 0) + 1
        got = (r["pid"], r.get("cgroup_id"), r.get("cgroup"), r.get("container_id"))
        if got != (pid, ids[cg], cg, cid):
            nt.fail("%s %s: pid, cgroup_id, cgroup, container_id are %s, want %s" %
                    (end, r["type"], got, (pid, ids[cg], cg, cid)))
    expect = {("client", "connect"): CONNS, ("client", "close"): CONNS,
              ("server", "accept"): CONNS, ("server", "close"): CONNS}
    if counts != expect:
        nt.fail("records by end and type: %s, want %s" % (counts, expect))
    print("ok: %d records name their docker and CRI-O cgroups (ids %d, %d) and containers, "
          "closes in softirq included" % (len(recs["all"]), ids[client_cg], ids[server_cg]))

    kept = {(r["type"], r.get("cgroup")) for r in recs["only"]}
    if not kept <= {("connect", client_cg), ("close", client_cg), ("metrics", client_cg)}:
        nt.fail("--cgroup=%s kept %s" % (client_cg, kept))
    n_only = sum(1 for r in recs["only"] if r["type"] in ("connect", "close"))
    if n_only != 2 * CONNS:
        nt.fail("--cgroup kept %d connect and close records, want %d" % (n_only, 2 * CONNS))
    n_parent = sum(1 for r in recs["parent"] if r["type"] in ("connect", "accept", "close"))
    if n_parent != 4 * CONNS:
        nt.fail("--cgroup=%s (absolute, the parent) kept %d records, want %d" %
                (mount + parent, n_parent, 4 * CONNS))
    print("ok: --cgroup keeps one container's connections (%d records), and its parent's "
          "both (%d)" % (n_only, n_parent))


if __name__ == "__main__":
    main()
