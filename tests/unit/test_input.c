/* Unit tests for input.c: lines nettracer wrote back into the same records (round trip through
 * json_format, checked again by the jansson field check), lines that are not records refused,
 * and the reader on real files: partial lines, rotations, truncation, garbage, a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <jansson.h>
#include "errname.h"
#include "input.h"
#include "json.h"
#include "json_check.h"
#include "rnd_record.h"

static struct json_fmt *fmt;
static char strings[INPUT_STRINGS_MAX];

static int setup(void **state)
{
	fmt = json_fmt_new();
	return fmt ? 0 : -1;
}

static int teardown(void **state)
{
	json_fmt_free(fmt);
	return 0;
}

/* Lines of a real run (nettracer -t 1 with loopback connections, a refused connect, an abort
 * with SO_LINGER 0, IPv6, a full perf buffer). */
static const char *const golden[] = {
	"{\"time\":\"2026-12-02T02:48:49.816485Z\",\"type\":\"connect\",\"seq\":1,\"pid\":28931,"
	"\"comm\":\"nt-client\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\","
	"\"family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":44262,\"daddr\":\"127.0.0.1\","
	"\"dport\":43177,\"handshake_us\":42}\n",
	"{\"time\":\"2026-12-02T02:48:49.816636Z\",\"type\":\"accept\",\"seq\":2,\"pid\":28772,"
	"\"comm\":\"nt-server\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\","
	"\"family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":43177,\"daddr\":\"127.0.0.1\","
	"\"dport\":44262}\n",
	"{\"time\":\"2026-12-02T02:48:49.822434Z\",\"type\":\"close\",\"seq\":30,\"pid\":10515,"
	"\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\","
	"\"family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":47278,\"daddr\":\"127.0.0.1\","
	"\"dport\":54617,\"direction\":\"outbound\",\"bytes_sent\":20000000,"
	"\"bytes_received\":1000000,\"packets_sent\":354,\"packets_received\":125,"
	"\"retransmits\":0,\"rtt_us\":563,\"rttvar_us\":814,\"duration_us\":43197}\n",
	"{\"time\":\"2026-12-02T02:48:51.384913Z\",\"type\":\"metrics\",\"seq\":2850,\"pid\":31493,"
	"\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\","
	"\"family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":46501,\"daddr\":\"127.0.0.1\","
	"\"dport\":36514,\"direction\":\"inbound\",\"bytes_sent\":32768,\"bytes_received\":0,"
	"\"packets_sent\":4,\"packets_received\":3,\"retransmits\":0,\"rtt_us\":20,"
	"\"rttvar_us\":17}\n",
	"{\"time\":\"2026-12-02T02:48:53.366997Z\",\"type\":\"connect_failed\",\"seq\":5667,"
	"\"pid\":28774,\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,"
	"\"cgroup\":\"/\",\"family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":40784,"
	"\"daddr\":\"127.0.0.1\",\"dport\":1,\"error\":\"ECONNREFUSED\",\"duration_us\":38}\n",
	"{\"time\":\"2026-12-02T02:48:53.367192Z\",\"type\":\"close\",\"seq\":5670,\"pid\":28774,"
	"\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\","
	"\"family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":53096,\"daddr\":\"127.0.0.1\","
	"\"dport\":36547,\"direction\":\"outbound\",\"bytes_sent\":0,\"bytes_received\":0,"
	"\"packets_sent\":2,\"packets_received\":1,\"retransmits\":0,\"rtt_us\":12,"
	"\"rttvar_us\":6,\"duration_us\":107,\"reset\":\"sent\"}\n",
	"{\"time\":\"2026-12-02T02:48:53.367198Z\",\"type\":\"close\",\"seq\":5671,\"pid\":28774,"
	"\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\","
	"\"family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":36547,\"daddr\":\"127.0.0.1\","
	"\"dport\":53096,\"direction\":\"inbound\",\"bytes_sent\":0,\"bytes_received\":0,"
	"\"packets_sent\":0,\"packets_received\":3,\"retransmits\":0,\"rtt_us\":22,"
	"\"rttvar_us\":11,\"duration_us\":93,\"reset\":\"received\",\"error\":\"ECONNRESET\"}\n",
	"{\"time\":\"2026-12-02T02:48:53.583875Z\",\"type\":\"connect\",\"seq\":6508,\"pid\":28774,"
	"\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\","
	"\"family\":\"ipv6\",\"saddr\":\"::1\",\"sport\":48520,\"daddr\":\"::1\",\"dport\":49521,"
	"\"handshake_us\":81}\n",
	"{\"time\":\"2026-12-02T02:48:55.382060Z\",\"type\":\"lost\",\"seq\":10455,"
	"\"reason\":\"perf_buffer\",\"cpu\":1,\"count\":4}\n",
};

