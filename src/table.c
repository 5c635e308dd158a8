/* The -d live view: a pure sort and render core, and the rows of a dump. */
#include "config.h" /* _GNU_SOURCE: qsort_r */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "json.h"
#include "table.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sort_names[] = {
	[TABLE_SORT_BYTES] = "bytes",	    [TABLE_SORT_SENT] = "sent",
	[TABLE_SORT_RECEIVED] = "received", [TABLE_SORT_PACKETS] = "packets",
	[TABLE_SORT_RETRANS] = "retrans",   [TABLE_SORT_RTT] = "rtt",
	[TABLE_SORT_PID] = "pid",	    [TABLE_SORT_COMM] = "comm",
};

int table_sort_parse(const char *name, enum table_sort *key)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sort_names); i++) {
		if (strcmp(name, sort_names[i]) == 0) {
			*key = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *table_sort_name(enum table_sort key)
{
	return (unsigned int)key < ARRAY_SIZE(sort_names) ? sort_names[key] : "?";
}

void table_human(char buf[TABLE_NUM_LEN], uint64_t v, unsigned int base)
{
	const char *units = base == 1000 ? "kMGTPE" : "KMGTPE";
	double x;
	int u = 0;

	base = base == 1000 ? 1000 : 1024; /* anything else could overflow buf */
	if (v < base) {
		snprintf(buf, TABLE_NUM_LEN, "%" PRIu64, v);
		return;
	}
	/* A value that would round up to base moves to the next unit: 1.0M, never 1024K. */
	x = (double)v / base;
	while (x >= base - 0.5 && units[u + 1]) {
		x /= base;
		u++;
	}
	snprintf(buf, TABLE_NUM_LEN, x < 9.95 ? "%.1f%c" : "%.0f%c", x, units[u]);
}

void table_usecs(char buf[TABLE_NUM_LEN], uint32_t us)
{
	double ms = us / 1000.0, s = us / 1e6;

	if (us < 1000)
		snprintf(buf, TABLE_NUM_LEN, "%" PRIu32 "us", us);
	else if (ms < 9.95)
		snprintf(buf, TABLE_NUM_LEN, "%.1fms", ms);
	else if (ms < 999.5)
		snprintf(buf, TABLE_NUM_LEN, "%.0fms", ms);
	else
		snprintf(buf, TABLE_NUM_LEN, s < 9.95 ? "%.1fs" : "%.0fs", s);
}

static uint64_t sum(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t total_bytes(const struct record *r)
{
	return sum(r->metrics.bytes_sent, r->metrics.bytes_received);
}

static int larger_first(uint64_t a, uint64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int smaller_first(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_rows(const void *pa, const void *pb, void *pkey)
{
	const struct record *a = pa, *b = pb;
	const struct record_metrics *x = &a->metrics, *y = &b->metrics;
	int c;

	switch (*(const enum table_sort *)pkey) {
	case TABLE_SORT_SENT:
		c = larger_first(x->bytes_sent, y->bytes_sent);
		break;
	case TABLE_SORT_RECEIVED:
		c = larger_first(x->bytes_received, y->bytes_received);
		break;
	case TABLE_SORT_PACKETS:
		c = larger_first(sum(x->packets_sent, x->packets_received),
				 sum(y->packets_sent, y->packets_received));
		break;
	case TABLE_SORT_RETRANS:
		c = larger_first(x->retransmits, y->retransmits);
		break;
	case TABLE_SORT_RTT:
		c = larger_first(x->rtt_us, y->rtt_us);
		break;
	case TABLE_SORT_PID:
		c = smaller_first(a->pid, b->pid);
		break;
	case TABLE_SORT_COMM:
		c = strncmp(a->comm, b->comm, RECORD_COMM_LEN);
		break;
	default:
		c = 0;
		break;
	}
	if (!c)
		c = larger_first(total_bytes(a), total_bytes(b));
	if (!c)
		c = smaller_first(a->pid, b->pid);
	if (!c)
		c = smaller_first(a->sk, b->sk);
	return c;
}

void table_sort(struct record *rows, size_t n, enum table_sort key)
{
	if (n > 1) /* an empty table may have no array at all */
		qsort_r(rows, n, sizeof(*rows), cmp_rows, &key);
}

/* ---- Rendering ---- */

enum col {
	COL_PID,
	COL_COMM,
	COL_CONTAINER, /* only when a row has one */
	COL_LOCAL,
	COL_REMOTE,
	COL_DIR,
	COL_SENT,
	COL_RECV,
	COL_PACKETS,
	COL_RETR,
	COL_RTT,
	COL_RTTVAR,
	NCOLS,
};

/*
 * width: the narrowest the column is drawn, wide enough for the usual values so that columns
 * do not move from one refresh to the next; content may widen it. Only comm and the addresses
 * shrink below their content (down to shrink) when the terminal is too narrow: the other
 * columns hold numbers, and a number cut short reads as a different number.
 */
static const struct column {
	const char *title;
	unsigned int width;
	unsigned int shrink;
	bool left;
} columns[NCOLS] = {
	[COL_PID] = { "PID", 5 },
	[COL_COMM] = { "COMM", 4, 4, true },
	[COL_CONTAINER] = { "CONTAINER", 12, 0, true },
	[COL_LOCAL] = { "LOCAL", 5, 10, true },
	[COL_REMOTE] = { "REMOTE", 6, 10, true },
	[COL_DIR] = { "DIR", 3, 0, true },
	[COL_SENT] = { "SENT", 5 },
	[COL_RECV] = { "RECV", 5 },
	[COL_PACKETS] = { "PACKETS", 7 },
	[COL_RETR] = { "RETR", 4 },
	[COL_RTT] = { "RTT", 5 },
	[COL_RTTVAR] = { "RTTVAR", 6 },
};

/* "[IPv6]:port" is the longest cell. */
#define CELL_LEN (INET6_ADDRSTRLEN + 8)

static void format_addr(char *buf, int family, const uint8_t *addr, uint16_t port)
{
	char ip[JSON_ADDR_LEN];

	json_addr(ip, family, addr); /* the text of the JSON records */
	snprintf(buf, CELL_LEN, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static void format_cells(const struct record *r, char cell[NCOLS][CELL_LEN])
{
	static const char *const directions[] = {
		[DIRECTION_UNKNOWN] = "?",
		[DIRECTION_OUTBOUND] = "out",
		[DIRECTION_INBOUND] = "in",
	};
	const struct record_metrics *m = &r->metrics;
	char a[TABLE_NUM_LEN], b[TABLE_NUM_LEN];
	size_t i;

	snprintf(cell[COL_PID], CELL_LEN, "%" PRIu32, r->pid);
	/* comm is whatever a process chose to call itself: on a terminal, a control character
	 * would be obeyed, and a byte past ASCII would break the column arithmetic. */
	for (i = 0; i < RECORD_COMM_LEN && r->comm[i]; i++)
		cell[COL_COMM][i] = r->comm[i] >= 0x20 && r->comm[i] < 0x7f ? r->comm[i] : '?';
	cell[COL_COMM][i] = '\0';
	if (!i)
		strcpy(cell[COL_COMM], "-");
	/* The first 12 hex digits, as docker ps and crictl ps show an id. */
	snprintf(cell[COL_CONTAINER], CELL_LEN, "%.12s", r->container_id[0] ? r->container_id : "-");
	format_addr(cell[COL_LOCAL], r->family, r->saddr, r->sport);
	format_addr(cell[COL_REMOTE], r->family, r->daddr, r->dport);
	strcpy(cell[COL_DIR], (unsigned int)r->direction < ARRAY_SIZE(directions)
				  ? directions[r->direction]
				  : "?");
	table_human(cell[COL_SENT], m->bytes_sent, 1024);
	table_human(cell[COL_RECV], m->bytes_received, 1024);
	table_human(a, m->packets_sent, 1000);
	table_human(b, m->packets_received, 1000);
	snprintf(cell[COL_PACKETS], CELL_LEN, "%s/%s", a, b);
	table_human(cell[COL_RETR], m->retransmits, 1000);
	table_usecs(cell[COL_RTT], m->rtt_us);
	table_usecs(cell[COL_RTTVAR], m->rttvar_us);
}

/*
 * From natural widths to width: comm and the addresses give up a column at a time, the widest
 * first; when they cannot shrink any more, whole columns go from the right, since a number cut
 * short would be a different number. Returns how many columns are shown.
 */
static unsigned int fit_widths(unsigned int w[NCOLS], const bool show[NCOLS], unsigned int width)
{
	static const enum col shrinkable[] = { COL_COMM, COL_LOCAL, COL_REMOTE };
	unsigned int total = 0, ncols = NCOLS, i, c, widest;

	for (c = 0; c < NCOLS; c++)
		total += show[c] ? w[c] + !!c : 0;
	while (width && total > width) {
		widest = NCOLS;
		for (i = 0; i < ARRAY_SIZE(shrinkable); i++) {
			c = shrinkable[i];
			if (w[c] > columns[c].shrink && (widest == NCOLS || w[c] > w[widest]))
				widest = c;
		}
		if (widest == NCOLS)
			break;
		w[widest]--;
		total--;
	}
	/* The leftmost columns stay: beyond them the caller cuts the lines. */
	while (width && total > width && ncols > COL_COMM + 1) {
		ncols--;
		total -= show[ncols] ? w[ncols] + 1 : 0;
	}
	return ncols;
}

/* What a cell shows in w columns: comm loses its end; an address its start, since the port
 * and the last bytes tell connections apart. */
static void fit_cell(char *cell, enum col c, unsigned int w)
{
	size_t len = strlen(cell);

	if (len <= w)
		return;
	if (c == COL_LOCAL || c == COL_REMOTE) {
		memmove(cell + 1, cell + len - (w - 1), w);
		cell[0] = '~';
	} else {
		cell[w] = '\0';
	}
}

/* A bounded writer with snprintf's contract: len counts everything, buf gets what fits. */
struct sink {
	char *buf;
	size_t size, len;
};

static void put(struct sink *s, const char *p, size_t n)
{
	if (s->len < s->size)
		memcpy(s->buf + s->len, p, s->len + n < s->size ? n : s->size - s->len);
	s->len += n;
}

static void puts_(struct sink *s, const char *p)
{
	put(s, p, strlen(p));
}

static void pad(struct sink *s, size_t n)
{
	static const char spaces[] = "                                ";

	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		put(s, spaces, k);
		n -= k;
	}
}

struct frame {
	struct sink out;
	unsigned int width, height, lines;
	bool ansi;
};

/* Starts a line, unless the screen is full. On a terminal "\r\n" ends the previous one: it moves
 * on from the middle of a line as well as from the last column, where the cursor waits to wrap. */
static bool line_begin(struct frame *f)
{
	if (f->height && f->lines == f->height)
		return false;
	if (f->lines && f->ansi)
		puts_(&f->out, "\r\n");
	f->lines++;
	return true;
}

/* On a terminal, what the previous table left after a shorter line is erased; not after a full
 * one: the cursor waits on its last column, and an erase there would take that character. */
static void line_end(struct frame *f, size_t len)
{
	if (f->ansi) {
		if (!f->width || len < f->width)
			puts_(&f->out, "\033[K");
	} else {
		puts_(&f->out, "\n");
	}
}

/* A line of text, cut to the width. */
static void text_line(struct frame *f, const char *text)
{
	size_t len = strlen(text);

	if (!line_begin(f))
		return;
	if (f->width && len > f->width)
		len = f->width;
	put(&f->out, text, len);
	line_end(f, len);
}

static void header_line(struct frame *f, const struct record *rows, size_t n,
			const struct table_header *hdr)
{
	char line[256], when[32] = "-";
	uint64_t out = 0, in = 0;
	time_t sec = hdr->time_ns / 1000000000;
	struct tm tm;
	size_t i;

	for (i = 0; i < n; i++) {
		out += rows[i].direction == DIRECTION_OUTBOUND;
		in += rows[i].direction == DIRECTION_INBOUND;
	}
	/* A file keeps tables for days; a terminal shows the one of now, and needs the room. */
	if (hdr->time_ns && localtime_r(&sec, &tm))
		strftime(when, sizeof(when), f->ansi ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(line, sizeof(line),
		 "nettracer %s  %zu connections (%" PRIu64 " out, %" PRIu64 " in)  "
		 "events %" PRIu64 "  failed %" PRIu64 "  lost %" PRIu64 "  sort %s%s",
		 when, n, out, in, hdr->events, hdr->failed_connects, hdr->lost,
		 table_sort_name(hdr->sort),
		 f->ansi ? "  Enter: refresh, q: quit" : "");
	text_line(f, line);
}

/* One line of cells. Titles fill the screen's width in reverse video on a terminal. */
static void cells_line(struct frame *f, char cell[NCOLS][CELL_LEN], const unsigned int w[NCOLS],
		       const bool show[NCOLS], unsigned int ncols, bool titles)
{
	char line[NCOLS * (CELL_LEN + 1)];
	size_t len = 0;
	unsigned int c;

	if (!line_begin(f))
		return;
	for (c = 0; c < ncols; c++) {
		if (!show[c])
			continue;
		fit_cell(cell[c], c, w[c]);
		len +=
		    snprintf(line + len, sizeof(line) - len, columns[c].left ? "%s%-*s" : "%s%*s",
			     c ? " " : "", (int)w[c], cell[c]);
	}
	/* Plain text has no trailing blanks, even when the last column shown is text. */
	while (len && line[len - 1] == ' ')
		len--;
	if (f->width && len > f->width)
		len = f->width;
	if (titles && f->ansi) {
		puts_(&f->out, "\033[7m");
		put(&f->out, line, len);
		if (f->width) {
			pad(&f->out, f->width - len);
			len = f->width;
		}
		puts_(&f->out, "\033[m");
	} else {
		put(&f->out, line, len);
	}
	line_end(f, len);
}

size_t table_render(char *buf, size_t size, const struct record *rows, size_t n,
		    const struct table_header *hdr, unsigned int width, unsigned int height,
		    bool ansi)
{
	struct frame f = {
		.out = { .buf = buf, .size = size },
		.width = width,
		.height = height,
		.ansi = ansi,
	};
	char cell[NCOLS][CELL_LEN], more[64];
	unsigned int w[NCOLS], ncols, c;
	bool show[NCOLS];
	size_t shown = n, i;

	for (c = 0; c < NCOLS; c++)
		show[c] = c != COL_CONTAINER;
	for (i = 0; i < n; i++)
		show[COL_CONTAINER] |= rows[i].container_id[0] != '\0';

	if (height) {
		/* Two lines of headings; a last line says what did not fit. */
		size_t room = height > 2 ? height - 2 : 0;

		if (n > room)
			shown = room ? room - 1 : 0;
	}
	for (c = 0; c < NCOLS; c++)
		w[c] = columns[c].width > strlen(columns[c].title) ? columns[c].width
								   : strlen(columns[c].title);
	for (i = 0; i < shown; i++) {
		format_cells(&rows[i], cell);
		for (c = 0; c < NCOLS; c++)
			if (strlen(cell[c]) > w[c])
				w[c] = strlen(cell[c]);
	}
	ncols = fit_widths(w, show, width);

	if (ansi)
		puts_(&f.out, "\033[H");
	header_line(&f, rows, n, hdr);
	for (c = 0; c < NCOLS; c++)
		strcpy(cell[c], columns[c].title);
	cells_line(&f, cell, w, show, ncols, true);
	for (i = 0; i < shown; i++) {
		format_cells(&rows[i], cell);
		cells_line(&f, cell, w, show, ncols, false);
	}
	if (shown < n) {
		snprintf(more, sizeof(more), "... %zu more", n - shown);
		text_line(&f, more);
	}
	if (ansi) {
		/* Erase what a longer previous table left below this one. */
		if (!height || f.lines < height)
			puts_(&f.out, "\r\n\033[J");
	} else {
		puts_(&f.out, "\n");
	}
	if (size)
		buf[f.out.len < size ? f.out.len : size - 1] = '\0';
	return f.out.len;
}

/* ---- The rows of the last dump ---- */

struct table {
	struct record *rows;
	size_t n, cap;
	char *text;
	size_t size;
};

struct table *table__new(void)
{
	return calloc(1, sizeof(struct table));
}

void table__free(struct table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->text);
	free(t);
}

void table__clear(struct table *t)
{
	t->n = 0;
}

int table__add(struct table *t, const struct record *rec)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct record *rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows)
			return -ENOMEM;
		t->rows = rows;
		t->cap = cap;
	}
	t->rows[t->n++] = *rec;
	return 0;
}

const char *table__render(struct table *t, const struct table_header *hdr, unsigned int width,
			  unsigned int height, bool ansi, size_t *len)
{
	size_t need;
	char *text;

	table_sort(t->rows, t->n, hdr->sort);
	for (;;) {
		need = table_render(t->text, t->size, t->rows, t->n, hdr, width, height, ansi);
		if (need < t->size)
			break;
		text = realloc(t->text, need + 1);
		if (!text)
			return NULL;
		t->text = text;
		t->size = need + 1;
	}
	*len = need;
	return t->text;
}
