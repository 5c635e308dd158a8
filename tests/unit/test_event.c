/* Unit tests for event_decode, event_fill_conn and metrics_from_counters: raw BPF data → records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "event.h"
#include "metrics.h"

/* include/net/tcp_states.h */
enum {
	ESTABLISHED = 1,
	SYN_SENT = 2,
	FIN_WAIT1 = 4,
	FIN_WAIT2 = 5,
	TIME_WAIT = 6,
	CLOSE = 7,
	CLOSE_WAIT = 8,
	LAST_ACK = 9,
	CLOSING = 11,
};

#define SOCK_DONE_BIT (1 << 1)
#define OFFSET	      1700000000000000000LL

static void pton(int family, const char *text, uint8_t *dst)
{
	assert_int_equal(inet_pton(family, text, dst), 1);
}

static struct nt_event v4_event(uint32_t type)
{
	struct nt_event ev = {
		.ts_ns = 123456789,
		.sk = 0xffff888012345678ULL,
		.type = type,
		.netns = 4026531840U,
		.tuple = { .sport = 43210, .dport = 443, .family = AF_INET },
		.owner = { .pid = 4242, .uid = 1000, .comm = "curl" },
		.direction = NT_DIR_OUTBOUND,
	};

	pton(AF_INET, "10.1.2.3", ev.tuple.saddr);
	pton(AF_INET, "93.184.216.34", ev.tuple.daddr);
	return ev;
}

static struct nt_event v6_event(uint32_t type)
{
	struct nt_event ev = v4_event(type);

	ev.tuple.family = AF_INET6;
	pton(AF_INET6, "2001:db8::1", ev.tuple.saddr);
	pton(AF_INET6, "2001:db8:0:1::ff", ev.tuple.daddr);
	return ev;
}

static struct nt_event mapped_event(uint32_t type)
{
	struct nt_event ev = v4_event(type);

	ev.tuple.family = AF_INET6;
	pton(AF_INET6, "::ffff:10.1.2.3", ev.tuple.saddr);
	pton(AF_INET6, "::ffff:93.184.216.34", ev.tuple.daddr);
	return ev;
}

static void assert_addr(int family, const uint8_t *got, const char *text)
{
	uint8_t want[16] = {};

	pton(family, text, want);
	assert_memory_equal(got, want, 16);
}

static void assert_v4_conn(const struct record *rec)
{
	assert_int_equal(rec->family, AF_INET);
	assert_addr(AF_INET, rec->saddr, "10.1.2.3");
	assert_addr(AF_INET, rec->daddr, "93.184.216.34");
	assert_int_equal(rec->sport, 43210);
	assert_int_equal(rec->dport, 443);
	assert_int_equal(rec->pid, 4242);
	assert_int_equal(rec->uid, 1000);
	assert_string_equal(rec->comm, "curl");
	assert_int_equal(rec->netns, 4026531840U);
	assert_int_equal(rec->sk, 0xffff888012345678ULL);
}

static void test_connect_v4(void **state)
{
	struct nt_event ev = v4_event(NT_EVENT_CONNECT);
	struct record rec;

	memset(&rec, 0xa5, sizeof(rec));
	assert_int_equal(event_decode(&ev, sizeof(ev), OFFSET, &rec), 0);
	assert_int_equal(rec.type, RECORD_CONNECT);
	assert_int_equal(rec.time_ns, 1700000000123456789ULL);
	assert_v4_conn(&rec);
	assert_int_equal(rec.direction, DIRECTION_OUTBOUND);
	assert_false(rec.has_metrics);
	assert_int_equal(rec.metrics.bytes_sent, 0);
	assert_int_equal(rec.lost_count, 0);
}