/* line parses, and json_format of the record gives it back byte for byte. */
static void assert_round_trip(const char *line, size_t len, struct record *rec)
{
	char out[JSON_LINE_MAX], why[512];
	ssize_t n;
	int err;

	err = input_parse_line(line, len, rec, strings, sizeof(strings));
	if (err)
		fail_msg("input_parse_line: %d for %.*s", err, (int)len, line);
	n = json_format(fmt, rec, out, sizeof(out));
	if (n != (ssize_t)len || memcmp(out, line, len))
		fail_msg("round trip differs:\n%.*s%.*s", (int)len, line, (int)(n > 0 ? n : 0),
			 out);
	/* And the independent check agrees that the record is what the line says. */
	if (!json_check_line(rec, line, len, why, sizeof(why)))
		fail_msg("%s in %.*s", why, (int)len, line);
}

static void test_golden(void **state)
{
	struct record rec;
	size_t i;

	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++)
		assert_round_trip(golden[i], strlen(golden[i]), &rec);

	/* Each value where the record keeps it, spelled out once. */
	assert_int_equal(
	    input_parse_line(golden[0], strlen(golden[0]), &rec, strings, sizeof(strings)), 0);
	assert_int_equal(rec.type, RECORD_CONNECT);
	assert_true(rec.time_ns == 1796179729816485000ULL);
	assert_int_equal(rec.seq, 1);
	assert_int_equal(rec.pid, 28931);
	assert_string_equal(rec.comm, "nt-client");
	assert_int_equal(rec.netns, 4026531833U);
	assert_int_equal(rec.cgroup_id, 1);
	assert_string_equal(rec.cgroup, "/");
	assert_int_equal(rec.family, AF_INET);
	assert_memory_equal(rec.saddr, "\x7f\0\0\x01", 4);
	assert_int_equal(rec.sport, 44262);
	assert_int_equal(rec.dport, 43177);
	assert_int_equal(rec.direction, DIRECTION_OUTBOUND);
	assert_int_equal(rec.duration_ns, 42000);
	assert_false(rec.has_metrics);

	assert_int_equal(
	    input_parse_line(golden[1], strlen(golden[1]), &rec, strings, sizeof(strings)), 0);
	assert_int_equal(rec.direction, DIRECTION_INBOUND);

	assert_int_equal(
	    input_parse_line(golden[4], strlen(golden[4]), &rec, strings, sizeof(strings)), 0);
	assert_int_equal(rec.type, RECORD_CONNECT_FAILED);
	assert_int_equal(rec.error, ECONNREFUSED);
	assert_int_equal(rec.duration_ns, 38000);

	assert_int_equal(
	    input_parse_line(golden[6], strlen(golden[6]), &rec, strings, sizeof(strings)), 0);
	assert_int_equal(rec.reset, RESET_RECEIVED);
	assert_int_equal(rec.error, ECONNRESET);
	assert_int_equal(rec.direction, DIRECTION_INBOUND);
	assert_true(rec.has_metrics);
	assert_int_equal(rec.metrics.packets_received, 3);
	assert_int_equal(rec.metrics.rttvar_us, 11);

	assert_int_equal(
	    input_parse_line(golden[8], strlen(golden[8]), &rec, strings, sizeof(strings)), 0);
	assert_int_equal(rec.type, RECORD_LOST);
	assert_int_equal(rec.lost_reason, LOST_PERF_BUFFER);
	assert_int_equal(rec.cpu, 1);
	assert_int_equal(rec.lost_count, 4);

	/* Without its newline, the same record. */
	assert_int_equal(
	    input_parse_line(golden[8], strlen(golden[8]) - 1, &rec, strings, sizeof(strings)), 0);
	assert_int_equal(rec.lost_count, 4);
}

