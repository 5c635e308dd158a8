/* nettracer: options → tracer → loop → teardown; signals and exit codes. */
#include "config.h"
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "event.h"
#include "pipeline.h"
#include "snapshot.h"
#include "tracer.h"

#define POLL_MS 200 /* bounds the delay of a rare record: it waits for a wake-up batch */

static volatile sig_atomic_t stop, reopen;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen = 1;
	else
		stop = 1;
}

static int verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	/* Without -v even warnings stay quiet: trying a strategy this kernel lacks warns, and
	 * real failures are reported by main with a hint to use -v. */
	if (verbose < (level == LIBBPF_DEBUG ? 2 : 1))
		return 0;
	return vfprintf(stderr, fmt, args);
}

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The capabilities nettracer needs, or NULL when it has them. */
static const char *missing_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return "root";
#define HAS(cap) (data[(cap) / 32].effective & (1U << ((cap) % 32)))
	/* CAP_SYS_ADMIN covers BPF and perf; setns() into other namespaces needs it anyway. */
	if (!HAS(CAP_SYS_ADMIN))
		return "root (or CAP_SYS_ADMIN)";
#undef HAS
	return NULL;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A reader that leaves shows up as EPIPE from write(). */
	signal(SIGPIPE, SIG_IGN);
}

struct dump_ctx {
	struct pipeline *p;
	uint64_t time_ns;
};

static int dump_conn(void *ctx, uint64_t sk, const struct nt_conn *conn)
{
	struct dump_ctx *d = ctx;

	return pipeline_conn(d->p, sk, conn, d->time_ns);
}

static int dump(struct tracer *t, struct pipeline *p)
{
	struct dump_ctx d = { .p = p, .time_ns = now_ns(CLOCK_REALTIME) };
	int err;

	/* Closes first: their final counters must precede the dump that no longer has them. */
	tracer__consume(t);
	metrics__begin(p->metrics);
	err = tracer__dump(t, dump_conn, &d);
	metrics__end(p->metrics);
	return err;
}

static void print_summary(struct tracer *t, const struct pipeline *p)
{
	uint64_t s[NT_STAT_MAX] = {};

	tracer__stats(t, s);
	if (verbose || p->stats.lost || p->stats.bad_samples || s[NT_STAT_MAP_FULL] ||
	    s[NT_STAT_OUTPUT_FAIL])
		fprintf(stderr,
			"nettracer: %llu records, %llu lost, %llu undecodable, %llu untracked "
			"(map full), %llu failed outputs\n",
			(unsigned long long)p->stats.records, (unsigned long long)p->stats.lost,
			(unsigned long long)p->stats.bad_samples,
			(unsigned long long)s[NT_STAT_MAP_FULL],
			(unsigned long long)s[NT_STAT_OUTPUT_FAIL]);
}

static int run(const struct config *cfg)
{
	struct pipeline p = {
		.clock_offset = event_clock_offset(),
		.report_lost = cfg->filter.events & NT_REPORT_LOST,
	};
	struct tracer_opts opts = {
		.attach = cfg->attach,
		.map_size = cfg->map_size,
		.perf_pages = cfg->perf_pages,
		.filter = &cfg->filter,
		.on_sample = pipeline_sample,
		.on_lost = pipeline_lost,
		.ctx = &p,
	};
	struct snapshot_stats snap = {};
	uint64_t interval_ns = cfg->interval * 1e9, next_dump;
	struct tracer *t = NULL;
	const char *why, *missing;
	int err, ret = 1;

	missing = missing_privileges();
	if (missing) {
		fprintf(stderr, "nettracer: permission denied: needs %s\n", missing);
		return 1;
	}
	p.out = output__open(cfg->output);
	if (!p.out) {
		fprintf(stderr, "nettracer: cannot open output '%s': %s\n", cfg->output,
			strerror(errno));
		return 1;
	}
	p.metrics = metrics__new(cfg->incremental);
	if (!p.metrics)
		goto out;
	install_signals();
	t = tracer__open(&opts, &why);
	if (!t) {
		fprintf(stderr, "nettracer: %s: %s%s\n", why, strerror(errno),
			verbose ? "" : " (run with -v for details)");
		goto out;
	}
	if (verbose)
		fprintf(stderr, "nettracer: attach strategy %s (%s)\n", tracer__strategy(t),
			tracer__reason(t));
	err = snapshot_take(t, &snap);
	if (err && err != -EOPNOTSUPP)
		fprintf(stderr, "nettracer: start-up snapshot incomplete: %s\n", strerror(-err));
	if (verbose)
		fprintf(stderr, "nettracer: %u existing connections tracked in %u namespaces\n",
			snap.tracked, snap.netns);
	next_dump = now_ns(CLOCK_MONOTONIC) + interval_ns;
	while (!stop && !p.err) {
		err = tracer__poll(t, POLL_MS);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "nettracer: reading events: %s\n", strerror(-err));
			goto out;
		}
		if (now_ns(CLOCK_MONOTONIC) >= next_dump && (cfg->filter.events & NT_REPORT_METRICS)) {
			next_dump += interval_ns;
			err = dump(t, &p);
			if (err && err != -EPIPE) {
				fprintf(stderr, "nettracer: metrics dump: %s\n", strerror(-err));
				goto out;
			}
		}
		if (reopen) {
			reopen = 0;
			err = output__reopen(p.out);
			if (err)
				fprintf(stderr, "nettracer: reopening '%s': %s\n", cfg->output,
					strerror(-err));
		}
		if (!p.err)
			p.err = output__flush(p.out);
	}
	/* Samples below the wake-up threshold are still in the ring. */
	tracer__consume(t);
	if (!p.err)
		p.err = output__flush(p.out);
	if (p.err && p.err != -EPIPE) {
		fprintf(stderr, "nettracer: writing output: %s\n", strerror(-p.err));
		goto out;
	}
	ret = 0;
out:
	if (t)
		print_summary(t, &p);
	tracer__destroy(t);
	metrics__free(p.metrics);
	output__close(p.out);
	return ret;
}

int main(int argc, char **argv)
{
	struct config cfg;
	char err[256];
	int r;

	r = cli_parse(&cfg, argc, argv, err, sizeof(err));
	switch (r) {
	case CLI_HELP:
		fputs(cli_usage, stdout);
		return 0;
	case CLI_VERSION:
		printf("nettracer %s\n", PACKAGE_VERSION);
		return 0;
	case CLI_RUN:
		break;
	default:
		fprintf(stderr, "nettracer: %s\nTry 'nettracer --help' for more information.\n",
			err);
		return 2;
	}
	verbose = cfg.verbose;
	libbpf_set_print(libbpf_print);
	return run(&cfg);
}
