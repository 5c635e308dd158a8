/* The -d live view: metrics records of one dump → a text table; pure, no I/O. */
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

#endif /* NT_TABLE_H */
