"""Short-lived connections under load: 8 parallel clients × 200 connections, each open for well
under a millisecond; every connect, accept and close is reported exactly once."""
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
    n = events.check(recs, sc, "ipv4")
    if "lost" in tracer.stderr:
        print(tracer.stderr)
    m = re.search(r"nested state changes taken: (\d+)", tracer.stderr)
    print("ok: storm: %d records exact from %d connections (%s nested state changes)" %
          (n, 8 * per, m.group(1) if m else "?"))


if __name__ == "__main__":
    main()
