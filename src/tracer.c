/* libbpf: object per offset mode, attach strategy per kernel, perf buffer, map dump, destroy. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <ctype.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/socket.h>
#include "event.h"
#include "tracer.h"
#include "nettracer.skel.h"
#include "nettracer_offsets.skel.h"

#define MAX_HOOKS 6
#define RESET_GROUPS 2
/* Samples per wake-up of the reader, at most: a wake-up per sample costs more than the tracing
 * itself at high connection rates. Reader CPU per storm connection, 4 samples each, measured
 * here: 13.5 us with 16, 9.5 with 64, 9.2 with 256. tracer__poll also consumes periodically,
 * so rare samples still flow. */
#define WAKEUP_EVENTS_MAX 256
#define DUMP_BATCH 1024

/* The programs of either object (bpf/nettracer.bpf.c), taken from its skeleton by name at
 * compile time: a renamed program does not build. */
enum prog {
	PROG_NONE, /* ends a list of hooks */
	PROG_SET_STATE,
	PROG_SET_STATE_NESTED,
	PROG_FX_ACCEPT,	     /* the BTF object only */
	PROG_KR_ACCEPT,
	PROG_EXIT_ACCEPT4,
	PROG_EXIT_ACCEPT,
	PROG_ENTER_ACCEPT4,  /* the offsets object only: it cannot walk the fd table */
	PROG_ENTER_ACCEPT,   /* the offsets object only */
	PROG_RECEIVE_RESET,
	PROG_SEND_RESET_REASON,
	PROG_SEND_RESET,
	PROG_REFRESH,
	PROG_LOOKUP,
	PROG_PEEK,	     /* the offsets object only */
	NPROGS,
};

struct strategy {
	const char *name;
	enum attach_mode mode;
	/* NULL when usable, else why this kernel cannot use it. */
	const char *(*unavailable)(const struct tracer *t);
	enum prog hooks[MAX_HOOKS]; /* PROG_NONE-ended; those the object lacks are skipped */
};

struct tracer {
	/* One of the two skeletons, by offset mode; obj and the pointers below are its. */
	struct nettracer_bpf *btf_skel;
	struct nettracer_offsets_bpf *off_skel;
	struct bpf_object *obj;
	struct bpf_program *prog[NPROGS]; /* NULL: not in this object */
	struct bpf_map *conns, *stats, *events, *lookup_io, *cgroup_filter;
	struct nt_filter *filter; /* .rodata: writable until load */
	struct nettracer_offsets_bpf__bss *bss; /* the offsets object's globals, once loaded */
	bool offsets; /* the offset-based object: no BTF needed, offsets guessed */
	int conns_fd, stats_fd, refresh_fd, lookup_fd, lookup_io_fd;
	struct perf_buffer *pb;
	struct bpf_link *links[MAX_HOOKS + RESET_GROUPS];
	const struct strategy *strategy;
	char reason[160];
	tracer_sample_fn on_sample;
	tracer_lost_fn on_lost;
	void *ctx;
	__u64 *keys;
	struct nt_conn *values;
	char **reset_reasons; /* enum sk_rst_reason by value, lower case, from the kernel's BTF */
	unsigned int nreset_reasons;
};

static bool exists(const char *path)
{
	/* AT_EACCESS: access() drops capabilities when the real uid is not 0, and a service
	 * running as its own user reads the root-only tracefs with CAP_DAC_READ_SEARCH. */
	return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
}

static const char *fentry_unavailable(const struct tracer *t)
{
	if (t->offsets)
		return "needs BTF, and offsets are guessed";
	/* Trampolines need BTF; whether this kernel has them is known only by trying. */
	return exists("/sys/kernel/btf/vmlinux") ? NULL : "kernel has no BTF";
}

static const char *kprobe_unavailable(const struct tracer *t)
{
	return exists("/sys/bus/event_source/devices/kprobe/type") ? NULL
								    : "kernel has no kprobes";
}

static const char *tracepoint_unavailable(const struct tracer *t)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[128];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/events/syscalls/sys_exit_accept4/id", roots[i]);
		if (exists(path))
			return NULL;
	}
	/* libbpf finds tracepoint ids in tracefs: mount it where it belongs. */
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
	    exists("/sys/kernel/tracing/events/syscalls/sys_exit_accept4/id"))
		return NULL;
	return "tracefs is not mounted at /sys/kernel/tracing and could not be mounted there";
}

