/* Unit tests for json_format, json_utf8_sanitize and json_time: exact lines, valid UTF-8. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <jansson.h>
#include "json.h"

#define FFFD "\xef\xbf\xbd"

static char line[1024];
static struct json_fmt *fmt;

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

static struct record v4_connect(void)
{
	struct record rec = {
		.type = RECORD_CONNECT,
		.sk = 0xffff888012345678ULL,
		.time_ns = 1700000000123456789ULL,
		.pid = 4242,
		.uid = 1000,
		.comm = "curl",
		.netns = 4026531840U,
		.family = AF_INET,
		.sport = 43210,
		.dport = 443,
		.direction = DIRECTION_OUTBOUND,
	};

	assert_int_equal(inet_pton(AF_INET, "10.1.2.3", rec.saddr), 1);
	assert_int_equal(inet_pton(AF_INET, "93.184.216.34", rec.daddr), 1);
	return rec;
}

static struct record v6_close(void)
{
	struct record rec = {
		.type = RECORD_CLOSE,
		.time_ns = 951782400999999999ULL,
		.pid = 1,
		.uid = 0,
		.comm = "sshd",
		.netns = 4026531993U,
		.family = AF_INET6,
		.sport = 22,
		.dport = 51000,
		.direction = DIRECTION_INBOUND,
		.has_metrics = true,
		.metrics = {
			.bytes_sent = 123456789012ULL,
			.bytes_received = 42,
			.packets_sent = 100,
			.packets_received = 90,
			.retransmits = 0,
			.rtt_us = 250,
			.rttvar_us = 125,
		},
	};

	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", rec.saddr), 1);
	assert_int_equal(inet_pton(AF_INET6, "fe80::1", rec.daddr), 1);
	return rec;
}

/* Formats rec and checks the line, its length and its newline. */
static void assert_line(const struct record *rec, const char *want)
{
	ssize_t len;

	memset(line, 0, sizeof(line));
	len = json_format(fmt, rec, line, sizeof(line) - 1);
	assert_int_equal(len, strlen(want));
	assert_string_equal(line, want);
}

/* Parses a formatted line back (jansson refuses invalid UTF-8) and returns the object. */
static json_t *parse_line(const struct record *rec)
{
	json_error_t error;
	ssize_t len;
	json_t *obj;

	len = json_format(fmt, rec, line, sizeof(line));
	assert_true(len > 0);
	assert_int_equal(line[len - 1], '\n');
	obj = json_loadb(line, len, 0, &error);
	if (!obj)
		fail_msg("json_loadb: %s in %.*s", error.text, (int)len, line);
	return obj;
}

static void test_connect_v4(void **state)
{
	struct record rec = v4_connect();

	assert_line(&rec, "{\"time\":\"2023-11-14T22:13:20.123456Z\",\"type\":\"connect\","
			  "\"pid\":4242,\"comm\":\"curl\",\"uid\":1000,\"netns\":4026531840,"
			  "\"family\":\"ipv4\",\"saddr\":\"10.1.2.3\",\"sport\":43210,"
			  "\"daddr\":\"93.184.216.34\",\"dport\":443}\n");
}

static void test_accept_and_metrics_types(void **state)
{
	struct record rec = v4_connect();
	json_t *obj;

	rec.type = RECORD_ACCEPT;
	obj = parse_line(&rec);
	assert_string_equal(json_string_value(json_object_get(obj, "type")), "accept");
	assert_null(json_object_get(obj, "direction"));
	json_decref(obj);

	rec.type = RECORD_METRICS;
	rec.has_metrics = true;
	rec.metrics.bytes_sent = 5;
	obj = parse_line(&rec);
	assert_string_equal(json_string_value(json_object_get(obj, "type")), "metrics");
	assert_string_equal(json_string_value(json_object_get(obj, "direction")), "outbound");
	assert_int_equal(json_integer_value(json_object_get(obj, "bytes_sent")), 5);
	json_decref(obj);
}

