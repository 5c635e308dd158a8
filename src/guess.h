/* Offset guessing for kernels without BTF: the pure matcher over snapshots of known sockets
 * (guess_driver.h makes the sockets and takes the snapshots). */
#ifndef NT_GUESS_H
#define NT_GUESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "../bpf/nettracer.h"

enum guess_field {
#define GUESS_ENUM(name) GUESS_##name,
	NT_OFFSET_FIELDS(GUESS_ENUM)
#undef GUESS_ENUM
	GUESS_NFIELDS
};

/* What is known of one snapshot: the socket's memory and the values its fields must have. */
struct guess_snap {
	const uint8_t *mem;	   /* NT_PEEK_SIZE bytes at sk */
	const uint8_t *mem_before; /* the same socket before a FIN arrived, or NULL */
	uint64_t sk;		   /* kernel address of the socket */
	uint64_t known;		   /* bit (1 << enum guess_field) when want[] holds the value */
	uint8_t want[GUESS_NFIELDS][16]; /* expected bytes, as the kernel stores them */
};

/* Reads NT_PEEK_SIZE bytes of kernel memory at addr: the only I/O the matcher does. */
typedef int (*guess_deref_fn)(void *ctx, uint64_t addr, uint8_t *buf);

struct guess_state {
	unsigned int field;	    /* enum guess_field being searched */
	uint32_t candidate;	    /* offset under test */
	bool matched;		    /* a field that must be unique: match is the one that fits */
	uint32_t match;
	struct nt_offsets offsets;  /* found so far */
};

enum guess_status {
	GUESS_CONTINUE = 0,
	GUESS_DONE = 1,
};

/* Tests one candidate of the current field against every snapshot that knows it; a candidate
 * that matches all of them (at least two) is accepted and the next field starts (sk_err: once
 * every other candidate failed). Returns GUESS_CONTINUE, GUESS_DONE, -ENOENT when a field has no
 * offset that fits, or -ENOTUNIQ when sk_err has more than one. */
int guess_step(struct guess_state *st, const struct guess_snap *snaps, size_t nsnaps,
	       guess_deref_fn deref, void *ctx);
const char *guess_field_name(unsigned int field);
uint32_t guess_offset(const struct nt_offsets *o, unsigned int field);

#endif /* NT_GUESS_H */
