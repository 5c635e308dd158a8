/* Unit tests for the -d table: human units, every sort key, width fitting, ANSI and plain text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "table.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char buf[64 * 1024];

/* 2023-11-14 22:13:20 UTC */
#define T0 1700000000000000000ULL

static struct record row(uint32_t pid, const char *comm, const char *src, uint16_t sport,
			 const char *dst, uint16_t dport, enum record_direction dir)
{
	struct record r = {
		.type = RECORD_METRICS,
		.sk = 0xffff888000000000ULL + pid,
		.time_ns = T0,
		.pid = pid,
		.family = strchr(src, ':') ? AF_INET6 : AF_INET,
		.sport = sport,
		.dport = dport,
		.direction = dir,
		.has_metrics = true,
	};

	strncpy(r.comm, comm, RECORD_COMM_LEN);
	assert_int_equal(inet_pton(r.family, src, r.saddr), 1);
	assert_int_equal(inet_pton(r.family, dst, r.daddr), 1);
	return r;
}

static void set_metrics(struct record *r, uint64_t sent, uint64_t received, uint64_t psent,
			uint64_t preceived, uint64_t retrans, uint32_t rtt, uint32_t rttvar)
{
	r->metrics = (struct record_metrics){
		.bytes_sent = sent,
		.bytes_received = received,
		.packets_sent = psent,
		.packets_received = preceived,
		.retransmits = retrans,
		.rtt_us = rtt,
		.rttvar_us = rttvar,
	};
}

/* Three connections whose order differs for every key. */
static void sample(struct record rows[3])
{
	rows[0] = row(4242, "curl", "10.0.0.1", 43210, "93.184.216.34", 443, DIRECTION_OUTBOUND);
	set_metrics(&rows[0], 300000, 1000, 250, 40, 2, 850, 120);
	rows[1] = row(17, "sshd", "10.0.0.1", 22, "192.168.1.20", 51234, DIRECTION_INBOUND);
	set_metrics(&rows[1], 1258291, 52000, 900, 1500, 0, 12345, 4000);
	rows[2] = row(999, "backup", "2001:db8::1", 40000, "2001:db8::2", 873, DIRECTION_OUTBOUND);
	set_metrics(&rows[2], 10, 5000000, 3000, 2, 7, 1500000, 250000);
}

static const struct table_header hdr = {
	.time_ns = T0, .events = 12, .failed_connects = 2, .lost = 3
};

/* The text without escape sequences, as a terminal shows it. */
static char *strip_ansi(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	assert_non_null(out);
	while (*s) {
		if (s[0] == '\033' && s[1] == '[') {
			s += 2;
			while (*s && !(*s >= '@' && *s <= '~'))
				s++;
			if (*s)
				s++;
			continue;
		}
		if (*s != '\r')
			*o++ = *s;
		s++;
	}
	*o = '\0';
	return out;
}

/* Longest line of text, and how many lines it has. */
static size_t longest_line(const char *text, size_t *lines)
{
	size_t max = 0, len;
	const char *p = text, *nl;

	*lines = 0;
	while (*p) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > max)
			max = len;
		(*lines)++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return max;
}

static void test_human(void **state)
{
	static const struct {
		uint64_t v;
		unsigned int base;
		const char *s;
	} cases[] = {
		{ 0, 1024, "0" },
		{ 999, 1024, "999" },
		{ 1023, 1024, "1023" },
		{ 1024, 1024, "1.0K" },
		{ 1536, 1024, "1.5K" },
		{ 10188, 1024, "9.9K" },
		{ 10189, 1024, "10K" },
		{ 300000, 1024, "293K" },
		{ 1047552, 1024, "1023K" },
		{ 1048064, 1024, "1.0M" }, /* 1023.5K would print as 1024K */
		{ 1258291, 1024, "1.2M" },
		{ 5000000, 1024, "4.8M" },
		{ 1ULL << 40, 1024, "1.0T" },
		{ UINT64_MAX, 1024, "16E" },
		{ 999, 1000, "999" },
		{ 1000, 1000, "1.0k" },
		{ 58000, 1000, "58k" },
		{ 999499, 1000, "999k" },
		{ 999500, 1000, "1.0M" },
		{ UINT64_MAX, 1000, "18E" },
		{ 2000, 7, "2.0K" }, /* any other base is 1024 */
	};
	char s[TABLE_NUM_LEN];
	uint64_t v;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		table_human(s, cases[i].v, cases[i].base);
		assert_string_equal(s, cases[i].s);
	}
	/* Never wider than 5 columns, at every scale and just below every unit boundary. */
	for (v = 1; v && v < UINT64_MAX / 3; v = v * 3 + 1) {
		table_human(s, v, 1024);
		assert_true(strlen(s) <= 5);
		table_human(s, v, 1000);
		assert_true(strlen(s) <= 5);
	}
	for (i = 1; i < 64; i++) {
		table_human(s, (1ULL << i) - 1, 1024);
		assert_true(strlen(s) <= 5);
	}
}

