/* struct record → one line of compact JSON; pure, no I/O, no allocation per record. */
#ifndef NT_JSON_H
#define NT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "record.h"

/* The formatter's state: the text of the current second, which most records share. */
struct json_fmt;

/* No line is longer (src/json.c says why): a buffer of this size always holds one. */
#define JSON_LINE_MAX 4608

struct json_fmt *json_fmt_new(void);
void json_fmt_free(struct json_fmt *fmt);

/* Writes rec as JSON and a newline into buf. Returns the length, or -ENOSPC when the line
 * and its newline do not fit in size bytes (no terminating NUL is written). */
ssize_t json_format(struct json_fmt *fmt, const struct record *rec, char *buf, size_t size);

/* Longest text json_addr() writes, with the NUL (INET6_ADDRSTRLEN). */
#define JSON_ADDR_LEN 46

/* An address as the JSON records write it (RFC 5952, as inet_ntop does), NUL-terminated, for
 * other views of the same records. */
void json_addr(char buf[JSON_ADDR_LEN], int family, const uint8_t *addr);

#endif /* NT_JSON_H */
