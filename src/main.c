/* nettracer: options → tracer → loop → teardown; signals and exit codes. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include "guess_driver.h"
#include "input.h"
#include "json.h"
#include "json_sink.h"
#include "metrics.h"
#include "output.h"
#include "pipeline.h"
#include "snapshot.h"
#include "display.h"
#include "tracer.h"

#define POLL_MS 200 /* bounds the delay of a rare record: it waits for a wake-up batch */
#define READ_BATCH 4096 /* --input: records read between looks at the keys and the clock */

static volatile sig_atomic_t stop, reopen;

/* -d on a terminal: a hangup (the terminal went away) ends it, as it ends any program there;
 * otherwise SIGHUP asks for the -o file to be opened again (log rotation). */
static volatile sig_atomic_t hangup_stops;

static void on_signal(int sig)
{
	if (sig == SIGHUP && !hangup_stops)
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
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", "offset guessing: TCP_REPAIR" },
	{ CAP_NET_RAW, "CAP_NET_RAW", "offset guessing: ICMP errors for sk_err" },
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
		if ((cap == CAP_NET_ADMIN || cap == CAP_NET_RAW) && !may_guess(cfg))
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
	if (err == -ENOENT || err == -ENOTUNIQ) {
		fprintf(stderr, "nettracer: guessing kernel offsets failed after %u ms: %s %s\n",
			ms, err == -ENOENT ? "no offset fits" : "more than one offset fits",
			guess_field_name(errno));
		return err;
	}
	if (err) {
		fprintf(stderr, "nettracer: guessing kernel offsets failed after %u ms: %s\n", ms,
			strerror(-err));
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

	if (v)
		display__begin_dump(v, d.time_ns);
	/* Closes first: their final counters must precede the dump that no longer has them. */
	tracer__consume(t);
	metrics__begin(p->metrics);
	err = tracer__dump(t, dump_conn, &d);
	metrics__end(p->metrics);
	return err;
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
	    s[NT_STAT_ACCEPT_UNMATCHED] || s[NT_STAT_UNSEEN] || nomem || st.dropped || st.held ||
	    p->stats.format_failed)
		fprintf(stderr,
			"nettracer: %llu records, %llu lost, %llu undecodable, %llu untracked "
			"(map full), %llu failed outputs, %llu skipped by the kernel, %llu stale "
			"entries removed, %llu accepts unmatched, %llu pending full, %llu unseen "
			"establishments, %llu deltas without memory, %llu dropped (output), %llu too "
			"long to format\n",
			(unsigned long long)(p->stats.records - st.held),
			(unsigned long long)p->stats.lost, (unsigned long long)p->stats.bad_samples,
			(unsigned long long)s[NT_STAT_MAP_FULL],
			(unsigned long long)s[NT_STAT_OUTPUT_FAIL], (unsigned long long)skipped,
			(unsigned long long)s[NT_STAT_STALE],
			(unsigned long long)s[NT_STAT_ACCEPT_UNMATCHED],
			(unsigned long long)s[NT_STAT_PENDING_FULL],
			(unsigned long long)s[NT_STAT_UNSEEN], (unsigned long long)nomem,
			(unsigned long long)(st.dropped + st.held),
			(unsigned long long)p->stats.format_failed);
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

/* Everything one run holds, for the steps of run() below. */
struct run {
	const struct config *cfg;
	struct pipeline p;
	struct json_sink js;
	struct display *v; /* -d */
	struct tracer *t;
	struct tracer_opts topts;
	struct snapshot_opts snap_opts;
	struct output_watch watch;
	int in_fd; /* -d: the keys */
	bool own_in_fd;	    /* in_fd is /dev/tty, opened here */
	struct input *in;   /* -d --input */
	bool live;	    /* the table is redrawn as records come (not: one table at the end) */
	uint64_t dump_time; /* --input: time of the dump being read (its metrics records' time) */
	uint64_t read;	    /* --input: records read */
};

static bool to_stdout(const struct config *cfg)
{
	return !cfg->output.path || strcmp(cfg->output.path, "-") == 0;
}

/* Privileges, and somewhere for records to go. 0, or -1 with a message. */
static int check_start(const struct config *cfg)
{
	char missing[512];
	int err;

	/* Records read back need no kernel: reading the file is the only permission. */
	if (!cfg->input && missing_privileges(cfg, missing, sizeof(missing))) {
		fprintf(stderr, "nettracer: permission denied: needs %s; run it as root or grant "
			"them (see REQUIREMENTS in nettracer(8))\n", missing);
		return -1;
	}
	if (to_stdout(cfg)) {
		err = output_check_fd(STDOUT_FILENO);
		if (err) {
			fprintf(stderr, "nettracer: standard output is %s: records have nowhere to go "
				"(use -o FILE, or redirect it)\n",
				err == -EBADF ? "closed" : "not open for writing");
			return -1;
		}
	}
	return 0;
}

/* The output, the metrics and the sink records go to: JSON lines, or the -d table. */
static int open_pipeline(struct run *r)
{
	const struct config *cfg = r->cfg;

	r->p.out = output__open(cfg->output.path);
	if (!r->p.out) {
		fprintf(stderr, "nettracer: cannot open output '%s': %s\n", r->watch.name,
			strerror(errno));
		return -1;
	}
	output__set_rotation(r->p.out, cfg->output.rotate_size, cfg->output.rotate_keep);
	r->p.metrics = metrics__new(cfg->incremental);
	r->js.out = r->p.out;
	r->js.format = cfg->format;
	r->js.fmt = json_fmt_new();
	if (!r->p.metrics || !r->js.fmt)
		return -1;
	r->p.sink = json_sink(&r->js);
	if (cfg->display) {
		r->v = display__new(&r->p, cfg->sort, r->in_fd,
				    r->live && to_stdout(cfg) && isatty(STDOUT_FILENO));
		if (!r->v)
			return -1;
		r->p.sink = display__sink(r->v);
		r->p.report_lost = false; /* a gap in what the table shows is no record */
	}
	return 0;
}

/* The cgroup2 mount that names the records' cgroups, and the --cgroup filter. 0, or -1 with a
 * message. */
static int open_cgroups(struct run *r)
{
	const struct config *cfg = r->cfg;

	/* Without a cgroup2 mount records have ids but no paths, and --cgroup cannot work. */
	r->p.cgroups = cgroups__open(NULL);
	if (!r->p.cgroups && cfg->cgroup) {
		fprintf(stderr, "nettracer: --cgroup needs a cgroup2 file system: %s\n",
			strerror(errno));
		return -1;
	}
	r->snap_opts.cgroups = r->p.cgroups;
	if (cfg->cgroup) {
		r->topts.cgroup_fd =
			open_cgroup_filter(r->p.cgroups, cfg->cgroup, &r->snap_opts.cgroup_filter);
		if (r->topts.cgroup_fd < 0)
			return -1;
	}
	return 0;
}

/* --input: the records to read, and where the keys come from when they come on stdin. A
 * regular file without --follow is read to its end and gives one plain table; a pipe, or
 * --follow, a live one. 0, or -1 with a message. */
static int open_input(struct run *r)
{
	const char *path = r->cfg->input;

	r->in = input__open(path, r->cfg->follow);
	if (!r->in) {
		fprintf(stderr, "nettracer: cannot open input '%s': %s\n", path, strerror(errno));
		return -1;
	}
	r->live = r->cfg->follow || input__fd(r->in) >= 0;
	if (strcmp(path, "-") == 0 && r->live) {
		r->in_fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
		r->own_in_fd = r->in_fd >= 0;
	}
	return 0;
}

static void take_snapshot(struct run *r)
{
	struct snapshot_stats snap = {};
	int err;

	err = snapshot_take(r->t, &r->snap_opts, &snap);
	if (err && err != -EOPNOTSUPP)
		fprintf(stderr, "nettracer: start-up snapshot incomplete: %s\n", strerror(-err));
	if (verbose)
		fprintf(stderr, "nettracer: %u existing connections tracked in %u namespaces\n",
			snap.tracked, snap.netns);
}

/* Probes loaded and attached, offsets known, existing connections tracked. */
static int start_tracer(struct run *r)
{
	const char *why;

	r->t = tracer__open(&r->topts, &why);
	if (!r->t) {
		fprintf(stderr, "nettracer: %s: %s%s\n", why, strerror(errno),
			verbose ? "" : " (run with -v for details)");
		return -1;
	}
	if (verbose)
		fprintf(stderr, "nettracer: attach strategy %s (%s)\n", tracer__strategy(r->t),
			tracer__reason(r->t));
	r->p.reset_reason = reset_reason;
	r->p.reset_reason_ctx = r->t;
	if (tracer__needs_offsets(r->t) && guess_offsets(r->t))
		return -1;
	take_snapshot(r);
	return 0;
}
/* Someone at a terminal otherwise sees nothing until the first connection. */
static void say_started(const struct run *r)
{
	if (!(r->cfg->display && to_stdout(r->cfg) && isatty(STDOUT_FILENO)) &&
	    isatty(STDERR_FILENO))
		fprintf(stderr, "nettracer: tracing TCP (%s hooks, %s offsets), %s to %s; Ctrl-C stops\n",
			tracer__strategy(r->t), tracer__needs_offsets(r->t) ? "guessed" : "BTF",
			r->v ? "tables" : "NDJSON", r->watch.name);
}

/* -d on a terminal: the terminal is ours until the end. 0, or -1 with a message. */
static int start_display(struct run *r)
{
	int err;

	if (!r->v || !r->live)
		return 0;
	err = display__start(r->v);
	if (err)
		fprintf(stderr, "nettracer: cannot set up the terminal: %s\n", strerror(-err));
	return err ? -1 : 0;
}

/* A metrics dump (or, without metrics to report, a sweep of entries whose close was missed). */
static int dump_due(struct run *r)
{
	int err;

	if (!r->v && !(r->cfg->tracer.filter.events & NT_REPORT_METRICS))
		err = tracer__sweep(r->t);
	else
		err = dump(r->t, &r->p, r->v);
	if (err && err != -EPIPE) {
		fprintf(stderr, "nettracer: metrics dump: %s\n", strerror(-err));
		return -1;
	}
	if (r->v)
		display__draw(r->v);
	return 0;
}

/* SIGHUP's reopen, a gap's report, what is held written, and a word when writing fails. */
static void tend_output(struct run *r)
{
	int err;

	if (reopen) {
		reopen = 0;
		err = output__reopen(r->p.out);
		if (err)
			fprintf(stderr, "nettracer: reopening '%s': %s\n", r->cfg->output.path,
				strerror(-err));
	}
	if (!r->p.err) {
		pipeline_report_gap(&r->p);
		r->p.err = output__flush(r->p.out);
		watch_output(r->p.out, &r->watch);
	}
}

/* Until a signal, q, or the reader leaves: samples, dumps every interval, SIGHUP, flushes. */
static int trace(struct run *r)
{
	uint64_t interval_ns = r->cfg->interval * 1e9, next_dump, map_full_seen = 0;
	int err;

	next_dump = now_ns(CLOCK_MONOTONIC) + (r->v ? 0 : interval_ns); /* -d: a table at once */
	while (!stop && !r->p.err) {
		pipeline_clock(&r->p);
		err = tracer__poll(r->t, POLL_MS);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "nettracer: reading events: %s\n", strerror(-err));
			return -1;
		}
		if (r->v) {
			int keys = display__poll(r->v);

			if (keys & DISPLAY_QUIT)
				stop = 1;
			if (keys & DISPLAY_DUMP)
				next_dump = now_ns(CLOCK_MONOTONIC); /* the next one an interval later */
		}
		if (now_ns(CLOCK_MONOTONIC) >= next_dump) {
			next_dump += interval_ns;
			if (dump_due(r))
				return -1;
			warn_map_full(r->t, r->cfg->tracer.map_size, &map_full_seen);
		}
		tend_output(r);
	}
	return 0;
}