/* The keys of a shape that may be left out (the writer leaves them out when unknown). */
static bool optional_key(const struct record *rec, const char *key)
{
	static const char *const keys[] = { "cgroup_id",    "cgroup",	"container_id",
					    "handshake_us", "reset",	"reset_reason",
					    "error",	    "abandoned" };
	size_t i;

	if (rec->type == RECORD_CLOSE && !strcmp(key, "duration_us"))
		return true;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i]))
			return true;
	return false;
}

static int parse_json(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	struct record rec;
	int err;

	assert_non_null(text);
	err = input_parse_line(text, strlen(text), &rec, strings, sizeof(strings));
	free(text);
	return err;
}

/* Every mutation of a record's line that makes it something the writer never writes. */
static void assert_mutations_refused(const struct record *rec, const char *line, size_t len,
				     bool all_cuts)
{
	struct record back;
	json_error_t error;
	json_t *obj = json_loadb(line, len, 0, &error), *copy;
	const char *key;
	json_t *value;
	size_t cut;

	assert_non_null(obj);
	/* Cut anywhere before its closing brace: never a record. */
	for (cut = 0; cut + 2 < len; cut += all_cuts ? 1 : 1 + rnd() % 97)
		if (input_parse_line(line, cut, &back, strings, sizeof(strings)) != -EINVAL)
			fail_msg("cut at %zu taken: %.*s", cut, (int)cut, line);
	json_object_foreach(obj, key, value)
	{
		/* Left out: refused unless the writer leaves it out too. */
		copy = json_deep_copy(obj);
		json_object_del(copy, key);
		if (optional_key(rec, key))
			assert_int_equal(parse_json(copy), 0);
		else if (parse_json(copy) != -EINVAL)
			fail_msg("%s left out, taken: %.*s", key, (int)len, line);
		/* Of another type. */
		json_object_set_new(copy, key,
				    json_is_string(value) ? json_integer(7) : json_string("7"));
		if (parse_json(copy) != -EINVAL)
			fail_msg("%s of another type, taken: %.*s", key, (int)len, line);
		if (json_is_integer(value)) {
			json_object_set_new(copy, key, json_integer(-1));
			assert_int_equal(parse_json(copy), -EINVAL);
			json_object_set_new(copy, key, json_real(1.0));
			assert_int_equal(parse_json(copy), -EINVAL);
		}
		json_decref(copy);
	}
	copy = json_deep_copy(obj);
	json_object_set_new(copy, "type", json_string("listen"));
	assert_int_equal(parse_json(copy), -EINVAL);
	/* A key the schema does not have yet: a newer nettracer's, read. */
	json_object_set_new(copy, "type", json_string(record_type_name(rec->type)));
	json_object_set_new(copy, "future", json_integer(1));
	assert_int_equal(parse_json(copy), 0);
	json_decref(copy);
	json_decref(obj);
}

/* Random records of every shape: the line back into a record that writes it again, and its
 * mutations refused. */
