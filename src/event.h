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

/* An IPv6 address of the form ::ffff:a.b.c.d. */
bool event_v4_mapped(const uint8_t *addr);

/* Derives the reported metrics from the kernel's counters. */
void event_metrics(struct record_metrics *m, const struct nt_counters *c, uint8_t direction);

#endif /* NT_EVENT_H */