static void test_accept_v6(void **state)
{
	struct nt_event ev = v6_event(NT_EVENT_ACCEPT);
	struct record rec;

	ev.direction = NT_DIR_INBOUND;
	assert_int_equal(event_decode(&ev, sizeof(ev), OFFSET, &rec), 0);
	assert_int_equal(rec.type, RECORD_ACCEPT);
	assert_int_equal(rec.family, AF_INET6);
	assert_addr(AF_INET6, rec.saddr, "2001:db8::1");
	assert_addr(AF_INET6, rec.daddr, "2001:db8:0:1::ff");
	assert_int_equal(rec.sport, 43210);
	assert_int_equal(rec.dport, 443);
	assert_int_equal(rec.direction, DIRECTION_INBOUND);
	assert_false(rec.has_metrics);
}

static void test_close_v4_mapped(void **state)
{
	struct nt_event ev = mapped_event(NT_EVENT_CLOSE);
	struct record rec;

	ev.counters = (struct nt_counters){
		.bytes_acked = 1001, /* 1000 bytes + SYN */
		.bytes_received = 5000,
		.segs_out = 12,
		.segs_in = 9,
		.total_retrans = 2,
		.srtt_us = 800,
		.mdev_us = 400,
		.state = CLOSE,
		.prev_state = ESTABLISHED,
		.valid = 1,
	};
	assert_int_equal(event_decode(&ev, sizeof(ev), OFFSET, &rec), 0);
	assert_int_equal(rec.type, RECORD_CLOSE);
	/* Both ends v4-mapped: an IPv4 connection on an IPv6 socket. */
	assert_v4_conn(&rec);
	assert_true(rec.has_metrics);
	assert_int_equal(rec.metrics.bytes_sent, 1000);
	assert_int_equal(rec.metrics.bytes_received, 5000);
	assert_int_equal(rec.metrics.packets_sent, 12);
	assert_int_equal(rec.metrics.packets_received, 9);
	assert_int_equal(rec.metrics.retransmits, 2);
	assert_int_equal(rec.metrics.rtt_us, 100);
	assert_int_equal(rec.metrics.rttvar_us, 100);
}

static void test_half_mapped_stays_v6(void **state)
{
	struct nt_event ev = mapped_event(NT_EVENT_CONNECT);
	struct record rec;

	/* Only one end v4-mapped is not an IPv4 connection. */
	pton(AF_INET6, "2001:db8::2", ev.tuple.daddr);
	assert_int_equal(event_decode(&ev, sizeof(ev), 0, &rec), 0);
	assert_int_equal(rec.family, AF_INET6);
	assert_addr(AF_INET6, rec.saddr, "::ffff:10.1.2.3");
	assert_addr(AF_INET6, rec.daddr, "2001:db8::2");
}

static void test_close_v6(void **state)
{
	struct nt_event ev = v6_event(NT_EVENT_CLOSE);
	struct record rec;

	ev.direction = NT_DIR_INBOUND;
	ev.counters.bytes_acked = 7;
	ev.counters.bytes_received = 8;
	ev.counters.prev_state = CLOSE_WAIT;
	assert_int_equal(event_decode(&ev, sizeof(ev), OFFSET, &rec), 0);
	assert_int_equal(rec.type, RECORD_CLOSE);
	assert_int_equal(rec.family, AF_INET6);
	assert_int_equal(rec.direction, DIRECTION_INBOUND);
	assert_true(rec.has_metrics);
	assert_int_equal(rec.metrics.bytes_sent, 7);
	assert_int_equal(rec.metrics.bytes_received, 8);
}

static void test_short_samples(void **state)
{
	struct nt_event ev = v4_event(NT_EVENT_CONNECT);
	struct record rec;

	/* Connect and accept carry no counters: the short form is enough for them. */
	assert_int_equal(event_decode(&ev, NT_EVENT_SHORT_SIZE, OFFSET, &rec), 0);
	assert_int_equal(rec.type, RECORD_CONNECT);
	assert_v4_conn(&rec);
	ev.type = NT_EVENT_ACCEPT;
	assert_int_equal(event_decode(&ev, NT_EVENT_SHORT_SIZE, OFFSET, &rec), 0);
	assert_int_equal(rec.type, RECORD_ACCEPT);

	assert_int_equal(event_decode(&ev, NT_EVENT_SHORT_SIZE - 1, OFFSET, &rec), -EINVAL);
	assert_int_equal(event_decode(&ev, 0, OFFSET, &rec), -EINVAL);
	assert_int_equal(event_decode(&ev, 8, OFFSET, &rec), -EINVAL);

	/* A close without its counters is malformed. */
	ev.type = NT_EVENT_CLOSE;
	assert_int_equal(event_decode(&ev, sizeof(ev) - 1, OFFSET, &rec), -EINVAL);
	assert_int_equal(event_decode(&ev, NT_EVENT_SHORT_SIZE, OFFSET, &rec), -EINVAL);
	assert_int_equal(event_decode(&ev, sizeof(ev), OFFSET, &rec), 0);
}

