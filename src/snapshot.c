/* Finds the TCP connections of every network namespace (/proc/net/tcp, the kernel's socket
 * lookup) and tracks them. */
#define _GNU_SOURCE
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "procnet.h"
#include "snapshot.h"
#include "tracer.h"

struct seeds {
	struct nt_seed *v;
	size_t n, cap;
};

static void collect(struct seeds *seeds, const struct nt_seed *s)
{
	if (seeds->n == seeds->cap) {
		size_t cap = seeds->cap ? seeds->cap * 2 : 256;
		struct nt_seed *v = realloc(seeds->v, cap * sizeof(*v));

		if (!v)
			return;
		seeds->v = v;
		seeds->cap = cap;
	}
	seeds->v[seeds->n++] = *s;
}

/* Listeners first, each group by namespace and port: a binary search finds a listener. */
static int cmp_seed(const void *a, const void *b)
{
	const struct nt_seed *x = a, *y = b;

	if ((x->state == NT_TCP_LISTEN) != (y->state == NT_TCP_LISTEN))
		return x->state == NT_TCP_LISTEN ? -1 : 1;
	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	return (int)x->tuple.sport - (int)y->tuple.sport;
}

/* Inbound when a listener of the same namespace has the local port; the nl listeners lead. */
static enum nt_direction direction_of(const struct seeds *seeds, size_t nl,
				      const struct nt_seed *s)
{
	struct nt_seed key = { .state = NT_TCP_LISTEN, .netns = s->netns,
			       .tuple.sport = s->tuple.sport };

	return nl && bsearch(&key, seeds->v, nl, sizeof(key), cmp_seed) ? NT_DIR_INBOUND
									  : NT_DIR_OUTBOUND;
}

/* path is the cgroup at under, or below it (both relative to the cgroup2 mount). */
static bool cgroup_under(const char *path, const char *under)
{
	size_t n = strlen(under);

	while (n > 1 && under[n - 1] == '/')
		n--;
	if (n == 1 && under[0] == '/')
		return true;
	return !strncmp(path, under, n) && (path[n] == '/' || !path[n]);
}

/* The cgroup of a process that existed before the probes could see its connect() or accept():
 * its id (0 when unknown), and whether it passes --cgroup. */
static bool owner_cgroup(const struct snapshot_opts *o, uint32_t pid, uint64_t *id)
{
	char path[4096];

	*id = 0;
	if (!pid || cgroup_of_pid(pid, path, sizeof(path)))
		return !o->cgroup_filter;
	if (o->cgroups)
		cgroups__id_of(o->cgroups, path, id);
	return !o->cgroup_filter || cgroup_under(path, o->cgroup_filter);
}