/* In the order "auto" tries them: cheapest hooks first. */
static const struct strategy strategies[] = {
	{ "fentry",
	  ATTACH_FENTRY,
	  fentry_unavailable,
	  { PROG_SET_STATE, PROG_SET_STATE_NESTED, PROG_FX_ACCEPT } },
	{ "kprobe",
	  ATTACH_KPROBE,
	  kprobe_unavailable,
	  { PROG_SET_STATE, PROG_SET_STATE_NESTED, PROG_KR_ACCEPT } },
	{ "tracepoint",
	  ATTACH_TRACEPOINT,
	  tracepoint_unavailable,
	  /* The enter hooks are the offset-based object's, which cannot walk the fd table. */
	  { PROG_SET_STATE, PROG_SET_STATE_NESTED, PROG_EXIT_ACCEPT4, PROG_EXIT_ACCEPT,
	    PROG_ENTER_ACCEPT4, PROG_ENTER_ACCEPT } },
};

/* Hooks of every strategy besides those above, rare events: of each group, the first that this
 * kernel attaches (the tracepoint's arguments grew). */
static const enum prog reset_hooks[RESET_GROUPS][2] = {
	{ PROG_RECEIVE_RESET },
	{ PROG_SEND_RESET_REASON, PROG_SEND_RESET },
};

/* The i-th hook of the strategy that this object has; NULL past the last. */
static struct bpf_program *hook(const struct tracer *t, unsigned int i)
{
	const enum prog *h = t->strategy->hooks;
	unsigned int n;

	for (n = 0; n < MAX_HOOKS && h[n]; n++)
		if (t->prog[h[n]] && !i--)
			return t->prog[h[n]];
	return NULL;
}

/* Programs that load whatever the strategy: test runs, and the hooks it attaches. */
static bool loads(const struct tracer *t, enum prog p)
{
	unsigned int i, j;

	if (p == PROG_REFRESH || p == PROG_LOOKUP || p == PROG_PEEK)
		return true;
	for (i = 0; i < MAX_HOOKS && t->strategy->hooks[i]; i++)
		if (t->strategy->hooks[i] == p)
			return true;
	for (i = 0; i < RESET_GROUPS; i++)
		for (j = 0; j < 2; j++)
			if (reset_hooks[i][j] == p)
				return true;
	return false;
}

/* The first program of a reset group that attaches; NULL with errno set when none does. */
static struct bpf_link *attach_first(struct tracer *t, const enum prog *group)
{
	struct bpf_link *link = NULL;
	unsigned int j;

	for (j = 0; j < 2 && group[j] && !link; j++)
		link = bpf_program__attach(t->prog[group[j]]);
	return link;
}

/* What both skeletons have under the same names. */
#define TAKE_COMMON(t, skel)                                                            \
	do {                                                                            \
		(t)->obj = (skel)->obj;                                                 \
		(t)->prog[PROG_SET_STATE] = (skel)->progs.tp_set_state;                 \
		(t)->prog[PROG_SET_STATE_NESTED] = (skel)->progs.tp_set_state_nested;   \
		(t)->prog[PROG_KR_ACCEPT] = (skel)->progs.kr_inet_csk_accept;           \
		(t)->prog[PROG_EXIT_ACCEPT4] = (skel)->progs.tp_exit_accept4;           \
		(t)->prog[PROG_EXIT_ACCEPT] = (skel)->progs.tp_exit_accept;             \
		(t)->prog[PROG_RECEIVE_RESET] = (skel)->progs.tp_receive_reset;         \
		(t)->prog[PROG_SEND_RESET_REASON] = (skel)->progs.tp_send_reset_reason; \
		(t)->prog[PROG_SEND_RESET] = (skel)->progs.tp_send_reset;               \
		(t)->prog[PROG_REFRESH] = (skel)->progs.refresh;                        \
		(t)->prog[PROG_LOOKUP] = (skel)->progs.lookup;                          \
		(t)->conns = (skel)->maps.conns;                                        \
		(t)->stats = (skel)->maps.stats;                                        \
		(t)->events = (skel)->maps.events;                                      \
		(t)->lookup_io = (skel)->maps.lookup_io;                                \
		(t)->cgroup_filter = (skel)->maps.cgroup_filter;                        \
		(t)->filter = &(skel)->rodata->filter;                                  \
	} while (0)

