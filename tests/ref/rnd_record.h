/* Pseudo-random records of every shape (fixed seed: a failure shows up again in the next run). */
#ifndef NT_RND_RECORD_H
#define NT_RND_RECORD_H

#include <stdint.h>
#include "record.h"

uint64_t rnd(void);
/* Random bits of a random width, and now and then a value at an edge (0, 2^53, INT64_MAX...). */
uint64_t rnd_u64(void);
void rnd_ipv6(uint8_t *a);
/* Any type, every optional field at random; its strings live until the next call. */
void rnd_record(struct record *rec);

#endif /* NT_RND_RECORD_H */