static void test_usecs(void **state)
{
	static const struct {
		uint32_t us;
		const char *s;
	} cases[] = {
		{ 0, "0us" },
		{ 850, "850us" },
		{ 999, "999us" },
		{ 1000, "1.0ms" },
		{ 9949, "9.9ms" },
		{ 9950, "10ms" },
		{ 12345, "12ms" },
		{ 999499, "999ms" },
		{ 999500, "1.0s" },
		{ 1500000, "1.5s" },
		{ 9949999, "9.9s" },
		{ 12000000, "12s" },
		{ UINT32_MAX, "4295s" },
	};
	char s[TABLE_NUM_LEN];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		table_usecs(s, cases[i].us);
		assert_string_equal(s, cases[i].s);
	}
}

static void test_sort_names(void **state)
{
	static const char *const names[] = { "bytes",	"sent", "received", "packets",
					     "retrans", "rtt",	"pid",	    "comm" };
	enum table_sort key;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		key = 99;
		assert_int_equal(table_sort_parse(names[i], &key), 0);
		assert_int_equal(key, i);
		assert_string_equal(table_sort_name(key), names[i]);
	}
	key = TABLE_SORT_RTT;
	assert_int_equal(table_sort_parse("", &key), -EINVAL);
	assert_int_equal(table_sort_parse("Bytes", &key), -EINVAL);
	assert_int_equal(table_sort_parse("bytes ", &key), -EINVAL);
	assert_int_equal(table_sort_parse("retransmits", &key), -EINVAL);
	assert_int_equal(key, TABLE_SORT_RTT); /* untouched on error */
}

static void test_sort_every_key(void **state)
{
	static const struct {
		enum table_sort key;
		uint32_t pids[3];
	} cases[] = {
		/* totals: 4242 301000, 17 1310291, 999 5000010 */
		{ TABLE_SORT_BYTES, { 999, 17, 4242 } },
		{ TABLE_SORT_SENT, { 17, 4242, 999 } },
		{ TABLE_SORT_RECEIVED, { 999, 17, 4242 } },
		/* packets: 4242 290, 17 2400, 999 3002 */
		{ TABLE_SORT_PACKETS, { 999, 17, 4242 } },
		{ TABLE_SORT_RETRANS, { 999, 4242, 17 } },
		{ TABLE_SORT_RTT, { 999, 17, 4242 } },
		{ TABLE_SORT_PID, { 17, 999, 4242 } },
		{ TABLE_SORT_COMM, { 999, 4242, 17 } },
	};
	struct record rows[3];
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		sample(rows);
		table_sort(rows, 3, cases[i].key);
		for (j = 0; j < 3; j++)
			assert_int_equal(rows[j].pid, cases[i].pids[j]);
	}
	/* packets and bytes disagree somewhere, or the test above proves nothing for them */
	sample(rows);
	rows[2].metrics.packets_sent = 1;
	table_sort(rows, 3, TABLE_SORT_PACKETS);
	assert_int_equal(rows[0].pid, 17);
	/* no connections yet: no array (UBSan checks that qsort is not handed NULL) */
	table_sort(NULL, 0, TABLE_SORT_BYTES);
}

static void test_sort_ties(void **state)
{
	struct record rows[4];
	unsigned int i;

	/* Equal keys fall back on total bytes, then pid, then socket: the same order every time. */
	for (i = 0; i < 4; i++) {
		rows[i] =
		    row(100, "same", "127.0.0.1", 1000 + i, "127.0.0.1", 80, DIRECTION_OUTBOUND);
		set_metrics(&rows[i], 10, 10, 1, 1, 0, 5, 1);
		rows[i].sk = 40 - i;
	}
	rows[0].metrics.bytes_received = 500; /* larger total */
	rows[1].pid = 50;
	table_sort(rows, 4, TABLE_SORT_RETRANS);
	assert_int_equal(rows[0].sport, 1000);
	assert_int_equal(rows[1].sport, 1001); /* pid 50 */
	assert_int_equal(rows[2].sport, 1003); /* sk 37 */
	assert_int_equal(rows[3].sport, 1002); /* sk 38 */
	/* A total past UINT64_MAX saturates instead of wrapping to a small number. */
	rows[3].metrics.bytes_sent = UINT64_MAX;
	table_sort(rows, 4, TABLE_SORT_BYTES);
	assert_int_equal(rows[0].sport, 1002);
	table_sort(rows, 0, TABLE_SORT_BYTES);
}

