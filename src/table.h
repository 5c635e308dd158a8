/* The -d live view: metrics records of one dump → a text table; and the terminal it owns. */
#ifndef NT_TABLE_H
#define NT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"

/* --sort keys. Counters and RTT sort largest first, pid and comm in ascending order. */
enum table_sort {
	TABLE_SORT_BYTES, /* sent + received: the default */
	TABLE_SORT_SENT,
	TABLE_SORT_RECEIVED,
	TABLE_SORT_PACKETS, /* sent + received */
	TABLE_SORT_RETRANS,
	TABLE_SORT_RTT,
	TABLE_SORT_PID,
	TABLE_SORT_COMM,
};

/* What the line above the columns says besides the counts it takes from the rows. */
struct table_header {
	uint64_t time_ns; /* wall clock of the dump, shown as local time */
	uint64_t events;  /* connect, accept, close and connect_failed records since start-up */
	uint64_t failed_connects; /* connect_failed records since start-up */
	uint64_t lost;	  /* samples the kernel dropped */
	enum table_sort sort;
};

/* Longest string table_human() and table_usecs() write, with the NUL. */
#define TABLE_NUM_LEN 8

/* ---- Pure core: no I/O, no allocation. ---- */

/* --sort argument → key. 0 or -EINVAL. */
int table_sort_parse(const char *name, enum table_sort *key);
const char *table_sort_name(enum table_sort key);

/* v in at most 5 characters: as is below base, then 1.2K, 12K, 123K, 1.0M... with base 1024
 * (bytes: K M G T P E) or 1000 (counts: k M G T P E). */
void table_human(char buf[TABLE_NUM_LEN], uint64_t v, unsigned int base);
/* A duration in microseconds in at most 5 characters: 850us, 1.2ms, 123ms, 1.5s, 4295s. */
void table_usecs(char buf[TABLE_NUM_LEN], uint32_t us);

/* Orders rows by key; ties go by total bytes, then pid, then socket, so the order is stable
 * from one refresh to the next. */
void table_sort(struct record *rows, size_t n, enum table_sort key);

/*
 * Writes the table of rows, in their order, into buf like snprintf: returns the length of the
 * whole table, which was cut short when it is >= size. width 0: lines as long as their content;
 * otherwise the comm and address columns shrink, then lines are cut, so that none is longer than
 * width. height 0: every row; otherwise at most height lines, the last saying how many rows
 * were left out. ansi: redraw a terminal in place from its top-left corner (erase what the
 * previous table left, column titles in reverse video); otherwise plain text ending with an
 * empty line.
 */
size_t table_render(char *buf, size_t size, const struct record *rows, size_t n,
		    const struct table_header *hdr, unsigned int width, unsigned int height,
		    bool ansi);

/* ---- The rows of the last dump, and the text drawn from them. ---- */

struct table;

/* NULL with errno set. */
struct table *table__new(void);
void table__free(struct table *t);
/* A dump begins: forgets the rows. */
void table__clear(struct table *t);
/* Adds a metrics record as a row. 0 or -ENOMEM. */
int table__add(struct table *t, const struct record *rec);
/* Sorts the rows by hdr->sort and renders them (see table_render). The text stays valid until
 * the next call; NULL with errno set. */
const char *table__render(struct table *t, const struct table_header *hdr, unsigned int width,
			  unsigned int height, bool ansi, size_t *len);

/* ---- The terminal, while -d runs on one. ---- */

/* Keys read by table_keys(). */
enum {
	TABLE_KEY_REFRESH = 1, /* Enter */
	TABLE_KEY_QUIT = 2,    /* q */
	TABLE_KEY_EOF = 4,     /* the input ended or cannot be read: stop asking */
};

/*
 * Takes over the terminal. in_fd (-1: none), when it is a terminal and nettracer is in its
 * foreground, goes to non-canonical no-echo mode so that a key acts at once; out_fd (-1: none)
 * shows the alternate screen with the cursor hidden, and stderr is held back until
 * table_term_close() so that no message vanishes with that screen. Everything is given back on
 * table_term_close(), on SIGTSTP (and taken again on SIGCONT) and on SIGQUIT. 0 or -errno.
 */
int table_term_open(int in_fd, int out_fd);
/* Gives the terminal back as it was and replays what stderr got meanwhile; safe to repeat. */
void table_term_close(void);
/* True once after the terminal was resized or given back after a stop: redraw. */
bool table_term_changed(void);
/* Columns and lines of the terminal at fd. 0 or -errno. */
int table_term_size(int fd, unsigned int *width, unsigned int *height);
/* Reads the keys waiting on fd without blocking: TABLE_KEY_* bits, 0 when there are none. */
int table_keys(int fd);

#endif /* NT_TABLE_H */
