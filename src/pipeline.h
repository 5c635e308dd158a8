/* The one record flow: raw sample or map entry → decode → record → JSON → sink. */
#ifndef NT_PIPELINE_H
#define NT_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "metrics.h"
#include "output.h"

struct json_fmt;

struct pipeline_stats {
	uint64_t records;     /* lines the sink took (some may still be held at exit) */
	uint64_t bad_samples; /* samples that failed to decode */
	uint64_t lost;	      /* samples the kernel dropped (perf buffer full) */
	uint64_t events;      /* connect, accept and close records */
};

#define PIPELINE_MAX_CPUS 1024

struct pipeline {
	struct output *out;
	struct metrics *metrics;
	struct json_fmt *json;
	int64_t clock_offset; /* CLOCK_BOOTTIME → wall clock, ns */
	bool report_lost;     /* write lost records (they are counted either way) */
	struct table *table;  /* -d: metrics records become its rows, nothing is written */
	int err;	      /* first sink error (-EPIPE: the reader left) */
	struct pipeline_stats stats;
	uint64_t lost_cpu[PIPELINE_MAX_CPUS]; /* lost, as the kernel reported it, per CPU */
};

void pipeline_sample(void *pipeline, int cpu, const void *data, size_t size);
void pipeline_lost(void *pipeline, int cpu, uint64_t count);
/* One conns map entry of a dump at time_ns. */
int pipeline_conn(struct pipeline *p, uint64_t sk, const struct nt_conn *conn, uint64_t time_ns);
void pipeline_emit(struct pipeline *p, const struct record *rec);
/* A lost record (reason output) for the records the sink dropped, if it has room for it now. */
void pipeline_report_gap(struct pipeline *p);
/* At exit: samples the probes failed to output (failed[cpu]) that the kernel has not reported
 * as lost yet (it does so only once the ring has room again) become lost records too. */
void pipeline_settle_lost(struct pipeline *p, const uint64_t *failed, int ncpu);

#endif /* NT_PIPELINE_H */