/* A CONTAINER column only when a row has a container: its first 12 hex digits, "-" for the
 * rows that have none. */
static void test_container_column(void **state)
{
	static const char id[] = "4a0cd7eb8a057addd49c866abec11de874268c4feff54fee45d5c11096474610";
	struct record rows[3];
	char *titles, *line;

	sample(rows);
	table_sort(rows, 3, TABLE_SORT_BYTES);
	table_render(buf, sizeof(buf), rows, 3, &hdr, 0, 0, false);
	assert_null(strstr(buf, "CONTAINER"));
	memcpy(rows[1].container_id, id, sizeof(rows[1].container_id));
	table_render(buf, sizeof(buf), rows, 3, &hdr, 0, 0, false);
	titles = strstr(buf, "\n") + 1;
	assert_true(!strncmp(titles, "  PID COMM   CONTAINER    LOCAL", 31));
	line = strstr(buf, " 4a0cd7eb8a05 ");
	assert_non_null(line);
	assert_non_null(strstr(buf, "backup -            [2001:db8::1]"));
	/* Too narrow: the container goes with the addresses' room, PID and COMM stay. */
	table_render(buf, sizeof(buf), rows, 3, &hdr, 30, 0, false);
	assert_non_null(strstr(buf, "  PID COMM"));
}

static void test_plain(void **state)
{
	struct record rows[3];
	size_t len;

	sample(rows);
	table_sort(rows, 3, TABLE_SORT_BYTES);
	len = table_render(buf, sizeof(buf), rows, 3, &hdr, 0, 0, false);
	assert_int_equal(len, strlen(buf));
	assert_string_equal(
	    buf, "nettracer 2023-11-14 22:13:20  3 connections (2 out, 1 in)  events 12  "
		 "failed 2  lost 3  sort bytes\n"
		 "  PID COMM   LOCAL               REMOTE             DIR  SENT  RECV  PACKETS "
		 "RETR   RTT "
		 "RTTVAR\n"
		 "  999 backup [2001:db8::1]:40000 [2001:db8::2]:873  out    10  4.8M   3.0k/2    "
		 "7  1.5s "
		 " 250ms\n"
		 "   17 sshd   10.0.0.1:22         192.168.1.20:51234 in   1.2M   51K 900/1.5k    "
		 "0  12ms "
		 " 4.0ms\n"
		 " 4242 curl   10.0.0.1:43210      93.184.216.34:443  out  293K  1000   250/40    "
		 "2 850us "
		 " 120us\n"
		 "\n");
	assert_null(strchr(buf, '\033'));
}

static void test_ansi(void **state)
{
	struct record rows[3];
	char *text, *titles;
	size_t lines;

	sample(rows);
	table_render(buf, sizeof(buf), rows, 3, &hdr, 120, 40, true);
	/* From the top-left corner, titles in reverse video across the screen, rest erased. */
	assert_memory_equal(buf, "\033[H", 3);
	titles = strstr(buf, "\033[7m  PID COMM");
	assert_non_null(titles);
	assert_int_equal(strstr(titles, "\033[m") - titles, 4 + 120);
	assert_non_null(strstr(titles, "RTTVAR      "));
	assert_non_null(strstr(buf, "\033[Hnettracer 22:13:20  3 connections"));
	assert_non_null(strstr(buf, "  sort bytes  Enter: refresh, q: quit\033[K\r\n"));
	assert_string_equal(buf + strlen(buf) - 5, "\r\n\033[J");
	text = strip_ansi(buf);
	assert_int_equal(longest_line(text, &lines), 120);
	assert_int_equal(lines, 5); /* header, titles, 3 rows; the rest below is erased */
	free(text);
	/* Plain text asks for nothing of a terminal. */
	table_render(buf, sizeof(buf), rows, 3, &hdr, 120, 40, false);
	assert_null(strchr(buf, '\033'));
	assert_null(strchr(buf, '\r'));
	assert_null(strstr(buf, "Enter"));
}

