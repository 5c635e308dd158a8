/* Unit tests for metrics: counter deltas and the -i flow of dumps and closes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "metrics.h"

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT	2

#define SK_A 0xffff888000001000ULL
#define SK_B 0xffff888000002000ULL
#define SK_C 0xffff888000003000ULL

/* What a test expects of a record's metrics; RTT in microseconds after the kernel's shift. */
struct want {
	uint64_t sent, received, psent, preceived, retrans;
	uint32_t rtt;
};

static struct nt_conn conn(uint8_t direction, uint64_t acked, uint64_t received, uint32_t segs_out,
			   uint32_t segs_in, uint32_t retrans, uint32_t rtt_us)
{
	struct nt_conn c = {
		.tuple = { .saddr = { 10, 0, 0, 1 }, .daddr = { 10, 0, 0, 2 }, .sport = 5000,
			   .dport = 80, .family = AF_INET },
		.owner = { .pid = 77, .uid = 1000, .comm = "client" },
		.netns = 4026531840U,
		.direction = direction,
		.flags = NT_CONN_ESTABLISHED,
		.birth_ns = 1,
		.counters = {
			.bytes_acked = acked,
			.bytes_received = received,
			.segs_out = segs_out,
			.segs_in = segs_in,
			.total_retrans = retrans,
			.srtt_us = rtt_us << 3,
			.mdev_us = rtt_us << 1, /* rttvar = rtt / 2 */
			.state = TCP_ESTABLISHED,
			.prev_state = TCP_ESTABLISHED,
			.valid = 1,
		},
	};

	return c;
}

static void assert_metrics(const struct record_metrics *m, struct want w)
{
	assert_int_equal(m->bytes_sent, w.sent);
	assert_int_equal(m->bytes_received, w.received);
	assert_int_equal(m->packets_sent, w.psent);
	assert_int_equal(m->packets_received, w.preceived);
	assert_int_equal(m->retransmits, w.retrans);
	assert_int_equal(m->rtt_us, w.rtt);
	assert_int_equal(m->rttvar_us, w.rtt / 2);
}

/* The same socket address, another connection. */
static struct nt_conn reborn(struct nt_conn c, uint64_t birth_ns)
{
	c.birth_ns = birth_ns;
	return c;
}

/* One dump entry that must produce a record with these metrics. */
static void report(struct metrics *m, uint64_t sk, struct nt_conn c, struct want w)
{
	struct record rec;

	memset(&rec, 0xa5, sizeof(rec));
	assert_true(metrics__conn(m, sk, &c, 1000, &rec));
	assert_int_equal(rec.type, RECORD_METRICS);
	assert_int_equal(rec.sk, sk);
	assert_true(rec.has_metrics);
	assert_metrics(&rec.metrics, w);
}

/* A dump that has this one entry, which must produce a record with these metrics. */
static void dump_one(struct metrics *m, uint64_t sk, struct nt_conn c, struct want w)
{
	metrics__begin(m);
	report(m, sk, c, w);
	assert_int_equal(metrics__end(m), 0);
}

/* A close record with these final totals, as event_decode makes it. */
static struct record close_rec(uint64_t sk, struct want totals)
{
	struct record rec = {
		.type = RECORD_CLOSE,
		.sk = sk,
		.birth_ns = 1,
		.has_metrics = true,
		.metrics = {
			.bytes_sent = totals.sent,
			.bytes_received = totals.received,
			.packets_sent = totals.psent,
			.packets_received = totals.preceived,
			.retransmits = totals.retrans,
			.rtt_us = totals.rtt,
			.rttvar_us = totals.rtt / 2,
		},
	};

	return rec;
}

static void test_counter_delta(void **state)
{
	assert_int_equal(metrics_counter_delta(10, 3, 32), 7);
	assert_int_equal(metrics_counter_delta(5, 5, 32), 0);
	assert_int_equal(metrics_counter_delta(5, 5, 64), 0);
	assert_true(metrics_counter_delta(UINT64_MAX, 0, 64) == UINT64_MAX);
	assert_int_equal(metrics_counter_delta(0xffffffff, 0, 32), 0xffffffff);
}

static void test_counter_delta_wrap(void **state)
{
	/* A u32 kernel counter went past 2^32 - 1 and started again from 0. */
	assert_int_equal(metrics_counter_delta(5, 0xfffffffe, 32), 7);
	assert_int_equal(metrics_counter_delta(0, 1, 32), 0xffffffff);
	assert_int_equal(metrics_counter_delta(0, 0xffffffff, 32), 1);
	assert_int_equal(metrics_counter_delta(1, 0xffff, 16), 2);
}