static void test_padded_sample(void **state)
{
	/* perf pads raw samples to 8 bytes with their u32 size: the data can be longer. */
	unsigned char buf[sizeof(struct nt_event) + 4];
	struct nt_event ev = v4_event(NT_EVENT_CLOSE);
	struct record rec;

	ev.counters.bytes_acked = 11;
	memset(buf, 0xee, sizeof(buf));
	memcpy(buf, &ev, sizeof(ev));
	assert_int_equal(event_decode(buf, sizeof(buf), OFFSET, &rec), 0);
	assert_int_equal(rec.type, RECORD_CLOSE);
	assert_int_equal(rec.metrics.bytes_sent, 10);
}

static void test_bad_type(void **state)
{
	static const uint32_t bad[] = { 0, 5, 0x100, 0xffffffff };
	struct nt_event ev = v4_event(NT_EVENT_CONNECT);
	struct record rec;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ev.type = bad[i];
		assert_int_equal(event_decode(&ev, sizeof(ev), OFFSET, &rec), -EINVAL);
	}
}

static void test_bad_family(void **state)
{
	static const uint16_t bad[] = { 0, AF_UNIX, AF_INET + 256, AF_INET6 + 1, 0xffff };
	struct nt_event ev = v4_event(NT_EVENT_CONNECT);
	struct record rec;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ev.tuple.family = bad[i];
		assert_int_equal(event_decode(&ev, sizeof(ev), OFFSET, &rec), -EINVAL);
	}
}

static void test_time(void **state)
{
	struct nt_event ev = v4_event(NT_EVENT_CONNECT);
	struct record rec;

	ev.ts_ns = 5000000000ULL;
	assert_int_equal(event_decode(&ev, sizeof(ev), 1000000007, &rec), 0);
	assert_int_equal(rec.time_ns, 6000000007ULL);
	assert_int_equal(event_decode(&ev, sizeof(ev), -1000000000, &rec), 0);
	assert_int_equal(rec.time_ns, 4000000000ULL);
	assert_int_equal(event_decode(&ev, sizeof(ev), 0, &rec), 0);
	assert_int_equal(rec.time_ns, 5000000000ULL);
}

static void test_comm_full_length(void **state)
{
	struct nt_event ev = v4_event(NT_EVENT_CONNECT);
	struct record rec;

	/* The kernel's comm is unterminated when it fills all 16 bytes. */
	memcpy(ev.owner.comm, "0123456789abcdef", NT_COMM_LEN);
	assert_int_equal(event_decode(&ev, sizeof(ev), 0, &rec), 0);
	assert_string_equal(rec.comm, "0123456789abcdef");
}

static void test_bad_direction(void **state)
{
	struct nt_event ev = v4_event(NT_EVENT_CONNECT);
	struct record rec;

	ev.direction = 3;
	assert_int_equal(event_decode(&ev, sizeof(ev), 0, &rec), 0);
	assert_int_equal(rec.direction, DIRECTION_UNKNOWN);
	ev.direction = 0xff;
	assert_int_equal(event_decode(&ev, sizeof(ev), 0, &rec), 0);
	assert_int_equal(rec.direction, DIRECTION_UNKNOWN);
	ev.direction = NT_DIR_UNKNOWN;
	assert_int_equal(event_decode(&ev, sizeof(ev), 0, &rec), 0);
	assert_int_equal(rec.direction, DIRECTION_UNKNOWN);
}

