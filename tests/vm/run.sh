#!/bin/sh
# Boots a Debian kernel under qemu (TCG) on the host's own root filesystem and runs one command.
#
#   tests/vm/run.sh [--timeout S] [--env NAME=VALUE]... [--results DIR] [-v] \
#                   KERNEL_PACKAGE -- COMMAND [ARG]...
#
# KERNEL_PACKAGE is prepared by tests/vm/prepare.sh (first use downloads it; later ones take
# well under a second). The guest sees the host's / read-only over 9p with a tmpfs overlay on
# top (writes vanish at power-off), its own kernel's modules at /lib/modules/VERSION, proc,
# sys, dev, bpffs, tracefs, debugfs and cgroup2 mounted, lo up. COMMAND runs as root in the
# current directory with a clean environment (PATH, HOME, LANG, the --env variables and
# NT_VM_RESULTS, a directory shared read-write with the host, at the same path on both sides).
#
# COMMAND's stdout and stderr are collected in the results directory (not sent over the slow
# serial console) and printed here after the guest powered off.
#
# Exit status: COMMAND's; 124 when the timeout (default 600 s) ran out; 125 when the VM could
# not be prepared or booted, or did not report a status (its console is printed then).
# --results DIR keeps the run's files (stdout, stderr, status, times, console.log, qemu.log);
# -v streams the console to stderr and prints the timings.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
timeout=600
keep=
verbose=
envs=

say() { echo "run.sh: $*" >&2; }
usage() {
	echo "usage: $0 [--timeout S] [--env NAME=VALUE]... [--results DIR] [-v] KERNEL_PACKAGE -- COMMAND..." >&2
	exit 2
}
# One shell word, single-quoted.
quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	--env) [ $# -ge 2 ] || usage; envs="$envs $(quote "$2")"; shift 2 ;;
	--env=*) envs="$envs $(quote "${1#*=}")"; shift ;;
	--results) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
	--results=*) keep=${1#*=}; shift ;;
	-v) verbose=1; shift ;;
	--) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
spec=$1
shift
[ "${1:-}" = "--" ] && shift
[ $# -ge 1 ] || usage
case "$timeout" in '' | *[!0-9]*) usage ;; esac

[ "$(id -u)" -eq 0 ] || { say "needs root"; exit 125; }
kdir=$("$HERE/prepare.sh" "$spec") || { say "cannot prepare $spec"; exit 125; }

if [ -n "$keep" ]; then
	mkdir -p "$keep"
	results=$(cd "$keep" && pwd)
	rm -f "$results/stdout" "$results/stderr" "$results/status" "$results/times" \
		"$results/console.log" "$results/qemu.log" "$results/qemu.rc" "$results/cmd.sh"
else
	results=$(mktemp -d /tmp/nt-vm.XXXXXX)
	trap 'rm -rf "$results"' EXIT
fi
case "$results$kdir" in *[!A-Za-z0-9/._+@-]*)
	say "the results and cache paths must not need quoting: $results $kdir"
	exit 125 ;;
esac

{
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	echo "export HOME=/root LANG=C.UTF-8 TERM=dumb NT_VM_RESULTS=$results"
	[ -n "$envs" ] && echo "export$envs"
	echo "cd -- $(quote "$PWD") || exit 125"
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(quote "$a")"; done
	echo
} >"$results/cmd.sh"

append="console=ttyS0 quiet loglevel=1 panic=-1 oops=panic random.trust_cpu=on mitigations=off"
# The guest's TSC runs at the host's rate but its calibration against the emulated timers
# can be far off under TCG on a loaded host (once seen: guest time ran 10 times too fast):
# keep time by the HPET, which qemu derives from the host clock.
append="$append tsc=reliable clocksource=hpet nt.results=$results nt.kdir=$kdir"
# TCG: the host's KVM cannot run stock kernels (see the README of tests/vm).
set -- qemu-system-x86_64 -accel tcg,thread=multi -cpu max -machine q35 -m 2G -smp 2 \
	-nodefaults -no-user-config -no-reboot -display none -serial stdio \
	-kernel "$kdir/vmlinux" -initrd "$kdir/initramfs.cpio" -append "$append" \
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	-fsdev "local,id=results,path=$results,security_model=none,multidevs=remap" \
	-device virtio-9p-pci,fsdev=results,mount_tag=results

t0=$(date +%s.%N)
rc=0
if [ -n "$verbose" ]; then
	{
		timeout -k 5 "$timeout" "$@" </dev/null 2>"$results/qemu.log" ||
			echo $? >"$results/qemu.rc"
	} | tee "$results/console.log" >&2
	[ -f "$results/qemu.rc" ] && rc=$(cat "$results/qemu.rc")
else
	timeout -k 5 "$timeout" "$@" </dev/null >"$results/console.log" 2>"$results/qemu.log" || rc=$?
fi
t1=$(date +%s.%N)

[ -f "$results/stdout" ] && cat "$results/stdout"
[ -f "$results/stderr" ] && cat "$results/stderr" >&2

if [ -f "$results/times" ]; then
	# release, then guest uptimes at /init, at the command's start and at its end.
	read -r release t_init t_start t_end <"$results/times"
	line=$(awk -v i="$t_init" -v s="$t_start" -v e="$t_end" -v r="$release" -v a="$t0" -v b="$t1" 'BEGIN {
		printf "%s: kernel to /init %.1fs, /init to command %.1fs, command %.1fs, qemu wall %.1fs",
			r, i, s - i, e - s, b - a }')
	echo "$line" >"$results/times.txt"
	[ -n "$verbose" ] && say "$line"
	awk -v e="$t_end" -v a="$t0" -v b="$t1" 'BEGIN { exit !(e > 1.2 * (b - a) + 1) }' &&
		say "warning: the guest clock ran faster than the host's (${t_end}s in $line)"
fi

if [ -f "$results/status" ]; then
	exit "$(cat "$results/status")"
fi
if [ "$rc" -eq 124 ]; then
	say "timed out after ${timeout}s ($spec); last console lines:"
	tail -n 20 "$results/console.log" >&2
	exit 124
fi
say "the VM ($spec) stopped without running the command (qemu exit $rc); console and qemu log:"
tail -n 40 "$results/console.log" >&2
tail -n 20 "$results/qemu.log" >&2
exit 125
