#!/bin/sh
# dump_profile.sh [CONNS] [SECONDS]: where one metrics dump's time goes, on this kernel.
# CONNS idle loopback connections (2 sockets each) in a namespace of their own, nettracer -t 1
# watching only it; over SECONDS: the refresh program's time per dump (bpf_stats, switched on
# for the window only), the tracer's CPU per dump split into user and system (/proc/PID/stat,
# clock ticks), and a perf profile of the tracer (kernel and user symbols) when perf is
# there. Run it on a quiet machine: it measures CPU time, but caches are shared.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=${abs_top_builddir:-$here/../..}
conns=${1:-10000}
secs=${2:-10}
tmp=$(mktemp -d)
holder_in=$tmp/in
mkfifo "$holder_in"
sleep 100000 > "$holder_in" &
keep=$!
"$top/tests/bench/storm" hold "$conns" netns < "$holder_in" > "$tmp/ready" &
holder=$!
until [ -s "$tmp/ready" ]; do sleep 0.2; done
netns=$(awk '{print $4}' "$tmp/ready")
"$top/nettracer" -t 1 --netns="$netns" -o /dev/null 2> "$tmp/err" &
tracer=$!
sleep 3
stats_was=$(cat /proc/sys/kernel/bpf_stats_enabled)
# bpf_stats goes back to what it was however the script ends.
trap 'echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled' EXIT
prog_stat() { bpftool prog show -j | python3 -c '
import json, sys
p = [x for x in json.load(sys.stdin) if x.get("name") == "refresh"]
print(p[-1].get("run_time_ns", 0), p[-1].get("run_cnt", 0)) if p else print(0, 0)'; }
cpu() { awk '{print $14, $15}' /proc/$tracer/stat; }
echo 1 > /proc/sys/kernel/bpf_stats_enabled
set -- $(prog_stat); r0=$1 c0=$2
set -- $(cpu); u0=$1 s0=$2
if command -v perf > /dev/null; then
	perf record -q -g -p "$tracer" -o "$tmp/perf.data" -- sleep "$secs" > /dev/null 2>&1 || sleep "$secs"
else
	sleep "$secs"
fi
set -- $(prog_stat); r1=$1 c1=$2
set -- $(cpu); u1=$1 s1=$2
echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled
trap - EXIT
kill -INT "$tracer"; wait "$tracer" || true
kill "$keep" 2> /dev/null || true
wait "$holder" 2> /dev/null || true
hz=$(getconf CLK_TCK)
dumps=$((c1 - c0))
python3 - "$conns" "$dumps" "$r0" "$r1" "$u0" "$u1" "$s0" "$s1" "$hz" <<'PY'
import sys
conns, dumps, r0, r1, u0, u1, s0, s1, hz = map(int, sys.argv[1:])
d = max(dumps, 1)
print("%d connections (%d sockets), %d dumps: refresh program %.2f ms a dump (%.0f ns a socket);"
      " tracer user %.1f ms, system %.1f ms a dump (clock ticks)" % (
          conns, 2 * conns, dumps, (r1 - r0) / d / 1e6, (r1 - r0) / d / (2 * conns),
          (u1 - u0) * 1e3 / hz / d, (s1 - s0) * 1e3 / hz / d))
PY
if [ -s "$tmp/perf.data" ]; then
	perf report -i "$tmp/perf.data" --no-children --sort symbol --stdio 2> /dev/null |
		grep -E '^ +[0-9.]+%' | head -25
fi
rm -rf "$tmp"
