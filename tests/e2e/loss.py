"""Retransmits counted by the kernel: random loss on a veth pair between two namespaces (nftables
numgen drop; this kernel has no netem), compared with ss -tin on both ends."""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402
import metrics  # noqa: E402

NFT = """
table inet ntloss {
  chain in {
    type filter hook input priority 0; policy accept;
    meta l4proto tcp numgen random mod 100 < 8 counter drop
  }
}
"""


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        nt.skip("%s: %s" % (" ".join(cmd), r.stderr.decode().strip()))


def main():
    nt.require_root()
    home = "/proc/%d/ns/net" % os.getpid()
    with nt.Netns("a") as a, nt.Netns("b") as b:
        run(["ip", "link", "add", "nt-va", "netns", a.name, "type", "veth", "peer", "name",
             "nt-vb", "netns", b.name])
        run(["ip", "-n", a.name, "addr", "add", "10.199.1.1/24", "dev", "nt-va"])
        run(["ip", "-n", b.name, "addr", "add", "10.199.1.2/24", "dev", "nt-vb"])
        run(["ip", "-n", a.name, "link", "set", "nt-va", "up"])
        run(["ip", "-n", b.name, "link", "set", "nt-vb", "up"])
        # Dropped on the receiver's input: a drop at the sender's own output is a local error
        # that TCP requeues, not a loss that it retransmits.
        r = subprocess.run(["ip", "netns", "exec", b.name, "nft", "-f", "-"], input=NFT.encode())
        if r.returncode != 0:
            nt.skip("nftables cannot drop packets here")
        tracer = nt.Tracer("-t", "0.3")
        nt.setns("/run/netns/" + b.name)
        lst = socket.socket()
        lst.bind(("10.199.1.2", 0))
        lst.listen()
        nt.setns("/run/netns/" + a.name)
        c = socket.create_connection(lst.getsockname(), timeout=60)
        nt.setns(home)
        s, _ = lst.accept()
        nt.transfer(c, s, 3000000, 200000)
        cp, sp = c.getsockname()[1], s.getsockname()[1]
        results = []
        for ns, peer, sport, dport in ((a.name, b.name, cp, sp), (b.name, a.name, sp, cp)):
            m, ss = metrics.quiet_match(tracer, ns, sport, dport, netns=ns, peer_netns=peer)
            results.append(m)
        c.close()
        s.close()
        tracer.stop()
        if os.environ.get("NT_DEBUG"):
            subprocess.run(["ip", "netns", "exec", b.name, "nft", "list", "ruleset"])
            print(results)
    if results[0]["retransmits"] == 0:
        nt.fail("8% loss gave no retransmits on the sending side")
    if results[0]["netns"] != a.inode or results[1]["netns"] != b.inode:
        nt.fail("wrong netns")
    print("ok: retransmits client %d, server %d, equal to ss -tin; bytes %d/%d" %
          (results[0]["retransmits"], results[1]["retransmits"], results[0]["bytes_sent"],
           results[1]["bytes_received"]))
    if results[0]["bytes_sent"] != 3000000 or results[1]["bytes_received"] != 3000000:
        nt.fail("bytes under loss: %s" % results)


if __name__ == "__main__":
    main()
