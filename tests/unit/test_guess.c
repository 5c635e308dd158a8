/* Offset guessing state machine against simulated memory layouts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include "guess.h"

/* A simulated kernel: two sockets, each with a struct net and a struct socket elsewhere. */
#define NET_A 0xffff888000100000ULL
#define NET_B 0xffff888000200000ULL
#define SOCKET_A 0xffff888000300000ULL
#define SOCKET_B 0xffff888000400000ULL
#define SK_A 0xffff888000500000ULL
#define SK_B 0xffff888000600000ULL

static uint8_t mem_a[NT_PEEK_SIZE], mem_a_fin[NT_PEEK_SIZE], mem_b[NT_PEEK_SIZE];
static uint8_t mem_c[NT_PEEK_SIZE], mem_z[NT_PEEK_SIZE];
/* A after port unreachable, after SO_ERROR, after host unreachable */
static uint8_t mem_e[3][NT_PEEK_SIZE];
static uint8_t net_a[NT_PEEK_SIZE], net_b[NT_PEEK_SIZE], sock_a[NT_PEEK_SIZE], sock_b[NT_PEEK_SIZE];
#define NSNAPS 8
static struct guess_snap snaps[NSNAPS];
static unsigned int derefs;

static int sim_deref(void *ctx, uint64_t addr, uint8_t *buf)
{
	const uint8_t *src = addr == NET_A ? net_a : addr == NET_B ? net_b :
			     addr == SOCKET_A ? sock_a : addr == SOCKET_B ? sock_b : NULL;

	derefs++;
	if (!src)
		return -14; /* -EFAULT: as bpf_probe_read_kernel() on a bad address */
	memcpy(buf, src, NT_PEEK_SIZE);
	return 0;
}

static void put(uint8_t *m, uint32_t off, uint64_t v, unsigned int size)
{
	memcpy(m + off, &v, size);
}

/* The layout under test: where each field really is. */
static const struct nt_offsets real = {
	.skc_daddr = 0, .skc_rcv_saddr = 4, .skc_dport = 12, .skc_family = 16, .skc_state = 18,
	.skc_flags = 32, .skc_net = 48, .net_inum = 136, .skc_v6_daddr = 56,
	.skc_v6_rcv_saddr = 72, .sk_protocol = 522, .sk_socket = 560, .inet_sport = 800,
	.sk_err = 556, .tp_bytes_received = 1760, .tp_bytes_acked = 1840, .tp_segs_in = 1768,
	.tp_segs_out = 1536, .tp_total_retrans = 2200, .tp_srtt_us = 1680, .tp_mdev_us = 1588,
	.tp_snd_una = 1672, .tp_write_seq = 1576,
};

struct values {
	uint32_t daddr, saddr, inum, segs_in, segs_out, rtt, rttvar, seq, retrans;
	uint16_t dport, sport, family;
	uint8_t state, v6d[16], v6s[16];
	uint64_t received, acked, flags;
	uint32_t una; /* snd_una when it differs from write_seq (seq) */
};

static void fill(uint8_t *m, uint64_t net, uint64_t socket, const struct values *v)
{
	put(m, real.skc_daddr, v->daddr, 4);
	put(m, real.skc_rcv_saddr, v->saddr, 4);
	put(m, real.skc_dport, v->dport, 2);
	put(m, real.skc_family, v->family, 2);
	put(m, real.skc_state, v->state, 1);
	put(m, real.skc_flags, v->flags, 8);
	put(m, real.skc_net, net, 8);
	memcpy(m + real.skc_v6_daddr, v->v6d, 16);
	memcpy(m + real.skc_v6_rcv_saddr, v->v6s, 16);
	put(m, real.sk_protocol + 2, 1, 2); /* sk_type SOCK_STREAM, after it as in 6.18 */
	put(m, real.sk_protocol, 6, 2);
	put(m, real.sk_socket, socket, 8);
	put(m, real.sk_err, 0, 4);
	put(m, real.inet_sport, v->sport, 2);
	put(m, real.tp_bytes_received, v->received, 8);
	put(m, real.tp_bytes_acked, v->acked, 8);
	put(m, real.tp_segs_in, v->segs_in, 4);
	put(m, real.tp_segs_out, v->segs_out, 4);
	put(m, real.tp_total_retrans, v->retrans, 4);
	put(m, real.tp_srtt_us, v->rtt << 3 | 5, 4);	 /* low bits: fraction the kernel keeps */
	put(m, real.tp_mdev_us, v->rttvar << 2 | 3, 4);
	put(m, real.tp_snd_una, v->una ? v->una : v->seq, 4);
	put(m, real.tp_write_seq, v->seq, 4);
}

