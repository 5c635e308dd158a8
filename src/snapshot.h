/* Start-up snapshot: connections that existed before nettracer started become tracked. */
#ifndef NT_SNAPSHOT_H
#define NT_SNAPSHOT_H

#include "tracer.h"

struct snapshot_stats {
	unsigned int netns;   /* network namespaces walked */
	unsigned int tracked; /* connections added */
	unsigned int full;    /* connections not added: conns map full */
};

/* Walks every network namespace that a process or /run/netns holds. 0 or -errno. */
int snapshot_take(struct tracer *t, struct snapshot_stats *stats);

#endif /* NT_SNAPSHOT_H */