static void test_ansi_full_width_line(void **state)
{
	struct record r = row(1, "x", "127.0.0.1", 1, "127.0.0.1", 2, DIRECTION_OUTBOUND);
	char *p;

	/* A line as wide as the screen leaves the cursor waiting to wrap on its last column: an
	 * erase there would delete that column, so such a line is not followed by one. */
	table_render(buf, sizeof(buf), &r, 1, &hdr, 40, 10, true);
	p = strstr(buf, "\033[7m");
	assert_non_null(p);
	p = strstr(p, "\033[m");
	assert_non_null(p);
	assert_memory_equal(p, "\033[m\r\n", 5);
	/* The header line is cut to 40 columns and not erased either. */
	p = strstr(buf, "nettracer ");
	assert_memory_equal(p + 40, "\r\n", 2);
}

static void test_height(void **state)
{
	struct record rows[30];
	char *text;
	size_t lines, i;

	for (i = 0; i < 30; i++) {
		rows[i] =
		    row(1000 + i, "w", "127.0.0.1", 2000 + i, "127.0.0.1", 80, DIRECTION_INBOUND);
		set_metrics(&rows[i], 1000 * (30 - i), 0, 1, 1, 0, 1, 1);
	}
	table_render(buf, sizeof(buf), rows, 30, &hdr, 100, 10, true);
	text = strip_ansi(buf);
	longest_line(text, &lines);
	assert_int_equal(lines, 10); /* exactly the screen: no erase below, no scrolling */
	assert_null(strstr(buf, "\033[J"));
	assert_non_null(strstr(text, "30 connections (0 out, 30 in)"));
	assert_non_null(strstr(text, "127.0.0.1:2006"));
	assert_null(strstr(text, "127.0.0.1:2007"));
	assert_non_null(strstr(text, "\n... 23 more"));
	free(text);
	/* Everything fits: no "more" line. */
	table_render(buf, sizeof(buf), rows, 8, &hdr, 100, 10, true);
	assert_null(strstr(buf, "more"));
	/* Screens too small for any row. */
	table_render(buf, sizeof(buf), rows, 30, &hdr, 100, 3, true);
	assert_non_null(strstr(buf, "... 30 more"));
	table_render(buf, sizeof(buf), rows, 30, &hdr, 100, 1, true);
	assert_null(strstr(buf, "PID"));
	/* Plain text without a height has every row. */
	table_render(buf, sizeof(buf), rows, 30, &hdr, 0, 0, false);
	longest_line(buf, &lines);
	assert_int_equal(lines, 33);
}

static void test_width(void **state)
{
	static const unsigned int widths[] = { 160, 100, 90, 80, 72, 60, 40, 10, 1 };
	struct record rows[3];
	char *text;
	size_t lines, max;
	unsigned int i;

	sample(rows);
	/* Natural width 96: nothing shrinks at 96. */
	table_render(buf, sizeof(buf), rows, 3, &hdr, 96, 0, false);
	assert_non_null(strstr(buf, " [2001:db8::1]:40000 [2001:db8::2]:873  out "));
	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		table_render(buf, sizeof(buf), rows, 3, &hdr, widths[i], 40, true);
		text = strip_ansi(buf);
		max = longest_line(text, &lines);
		assert_true(max <= widths[i]);
		free(text);
		table_render(buf, sizeof(buf), rows, 3, &hdr, widths[i], 0, false);
		max = longest_line(buf, &lines);
		assert_true(max <= widths[i]);
	}
	/* At 80 the addresses lose their start, never their port; the numbers stay whole. */
	table_render(buf, sizeof(buf), rows, 3, &hdr, 80, 0, false);
	assert_non_null(strstr(buf, " 4242 curl   ~.0.1:43210 ~.216.34:443 out "));
	assert_non_null(strstr(buf, " 10.0.0.1:22 ~.1.20:51234 "));
	assert_non_null(strstr(buf, " ~::1]:40000 ~db8::2]:873 "));
	assert_non_null(strstr(buf, " 293K  1000   250/40    2 850us  120us\n"));
	/* Narrower: comm gives up its end too, down to 4 columns; then whole columns go from the
	 * right rather than show a number cut short. */
	table_render(buf, sizeof(buf), rows, 3, &hdr, 72, 0, false);
	assert_non_null(strstr(buf, "  999 back ~:1]:40000 ~8::2]:873 out "));
	assert_non_null(strstr(buf, " 293K  1000   250/40    2 850us\n"));
	assert_non_null(strstr(buf, " RETR   RTT\n"));
	table_render(buf, sizeof(buf), rows, 3, &hdr, 40, 0, false);
	assert_non_null(strstr(buf, "\n 4242 curl ~0.1:43210 ~16.34:443 out\n"));
	table_render(buf, sizeof(buf), rows, 3, &hdr, 20, 0, false);
	assert_non_null(strstr(buf, "\n 4242 curl\n"));
	/* Below the first two columns, lines are cut. */
	table_render(buf, sizeof(buf), rows, 3, &hdr, 8, 0, false);
	assert_non_null(strstr(buf, "\n 4242 cu\n"));
}

