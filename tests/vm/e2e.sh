#!/bin/sh
# Inside a VM guest: the events and metrics end-to-end tests in one mode (NETTRACER_ATTACH:
# kprobe, fentry, tracepoint, auto, or guess for --offsets=guess with auto attach).
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ "${NETTRACER_ATTACH:-}" = guess ]; then
	NETTRACER_OPTS="--offsets=guess"
	NETTRACER_ATTACH=auto
	export NETTRACER_OPTS NETTRACER_ATTACH
fi
NT_E2E_CONNS=${NT_E2E_CONNS:-20}
NT_E2E_STORM=${NT_E2E_STORM:-100}
export NT_E2E_CONNS NT_E2E_STORM
# ss -i needs the sock_diag modules, which Debian builds as modules.
modprobe -q tcp_diag 2>/dev/null
modprobe -q inet_diag 2>/dev/null
rc=0
for t in "$here/smoke.sh" "$here/../e2e/events.py" "$here/../e2e/storm.py" "$here/../e2e/nest.py" \
	"$here/../e2e/metrics.py"; do
	case $t in *.py) set -- python3 "$t" ;; *) set -- sh "$t" ;; esac
	"$@" || { r=$?; [ $r -eq 77 ] || rc=1; }
done
exit $rc
