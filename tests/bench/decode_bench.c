/* Throughput of the user-space record path on one core: raw sample → decode → JSON → sink. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "event.h"
#include "json.h"
#include "json_sink.h"
#include "metrics.h"
#include "output.h"
#include "pipeline.h"

#define NSAMPLES 4096 /* distinct samples, cycled: more than the caches hold of record data */
/* A perf raw sample is padded so that its u32 size and the data end on 8 bytes. */
#define SAMPLE_SIZE (((sizeof(struct nt_event) + 4 + 7) & ~7UL) - 4)

static unsigned char samples[NSAMPLES][SAMPLE_SIZE];

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What a connection storm produces: per connection one connect, one accept, two closes. */
static void build_samples(void)
{
	static const char *const comms[] = { "curl", "nginx", "python3", "postgres",
					     "java", "redis-server", "storm", "\xff\xfe" "bad" };
	unsigned int i;

	for (i = 0; i < NSAMPLES; i++) {
		struct nt_event ev = {};
		unsigned int conn = i / 4, kind = i % 4;
		bool v6 = conn % 8 == 7;

		ev.ts_ns = 1000000000ULL * 3600 + i * 12345ULL;
		ev.sk = 0xffff888000000000ULL + conn * 2048 + (kind >= 2 ? 0 : 1024);
		ev.type = kind == 0 ? NT_EVENT_CONNECT : kind == 1 ? NT_EVENT_ACCEPT : NT_EVENT_CLOSE;
		ev.netns = 4026531840U;
		ev.tuple.family = v6 ? AF_INET6 : AF_INET;
		if (v6) {
			inet_pton(AF_INET6, "2001:db8::1", ev.tuple.saddr);
			inet_pton(AF_INET6, "2001:db8::2:1", ev.tuple.daddr);
		} else {
			inet_pton(AF_INET, "10.0.0.1", ev.tuple.saddr);
			inet_pton(AF_INET, "192.168.100.200", ev.tuple.daddr);
		}
		ev.tuple.sport = 32768 + conn % 28000;
		ev.tuple.dport = 443;
		ev.owner.pid = 1000 + conn % 30000;
		ev.owner.uid = conn % 3 ? 0 : 1000;
		/* Like the kernel's: NUL-padded, unterminated when it fills all 16 bytes. */
		memcpy(ev.owner.comm, comms[conn % 8], strnlen(comms[conn % 8], NT_COMM_LEN));
		ev.direction = kind == 1 || kind == 3 ? NT_DIR_INBOUND : NT_DIR_OUTBOUND;
		if (ev.type == NT_EVENT_CLOSE) {
			ev.counters = (struct nt_counters){
				.bytes_acked = 1 + conn * 977ULL,
				.bytes_received = 2 + conn * 131ULL,
				.segs_out = 6 + conn % 100,
				.segs_in = 4 + conn % 90,
				.total_retrans = conn % 17 == 0,
				.srtt_us = 35 << 3,
				.mdev_us = 21 << 2,
				.state = 7,
				.prev_state = 4,
				.valid = 1,
			};
		}
		memcpy(samples[i], &ev, sizeof(ev));
	}
}

/* nettracer's user-space record path, writing to /dev/null: a pipeline with the JSON lines sink
 * and totals (not -i) metrics. */
struct bench_path {
	struct pipeline p;
	struct json_sink js;
};

static int path_open(struct bench_path *b)
{
	*b = (struct bench_path){ .p = { .clock_offset = 1700000000LL * 1000000000LL } };
	b->p.out = output__open("/dev/null");
	b->js.out = b->p.out;
	b->js.fmt = json_fmt_new();
	b->p.sink = json_sink(&b->js);
	b->p.metrics = metrics__new(false);
	if (b->p.out && b->p.metrics && b->js.fmt)
		return 0;
	fprintf(stderr, "decode_bench: setup: %s\n", strerror(errno));
	return -1;
}

static void path_close(struct bench_path *b)
{
	metrics__free(b->p.metrics);
	output__close(b->p.out);
	json_fmt_free(b->js.fmt);
}

/* The user-space half of a metrics dump: conns map entries of idle connections through
 * metrics__begin, pipeline_conn and metrics__end, as the dump callback runs them, dumps times
 * over. Prints the CPU per dump and per socket (the kernel half, the refresh program and the
 * batch read, is bpf_stats' and perf's to measure). */