/* Opens the object of the offset mode (both come from bpf/nettracer.bpf.c; only the field
 * access differs). 0 or -errno. */
static int open_skeleton(struct tracer *t)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "nettracer");

	if (t->offsets) {
		t->off_skel = nettracer_offsets_bpf__open_opts(&open_opts);
		if (!t->off_skel)
			return -errno;
		TAKE_COMMON(t, t->off_skel);
		t->prog[PROG_ENTER_ACCEPT4] = t->off_skel->progs.tp_enter_accept4;
		t->prog[PROG_ENTER_ACCEPT] = t->off_skel->progs.tp_enter_accept;
		t->prog[PROG_PEEK] = t->off_skel->progs.peek;
	} else {
		t->btf_skel = nettracer_bpf__open_opts(&open_opts);
		if (!t->btf_skel)
			return -errno;
		TAKE_COMMON(t, t->btf_skel);
		t->prog[PROG_FX_ACCEPT] = t->btf_skel->progs.fx_inet_csk_accept;
	}
	return 0;
}

static int load_skeleton(struct tracer *t)
{
	int err;

	if (!t->offsets)
		return nettracer_bpf__load(t->btf_skel);
	err = nettracer_offsets_bpf__load(t->off_skel);
	if (err)
		return err;
	/* The skeleton maps .bss onto the kernel's copy at load. */
	t->bss = t->off_skel->bss;
	return 0;
}

static int load(struct tracer *t, const struct tracer_opts *opts, const char **why)
{
	struct bpf_program *prog;
	unsigned int i, j;
	int err;

	err = open_skeleton(t);
	if (err) {
		*why = "opening the BPF object";
		return err;
	}
	bpf_object__for_each_program(prog, t->obj)
		bpf_program__set_autoload(prog, false);
	for (i = 0; i < NPROGS; i++)
		if (t->prog[i] && loads(t, i))
			bpf_program__set_autoload(t->prog[i], true);
	bpf_map__set_max_entries(t->conns, opts->map_size);
	*t->filter = opts->filter; /* the only .rodata variable */
	err = load_skeleton(t);
	if (err) {
		*why = "loading the BPF programs";
		return err;
	}
	if (t->offsets && !t->bss) {
		*why = "mapping the BPF global variables";
		return -ENOENT;
	}
	t->conns_fd = bpf_map__fd(t->conns);
	t->stats_fd = bpf_map__fd(t->stats);
	t->refresh_fd = bpf_program__fd(t->prog[PROG_REFRESH]);
	t->lookup_fd = bpf_program__fd(t->prog[PROG_LOOKUP]);
	t->lookup_io_fd = bpf_map__fd(t->lookup_io);
	if (opts->cgroup_fd >= 0) {
		__u32 zero = 0, fd = opts->cgroup_fd;

		if (bpf_map_update_elem(bpf_map__fd(t->cgroup_filter), &zero, &fd, BPF_ANY)) {
			*why = "setting the cgroup filter";
			return -errno;
		}
	}
	for (i = 0; (prog = hook(t, i)); i++) {
		t->links[i] = bpf_program__attach(prog);
		if (!t->links[i]) {
			*why = "attaching the BPF programs";
			return -errno;
		}
	}
	for (j = 0; j < RESET_GROUPS; j++, i++) {
		t->links[i] = attach_first(t, reset_hooks[j]);
		if (!t->links[i]) {
			*why = "attaching the BPF programs for resets";
			return -errno;
		}
	}
	return 0;
}

static void unload(struct tracer *t)
{
	unsigned int i;

	for (i = 0; i < sizeof(t->links) / sizeof(t->links[0]); i++) {
		bpf_link__destroy(t->links[i]);
		t->links[i] = NULL;
	}
	/* The skeletons unmap their globals and close their object. */
	nettracer_bpf__destroy(t->btf_skel);
	nettracer_offsets_bpf__destroy(t->off_skel);
	t->btf_skel = NULL;
	t->off_skel = NULL;
	t->obj = NULL;
	t->bss = NULL;
	memset(t->prog, 0, sizeof(t->prog));
}

