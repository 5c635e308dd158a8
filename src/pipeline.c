/* Decode → describe → number → sink for every record source. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <time.h>
#include "cgroup.h"
#include "event.h"
#include "metrics.h"
#include "output.h"
#include "pipeline.h"

/* Records the sink dropped (a full disk, a stalled reader) are reported by a lost record ahead
 * of the first record it takes again; the sink drops every record until then. */
void pipeline_report_gap(struct pipeline *p)
{
	uint64_t n = output__gap(p->out);
	struct timespec now;
	struct record rec = { .type = RECORD_LOST, .lost_reason = LOST_OUTPUT, .lost_count = n };

	if (!n)
		return;
	if (!p->report_lost) {
		output__report_gap(p->out, NULL, 0, n);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	rec.time_ns = (uint64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	pipeline_emit(p, &rec);
}

static bool is_gap_report(const struct record *rec)
{
	return rec->type == RECORD_LOST && rec->lost_reason == LOST_OUTPUT;
}

/* What user space knows of a record's owner and ending beyond the sample: the path of its
 * cgroup and its container (the last one looked up is kept: records come in runs of the same
 * cgroup), the name of the reset's reason. */
static void describe(struct pipeline *p, struct record *rec)
{
	const char *path;

	if (rec->cgroup_id && p->cgroups) {
		if (rec->cgroup_id != p->last_cgroup.id) {
			path = cgroups__path(p->cgroups, rec->cgroup_id);
			p->last_cgroup.id = rec->cgroup_id;
			p->last_cgroup.known = path && strlen(path) <= RECORD_CGROUP_MAX;
			if (p->last_cgroup.known)
				strcpy(p->last_cgroup.path, path);
			p->last_cgroup.container =
				p->last_cgroup.known &&
				cgroup_container_id(p->last_cgroup.path, p->last_cgroup.container_id);
		}
		rec->cgroup = p->last_cgroup.known ? p->last_cgroup.path : NULL;
		if (p->last_cgroup.container)
			memcpy(rec->container_id, p->last_cgroup.container_id,
			       sizeof(rec->container_id));
	}
	if (rec->reset_reason_code && p->reset_reason)
		rec->reset_reason = p->reset_reason(p->reset_reason_ctx, rec->reset_reason_code - 1);
}

void pipeline_emit(struct pipeline *p, struct record *rec)
{
	int err;

	if (p->err)
		return;
	if (rec->type != RECORD_METRICS && rec->type != RECORD_LOST)
		p->stats.events++;
	if (rec->type == RECORD_CONNECT_FAILED)
		p->stats.failed_connects++;
	if (rec->type != RECORD_LOST)
		describe(p, rec);
	if (!is_gap_report(rec))
		pipeline_report_gap(p);
	/* Numbered before the sink formats it: a record that cannot be formatted still takes its
	 * number, so the gap in seq shows a reader that one is missing. */
	rec->seq = ++p->seq;
	err = p->sink.record(p->sink.ctx, rec);
	if (err == 0)
		p->stats.records++;
	else if (err == -EMSGSIZE)
		p->stats.format_failed++;
	/* -ENOBUFS: dropped, the output counts it and a lost record will say so. */
	else if (err != -ENOBUFS && err != SINK_SKIPPED)
		p->err = err;
}

void pipeline_clock(struct pipeline *p)
{
	p->clock_offset = event_clock_offset();
}

void pipeline_sample(void *ctx, int cpu, const void *data, size_t size)
{
	struct pipeline *p = ctx;
	struct record rec;

	if (event_decode(data, size, p->clock_offset, &rec)) {
		p->stats.bad_samples++;
		return;
	}
	if (rec.type == RECORD_CLOSE && p->metrics)
		metrics__close(p->metrics, &rec);
	pipeline_emit(p, &rec);
}

void pipeline_lost(void *ctx, int cpu, uint64_t count)
{
	struct pipeline *p = ctx;
	struct timespec now;
	struct record rec = {
		.type = RECORD_LOST,
		.cpu = cpu,
		.lost_count = count,
		.lost_reason = LOST_PERF_BUFFER,
	};

	clock_gettime(CLOCK_REALTIME, &now);
	rec.time_ns = (uint64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	p->stats.lost += count;
	if (cpu >= 0 && cpu < PIPELINE_MAX_CPUS)
		p->lost_cpu[cpu] += count;
	if (p->report_lost)
		pipeline_emit(p, &rec);
}

void pipeline_replay(struct pipeline *p, struct record *rec)
{
	if (rec->type == RECORD_LOST && rec->lost_reason == LOST_PERF_BUFFER)
		p->stats.lost += rec->lost_count;
	pipeline_emit(p, rec);
}

int pipeline_conn(struct pipeline *p, uint64_t sk, const struct nt_conn *conn, uint64_t time_ns)
{
	struct record rec;

	if (metrics__conn(p->metrics, sk, conn, time_ns, &rec))
		pipeline_emit(p, &rec);
	return p->err;
}

void pipeline_settle_lost(struct pipeline *p, const uint64_t *failed, int ncpu)
{
	int cpu;

	for (cpu = 0; cpu < ncpu && cpu < PIPELINE_MAX_CPUS; cpu++)
		if (failed[cpu] > p->lost_cpu[cpu])
			pipeline_lost(p, cpu, failed[cpu] - p->lost_cpu[cpu]);
}