static void want(struct guess_snap *s, unsigned int f, uint64_t v, unsigned int size)
{
	memset(s->want[f], 0, sizeof(s->want[f]));
	memcpy(s->want[f], &v, size);
	s->known |= 1ULL << f;
}

static void want_all(struct guess_snap *s, const struct values *v)
{
	want(s, GUESS_skc_daddr, v->daddr, 4);
	want(s, GUESS_skc_rcv_saddr, v->saddr, 4);
	want(s, GUESS_skc_dport, v->dport, 2);
	want(s, GUESS_skc_family, v->family, 2);
	want(s, GUESS_skc_state, v->state, 1);
	want(s, GUESS_skc_flags, v->flags ? 1 : 0, 8);
	want(s, GUESS_skc_net, v->inum, 4);
	memcpy(s->want[GUESS_skc_v6_daddr], v->v6d, 16);
	memcpy(s->want[GUESS_skc_v6_rcv_saddr], v->v6s, 16);
	s->known |= 1ULL << GUESS_skc_v6_daddr | 1ULL << GUESS_skc_v6_rcv_saddr |
		    1ULL << GUESS_sk_protocol | 1ULL << GUESS_sk_socket;
	want(s, GUESS_sk_err, 0, 4);
	want(s, GUESS_inet_sport, v->sport, 2);
	want(s, GUESS_tp_bytes_received, v->received, 8);
	want(s, GUESS_tp_bytes_acked, v->acked, 8);
	want(s, GUESS_tp_segs_in, v->segs_in, 4);
	want(s, GUESS_tp_segs_out, v->segs_out, 4);
	want(s, GUESS_tp_total_retrans, v->retrans, 4);
	want(s, GUESS_tp_srtt_us, v->rtt, 4);
	want(s, GUESS_tp_mdev_us, v->rttvar, 4);
	want(s, GUESS_tp_snd_una, v->una ? v->una : v->seq, 4);
	want(s, GUESS_tp_write_seq, v->seq, 4);
}

static struct values va = {
	.daddr = 0x0201007f, .saddr = 0x0302007f, .inum = 4026531833, .segs_in = 17,
	.segs_out = 28, .rtt = 49, .rttvar = 28, .seq = 0x12345678, .retrans = 3, .dport = 0x5c12,
	.sport = 0x3b9a, .family = 2, .state = 1, .received = 123457, .acked = 1000001,
	.v6d = { 0x20, 0x01, 0xd, 0xb8, [15] = 1 }, .v6s = { 0x20, 0x01, 0xd, 0xb8, [15] = 2 },
};
static struct values vb = {
	.daddr = 0x0a0b007f, .saddr = 0x0c0d007f, .inum = 4026532176, .segs_in = 40,
	.segs_out = 33, .rtt = 88, .rttvar = 51, .seq = 0x7654321, .retrans = 5, .dport = 0x1f90,
	.sport = 0xe8d4, .family = 10, .state = 1, .received = 5555, .acked = 777,
	.v6d = { 0xfe, 0x80, [15] = 7 }, .v6s = { 0xfe, 0x80, [15] = 9 },
};

/* snd_nxt and snd_sml, which hold write_seq whenever nothing waits to be sent. */
static void also_at_seq_twins(uint8_t *m, uint32_t seq)
{
	put(m, 1668, seq, 4);
	put(m, 1552, seq, 4);
}

static const uint32_t sk_errs[3] = { 111, 0, 113 };

/* Writes the three values of the error snapshots at off, as sk_err holds them. */
static void put_err_pattern(uint32_t off, const uint32_t v[3])
{
	unsigned int i;

	for (i = 0; i < 3; i++)
		put(mem_e[i], off, v[i], 4);
}