static void test_close_v6(void **state)
{
	struct record rec = v6_close();

	assert_line(&rec, "{\"time\":\"2000-02-29T00:00:00.999999Z\",\"type\":\"close\","
			  "\"pid\":1,\"comm\":\"sshd\",\"uid\":0,\"netns\":4026531993,"
			  "\"family\":\"ipv6\",\"saddr\":\"2001:db8::1\",\"sport\":22,"
			  "\"daddr\":\"fe80::1\",\"dport\":51000,\"direction\":\"inbound\","
			  "\"bytes_sent\":123456789012,\"bytes_received\":42,\"packets_sent\":100,"
			  "\"packets_received\":90,\"retransmits\":0,\"rtt_us\":250,"
			  "\"rttvar_us\":125}\n");
}

static void test_lost(void **state)
{
	struct record rec = { .type = RECORD_LOST, .time_ns = 0, .cpu = 3, .lost_count = 1234 };

	assert_line(&rec, "{\"time\":\"1970-01-01T00:00:00.000000Z\",\"type\":\"lost\","
			  "\"cpu\":3,\"count\":1234}\n");
	rec.lost_count = UINT64_MAX;
	rec.cpu = UINT32_MAX;
	assert_line(&rec, "{\"time\":\"1970-01-01T00:00:00.000000Z\",\"type\":\"lost\","
			  "\"cpu\":4294967295,\"count\":9223372036854775807}\n");
}

static void test_u64_saturates(void **state)
{
	struct record rec = v6_close();
	json_t *obj;

	rec.metrics.bytes_sent = UINT64_MAX;
	rec.metrics.bytes_received = (uint64_t)INT64_MAX + 1;
	rec.metrics.packets_sent = INT64_MAX;
	rec.metrics.packets_received = (uint64_t)INT64_MAX - 1;
	rec.metrics.rtt_us = UINT32_MAX;
	obj = parse_line(&rec);
	assert_true(json_integer_value(json_object_get(obj, "bytes_sent")) == INT64_MAX);
	assert_true(json_integer_value(json_object_get(obj, "bytes_received")) == INT64_MAX);
	assert_true(json_integer_value(json_object_get(obj, "packets_sent")) == INT64_MAX);
	assert_true(json_integer_value(json_object_get(obj, "packets_received")) == INT64_MAX - 1);
	assert_true(json_integer_value(json_object_get(obj, "rtt_us")) == UINT32_MAX);
	json_decref(obj);
	assert_non_null(strstr(line, "\"bytes_sent\":9223372036854775807,"));
}

static void test_comm_invalid_utf8(void **state)
{
	static const struct {
		const char *comm, *want;
	} cases[] = {
		{ "ab\xff\xfe", "ab" FFFD FFFD },
		{ "x\xc0\xafy", "x" FFFD FFFD "y" },		    /* overlong '/' */
		{ "euro\xe2\x82", "euro" FFFD FFFD },		    /* cut after 2 of 3 bytes */
		{ "s\xed\xa0\x80", "s" FFFD FFFD FFFD },	    /* UTF-16 surrogate D800 */
		{ "\xe2\x82\xac\xc3\xa9", "\xe2\x82\xac\xc3\xa9" }, /* valid stays */
	};
	json_t *obj;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct record rec = v4_connect();

		memset(rec.comm, 0, sizeof(rec.comm));
		memcpy(rec.comm, cases[i].comm, strlen(cases[i].comm));
		obj = parse_line(&rec);
		assert_string_equal(json_string_value(json_object_get(obj, "comm")), cases[i].want);
		json_decref(obj);
	}
}

static void test_comm_full_length(void **state)
{
	struct record rec = v4_connect();
	json_t *obj;

	/* 16 bytes and no NUL within them; the byte after must never be read as part of it. */
	memcpy(rec.comm, "0123456789abcdef", 16);
	rec.comm[16] = 'X';
	obj = parse_line(&rec);
	assert_string_equal(json_string_value(json_object_get(obj, "comm")), "0123456789abcdef");
	json_decref(obj);

	/* 16 invalid bytes: the worst expansion, three bytes each. */
	memset(rec.comm, 0xff, 16);
	obj = parse_line(&rec);
	assert_string_equal(
	    json_string_value(json_object_get(obj, "comm")),
	    FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD);
	json_decref(obj);

	/* Quotes and control characters are escaped, not copied. */
	memset(rec.comm, 0, sizeof(rec.comm));
	strcpy(rec.comm, "a\"b\\c\n\x01");
	obj = parse_line(&rec);
	assert_string_equal(json_string_value(json_object_get(obj, "comm")), "a\"b\\c\n\x01");
	json_decref(obj);
	assert_non_null(strstr(line, "\"comm\":\"a\\\"b\\\\c\\n\\u0001\""));
}

