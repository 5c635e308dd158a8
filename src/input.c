/* nettracer's own NDJSON back into records: the strict line parser and the following reader. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <jansson.h>
#include "errname.h"
#include "input.h"

/* ---- One line → one record ---- */

/* An integer key in [0, max]: 0, 1 when absent and optional, or -EINVAL. */
static int get_uint(json_t *obj, const char *key, uint64_t max, bool optional, uint64_t *v)
{
	json_t *j = json_object_get(obj, key);
	json_int_t i;

	if (!j && optional)
		return 1;
	if (!json_is_integer(j))
		return -EINVAL;
	i = json_integer_value(j);
	if (i < 0 || (uint64_t)i > max)
		return -EINVAL;
	*v = i;
	return 0;
}

static int get_u32(json_t *obj, const char *key, uint32_t *v)
{
	uint64_t u = 0;
	int err = get_uint(obj, key, UINT32_MAX, false, &u);

	*v = u;
	return err;
}

/* A string key: its value and length, 1 when absent and optional, or -EINVAL. */
static int get_str(json_t *obj, const char *key, bool optional, const char **s, size_t *len)
{
	json_t *j = json_object_get(obj, key);

	if (!j && optional)
		return 1;
	if (!json_is_string(j))
		return -EINVAL;
	*s = json_string_value(j);
	*len = json_string_length(j);
	return 0;
}

/* Kernel text as the writer wrote it → bytes, each U+FFFD back to one byte that is not UTF-8,
 * NUL-terminated in dst; -EINVAL when more than max bytes are left (not what a writer that
 * stops at max bytes made). jansson refuses \u0000, so there is no NUL inside. */
static int unsanitize(char *dst, size_t max, const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; n++) {
		if (n == max)
			return -EINVAL;
		if (len - i >= 3 && !memcmp(s + i, "\xef\xbf\xbd", 3)) {
			dst[n] = (char)0xff;
			i += 3;
		} else {
			dst[n] = s[i++];
		}
	}
	dst[n] = '\0';
	return 0;
}

/* An optional text key into strings: NULL when absent. */
static int get_text(json_t *obj, const char *key, size_t max, char **strings, size_t *left,
		    const char **out)
{
	const char *s;
	size_t len;
	int err = get_str(obj, key, true, &s, &len);

	*out = NULL;
	if (err)
		return err > 0 ? 0 : err;
	/* The bytes never outnumber the text's. */
	if (*left < (len < max ? len : max) + 1)
		return -ENOSPC;
	err = unsanitize(*strings, max, s, len);
	if (err)
		return err;
	*out = *strings;
	len = strlen(*strings) + 1;
	*strings += len;
	*left -= len;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" exactly, a date that exists, from 1970 to UINT64_MAX ns. */
static int parse_time(const char *s, size_t len, uint64_t *ns)
{
	static const char form[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	unsigned int v[7] = { 0 }, i, f = 0;
	struct tm tm = { 0 }, back;
	time_t sec;

	if (len != sizeof(form) - 1)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (form[i] != 'd') {
			if (s[i] != form[i])
				return -EINVAL;
			f += i + 1 < len && form[i + 1] == 'd';
			continue;
		}
		if (!is_digit(s[i]))
			return -EINVAL;
		v[f] = v[f] * 10 + (s[i] - '0');
	}
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[3] > 23 || v[4] > 59 || v[5] > 59)
		return -EINVAL;
	sec = timegm(&tm);
	/* timegm() carries 30 February into March: such a date is not one the writer wrote. */
	if (sec < 0 || !gmtime_r(&sec, &back) || back.tm_mday != (int)v[2] ||
	    back.tm_mon != (int)v[1] - 1)
		return -EINVAL;
	if ((uint64_t)sec > (UINT64_MAX - v[6] * 1000ULL) / 1000000000)
		return -EINVAL;
	*ns = (uint64_t)sec * 1000000000 + v[6] * 1000ULL;
	return 0;
}

static int parse_type(const char *s, enum record_type *type)
{
	static const enum record_type types[] = { RECORD_CONNECT, RECORD_ACCEPT,
						  RECORD_CLOSE,	  RECORD_METRICS,
						  RECORD_LOST,	  RECORD_CONNECT_FAILED };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(s, record_type_name(types[i]))) {
			*type = types[i];
			return 0;
		}
	return -EINVAL;
}

/* An errno's name, or its number in decimal when it has none (as put_error writes it). */
static int parse_error(const char *s, int *err)
{
	long v = 0;
	size_t i;

	*err = errname_value(s);
	if (*err)
		return 0;
	if (!is_digit(s[0]) || s[0] == '0')
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (!is_digit(s[i]) || i >= 10)
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > INT_MAX || errname(v))
		return -EINVAL;
	*err = v;
	return 0;
}