static int setup(void **state)
{
	struct values fin = va, c, z;
	unsigned int i;

	memset(mem_a, 0, sizeof(mem_a));
	memset(mem_b, 0, sizeof(mem_b));
	memset(snaps, 0, sizeof(snaps));
	fill(mem_a, NET_A, SOCKET_A, &va);
	fin.state = 8;
	fin.flags = 2;
	fin.received++;
	memcpy(mem_a_fin, mem_a, sizeof(mem_a));
	fill(mem_a_fin, NET_A, SOCKET_A, &fin);
	fill(mem_b, NET_B, SOCKET_B, &vb);
	put(net_a, real.net_inum, va.inum, 4);
	put(net_b, real.net_inum, vb.inum, 4);
	put(sock_a, 24, SK_A, 8);
	put(sock_b, 24, SK_B, 8);
	snaps[0] = (struct guess_snap){ .mem = mem_a, .sk = SK_A };
	want_all(&snaps[0], &va);
	snaps[1] = (struct guess_snap){ .mem = mem_a_fin, .mem_before = mem_a, .sk = SK_A };
	want_all(&snaps[1], &fin);
	snaps[2] = (struct guess_snap){ .mem = mem_b, .sk = SK_B };
	want_all(&snaps[2], &vb);
	/* In flight: snd_una behind; as in every quiet snapshot, snd_nxt (here at 1668) and
	 * snd_sml (1552) equal write_seq. Only write_seq runs ahead with a closed window. */
	c = va;
	c.una = c.seq;
	c.seq += 100;
	fill(mem_c, NET_A, SOCKET_A, &c);
	also_at_seq_twins(mem_c, c.seq);
	snaps[3] = (struct guess_snap){ .mem = mem_c, .sk = SK_A };
	want(&snaps[3], GUESS_tp_snd_una, c.una, 4);
	want(&snaps[3], GUESS_tp_write_seq, c.seq, 4);
	also_at_seq_twins(mem_a, va.seq);
	also_at_seq_twins(mem_a_fin, va.seq);
	also_at_seq_twins(mem_b, vb.seq);
	z = vb;
	z.seq += 5000;
	z.una = vb.seq;
	fill(mem_z, NET_B, SOCKET_B, &z);
	also_at_seq_twins(mem_z, vb.seq);
	snaps[4] = (struct guess_snap){ .mem = mem_z, .sk = SK_B };
	want(&snaps[4], GUESS_tp_write_seq, z.seq, 4);
	/* The ICMP errors: sk_err is ECONNREFUSED, then 0 once SO_ERROR read it, then EHOSTUNREACH;
	 * these snapshots know nothing else. */
	for (i = 0; i < 3; i++) {
		memcpy(mem_e[i], mem_a, sizeof(mem_a));
		put(mem_e[i], real.sk_err, sk_errs[i], 4);
		snaps[5 + i] = (struct guess_snap){ .mem = mem_e[i], .sk = SK_A };
		want(&snaps[5 + i], GUESS_sk_err, sk_errs[i], 4);
	}
	derefs = 0;
	return 0;
}

static int run(struct guess_state *st)
{
	int r, steps = 0;

	memset(st, 0, sizeof(*st));
	do {
		r = guess_step(st, snaps, NSNAPS, sim_deref, NULL);
		assert_true(++steps < 200000);
	} while (r == GUESS_CONTINUE);
	return r;
}

static void assert_real(const struct nt_offsets *got)
{
	unsigned int f;

	for (f = 0; f < GUESS_NFIELDS; f++) {
		if (guess_offset(got, f) != guess_offset(&real, f))
			fail_msg("%s: guessed %u, real %u", guess_field_name(f), guess_offset(got, f),
				 guess_offset(&real, f));
	}
}

static void test_finds_every_field(void **state)
{
	struct guess_state st;

	assert_int_equal(run(&st), GUESS_DONE);
	assert_real(&st.offsets);
	assert_true(derefs > 0);
}

