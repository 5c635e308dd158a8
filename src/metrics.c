/* Dumped connections → metrics records, with per-interval deltas kept in a sorted array. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "event.h"
#include "metrics.h"

#define SOCK_DONE 1 /* enum sock_flags: tcp_fin() sets it */

/* What the last report of one connection said. A connection is its socket address and its
 * birth: the kernel reuses a socket's memory at once, and a counter that went down is then
 * another connection's, not a wrap. */
struct seen {
	uint64_t sk, birth_ns;
	struct record_metrics totals;
	bool closed;	    /* its close was reported: a dump that still has it reports nothing */
	unsigned int missed; /* dumps in a row that no longer had it */
};

/* A connection the dump no longer has is kept for this many dumps: its close sample may still
 * be on its way (it closed after the ring was drained, before the map was read). */
#define SEEN_GRACE_DUMPS 2

struct metrics {
	bool incremental;
	struct seen *prev, *cur; /* prev sorted by (sk, birth); cur filled by the dump in progress */
	size_t nprev, ncur, cap;
	uint64_t alloc_failed; /* connections whose next delta is a total: no memory to remember */
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

uint64_t metrics__alloc_failed(const struct metrics *m)
{
	return m->alloc_failed;
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

	if (x->sk != y->sk)
		return x->sk < y->sk ? -1 : 1;
	return x->birth_ns < y->birth_ns ? -1 : x->birth_ns > y->birth_ns;
}

static struct seen *find(struct seen *v, size_t n, uint64_t sk, uint64_t birth_ns)
{
	struct seen key = { .sk = sk, .birth_ns = birth_ns };

	return n ? bsearch(&key, v, n, sizeof(key), cmp_seen) : NULL;
}

void metrics__begin(struct metrics *m)
{
	m->ncur = 0;
}

static bool remember(struct metrics *m, const struct seen *s)
{
	if (m->ncur == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct seen *cur = realloc(m->cur, cap * sizeof(*cur));

		if (!cur) {
			m->alloc_failed++;
			return false;
		}
		m->cur = cur;
		m->cap = cap;
	}
	m->cur[m->ncur++] = *s;
	return true;
}

static bool fin_sent_state(uint8_t state)
{
	return state == NT_TCP_FIN_WAIT1 || state == NT_TCP_FIN_WAIT2 || state == NT_TCP_CLOSING ||
	       state == NT_TCP_LAST_ACK || state == NT_TCP_TIME_WAIT;
}

static uint64_t sub_floor(uint64_t v, uint64_t n)
{
	return v > n ? v - n : 0;
}

void metrics_from_counters(struct record_metrics *m, const struct nt_counters *c, uint8_t direction)
{
	/* prev_state is the state before TCP_CLOSE for a close, the current state otherwise. */
	uint8_t st = c->prev_state;
	/* The SYN of an active open is counted as acknowledged; a passive open starts at 0. */
	uint64_t syn = direction == NT_DIR_OUTBOUND;
	uint64_t fin_acked = fin_sent_state(st) && c->snd_una == c->write_seq;
	/* Not the state: an orphan in FIN_WAIT1 becomes time-wait before the peer's FIN. */
	uint64_t fin_received = !!(c->sk_flags & (1 << SOCK_DONE));

	m->bytes_sent = sub_floor(c->bytes_acked, syn + fin_acked);
	m->bytes_received = sub_floor(c->bytes_received, fin_received);
	m->packets_sent = c->segs_out;
	m->packets_received = c->segs_in;
	m->retransmits = c->total_retrans;
	m->rtt_us = c->srtt_us >> 3;
	m->rttvar_us = c->mdev_us >> 2;
}

/* The byte totals are derived (bytes_acked less the SYN and an acknowledged FIN, bytes_received
 * less a received FIN) from fields a dump reads without the socket's lock, so a FIN's arrival or
 * acknowledgement seen half-way reads one byte less than the dump before saw. A total that went
 * back by that byte keeps the earlier value; only more than that is a counter that started
 * again. */
static void hold_total(uint64_t *now, uint64_t prev)
{
	if (*now < prev && prev - *now <= 1)
		*now = prev;
}

bool metrics__conn(struct metrics *m, uint64_t sk, const struct nt_conn *conn, uint64_t time_ns,
		   struct record *rec)
{
	struct seen now = { .sk = sk, .birth_ns = conn->birth_ns }, *p;

	if (!(conn->flags & NT_CONN_ESTABLISHED) || !conn->counters.valid)
		return false;
	memset(rec, 0, sizeof(*rec));
	rec->type = RECORD_METRICS;
	rec->sk = sk;
	rec->birth_ns = conn->birth_ns;
	rec->time_ns = time_ns;
	rec->has_metrics = true;
	event_fill_conn(rec, &conn->tuple, &conn->owner, conn->netns, conn->direction);
	metrics_from_counters(&rec->metrics, &conn->counters, conn->direction);
	if (!m->incremental)
		return true;
	now.totals = rec->metrics;
	p = find(m->prev, m->nprev, sk, conn->birth_ns);
	if (p && p->closed) {
		/* Closed while this dump ran: its close already carried the rest. */
		remember(m, p);
		return false;
	}
	if (p) {
		hold_total(&now.totals.bytes_sent, p->totals.bytes_sent);
		hold_total(&now.totals.bytes_received, p->totals.bytes_received);
		metrics_delta(&rec->metrics, &now.totals, &p->totals);
	}
	remember(m, &now);
	return true;
}

int metrics__end(struct metrics *m)
{
	size_t i, n;
	struct seen *tmp;

	if (!m->incremental)
		return 0;
	if (m->ncur) /* an empty dump may have no array at all: qsort(NULL) is undefined */
		qsort(m->cur, m->ncur, sizeof(*m->cur), cmp_seen);
	/* Connections this dump did not have stay a while, for a close still on its way. */
	n = m->ncur;
	for (i = 0; i < m->nprev; i++) {
		struct seen s = m->prev[i];

		if (s.closed || s.missed + 1 >= SEEN_GRACE_DUMPS || find(m->cur, n, s.sk, s.birth_ns))
			continue;
		s.missed++;
		if (!remember(m, &s))
			break;
	}
	if (m->ncur > n)
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
		m->alloc_failed++;
		return -ENOMEM;
	}
	m->cur = tmp;
	return 0;
}

void metrics__close(struct metrics *m, struct record *rec)
{
	struct seen *p;
	struct record_metrics totals;

	if (!m->incremental || !rec->has_metrics)
		return;
	p = find(m->prev, m->nprev, rec->sk, rec->birth_ns);
	if (!p)
		return; /* never dumped: the totals are the delta */
	/* A second close of the same connection finds the first one's totals: nothing new. */
	totals = rec->metrics;
	metrics_delta(&rec->metrics, &totals, &p->totals);
	p->totals = totals;
	p->closed = true;
}

uint64_t metrics_untracked_new(uint64_t total, uint64_t *reported)
{
	uint64_t n = total > *reported ? total - *reported : 0;

	/* The counter only grows while the programs are loaded; should a sum ever be smaller,
	 * it says nothing new and becomes the new base. */
	*reported = total;
	return n;
}