/* Microseconds as written (ns / 1000) → nanoseconds; 0 that was written is under 1 us. */
static int get_duration(json_t *obj, const char *key, bool optional, bool zero_is_known,
			uint64_t *ns)
{
	uint64_t us;
	int err = get_uint(obj, key, UINT64_MAX / 1000, optional, &us);

	if (err)
		return err > 0 ? 0 : err;
	*ns = us * 1000;
	if (!us && zero_is_known)
		*ns = 1;
	return 0;
}

static int parse_addr(json_t *obj, const char *key, int family, uint8_t *addr)
{
	const char *s;
	size_t len;

	if (get_str(obj, key, false, &s, &len))
		return -EINVAL;
	return inet_pton(family, s, addr) == 1 ? 0 : -EINVAL;
}

/* FNV-1a over what identifies a connection among the live ones. */
static uint64_t tuple_hash(const struct record *rec)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint8_t key[4 + 1 + 16 + 16 + 2 + 2];
	size_t i;

	memcpy(key, &rec->netns, 4);
	key[4] = rec->family == AF_INET6;
	memcpy(key + 5, rec->saddr, 16);
	memcpy(key + 21, rec->daddr, 16);
	memcpy(key + 37, &rec->sport, 2);
	memcpy(key + 39, &rec->dport, 2);
	for (i = 0; i < sizeof(key); i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	return h;
}

static int parse_metrics(json_t *obj, struct record *rec)
{
	struct record_metrics *m = &rec->metrics;
	const char *dir;
	size_t len;

	if (get_str(obj, "direction", false, &dir, &len))
		return -EINVAL;
	if (!strcmp(dir, "outbound"))
		rec->direction = DIRECTION_OUTBOUND;
	else if (!strcmp(dir, "inbound"))
		rec->direction = DIRECTION_INBOUND;
	else if (!strcmp(dir, "unknown"))
		rec->direction = DIRECTION_UNKNOWN;
	else
		return -EINVAL;
	rec->has_metrics = true;
	if (get_uint(obj, "bytes_sent", INT64_MAX, false, &m->bytes_sent) ||
	    get_uint(obj, "bytes_received", INT64_MAX, false, &m->bytes_received) ||
	    get_uint(obj, "packets_sent", INT64_MAX, false, &m->packets_sent) ||
	    get_uint(obj, "packets_received", INT64_MAX, false, &m->packets_received) ||
	    get_uint(obj, "retransmits", INT64_MAX, false, &m->retransmits) ||
	    get_u32(obj, "rtt_us", &m->rtt_us) || get_u32(obj, "rttvar_us", &m->rttvar_us))
		return -EINVAL;
	return 0;
}

/* What a connect_failed or a close record says about how it went. */
static int parse_outcome(json_t *obj, struct record *rec, char **strings, size_t *left)
{
	json_t *abandoned = json_object_get(obj, "abandoned");
	const char *s;
	size_t len;
	int err;

	err = get_str(obj, "error", true, &s, &len);
	if (err < 0 || (!err && parse_error(s, &rec->error)))
		return -EINVAL;
	if (rec->type == RECORD_CONNECT_FAILED) {
		if (abandoned && (!json_is_true(abandoned) || !err))
			return -EINVAL;
		if (err && !abandoned)
			rec->error = RECORD_ERROR_UNKNOWN;
		return get_duration(obj, "duration_us", false, false, &rec->duration_ns);
	}
	if (get_duration(obj, "duration_us", true, true, &rec->duration_ns))
		return -EINVAL;
	err = get_str(obj, "reset", true, &s, &len);
	if (err < 0)
		return -EINVAL;
	if (!err && !strcmp(s, "sent"))
		rec->reset = RESET_SENT;
	else if (!err && !strcmp(s, "received"))
		rec->reset = RESET_RECEIVED;
	else if (!err)
		return -EINVAL;
	return get_text(obj, "reset_reason", RECORD_REASON_MAX, strings, left, &rec->reset_reason);
}

/* Keys that make the metrics part: a line has all of them or none. */
static const char *const metrics_keys[] = { "direction",    "bytes_sent",	"bytes_received",
					    "packets_sent", "packets_received", "retransmits",
					    "rtt_us",	    "rttvar_us" };

static bool has_metrics_key(json_t *obj)
{
	size_t i;

	for (i = 0; i < sizeof(metrics_keys) / sizeof(metrics_keys[0]); i++)
		if (json_object_get(obj, metrics_keys[i]))
			return true;
	return false;
}