static void test_counter_delta_reset(void **state)
{
	/* A u64 counter does not wrap in practice: smaller means a new connection. */
	assert_int_equal(metrics_counter_delta(3, 10, 64), 3);
	assert_int_equal(metrics_counter_delta(0, UINT64_MAX, 64), 0);
	/* A previous value that a 32-bit counter cannot hold cannot have wrapped. */
	assert_int_equal(metrics_counter_delta(3, (1ULL << 32) + 5, 32), 3);
}

/* A dump that reads a FIN's acknowledgement half-way (snd_una moved, bytes_acked not yet) sees
 * bytes_sent one below the dump before: that is no counter that started again. */
static void test_fin_read_half_way(void **state)
{
	struct metrics *m = metrics__new(true);
	struct nt_conn c = conn(NT_DIR_OUTBOUND, 101, 50, 10, 8, 0, 10);
	struct record rec;

	(void)state;
	assert_non_null(m);
	dump_one(m, SK_A, c, (struct want){ 100, 50, 10, 8, 0, 10 });

	/* FIN sent and acknowledged as snd_una says, bytes_acked still without it: 101 - 2. */
	c.counters.state = c.counters.prev_state = NT_TCP_FIN_WAIT2;
	c.counters.snd_una = c.counters.write_seq = 7;
	c.counters.segs_out = 11;
	dump_one(m, SK_A, c, (struct want){ 0, 0, 1, 0, 0, 10 });

	/* The same for a FIN received: SOCK_DONE set, bytes_received still without it. */
	c.counters.bytes_acked = 102;
	c.counters.sk_flags = 1 << 1; /* SOCK_DONE */
	dump_one(m, SK_A, c, (struct want){ 0, 0, 0, 0, 0, 10 });

	/* The close has it all: nothing new, and the deltas added up to 100 and 50. */
	rec = close_rec(SK_A, (struct want){ 100, 50, 11, 9, 0, 10 });
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 0, 0, 0, 1, 0, 10 });

	/* More than the FIN's byte back is a counter that started again. */
	dump_one(m, SK_B, conn(NT_DIR_OUTBOUND, 101, 0, 1, 1, 0, 10),
		 (struct want){ 100, 0, 1, 1, 0, 10 });
	dump_one(m, SK_B, conn(NT_DIR_OUTBOUND, 99, 0, 1, 1, 0, 10),
		 (struct want){ 98, 0, 0, 0, 0, 10 });
	metrics__free(m);
}

static void test_delta_fields(void **state)
{
	struct record_metrics now = {
		.bytes_sent = 1000,
		.bytes_received = 2000,
		.packets_sent = 3, /* wrapped since prev */
		.packets_received = 40,
		.retransmits = 5,
		.rtt_us = 111,
		.rttvar_us = 22,
	};
	struct record_metrics prev = {
		.bytes_sent = 400,
		.bytes_received = 2500, /* reset: smaller than before */
		.packets_sent = 0xfffffffd,
		.packets_received = 40,
		.retransmits = 2,
		.rtt_us = 999,
		.rttvar_us = 888,
	};
	struct record_metrics out;

	memset(&out, 0xa5, sizeof(out));
	metrics_delta(&out, &now, &prev);
	assert_int_equal(out.bytes_sent, 600);
	assert_int_equal(out.bytes_received, 2000);
	assert_int_equal(out.packets_sent, 6);
	assert_int_equal(out.packets_received, 0);
	assert_int_equal(out.retransmits, 3);
	/* RTT is a current value, not a counter. */
	assert_int_equal(out.rtt_us, 111);
	assert_int_equal(out.rttvar_us, 22);

	/* In place, as metrics__close does it. */
	metrics_delta(&now, &now, &prev);
	assert_memory_equal(&now, &out, sizeof(out));
}

static void test_totals_mode(void **state)
{
	struct metrics *m = metrics__new(false);
	struct record rec;

	assert_non_null(m);
	dump_one(m, SK_A, conn(NT_DIR_OUTBOUND, 101, 50, 10, 8, 1, 40),
		 (struct want){ 100, 50, 10, 8, 1, 40 });
	dump_one(m, SK_A, conn(NT_DIR_OUTBOUND, 201, 60, 12, 9, 1, 30),
		 (struct want){ 200, 60, 12, 9, 1, 30 });

	/* Without -i a close keeps its totals. */
	rec = close_rec(SK_A, (struct want){ 300, 70, 13, 10, 2, 20 });
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 300, 70, 13, 10, 2, 20 });
	metrics__free(m);
}