/* The records waiting in the input, at most READ_BATCH of them, to the table: a metrics record
 * of a new time begins a new dump. 0 when the rest is still to come, 1 at the end of the input,
 * 2 when more is waiting; -1 with a message when reading fails. */
static int read_input(struct run *r)
{
	struct record rec;
	unsigned int n;
	int err;

	for (n = 0; n < READ_BATCH && !r->p.err; n++) {
		err = input__read(r->in, &rec);
		if (err == -EAGAIN)
			return 0;
		if (err == -ENODATA)
			return 1;
		if (err) {
			fprintf(stderr, "nettracer: reading %s: %s\n",
				strcmp(r->cfg->input, "-") ? r->cfg->input : "standard input",
				strerror(-err));
			return -1;
		}
		r->read++;
		/* One dump's records share its time: the writer takes it once per dump. */
		if (rec.type == RECORD_METRICS && rec.time_ns != r->dump_time) {
			r->dump_time = rec.time_ns;
			display__begin_dump(r->v, rec.time_ns);
		}
		pipeline_replay(&r->p, &rec);
	}
	return 2;
}

/* Until a poll() timeout, a key or more input: the input's descriptor when it has one (a pipe),
 * otherwise the file is read again after POLL_MS, as tail -F does. */
static void wait_input(struct run *r)
{
	struct pollfd fds[2];
	nfds_t n = 0;

	if (input__fd(r->in) >= 0)
		fds[n++] = (struct pollfd){ .fd = input__fd(r->in), .events = POLLIN };
	if (r->in_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = r->in_fd, .events = POLLIN };
	poll(fds, n, POLL_MS);
	/* A terminal that hung up answers every poll at once: keys are no longer read. */
	if (r->in_fd >= 0 && (fds[n - 1].revents & (POLLHUP | POLLERR | POLLNVAL)))
		r->in_fd = -1;
}