/* Decoys before the real fields match the first snapshot only: confirmation rejects them. */
static void test_decoys_rejected(void **state)
{
	struct guess_state st;

	put(mem_a, 1000, va.segs_out, 4);	 /* segs_out of A, earlier than the real one */
	put(mem_a_fin, 1000, va.segs_out, 4);
	put(mem_a, 40, va.rtt << 3, 4);		 /* an srtt look-alike */
	put(mem_a, 8, va.dport, 2);		 /* the port in a hash field */
	put(mem_a, 40, NET_A, 8);		 /* another pointer to the same namespace */
	put(mem_b, 40, SOCKET_B, 8);		 /* and one that leads elsewhere in B */
	assert_int_equal(run(&st), GUESS_DONE);
	assert_real(&st.offsets);
}

/* A field that only one snapshot knows cannot be confirmed: it is an error, not a guess. */
static void test_unconfirmable_field_fails(void **state)
{
	struct guess_state st;
	unsigned int i;

	for (i = 0; i < NSNAPS; i++)
		snaps[i].known &= ~(1ULL << GUESS_tp_total_retrans);
	snaps[2].known |= 1ULL << GUESS_tp_total_retrans;
	assert_int_equal(run(&st), -ENOENT);
	assert_int_equal(st.field, GUESS_tp_total_retrans);
}

static void test_fin_bit_needs_only_that_bit(void **state)
{
	struct guess_state st;

	/* A word before the real flags where bit 1 flips together with another bit. */
	put(mem_a, 24, 0, 8);
	put(mem_a_fin, 24, 0x6, 8);
	assert_int_equal(run(&st), GUESS_DONE);
	assert_int_equal(st.offsets.skc_flags, real.skc_flags);
}

static void test_missing_field(void **state)
{
	struct guess_state st;

	/* Break the layout: B's segs_in differs from what the snapshot says. */
	put(mem_b, real.tp_segs_in, vb.segs_in + 1, 4);
	assert_int_equal(run(&st), -ENOENT);
	assert_int_equal(st.field, GUESS_tp_segs_in);
}

/* sk_err is found among look-alikes: an errno that stays (sk_err_soft would), one that a
 * snapshot without an error contradicts, one that SO_ERROR does not clear. */
static void test_sk_err_unique_match(void **state)
{
	static const uint32_t stays[3] = { 111, 111, 113 }, cleared_late[3] = { 111, 111, 0 };
	struct guess_state st;

	put_err_pattern(100, stays);
	put_err_pattern(2400, cleared_late);
	put_err_pattern(3000, sk_errs);
	put(mem_b, 3000, 111, 4); /* B never had an error: 3000 is not sk_err */
	assert_int_equal(run(&st), GUESS_DONE);
	assert_int_equal(st.offsets.sk_err, real.sk_err);
	assert_real(&st.offsets);
}

static void test_sk_err_no_match(void **state)
{
	struct guess_state st;

	/* SO_ERROR cleared nothing: no int went 111, 0, 113. */
	put(mem_e[1], real.sk_err, 111, 4);
	assert_int_equal(run(&st), -ENOENT);
	assert_int_equal(st.field, GUESS_sk_err);
}

/* Two ints that both behave as sk_err: no guess, even though the first one found is right. */
static void test_sk_err_ambiguous(void **state)
{
	struct guess_state st;

	put_err_pattern(3000, sk_errs);
	assert_int_equal(run(&st), -ENOTUNIQ);
	assert_int_equal(st.field, GUESS_sk_err);
}

static void test_bad_pointer_is_not_followed_far(void **state)
{
	struct guess_state st;

	put(mem_a, real.skc_net, 0x1234, 8); /* not a kernel address: never dereferenced */
	assert_int_equal(run(&st), -ENOENT);
	assert_int_equal(st.field, GUESS_skc_net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_finds_every_field, setup),
		cmocka_unit_test_setup(test_decoys_rejected, setup),
		cmocka_unit_test_setup(test_unconfirmable_field_fails, setup),
		cmocka_unit_test_setup(test_fin_bit_needs_only_that_bit, setup),
		cmocka_unit_test_setup(test_missing_field, setup),
		cmocka_unit_test_setup(test_sk_err_unique_match, setup),
		cmocka_unit_test_setup(test_sk_err_no_match, setup),
		cmocka_unit_test_setup(test_sk_err_ambiguous, setup),
		cmocka_unit_test_setup(test_bad_pointer_is_not_followed_far, setup),
	};

	return cmocka_run_group_tests_name("guess", tests, NULL, NULL);
}
