/* libFuzzer harness: the -d table (table.c) from arbitrary rows, sizes and sort keys. Whatever
 * the rows: the text is what table_render's contract says (snprintf's length and cut), no line
 * is wider than the terminal and no more lines than it has rows, nothing a terminal would obey
 * is written but the table's own escapes, a full-width line is not erased, and the rows are in
 * the order of the key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "table.h"
#include "check.h"

#define MAX_ROWS 40
#define ROW_BYTES 64
#define BUF_SIZE (1 << 20)

static uint64_t get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void make_row(struct record *r, const uint8_t *p)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t shift = p[0];
	int i;

	memset(r, 0, sizeof(*r));
	r->type = RECORD_METRICS;
	r->has_metrics = true;
	r->sk = get(p + 1, 2);
	r->pid = get(p + 3, 4);
	memcpy(r->comm, p + 7, RECORD_COMM_LEN); /* any bytes: a process names itself */
	r->family = p[23] & 1 ? AF_INET6 : AF_INET;
	memcpy(r->saddr, p + 24, 16);
	memcpy(r->daddr, p + 8, 16);
	r->sport = get(p + 40, 2);
	r->dport = get(p + 42, 2);
	r->direction = p[44] % 4; /* 3: not a direction */
	/* Small and huge counters alike: the shift spreads them over the whole range. */
	r->metrics.bytes_sent = get(p + 45, 4) << (shift & 31);
	r->metrics.bytes_received = get(p + 49, 4) << (shift >> 3 & 31);
	r->metrics.packets_sent = get(p + 53, 4);
	r->metrics.packets_received = get(p + 57, 2) << (shift & 15);
	r->metrics.retransmits = get(p + 59, 2) << (shift >> 4);
	r->metrics.rtt_us = get(p + 61, 3) << (shift & 7);
	r->metrics.rttvar_us = get(p + 45, 3);
	if (p[44] & 0x80) /* a container's id is 64 hex digits (cgroup.c) */
		for (i = 0; i < 64; i++)
			r->container_id[i] = hex[p[i % ROW_BYTES] >> (i & 1 ? 4 : 0) & 15];
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* The row's value for a key sorted largest first; 0 for the ascending keys. */
static uint64_t desc_value(const struct record *r, enum table_sort key)
{
	const struct record_metrics *m = &r->metrics;

	switch (key) {
	case TABLE_SORT_BYTES:
		return add_sat(m->bytes_sent, m->bytes_received);
	case TABLE_SORT_SENT:
		return m->bytes_sent;
	case TABLE_SORT_RECEIVED:
		return m->bytes_received;
	case TABLE_SORT_PACKETS:
		return add_sat(m->packets_sent, m->packets_received);
	case TABLE_SORT_RETRANS:
		return m->retransmits;
	case TABLE_SORT_RTT:
		return m->rtt_us;
	default:
		return 0;
	}
}

static void check_order(struct record *rows, size_t n, enum table_sort key)
{
	size_t i;

	table_sort(rows, n, key);
	for (i = 1; i < n; i++) {
		const struct record *a = &rows[i - 1], *b = &rows[i];

		CHECK(desc_value(a, key) >= desc_value(b, key));
		if (key == TABLE_SORT_PID)
			CHECK(a->pid <= b->pid);
		if (key == TABLE_SORT_COMM)
			CHECK(strcmp(a->comm, b->comm) <= 0);
	}
}

/* Plain text: lines ending in \n, the last one empty; printable ASCII only. */
static void check_plain(const char *t, size_t len, unsigned int width, unsigned int height,
			size_t n)
{
	size_t i, col = 0, lines = 0;

	CHECK(len >= 2 && t[len - 1] == '\n' && t[len - 2] == '\n');
	for (i = 0; i < len - 1; i++) {
		if (t[i] == '\n') {
			CHECK(!width || col <= width);
			col = 0;
			lines++;
			continue;
		}
		CHECK(t[i] >= 0x20 && t[i] < 0x7f);
		col++;
	}
	CHECK(!height || lines <= height);
	/* Every row is there when they fit: a header, the titles and a line each. Otherwise the
	 * last of the height's lines says how many rows were left out. */
	if (!height || n + 2 <= height) {
		CHECK(lines == n + 2);
	} else if (height >= 3 && (!width || width >= 24)) {
		char want[64];
		size_t last = len - 2;

		while (last && t[last - 1] != '\n')
			last--;
		snprintf(want, sizeof(want), "... %zu more\n", n - (height - 3));
		CHECK(lines == height && !strncmp(t + last, want, strlen(want)));
	}
}

/* A terminal: ESC [ ... sequences, lines joined by \r\n, no scrolling past the height, and no
 * erase after a line that fills the width. */
static void check_ansi(const char *t, size_t len, unsigned int width, unsigned int height)
{
	size_t i = 0, col = 0, breaks = 0;

	CHECK(len >= 3 && !memcmp(t, "\033[H", 3));
	while (i < len) {
		if (t[i] == '\033') {
			size_t j = i + 1;

			CHECK(j < len && t[j] == '[');
			for (j++; j < len && ((t[j] >= '0' && t[j] <= '9') || t[j] == ';'); j++)
				;
			CHECK(j < len && (t[j] == 'H' || t[j] == 'K' || t[j] == 'J' || t[j] == 'm'));
			CHECK(t[j] != 'K' || !width || col < width);
			i = j + 1;
			continue;
		}
		if (t[i] == '\r') {
			CHECK(i + 1 < len && t[i + 1] == '\n');
			breaks++;
			col = 0;
			i += 2;
			continue;
		}
		CHECK(t[i] >= 0x20 && t[i] < 0x7f);
		col++;
		CHECK(!width || col <= width);
		i++;
	}
	CHECK(!height || breaks < height);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct record rows[MAX_ROWS];
	static char buf[BUF_SIZE], cut[BUF_SIZE];
	struct table_header hdr = {};
	unsigned int width, height;
	size_t n = 0, len, cut_size;
	bool ansi;

	if (size < 16)
		return 0;
	hdr.sort = data[0] % (TABLE_SORT_COMM + 1);
	width = data[1] & 0x80 ? 0 : data[1]; /* 0: as wide as the content */
	height = data[2] & 0x80 ? 0 : data[2] & 0x3f;
	ansi = data[3] & 1;
	hdr.time_ns = get(data + 4, 8) & 0x0fffffffffffffffULL;
	hdr.events = get(data + 12, 2);
	hdr.failed_connects = data[14];
	hdr.lost = data[15];
	for (data += 16, size -= 16; size >= ROW_BYTES && n < MAX_ROWS;
	     data += ROW_BYTES, size -= ROW_BYTES)
		make_row(&rows[n++], data);

	len = table_render(buf, sizeof(buf), rows, n, &hdr, width, height, ansi);
	CHECK(len < sizeof(buf) && strlen(buf) == len);
	if (ansi)
		check_ansi(buf, len, width, height);
	else
		check_plain(buf, len, width, height, n);
	/* Too small a buffer: the same length, and the text cut as snprintf cuts it. */
	cut_size = len ? (hdr.events * 7919) % len : 0;
	CHECK(table_render(cut, cut_size, rows, n, &hdr, width, height, ansi) == len);
	if (cut_size)
		CHECK(!memcmp(cut, buf, cut_size - 1) && cut[cut_size - 1] == '\0');
	check_order(rows, n, hdr.sort);
	return 0;
}
