# NT_CHECK_CFLAGS(VARIABLE, FLAGS): append to VARIABLE each of FLAGS that $CC accepts.
# Plain autoconf in the manner of AX_CHECK_COMPILE_FLAG (autoconf-archive), without depending on
# that package. Each flag is tried with -Werror so that a compiler that only warns about an
# unknown option (clang) still refuses it; a -Wno-X flag is probed as -WX, because gcc accepts
# any -Wno-X silently and only complains about it later, next to a real warning.
AC_DEFUN([NT_CHECK_CFLAGS], [
	AC_LANG_PUSH([C])
	for nt_flag in $2; do
		AS_CASE([$nt_flag], [-Wno-*], [nt_probe=-W`echo "$nt_flag" | sed 's/^-Wno-//'`],
			[nt_probe=$nt_flag])
		AS_VAR_PUSHDEF([nt_cache], [nt_cv_cflag_$nt_probe])
		AC_CACHE_CHECK([whether $CC accepts $nt_flag], [nt_cache], [
			nt_save_CFLAGS=$CFLAGS
			CFLAGS="$CFLAGS -Werror $nt_probe"
			AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
				[AS_VAR_SET([nt_cache], [yes])], [AS_VAR_SET([nt_cache], [no])])
			CFLAGS=$nt_save_CFLAGS])
		AS_VAR_IF([nt_cache], [yes], [$1="$$1 $nt_flag"])
		AS_VAR_POPDEF([nt_cache])
	done
	AC_LANG_POP([C])
])
