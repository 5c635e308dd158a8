/* struct record → one line of Elastic Common Schema JSON (--format=ecs); pure, no allocation. */
#ifndef NT_ECS_H
#define NT_ECS_H

#include <stddef.h>
#include <sys/types.h>
#include "record.h"

/* The ECS version whose field names and allowed values the lines use (ecs.version). */
#define ECS_VERSION "8.11.0"

/* No line is longer (src/ecs.c says why): a buffer of this size always holds one. */
#define ECS_LINE_MAX 6144

/* Writes rec as one ECS document of nested objects and a newline into buf. Returns the
 * length, or -ENOSPC when the line does not fit in size bytes (no NUL is written). The
 * mapping, field by field, is in nettracer(8), ECS OUTPUT. */
ssize_t ecs_format(const struct record *rec, char *buf, size_t size);

#endif /* NT_ECS_H */