static enum bpf_perf_event_ret on_perf_event(void *ctx, int cpu, struct perf_event_header *hdr)
{
	struct tracer *t = ctx;

	if (hdr->type == PERF_RECORD_SAMPLE) {
		struct {
			struct perf_event_header hdr;
			__u32 size;
			char data[];
		} *s = (void *)hdr;

		t->on_sample(t->ctx, cpu, s->data, s->size);
	} else if (hdr->type == PERF_RECORD_LOST) {
		struct {
			struct perf_event_header hdr;
			__u64 id;
			__u64 lost;
		} *l = (void *)hdr;

		t->on_lost(t->ctx, cpu, l->lost);
	}
	return LIBBPF_PERF_EVENT_CONT;
}

/* Wakes the reader when a quarter of a small ring is full, and every WAKEUP_EVENTS_MAX samples
 * of a large one: a batch never comes near filling the ring. */
static unsigned int wakeup_events(unsigned int pages)
{
	unsigned long fit = (unsigned long)pages * getpagesize() / sizeof(struct nt_event) / 4;

	return fit < 1 ? 1 : fit > WAKEUP_EVENTS_MAX ? WAKEUP_EVENTS_MAX : fit;
}

static int open_perf_buffer(struct tracer *t, unsigned int pages, const char **why)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_BPF_OUTPUT,
		.sample_type = PERF_SAMPLE_RAW,
		.sample_period = 1,
		.wakeup_events = wakeup_events(pages),
	};

	t->pb = perf_buffer__new_raw(bpf_map__fd(t->events), pages, &attr, on_perf_event, t, NULL);
	if (!t->pb) {
		*why = "creating the perf buffer";
		return -errno;
	}
	return 0;
}

struct tracer *tracer__open(const struct tracer_opts *opts, const char **why)
{
	struct tracer *t = calloc(1, sizeof(*t));
	const char *skip;
	unsigned int i;
	int err = -ENOENT;

	if (!t)
		return NULL;
	t->offsets = opts->offsets == OFFSETS_GUESS ||
		     (opts->offsets == OFFSETS_AUTO && access("/sys/kernel/btf/vmlinux", R_OK));
	t->on_sample = opts->on_sample;
	t->on_lost = opts->on_lost;
	t->ctx = opts->ctx;
	t->keys = calloc(DUMP_BATCH, sizeof(*t->keys));
	t->values = calloc(DUMP_BATCH, sizeof(*t->values));
	if (!t->keys || !t->values) {
		err = -ENOMEM;
		*why = "allocating";
		goto err_free;
	}
	*why = "choosing an attach strategy";
	for (i = 0; i < sizeof(strategies) / sizeof(strategies[0]); i++) {
		const struct strategy *s = &strategies[i];

		if (opts->attach != ATTACH_AUTO && opts->attach != s->mode)
			continue;
		skip = s->unavailable(t);
		if (skip) {
			snprintf(t->reason + strlen(t->reason), sizeof(t->reason) - strlen(t->reason),
				 "%s: %s; ", s->name, skip);
			err = -EOPNOTSUPP;
			continue;
		}
		t->strategy = s;
		err = load(t, opts, why);
		if (!err)
			break;
		snprintf(t->reason + strlen(t->reason), sizeof(t->reason) - strlen(t->reason),
			 "%s: %s failed (%s); ", s->name, *why, strerror(-err));
		unload(t);
		t->strategy = NULL;
	}
	if (!t->strategy)
		goto err_free;
	snprintf(t->reason + strlen(t->reason), sizeof(t->reason) - strlen(t->reason),
		 "%s: attached; offsets from %s", t->strategy->name,
		 t->offsets ? "guessing" : "BTF (CO-RE)");
	err = open_perf_buffer(t, opts->perf_pages, why);
	if (err)
		goto err_unload;
	return t;
err_unload:
	unload(t);
err_free:
	free(t->keys);
	free(t->values);
	free(t);
	errno = -err;
	return NULL;
}

const char *tracer__strategy(const struct tracer *t)
{
	return t->strategy->name;
}

const char *tracer__reason(const struct tracer *t)
{
	return t->reason;
}

int tracer__poll(struct tracer *t, int timeout_ms)
{
	int n = perf_buffer__poll(t->pb, timeout_ms);

	if (n < 0 && n != -EINTR)
		return n;
	/* Samples below the wake-up threshold wait in the ring until someone looks. */
	return perf_buffer__consume(t->pb);
}

