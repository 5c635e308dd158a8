/* struct record → one line of compact JSON; pure, no I/O. */
#ifndef NT_JSON_H
#define NT_JSON_H

#include <stddef.h>
#include <sys/types.h>
#include "record.h"

/* The formatter's state: one reusable jansson object per kind of record. */
struct json_fmt;

struct json_fmt *json_fmt_new(void);
void json_fmt_free(struct json_fmt *fmt);

/* Writes rec as JSON and a newline into buf. Returns the length, or -ENOSPC / -ENOMEM. */
ssize_t json_format(struct json_fmt *fmt, const struct record *rec, char *buf, size_t size);

/* Copies src (len bytes) to dst as valid UTF-8, each invalid byte replaced by U+FFFD.
 * dst must hold 3 * len + 1 bytes. Returns the length written. */
size_t json_utf8_sanitize(char *dst, const char *src, size_t len);

/* Formats an epoch time in nanoseconds as RFC 3339 UTC with microseconds (28 bytes). */
void json_time(char *dst, size_t size, uint64_t time_ns);

#endif /* NT_JSON_H */