static void test_enospc(void **state)
{
	struct record rec = v4_connect();
	char buf[512];
	ssize_t len;

	len = json_format(fmt, &rec, buf, sizeof(buf));
	assert_true(len > 0);
	/* The line and its newline fit exactly: no terminating NUL is promised. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(json_format(fmt, &rec, buf, len), len);
	assert_int_equal(buf[len - 1], '\n');
	assert_int_equal(json_format(fmt, &rec, buf, len - 1), -ENOSPC);
	assert_int_equal(json_format(fmt, &rec, buf, 1), -ENOSPC);
	assert_int_equal(json_format(fmt, &rec, buf, 0), -ENOSPC);
}

static void sanitize(const char *src, size_t len, const char *want)
{
	char dst[3 * 64 + 1];

	assert_true(len <= 64);
	memset(dst, 'z', sizeof(dst));
	assert_int_equal(json_utf8_sanitize(dst, src, len), strlen(want));
	assert_string_equal(dst, want);
}

static void test_sanitize(void **state)
{
	sanitize("", 0, "");
	sanitize("plain", 5, "plain");
	/* Stops at NUL and at len, whichever comes first. */
	sanitize("ab\0cd", 5, "ab");
	sanitize("abcdef", 3, "abc");
	sanitize("ab\xff\xfe", 4, "ab" FFFD FFFD);
	/* Lone continuation bytes, bytes never used in UTF-8. */
	sanitize("\x80\xbf", 2, FFFD FFFD);
	sanitize("\xc0\x80", 2, FFFD FFFD);
	sanitize("\xc1\xbf", 2, FFFD FFFD);
	sanitize("\xf5\x80\x80\x80", 4, FFFD FFFD FFFD FFFD);
	sanitize("\xff", 1, FFFD);
	/* Overlong forms of 3 and 4 bytes. */
	sanitize("\xe0\x80\xaf", 3, FFFD FFFD FFFD);
	sanitize("\xe0\x9f\xbf", 3, FFFD FFFD FFFD);
	sanitize("\xf0\x8f\xbf\xbf", 4, FFFD FFFD FFFD FFFD);
	/* Surrogates D800 and DFFF, and the code points around them. */
	sanitize("\xed\xa0\x80", 3, FFFD FFFD FFFD);
	sanitize("\xed\xbf\xbf", 3, FFFD FFFD FFFD);
	sanitize("\xed\x9f\xbf", 3, "\xed\x9f\xbf");
	sanitize("\xee\x80\x80", 3, "\xee\x80\x80");
	/* Past U+10FFFF, and U+10FFFF itself. */
	sanitize("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD);
	sanitize("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf");
	/* Smallest of each length. */
	sanitize("\xc2\x80", 2, "\xc2\x80");
	sanitize("\xe0\xa0\x80", 3, "\xe0\xa0\x80");
	sanitize("\xf0\x90\x80\x80", 4, "\xf0\x90\x80\x80");
	/* Truncated at len: the tail is not read, each byte left is replaced. */
	sanitize("\xe2\x82\xac", 2, FFFD FFFD);
	sanitize("\xf0\x9f\x98\x80", 3, FFFD FFFD FFFD);
	sanitize("a\xf0\x9f\x98\x80", 5, "a\xf0\x9f\x98\x80");
	/* Truncated by a NUL or by an ASCII byte. */
	sanitize("\xe2\x82\0\xac", 4, FFFD FFFD);
	sanitize("\xe2"
		 "a\xac",
		 3, FFFD "a" FFFD);
	/* A valid sequence right after an invalid byte is kept whole. */
	sanitize("\xff\xc3\xa9", 3, FFFD "\xc3\xa9");
}

static void test_time(void **state)
{
	char buf[32];

	json_time(buf, sizeof(buf), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
	json_time(buf, sizeof(buf), 1700000000123456789ULL);
	assert_string_equal(buf, "2023-11-14T22:13:20.123456Z");
	/* Microseconds are truncated, never rounded up into the next second. */
	json_time(buf, sizeof(buf), 951782400999999999ULL);
	assert_string_equal(buf, "2000-02-29T00:00:00.999999Z");
	json_time(buf, sizeof(buf), 4102444799000001000ULL);
	assert_string_equal(buf, "2099-12-31T23:59:59.000001Z");
	json_time(buf, sizeof(buf), UINT64_MAX);
	assert_string_equal(buf, "2554-07-21T23:34:33.709551Z");

	/* 28 bytes hold it with its NUL; a smaller buffer is truncated, not overrun. */
	memset(buf, 'z', sizeof(buf));
	json_time(buf, 28, 0);
	assert_int_equal(strlen(buf), 27);
	assert_int_equal(buf[28], 'z');
	memset(buf, 'z', sizeof(buf));
	json_time(buf, 5, 0);
	assert_string_equal(buf, "1970");
	assert_int_equal(buf[5], 'z');
}

/* The formatter keeps one object per kind of record and the time of the last second: a line
 * must not depend on the records formatted before it. */
static void test_state_does_not_leak(void **state)
{
	struct record recs[4] = { v6_close(), v4_connect(), v6_close(), v4_connect() };
	char want[4][1024], got[1024];
	struct json_fmt *fresh;
	ssize_t len;
	int i, round;

	recs[2].type = RECORD_METRICS;
	recs[3].type = RECORD_LOST;
	recs[3].cpu = 1;
	recs[3].lost_count = 7;
	recs[1].time_ns = recs[0].time_ns + 1000; /* the same second, and then across one */
	for (i = 0; i < 4; i++) {
		fresh = json_fmt_new();
		assert_non_null(fresh);
		len = json_format(fresh, &recs[i], want[i], sizeof(want[i]));
		assert_true(len > 0);
		want[i][len] = '\0';
		json_fmt_free(fresh);
	}
	for (round = 0; round < 3; round++)
		for (i = round % 2 ? 3 : 0; i >= 0 && i < 4; i += round % 2 ? -1 : 1) {
			len = json_format(fmt, &recs[i], got, sizeof(got) - 1);
			assert_true(len > 0);
			got[len] = '\0';
			assert_string_equal(got, want[i]);
		}
}

/* Record times through the formatter's cached second equal json_time's, also when the clock
 * steps back. */
static void test_record_time(void **state)
{
	static const uint64_t times[] = { 1700000000999999999ULL, 1700000001000000000ULL,
					  1700000001000001000ULL, 1699999999000000000ULL, 0,
					  UINT64_MAX };
	struct record rec = v4_connect();
	char want[32];
	unsigned int i;
	json_t *obj;

	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		rec.time_ns = times[i];
		json_time(want, sizeof(want), times[i]);
		obj = parse_line(&rec);
		assert_string_equal(json_string_value(json_object_get(obj, "time")), want);
		json_decref(obj);
	}
}

/* IPv4 addresses have a formatter of their own: every digit count, against inet_ntop. */
static void test_ipv4_text(void **state)
{
	static const char *const addrs[] = { "0.0.0.0",	 "255.255.255.255", "1.10.100.0",
					     "9.99.199.200", "127.0.0.1",	    "100.64.0.10" };
	struct record rec = v4_connect();
	char want[INET_ADDRSTRLEN];
	unsigned int i;
	json_t *obj;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		assert_int_equal(inet_pton(AF_INET, addrs[i], rec.saddr), 1);
		rec.daddr[0] = rec.saddr[3], rec.daddr[1] = rec.saddr[2];
		rec.daddr[2] = rec.saddr[1], rec.daddr[3] = rec.saddr[0];
		obj = parse_line(&rec);
		assert_string_equal(json_string_value(json_object_get(obj, "saddr")), addrs[i]);
		inet_ntop(AF_INET, rec.daddr, want, sizeof(want));
		assert_string_equal(json_string_value(json_object_get(obj, "daddr")), want);
		json_decref(obj);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_v4),
		cmocka_unit_test(test_accept_and_metrics_types),
		cmocka_unit_test(test_close_v6),
		cmocka_unit_test(test_lost),
		cmocka_unit_test(test_u64_saturates),
		cmocka_unit_test(test_comm_invalid_utf8),
		cmocka_unit_test(test_comm_full_length),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_state_does_not_leak),
		cmocka_unit_test(test_record_time),
		cmocka_unit_test(test_ipv4_text),
	};

	return cmocka_run_group_tests_name("json", tests, setup, teardown);
}