int tracer__consume(struct tracer *t)
{
	return perf_buffer__consume(t->pb);
}

static int dump_one_by_one(struct tracer *t, int fd, tracer_conn_fn fn, void *ctx)
{
	__u64 key, next, *prev = NULL;
	struct nt_conn conn;
	int err;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &conn))
			continue; /* closed meanwhile */
		err = fn(ctx, key, &conn);
		if (err)
			return err;
	}
	return 0;
}

int tracer__sweep(struct tracer *t)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);

	return bpf_prog_test_run_opts(t->refresh_fd, &run);
}

int tracer__dump(struct tracer *t, tracer_conn_fn fn, void *ctx)
{
	int fd = t->conns_fd;
	__u64 batch = 0;
	__u32 i, n;
	bool first = true;
	int err;

	err = tracer__sweep(t);
	if (err)
		return err;
	for (;;) {
		n = DUMP_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, t->keys, t->values,
					   &n, NULL);
		if (err && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == 524 /* ENOTSUPP */ || errno == EOPNOTSUPP))
				return dump_one_by_one(t, fd, fn, ctx);
			return -errno;
		}
		first = false;
		for (i = 0; i < n; i++) {
			int ret = fn(ctx, t->keys[i], &t->values[i]);

			if (ret)
				return ret;
		}
		if (err) /* ENOENT: that was the last batch */
			return 0;
	}
}

int tracer__lookup(struct tracer *t, const struct nt_tuple *tuple, uint64_t *sk)
{
	static const char packet[64]; /* test runs of tc programs need an Ethernet frame */
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet, .data_size_in = sizeof(packet));
	const uint8_t *v4s, *v4d;
	bool v4 = event_tuple_v4(tuple, &v4s, &v4d);
	struct nt_lookup io = { .sport = tuple->sport, .dport = tuple->dport, .v6 = !v4 };
	__u32 zero = 0;
	int err;

	/* A v4-mapped connection is found by its IPv4 addresses, as its packets are. */
	memcpy(io.saddr, v4 ? v4s : tuple->saddr, v4 ? 4 : 16);
	memcpy(io.daddr, v4 ? v4d : tuple->daddr, v4 ? 4 : 16);
	if (bpf_map_update_elem(t->lookup_io_fd, &zero, &io, BPF_ANY))
		return -errno;
	err = bpf_prog_test_run_opts(t->lookup_fd, &run);
	if (err)
		return err;
	if (bpf_map_lookup_elem(t->lookup_io_fd, &zero, &io))
		return -errno;
	*sk = io.sk;
	return 0;
}

int tracer__track(struct tracer *t, uint64_t sk, const struct nt_conn *conn)
{
	__u64 key = sk;

	if (bpf_map_update_elem(t->conns_fd, &key, conn, BPF_NOEXIST))
		return -errno;
	return 0;
}

bool tracer__needs_offsets(const struct tracer *t)
{
	return t->offsets;
}

int tracer__guess_begin(struct tracer *t, uint32_t tgid)
{
	if (!t->bss)
		return -EOPNOTSUPP;
	t->bss->guess_sk = 0;
	t->bss->guess_tgid = tgid;
	return 0;
}

uint64_t tracer__guess_sk(struct tracer *t)
{
	return t->bss->guess_sk;
}

int tracer__peek(struct tracer *t, uint64_t addr, void *buf)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	int err;

	t->bss->peek_addr = addr;
	err = bpf_prog_test_run_opts(bpf_program__fd(t->prog[PROG_PEEK]), &run);
	if (err)
		return err;
	if (run.retval)
		return (int)run.retval; /* bpf_probe_read_kernel() failed: not readable memory */
	memcpy(buf, t->bss->peek_buf, NT_PEEK_SIZE);
	return 0;
}

void tracer__set_offsets(struct tracer *t, const struct nt_offsets *offsets)
{
	t->bss->nt_offsets = *offsets;
	/* The probes read nt_offsets only once they see nt_ready. */
	__atomic_store_n(&t->bss->nt_ready, 1, __ATOMIC_RELEASE);
}

int tracer__ncpu(void)
{
	return libbpf_num_possible_cpus();
}

