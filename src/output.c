/* Append-only record sink that outlives a full disk or a stalled reader, and rotates by size. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "output.h"

#define OUTPUT_FLUSH_AT (64 * 1024)	   /* a healthy sink writes in batches of this size */
#define OUTPUT_MAX_UNIT (64 * 1024 * 1024) /* a -d table may exceed the hold, within this */
#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	2000

struct output {
	int fd;
	char *path; /* NULL for stdout */
	char *buf;  /* whole lines, except that the first may have begun in the file */
	size_t len, cap;
	bool partial; /* the file ends inside the first line held: its rest goes first */
	bool reopen;  /* asked for; done at the next line boundary */
	int reopen_err;
	int err;       /* the last write failed with it: retry at retry_ns */
	bool progress; /* the last write_out() wrote something */
	unsigned int backoff_ms;
	uint64_t retry_ns;
	uint64_t gap, dropped;
	uint64_t size; /* of the file, for rotation */
	uint64_t rotate_size;
	unsigned int keep;
	int rotate_err;
	char *from, *to; /* FILE.N names, room for any N */
};

static int open_file(const char *path)
{
	/* O_NOFOLLOW: a symlink planted at the path is refused, not followed. */
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int output_check_fd(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -errno;
	if ((flags & O_ACCMODE) == O_RDONLY)
		return -EACCES;
	return 0;
}

struct output *output__open(const char *path)
{
	struct output *out = calloc(1, sizeof(*out));
	struct stat st;
	int err;

	if (!out)
		return NULL;
	out->cap = OUTPUT_HOLD_SIZE;
	out->buf = malloc(out->cap);
	if (!out->buf)
		goto err_free;
	if (!path || strcmp(path, "-") == 0) {
		err = output_check_fd(STDOUT_FILENO);
		if (err) {
			errno = -err;
			goto err_free;
		}
		out->fd = STDOUT_FILENO;
		return out;
	}
	out->path = strdup(path);
	if (!out->path)
		goto err_free;
	out->fd = open_file(path);
	if (out->fd < 0)
		goto err_free;
	if (!fstat(out->fd, &st))
		out->size = st.st_size;
	return out;
err_free:
	err = errno;
	free(out->path);
	free(out->buf);
	free(out);
	errno = err;
	return NULL;
}

void output__set_rotation(struct output *out, uint64_t size, unsigned int keep)
{
	size_t n;

	if (!out->path || !size || !keep)
		return;
	n = strlen(out->path) + 16;
	free(out->from);
	free(out->to);
	out->from = malloc(n);
	out->to = malloc(n);
	if (!out->from || !out->to)
		return; /* rotate() refuses without names */
	out->rotate_size = size;
	out->keep = keep;
}

int output_write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int reopen_now(struct output *out)
{
	struct stat st;
	int fd;

	out->reopen = false;
	fd = open_file(out->path);
	if (fd < 0)
		return -errno;
	close(out->fd);
	out->fd = fd;
	out->size = fstat(fd, &st) ? 0 : st.st_size;
	return 0;
}

/* FILE → FILE.0 first, then FILE.top-1 → FILE.top, ..., FILE.0 → FILE.1, and a new FILE;
 * top is the first number free (at most keep: the oldest is then renamed over). When FILE is
 * gone already (logrotate renamed it and its SIGHUP is on its way) nothing is shifted, so the
 * numbers stay without a gap. 0 or -errno: FILE stays. */
static int rotate(struct output *out)
{
	size_t n = strlen(out->path) + 16;
	unsigned int i, top;

	if (!out->from || !out->to)
		return -ENOMEM;
	snprintf(out->from, n, "%s.0", out->path);
	if (rename(out->path, out->from))
		return errno == ENOENT ? reopen_now(out) : -errno;
	for (top = 1; top < out->keep; top++) {
		snprintf(out->to, n, "%s.%u", out->path, top);
		if (access(out->to, F_OK))
			break;
	}
	for (i = top; i > 1; i--) {
		snprintf(out->from, n, "%s.%u", out->path, i - 1);
		snprintf(out->to, n, "%s.%u", out->path, i);
		if (rename(out->from, out->to) && errno != ENOENT)
			return -errno;
	}
	snprintf(out->from, n, "%s.0", out->path);
	snprintf(out->to, n, "%s.1", out->path);
	if (rename(out->from, out->to))
		return -errno;
	return reopen_now(out);
}

/* How many bytes at buf + done go next: whole lines that keep the file within the rotation size
 * (the rest of a line begun in the file, whatever its size). 0: rotate first. */
static size_t chunk(const struct output *out, size_t done)
{
	const char *p = out->buf + done, *nl;
	size_t rest = out->len - done, room;

	if (out->partial) {
		nl = memchr(p, '\n', rest);
		return nl ? (size_t)(nl - p) + 1 : rest;
	}
	if (!out->rotate_size)
		return rest;
	room = out->size < out->rotate_size ? out->rotate_size - out->size : 0;
	if (rest <= room)
		return rest;
	nl = room ? memrchr(p, '\n', room) : NULL;
	if (nl)
		return nl - p + 1;
	if (out->size)
		return 0;
	/* A line longer than the rotation size gets a file of its own. */
	nl = memchr(p, '\n', rest);
	return nl ? (size_t)(nl - p) + 1 : rest;
}

/* Writes what is held, reopening and rotating at line boundaries. 0 or the error that stopped
 * it; what was not written stays held. */
static int write_out(struct output *out)
{
	bool no_rotation = false;
	size_t done = 0, n;
	ssize_t w;
	int err = 0;

	while (done < out->len) {
		if (out->reopen && !out->partial)
			out->reopen_err = reopen_now(out);
		n = no_rotation ? out->len - done : chunk(out, done);
		if (!n) {
			out->rotate_err = rotate(out);
			/* Better one file too long than records lost: retried at the next write. */
			no_rotation = out->rotate_err != 0;
			continue;
		}
		w = write(out->fd, out->buf + done, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (!w) {
			err = -EIO;
			break;
		}
		done += w;
		out->size += w;
		out->partial = out->buf[done - 1] != '\n';
	}
	if (out->reopen && !out->partial && done == out->len)
		out->reopen_err = reopen_now(out);
	out->progress = done != 0;
	memmove(out->buf, out->buf + done, out->len - done);
	out->len -= done;
	return err;
}

/* Notes the outcome of a write: a failure starts or extends a back-off; success ends it. A
 * failure after some progress (a reader that drains a pipe slowly, a disk that freed a little)
 * starts the back-off again from its shortest wait. */
static int settle(struct output *out, int err)
{
	if (err == -EPIPE || !err) {
		out->err = 0;
		out->backoff_ms = 0;
		return err;
	}
	if (!out->err || out->progress)
		out->backoff_ms = BACKOFF_MIN_MS;
	else if (out->backoff_ms < BACKOFF_MAX_MS / 2)
		out->backoff_ms *= 2;
	else
		out->backoff_ms = BACKOFF_MAX_MS;
	out->err = err;
	out->retry_ns = now_ns() + (uint64_t)out->backoff_ms * 1000000;
	return 0;
}

int output__flush(struct output *out)
{
	if (!out->len && !out->reopen)
		return 0;
	if (out->err && now_ns() < out->retry_ns)
		return 0;
	return settle(out, write_out(out));
}

int output__drain(struct output *out)
{
	int err = write_out(out);

	settle(out, err);
	return err;
}

/* A -d table larger than the hold is taken when nothing else is held. */
static bool grow(struct output *out, size_t len)
{
	char *buf;

	if (out->len || len > OUTPUT_MAX_UNIT)
		return false;
	buf = realloc(out->buf, len);
	if (!buf)
		return false;
	out->buf = buf;
	out->cap = len;
	return true;
}

static int put(struct output *out, const char *line, size_t len)
{
	int err;

	if (len > out->cap - out->len) {
		err = output__flush(out);
		if (err)
			return err;
		if (len > out->cap - out->len && !grow(out, len))
			return -ENOBUFS;
	}
	memcpy(out->buf + out->len, line, len);
	out->len += len;
	if (out->len >= OUTPUT_FLUSH_AT && !out->err)
		return settle(out, write_out(out));
	return 0;
}

int output__write(struct output *out, const char *line, size_t len)
{
	/* Records after a gap wait for its report: they would appear to come before it. */
	int err = out->gap ? -ENOBUFS : put(out, line, len);

	if (err == -ENOBUFS) {
		out->gap++;
		out->dropped++;
	}
	return err;
}

int output__report_gap(struct output *out, const char *line, size_t len, uint64_t n)
{
	int err = line ? put(out, line, len) : 0;

	if (!err)
		out->gap -= n < out->gap ? n : out->gap;
	return err;
}

uint64_t output__gap(const struct output *out)
{
	return out->gap;
}

int output__reopen(struct output *out)
{
	if (!out->path)
		return 0;
	out->reopen = true;
	out->reopen_err = 0;
	/* The rest of a line begun in the old file goes there first, whatever the back-off. */
	output__drain(out);
	return out->reopen ? 0 : out->reopen_err;
}

void output__status(const struct output *out, struct output_status *st)
{
	const char *p = out->buf, *end = out->buf + out->len;

	*st = (struct output_status){
		.err = out->err,
		.gap = out->gap,
		.dropped = out->dropped,
		.rotate_err = out->rotate_err,
	};
	while (p < end && (p = memchr(p, '\n', end - p))) {
		st->held++;
		p++;
	}
}

void output__close(struct output *out)
{
	if (!out)
		return;
	write_out(out);
	if (out->path)
		close(out->fd);
	free(out->from);
	free(out->to);
	free(out->path);
	free(out->buf);
	free(out);
}