/* -d --input: records read back until the input ends, q or a signal; while it goes on the table
 * is drawn every interval and on Enter (live), and at the end once more, as plain text. */
static int replay(struct run *r)
{
	uint64_t interval_ns = r->cfg->interval * 1e9, next_draw = now_ns(CLOCK_MONOTONIC);
	int got = 0, keys;

	while (!stop && !r->p.err && got != 1) {
		got = read_input(r);
		if (got < 0)
			return -1;
		if (!r->live)
			continue;
		keys = display__poll(r->v);

		if (keys & DISPLAY_QUIT)
			stop = 1;
		if (keys & DISPLAY_DUMP)
			next_draw = now_ns(CLOCK_MONOTONIC);
		if (now_ns(CLOCK_MONOTONIC) >= next_draw) {
			next_draw = now_ns(CLOCK_MONOTONIC) + interval_ns;
			display__draw(r->v);
		}
		if (got == 0)
			wait_input(r);
		tend_output(r);
	}
	if (got == 1 && !r->p.err) {
		/* The end of the input: its last table stays, on the main screen. */
		display__stop(r->v);
		display__draw(r->v);
	}
	return 0;
}

/* What the ring and the output still hold, written; 0, or -1 when it could not be. */
static int finish(struct run *r)
{
	struct pipeline *p = &r->p;

	if (r->t) {
		/* Samples below the wake-up threshold are still in the ring. */
		pipeline_clock(p);
		tracer__consume(r->t);
		settle_lost(r->t, p);
		/* Entries whose close no hook saw are counted in the summary, not only at dumps. */
		tracer__sweep(r->t);
	}
	if (!p->err) {
		/* Twice: a gap whose report did not fit is reported once the rest is written. */
		p->err = output__drain(p->out);
		pipeline_report_gap(p);
		if (!p->err)
			p->err = output__drain(p->out);
	}
	if (p->err && p->err != -EPIPE) {
		struct output_status st;

		output__status(p->out, &st);
		fprintf(stderr, "nettracer: writing %s: %s; %llu records could not be written\n",
			r->watch.name, strerror(-p->err), (unsigned long long)st.held);
		return -1;
	}
	watch_output(p->out, &r->watch);
	return 0;
}

