/* Decode → format → sink for every record source. */
#include <errno.h>
#include <time.h>
#include "event.h"
#include "json.h"
#include "pipeline.h"
#include "table.h"

/* Records the sink dropped (a full disk, a stalled reader) are reported by a lost record ahead
 * of the first record it takes again; the sink drops every record until then. */
void pipeline_report_gap(struct pipeline *p)
{
	uint64_t n = output__gap(p->out);
	struct timespec now;
	struct record rec = { .type = RECORD_LOST, .lost_reason = LOST_OUTPUT, .lost_count = n };

	if (!n)
		return;
	if (!p->report_lost || p->table) {
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

void pipeline_emit(struct pipeline *p, const struct record *rec)
{
	char line[1024];
	ssize_t len;
	int err;

	if (p->err)
		return;
	if (rec->type != RECORD_METRICS && rec->type != RECORD_LOST)
		p->stats.events++;
	if (!is_gap_report(rec))
		pipeline_report_gap(p);
	if (p->table) {
		if (rec->type == RECORD_METRICS)
			p->err = table__add(p->table, rec);
		return;
	}
	len = json_format(p->json, rec, line, sizeof(line));
	if (len < 0)
		return;
	if (is_gap_report(rec))
		err = output__report_gap(p->out, line, len, rec->lost_count);
	else
		err = output__write(p->out, line, len);
	if (err == -ENOBUFS)
		return; /* dropped: the sink counts it, and a lost record will say so */
	if (err)
		p->err = err;
	else
		p->stats.records++;
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
	struct record rec = { .type = RECORD_LOST, .cpu = cpu, .lost_count = count };

	clock_gettime(CLOCK_REALTIME, &now);
	rec.time_ns = (uint64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	p->stats.lost += count;
	if (cpu >= 0 && cpu < PIPELINE_MAX_CPUS)
		p->lost_cpu[cpu] += count;
	if (p->report_lost)
		pipeline_emit(p, &rec);
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
