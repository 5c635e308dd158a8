#!/bin/sh
# Fails on an #include edge between src/ headers that the layout forbids (STYLE.md, "Seams").
#
# The rule, as this script applies it to the quoted #include lines of src/*.h and src/*.c:
#
# 1. A header src/X.h may include, besides system headers (<...>):
#      "record.h"            the record that every stage after decoding passes on,
#      "sink.h"              the sink interface that every sink implements,
#      "../bpf/nettracer.h"  the BPF/user ABI (its enums: TCP states, event types),
#    and the header of another module only for a type that module owns: the edges listed in
#    OWNED_EDGES below, each with the type it is for. A new edge is added there, with its
#    reason, or the type moves to the module that owns it.
# 2. cli.h may also include the headers of the modules whose options structs struct config
#    embeds and cli.c fills (CLI_FILLS): options belong to the module they configure.
# 3. Nothing includes cli.h but cli.c and main.c: no module depends on the command line.
#
# Not listed on purpose: tracer.h -> cli.h. The tracer's modes belong to tracer.h; while they
# live in cli.h this test fails, as it should.
set -u
src=${top_srcdir:-.}/src
[ -d "$src" ] || { echo "FAIL: no $src"; exit 1; }

BASE="record.h sink.h ../bpf/nettracer.h"
CLI_FILLS="tracer.h output.h table.h display.h pipeline.h metrics.h json_sink.h"
OWNED_EDGES="
display.h:table.h	enum table_sort, the table's sort keys
pipeline.h:metrics.h	struct metrics, which the pipeline feeds
pipeline.h:output.h	struct output, which the pipeline writes to
snapshot.h:tracer.h	struct tracer, whose maps the snapshot fills
"

# The names that FILE includes in quotes, one a line.
includes() {
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

in_list() { # WORD LIST...
	w=$1
	shift
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}

bad=0
for h in "$src"/*.h; do
	name=${h##*/}
	for inc in $(includes "$h"); do
		# shellcheck disable=SC2086
		in_list "$inc" $BASE && continue
		[ "$name" = cli.h ] && [ "$inc" != cli.h ] && in_list "$inc" $CLI_FILLS && continue
		printf '%s\n' "$OWNED_EDGES" | grep -q "^$name:$inc	" && continue
		echo "FAIL: src/$name includes \"$inc\": an edge the rule in tests/includes.sh forbids"
		bad=1
	done
done
for f in "$src"/*.c "$src"/*.h; do
	name=${f##*/}
	case $name in cli.c | main.c) continue ;; esac
	if includes "$f" | grep -qx 'cli.h'; then
		echo "FAIL: src/$name includes \"cli.h\": only cli.c and main.c may"
		bad=1
	fi
done
[ $bad = 0 ] || exit 1
echo "ok: every header includes only what it may"