static int dump_bench(long sockets, long dumps)
{
	struct nt_conn *conns = calloc(sockets, sizeof(*conns));
	struct bench_path b;
	struct pipeline *p = &b.p;
	double t0, total;
	long d, i;
	int ret = 1;

	if (path_open(&b) || !conns) {
		if (!conns)
			fprintf(stderr, "decode_bench: setup: %s\n", strerror(errno));
		goto out;
	}
	for (i = 0; i < sockets; i++) {
		struct nt_event ev;

		/* A close's sample: it has counters. */
		memcpy(&ev, samples[(i * 4 + 2) % NSAMPLES], sizeof(ev));
		conns[i].tuple = ev.tuple;
		conns[i].tuple.sport = 1024 + i % 60000;
		conns[i].owner = ev.owner;
		conns[i].netns = ev.netns;
		conns[i].direction = ev.direction;
		conns[i].flags = NT_CONN_ESTABLISHED;
		conns[i].birth_ns = 1000000 + i;
		conns[i].counters = ev.counters;
		conns[i].counters.state = 1;
	}
	t0 = cpu_s();
	for (d = 0; d < dumps; d++) {
		metrics__begin(p->metrics);
		for (i = 0; i < sockets; i++)
			pipeline_conn(p, 0xffff888000000000ULL + i * 2048, &conns[i],
				      1700000000ULL * 1000000000ULL + d * 1000000000ULL);
		metrics__end(p->metrics);
	}
	output__flush(p->out);
	total = cpu_s() - t0;
	if (p->err || p->stats.records != (uint64_t)(sockets * dumps)) {
		fprintf(stderr, "decode_bench: %llu of %ld records written, error %d\n",
			(unsigned long long)p->stats.records, sockets * dumps, p->err);
		goto out;
	}
	printf("{\"sockets\":%ld,\"dumps\":%ld,\"ms_per_dump\":%.3f,\"ns_per_socket\":%.1f}\n",
	       sockets, dumps, total * 1e3 / dumps, total * 1e9 / (sockets * dumps));
	ret = 0;
out:
	path_close(&b);
	free(conns);
	return ret;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000, m, i;
	struct bench_path b;
	struct pipeline *p = &b.p;
	static struct record recs[NSAMPLES];
	char line[1024];
	double t0, total, decode, format, sink;
	ssize_t len;
	int ret = 1;

	if (argc > 1 && !strcmp(argv[1], "dump")) {
		long sockets = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
		long dumps = argc > 3 ? strtol(argv[3], NULL, 10) : 20;

		if (sockets <= 0 || dumps <= 0) {
			fprintf(stderr, "Usage: decode_bench dump [SOCKETS [DUMPS]]\n");
			return 2;
		}
		build_samples();
		return dump_bench(sockets, dumps);
	}
	if (n <= 0) {
		fprintf(stderr, "Usage: decode_bench [RECORDS] | dump [SOCKETS [DUMPS]]\n");
		return 2;
	}
	build_samples();
	if (path_open(&b))
		goto out;

	/* The whole path, as nettracer's perf buffer callback runs it. */
	t0 = cpu_s();
	for (i = 0; i < n; i++)
		pipeline_sample(p, 0, samples[i % NSAMPLES], SAMPLE_SIZE);
	output__flush(p->out);
	total = cpu_s() - t0;
	if (p->err || p->stats.bad_samples || p->stats.records != (uint64_t)n) {
		fprintf(stderr, "decode_bench: %llu of %ld records written, %llu bad, error %d\n",
			(unsigned long long)p->stats.records, n,
			(unsigned long long)p->stats.bad_samples, p->err);
		goto out;
	}

	/* The stages one by one, to say where the time goes: fewer rounds suffice. */
	m = n < 500000 ? n : 500000;
	t0 = cpu_s();
	for (i = 0; i < m; i++)
		event_decode(samples[i % NSAMPLES], SAMPLE_SIZE, p->clock_offset,
			     &recs[i % NSAMPLES]);
	decode = cpu_s() - t0;
	t0 = cpu_s();
	for (i = 0, len = 0; i < m; i++)
		len = json_format(b.js.fmt, &recs[i % NSAMPLES], line, sizeof(line));
	format = cpu_s() - t0;
	if (len <= 0)
		goto out;
	t0 = cpu_s();
	for (i = 0; i < m; i++)
		output__write(p->out, line, len);
	output__flush(p->out);
	sink = cpu_s() - t0;

	printf("{\"records\":%ld,\"cpu_s\":%.6f,\"records_per_s\":%.0f,\"ns_per_record\":%.1f,"
	       "\"decode_ns\":%.1f,\"format_ns\":%.1f,\"write_ns\":%.1f,\"line_bytes\":%zd}\n",
	       n, total, n / total, total * 1e9 / n, decode * 1e9 / m, format * 1e9 / m,
	       sink * 1e9 / m, len);
	ret = 0;
out:
	path_close(&b);
	return ret;
}