static void test_fill_conn_clears_addresses(void **state)
{
	struct nt_event ev = v4_event(NT_EVENT_CONNECT);
	struct record rec;
	uint8_t zero[12] = {};

	/* Whatever lies past the IPv4 address in the tuple is not part of it. */
	memset(ev.tuple.saddr + 4, 0x77, 12);
	memset(&rec, 0xa5, sizeof(rec));
	event_fill_conn(&rec, &ev.tuple, &ev.owner, 99, NT_DIR_INBOUND);
	assert_int_equal(rec.family, AF_INET);
	assert_memory_equal(rec.saddr + 4, zero, 12);
	assert_memory_equal(rec.daddr + 4, zero, 12);
	assert_int_equal(rec.netns, 99);
	assert_int_equal(rec.direction, DIRECTION_INBOUND);
	assert_int_equal(rec.comm[RECORD_COMM_LEN], '\0');
}

static struct record_metrics metrics(const struct nt_counters *c, uint8_t direction)
{
	struct record_metrics m;

	memset(&m, 0xa5, sizeof(m));
	metrics_from_counters(&m, c, direction);
	return m;
}

static void test_metrics_syn(void **state)
{
	struct nt_counters c = {
		.bytes_acked = 101,
		.bytes_received = 201,
		.state = ESTABLISHED,
		.prev_state = ESTABLISHED,
		.valid = 1,
	};

	/* The SYN of an active open is counted by bytes_acked; a passive open's is not. */
	assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_sent, 100);
	assert_int_equal(metrics(&c, NT_DIR_INBOUND).bytes_sent, 101);
	assert_int_equal(metrics(&c, NT_DIR_UNKNOWN).bytes_sent, 101);
	/* Without SOCK_DONE nothing is taken from bytes_received. */
	assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_received, 201);
	assert_int_equal(metrics(&c, NT_DIR_INBOUND).bytes_received, 201);
}

static void test_metrics_fin_acked(void **state)
{
	static const uint8_t fin_sent[] = { FIN_WAIT1, FIN_WAIT2, CLOSING, LAST_ACK, TIME_WAIT };
	static const uint8_t no_fin[] = { ESTABLISHED, SYN_SENT, CLOSE, CLOSE_WAIT };
	struct nt_counters c = {
		.bytes_acked = 102,
		.snd_una = 5000,
		.write_seq = 5000,
		.state = CLOSE,
		.valid = 1,
	};
	size_t i;

	for (i = 0; i < sizeof(fin_sent) / sizeof(fin_sent[0]); i++) {
		c.prev_state = fin_sent[i];
		c.snd_una = c.write_seq;
		/* SYN and FIN both acknowledged. */
		assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_sent, 100);
		assert_int_equal(metrics(&c, NT_DIR_INBOUND).bytes_sent, 101);
		/* FIN sent but not yet acknowledged: still in flight. */
		c.snd_una = c.write_seq - 1;
		assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_sent, 101);
		assert_int_equal(metrics(&c, NT_DIR_INBOUND).bytes_sent, 102);
	}
	for (i = 0; i < sizeof(no_fin) / sizeof(no_fin[0]); i++) {
		c.prev_state = no_fin[i];
		c.snd_una = c.write_seq;
		assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_sent, 101);
		assert_int_equal(metrics(&c, NT_DIR_INBOUND).bytes_sent, 102);
	}
	/* The state before the close decides, not the current one. */
	c.prev_state = ESTABLISHED;
	c.state = FIN_WAIT1;
	assert_int_equal(metrics(&c, NT_DIR_INBOUND).bytes_sent, 102);
}

static void test_metrics_fin_received(void **state)
{
	struct nt_counters c = {
		.bytes_acked = 1,
		.bytes_received = 51,
		.prev_state = CLOSE_WAIT,
		.sk_flags = SOCK_DONE_BIT,
		.valid = 1,
	};

	assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_received, 50);
	assert_int_equal(metrics(&c, NT_DIR_INBOUND).bytes_received, 50);
	/* Other bits of sk_flags are not SOCK_DONE. */
	c.sk_flags = 0xff & ~SOCK_DONE_BIT;
	assert_int_equal(metrics(&c, NT_DIR_INBOUND).bytes_received, 51);
	c.sk_flags = 0xff;
	assert_int_equal(metrics(&c, NT_DIR_INBOUND).bytes_received, 50);
}

