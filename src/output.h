/* Record sinks: stdout or an append-only file, with batching, reopen and EPIPE handling. */
#ifndef NT_OUTPUT_H
#define NT_OUTPUT_H

#include <stddef.h>

struct output;

/* path NULL or "-" is stdout. NULL with errno set on failure. */
struct output *output__open(const char *path);
/* Buffers one line; writes when the buffer fills. 0 or -errno (-EPIPE: the reader left). */
int output__write(struct output *out, const char *line, size_t len);
/* Writes what is buffered. 0 or -errno. */
int output__flush(struct output *out);
/* Flushes, then reopens the file by name (log rotation). No-op for stdout. */
int output__reopen(struct output *out);
void output__close(struct output *out);
/* write(2) until all of p is written or an error; async-signal-safe. 0 or -errno. */
int output_write_all(int fd, const char *p, size_t len);

#endif /* NT_OUTPUT_H */
