/* Unit tests for json_format: exact lines, valid UTF-8, and byte identity with the jansson
 * reference formatter (tests/ref) on recorded samples and on pseudo-random records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <jansson.h>
#include "event.h"
#include "json.h"
#include "rnd_record.h"
#include "json_check.h"
#include "json_ref.h"

#define FFFD "\xef\xbf\xbd"

static char line[JSON_LINE_MAX];
static struct json_fmt *fmt;
static struct json_ref_fmt *ref;

static int setup(void **state)
{
	fmt = json_fmt_new();
	ref = json_ref_fmt_new();
	return fmt && ref ? 0 : -1;
}

static int teardown(void **state)
{
	json_fmt_free(fmt);
	json_ref_fmt_free(ref);
	return 0;
}

/* The writer's line for rec equals the reference formatter's byte for byte, fits a buffer of
 * exactly its length (and not one byte less), and passes the strict field-by-field check.
 * Returns the line's length; the line is in line[]. */
static ssize_t assert_same(const struct record *rec)
{
	static char want[JSON_LINE_MAX], exact[JSON_LINE_MAX];
	char why[512];
	ssize_t len, want_len;

	len = json_format(fmt, rec, line, sizeof(line));
	want_len = json_ref_format(ref, rec, want, sizeof(want));
	assert_true(want_len > 0);
	if (len != want_len || memcmp(line, want, len))
		fail_msg("writer and reference differ:\n%.*s%.*s", (int)(len > 0 ? len : 0), line,
			 (int)want_len, want);
	/* Below its bound on the line length, the writer takes another path: the same bytes. */
	assert_int_equal(json_format(fmt, rec, exact, len), len);
	assert_memory_equal(exact, want, len);
	assert_int_equal(json_format(fmt, rec, exact, len - 1), -ENOSPC);
	if (!json_check_line(rec, line, len, why, sizeof(why)))
		fail_msg("%s in %.*s", why, (int)len, line);
	return len;
}

static struct record v4_connect(void)
{
	struct record rec = {
		.type = RECORD_CONNECT,
		.sk = 0xffff888012345678ULL,
		.time_ns = 1700000000123456789ULL,
		.seq = 17,
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
		.seq = 18446744073709551615ULL,
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

	len = assert_same(rec);
	assert_int_equal(line[len - 1], '\n');
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &error);
	if (!obj)
		fail_msg("json_loadb: %s in %.*s", error.text, (int)len, line);
	return obj;
}

static void test_connect_v4(void **state)
{
	struct record rec = v4_connect();

	assert_line(&rec, "{\"time\":\"2023-11-14T22:13:20.123456Z\",\"type\":\"connect\","
			  "\"seq\":17,\"pid\":4242,\"comm\":\"curl\",\"uid\":1000,\"netns\":4026531840,"
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
			  "\"seq\":9223372036854775807,\"pid\":1,\"comm\":\"sshd\",\"uid\":0,"
			  "\"netns\":4026531993,"
			  "\"family\":\"ipv6\",\"saddr\":\"2001:db8::1\",\"sport\":22,"
			  "\"daddr\":\"fe80::1\",\"dport\":51000,\"direction\":\"inbound\","
			  "\"bytes_sent\":123456789012,\"bytes_received\":42,\"packets_sent\":100,"
			  "\"packets_received\":90,\"retransmits\":0,\"rtt_us\":250,"
			  "\"rttvar_us\":125}\n");
}

