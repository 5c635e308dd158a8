#!/bin/sh
# Runs the nettracer benchmarks (tests/bench/bench.py); `make bench` and `make bench-smoke` call it.
#
#   run.sh [--smoke] [--only decode,storm,msg,dump] [--rounds N] [--markdown FILE] [--json FILE]
#
# Environment: NETTRACER (the binary), BENCH_BINDIR (where storm and decode_bench are built),
# PYTHON3. Exit status: 0, 1 when nettracer crashed or lost events, 77 when it cannot run.
here=$(cd "$(dirname "$0")" && pwd)
: "${PYTHON3:=python3}"
exec "$PYTHON3" "$here/bench.py" "$@"
