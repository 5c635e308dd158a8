# NT_PROG_BPF_CLANG: find a clang that compiles for the bpf target and set
# BPF_CLANG, BPF_ARCH (the __TARGET_ARCH_ value for bpf_tracing.h) and
# BPF_CPPFLAGS (the multiarch include directory that holds asm/types.h).
AC_DEFUN([NT_PROG_BPF_CLANG], [
	AC_ARG_VAR([BPF_CLANG], [clang used to build the BPF object])
	AC_PATH_PROGS([BPF_CLANG], [clang clang-16 clang-15 clang-14], [no])
	AS_IF([test "x$BPF_CLANG" = xno],
		[AC_MSG_ERROR([clang not found (it builds the BPF object): install clang])])
	AC_MSG_CHECKING([whether $BPF_CLANG targets bpf])
	echo 'int x;' > conftest.bpf.c
	AS_IF([$BPF_CLANG -target bpf -O2 -c conftest.bpf.c -o conftest.bpf.o >/dev/null 2>&1],
		[AC_MSG_RESULT([yes])],
		[AC_MSG_RESULT([no])
		 AC_MSG_ERROR([$BPF_CLANG cannot compile for the bpf target: install clang and llvm])])
	rm -f conftest.bpf.c conftest.bpf.o
	AC_REQUIRE([AC_CANONICAL_HOST])
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
	AC_SUBST([BPF_ARCH])
	AC_SUBST([BPF_CPPFLAGS])
])
