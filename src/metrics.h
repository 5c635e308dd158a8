/* Metrics records from the conns map dump: totals, or deltas between dumps (-i). */
#ifndef NT_METRICS_H
#define NT_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "record.h"
#include "../bpf/nettracer.h"

struct metrics;

/* NULL with errno set. */
struct metrics *metrics__new(bool incremental);
void metrics__free(struct metrics *m);
/* Connections whose delta state could not be kept for want of memory (their next delta is a
 * total). */
uint64_t metrics__alloc_failed(const struct metrics *m);
/* Starts a dump. */
void metrics__begin(struct metrics *m);
/* Turns one conns map entry into a metrics record. false when there is nothing to report
 * (not established, or its counters could not be read). */
bool metrics__conn(struct metrics *m, uint64_t sk, const struct nt_conn *conn, uint64_t time_ns,
		   struct record *rec);
/* Ends a dump: forgets connections the last dumps no longer held. 0 or -ENOMEM. */
int metrics__end(struct metrics *m);
/* A close record's final totals become the delta since the last dump (-i). */
void metrics__close(struct metrics *m, struct record *rec);

/* The reported metrics from the kernel's counters: bytes without the SYN and FIN that the
 * kernel counts as a byte each. */
void metrics_from_counters(struct record_metrics *m, const struct nt_counters *c,
			   uint8_t direction);
/* now - prev for a kernel counter of `bits` width: a wrap counts on, a reset starts over. */
uint64_t metrics_counter_delta(uint64_t now, uint64_t prev, unsigned int bits);
/* out = now - prev, field by field; RTT fields are copied from now. */
void metrics_delta(struct record_metrics *out, const struct record_metrics *now,
		   const struct record_metrics *prev);

/* Map-full accounting: connections newly left untracked since the last report, from the
 * summed kernel counter (total) and what was reported so far (*reported, advanced). */
uint64_t metrics_untracked_new(uint64_t total, uint64_t *reported);

#endif /* NT_METRICS_H */
