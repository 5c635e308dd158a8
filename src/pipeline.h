/* The one record flow: raw sample or map entry → decode → record → sink. */
#ifndef NT_PIPELINE_H
#define NT_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "record.h"
#include "sink.h"
#include "../bpf/nettracer.h"

struct cgroups;
struct metrics;
struct output;

struct pipeline_stats {
	uint64_t records;     /* lines the sink took (some may still be held at exit) */
	uint64_t bad_samples; /* samples that failed to decode */
	uint64_t lost;	      /* samples the kernel dropped (perf buffer full) */
	uint64_t events;      /* connect, accept, close and connect_failed records */
	uint64_t failed_connects; /* connect_failed records */
	uint64_t format_failed; /* numbered, but too long for the line buffer: not written */
};

#define PIPELINE_MAX_CPUS 1024

struct pipeline {
	struct sink sink;     /* takes every record: JSON lines, or the -d table's rows */
	struct output *out;   /* where the sink's records go: a gap it drops is reported */
	struct metrics *metrics;
	int64_t clock_offset; /* CLOCK_BOOTTIME → wall clock, ns */
	bool report_lost;     /* write lost records (they are counted either way) */
	int err;	      /* first sink error (-EPIPE: the reader left) */
	uint64_t seq;	      /* seq of the last record handed to the sink */
	struct pipeline_stats stats;
	uint64_t lost_cpu[PIPELINE_MAX_CPUS]; /* lost, as the kernel reported it, per CPU */
	struct cgroups *cgroups; /* names the owners' cgroups; NULL: no cgroup paths */
	/* The kernel's name of a reset reason (enum sk_rst_reason value), or NULL. */
	const char *(*reset_reason)(void *ctx, uint32_t value);
	void *reset_reason_ctx;
	struct {
		uint64_t id; /* the cgroup of the last record that had one; 0: none yet */
		bool known, container;
		char path[RECORD_CGROUP_MAX + 1];
		char container_id[RECORD_CONTAINER_ID_LEN + 1];
	} last_cgroup;
};

/* Takes the boot-time → wall-clock offset anew: called before each batch of samples, so that
 * a step of the wall clock (NTP, a resumed VM) shows in the next records' times. */
void pipeline_clock(struct pipeline *p);
void pipeline_sample(void *pipeline, int cpu, const void *data, size_t size);
void pipeline_lost(void *pipeline, int cpu, uint64_t count);
/* One conns map entry of a dump at time_ns. */
int pipeline_conn(struct pipeline *p, uint64_t sk, const struct nt_conn *conn, uint64_t time_ns);
/* Numbers rec (rec->seq) and hands it to the sink. */
void pipeline_emit(struct pipeline *p, struct record *rec);
/* A record read back (-d --input): a perf buffer loss it reports is counted as
 * pipeline_lost() counts the kernel's, then it is numbered and handed to the sink. */
void pipeline_replay(struct pipeline *p, struct record *rec);
/* A lost record (reason output) for the records the sink dropped, if it has room for it now. */
void pipeline_report_gap(struct pipeline *p);
/* At exit: samples the probes failed to output (failed[cpu]) that the kernel has not reported
 * as lost yet (it does so only once the ring has room again) become lost records too. */
void pipeline_settle_lost(struct pipeline *p, const uint64_t *failed, int ncpu);

#endif /* NT_PIPELINE_H */
