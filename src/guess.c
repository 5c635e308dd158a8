/* Offset guessing's matcher: snapshots of known sockets in, offsets out; pure, no I/O but the
 * deref callback (the driver that makes the sockets is guess_driver.c). */
#include "config.h"
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include "guess.h"

_Static_assert(sizeof(struct nt_offsets) == GUESS_NFIELDS * sizeof(__u32), "nt_offsets layout");

enum match {
	M_BYTES,     /* the field holds want[] */
	M_SHIFT3,    /* field >> 3 == want (srtt_us, as tcp_info reports it) */
	M_SHIFT2,    /* field >> 2 == want (mdev_us) */
	M_FIN_BIT,   /* bit SOCK_DONE set iff want[0]; the only bit that a FIN changed */
	M_PROTOCOL,  /* IPPROTO_TCP next to sk_type SOCK_STREAM, past struct sock_common */
	M_NET_INUM,  /* pointer to a struct net whose ns.inum is want; also finds net_inum */
	M_SOCKET,    /* pointer to a struct socket that points back at the sock */
};

/* A field marked unique is searched to the end of the peeked memory: it is accepted only when
 * no other offset fits, as its values (an errno, then 0) are small enough to be met elsewhere. */
static const struct {
	const char *name;
	uint8_t size, align;
	enum match match;
	bool unique;
} fields[GUESS_NFIELDS] = {
#define F(name, size, align, match) [GUESS_##name] = { #name, size, align, match, false }
#define U(name, size, align, match) [GUESS_##name] = { #name, size, align, match, true }
	F(skc_daddr, 4, 4, M_BYTES),
	F(skc_rcv_saddr, 4, 4, M_BYTES),
	F(skc_dport, 2, 2, M_BYTES),
	F(skc_family, 2, 2, M_BYTES),
	F(skc_state, 1, 1, M_BYTES),
	F(skc_flags, 8, 8, M_FIN_BIT),
	F(skc_net, 8, 8, M_NET_INUM),
	F(net_inum, 4, 4, M_BYTES),
	F(skc_v6_daddr, 16, 4, M_BYTES),
	F(skc_v6_rcv_saddr, 16, 4, M_BYTES),
	F(sk_protocol, 2, 2, M_PROTOCOL),
	F(sk_socket, 8, 8, M_SOCKET),
	U(sk_err, 4, 4, M_BYTES),
	F(inet_sport, 2, 2, M_BYTES),
	F(tp_bytes_received, 8, 8, M_BYTES),
	F(tp_bytes_acked, 8, 8, M_BYTES),
	F(tp_segs_in, 4, 4, M_BYTES),
	F(tp_segs_out, 4, 4, M_BYTES),
	F(tp_total_retrans, 4, 4, M_BYTES),
	F(tp_srtt_us, 4, 4, M_SHIFT3),
	F(tp_mdev_us, 4, 4, M_SHIFT2),
	F(tp_snd_una, 4, 4, M_BYTES),
	F(tp_write_seq, 4, 4, M_BYTES),
#undef U
#undef F
};

const char *guess_field_name(unsigned int field)
{
	return field < GUESS_NFIELDS ? fields[field].name : "?";
}

uint32_t guess_offset(const struct nt_offsets *o, unsigned int field)
{
	return ((const __u32 *)o)[field];
}

static void set_offset(struct nt_offsets *o, unsigned int field, uint32_t off)
{
	((__u32 *)o)[field] = off;
}

static uint64_t load(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	/* Little endian hosts: the low bytes. Wider fields (addresses) compare as bytes. */
	memcpy(&v, p, size < sizeof(v) ? size : sizeof(v));
	return v;
}

static bool kernel_pointer(uint64_t v)
{
	return v >= 0xffff800000000000ULL && v != ~0ULL && !(v & 7);
}

#define NET_SEARCH 1024 /* ns.inum sits early in struct net */

/* The next inner offset, at or after from, at which a struct net holds inum; -1 when none. */
static int find_inum(const uint8_t *net, uint32_t inum, int from)
{
	int i;

	for (i = from; i + 4 <= NET_SEARCH; i += 4)
		if (load(net + i, 4) == inum)
			return i;
	return -1;
}

