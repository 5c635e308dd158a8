/* Start-up snapshot: connections that existed before nettracer started become tracked. */
#ifndef NT_SNAPSHOT_H
#define NT_SNAPSHOT_H


struct snapshot_stats {
	unsigned int netns;   /* network namespaces walked */
	unsigned int tracked; /* connections added */
	unsigned int full;    /* connections not added: conns map full */
};

struct cgroups;
struct tracer;

struct snapshot_opts {
	struct cgroups *cgroups;   /* gives the owners' cgroup ids; may be NULL */
	const char *cgroup_filter; /* --cgroup, relative to the cgroup2 mount; NULL: none */
};

/* Walks every network namespace that a process or /run/netns holds. 0 or -errno. */
int snapshot_take(struct tracer *t, const struct snapshot_opts *opts, struct snapshot_stats *stats);

#endif /* NT_SNAPSHOT_H */
