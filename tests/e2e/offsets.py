"""Offset guessing against the kernel's BTF: every offset that --offsets=guess finds equals the
one libbpf's BTF API reads (tests/e2e/btf_offsets), and guessing takes what the man page says:
"about half a second, most of it waiting for two retransmission timers"."""
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
        # fentry reads BTF by design, so guessing never runs with it (man page): under
        # NETTRACER_ATTACH=fentry, compare with the mode auto picks for guessed offsets.
        t = nt.Tracer("--offsets=guess", "-v",
                      *(["--attach=auto"] if "--attach=fentry" in nt.EXTRA else []))
        t.stop()
        m = re.search(r"offsets guessed in (\d+) ms: (.*)", t.stderr)
        if not m:
            nt.fail("no offsets in -v output: " + t.stderr)
        got = dict(kv.split("=") for kv in m.group(2).split())
        if got != want:
            bad = {k: (got.get(k), want[k]) for k in want if got.get(k) != want[k]}
            nt.fail("guessed offsets differ from BTF (guessed, BTF): %s" % bad)
        runs.append(int(m.group(1)))
    # The two retransmission timers are at least TCP_RTO_MIN (200 ms) each, so no run can be
    # shorter than 400 ms: a shorter one means guessing no longer waits for them and the man
    # page's explanation is wrong. The rest is CPU work, under 100 ms on this 2-core host;
    # 350 ms of it keeps "about half a second" true (at most 750 ms, 1.5 times the figure) with
    # room for a loaded machine. Under TCG (tests/vm) user code runs NT_GUESS_SLOWDOWN (16)
    # times slower; the timers do not. The median of three runs, so that one run delayed by an
    # unrelated burst on a shared machine does not decide.
    slow = float(os.environ.get("NT_GUESS_SLOWDOWN", "1"))
    low, high = 400, 400 + 350 * slow
    median = sorted(runs)[1]
    if min(runs) < low or median > high:
        nt.fail("guessing took %s ms; the man page says about half a second (want every run "
                ">= %d ms and the median <= %d ms)" % (runs, low, high))
    print("ok: %d offsets guessed equal to BTF, 3 runs in %s ms (bounds %d..%d ms)" %
          (len(want), runs, low, high))


if __name__ == "__main__":
    main()
