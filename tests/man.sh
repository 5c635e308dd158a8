#!/bin/sh
# The man page renders without warnings and documents every long option of --help.
set -e
page="$top_srcdir/man/nettracer.8"
command -v groff >/dev/null || { echo "SKIP: no groff"; exit 77; }
out=$(groff -man -ww -z "$page" 2>&1)
[ -z "$out" ] || { echo "FAIL: groff warnings: $out"; exit 1; }
for opt in $("$NETTRACER" --help | grep -o -- '--[a-z-]*' | sort -u); do
	grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$page" || { echo "FAIL: $opt not in the man page"; exit 1; }
done
echo "ok: man page clean and complete"
