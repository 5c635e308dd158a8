#!/bin/sh
# systemd-analyze verify accepts nettracer.service as make install writes it (only sbindir is
# the build tree's, where the binary is), Documentation= included: any message fails.
set -u
[ -n "${SYSTEMD_ANALYZE:-}" ] && [ "$SYSTEMD_ANALYZE" != no ] ||
	SYSTEMD_ANALYZE=$(command -v systemd-analyze) ||
	{ echo "SKIP: no systemd-analyze (Debian package systemd)"; exit 77; }
bindir=$(cd "$(dirname "$NETTRACER")" && pwd)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man8"
cp "${NT_MANPAGE:-$top_srcdir/man/nettracer.8}" "$tmp/man/man8/"
sed "s|@sbindir@|$bindir|g" "$top_srcdir/packaging/nettracer.service.in" > "$tmp/nettracer.service"
out=$(MANPATH="$tmp/man" SYSTEMD_LOG_LEVEL=notice "$SYSTEMD_ANALYZE" verify "$tmp/nettracer.service" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify (exit $rc):"
	echo "$out"
	exit 1
fi
# What the unit promises, checked on the file itself.
for want in "ExecStart=$bindir/nettracer -o /var/log/nettracer/nettracer.ndjson" \
	'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure LogsDirectory=nettracer \
	NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	"CapabilityBoundingSet=CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_NET_ADMIN CAP_NET_RAW" \
	"AmbientCapabilities=CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_NET_ADMIN CAP_NET_RAW"; do
	grep -qxF "$want" "$tmp/nettracer.service" || { echo "FAIL: no '$want' in the unit"; exit 1; }
done
echo "ok: systemd-analyze verify accepts nettracer.service"