static void test_metrics_rtt_and_counts(void **state)
{
	struct nt_counters c = {
		.segs_out = 0xffffffff,
		.segs_in = 7,
		.total_retrans = 3,
		.srtt_us = 0xffffffff,
		.mdev_us = 0xffffffff,
		.valid = 1,
	};
	struct record_metrics m = metrics(&c, NT_DIR_OUTBOUND);

	assert_int_equal(m.packets_sent, 0xffffffffULL);
	assert_int_equal(m.packets_received, 7);
	assert_int_equal(m.retransmits, 3);
	assert_int_equal(m.rtt_us, 0x1fffffff);
	assert_int_equal(m.rttvar_us, 0x3fffffff);

	c.srtt_us = 15; /* 1.875 us: shifts truncate */
	c.mdev_us = 3;
	m = metrics(&c, NT_DIR_OUTBOUND);
	assert_int_equal(m.rtt_us, 1);
	assert_int_equal(m.rttvar_us, 0);
}

static void test_metrics_no_underflow(void **state)
{
	struct nt_counters c = {
		.prev_state = FIN_WAIT2,
		.sk_flags = SOCK_DONE_BIT,
		.valid = 1,
	};

	/* A connection that failed before anything was acknowledged. */
	assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_sent, 0);
	assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_received, 0);
	c.bytes_acked = 1; /* SYN only, FIN acked by the numbers: 2 to take from 1 */
	assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_sent, 0);
	c.bytes_acked = 2;
	assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_sent, 0);
	c.bytes_acked = 3;
	assert_int_equal(metrics(&c, NT_DIR_OUTBOUND).bytes_sent, 1);
	c.bytes_acked = UINT64_MAX;
	assert_true(metrics(&c, NT_DIR_OUTBOUND).bytes_sent == UINT64_MAX - 2);
}

static void test_names(void **state)
{
	assert_string_equal(record_type_name(RECORD_CONNECT), "connect");
	assert_string_equal(record_type_name(RECORD_ACCEPT), "accept");
	assert_string_equal(record_type_name(RECORD_CLOSE), "close");
	assert_string_equal(record_type_name(RECORD_METRICS), "metrics");
	assert_string_equal(record_type_name(RECORD_LOST), "lost");
	assert_string_equal(record_type_name(RECORD_CONNECT_FAILED), "connect_failed");
	assert_string_equal(record_type_name((enum record_type)99), "unknown");
	assert_string_equal(record_type_name((enum record_type)(RECORD_CONNECT_FAILED + 1)),
			    "unknown");
	assert_string_equal(record_direction_name(DIRECTION_OUTBOUND), "outbound");
	assert_string_equal(record_direction_name(DIRECTION_INBOUND), "inbound");
	assert_string_equal(record_direction_name(DIRECTION_UNKNOWN), "unknown");
	assert_string_equal(record_direction_name((enum record_direction)7), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_v4),
		cmocka_unit_test(test_accept_v6),
		cmocka_unit_test(test_close_v4_mapped),
		cmocka_unit_test(test_half_mapped_stays_v6),
		cmocka_unit_test(test_close_v6),
		cmocka_unit_test(test_short_samples),
		cmocka_unit_test(test_padded_sample),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_bad_family),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_comm_full_length),
		cmocka_unit_test(test_bad_direction),
		cmocka_unit_test(test_fill_conn_clears_addresses),
		cmocka_unit_test(test_metrics_syn),
		cmocka_unit_test(test_metrics_fin_acked),
		cmocka_unit_test(test_metrics_fin_received),
		cmocka_unit_test(test_metrics_rtt_and_counts),
		cmocka_unit_test(test_metrics_no_underflow),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
