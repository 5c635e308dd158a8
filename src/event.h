/* Decoding of raw BPF data (perf samples, map values) into records; pure, no I/O. */
#ifndef NT_EVENT_H
#define NT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "record.h"
#include "../bpf/nettracer.h"

/* Offset to add to a CLOCK_BOOTTIME timestamp to get wall-clock time. */
int64_t event_clock_offset(void);

/* Decodes one perf sample. 0, or -EINVAL for a short or malformed sample. */
int event_decode(const void *data, size_t size, int64_t clock_offset, struct record *rec);

/* Fills the connection fields of rec (addresses, ports, family, owner, netns, direction). */
void event_fill_conn(struct record *rec, const struct nt_tuple *tuple, const struct nt_owner *owner,
		     uint32_t netns, uint8_t direction);

/* Does t carry an IPv4 connection (AF_INET, or IPv6 v4-mapped at both ends, ::ffff:a.b.c.d)?
 * Then *saddr and *daddr point at its 4-byte IPv4 addresses inside t. */
bool event_tuple_v4(const struct nt_tuple *t, const uint8_t **saddr, const uint8_t **daddr);

#endif /* NT_EVENT_H */
