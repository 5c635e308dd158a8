/* The reference formatter (jansson), for tests and the differential fuzzer only. */
#ifndef NT_JSON_REF_H
#define NT_JSON_REF_H

#include <stddef.h>
#include <sys/types.h>
#include "record.h"

struct json_ref_fmt;

struct json_ref_fmt *json_ref_fmt_new(void);
void json_ref_fmt_free(struct json_ref_fmt *fmt);

/* As json_format: the line and its newline, or -ENOSPC / -ENOMEM. */
ssize_t json_ref_format(struct json_ref_fmt *fmt, const struct record *rec, char *buf,
			size_t size);

/* Copies src (len bytes, up to a NUL) to dst as valid UTF-8, each invalid byte replaced by
 * U+FFFD. dst must hold 3 * len + 1 bytes. Returns the length written. */
size_t json_ref_utf8_sanitize(char *dst, const char *src, size_t len);

#endif /* NT_JSON_REF_H */
