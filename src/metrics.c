/* Dumped connections → metrics records, with per-interval deltas kept in a sorted array. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "event.h"
#include "metrics.h"

struct seen {
	uint64_t sk;
	struct record_metrics totals;
};

struct metrics {
	bool incremental;
	struct seen *prev, *cur; /* prev sorted by sk; cur filled by the dump in progress */
	size_t nprev, ncur, cap;
};

struct metrics *metrics__new(bool incremental)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m)
		m->incremental = incremental;
	return m;
}

void metrics__free(struct metrics *m)
{
	if (!m)
		return;
	free(m->prev);
	free(m->cur);
	free(m);
}

uint64_t metrics_counter_delta(uint64_t now, uint64_t prev, unsigned int bits)
{
	if (now >= prev)
		return now - prev;
	if (bits < 64 && prev < (1ULL << bits))
		return now + (1ULL << bits) - prev; /* the kernel's counter wrapped */
	return now; /* the counter was reset: count from zero */
}

void metrics_delta(struct record_metrics *out, const struct record_metrics *now,
		   const struct record_metrics *prev)
{
	out->bytes_sent = metrics_counter_delta(now->bytes_sent, prev->bytes_sent, 64);
	out->bytes_received = metrics_counter_delta(now->bytes_received, prev->bytes_received, 64);
	out->packets_sent = metrics_counter_delta(now->packets_sent, prev->packets_sent, 32);
	out->packets_received =
		metrics_counter_delta(now->packets_received, prev->packets_received, 32);
	out->retransmits = metrics_counter_delta(now->retransmits, prev->retransmits, 32);
	out->rtt_us = now->rtt_us;
	out->rttvar_us = now->rttvar_us;
}

static int cmp_seen(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->sk < y->sk ? -1 : x->sk > y->sk;
}

static struct seen *find_prev(struct metrics *m, uint64_t sk)
{
	struct seen key = { .sk = sk };

	return m->nprev ? bsearch(&key, m->prev, m->nprev, sizeof(key), cmp_seen) : NULL;
}

void metrics__begin(struct metrics *m)
{
	m->ncur = 0;
}

/* Replaces rec's totals by the delta since the previous report of the same connection. */
static void to_delta(struct metrics *m, struct record *rec)
{
	struct seen *p = find_prev(m, rec->sk);

	if (p)
		metrics_delta(&rec->metrics, &rec->metrics, &p->totals);
}

bool metrics__conn(struct metrics *m, uint64_t sk, const struct nt_conn *conn, uint64_t time_ns,
		   struct record *rec)
{
	struct record_metrics totals;

	if (!(conn->flags & NT_CONN_ESTABLISHED) || !conn->counters.valid)
		return false;
	memset(rec, 0, sizeof(*rec));
	rec->type = RECORD_METRICS;
	rec->sk = sk;
	rec->time_ns = time_ns;
	rec->has_metrics = true;
	event_fill_conn(rec, &conn->tuple, &conn->owner, conn->netns, conn->direction);
	event_metrics(&rec->metrics, &conn->counters, conn->direction);
	if (!m->incremental)
		return true;
	totals = rec->metrics;
	to_delta(m, rec);
	if (m->ncur == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct seen *cur = realloc(m->cur, cap * sizeof(*cur));

		if (!cur)
			return true; /* the next delta of this connection will be a total */
		m->cur = cur;
		m->cap = cap;
	}
	m->cur[m->ncur++] = (struct seen){ .sk = sk, .totals = totals };
	return true;
}

int metrics__end(struct metrics *m)
{
	struct seen *tmp;

	if (!m->incremental)
		return 0;
	if (m->ncur) /* an empty dump may have no array at all: qsort(NULL) is undefined */
		qsort(m->cur, m->ncur, sizeof(*m->cur), cmp_seen);
	tmp = m->prev;
	m->prev = m->cur;
	m->nprev = m->ncur;
	/* The old array becomes the next dump's scratch space; it is at least as large. */
	m->cur = tmp;
	m->ncur = 0;
	tmp = realloc(m->cur, m->cap * sizeof(*m->cur));
	if (m->cap && !tmp) {
		/* cur is smaller than cap when the dump grew it: cap must not claim more. */
		free(m->cur);
		m->cur = NULL;
		m->cap = 0;
		return -ENOMEM;
	}
	m->cur = tmp;
	return 0;
}

void metrics__close(struct metrics *m, struct record *rec)
{
	struct seen *p;

	if (!m->incremental || !rec->has_metrics)
		return;
	p = find_prev(m, rec->sk);
	if (!p)
		return;
	metrics_delta(&rec->metrics, &rec->metrics, &p->totals);
	/* The socket address may be reused by a later connection before the next dump. */
	p->totals = (struct record_metrics){};
}

uint64_t metrics_untracked_new(uint64_t total, uint64_t *reported)
{
	uint64_t n = total > *reported ? total - *reported : 0;

	/* The counter only grows while the programs are loaded; should a sum ever be smaller,
	 * it says nothing new and becomes the new base. */
	*reported = total;
	return n;
}