static void test_cells(void **state)
{
	struct table_header none = { 0 };
	struct record r[3];

	/* Control characters in comm would be obeyed by the terminal. */
	r[0] = row(7, "a\033[2Jb\tc\x80", "::1", 8080, "::ffff:10.1.2.3", 5000, DIRECTION_UNKNOWN);
	r[1] = row(0, "", "127.0.0.1", 1, "127.0.0.1", 2, DIRECTION_INBOUND);
	/* 16 bytes, no NUL: the longest the kernel sends. */
	r[2] = row(9, "zzzzzzzzzzzzzzzz", "127.0.0.1", 3, "127.0.0.1", 4, DIRECTION_OUTBOUND);
	table_render(buf, sizeof(buf), r, 3, &hdr, 0, 0, false);
	assert_null(strchr(buf, '\033'));
	assert_null(strchr(buf, '\t'));
	assert_non_null(strstr(buf, " a?[2Jb?c? "));
	assert_non_null(strstr(buf, "[::1]:8080"));
	assert_non_null(strstr(buf, "[::ffff:10.1.2.3]:5000"));
	assert_non_null(strstr(buf, " ?    "));
	assert_non_null(strstr(buf, "    0 -  "));
	assert_non_null(strstr(buf, " zzzzzzzzzzzzzzzz "));
	/* No rows: the headings alone. */
	table_render(buf, sizeof(buf), r, 0, &hdr, 0, 0, false);
	assert_non_null(strstr(buf, "0 connections (0 out, 0 in)"));
	/* No dump yet. */
	table_render(buf, sizeof(buf), r, 0, &none, 0, 0, false);
	assert_non_null(strstr(buf, "nettracer -  0 connections"));
}

static void test_truncated_buffer(void **state)
{
	struct record rows[3];
	char small[50];
	size_t full, len;

	sample(rows);
	full = table_render(buf, sizeof(buf), rows, 3, &hdr, 90, 30, true);
	memset(small, 'x', sizeof(small));
	len = table_render(small, sizeof(small), rows, 3, &hdr, 90, 30, true);
	assert_int_equal(len, full);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, buf, sizeof(small) - 1);
	assert_int_equal(table_render(NULL, 0, rows, 3, &hdr, 90, 30, true), full);
}

static void test_object(void **state)
{
	struct table_header h = hdr;
	struct table *t = table__new();
	struct record r;
	const char *text;
	size_t len, i;

	assert_non_null(t);
	/* Enough rows to outgrow the first allocations of both the rows and the text. */
	for (i = 0; i < 1000; i++) {
		r = row(10 + i, "many", "10.0.0.1", 1000 + i, "10.0.0.2", 80, DIRECTION_OUTBOUND);
		set_metrics(&r, i, 0, 1, 1, 0, 1, 1);
		assert_int_equal(table__add(t, &r), 0);
	}
	h.sort = TABLE_SORT_PID;
	text = table__render(t, &h, 0, 0, false, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "1000 connections"));
	assert_non_null(strstr(text, "\n   10 many"));
	assert_true(strstr(text, "   10 many") < strstr(text, "   11 many"));
	h.sort = TABLE_SORT_BYTES;
	text = table__render(t, &h, 0, 0, false, &len);
	assert_true(strstr(text, " 1009 many") < strstr(text, " 1008 many"));
	table__clear(t);
	text = table__render(t, &h, 0, 0, false, &len);
	assert_non_null(strstr(text, " 0 connections"));
	table__free(t);
	table__free(NULL);
}

static int setup(void **state)
{
	/* The header shows local time. */
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_human),	   cmocka_unit_test(test_usecs),
		cmocka_unit_test(test_sort_names), cmocka_unit_test(test_sort_every_key),
		cmocka_unit_test(test_sort_ties),  cmocka_unit_test(test_plain),
		cmocka_unit_test(test_container_column),
		cmocka_unit_test(test_ansi),	   cmocka_unit_test(test_ansi_full_width_line),
		cmocka_unit_test(test_height),	   cmocka_unit_test(test_width),
		cmocka_unit_test(test_cells),	   cmocka_unit_test(test_truncated_buffer),
		cmocka_unit_test(test_object),
	};

	return cmocka_run_group_tests_name("table", tests, setup, NULL);
}