int tracer__stat_per_cpu(struct tracer *t, unsigned int stat, uint64_t *values, int ncpu)
{
	__u64 v[ncpu > 0 ? ncpu : 1];
	__u32 key = stat;
	int cpu;

	if (ncpu != libbpf_num_possible_cpus() || bpf_map_lookup_elem(t->stats_fd, &key, v))
		return -EINVAL;
	for (cpu = 0; cpu < ncpu; cpu++)
		values[cpu] = v[cpu];
	return 0;
}

int tracer__stats(struct tracer *t, uint64_t stats[NT_STAT_MAX])
{
	int ncpu = tracer__ncpu(), cpu, err;
	uint64_t values[ncpu > 0 ? ncpu : 1];
	unsigned int key;

	for (key = 0; key < NT_STAT_MAX; key++) {
		stats[key] = 0;
		err = tracer__stat_per_cpu(t, key, values, ncpu);
		if (err)
			return err;
		for (cpu = 0; cpu < ncpu; cpu++)
			stats[key] += values[cpu];
	}
	return 0;
}

uint64_t tracer__missed(struct tracer *t, char *detail, size_t size)
{
	uint64_t stats[NT_STAT_MAX] = {}, first = 0, others = 0;
	struct bpf_program *prog;
	unsigned int i;
	size_t n = 0;

	for (i = 0; (prog = hook(t, i)); i++) {
		const char *name = bpf_program__name(prog);
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			continue;
		if (detail && n < size)
			n += snprintf(detail + n, size - n, "%s%s %llu", n ? ", " : "", name,
				      (unsigned long long)info.recursion_misses);
		/* The second state change program takes what the first misses; its own skips
		 * come while it runs, when the first was idle and took the change. */
		if (prog == t->prog[PROG_SET_STATE])
			first += info.recursion_misses;
		else if (prog != t->prog[PROG_SET_STATE_NESTED])
			others += info.recursion_misses;
	}
	/* Read after the misses: a change in between is then seen taken, never missed alone. Only
	 * the first program's misses are offset by what the second took. */
	tracer__stats(t, stats);
	return (first > stats[NT_STAT_NESTED] ? first - stats[NT_STAT_NESTED] : 0) + others;
}

/* "SK_RST_REASON_TCP_OLD_ACK" → "tcp_old_ack": the kernel's name, as the man page shows it. */
static char *reason_name(const char *enumerator)
{
	static const char prefix[] = "SK_RST_REASON_";
	char *name, *p;

	if (!strncmp(enumerator, prefix, sizeof(prefix) - 1))
		enumerator += sizeof(prefix) - 1;
	name = strdup(enumerator);
	for (p = name; p && *p; p++)
		*p = tolower((unsigned char)*p);
	return name;
}

const char *tracer__reset_reason(struct tracer *t, uint32_t value)
{
	const struct btf_type *type;
	const struct btf_enum *e;
	struct btf *btf;
	unsigned int i, n;
	int id;

	if (!t->reset_reasons && !t->nreset_reasons) {
		t->nreset_reasons = 1; /* tried once, whatever comes of it */
		btf = btf__load_vmlinux_btf();
		id = btf ? btf__find_by_name_kind(btf, "sk_rst_reason", BTF_KIND_ENUM) : -1;
		type = id > 0 ? btf__type_by_id(btf, id) : NULL;
		n = type ? btf_vlen(type) : 0;
		t->reset_reasons = n ? calloc(n, sizeof(*t->reset_reasons)) : NULL;
		if (t->reset_reasons) {
			for (i = 0, e = btf_enum(type); i < n; i++, e++)
				if (e->val >= 0 && (unsigned int)e->val < n)
					t->reset_reasons[e->val] =
						reason_name(btf__name_by_offset(btf, e->name_off));
			t->nreset_reasons = n;
		}
		btf__free(btf);
	}
	return t->reset_reasons && value < t->nreset_reasons ? t->reset_reasons[value] : NULL;
}

void tracer__destroy(struct tracer *t)
{
	unsigned int i;

	if (!t)
		return;
	for (i = 0; t->reset_reasons && i < t->nreset_reasons; i++)
		free(t->reset_reasons[i]);
	free(t->reset_reasons);
	perf_buffer__free(t->pb);
	unload(t);
	free(t->keys);
	free(t->values);
	free(t);
}
