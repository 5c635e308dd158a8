"""Offset guessing against the kernel's BTF: every offset that --offsets=guess finds equals the
one libbpf's BTF API reads (tests/e2e/btf_offsets), and guessing takes well under a second."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402


def main():
    nt.require_root()
    tool = os.environ.get("BTF_OFFSETS") or os.path.join(os.path.dirname(nt.NETTRACER),
                                                         "tests", "e2e", "btf_offsets")
    r = subprocess.run([tool], stdout=subprocess.PIPE)
    if r.returncode == 77:
        nt.skip("no kernel BTF to compare with")
    want = dict(kv.split("=") for kv in r.stdout.decode().split())
    runs = []
    for _ in range(3):
        t = nt.Tracer("--offsets=guess", "-v")
        t.stop()
        m = re.search(r"offsets guessed in (\d+) ms: (.*)", t.stderr)
        if not m:
            nt.fail("no offsets in -v output: " + t.stderr)
        got = dict(kv.split("=") for kv in m.group(2).split())
        if got != want:
            bad = {k: (got.get(k), want[k]) for k in want if got.get(k) != want[k]}
            nt.fail("guessed offsets differ from BTF (guessed, BTF): %s" % bad)
        runs.append(int(m.group(1)))
    if max(runs) > 10000:
        nt.fail("guessing took %d ms" % max(runs))
    print("ok: %d offsets guessed equal to BTF, 3 runs in %s ms" % (len(want), runs))


if __name__ == "__main__":
    main()
