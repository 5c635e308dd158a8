/* Walks the TCP sockets of every network namespace and tracks the established ones. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "procnet.h"
#include "snapshot.h"

#define TCP_LISTEN 10

struct seeds {
	struct nt_seed *v;
	size_t n, cap;
};

static void collect(void *ctx, const struct nt_seed *s)
{
	struct seeds *seeds = ctx;

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

/* Inbound when a listener of the same namespace has the local port. */
static enum nt_direction direction_of(const struct seeds *seeds, const struct nt_seed *s)
{
	size_t i;

	for (i = 0; i < seeds->n; i++) {
		const struct nt_seed *l = &seeds->v[i];

		if (l->state == TCP_LISTEN && l->netns == s->netns && l->tuple.sport == s->tuple.sport)
			return NT_DIR_INBOUND;
	}
	return NT_DIR_OUTBOUND;
}

static void track_all(struct tracer *t, const struct seeds *seeds, const struct owner_table *owners,
		      struct snapshot_stats *stats)
{
	const struct nt_owner *o;
	struct nt_conn conn;
	size_t i;
	int err;

	for (i = 0; i < seeds->n; i++) {
		const struct nt_seed *s = &seeds->v[i];

		if (s->state == TCP_LISTEN)
			continue;
		memset(&conn, 0, sizeof(conn));
		conn.tuple = s->tuple;
		conn.netns = s->netns;
		conn.direction = direction_of(seeds, s);
		conn.flags = NT_CONN_ESTABLISHED;
		o = s->ino ? procnet_owner(owners, s->ino) : NULL;
		if (o)
			conn.owner = *o;
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

/* Records the namespace at path the first time it is seen; true when it is new. */
static bool ns_new(struct ns_list *seen, const char *path)
{
	struct stat st;
	size_t i;

	if (stat(path, &st) || seen->n == sizeof(seen->ino) / sizeof(seen->ino[0]))
		return false;
	for (i = 0; i < seen->n; i++)
		if (seen->ino[i] == st.st_ino)
			return false;
	seen->ino[seen->n++] = st.st_ino;
	return true;
}

static int seed_ns(struct tracer *t, const char *path, struct seeds *seeds)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = setns(fd, CLONE_NEWNET) ? -errno : tracer__seed(t, collect, seeds);
	close(fd);
	return err;
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
	int err;

	if (w->err || !ns_new(&w->seen, path))
		return;
	err = seed_ns(w->t, path, &w->seeds);
	if (err == -EOPNOTSUPP)
		w->err = err;
}

int snapshot_take(struct tracer *t, struct snapshot_stats *stats)
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
	track_all(t, &w->seeds, &owners, stats);
out_owners:
	procnet_owners_free(&owners);
out_free:
	free(w->seeds.v);
	free(w);
	return err;
}
