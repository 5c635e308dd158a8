#!/bin/sh
# The man page renders without warnings and agrees with the binary in both directions: every
# option of --help is documented, and every option the page names is accepted, with an
# argument exactly when the page shows one.
set -u
page="${NT_MANPAGE:-$top_srcdir/man/nettracer.8}"
NETTRACER=${NETTRACER:-./nettracer}
command -v groff >/dev/null || { echo "SKIP: no groff"; exit 77; }
fail=0
out=$(groff -man -ww -z "$page" 2>&1)
[ -z "$out" ] || { echo "FAIL: groff warnings: $out"; exit 1; }
help=$("$NETTRACER" --help) || { echo "FAIL: nettracer --help exited $?"; exit 1; }
# The page with troff's \- turned into plain -, so options read as they are typed.
text=$(sed 's/\\-/-/g' "$page")

# --help -> page: every long and short option.
for opt in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u) \
	$(printf '%s\n' "$help" | grep -o -- '^ *-[A-Za-z],' | tr -d ' ,' | sort -u); do
	printf '%s\n' "$text" | grep -q -- "$opt\\b" ||
		{ echo "FAIL: $opt is in --help but not in the man page"; fail=1; }
done

# page -> binary. Every long option named anywhere on the page, and the short ones of the
# OPTIONS headings (a short option in running text may be another tool's, as in "ss -tin").
# cli_parse stops at --help only when everything before it parsed, so "OPT --help" exits 0
# for a known flag; an option that takes a value says "needs a value" when given none.
headings=$(printf '%s\n' "$text" | awk '/^\.SH OPTIONS/ { o = 1; next } /^\.SH/ { o = 0 }
	o && prev == ".TP" { print } { prev = $0 }')
# Lines about other tools' options (configure's, systemctl's) are theirs.
longs=$(printf '%s\n' "$text" | grep -v -e 'configure -' -e 'systemctl ' |
	grep -o -- '--[a-z][a-z-]*' | sort -u)
shorts=$(printf '%s\n' "$headings" | grep -o -- '\(^\|[ "]\)-[A-Za-z]\b' | tr -d ' "' | sort -u)
n=0
for opt in $longs $shorts; do
	n=$((n + 1))
	# The heading that documents opt, if any: "=\fIARG" after it means it takes a value.
	head=$(printf '%s\n' "$headings" | grep -- "$opt\\b" | head -n 1)
	case $opt in
	--help | -h | --version | -V)
		"$NETTRACER" "$opt" >/dev/null 2>&1 ||
			{ echo "FAIL: $opt exits $?"; fail=1; }
		continue ;;
	esac
	[ -n "$head" ] || case $opt in --*) ;; *) continue ;; esac
	if printf '%s\n' "$head" | grep -q '=\\fI' ; then
		err=$("$NETTRACER" "$opt" 2>&1 >/dev/null)
		case $err in
		*"needs a value"*) ;;
		*) echo "FAIL: the man page gives $opt a value; nettracer $opt says: $err"; fail=1 ;;
		esac
	elif [ -n "$head" ]; then
		err=$("$NETTRACER" "$opt" --help 2>&1 >/dev/null) ||
			{ echo "FAIL: nettracer $opt --help: $err"; fail=1; }
	else
		# Named in running text only: it must at least be an option nettracer knows.
		err=$("$NETTRACER" "$opt" --help 2>&1 >/dev/null)
		case $err in
		*"unknown option"*) echo "FAIL: the man page names $opt; nettracer: $err"; fail=1 ;;
		esac
		echo "FAIL: $opt is named in the man page but has no OPTIONS entry"
		fail=1
	fi
done
[ "$fail" -eq 0 ] || exit 1
echo "ok: man page clean; --help and the page agree; $n options of the page accepted as documented"