static void test_record_fields(void **state)
{
	struct metrics *m = metrics__new(true);
	struct nt_conn c = conn(NT_DIR_INBOUND, 10, 20, 1, 2, 0, 8);
	struct record rec;

	assert_non_null(m);
	metrics__begin(m);
	assert_true(metrics__conn(m, SK_C, &c, 1700000000000000000ULL, &rec));
	assert_int_equal(rec.type, RECORD_METRICS);
	assert_int_equal(rec.time_ns, 1700000000000000000ULL);
	assert_int_equal(rec.sk, SK_C);
	assert_int_equal(rec.pid, 77);
	assert_int_equal(rec.uid, 1000);
	assert_string_equal(rec.comm, "client");
	assert_int_equal(rec.netns, 4026531840U);
	assert_int_equal(rec.family, AF_INET);
	assert_int_equal(rec.saddr[3], 1);
	assert_int_equal(rec.daddr[3], 2);
	assert_int_equal(rec.sport, 5000);
	assert_int_equal(rec.dport, 80);
	assert_int_equal(rec.direction, DIRECTION_INBOUND);
	assert_int_equal(metrics__end(m), 0);
	metrics__free(m);
}

static void test_nothing_to_report(void **state)
{
	struct metrics *m = metrics__new(true);
	struct nt_conn c = conn(NT_DIR_OUTBOUND, 101, 0, 1, 1, 0, 10);
	struct record rec;

	assert_non_null(m);
	metrics__begin(m);
	c.flags = 0; /* still connecting */
	c.counters.state = c.counters.prev_state = TCP_SYN_SENT;
	assert_false(metrics__conn(m, SK_A, &c, 1, &rec));
	c.flags = 0;
	assert_false(metrics__conn(m, SK_A, &c, 1, &rec));
	c = conn(NT_DIR_OUTBOUND, 101, 0, 1, 1, 0, 10);
	c.counters.valid = 0;
	assert_false(metrics__conn(m, SK_A, &c, 1, &rec));
	assert_int_equal(metrics__end(m), 0);

	/* The next dump reports everything: nothing was remembered for it. */
	metrics__begin(m);
	report(m, SK_A, conn(NT_DIR_OUTBOUND, 101, 0, 1, 1, 0, 10),
	       (struct want){ 100, 0, 1, 1, 0, 10 });
	assert_int_equal(metrics__end(m), 0);
	metrics__free(m);
}

