/* libFuzzer harness: arbitrary perf sample bytes → event_decode → json_format → JSON. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <jansson.h>
#include "event.h"
#include "json.h"

/* Any failed check is a finding: abort so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* A realistic CLOCK_BOOTTIME → wall clock offset: 2023-11-14T22:13:20Z. */
#define CLOCK_OFFSET 1700000000000000000LL

/* The line must be one JSON object that jansson reads back, ending in exactly one newline. */
static void check_line(const char *line, ssize_t len)
{
	json_error_t error;
	json_t *obj;

	CHECK(len > 1 && line[len - 1] == '\n');
	CHECK(memchr(line, '\n', len - 1) == NULL);
	obj = json_loadb(line, len, 0, &error);
	CHECK(obj && json_is_object(obj));
	CHECK(json_is_string(json_object_get(obj, "time")));
	json_decref(obj);
}

/* Whatever the bytes, the sanitised copy is UTF-8 that jansson accepts. */
static void check_sanitize(const uint8_t *data, size_t size)
{
	size_t n = size > 64 ? 64 : size, len;
	char dst[3 * 64 + 1];
	json_t *s;

	len = json_utf8_sanitize(dst, (const char *)data, n);
	CHECK(len <= 3 * n && dst[len] == '\0' && strlen(dst) == len);
	s = json_string(dst);
	CHECK(s);
	json_decref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Pipeline's line buffer size: every decodable sample must fit in it. */
	char line[1024];
	static struct json_fmt *fmt; /* reused across inputs, as nettracer does */
	struct record rec;
	ssize_t len;
	int err;

	if (!fmt)
		fmt = json_fmt_new();
	CHECK(fmt);
	check_sanitize(data, size);

	err = event_decode(data, size, CLOCK_OFFSET, &rec);
	if (err) {
		CHECK(err == -EINVAL);
		return 0;
	}
	CHECK(size >= NT_EVENT_SHORT_SIZE);
	CHECK(rec.family == AF_INET || rec.family == AF_INET6);
	CHECK(rec.type == RECORD_CONNECT || rec.type == RECORD_ACCEPT || rec.type == RECORD_CLOSE);
	CHECK(rec.has_metrics == (rec.type == RECORD_CLOSE));
	CHECK(rec.comm[RECORD_COMM_LEN] == '\0');
	len = json_format(fmt, &rec, line, sizeof(line));
	CHECK(len > 0);
	check_line(line, len);

	/* The same record as a lost record and as a metrics record must format too. */
	rec.type = RECORD_METRICS;
	rec.has_metrics = true;
	len = json_format(fmt, &rec, line, sizeof(line));
	CHECK(len > 0);
	check_line(line, len);
	rec.type = RECORD_LOST;
	len = json_format(fmt, &rec, line, sizeof(line));
	CHECK(len > 0);
	check_line(line, len);
	return 0;
}
