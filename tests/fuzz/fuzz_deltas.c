/* libFuzzer harness: the -i delta logic (metrics.c) against a model of the kernel side. The
 * bytes are a script: connections grow, send and receive their FINs, close (the sample may be
 * lost), socket addresses are reused at once, and dumps run with closes racing them: between
 * the ring's drain and the map's read, or after the entry was read. The kernel's order is the
 * one on_close keeps: the entry leaves the map before the close sample is written. Whatever the
 * script, every delta of a connection is at most its total, the deltas reported so far add up
 * to the totals of its last report, and its close brings them to its final totals: never a
 * value of another connection on the same socket address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "check.h"

#define SLOTS 4	 /* socket addresses, each reused by one connection after another */
#define CONNS 64 /* connections in one script */
#define RING 16	 /* close samples on their way */

struct conn {
	uint64_t sk, birth_ns;
	struct nt_counters c;
	uint8_t direction;
	int slot;
	bool established, in_map, closed, close_seen;
	struct record_metrics sum; /* what its records said so far, added up */
};

struct model {
	struct metrics *m;
	bool incremental;
	struct conn conns[CONNS];
	int nconns, slot[SLOTS]; /* slot: the connection whose entry holds the address, or -1 */
	int ring[RING], nring;
	uint64_t clock;
};

static struct record_metrics totals(const struct conn *k)
{
	struct record_metrics t;

	metrics_from_counters(&t, &k->c, k->direction);
	return t;
}

/* What a connection's records said adds up to t: bytes exactly, 32-bit kernel counters as they
 * wrap. */
static void check_sum(const struct conn *k, const struct record_metrics *t)
{
	CHECK(k->sum.bytes_sent == t->bytes_sent && k->sum.bytes_received == t->bytes_received);
	CHECK((uint32_t)k->sum.packets_sent == (uint32_t)t->packets_sent);
	CHECK((uint32_t)k->sum.packets_received == (uint32_t)t->packets_received);
	CHECK((uint32_t)k->sum.retransmits == (uint32_t)t->retransmits);
}

/* A metrics or close record of connection k. */
static void reported(struct model *s, struct conn *k, const struct record *rec)
{
	struct record_metrics t = totals(k);
	const struct record_metrics *d = &rec->metrics;

	CHECK(rec->sk == k->sk && rec->birth_ns == k->birth_ns && rec->has_metrics);
	CHECK(d->rtt_us == t.rtt_us && d->rttvar_us == t.rttvar_us);
	if (!s->incremental) {
		CHECK(d->bytes_sent == t.bytes_sent && d->bytes_received == t.bytes_received);
		CHECK(d->packets_sent == t.packets_sent && d->packets_received == t.packets_received);
		CHECK(d->retransmits == t.retransmits);
		return;
	}
	CHECK(d->bytes_sent <= t.bytes_sent && d->bytes_received <= t.bytes_received);
	CHECK(d->packets_sent <= UINT32_MAX && d->packets_received <= UINT32_MAX &&
	      d->retransmits <= UINT32_MAX);
	k->sum.bytes_sent += d->bytes_sent;
	k->sum.bytes_received += d->bytes_received;
	k->sum.packets_sent += d->packets_sent;
	k->sum.packets_received += d->packets_received;
	k->sum.retransmits += d->retransmits;
	check_sum(k, &t);
}

static struct conn *open_conn(struct model *s, int slot, uint8_t arg)
{
	struct conn *k;

	if (s->nconns == CONNS || (s->slot[slot] >= 0 && s->conns[s->slot[slot]].in_map))
		return NULL;
	k = &s->conns[s->nconns];
	memset(k, 0, sizeof(*k));
	k->sk = 0xffff888000001000ULL + 0x800 * slot; /* the same address for each connection */
	k->slot = slot;
	k->birth_ns = ++s->clock;
	k->direction = arg & 1 ? NT_DIR_OUTBOUND : NT_DIR_INBOUND;
	k->c.bytes_acked = k->direction == NT_DIR_OUTBOUND; /* the SYN */
	k->c.state = k->c.prev_state = NT_TCP_ESTABLISHED;
	k->c.valid = 1;
	k->established = !(arg & 2); /* else the entry waits for ESTABLISHED */
	k->in_map = true;
	s->slot[slot] = s->nconns++;
	return k;
}

static struct conn *open_at(struct model *s, int slot)
{
	struct conn *k = s->slot[slot] >= 0 ? &s->conns[s->slot[slot]] : NULL;

	return k && !k->closed ? k : NULL;
}