static void test_incremental_flow(void **state)
{
	struct metrics *m = metrics__new(true);
	struct record rec;

	assert_non_null(m);

	/* Dump 1: first sight, the deltas are the totals. */
	metrics__begin(m);
	report(m, SK_A, conn(NT_DIR_OUTBOUND, 101, 1000, 10, 20, 1, 10),
	       (struct want){ 100, 1000, 10, 20, 1, 10 });
	report(m, SK_B, conn(NT_DIR_INBOUND, 500, 7, 5, 6, 0, 40),
	       (struct want){ 500, 7, 5, 6, 0, 40 });
	report(m, SK_C, conn(NT_DIR_INBOUND, 0, 0, 0xfffffff0, 0, 0, 2),
	       (struct want){ 0, 0, 0xfffffff0, 0, 0, 2 });
	assert_int_equal(metrics__end(m), 0);

	/* Dump 2, in another order: deltas since dump 1; C's segs_out wrapped. */
	metrics__begin(m);
	report(m, SK_C, conn(NT_DIR_INBOUND, 0, 0, 0x10, 0, 0, 4),
	       (struct want){ 0, 0, 0x20, 0, 0, 4 });
	report(m, SK_B, conn(NT_DIR_INBOUND, 600, 7, 6, 7, 0, 30),
	       (struct want){ 100, 0, 1, 1, 0, 30 });
	report(m, SK_A, conn(NT_DIR_OUTBOUND, 351, 1500, 30, 25, 1, 20),
	       (struct want){ 250, 500, 20, 5, 0, 20 });
	assert_int_equal(metrics__end(m), 0);

	/* A closes: its record carries what happened since dump 2. */
	rec = close_rec(SK_A, (struct want){ 400, 1600, 40, 30, 2, 30 });
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 50, 100, 10, 5, 1, 30 });
	/* 100 + 250 + 50: the deltas add up to the final totals. */

	/*
	 * Dump 3: a new connection got A's socket address (a later birth); it starts from zero,
	 * not from the closed one (its 3 segments are not a wrap from 30, the way a key of the
	 * address alone took them). B is missing from this dump.
	 */
	metrics__begin(m);
	report(m, SK_A, reborn(conn(NT_DIR_OUTBOUND, 4, 2, 3, 2, 0, 5), 2),
	       (struct want){ 3, 2, 3, 2, 0, 5 });
	report(m, SK_C, conn(NT_DIR_INBOUND, 0, 0, 0x11, 0, 0, 4),
	       (struct want){ 0, 0, 1, 0, 0, 4 });
	assert_int_equal(metrics__end(m), 0);

	/* Dump 4: B, missing from one dump only, goes on from dump 2. */
	metrics__begin(m);
	report(m, SK_B, conn(NT_DIR_INBOUND, 700, 9, 8, 9, 0, 30),
	       (struct want){ 100, 2, 2, 2, 0, 30 });
	report(m, SK_A, reborn(conn(NT_DIR_OUTBOUND, 14, 2, 5, 3, 0, 5), 2),
	       (struct want){ 10, 0, 2, 1, 0, 5 });
	assert_int_equal(metrics__end(m), 0);

	/* Dumps 5 and 6 without B: then it is forgotten, and reports its totals again. */
	metrics__begin(m);
	assert_int_equal(metrics__end(m), 0);
	metrics__begin(m);
	assert_int_equal(metrics__end(m), 0);
	metrics__begin(m);
	report(m, SK_B, conn(NT_DIR_INBOUND, 800, 9, 8, 9, 0, 30),
	       (struct want){ 800, 9, 8, 9, 0, 30 });
	assert_int_equal(metrics__end(m), 0);

	metrics__free(m);
}

/* The races of a close with a dump: each connection's deltas add up to its totals. */
static void test_close_races_dump(void **state)
{
	struct metrics *m = metrics__new(true);
	struct record rec;
	struct nt_conn c;

	assert_non_null(m);
	metrics__begin(m);
	report(m, SK_A, conn(NT_DIR_OUTBOUND, 101, 10, 5, 5, 0, 1),
	       (struct want){ 100, 10, 5, 5, 0, 1 });
	report(m, SK_B, conn(NT_DIR_OUTBOUND, 51, 10, 5, 5, 0, 1),
	       (struct want){ 50, 10, 5, 5, 0, 1 });
	assert_int_equal(metrics__end(m), 0);

	/* A closes after the ring was drained, before the map was read: the dump lacks it, and
	 * its close comes after that dump, still a delta. */
	metrics__begin(m);
	report(m, SK_B, conn(NT_DIR_OUTBOUND, 61, 10, 6, 5, 0, 1),
	       (struct want){ 10, 0, 1, 0, 0, 1 });
	assert_int_equal(metrics__end(m), 0);
	rec = close_rec(SK_A, (struct want){ 130, 10, 7, 6, 0, 1 });
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 30, 0, 2, 1, 0, 1 });

	/* B's close is read before a dump that still finds its entry: the dump says nothing. */
	rec = close_rec(SK_B, (struct want){ 70, 10, 7, 6, 0, 1 });
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 10, 0, 1, 1, 0, 1 });
	metrics__begin(m);
	c = conn(NT_DIR_OUTBOUND, 71, 10, 7, 6, 0, 1);
	assert_false(metrics__conn(m, SK_B, &c, 1, &rec));
	assert_int_equal(metrics__end(m), 0);
	/* The same close twice (it cannot be, but) adds nothing. */
	rec = close_rec(SK_B, (struct want){ 70, 10, 7, 6, 0, 1 });
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 0, 0, 0, 0, 0, 1 });
	metrics__free(m);
}

