/* nettracer: options → tracer → loop → teardown; signals and exit codes. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "cli.h"
#include "event.h"
#include "guess.h"
#include "json.h"
#include "json_sink.h"
#include "metrics.h"
#include "output.h"
#include "pipeline.h"
#include "snapshot.h"
#include "table.h"
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

/* The capabilities nettracer needs, each with what needs it (nettracer(8), REQUIREMENTS). Found by
 * running it as another user with each dropped in turn: CAP_SYS_ADMIN covers CAP_BPF,
 * CAP_PERFMON and the CAP_NET_ADMIN that the tc lookup program needs, and setns() needs it
 * anyway. */
static const struct {
	int cap;
	const char *name, *what;
} needed_caps[] = {
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN", "BPF programs, start-up snapshot of every namespace" },
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", "processes of existing connections" },
	{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH", "tracefs, for the tracepoint hooks" },
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", "offset guessing" },
};

static bool may_guess(const struct config *cfg)
{
	return cfg->tracer.offsets == OFFSETS_GUESS ||
	       (cfg->tracer.offsets == OFFSETS_AUTO && access("/sys/kernel/btf/vmlinux", R_OK));
}

/* Writes the missing capabilities into buf; false when none is missing. */
static bool missing_privileges(const struct config *cfg, char *buf, size_t size)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	unsigned int i, n = 0;
	size_t len = 0;

	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(buf, size, "root");
		return true;
	}
	for (i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++) {
		int cap = needed_caps[i].cap;

		if (data[cap / 32].effective & (1U << (cap % 32)))
			continue;
		/* Root owns tracefs: only another user needs to bypass its mode. */
		if (cap == CAP_DAC_READ_SEARCH && geteuid() == 0)
			continue;
		if (cap == CAP_NET_ADMIN && !may_guess(cfg))
			continue;
		len += snprintf(buf + len, len < size ? size - len : 0, "%s%s (%s)", n++ ? ", " : "",
				needed_caps[i].name, needed_caps[i].what);
	}
	return n > 0;
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

static int guess_offsets(struct tracer *t)
{
	struct nt_offsets off;
	unsigned int ms, f;
	int err;

	err = guess_run(t, &off, &ms);
	if (err) {
		fprintf(stderr, "nettracer: guessing kernel offsets failed after %u ms: %s%s%s\n", ms,
			strerror(-err), err == -ENOENT ? ": no offset fits " : "",
			err == -ENOENT ? guess_field_name(errno) : "");
		return err;
	}
	tracer__set_offsets(t, &off);
	if (verbose) {
		fprintf(stderr, "nettracer: offsets guessed in %u ms:", ms);
		for (f = 0; f < GUESS_NFIELDS; f++)
			fprintf(stderr, " %s=%u", guess_field_name(f), guess_offset(&off, f));
		fputc('\n', stderr);
	}
	return 0;
}

/* -d: the metrics records of each dump become the rows of a table; events are counted, not
 * written. */
struct display {
	struct pipeline *p;
	struct table *table;
	enum table_sort sort;
	uint64_t time_ns; /* of the dump shown */
	int in_fd;	  /* where Enter and q come from; -1 once it has ended */
	bool ansi;	  /* stdout is a terminal: redraw in place */
};

struct dump_ctx {
	struct pipeline *p;
	uint64_t time_ns;
};

static int dump_conn(void *ctx, uint64_t sk, const struct nt_conn *conn)
{
	struct dump_ctx *d = ctx;

	return pipeline_conn(d->p, sk, conn, d->time_ns);
}

static int dump(struct tracer *t, struct pipeline *p, struct display *v)
{
	struct dump_ctx d = { .p = p, .time_ns = now_ns(CLOCK_REALTIME) };
	int err;

	if (v) {
		v->time_ns = d.time_ns;
		table__clear(v->table);
	}
	/* Closes first: their final counters must precede the dump that no longer has them. */
	tracer__consume(t);
	metrics__begin(p->metrics);
	err = tracer__dump(t, dump_conn, &d);
	metrics__end(p->metrics);
	return err;
}

/* The table's sink: metrics records become its rows; events are counted, not shown. */
static int table_sink_record(void *table, struct record *rec)
{
	return rec->type == RECORD_METRICS ? table__add(table, rec) : SINK_SKIPPED;
}

/* Enter and q. true when a fresh table is asked for. */
static bool display_keys(struct display *v)
{
	int keys;

	if (v->in_fd < 0)
		return false;
	keys = table_keys(v->in_fd);
	if (keys & TABLE_KEY_EOF)
		v->in_fd = -1; /* a closed or absent stdin is no reason to stop */
	if (keys & TABLE_KEY_QUIT)
		stop = 1;
	return keys & TABLE_KEY_REFRESH;
}

