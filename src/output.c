/* Buffered, append-only record sink. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "output.h"

#define OUTPUT_BUF_SIZE (64 * 1024)

struct output {
	int fd;
	char *path; /* NULL for stdout */
	size_t len;
	char buf[OUTPUT_BUF_SIZE];
};

static int open_file(const char *path)
{
	/* O_NOFOLLOW: a symlink planted at the path is refused, not followed. */
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

struct output *output__open(const char *path)
{
	struct output *out = calloc(1, sizeof(*out));

	if (!out)
		return NULL;
	if (!path || strcmp(path, "-") == 0) {
		out->fd = STDOUT_FILENO;
		return out;
	}
	out->path = strdup(path);
	if (!out->path)
		goto err_free;
	out->fd = open_file(path);
	if (out->fd < 0)
		goto err_free;
	return out;
err_free:
	free(out->path);
	free(out);
	return NULL;
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

int output__flush(struct output *out)
{
	int err;

	if (!out->len)
		return 0;
	err = output_write_all(out->fd, out->buf, out->len);
	out->len = 0;
	return err;
}

int output__write(struct output *out, const char *line, size_t len)
{
	int err;

	if (out->len + len > sizeof(out->buf)) {
		err = output__flush(out);
		if (err)
			return err;
		if (len > sizeof(out->buf))
			return output_write_all(out->fd, line, len);
	}
	memcpy(out->buf + out->len, line, len);
	out->len += len;
	return 0;
}

int output__reopen(struct output *out)
{
	int err, fd;

	err = output__flush(out);
	if (err || !out->path)
		return err;
	fd = open_file(out->path);
	if (fd < 0)
		return -errno;
	close(out->fd);
	out->fd = fd;
	return 0;
}

void output__close(struct output *out)
{
	if (!out)
		return;
	output__flush(out);
	if (out->path)
		close(out->fd);
	free(out->path);
	free(out);
}