/* skc_net: every snapshot's pointer leads to its namespace inode at one common inner offset. */
static bool match_net(struct guess_state *st, const struct guess_snap *snaps, size_t n,
		      uint32_t off, guess_deref_fn deref, void *ctx)
{
	static uint8_t first[NT_PEEK_SIZE], other[NT_PEEK_SIZE];
	const struct guess_snap *s0 = NULL;
	size_t i;
	int inner;

	for (i = 0; i < n && !s0; i++)
		if (snaps[i].known & (1ULL << GUESS_skc_net))
			s0 = &snaps[i];
	if (!s0 || !kernel_pointer(load(s0->mem + off, 8)) ||
	    deref(ctx, load(s0->mem + off, 8), first))
		return false;
	for (inner = find_inum(first, load(s0->want[GUESS_skc_net], 4), 0); inner >= 0;
	     inner = find_inum(first, load(s0->want[GUESS_skc_net], 4), inner + 4)) {
		bool all = true;

		for (i = 0; i < n && all; i++) {
			const struct guess_snap *s = &snaps[i];
			uint64_t p = load(s->mem + off, 8);

			if (s == s0 || !(s->known & (1ULL << GUESS_skc_net)))
				continue;
			all = kernel_pointer(p) && !deref(ctx, p, other) &&
			      load(other + inner, 4) == load(s->want[GUESS_skc_net], 4);
		}
		if (all) {
			set_offset(&st->offsets, GUESS_net_inum, inner);
			return true;
		}
	}
	return false;
}

static bool match_one(const struct guess_state *st, const struct guess_snap *s, unsigned int f,
		      uint32_t off, guess_deref_fn deref, void *ctx)
{
	static uint8_t buf[NT_PEEK_SIZE];
	const uint8_t *p = s->mem + off;
	uint64_t v = load(p, fields[f].size), want = load(s->want[f], 8);
	uint32_t j;

	switch (fields[f].match) {
	case M_BYTES:
		return memcmp(p, s->want[f], fields[f].size) == 0;
	case M_SHIFT3:
		return (v >> 3) == want;
	case M_SHIFT2:
		return (v >> 2) == want;
	case M_FIN_BIT:
		if (!!(v & 2) != !!want)
			return false;
		/* Against the same socket before the FIN: nothing else in the word moved. */
		return !s->mem_before || (v ^ load(s->mem_before + off, 8)) == 2;
	case M_PROTOCOL:
		/* Their order changed over time: either neighbour may be sk_type. */
		return v == 6 && ((off >= 2 && load(p - 2, 2) == 1) || load(p + 2, 2) == 1);
	case M_SOCKET:
		if (!kernel_pointer(v) || deref(ctx, v, buf))
			return false;
		for (j = 0; j < 128; j += 8)
			if (load(buf + j, 8) == s->sk)
				return true;
		return false;
	case M_NET_INUM:
		break;
	}
	return false;
}

static uint32_t first_candidate(const struct guess_state *st)
{
	/* sk_protocol lives in struct sock, past struct sock_common and its IPv6 addresses. */
	if (st->field == GUESS_sk_protocol)
		return guess_offset(&st->offsets, GUESS_skc_v6_rcv_saddr) + 16;
	return 0;
}

/* off is the current field's offset: the next field starts. */
static int accept_offset(struct guess_state *st, uint32_t off)
{
	set_offset(&st->offsets, st->field, off);
	st->field++;
	if (st->field == GUESS_net_inum)
		st->field++;
	st->candidate = first_candidate(st);
	st->matched = false;
	return st->field >= GUESS_NFIELDS ? GUESS_DONE : GUESS_CONTINUE;
}

int guess_step(struct guess_state *st, const struct guess_snap *snaps, size_t nsnaps,
	       guess_deref_fn deref, void *ctx)
{
	unsigned int f;
	uint32_t off;
	size_t i, known = 0;
	bool all = true;

	if (st->field == GUESS_net_inum) /* found together with skc_net */
		st->field++;
	if (st->field >= GUESS_NFIELDS)
		return GUESS_DONE;
	f = st->field;
	off = st->candidate;
	if (off + fields[f].size > NT_PEEK_SIZE)
		return st->matched ? accept_offset(st, st->match) : -ENOENT;
	if (fields[f].match == M_NET_INUM) {
		for (i = 0; i < nsnaps; i++)
			known += !!(snaps[i].known & (1ULL << f));
		all = known >= 2 && match_net(st, snaps, nsnaps, off, deref, ctx);
	} else {
		for (i = 0; i < nsnaps && all; i++) {
			if (!(snaps[i].known & (1ULL << f)))
				continue;
			known++;
			all = match_one(st, &snaps[i], f, off, deref, ctx);
		}
		/* One snapshot matches small values by accident: confirm on another. */
		all = all && known >= 2;
	}
	if (all && fields[f].unique) {
		if (st->matched)
			return -ENOTUNIQ;
		st->matched = true;
		st->match = off;
		all = false; /* search on */
	}
	if (!all) {
		st->candidate += fields[f].align;
		return GUESS_CONTINUE;
	}
	return accept_offset(st, off);
}
