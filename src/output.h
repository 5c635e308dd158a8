/* Record sinks: stdout or an append-only file; holds records while writing fails, rotates. */
#ifndef NT_OUTPUT_H
#define NT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct output;

/* -o, --rotate-size, --rotate-keep. */
struct output_opts {
	const char *path;	  /* NULL or "-": stdout */
	uint64_t rotate_size;	  /* bytes, 0 for none; only for a file */
	unsigned int rotate_keep; /* FILE.1 ... FILE.N */
};

/* Records held while writing fails: beyond this, new records are dropped and counted. */
#define OUTPUT_HOLD_SIZE (1024 * 1024)

struct output_status {
	int err;	  /* what writing meets now (-ENOSPC, -EAGAIN, ...), 0 when it works */
	uint64_t gap;	  /* records dropped since the last report of a gap */
	uint64_t dropped; /* records dropped since the start */
	uint64_t held;	  /* lines held, not written yet */
	int rotate_err;	  /* the last rotation that failed, 0 once one works */
};

/* path NULL or "-" is stdout. NULL with errno set on failure. */
struct output *output__open(const char *path);
/* Is fd open for writing? 0, -EBADF when it is closed, -EACCES when it is read-only. */
int output_check_fd(int fd);
/* Renames FILE to FILE.1 (FILE.1 to FILE.2, ... up to FILE.keep) when a line would take FILE
 * past size bytes. Only for a file. */
void output__set_rotation(struct output *out, uint64_t size, unsigned int keep);
/* Takes one whole line (or -d table). It is held when it cannot be written yet. 0, -ENOBUFS when
 * it was dropped (the hold is full, or a gap waits for its report) or -EPIPE: the reader left.
 * Other write errors are not returned: see output__status(). */
int output__write(struct output *out, const char *line, size_t len);
/* Records dropped since the last report of a gap (cheap: for every record). */
uint64_t output__gap(const struct output *out);
/* Takes line, the report of n records of the gap, ahead of every line after it; line NULL
 * forgets them. 0, -ENOBUFS when it does not fit yet (the gap stays) or -EPIPE. */
int output__report_gap(struct output *out, const char *line, size_t len, uint64_t n);
/* Writes what is held, unless an earlier failure's back-off has not run out. 0 or -EPIPE. */
int output__flush(struct output *out);
/* Writes what is held now, back-off or not. 0, or the error that stopped it. */
int output__drain(struct output *out);
/* Reopens the file by name (log rotation), at the first line boundary. No-op for stdout.
 * 0 or -errno: the old file stays in use. */
int output__reopen(struct output *out);
void output__status(const struct output *out, struct output_status *st);
void output__close(struct output *out);
/* write(2) until all of p is written or an error; async-signal-safe. 0 or -errno. */
int output_write_all(int fd, const char *p, size_t len);

#endif /* NT_OUTPUT_H */
