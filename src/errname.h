/* errno values to their symbolic names ("ECONNREFUSED"), for the error fields of records. */
#ifndef NT_ERRNAME_H
#define NT_ERRNAME_H

/* The symbolic name of the positive errno err, as <errno.h> spells it; where two names share a
 * value, the one glibc's strerrorname_np() gives (EAGAIN, not EWOULDBLOCK; EDEADLK, not
 * EDEADLOCK; EOPNOTSUPP, not ENOTSUP). NULL for 0 (no error), for negative values and for
 * values this system's <errno.h> does not name: the caller then writes the number. */
const char *errname(int err);

/* The reverse: the positive errno that errname() names name, or 0 when it names none (aliases
 * such as EWOULDBLOCK are not names errname() gives, so they are 0 too). */
int errname_value(const char *name);

#endif /* NT_ERRNAME_H */