static void test_close_cases(void **state)
{
	struct metrics *m = metrics__new(true);
	struct record rec;

	assert_non_null(m);
	metrics__begin(m);
	report(m, SK_A, conn(NT_DIR_OUTBOUND, 11, 20, 3, 4, 0, 1),
	       (struct want){ 10, 20, 3, 4, 0, 1 });
	assert_int_equal(metrics__end(m), 0);

	/* Never seen in a dump: the close carries its totals. */
	rec = close_rec(SK_B, (struct want){ 9, 8, 7, 6, 5, 4 });
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 9, 8, 7, 6, 5, 4 });

	/* A close without counters is left alone. */
	rec = close_rec(SK_A, (struct want){ 1, 1, 1, 1, 1, 1 });
	rec.has_metrics = false;
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 1, 1, 1, 1, 1, 1 });

	rec = close_rec(SK_A, (struct want){ 15, 20, 5, 4, 0, 2 });
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 5, 0, 2, 0, 0, 2 });
	/* The address reused and closed again before the next dump: all of it is new. */
	rec = close_rec(SK_A, (struct want){ 2, 3, 2, 2, 0, 6 });
	rec.birth_ns = 2;
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 2, 3, 2, 2, 0, 6 });

	/* An empty dump forgets the closed, two forget everything. */
	metrics__begin(m);
	assert_int_equal(metrics__end(m), 0);
	metrics__begin(m);
	assert_int_equal(metrics__end(m), 0);
	rec = close_rec(SK_A, (struct want){ 40, 30, 20, 10, 0, 6 });
	metrics__close(m, &rec);
	assert_metrics(&rec.metrics, (struct want){ 40, 30, 20, 10, 0, 6 });
	metrics__free(m);
}

/*
 * Dumps of changing sizes, past the initial capacity: entry i grows by i + round + 1 each time.
 * One that one of the two previous dumps held reports its growth since; one they did not (never
 * seen, or seen longer ago) reports its whole total.
 */
static void test_many_connections(void **state)
{
	static const unsigned int sizes[] = { 3000, 100, 5000, 5000, 1, 2500, 1, 1, 4000 };
	struct metrics *m = metrics__new(true);
	uint64_t *sent = calloc(5000, sizeof(*sent)), *reported = calloc(5000, sizeof(*reported));
	unsigned int *last = calloc(5000, sizeof(*last));
	unsigned int round, i, n;
	struct record rec;

	assert_non_null(m);
	assert_non_null(sent);
	assert_non_null(reported);
	assert_non_null(last);
	for (round = 1; round <= sizeof(sizes) / sizeof(sizes[0]); round++) {
		n = sizes[round - 1];
		metrics__begin(m);
		/* Backwards, so that the dump order is not the sorted order. */
		for (i = n; i-- > 0;) {
			uint64_t add = i + round, want;
			struct nt_conn c;

			sent[i] += add;
			want = last[i] && round - last[i] <= 2 ? sent[i] - reported[i] : sent[i];
			c = conn(NT_DIR_INBOUND, sent[i], 0, 0, 0, 0, 0);
			assert_true(metrics__conn(m, SK_A + 64 * (uint64_t)i, &c, 1, &rec));
			if (rec.metrics.bytes_sent != want)
				fail_msg("round %u conn %u: %ju, not %ju", round, i,
					 (uintmax_t)rec.metrics.bytes_sent, (uintmax_t)want);
			reported[i] = sent[i];
			last[i] = round;
		}
		assert_int_equal(metrics__end(m), 0);
	}
	free(sent);
	free(reported);
	free(last);
	metrics__free(m);
}

static void test_free_null(void **state)
{
	metrics__free(NULL);
}

/* Map-full accounting: each report names only what is new; nothing new, nothing said. */
static void test_untracked_accounting(void **state)
{
	uint64_t reported = 0;

	assert_int_equal(metrics_untracked_new(0, &reported), 0);
	assert_int_equal(metrics_untracked_new(7, &reported), 7);
	assert_int_equal(metrics_untracked_new(7, &reported), 0);
	assert_int_equal(metrics_untracked_new(12, &reported), 5);
	assert_int_equal(reported, 12);
	/* A smaller sum is no news; counting goes on from it. */
	assert_int_equal(metrics_untracked_new(3, &reported), 0);
	assert_int_equal(metrics_untracked_new(4, &reported), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_untracked_accounting),
		cmocka_unit_test(test_counter_delta),
		cmocka_unit_test(test_counter_delta_wrap),
		cmocka_unit_test(test_counter_delta_reset),
		cmocka_unit_test(test_fin_read_half_way),
		cmocka_unit_test(test_delta_fields),
		cmocka_unit_test(test_totals_mode),
		cmocka_unit_test(test_record_fields),
		cmocka_unit_test(test_nothing_to_report),
		cmocka_unit_test(test_incremental_flow),
		cmocka_unit_test(test_close_cases),
		cmocka_unit_test(test_close_races_dump),
		cmocka_unit_test(test_many_connections),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