static void test_random_round_trip(void **state)
{
	unsigned int i, shapes[6] = { 0 };
	char line[JSON_LINE_MAX];
	struct record rec, back;
	ssize_t len;

	for (i = 0; i < 6000; i++) {
		rnd_record(&rec);
		if (i % 2 && rec.type != RECORD_LOST && rec.type != RECORD_METRICS)
			rec.has_metrics =
			    !rec.has_metrics; /* the same connection in the other shape */
		len = json_format(fmt, &rec, line, sizeof(line));
		assert_true(len > 0);
		assert_round_trip(line, len, &back);
		shapes[rec.type]++;
		if (i % 20 == 0)
			assert_mutations_refused(&rec, line, len, i < 200);
		/* A metrics record without its metrics is not one the writer makes. */
		if (rec.type == RECORD_METRICS) {
			rec.has_metrics = false;
			len = json_format(fmt, &rec, line, sizeof(line));
			assert_int_equal(
			    input_parse_line(line, len, &back, strings, sizeof(strings)), -EINVAL);
		}
	}
	for (i = 0; i < 6; i++)
		assert_true(shapes[i] > 500);
}

static void assert_refused(const char *line)
{
	struct record rec;

	if (input_parse_line(line, strlen(line), &rec, strings, sizeof(strings)) != -EINVAL)
		fail_msg("taken: %s", line);
}

#define HEAD "{\"time\":\"2023-11-14T22:13:20.123456Z\",\"seq\":1,"
#define PID  "\"pid\":1,"
#define COMM "\"comm\":\"c\","
#define REST(sport)                                                                                \
	"\"uid\":0,\"netns\":1,\"family\":\"ipv4\",\"saddr\":\"1.2.3.4\",\"sport\":" sport         \
	",\"daddr\":\"5.6.7.8\",\"dport\":2"
#define CONN PID COMM REST("1")

static void test_not_records(void **state)
{
	struct record rec;
	const char *ok = HEAD "\"type\":\"accept\"," CONN "}";

	assert_int_equal(input_parse_line(ok, strlen(ok), &rec, strings, sizeof(strings)), 0);
	assert_refused("");
	assert_refused("\n");
	assert_refused("null\n");
	assert_refused("[]\n");
	assert_refused("{}\n");
	assert_refused("nettracer: tracing TCP\n");
	assert_refused(HEAD "\"type\":\"accept\"," CONN "} {}");
	assert_refused(HEAD "\"type\":\"accept\"," CONN ",\"pid\":2}"); /* a key twice */
	assert_refused(HEAD "\"type\":\"ACCEPT\"," CONN "}");
	assert_refused(HEAD "\"type\":\"accept\",\"port\":0}");
	/* Out of range. */
	assert_refused(HEAD "\"type\":\"accept\"," PID COMM REST("65536") "}");
	assert_refused(HEAD "\"type\":\"accept\",\"pid\":4294967296," COMM REST("1") "}");
	assert_refused(HEAD "\"type\":\"lost\",\"reason\":\"perf_buffer\",\"cpu\":0,"
			    "\"count\":9223372036854775808}");
	assert_refused(HEAD "\"type\":\"connect\"," CONN ",\"handshake_us\":18446744073709552}");
	/* Addresses of the other family, or not addresses. */
	assert_refused("{\"time\":\"2023-11-14T22:13:20.123456Z\",\"seq\":1,\"type\":\"accept\","
		       "\"pid\":1,\"comm\":\"c\",\"uid\":0,\"netns\":1,\"family\":\"ipv6\","
		       "\"saddr\":\"1.2.3.4\",\"sport\":1,\"daddr\":\"::1\",\"dport\":2}");
	assert_refused("{\"time\":\"2023-11-14T22:13:20.123456Z\",\"seq\":1,\"type\":\"accept\","
		       "\"pid\":1,\"comm\":\"c\",\"uid\":0,\"netns\":1,\"family\":\"ipv4\","
		       "\"saddr\":\"1.2.3.256\",\"sport\":1,\"daddr\":\"5.6.7.8\",\"dport\":2}");
	/* Times that are not RFC 3339 as written, or not dates. */
	assert_refused(
	    "{\"time\":\"2023-02-29T22:13:20.123456Z\",\"seq\":1,\"type\":\"accept\"," CONN "}");
	assert_refused(
	    "{\"time\":\"1969-12-31T23:59:59.999999Z\",\"seq\":1,\"type\":\"accept\"," CONN "}");
	assert_refused("{\"time\":\"2023-11-14T22:13:20.123Z\",\"seq\":1,\"type\":\"accept\"," CONN
		       "}");
	assert_refused(
	    "{\"time\":\"2023-11-14 22:13:20.123456Z\",\"seq\":1,\"type\":\"accept\"," CONN "}");
	assert_refused(
	    "{\"time\":\"2554-07-21T23:34:33.709552Z\",\"seq\":1,\"type\":\"accept\"," CONN "}");
	/* Text: longer than the writer writes, or with a NUL. */
	assert_refused(HEAD "\"type\":\"accept\"," PID
			    "\"comm\":\"0123456789abcdefg\"," REST("1") "}");
	assert_refused(HEAD "\"type\":\"accept\"," PID "\"comm\":\"a\\u0000b\"," REST("1") "}");
	assert_refused(HEAD "\"type\":\"accept\"," CONN ",\"container_id\":\"\"}");
	/* Errors: a number that has a name, no errno, a name that is not one. */
	assert_refused(HEAD "\"type\":\"close\"," CONN ",\"error\":\"111\"}");
	assert_refused(HEAD "\"type\":\"close\"," CONN ",\"error\":\"0\"}");
	assert_refused(HEAD "\"type\":\"close\"," CONN ",\"error\":\"04000\"}");
	assert_refused(HEAD "\"type\":\"close\"," CONN ",\"error\":\"EWOULDBLOCK\"}");
	assert_refused(HEAD "\"type\":\"close\"," CONN ",\"reset\":\"both\"}");
	assert_refused(HEAD "\"type\":\"connect_failed\"," CONN ",\"abandoned\":false,"
			    "\"duration_us\":1}");
	assert_refused(HEAD "\"type\":\"connect_failed\"," CONN ",\"abandoned\":true,"
			    "\"error\":\"ETIMEDOUT\",\"duration_us\":1}");
	assert_refused(HEAD "\"type\":\"lost\",\"reason\":\"disk\",\"count\":1}");
	/* Metrics: all of them or none. */
	assert_refused(HEAD "\"type\":\"close\"," CONN ",\"bytes_sent\":1}");
	assert_refused(HEAD "\"type\":\"metrics\"," CONN "}");
}