static void teardown(struct run *r)
{
	display__free(r->v); /* before the summary, and replays what stderr got meanwhile */
	if (r->t)
		print_summary(r->t, &r->p);
	/* Said always: a count of lines that were not records is the one sign of a wrong file. */
	if (r->in)
		fprintf(stderr, "nettracer: %llu records read, %llu lines skipped (not nettracer "
			"records)\n", (unsigned long long)r->read,
			(unsigned long long)input__skipped(r->in));
	input__close(r->in);
	if (r->own_in_fd)
		close(r->in_fd);
	tracer__destroy(r->t);
	if (r->topts.cgroup_fd >= 0)
		close(r->topts.cgroup_fd);
	cgroups__destroy(r->p.cgroups);
	metrics__free(r->p.metrics);
	json_fmt_free(r->js.fmt);
	output__close(r->p.out);
}

static int run(const struct config *cfg)
{
	struct run r = {
		.cfg = cfg,
		.p.clock_offset = event_clock_offset(),
		.p.report_lost = cfg->tracer.filter.events & NT_REPORT_LOST,
		.topts = cfg->tracer,
		.watch.name = to_stdout(cfg) ? "standard output" : cfg->output.path,
		.in_fd = -1,
		.live = true,
	};
	int ret = 1;

	r.topts.on_sample = pipeline_sample;
	r.topts.on_lost = pipeline_lost;
	r.topts.ctx = &r.p;
	if (check_start(cfg))
		return 1;
	/* Before anything is opened: a closed stdin's descriptor would go to the next file. */
	if (cfg->display && fcntl(STDIN_FILENO, F_GETFD) >= 0 &&
	    !(cfg->input && strcmp(cfg->input, "-") == 0))
		r.in_fd = STDIN_FILENO;
	hangup_stops = cfg->display && to_stdout(cfg) && isatty(STDOUT_FILENO);
	if (cfg->input) {
		/* Records read back: no tracer, no snapshot, no guessing. */
		if (open_input(&r) || open_pipeline(&r))
			goto out;
		install_signals();
		if (!start_display(&r) && !replay(&r) && !finish(&r))
			ret = 0;
		goto out;
	}
	if (open_pipeline(&r) || open_cgroups(&r))
		goto out;
	install_signals();
	if (start_tracer(&r))
		goto out;
	say_started(&r);
	if (!start_display(&r) && !trace(&r) && !finish(&r))
		ret = 0;
out:
	teardown(&r);
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