/* The rows of the last dump, at the terminal's size of the moment. */
static void display_draw(struct display *v)
{
	struct table_header hdr = {
		.time_ns = v->time_ns,
		.events = v->p->stats.events,
		.failed_connects = v->p->stats.failed_connects,
		.lost = v->p->stats.lost,
		.sort = v->sort,
	};
	unsigned int width = 0, height = 0;
	const char *text;
	size_t len;
	int err;

	if (v->ansi && table_term_size(STDOUT_FILENO, &width, &height))
		width = 80, height = 24;
	text = table__render(v->table, &hdr, width, height, v->ansi, &len);
	pipeline_report_gap(v->p);
	err = text ? output__write(v->p->out, text, len) : -ENOMEM;
	if (!err)
		err = output__flush(v->p->out);
	if (err && err != -ENOBUFS && !v->p->err)
		v->p->err = err; /* a table the full output dropped is no reason to stop */
}

/* Connections the full map could not take, said once per dump in which there were new ones. */
static void warn_map_full(struct tracer *t, unsigned int map_size, uint64_t *seen)
{
	uint64_t s[NT_STAT_MAX] = {}, n;

	if (tracer__stats(t, s))
		return;
	n = metrics_untracked_new(s[NT_STAT_MAP_FULL], seen);
	if (n)
		fprintf(stderr,
			"nettracer: %llu connections not tracked: the connection map is full "
			"(--map-size=%u)\n",
			(unsigned long long)n, map_size);
}

/* What the user hears of output trouble: once when it starts, once when it is over. */
struct output_watch {
	const char *name;
	bool failing;	     /* said so */
	uint64_t dropped;    /* records dropped before */
	bool rotate_failing; /* said so */
};

static void watch_output(struct output *out, struct output_watch *w)
{
	struct output_status st;

	output__status(out, &st);
	/* A reader that is only slow (EAGAIN while the hold has room) is not worth a word. */
	if (st.err && !w->failing && (st.err != -EAGAIN || st.dropped > w->dropped)) {
		fprintf(stderr,
			"nettracer: writing %s: %s; tracing goes on, records are held (up to %u KiB) "
			"and writing is retried\n",
			w->name, strerror(-st.err), OUTPUT_HOLD_SIZE / 1024);
		w->failing = true;
	} else if (!st.err && !st.gap && w->failing) {
		fprintf(stderr, "nettracer: writing %s works again; %llu records dropped meanwhile\n",
			w->name, (unsigned long long)(st.dropped - w->dropped));
		w->failing = false;
	}
	if (!st.err && !w->failing)
		w->dropped = st.dropped;
	if (st.rotate_err && !w->rotate_failing)
		fprintf(stderr, "nettracer: rotating %s: %s; writing goes on in the same file\n",
			w->name, strerror(-st.rotate_err));
	w->rotate_failing = st.rotate_err != 0;
}

static void settle_lost(struct tracer *t, struct pipeline *p)
{
	int ncpu = tracer__ncpu();
	uint64_t failed[ncpu > 0 ? ncpu : 1];

	if (ncpu > 0 && !tracer__stat_per_cpu(t, NT_STAT_OUTPUT_FAIL, failed, ncpu))
		pipeline_settle_lost(p, failed, ncpu);
}

static void print_summary(struct tracer *t, const struct pipeline *p)
{
	char detail[256] = "";
	uint64_t s[NT_STAT_MAX] = {}, skipped = tracer__missed(t, detail, sizeof(detail));
	uint64_t nomem = metrics__alloc_failed(p->metrics);
	struct output_status st;

	tracer__stats(t, s);
	/* Records still held were taken but never written: dropped as well. */
	output__status(p->out, &st);
	if (verbose || p->stats.lost || p->stats.bad_samples || s[NT_STAT_MAP_FULL] ||
	    s[NT_STAT_OUTPUT_FAIL] || skipped || s[NT_STAT_STALE] || s[NT_STAT_PENDING_FULL] ||
	    s[NT_STAT_ACCEPT_UNMATCHED] || nomem || st.dropped || st.held)
		fprintf(stderr,
			"nettracer: %llu records, %llu lost, %llu undecodable, %llu untracked "
			"(map full), %llu failed outputs, %llu skipped by the kernel, %llu stale "
			"entries removed, %llu accepts unmatched, %llu pending full, %llu deltas "
			"without memory, %llu dropped (output)\n",
			(unsigned long long)(p->stats.records - st.held),
			(unsigned long long)p->stats.lost, (unsigned long long)p->stats.bad_samples,
			(unsigned long long)s[NT_STAT_MAP_FULL],
			(unsigned long long)s[NT_STAT_OUTPUT_FAIL], (unsigned long long)skipped,
			(unsigned long long)s[NT_STAT_STALE],
			(unsigned long long)s[NT_STAT_ACCEPT_UNMATCHED],
			(unsigned long long)s[NT_STAT_PENDING_FULL], (unsigned long long)nomem,
			(unsigned long long)(st.dropped + st.held));
	if (verbose)
		fprintf(stderr,
			"nettracer: runs the kernel skipped: %s; nested state changes taken: %llu\n",
			detail, (unsigned long long)s[NT_STAT_NESTED]);
}

