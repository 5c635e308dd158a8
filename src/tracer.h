/* The BPF side as one object: choose hooks for this kernel, load, attach, read, detach. */
#ifndef NT_TRACER_H
#define NT_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "../bpf/nettracer.h"

struct tracer;

/* --attach: which hooks; auto takes the cheapest this kernel has. */
enum attach_mode {
	ATTACH_AUTO,
	ATTACH_TRACEPOINT,
	ATTACH_KPROBE,
	ATTACH_FENTRY,
};

/* --offsets: where the probes get struct offsets from; auto guesses without kernel BTF. */
enum offsets_mode {
	OFFSETS_AUTO,
	OFFSETS_BTF,
	OFFSETS_GUESS,
};

typedef void (*tracer_sample_fn)(void *ctx, int cpu, const void *data, size_t size);
typedef void (*tracer_lost_fn)(void *ctx, int cpu, uint64_t count);
typedef int (*tracer_conn_fn)(void *ctx, uint64_t sk, const struct nt_conn *conn);

/* What the command line chooses (cli.c fills it), and where samples go (main.c fills that). */
struct tracer_opts {
	enum attach_mode attach;
	enum offsets_mode offsets;
	unsigned int map_size;
	unsigned int perf_pages;
	struct nt_filter filter; /* -p, --port, --netns, --no-loopback, --events, --cgroup */
	int cgroup_fd; /* with filter->cgroup: an open cgroup v2 directory; -1 otherwise */
	tracer_sample_fn on_sample;
	tracer_lost_fn on_lost;
	void *ctx;
};

/* Loads and attaches. NULL with errno set; *why names the step that failed. */
struct tracer *tracer__open(const struct tracer_opts *opts, const char **why);
/* The attach strategy in use and why it was chosen. */
const char *tracer__strategy(const struct tracer *t);
const char *tracer__reason(const struct tracer *t);
/* Waits up to timeout_ms for samples, then hands every pending sample to on_sample. */
int tracer__poll(struct tracer *t, int timeout_ms);
/* Hands over every pending sample without waiting. */
int tracer__consume(struct tracer *t);
/* Removes the entries of connections that are gone without a close seen (counted as
 * NT_STAT_STALE) and refreshes the counters of the others. 0 or -errno. */
int tracer__sweep(struct tracer *t);
/* tracer__sweep, then calls fn for every tracked connection. */
int tracer__dump(struct tracer *t, tracer_conn_fn fn, void *ctx);
/* The kernel address of the socket of an existing connection in the calling thread's network
 * namespace (tuple as /proc/net/tcp gives it); *sk is 0 when there is none. 0 or -errno. */
int tracer__lookup(struct tracer *t, const struct nt_tuple *tuple, uint64_t *sk);
/* Starts tracking sk unless the probes already do. 0, -EEXIST, or -E2BIG when full. */
int tracer__track(struct tracer *t, uint64_t sk, const struct nt_conn *conn);
/* Offset guessing, for the offset-based object: the probes are attached but report nothing
 * until tracer__set_offsets(). */
bool tracer__needs_offsets(const struct tracer *t);
/* Notes the next socket that process tgid moves to SYN_SENT (see tracer__guess_sk). */
int tracer__guess_begin(struct tracer *t, uint32_t tgid);
uint64_t tracer__guess_sk(struct tracer *t);
/* Copies NT_PEEK_SIZE bytes of kernel memory at addr into buf. 0 or -errno. */
int tracer__peek(struct tracer *t, uint64_t addr, void *buf);
void tracer__set_offsets(struct tracer *t, const struct nt_offsets *offsets);
/* CPUs the per-CPU counters have. */
int tracer__ncpu(void);
/* One counter of the BPF programs (enum nt_stat), per CPU. 0 or -errno. */
int tracer__stat_per_cpu(struct tracer *t, unsigned int stat, uint64_t *values, int ncpu);
/* Sums the per-CPU counters of the BPF programs. */
int tracer__stats(struct tracer *t, uint64_t stats[NT_STAT_MAX]);
/* Hook runs the kernel skipped because the program was already running on that CPU, less those
 * that tp_set_state_nested took over: events that were lost without a trace. detail, when not
 * NULL, gets each hook's own count. */
uint64_t tracer__missed(struct tracer *t, char *detail, size_t size);
/* The kernel's name (lower case) of its enum sk_rst_reason value, from its BTF (read once);
 * NULL when the kernel has no such name. */
const char *tracer__reset_reason(struct tracer *t, uint32_t value);
void tracer__destroy(struct tracer *t);

#endif /* NT_TRACER_H */