static int parse_conn(json_t *obj, struct record *rec, char **strings, size_t *left)
{
	uint32_t sport, dport;
	const char *s;
	size_t len;
	int err;

	if (get_u32(obj, "pid", &rec->pid) || get_str(obj, "comm", false, &s, &len) ||
	    unsanitize(rec->comm, RECORD_COMM_LEN, s, len) || get_u32(obj, "uid", &rec->uid) ||
	    get_u32(obj, "netns", &rec->netns) ||
	    get_uint(obj, "cgroup_id", INT64_MAX, true, &rec->cgroup_id) < 0)
		return -EINVAL;
	err = get_text(obj, "cgroup", RECORD_CGROUP_MAX, strings, left, &rec->cgroup);
	if (err)
		return err;
	err = get_str(obj, "container_id", true, &s, &len);
	/* The writer leaves out an empty one. */
	if (err < 0 ||
	    (!err && (!len || unsanitize(rec->container_id, RECORD_CONTAINER_ID_LEN, s, len))))
		return -EINVAL;
	if (get_str(obj, "family", false, &s, &len))
		return -EINVAL;
	if (!strcmp(s, "ipv4"))
		rec->family = AF_INET;
	else if (!strcmp(s, "ipv6"))
		rec->family = AF_INET6;
	else
		return -EINVAL;
	if (parse_addr(obj, "saddr", rec->family, rec->saddr) ||
	    parse_addr(obj, "daddr", rec->family, rec->daddr))
		return -EINVAL;
	if (get_u32(obj, "sport", &sport) || get_u32(obj, "dport", &dport) || sport > UINT16_MAX ||
	    dport > UINT16_MAX)
		return -EINVAL;
	rec->sport = sport;
	rec->dport = dport;
	rec->sk = tuple_hash(rec);

	if (has_metrics_key(obj) || rec->type == RECORD_METRICS) {
		if (parse_metrics(obj, rec))
			return -EINVAL;
	} else {
		rec->direction = rec->type == RECORD_ACCEPT ? DIRECTION_INBOUND
				 : rec->type == RECORD_CONNECT || rec->type == RECORD_CONNECT_FAILED
				     ? DIRECTION_OUTBOUND
				     : DIRECTION_UNKNOWN;
	}
	switch (rec->type) {
	case RECORD_CONNECT:
		return get_duration(obj, "handshake_us", true, true, &rec->duration_ns) ? -EINVAL
											: 0;
	case RECORD_CONNECT_FAILED:
	case RECORD_CLOSE:
		return parse_outcome(obj, rec, strings, left);
	default:
		return 0;
	}
}

static int parse_lost(json_t *obj, struct record *rec)
{
	const char *s;
	size_t len;

	if (get_str(obj, "reason", false, &s, &len))
		return -EINVAL;
	if (!strcmp(s, "perf_buffer")) {
		rec->lost_reason = LOST_PERF_BUFFER;
		if (get_u32(obj, "cpu", &rec->cpu))
			return -EINVAL;
	} else if (!strcmp(s, "output")) {
		rec->lost_reason = LOST_OUTPUT;
	} else {
		return -EINVAL;
	}
	return get_uint(obj, "count", INT64_MAX, false, &rec->lost_count) ? -EINVAL : 0;
}

int input_parse_line(const char *line, size_t len, struct record *rec, char *strings,
		     size_t strings_size)
{
	json_error_t error;
	const char *s;
	size_t n;
	json_t *obj;
	int err = -EINVAL;

	memset(rec, 0, sizeof(*rec));
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &error);
	if (!json_is_object(obj))
		goto out;
	if (get_str(obj, "time", false, &s, &n) || parse_time(s, n, &rec->time_ns) ||
	    get_str(obj, "type", false, &s, &n) || parse_type(s, &rec->type) ||
	    get_uint(obj, "seq", INT64_MAX, false, &rec->seq))
		goto out;
	if (rec->type == RECORD_LOST)
		err = parse_lost(obj, rec);
	else
		err = parse_conn(obj, rec, &strings, &strings_size);
out:
	json_decref(obj);
	return err;
}

/* ---- The reader ---- */

/* A longer line is not a record (the longest is JSON_LINE_MAX): it is passed over. */
#define INPUT_BUF_SIZE 65536

struct input {
	char *path; /* NULL for standard input */
	bool follow;
	int fd;	       /* -1 while a followed path does not exist */
	bool pollable; /* a pipe, a terminal, a socket: not a regular file */
	dev_t dev;     /* the file fd reads */
	ino_t ino;
	off_t pos;     /* how far it is read */
	bool draining; /* the path names another file: read this one to its end once more */
	bool overlong; /* the line being read is too long: drop it up to its newline */
	uint64_t skipped;
	size_t start, end; /* buf[start, end): read, not yet taken */
	char strings[INPUT_STRINGS_MAX];
	char buf[INPUT_BUF_SIZE];
};

static int take_fd(struct input *in, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	in->fd = fd;
	in->pollable = !S_ISREG(st.st_mode);
	in->dev = st.st_dev;
	in->ino = st.st_ino;
	in->pos = 0;
	in->draining = false;
	return 0;
}

