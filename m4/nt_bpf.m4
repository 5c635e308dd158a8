# NT_PROG_BPF_CLANG: find a clang that compiles for the bpf target and set
# BPF_CLANG, BPF_ARCH (the __TARGET_ARCH_ value for bpf_tracing.h) and
# BPF_CPPFLAGS (the multiarch include directory that holds asm/types.h).
#
# Minimum clang 10: the BPF object relies on __builtin_preserve_access_index (CO-RE field
# relocations, through bpf_core_read() and the preserve_access_index attribute of bpf/kernel.h),
# which clang 10 introduced, and on BTF for globals (-g), which the skeleton's .rodata/.bss need.
# The version is only the clear message; the probe below then compiles what the object uses
# (CO-RE reads, a static callback for bpf_for_each_map_elem, global data) so that a clang that
# claims the version but lacks a feature fails here, not in the middle of make.
AC_DEFUN([NT_PROG_BPF_CLANG], [
	AC_REQUIRE([AC_CANONICAL_HOST])
	AC_ARG_VAR([BPF_CLANG], [clang used to build the BPF object])
	AC_PATH_PROGS([BPF_CLANG], [clang clang-16 clang-15 clang-14], [no])
	AS_IF([test "x$BPF_CLANG" = xno],
		[AC_MSG_ERROR([clang not found (it builds the BPF object): install clang])])
	AC_MSG_CHECKING([for the version of $BPF_CLANG])
	nt_clang_version=`$BPF_CLANG --version 2>/dev/null |
		sed -n '1s/.*clang version \([[0-9]][[0-9]]*\.[[0-9]][[0-9.]]*\).*/\1/p'`
	AC_MSG_RESULT([${nt_clang_version:-unknown}])
	AS_VERSION_COMPARE([${nt_clang_version:-0}], [10.0.0],
		[AC_MSG_ERROR([$BPF_CLANG is version ${nt_clang_version:-unknown}; the BPF object needs clang >= 10 (CO-RE relocations, __builtin_preserve_access_index): install a newer clang or set BPF_CLANG])])

	AS_CASE([$host_cpu],
		[x86_64|i?86], [BPF_ARCH=x86],
		[aarch64], [BPF_ARCH=arm64],
		[s390x], [BPF_ARCH=s390],
		[powerpc*], [BPF_ARCH=powerpc],
		[riscv*], [BPF_ARCH=riscv],
		[AC_MSG_ERROR([unsupported architecture for BPF: $host_cpu])])
	multiarch=`$CC -print-multiarch 2>/dev/null`
	BPF_CPPFLAGS=
	AS_IF([test -n "$multiarch" && test -d "/usr/include/$multiarch"],
		[BPF_CPPFLAGS="-I/usr/include/$multiarch"])

	AC_MSG_CHECKING([whether $BPF_CLANG builds CO-RE BPF objects])
	cat > conftest.bpf.c <<_NT_EOF
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
struct nt_conftest { int field; } __attribute__((preserve_access_index));
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1);
	 __type(key, __u64); __type(value, __u64); } conftest_map SEC(".maps");
const volatile int conftest_rodata = 1;
static long conftest_cb(void *map, __u64 *key, __u64 *value, void *ctx) { return 0; }
SEC("raw_tp")
int conftest_prog(void *ctx)
{
	struct nt_conftest *p = ctx;
	int v = 0;

	bpf_core_read(&v, sizeof(v), &p->field);
	bpf_for_each_map_elem(&conftest_map, conftest_cb, 0, 0);
	return v + conftest_rodata;
}
char LICENSE[[]] SEC("license") = "GPL";
_NT_EOF
	AS_IF([$BPF_CLANG -g -O2 -target bpf $BPF_CPPFLAGS $LIBBPF_CFLAGS -c conftest.bpf.c \
			-o conftest.bpf.o >&AS_MESSAGE_LOG_FD 2>&1],
		[AC_MSG_RESULT([yes])],
		[AC_MSG_RESULT([no])
		 rm -f conftest.bpf.c conftest.bpf.o
		 AC_MSG_ERROR([$BPF_CLANG cannot build a CO-RE BPF object (bpf target, BTF, libbpf headers; see config.log): install clang, llvm and libbpf-dev])])
	rm -f conftest.bpf.c
	AC_SUBST([BPF_ARCH])
	AC_SUBST([BPF_CPPFLAGS])
])

# NT_PROG_BPFTOOL: bpftool that can write the skeletons, in BPFTOOL. Run after NT_PROG_BPF_CLANG,
# whose conftest.bpf.o it turns into a skeleton.
#
# Minimum bpftool 5.7 (its version follows the kernel's up to 5.x, then the libbpf/bpftool
# mirror's 6.x, 7.x): "gen skeleton" appeared with Linux 5.6, and the skeletons this build uses
# (global data mapped as obj->rodata and obj->bss, "name NAME" for two objects built from one
# source) are of the 5.7 era and later. As for clang, the version gives the clear message and the
# probe runs the very command the Makefile runs.
AC_DEFUN([NT_PROG_BPFTOOL], [
	AC_PATH_PROG([BPFTOOL], [bpftool], [no], [$PATH:/usr/sbin:/sbin])
	AS_IF([test "x$BPFTOOL" = xno],
		[AC_MSG_ERROR([bpftool not found (it generates the BPF skeleton): install bpftool])])
	AC_MSG_CHECKING([for the version of $BPFTOOL])
	nt_bpftool_version=`$BPFTOOL version 2>/dev/null |
		sed -n '1s/.* v\([[0-9]][[0-9]]*\.[[0-9]][[0-9.]]*\).*/\1/p'`
	AC_MSG_RESULT([${nt_bpftool_version:-unknown}])
	AS_VERSION_COMPARE([${nt_bpftool_version:-0}], [5.7.0],
		[AC_MSG_ERROR([$BPFTOOL is version ${nt_bpftool_version:-unknown}; the build needs bpftool >= 5.7 ("gen skeleton ... name NAME"): install a newer bpftool or set BPFTOOL])])
	AC_MSG_CHECKING([whether $BPFTOOL writes a skeleton])
	AS_IF([$BPFTOOL gen skeleton conftest.bpf.o name conftest_bpf > conftest.skel.h 2>&AS_MESSAGE_LOG_FD &&
			grep -q conftest_bpf__open conftest.skel.h],
		[AC_MSG_RESULT([yes])],
		[AC_MSG_RESULT([no])
		 rm -f conftest.bpf.o conftest.skel.h
		 AC_MSG_ERROR([$BPFTOOL cannot write a skeleton ("gen skeleton FILE name NAME"; see config.log): install a newer bpftool])])
	rm -f conftest.bpf.o conftest.skel.h
])
