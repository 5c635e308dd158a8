"""Short-lived connections under load: 8 parallel clients × 200 connections, each open for well
under a millisecond; every connect, accept and close is reported exactly once, but for those
whose state changes the kernel made on top of a task where it runs no tracing program: the
kernel's own ftrace event names them (nt.StateTrace; BUGS in nettracer(8)), and only those
may be missing.

Whether real nesting (a softirq state change interrupting the state change hook) happened is
read from this run's own -v summary: the runs of tp_set_state the kernel skipped (its
recursion misses) and the nested changes the second hook took. Each skipped run must have been
taken by the second hook, or the change would be missing. Nesting is up to the kernel's
interrupts: on the 6.18 development host it happens in no storm at all unless loopback's
receive processing is steered to one CPU (rps_cpus), so this test claims
nesting coverage only when the run shows it; with NT_E2E_REQUIRE_NESTING=1 a run without
nesting fails. tests/e2e/nest.py drives the nested path on purpose."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt  # noqa: E402
import events  # noqa: E402


def main():
    nt.require_root()
    per = int(os.environ.get("NT_E2E_STORM", "200"))
    tracer = nt.Tracer("-v")  # -v: how many nested state changes the second hook took
    sc = events.run_scenario("4", "127.0.0.1", "127.0.0.1", per, parallel=8)
    nt.wait_for(events.complete(tracer, [(sc, "ipv4")]), 20, "every record", tracer)
    recs = tracer.stop()
    n = events.check(recs, sc, "ipv4", blind=tracer.blind)
    if "lost" in tracer.stderr:
        print(tracer.stderr)
    m = re.search(r"runs the kernel skipped: (.*); nested state changes taken: (\d+)",
                  tracer.stderr)
    skipped = m and re.search(r"\btp_set_state (\d+)", m.group(1))
    if not m or not skipped:
        nt.fail("no nesting figures in the -v summary: %r" % tracer.stderr)
    missed, taken = int(skipped.group(1)), int(m.group(2))
    # Every change the kernel skipped the first program for must have been taken by the second
    # (taken can be larger: it also counts changes whose noted entry a full stack dropped).
    if taken < missed:
        nt.fail("the kernel skipped tp_set_state %d times, the second hook took %d" %
                (missed, taken))
    if os.environ.get("NT_E2E_REQUIRE_NESTING") == "1" and not missed:
        nt.fail("no state change interrupted the hook in this run: nesting not covered")
    print("ok: storm: %d records exact from %d connections; %d runs of tp_set_state skipped "
          "by the kernel, %d nested changes taken%s" %
          (n, 8 * per, missed, taken, "" if missed else " (no nesting in this run: "
           "exactness only)"))


if __name__ == "__main__":
    main()
