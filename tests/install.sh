#!/bin/sh
# make install DESTDIR=... puts exactly the documented files there (binary in sbin, man page,
# systemd unit with the configured sbindir, logrotate file); make uninstall removes them.
set -u
make=${MAKE:-make}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "${abs_top_builddir:?}" || exit 1
var() { MAKEFLAGS= $make -s --no-print-directory --eval='nt-print-%: ; @echo $($*)' "nt-print-$1"; }
sbindir=$(var sbindir)
expected=$(printf '%s\n' "$sbindir/nettracer" "$(var mandir)/man8/nettracer.8" \
	"$(var sysconfdir)/logrotate.d/nettracer" \
	$([ "$(var systemdsystemunitdir)" = no ] || echo "$(var systemdsystemunitdir)/nettracer.service") |
	sort)
$make -s install DESTDIR="$tmp/root" > "$tmp/log" 2>&1 || { cat "$tmp/log"; echo "FAIL: make install"; exit 1; }
got=$(cd "$tmp/root" && find . -type f | sed 's|^\.||' | sort)
if [ "$got" != "$expected" ]; then
	printf 'FAIL: make install put\n%s\ninstead of\n%s\n' "$got" "$expected"
	exit 1
fi
unit=$tmp/root$(var systemdsystemunitdir)/nettracer.service
if [ -f "$unit" ] && ! grep -qxF "ExecStart=$sbindir/nettracer -o /var/log/nettracer/nettracer.ndjson" "$unit"; then
	echo "FAIL: the installed unit does not start $sbindir/nettracer"; exit 1
fi
[ -x "$tmp/root$sbindir/nettracer" ] || { echo "FAIL: the binary is not executable"; exit 1; }
$make -s uninstall DESTDIR="$tmp/root" > "$tmp/log" 2>&1 || { cat "$tmp/log"; echo "FAIL: make uninstall"; exit 1; }
left=$(cd "$tmp/root" && find . -type f)
[ -z "$left" ] || { echo "FAIL: make uninstall left $left"; exit 1; }
echo "ok: make install and uninstall, DESTDIR and prefix honoured:" $expected