static void test_lost(void **state)
{
	struct record rec = { .type = RECORD_LOST, .time_ns = 0, .seq = 1, .cpu = 3,
			      .lost_count = 1234 };

	assert_line(&rec, "{\"time\":\"1970-01-01T00:00:00.000000Z\",\"type\":\"lost\","
			  "\"seq\":1,\"reason\":\"perf_buffer\",\"cpu\":3,\"count\":1234}\n");
	rec.lost_count = UINT64_MAX;
	rec.cpu = UINT32_MAX;
	assert_line(&rec, "{\"time\":\"1970-01-01T00:00:00.000000Z\",\"type\":\"lost\","
			  "\"seq\":1,\"reason\":\"perf_buffer\",\"cpu\":4294967295,"
			  "\"count\":9223372036854775807}\n");
	/* Records the output failed to take belong to no CPU. */
	rec.lost_reason = LOST_OUTPUT;
	rec.lost_count = 5;
	rec.seq = 10;
	assert_line(&rec, "{\"time\":\"1970-01-01T00:00:00.000000Z\",\"type\":\"lost\","
			  "\"seq\":10,\"reason\":\"output\",\"count\":5}\n");
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

/* The longest line a record can make: below the writer's bound (768) and the pipeline's line
 * buffer (1024). */
static void test_longest_line(void **state)
{
	struct record rec = v6_close();
	ssize_t len;

	rec.type = RECORD_METRICS;
	rec.seq = rec.pid = rec.uid = rec.netns = UINT32_MAX;
	rec.seq = UINT64_MAX;
	rec.time_ns = UINT64_MAX;
	memset(rec.comm, 0x1f, RECORD_COMM_LEN);
	memset(rec.saddr, 0xff, 16);
	memset(rec.daddr, 0xfe, 16);
	rec.sport = rec.dport = UINT16_MAX;
	rec.direction = DIRECTION_OUTBOUND;
	rec.metrics = (struct record_metrics){ UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX,
					       UINT64_MAX, UINT32_MAX, UINT32_MAX };
	len = assert_same(&rec);
	assert_int_equal(len, 629);

	/* A close with every optional field at its widest: the bound src/json.c states. */
	{
		static char cgroup[RECORD_CGROUP_MAX + 1], reason[RECORD_REASON_MAX + 1];
		static char container[RECORD_CONTAINER_ID_LEN + 1];

		memset(cgroup, 0x1f, RECORD_CGROUP_MAX);
		memset(reason, 0x1f, RECORD_REASON_MAX);
		memset(container, 'f', RECORD_CONTAINER_ID_LEN);
		rec.type = RECORD_CLOSE;
		rec.cgroup_id = UINT64_MAX;
		rec.cgroup = cgroup;
		memcpy(rec.container_id, container, sizeof(rec.container_id));
		rec.duration_ns = UINT64_MAX;
		rec.reset = RESET_RECEIVED;
		rec.reset_reason = reason;
		rec.error = ENOTRECOVERABLE; /* the longest name of the socket errors */
		len = assert_same(&rec);
		assert_int_equal(len, 4304);
		assert_true(len <= JSON_LINE_MAX);
	}
}

/* src as the comm, placed so that its len-th byte is the comm's last (the byte after it is
 * there but outside the comm): the writer's comm is the padding and want. The reference
 * sanitizer, which the field check relies on, must give want too. */
static void sanitize(const char *src, size_t len, const char *want)
{
	static const char pad[] = "pppppppppppppppp";
	char dst[3 * 64 + 1], expect[3 * 64 + 1];
	struct record rec = v4_connect();
	size_t off = RECORD_COMM_LEN - len;
	json_t *obj;

	assert_true(len <= RECORD_COMM_LEN);
	memset(dst, 'z', sizeof(dst));
	assert_int_equal(json_ref_utf8_sanitize(dst, src, len), strlen(want));
	assert_string_equal(dst, want);

	memset(rec.comm, 'p', off);
	memcpy(rec.comm + off, src, len);
	rec.comm[RECORD_COMM_LEN] = src[len];
	snprintf(expect, sizeof(expect), "%.*s%s", (int)off, pad, want);
	obj = parse_line(&rec);
	assert_string_equal(json_string_value(json_object_get(obj, "comm")), expect);
	json_decref(obj);
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

/* Control bytes are escaped as jansson escapes them: the short forms where JSON has one,
 * otherwise \u00XX in upper-case hex (jansson's "\\u%04X"), DEL as it is. */
static void test_comm_escapes(void **state)
{
	static const struct {
		char c;
		const char *want;
	} cases[] = {
		{ '\b', "\\b" },      { '\f', "\\f" },	    { '\n', "\\n" },	  { '\r', "\\r" },
		{ '\t', "\\t" },      { '"', "\\\"" },	    { '\\', "\\\\" },	  { '/', "/" },
		{ 0x01, "\\u0001" }, { 0x0b, "\\u000B" }, { 0x1b, "\\u001B" }, { 0x1f, "\\u001F" },
		{ 0x7f, "\x7f" },
	};
	struct record rec = v4_connect();
	char want[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(rec.comm, 0, sizeof(rec.comm));
		rec.comm[0] = 'a';
		rec.comm[1] = cases[i].c;
		rec.comm[2] = 'b';
		assert_same(&rec);
		snprintf(want, sizeof(want), "\"comm\":\"a%sb\"", cases[i].want);
		if (!strstr(line, want))
			fail_msg("no %s in %s", want, line);
	}
}

/* Every byte value at every position of the comm, alone and with its neighbours. */
static void test_comm_every_byte(void **state)
{
	struct record rec = v4_connect();
	unsigned int b, pos;

	for (b = 0; b < 256; b++) {
		memset(rec.comm, b, RECORD_COMM_LEN);
		rec.comm[RECORD_COMM_LEN] = b;
		assert_same(&rec);
		for (pos = 0; pos < RECORD_COMM_LEN; pos++) {
			memcpy(rec.comm, "0123456789abcdef", 16);
			rec.comm[RECORD_COMM_LEN] = '\0';
			rec.comm[pos] = b;
			assert_same(&rec);
			/* A lead byte of 2, 3 or 4 and what follows it. */
			if (pos < RECORD_COMM_LEN - 1) {
				rec.comm[pos + 1] = 0x80 | (b & 0x3f);
				assert_same(&rec);
			}
		}
	}
}

/* The time of a line, parsed back. */
static void assert_time(uint64_t time_ns, const char *want)
{
	struct record rec = v4_connect();
	json_t *obj;

	rec.time_ns = time_ns;
	obj = parse_line(&rec);
	assert_string_equal(json_string_value(json_object_get(obj, "time")), want);
	json_decref(obj);
}

static void test_time(void **state)
{
	assert_time(0, "1970-01-01T00:00:00.000000Z");
	assert_time(1700000000123456789ULL, "2023-11-14T22:13:20.123456Z");
	/* Microseconds are truncated, never rounded up into the next second. */
	assert_time(951782400999999999ULL, "2000-02-29T00:00:00.999999Z");
	assert_time(4102444799000001000ULL, "2099-12-31T23:59:59.000001Z");
	assert_time(UINT64_MAX, "2554-07-21T23:34:33.709551Z");
	/* The cached second is left when the clock steps back, and taken again. */
	assert_time(1700000000999999999ULL, "2023-11-14T22:13:20.999999Z");
	assert_time(1700000001000000000ULL, "2023-11-14T22:13:21.000000Z");
	assert_time(1699999999000000000ULL, "2023-11-14T22:13:19.000000Z");
	assert_time(1700000001000001000ULL, "2023-11-14T22:13:21.000001Z");
}

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

/* Pseudo-random records of every shape, against the reference: 10,000 lines. */
static void test_random_records(void **state)
{
	unsigned int shapes[8] = {}, i; /* by type, lost ones by reason after the types */
	struct record rec;

	for (i = 0; i < 5000; i++) {
		rnd_record(&rec);
		assert_same(&rec);
		shapes[rec.type == RECORD_LOST ? 6 + rec.lost_reason : rec.type]++;
		/* The same connection in the other shape. */
		if (rec.type != RECORD_LOST) {
			rec.has_metrics = !rec.has_metrics;
			assert_same(&rec);
		}
	}
	for (i = 0; i < 8; i++)
		assert_true(i == RECORD_LOST || shapes[i] > 250);
}

/* IPv6 text against glibc's inet_ntop: special forms, then random ones. */
static void test_ipv6_text(void **state)
{
	static const char *const addrs[] = {
		"::",		 "::1",		  "::2",	      "1::",
		"::ffff:1.2.3.4", "::ffff:0.0.0.0", "::1.2.3.4",       "::0.1.0.0",
		"::ffff",	 "::1:ffff:1.2.3.4", "0:0:1::",	       "1:0:0:1::1",
		"1::1:0:0:1",	 "1:0:1:0:1:0:1:0", "2001:db8::1",     "fe80::1:2:3:4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4::7:8",
		"ffff::",	 "::ffff:0:1.2.3.4", "64:ff9b::1.2.3.4", "a:bc:def:1234::",
		/* Equal runs: the first becomes "::". */
		"1:0:0:1:0:0:1:1", "0:0:1:1:0:0:1:1", "1:1:0:0:1:1:0:0",
	};
	struct record rec = v6_close();
	char want[INET6_ADDRSTRLEN];
	unsigned int i;
	json_t *obj;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		assert_int_equal(inet_pton(AF_INET6, addrs[i], rec.saddr), 1);
		inet_ntop(AF_INET6, rec.saddr, want, sizeof(want));
		obj = parse_line(&rec);
		assert_string_equal(json_string_value(json_object_get(obj, "saddr")), want);
		json_decref(obj);
	}
	for (i = 0; i < 20000; i++) {
		rnd_ipv6(rec.saddr);
		rnd_ipv6(rec.daddr);
		assert_same(&rec);
	}
}

/* The recorded samples of the decode fuzzer's corpus, decoded, in each shape. */
static void test_corpus(void **state)
{
	static const char *const names[] = { "accept_v6", "close_padded", "close_v4_mapped",
					      "connect_v4" };
	const char *top = getenv("top_srcdir");
	unsigned int i;

	if (!top)
		top = TOP_SRCDIR;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[4096], data[512];
		struct record rec;
		size_t size;
		FILE *f;

		snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/decode/%s", top, names[i]);
		f = fopen(path, "rb");
		if (!f)
			fail_msg("%s: %s", path, strerror(errno));
		size = fread(data, 1, sizeof(data), f);
		fclose(f);
		assert_int_equal(event_decode(data, size, 1700000000000000000LL, &rec), 0);
		rec.seq = i + 1;
		assert_same(&rec);
		rec.type = RECORD_METRICS;
		rec.has_metrics = true;
		assert_same(&rec);
		rec.type = RECORD_LOST;
		assert_same(&rec);
		rec.lost_reason = LOST_OUTPUT;
		assert_same(&rec);
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
		cmocka_unit_test(test_longest_line),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_comm_escapes),
		cmocka_unit_test(test_comm_every_byte),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_state_does_not_leak),
		cmocka_unit_test(test_ipv4_text),
		cmocka_unit_test(test_ipv6_text),
		cmocka_unit_test(test_random_records),
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests_name("json", tests, setup, teardown);
}