static void track_all(struct tracer *t, const struct seeds *seeds, const struct owner_table *owners,
		      const struct snapshot_opts *opts, struct snapshot_stats *stats)
{
	const struct nt_owner *o;
	struct nt_conn conn;
	struct timespec now;
	uint64_t cgroup_id;
	size_t i, nl = 0;
	int err;

	/* The probes stamp a birth with the same clock: an entry of ours names this connection. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (seeds->n)
		qsort(seeds->v, seeds->n, sizeof(*seeds->v), cmp_seed);
	while (nl < seeds->n && seeds->v[nl].state == NT_TCP_LISTEN)
		nl++;
	for (i = nl; i < seeds->n; i++) {
		const struct nt_seed *s = &seeds->v[i];

		memset(&conn, 0, sizeof(conn));
		conn.tuple = s->tuple;
		conn.netns = s->netns;
		conn.direction = direction_of(seeds, nl, s);
		conn.flags = NT_CONN_ESTABLISHED;
		conn.birth_ns = (uint64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		o = s->ino ? procnet_owner(owners, s->ino) : NULL;
		if (o)
			conn.owner = *o;
		if (owner_cgroup(opts, conn.owner.pid, &cgroup_id))
			conn.flags |= NT_CONN_CGROUP;
		conn.owner.cgroup_id = cgroup_id;
		err = tracer__track(t, s->sk, &conn);
		if (!err)
			stats->tracked++;
		else if (err == -E2BIG)
			stats->full++;
	}
}

struct ns_list {
	ino_t ino[1024];
	size_t n;
};

/* Records the namespace at path the first time it is seen; its inode when new, else 0. */
static ino_t ns_new(struct ns_list *seen, const char *path)
{
	struct stat st;
	size_t i;

	if (stat(path, &st) || seen->n == sizeof(seen->ino) / sizeof(seen->ino[0]))
		return 0;
	for (i = 0; i < seen->n; i++)
		if (seen->ino[i] == st.st_ino)
			return 0;
	seen->ino[seen->n++] = st.st_ino;
	return st.st_ino;
}

/* A connection with counters to dump: not a listener, not a request or time-wait socket. */
static bool trackable(uint8_t state)
{
	return state != NT_TCP_LISTEN && state != NT_TCP_SYN_SENT && state != NT_TCP_SYN_RECV &&
	       state != NT_TCP_TIME_WAIT && state != NT_TCP_CLOSE;
}

/* Listeners (for the direction) and connections of the namespace this thread is in. */
static void seed_file(struct tracer *t, const char *name, bool v6, uint32_t netns,
		      struct seeds *seeds)
{
	char line[512];
	struct nt_seed s;
	uint64_t sk;
	FILE *f = fopen(name, "re");

	if (!f)
		return; /* no IPv6 in this kernel */
	while (fgets(line, sizeof(line), f)) {
		if (!procnet_tcp_line(line, v6, &s))
			continue;
		s.netns = netns;
		if (trackable(s.state)) {
			if (tracer__lookup(t, &s.tuple, &sk) || !sk)
				continue; /* closed meanwhile */
			s.sk = sk;
		}
		if (s.state == NT_TCP_LISTEN || s.sk)
			collect(seeds, &s);
	}
	fclose(f);
}

static int seed_ns(struct tracer *t, const char *path, uint32_t netns, struct seeds *seeds)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return -errno;
	}
	close(fd);
	/* /proc/thread-self/net follows this thread's namespace. */
	seed_file(t, "/proc/thread-self/net/tcp", false, netns, seeds);
	seed_file(t, "/proc/thread-self/net/tcp6", true, netns, seeds);
	return 0;
}

/* Every namespace path worth walking: processes first, then names that ip-netns keeps. */
static void for_each_ns(void (*fn)(void *ctx, const char *path), void *ctx)
{
	static const char *const dirs[] = { "/proc", "/run/netns" };
	char path[300];
	struct dirent *de;
	unsigned int i;
	DIR *d;

	for (i = 0; i < 2; i++) {
		d = opendir(dirs[i]);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || (i == 0 && (de->d_name[0] < '0' || de->d_name[0] > '9')))
				continue;
			snprintf(path, sizeof(path), i == 0 ? "%s/%s/ns/net" : "%s/%s", dirs[i],
				 de->d_name);
			fn(ctx, path);
		}
		closedir(d);
	}
}

struct walk {
	struct tracer *t;
	struct ns_list seen;
	struct seeds seeds;
	int err;
};

static void walk_one(void *ctx, const char *path)
{
	struct walk *w = ctx;
	ino_t ino;

	if (w->err)
		return;
	ino = ns_new(&w->seen, path);
	if (ino)
		seed_ns(w->t, path, ino, &w->seeds); /* a process that exited meanwhile: skip it */
}

int snapshot_take(struct tracer *t, const struct snapshot_opts *opts, struct snapshot_stats *stats)
{
	struct walk *w = calloc(1, sizeof(*w));
	struct owner_table owners = {};
	int home, err;

	if (!w)
		return -ENOMEM;
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0) {
		err = -errno;
		goto out_free;
	}
	w->t = t;
	for_each_ns(walk_one, w);
	/* Back to where we came from: later namespace reads must see our own. */
	if (setns(home, CLONE_NEWNET) && !w->err)
		w->err = -errno;
	close(home);
	err = w->err;
	if (err)
		goto out_free;
	err = procnet_owners("/proc", &owners);
	if (err)
		goto out_owners;
	stats->netns = w->seen.n;
	track_all(t, &w->seeds, &owners, opts, stats);
out_owners:
	procnet_owners_free(&owners);
out_free:
	free(w->seeds.v);
	free(w);
	return err;
}