static void grow(struct conn *k, uint8_t a, uint8_t b)
{
	bool fin_sent = k->c.state == NT_TCP_FIN_WAIT2, fin_received = k->c.sk_flags & 2;

	k->established = true;
	if (!fin_sent) {
		k->c.bytes_acked += (uint64_t)a << (b & 15);
		k->c.write_seq += a;
		k->c.snd_una = k->c.write_seq - (b & 1); /* data in flight, or all acknowledged */
	}
	if (!fin_received)
		k->c.bytes_received += (uint64_t)b << (a & 15);
	/* Segment counters are 32 bits in the kernel: a long connection wraps them. */
	k->c.segs_out += b & 0x80 ? 0xfffffff0u + (a & 7) : a;
	k->c.segs_in += b & 0x40 ? 0xfffffff0u + (b & 7) : b;
	k->c.total_retrans += a & 3;
	k->c.srtt_us = (uint32_t)a << 10 | b;
	k->c.mdev_us = (uint32_t)b << 6;
}

/* A FIN sent and acknowledged, and one received: the kernel counts each as a byte, nettracer
 * leaves them out, so the totals stay where they were. */
static void fin(struct conn *k, uint8_t a)
{
	if (a & 1 && k->c.state != NT_TCP_FIN_WAIT2) {
		k->c.state = k->c.prev_state = NT_TCP_FIN_WAIT2;
		k->c.bytes_acked++;
		k->c.write_seq++;
		k->c.snd_una = k->c.write_seq;
	}
	if (a & 2 && !(k->c.sk_flags & 2)) {
		k->c.sk_flags |= 2; /* SOCK_DONE */
		k->c.bytes_received++;
	}
}

/* The close program: the entry leaves the map, then the sample goes into the ring. */
static void close_conn(struct model *s, struct conn *k)
{
	k->closed = true;
	k->c.prev_state = k->c.state;
	k->c.state = NT_TCP_CLOSE;
	k->in_map = false;
	if (s->nring < RING)
		s->ring[s->nring++] = k - s->conns;
}

/* The oldest close sample, read (the pipeline's path: metrics__close, then the record). */
static void deliver(struct model *s, bool lost)
{
	struct conn *k;
	struct record rec = { .type = RECORD_CLOSE, .has_metrics = true };

	if (!s->nring)
		return;
	k = &s->conns[s->ring[0]];
	memmove(s->ring, s->ring + 1, --s->nring * sizeof(s->ring[0]));
	if (lost)
		return;
	rec.sk = k->sk;
	rec.birth_ns = k->birth_ns;
	metrics_from_counters(&rec.metrics, &k->c, k->direction);
	metrics__close(s->m, &rec);
	reported(s, k, &rec);
	k->close_seen = true;
}

/* A dump: the ring drained, closes racing it (before the map is read, or after their entry was
 * read), the map read. */
static void dump(struct model *s, uint8_t racing)
{
	struct record rec;
	int i;

	while (s->nring)
		deliver(s, false);
	for (i = 0; i < SLOTS; i++)
		if ((racing >> i & 1) && !(racing >> (i + 4) & 1) && open_at(s, i))
			close_conn(s, open_at(s, i));
	metrics__begin(s->m);
	for (i = 0; i < s->nconns; i++) {
		struct conn *k = &s->conns[i];
		struct nt_conn e = { .birth_ns = k->birth_ns, .direction = k->direction };

		if (!k->in_map)
			continue;
		e.flags = k->established ? NT_CONN_ESTABLISHED : 0;
		e.counters = k->c;
		CHECK(metrics__conn(s->m, k->sk, &e, s->clock, &rec) == k->established);
		if (k->established)
			reported(s, k, &rec);
		if ((racing >> k->slot & 0x11) == 0x11)
			close_conn(s, k);
	}
	CHECK(metrics__end(s->m) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model s;
	size_t i;
	int j;

	if (size < 1)
		return 0;
	memset(&s, 0, sizeof(s));
	s.incremental = data[0] & 1;
	s.m = metrics__new(s.incremental);
	CHECK(s.m);
	for (j = 0; j < SLOTS; j++)
		s.slot[j] = -1;
	for (i = 1; i + 2 < size; i += 3) {
		uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
		int slot = (op >> 3) % SLOTS;
		struct conn *k = open_at(&s, slot);

		switch (op & 7) {
		case 0:
		case 1:
			if (k)
				grow(k, a, b);
			break;
		case 2:
			open_conn(&s, slot, a);
			break;
		case 3:
			if (k)
				close_conn(&s, k);
			break;
		case 4:
			while (a-- & 3)
				deliver(&s, false);
			break;
		case 5:
			deliver(&s, true); /* the perf buffer was full */
			break;
		case 6:
			dump(&s, a);
			break;
		case 7:
			if (k)
				fin(k, a);
			break;
		}
	}
	/* At the end every close that was not lost has come: each adds up to its final totals. */
	dump(&s, 0);
	for (j = 0; j < s.nconns; j++) {
		struct record_metrics t = totals(&s.conns[j]);

		if (s.incremental && s.conns[j].close_seen)
			check_sum(&s.conns[j], &t);
	}
	metrics__free(s.m);
	return 0;
}
