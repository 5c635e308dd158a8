#!/bin/sh
# Runs a test inside VMs for each (kernel, attach mode) of the matrix: one line per entry, then a count.
#
#   tests/vm/suite.sh
#
# Environment:
#   NT_VM_TEST     command for the guest, run by sh -c in the current directory with
#                  NETTRACER_ATTACH=<mode> (and NETTRACER, when set) exported;
#                  default: tests/vm/smoke.sh of this tree
#   NT_VM_MATRIX   KERNEL_PACKAGE:MODE entries; default
#                  "linux-image-amd64:kprobe linux-image-amd64:fentry linux-image-6.12-amd64:auto"
#                  (linux-image-amd64 is Debian 12's 6.1)
#   NT_VM_TIMEOUT  seconds per VM, default 300
#   NT_VM_CACHE    see prepare.sh
# Exit status: 1 when an entry failed, else 0 when one passed, else 77 (skipped: not root,
# qemu cannot be installed, or the test itself exited 77 everywhere, e.g. nothing built).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
test_cmd=${NT_VM_TEST:-$HERE/smoke.sh}
matrix=${NT_VM_MATRIX:-linux-image-amd64:kprobe linux-image-amd64:fentry linux-image-6.12-amd64:auto}
timeout=${NT_VM_TIMEOUT:-300}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || { echo "SKIP: tests/vm/suite.sh needs root"; exit 77; }
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "installing qemu-system-x86"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends qemu-system-x86; } >/dev/null 2>&1
	command -v qemu-system-x86_64 >/dev/null ||
		{ echo "SKIP: qemu-system-x86 cannot be installed"; exit 77; }
fi

t_suite=$(now)
passed=0
failed=0
skipped=0
prepared=
unprepared=
envs=
[ -n "${NETTRACER:-}" ] && envs="--env NETTRACER=$NETTRACER"
results=$(mktemp -d /tmp/nt-vm-suite.XXXXXX)
trap 'rm -rf "$results"' EXIT

for entry in $matrix; do
	kernel=${entry%:*}
	mode=${entry##*:}
	case " $prepared " in
	*" $kernel "*) ;;
	*)
		t=$(now)
		if "$HERE/prepare.sh" "$kernel" >"$results/prepare.log" 2>&1; then
			echo "prepared $kernel in $(since "$t")s"
		else
			echo "FAIL prepare $kernel ($(since "$t")s):"
			sed 's/^/  /' "$results/prepare.log"
			unprepared="$unprepared $kernel"
		fi
		prepared="$prepared $kernel"
		;;
	esac
	case " $unprepared " in *" $kernel "*)
		failed=$((failed + 1))
		echo "FAIL $kernel $mode: not prepared"
		continue ;;
	esac
	t=$(now)
	# A guest kernel that dies before /init (seen once: an int3 oops while 6.12 patched its
	# own text under TCG) says nothing about nettracer: boot it once more.
	for attempt in 1 2; do
		rc=0
		rm -rf "$results/run"
		# shellcheck disable=SC2086 # $envs is one option and its value, or nothing
		"$HERE/run.sh" --timeout "$timeout" --env "NETTRACER_ATTACH=$mode" $envs \
			--results "$results/run" "$kernel" -- sh -c "$test_cmd" >"$results/out" 2>&1 ||
			rc=$?
		[ "$rc" -eq 125 ] || break
		echo "boot of $kernel failed (attempt $attempt)"
	done
	secs=$(since "$t")
	release=$(cut -d' ' -f1 "$results/run/times" 2>/dev/null)
	last=$(grep -v '^$' "$results/out" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS ${release:-$kernel} $mode ${secs}s: $last"
	elif [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "SKIP ${release:-$kernel} $mode ${secs}s: $last"
	else
		failed=$((failed + 1))
		echo "FAIL ${release:-$kernel} $mode ${secs}s (exit $rc):"
		sed 's/^/  /' "$results/out"
	fi
done

echo "vm suite: $(since "$t_suite")s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || exit 1
[ "$passed" -gt 0 ] || exit 77
exit 0