static void test_texts(void **state)
{
	const char *line =
	    HEAD "\"type\":\"close\"," PID "\"comm\":\"\xef\xbf\xbd\xc3\xa9\\u001b\"," REST(
		"1") ","
		     "\"cgroup\":\"/a\\\"b\",\"reset\":\"sent\",\"reset_reason\":\"not_specified\","
		     "\"error\":\"4000\"}";
	char small[8];
	struct record rec;

	assert_int_equal(input_parse_line(line, strlen(line), &rec, strings, sizeof(strings)), 0);
	/* U+FFFD stood for one byte that was not UTF-8. */
	assert_string_equal(rec.comm, "\xff\xc3\xa9\x1b");
	assert_string_equal(rec.cgroup, "/a\"b");
	assert_string_equal(rec.reset_reason, "not_specified");
	assert_int_equal(rec.reset, RESET_SENT);
	assert_int_equal(rec.error, 4000);
	assert_int_equal(input_parse_line(line, strlen(line), &rec, small, sizeof(small)), -ENOSPC);
	/* Sixteen bytes that were not UTF-8 fit the comm again. */
	line = HEAD "\"type\":\"accept\"," PID REST(
	    "1") ",\"comm\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef"
		 "\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		 "\"}";
	assert_int_equal(input_parse_line(line, strlen(line), &rec, strings, sizeof(strings)), 0);
	assert_int_equal(strlen(rec.comm), 16);
}

/* ---- The reader, on files in a temporary directory ---- */

static char dir[64], path[128];

static int dir_setup(void **state)
{
	strcpy(dir, "/tmp/test_input.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/nt.ndjson", dir);
	return 0;
}

static int dir_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void append(const char *file, const char *text, size_t len)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), len);
	close(fd);
}