static int open_path(struct input *in)
{
	int fd = open(in->path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = take_fd(in, fd);
	if (err)
		close(fd);
	return err;
}

void input__close(struct input *in)
{
	if (!in)
		return;
	if (in->path && in->fd >= 0)
		close(in->fd);
	free(in->path);
	free(in);
}

struct input *input__open(const char *path, bool follow)
{
	struct input *in = calloc(1, sizeof(*in));
	int err;

	if (!in)
		return NULL;
	in->follow = follow;
	in->fd = -1;
	if (!strcmp(path, "-")) {
		err = take_fd(in, STDIN_FILENO);
	} else {
		in->path = strdup(path);
		err = in->path ? open_path(in) : -ENOMEM;
		if (err == -ENOENT && follow)
			err = 0;
	}
	if (err) {
		input__close(in);
		errno = -err;
		return NULL;
	}
	return in;
}

uint64_t input__skipped(const struct input *in)
{
	return in->skipped;
}

int input__fd(const struct input *in)
{
	return in->fd >= 0 && in->pollable ? in->fd : -1;
}

/* The unfinished line is never finished: its file ended, moved away or shrank. */
static void drop_partial(struct input *in)
{
	if (in->end > in->start || in->overlong)
		in->skipped++;
	in->start = in->end = 0;
	in->overlong = false;
}

/* Reads what is there: > 0 bytes, 0 at the end for now, -EAGAIN when a pipe has nothing. */
static ssize_t fill(struct input *in)
{
	struct pollfd pfd = { .fd = in->fd, .events = POLLIN };
	ssize_t n;

	/* Standard input is not made non-blocking: its file description is shared. */
	if (in->pollable) {
		n = poll(&pfd, 1, 0);
		if (n < 0)
			return errno == EINTR ? -EAGAIN : -errno;
		if (n == 0)
			return -EAGAIN;
	}
	do
		n = read(in->fd, in->buf + in->end, sizeof(in->buf) - in->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;
	in->end += n;
	in->pos += n;
	return n;
}

/* At the end of what is there: 0 to read again (a new file, or the old one once more),
 * -EAGAIN to wait, -ENODATA at the end. */
static int at_end(struct input *in)
{
	struct stat st;

	if (!in->follow || in->pollable) {
		drop_partial(in);
		return -ENODATA;
	}
	if (fstat(in->fd, &st))
		return -errno;
	if (st.st_size < in->pos) { /* truncated: from its start again */
		if (lseek(in->fd, 0, SEEK_SET) < 0)
			return -errno;
		in->pos = 0;
		drop_partial(in);
		return 0;
	}
	if (!in->path || stat(in->path, &st) || (st.st_dev == in->dev && st.st_ino == in->ino) ||
	    st.st_size == 0) {
		in->draining = false;
		return -EAGAIN;
	}
	/* Its writer has moved on: what it wrote here came before, and this read after. */
	if (!in->draining) {
		in->draining = true;
		return 0;
	}
	drop_partial(in);
	close(in->fd);
	in->fd = -1;
	return open_path(in) == -ENOENT ? -EAGAIN : 0;
}

int input__read(struct input *in, struct record *rec)
{
	char *line, *nl;
	ssize_t n;
	size_t len;
	int err;

	for (;;) {
		nl = memchr(in->buf + in->start, '\n', in->end - in->start);
		if (nl) {
			line = in->buf + in->start;
			len = nl - line + 1;
			in->start += len;
			if (in->overlong) {
				in->overlong = false;
				in->skipped++;
				continue;
			}
			if (!input_parse_line(line, len, rec, in->strings, sizeof(in->strings)))
				return 0;
			in->skipped++;
			continue;
		}
		if (in->start) {
			memmove(in->buf, in->buf + in->start, in->end - in->start);
			in->end -= in->start;
			in->start = 0;
		}
		if (in->end == sizeof(in->buf)) {
			in->overlong = true;
			in->end = 0;
		}
		if (in->fd < 0) {
			err = open_path(in);
			if (err)
				return err == -ENOENT ? -EAGAIN : err;
		}
		n = fill(in);
		if (n > 0)
			continue;
		if (n < 0)
			return n;
		err = at_end(in);
		if (err)
			return err;
	}
}

int input__wait(struct input *in, int timeout_ms)
{
	struct pollfd pfd = { .fd = in->fd, .events = POLLIN };
	struct timespec ts = { timeout_ms / 1000, timeout_ms % 1000 * 1000000L };
	struct stat st;

	if (memchr(in->buf + in->start, '\n', in->end - in->start))
		return 0;
	if (in->fd >= 0 && in->pollable)
		return poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR ? -errno : 0;
	if (in->fd >= 0 && !fstat(in->fd, &st) && st.st_size != in->pos)
		return 0;
	return nanosleep(&ts, NULL) && errno != EINTR ? -errno : 0;
}