/* --cgroup=PATH, under the cgroup2 mount or absolute in it: *rel gets it relative to the mount,
 * the result is an open descriptor of its directory for the probes, or -1 with a message. */
static int open_cgroup_filter(const struct cgroups *cg, const char *path, const char **rel)
{
	const char *mount = cgroups__mount(cg);
	size_t n = strlen(mount);
	char full[4096];
	int fd;

	*rel = path;
	if (!strncmp(path, mount, n) && (path[n] == '/' || !path[n]))
		*rel = path[n] ? path + n : "/";
	if (**rel != '/' || snprintf(full, sizeof(full), "%s%s", mount, *rel) >= (int)sizeof(full)) {
		fprintf(stderr, "nettracer: --cgroup=%s: not a path in %s\n", path, mount);
		return -1;
	}
	fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "nettracer: --cgroup=%s: %s: %s\n", path, full, strerror(errno));
	return fd;
}

static const char *reset_reason(void *tracer, uint32_t value)
{
	return tracer__reset_reason(tracer, value);
}

static int run(const struct config *cfg)
{
	struct pipeline p = {
		.clock_offset = event_clock_offset(),
		.report_lost = cfg->tracer.filter.events & NT_REPORT_LOST,
	};
	struct tracer_opts opts = cfg->tracer;
	struct display v = { .p = &p, .sort = cfg->sort, .in_fd = -1 };
	struct snapshot_opts snap_opts = {};
	struct snapshot_stats snap = {};
	uint64_t interval_ns = cfg->interval * 1e9, next_dump, map_full_seen = 0;
	struct output_watch watch = {
		.name = cfg->output.path && strcmp(cfg->output.path, "-") ? cfg->output.path : "standard output",
	};
	struct json_sink js = {};
	struct tracer *t = NULL;
	char missing[512];
	const char *why;
	int err, ret = 1;

	opts.on_sample = pipeline_sample;
	opts.on_lost = pipeline_lost;
	opts.ctx = &p;
	if (missing_privileges(cfg, missing, sizeof(missing))) {
		fprintf(stderr, "nettracer: permission denied: needs %s; run it as root or grant "
			"them (see REQUIREMENTS in nettracer(8))\n", missing);
		return 1;
	}
	if (!cfg->output.path || strcmp(cfg->output.path, "-") == 0) {
		err = output_check_fd(STDOUT_FILENO);
		if (err) {
			fprintf(stderr, "nettracer: standard output is %s: records have nowhere to go "
				"(use -o FILE, or redirect it)\n",
				err == -EBADF ? "closed" : "not open for writing");
			return 1;
		}
	}
	/* Before anything is opened: a closed stdin's descriptor would go to the next file. */
	if (cfg->display && fcntl(STDIN_FILENO, F_GETFD) >= 0)
		v.in_fd = STDIN_FILENO;
	p.out = output__open(cfg->output.path);
	if (!p.out) {
		fprintf(stderr, "nettracer: cannot open output '%s': %s\n", watch.name,
			strerror(errno));
		return 1;
	}
	output__set_rotation(p.out, cfg->output.rotate_size, cfg->output.rotate_keep);
	p.metrics = metrics__new(cfg->incremental);
	js.out = p.out;
	js.fmt = json_fmt_new();
	if (!p.metrics || !js.fmt)
		goto out;
	p.sink = json_sink(&js);
	/* Without a cgroup2 mount records have ids but no paths, and --cgroup cannot work. */
	p.cgroups = cgroups__open(NULL);
	if (!p.cgroups && cfg->cgroup) {
		fprintf(stderr, "nettracer: --cgroup needs a cgroup2 file system: %s\n",
			strerror(errno));
		goto out;
	}
	snap_opts.cgroups = p.cgroups;
	if (cfg->cgroup) {
		opts.cgroup_fd = open_cgroup_filter(p.cgroups, cfg->cgroup, &snap_opts.cgroup_filter);
		if (opts.cgroup_fd < 0)
			goto out;
	}
	if (cfg->display) {
		v.table = table__new();
		if (!v.table)
			goto out;
		v.ansi = (!cfg->output.path || strcmp(cfg->output.path, "-") == 0) && isatty(STDOUT_FILENO);
		p.sink = (struct sink){ .record = table_sink_record, .ctx = v.table };
		p.report_lost = false; /* a gap in what the table shows is no record */
	}
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
	p.reset_reason = reset_reason;
	p.reset_reason_ctx = t;
	if (tracer__needs_offsets(t)) {
		err = guess_offsets(t);
		if (err)
			goto out;
	}
	err = snapshot_take(t, &snap_opts, &snap);
	if (err && err != -EOPNOTSUPP)
		fprintf(stderr, "nettracer: start-up snapshot incomplete: %s\n", strerror(-err));
	if (verbose)
		fprintf(stderr, "nettracer: %u existing connections tracked in %u namespaces\n",
			snap.tracked, snap.netns);
	/* Someone at a terminal otherwise sees nothing until the first connection. */
	if (!v.ansi && isatty(STDERR_FILENO))
		fprintf(stderr, "nettracer: tracing TCP (%s hooks, %s offsets), %s to %s; Ctrl-C stops\n",
			tracer__strategy(t), tracer__needs_offsets(t) ? "guessed" : "BTF",
			v.table ? "tables" : "NDJSON", watch.name);
	next_dump = now_ns(CLOCK_MONOTONIC) + interval_ns;
	if (v.table) {
		err = table_term_open(v.in_fd, v.ansi ? STDOUT_FILENO : -1);
		if (err) {
			fprintf(stderr, "nettracer: cannot set up the terminal: %s\n", strerror(-err));
			goto out;
		}
		next_dump = now_ns(CLOCK_MONOTONIC); /* the first table at once */
	}
	while (!stop && !p.err) {
		pipeline_clock(&p);
		err = tracer__poll(t, POLL_MS);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "nettracer: reading events: %s\n", strerror(-err));
			goto out;
		}
		if (v.table && display_keys(&v))
			next_dump = now_ns(CLOCK_MONOTONIC); /* Enter: the next one an interval later */
		if (v.table && table_term_changed())
			display_draw(&v); /* resized, or back from a stop: the same rows again */
		if (now_ns(CLOCK_MONOTONIC) >= next_dump) {
			next_dump += interval_ns;
			/* Without metrics to report, entries whose close was missed still go. */
			if (!v.table && !(cfg->tracer.filter.events & NT_REPORT_METRICS))
				err = tracer__sweep(t);
			else
				err = dump(t, &p, v.table ? &v : NULL);
			if (err && err != -EPIPE) {
				fprintf(stderr, "nettracer: metrics dump: %s\n", strerror(-err));
				goto out;
			}
			if (v.table)
				display_draw(&v);
			warn_map_full(t, cfg->tracer.map_size, &map_full_seen);
		}
		if (reopen) {
			reopen = 0;
			err = output__reopen(p.out);
			if (err)
				fprintf(stderr, "nettracer: reopening '%s': %s\n", cfg->output.path,
					strerror(-err));
		}
		if (!p.err) {
			pipeline_report_gap(&p);
			p.err = output__flush(p.out);
			watch_output(p.out, &watch);
		}
	}
	/* Samples below the wake-up threshold are still in the ring. */
	pipeline_clock(&p);
	tracer__consume(t);
	settle_lost(t, &p);
	if (!p.err) {
		/* Twice: a gap whose report did not fit is reported once the rest is written. */
		p.err = output__drain(p.out);
		pipeline_report_gap(&p);
		if (!p.err)
			p.err = output__drain(p.out);
	}
	if (p.err && p.err != -EPIPE) {
		struct output_status st;

		output__status(p.out, &st);
		fprintf(stderr, "nettracer: writing %s: %s; %llu records could not be written\n",
			watch.name, strerror(-p.err), (unsigned long long)st.held);
		goto out;
	}
	watch_output(p.out, &watch);
	ret = 0;
out:
	if (v.table)
		table_term_close(); /* before the summary, and replays what stderr got meanwhile */
	table__free(v.table);
	if (t)
		print_summary(t, &p);
	tracer__destroy(t);
	if (opts.cgroup_fd >= 0)
		close(opts.cgroup_fd);
	cgroups__destroy(p.cgroups);
	metrics__free(p.metrics);
	json_fmt_free(js.fmt);
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