static void append_str(const char *file, const char *text)
{
	append(file, text, strlen(text));
}

/* The next record's seq, or the error. */
static long long next(struct input *in)
{
	struct record rec;
	int err = input__read(in, &rec);

	return err ? err : (long long)rec.seq;
}

/* A line of a record with this seq. */
static const char *line_seq(unsigned int seq)
{
	static char buf[256];

	snprintf(buf, sizeof(buf),
		 "{\"time\":\"2026-12-02T02:48:55.382060Z\",\"type\":\"lost\",\"seq\":%u,"
		 "\"reason\":\"output\",\"count\":1}\n",
		 seq);
	return buf;
}

static void test_read_partial_line(void **state)
{
	const char *l2;
	struct input *in;
	size_t half;

	append_str(path, line_seq(1));
	in = input__open(path, true);
	assert_non_null(in);
	assert_int_equal(input__fd(in), -1); /* a regular file: the caller wakes up itself */
	assert_int_equal(next(in), 1);
	assert_int_equal(next(in), -EAGAIN);
	/* Half a line is waited for, byte by byte, and never parsed half. */
	l2 = line_seq(2);
	half = strlen(l2) / 2;
	append(path, l2, half);
	assert_int_equal(next(in), -EAGAIN);
	append(path, l2 + half, strlen(l2) - half - 1);
	assert_int_equal(next(in), -EAGAIN);
	assert_int_equal(input__wait(in, 0), 0);
	append_str(path, "\n");
	assert_int_equal(next(in), 2);
	assert_int_equal(next(in), -EAGAIN);
	assert_int_equal(input__skipped(in), 0);
	input__close(in);

	/* Without follow, the end is the end, and a last line without its newline is skipped. */
	append(path, l2, half);
	in = input__open(path, false);
	assert_non_null(in);
	assert_int_equal(next(in), 1);
	assert_int_equal(next(in), 2);
	assert_int_equal(next(in), -ENODATA);
	assert_int_equal(input__skipped(in), 1);
	input__close(in);
	unlink(path);
}

static void test_read_garbage(void **state)
{
	struct input *in;
	char *big = malloc(200000);

	append_str(path, line_seq(1));
	append_str(path, "garbage\n{\"time\":1}\n\n");
	append_str(path, line_seq(2));
	/* A line longer than any record, in the middle. */
	memset(big, 'x', 200000);
	big[199999] = '\n';
	append(path, big, 200000);
	append_str(path, line_seq(3));
	free(big);
	in = input__open(path, false);
	assert_non_null(in);
	assert_int_equal(next(in), 1);
	assert_int_equal(next(in), 2);
	assert_int_equal(input__skipped(in), 3);
	assert_int_equal(next(in), 3);
	assert_int_equal(input__skipped(in), 4);
	assert_int_equal(next(in), -ENODATA);
	input__close(in);
	unlink(path);
}

static const char *rotated(unsigned int n)
{
	static char to[160];

	snprintf(to, sizeof(to), "%s.%u", path, n);
	return to;
}

