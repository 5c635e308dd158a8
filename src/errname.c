/* errno values to their symbolic names, from a table built from <errno.h> at compile time. */
#include "config.h"
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "errname.h"

/* Our own table rather than glibc's strerrorname_np(): that exists only since glibc 2.32 and
 * not in musl, and the names must not change with the C library the binary runs on. Indexed by
 * the macros themselves, so the values are this architecture's (MIPS, Alpha, SPARC and PA-RISC
 * number several errnos differently). A socket's sk_err holds an errno that user space can see
 * (the kernel's internal ones, 512 and up, never reach it), so the table holds every name of
 * <errno.h>, not only the ones TCP is known to set today: a new path in the kernel must not
 * turn a name into a number. Aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP) are left out: a second
 * entry for one value would override the first, and -Woverride-init would say so. */
#define E(x) [x] = #x

static const char *const names[] = {
	E(EPERM),
	E(ENOENT),
	E(ESRCH),
	E(EINTR),
	E(EIO),
	E(ENXIO),
	E(E2BIG),
	E(ENOEXEC),
	E(EBADF),
	E(ECHILD),
	E(EAGAIN),
	E(ENOMEM),
	E(EACCES),
	E(EFAULT),
	E(ENOTBLK),
	E(EBUSY),
	E(EEXIST),
	E(EXDEV),
	E(ENODEV),
	E(ENOTDIR),
	E(EISDIR),
	E(EINVAL),
	E(ENFILE),
	E(EMFILE),
	E(ENOTTY),
	E(ETXTBSY),
	E(EFBIG),
	E(ENOSPC),
	E(ESPIPE),
	E(EROFS),
	E(EMLINK),
	E(EPIPE),
	E(EDOM),
	E(ERANGE),
	E(EDEADLK),
	E(ENAMETOOLONG),
	E(ENOLCK),
	E(ENOSYS),
	E(ENOTEMPTY),
	E(ELOOP),
	E(ENOMSG),
	E(EIDRM),
	E(ECHRNG),
	E(EL2NSYNC),
	E(EL3HLT),
	E(EL3RST),
	E(ELNRNG),
	E(EUNATCH),
	E(ENOCSI),
	E(EL2HLT),
	E(EBADE),
	E(EBADR),
	E(EXFULL),
	E(ENOANO),
	E(EBADRQC),
	E(EBADSLT),
	E(EBFONT),
	E(ENOSTR),
	E(ENODATA),
	E(ETIME),
	E(ENOSR),
	E(ENONET),
	E(ENOPKG),
	E(EREMOTE),
	E(ENOLINK),
	E(EADV),
	E(ESRMNT),
	E(ECOMM),
	E(EPROTO),
	E(EMULTIHOP),
	E(EDOTDOT),
	E(EBADMSG),
	E(EOVERFLOW),
	E(ENOTUNIQ),
	E(EBADFD),
	E(EREMCHG),
	E(ELIBACC),
	E(ELIBBAD),
	E(ELIBSCN),
	E(ELIBMAX),
	E(ELIBEXEC),
	E(EILSEQ),
	E(ERESTART),
	E(ESTRPIPE),
	E(EUSERS),
	E(ENOTSOCK),
	E(EDESTADDRREQ),
	E(EMSGSIZE),
	E(EPROTOTYPE),
	E(ENOPROTOOPT),
	E(EPROTONOSUPPORT),
	E(ESOCKTNOSUPPORT),
	E(EOPNOTSUPP),
	E(EPFNOSUPPORT),
	E(EAFNOSUPPORT),
	E(EADDRINUSE),
	E(EADDRNOTAVAIL),
	E(ENETDOWN),
	E(ENETUNREACH),
	E(ENETRESET),
	E(ECONNABORTED),
	E(ECONNRESET),
	E(ENOBUFS),
	E(EISCONN),
	E(ENOTCONN),
	E(ESHUTDOWN),
	E(ETOOMANYREFS),
	E(ETIMEDOUT),
	E(ECONNREFUSED),
	E(EHOSTDOWN),
	E(EHOSTUNREACH),
	E(EALREADY),
	E(EINPROGRESS),
	E(ESTALE),
	E(EUCLEAN),
	E(ENOTNAM),
	E(ENAVAIL),
	E(EISNAM),
	E(EREMOTEIO),
	E(EDQUOT),
	E(ENOMEDIUM),
	E(EMEDIUMTYPE),
	E(ECANCELED),
#ifdef ENOKEY
	E(ENOKEY),
#endif
#ifdef EKEYEXPIRED
	E(EKEYEXPIRED),
#endif
#ifdef EKEYREVOKED
	E(EKEYREVOKED),
#endif
#ifdef EKEYREJECTED
	E(EKEYREJECTED),
#endif
#ifdef EOWNERDEAD
	E(EOWNERDEAD),
#endif
#ifdef ENOTRECOVERABLE
	E(ENOTRECOVERABLE),
#endif
#ifdef ERFKILL
	E(ERFKILL),
#endif
#ifdef EHWPOISON
	E(EHWPOISON),
#endif
#if defined(EDEADLOCK) && EDEADLOCK != EDEADLK
	/* Its own value on PowerPC and SPARC. */
	E(EDEADLOCK),
#endif
};

#define NAMES (sizeof(names) / sizeof(names[0]))

const char *errname(int err)
{
	if (err <= 0 || (size_t)err >= NAMES)
		return NULL;
	return names[err];
}

/* A scan: names are looked up only when a record is read back, one per failed connection. */
int errname_value(const char *name)
{
	size_t i;

	if (!name)
		return 0;
	for (i = 1; i < NAMES; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return i;
	return 0;
}