static void test_read_rotations(void **state)
{
	struct input *in;
	size_t half;

	append_str(path, line_seq(1));
	in = input__open(path, true);
	assert_non_null(in);
	assert_int_equal(next(in), 1);
	/* Renamed away (logrotate), its writer still at it, no new file yet. */
	assert_int_equal(rename(path, rotated(1)), 0);
	append_str(rotated(1), line_seq(2));
	assert_int_equal(next(in), 2);
	assert_int_equal(next(in), -EAGAIN);
	/* A new empty file (logrotate's create): the writer has not moved on, the old is read. */
	append_str(path, "");
	half = strlen(line_seq(3)) / 2;
	append(rotated(1), line_seq(3), half);
	assert_int_equal(next(in), -EAGAIN);
	append_str(rotated(1), line_seq(3) + half);
	assert_int_equal(next(in), 3);
	/* The writer finishes the old file and begins the new one: the old to its end first. */
	append_str(rotated(1), line_seq(4));
	append_str(path, line_seq(5));
	assert_int_equal(next(in), 4);
	assert_int_equal(next(in), 5);
	assert_int_equal(next(in), -EAGAIN);
	/* A second rotation, the old file written after the new one got its first line: the
	 * old one is still read first. (The drain after the look at the path, for a line
	 * written between the end read there and that look, is not reached by this test: it
	 * needs a stat() wrapped to write in between.) */
	assert_int_equal(rename(rotated(1), rotated(2)), 0);
	assert_int_equal(rename(path, rotated(1)), 0);
	append_str(path, line_seq(7));
	append_str(rotated(1), line_seq(6));
	assert_int_equal(next(in), 6);
	assert_int_equal(next(in), 7);
	assert_int_equal(next(in), -EAGAIN);
	/* A half line left in a file rotated away is never completed: skipped, not parsed. */
	assert_int_equal(rename(path, rotated(3)), 0);
	append(rotated(3), line_seq(8), half);
	append_str(path, line_seq(9));
	assert_int_equal(next(in), 9);
	assert_int_equal(input__skipped(in), 1);
	input__close(in);
}

static void test_read_truncation(void **state)
{
	struct input *in;

	append_str(path, line_seq(1));
	append_str(path, line_seq(2));
	in = input__open(path, true);
	assert_non_null(in);
	assert_int_equal(next(in), 1);
	assert_int_equal(next(in), 2);
	assert_int_equal(next(in), -EAGAIN);
	/* copytruncate: the same file, shorter: read from its start. */
	assert_int_equal(truncate(path, 0), 0);
	append_str(path, line_seq(3));
	assert_int_equal(next(in), 3);
	assert_int_equal(next(in), -EAGAIN);
	assert_int_equal(input__skipped(in), 0);
	input__close(in);
}

static void test_read_not_yet(void **state)
{
	struct input *in = input__open(path, false);

	assert_null(in);
	assert_int_equal(errno, ENOENT);
	/* Followed, a path that does not exist yet is waited for. */
	in = input__open(path, true);
	assert_non_null(in);
	assert_int_equal(next(in), -EAGAIN);
	assert_int_equal(input__wait(in, 1), 0);
	append_str(path, line_seq(1));
	assert_int_equal(next(in), 1);
	input__close(in);
}

static void test_read_stdin_pipe(void **state)
{
	int fds[2], saved = dup(STDIN_FILENO);
	struct input *in;
	const char *l;
	size_t half;

	assert_true(saved >= 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
	close(fds[0]);
	in = input__open("-", true);
	assert_non_null(in);
	assert_int_equal(input__fd(in), STDIN_FILENO);
	/* Nothing there yet: not a block, not the end. */
	assert_int_equal(next(in), -EAGAIN);
	l = line_seq(1);
	half = strlen(l) / 2;
	assert_int_equal(write(fds[1], l, half), half);
	assert_int_equal(next(in), -EAGAIN);
	assert_int_equal(write(fds[1], l + half, strlen(l) - half), strlen(l) - half);
	assert_int_equal(input__wait(in, 1000), 0);
	assert_int_equal(next(in), 1);
	assert_int_equal(write(fds[1], "junk\n", 5), 5);
	l = line_seq(2);
	assert_int_equal(write(fds[1], l, strlen(l)), strlen(l));
	assert_int_equal(write(fds[1], l, 10), 10);
	close(fds[1]);
	assert_int_equal(next(in), 2);
	/* The writer left: the end, with its half line skipped, even when following. */
	assert_int_equal(next(in), -ENODATA);
	assert_int_equal(next(in), -ENODATA);
	assert_int_equal(input__skipped(in), 2);
	input__close(in);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_not_records),
		cmocka_unit_test(test_texts),
		cmocka_unit_test_setup_teardown(test_read_partial_line, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_garbage, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_rotations, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_truncation, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_not_yet, dir_setup, dir_teardown),
		cmocka_unit_test(test_read_stdin_pipe),
	};

	return cmocka_run_group_tests_name("input", tests, setup, teardown);
}
