/* cgroup v2 ids → paths by walking the cgroup2 mount, /proc/PID/cgroup, container ids. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cgroup.h"

/* A stream of ids that no cgroup has (one removed before we looked, a cgroup of another
 * mount) must not make every record cost a walk of thousands of directories. */
#define REWALK_NS 1000000000LL

/* A bound on the cache, reached only by a tree that bind mounts of itself make endless. */
#define MAX_CGROUPS (1 << 20)

struct cgroup_entry {
	uint64_t id;
	char *path;
};

struct cgroups {
	char *mount;
	int fd;			/* the mount's root directory */
	dev_t dev;		/* the cgroup2 file system: the walk does not leave it */
	struct cgroup_entry *v; /* sorted by id */
	size_t n;
	int64_t walked_ns; /* CLOCK_MONOTONIC of the last walk */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reads a whole file, however long (mountinfo on a container host runs to thousands of
 * lines). 0 or -errno; *text is NUL-terminated and the caller frees it. */
static int read_text(const char *file, char **text)
{
	size_t len = 0, cap = 4096;
	char *buf, *bigger;
	ssize_t got;
	int fd, err;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto close_fd;
	}
	for (;;) {
		if (cap - len < 2) {
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				err = -ENOMEM;
				goto free_buf;
			}
			buf = bigger;
			cap *= 2;
		}
		got = read(fd, buf + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			goto free_buf;
		}
		if (got == 0)
			break;
		len += got;
	}
	buf[len] = '\0';
	close(fd);
	*text = buf;
	return 0;

free_buf:
	free(buf);
close_fd:
	close(fd);
	return err;
}

/* The next space-separated field of a mountinfo line, which escapes the spaces it holds. */
static const char *next_field(const char **p, const char *end, size_t *len)
{
	const char *start;

	while (*p < end && **p == ' ')
		(*p)++;
	start = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	*len = *p - start;
	return *len ? start : NULL;
}

static bool field_is(const char *f, size_t len, const char *s)
{
	return f && len == strlen(s) && memcmp(f, s, len) == 0;
}

/* Copies a mountinfo field into out, turning \ooo octal escapes back into bytes. */
static int unescape(const char *f, size_t len, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char c = f[i];

		if (c == '\\' && i + 3 < len && f[i + 1] >= '0' && f[i + 1] <= '3' &&
		    f[i + 2] >= '0' && f[i + 2] <= '7' && f[i + 3] >= '0' && f[i + 3] <= '7') {
			c = (f[i + 1] - '0') << 6 | (f[i + 2] - '0') << 3 | (f[i + 3] - '0');
			i += 3;
		}
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int cgroup_parse_mountinfo(const char *text, char *mount, size_t size)
{
	const char *line, *end, *p, *f, *root, *point, *fallback = NULL;
	size_t len, root_len, point_len, fallback_len = 0;
	int i;

	for (line = text; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		p = line;
		/* id, parent id, major:minor, root, mount point, options, optional fields, "-" */
		for (i = 0; i < 3; i++)
			next_field(&p, end, &len);
		root = next_field(&p, end, &root_len);
		point = next_field(&p, end, &point_len);
		if (!point)
			continue;
		next_field(&p, end, &len);
		do
			f = next_field(&p, end, &len);
		while (f && !field_is(f, len, "-"));
		f = next_field(&p, end, &len);
		if (!field_is(f, len, "cgroup2"))
			continue;
		/* Inside a cgroup namespace, or on a bind mount of a subtree, the root is not "/":
		 * such a mount shows only part of the hierarchy. */
		if (field_is(root, root_len, "/"))
			return unescape(point, point_len, mount, size);
		if (!fallback) {
			fallback = point;
			fallback_len = point_len;
		}
	}
	if (fallback)
		return unescape(fallback, fallback_len, mount, size);
	return -ENOENT;
}

int cgroup_parse_proc(const char *text, char *path, size_t size)
{
	const char *line, *end;
	size_t len;

	for (line = text; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		/* "hierarchy-ID:controllers:path"; v2 is hierarchy 0 with no controllers. */
		if (strncmp(line, "0::", 3) != 0)
			continue;
		len = end - line - 3;
		if (len + 1 > size)
			return -ENAMETOOLONG;
		memcpy(path, line + 3, len);
		path[len] = '\0';
		return 0;
	}
	return -ENOENT;
}

int cgroup_of_pid(int pid, char *path, size_t size)
{
	char file[32], *text;
	int err;

	if (pid <= 0)
		return -EINVAL;
	snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	err = read_text(file, &text);
	if (err)
		/* ENOENT is kept for "no v2 line", which tells a v1-only host. */
		return err == -ENOENT ? -ESRCH : err;
	err = cgroup_parse_proc(text, path, size);
	free(text);
	return err;
}

static bool is_hex64(const char *s, size_t len)
{
	size_t i;

	if (len != CGROUP_CONTAINER_ID_LEN)
		return false;
	/* Lowercase only: every runtime writes ids that way, and an uppercase run is
	 * something else (a UUID written by hand, a hash in a unit name). */
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The forms a component holding a container id takes: prefix, 64 hex digits, suffix. The
 * forms come from the runtimes' cgroup drivers (as Falco's runc layouts and Tracee's parser
 * also list them); "crio-conmon-<id>" fails the hex test, as a monitor should. */
static const struct {
	const char *prefix, *suffix;
} id_forms[] = {
	{ "", "" }, /* cgroupfs driver: docker, containerd under kubepods, GitHub Actions */
	{ "docker-", ".scope" },
	{ "cri-containerd-", ".scope" },
	{ "crio-", ".scope" },
	{ "crio-", "" },
	{ "libpod-", ".scope" },
	{ "libpod-", "" },
};

static bool component_id(const char *c, size_t len, char id[CGROUP_CONTAINER_ID_LEN + 1])
{
	size_t i, pre, suf;

	for (i = 0; i < sizeof(id_forms) / sizeof(id_forms[0]); i++) {
		pre = strlen(id_forms[i].prefix);
		suf = strlen(id_forms[i].suffix);
		if (len != pre + CGROUP_CONTAINER_ID_LEN + suf ||
		    memcmp(c, id_forms[i].prefix, pre) != 0 ||
		    memcmp(c + len - suf, id_forms[i].suffix, suf) != 0 ||
		    !is_hex64(c + pre, CGROUP_CONTAINER_ID_LEN))
			continue;
		memcpy(id, c + pre, CGROUP_CONTAINER_ID_LEN);
		id[CGROUP_CONTAINER_ID_LEN] = '\0';
		return true;
	}
	return false;
}

bool cgroup_container_id(const char *path, char id[CGROUP_CONTAINER_ID_LEN + 1])
{
	const char *end, *start;

	if (!path)
		return false;
	end = path + strlen(path);
	/* From the last component back: the innermost container is the one the process is in. */
	while (end > path) {
		while (end > path && end[-1] == '/')
			end--;
		start = end;
		while (start > path && start[-1] != '/')
			start--;
		if (end > start && component_id(start, end - start, id))
			return true;
		end = start;
	}
	return false;
}

static void entries_free(struct cgroup_entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct cgroup_entry *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Appends the directory parent/name to be visited; its id is read when it is opened. */
static int push(struct cgroup_entry **v, size_t *n, size_t *cap, const char *parent,
		const char *name)
{
	struct cgroup_entry *bigger;
	size_t plen = strlen(parent), nlen = strlen(name);
	char *path;

	if (*n == MAX_CGROUPS)
		return -E2BIG;
	if (*n == *cap) {
		bigger = realloc(*v, (*cap ? *cap * 2 : 64) * sizeof(**v));
		if (!bigger)
			return -ENOMEM;
		*v = bigger;
		*cap = *cap ? *cap * 2 : 64;
	}
	/* The root is "/", every other path "/a/b": no doubled slash under the root. */
	if (plen == 1)
		plen = 0;
	path = malloc(plen + 1 + nlen + 1);
	if (!path)
		return -ENOMEM;
	memcpy(path, parent, plen);
	path[plen] = '/';
	memcpy(path + plen + 1, name, nlen + 1);
	(*v)[*n].id = 0;
	(*v)[*n].path = path;
	(*n)++;
	return 0;
}

/* Lists every cgroup under the mount, breadth first, with the array of entries as the queue:
 * no recursion, however deep the tree. A directory that cannot be opened (removed meanwhile,
 * not readable, a path longer than PATH_MAX) is left out with what is below it. 0 or -errno
 * (-ENOMEM; the root not readable); on success the new table replaces the cache. */
static int walk(struct cgroups *cg)
{
	struct cgroup_entry *v = NULL;
	size_t n = 0, cap = 0, i, kept;
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int fd, err;

	cg->walked_ns = now_ns();
	err = push(&v, &n, &cap, "", "");
	if (err)
		goto free_entries;
	for (i = 0; i < n; i++) {
		/* Relative to the mount's descriptor, so a renamed or remounted parent path does
		 * not matter; O_NOFOLLOW because the walk must stay inside the hierarchy. */
		if (i == 0)
			fd = openat(cg->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		else
			fd = openat(cg->fd, v[i].path + 1,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (i == 0) {
				err = -errno;
				goto free_entries;
			}
			continue;
		}
		if (fstat(fd, &st) != 0 || st.st_dev != cg->dev) {
			close(fd);
			continue;
		}
		v[i].id = st.st_ino;
		dir = fdopendir(fd);
		if (!dir) {
			close(fd);
			continue;
		}
		while ((de = readdir(dir))) {
			if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
				continue;
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			/* A DT_UNKNOWN that is a file fails the O_DIRECTORY open later. */
			err = push(&v, &n, &cap, v[i].path, de->d_name);
			if (err == -E2BIG)
				break;
			if (err) {
				closedir(dir);
				goto free_entries;
			}
		}
		closedir(dir);
	}

	/* Drop what could not be opened, then sort; a cgroup seen twice through a bind mount
	 * inside the tree keeps its first, shallowest, path. */
	for (i = kept = 0; i < n; i++) {
		if (v[i].id)
			v[kept++] = v[i];
		else
			free(v[i].path);
	}
	n = kept;
	qsort(v, n, sizeof(*v), entry_cmp);
	for (i = kept = 0; i < n; i++) {
		if (kept && v[kept - 1].id == v[i].id) {
			if (strlen(v[i].path) < strlen(v[kept - 1].path)) {
				free(v[kept - 1].path);
				v[kept - 1] = v[i];
			} else {
				free(v[i].path);
			}
			continue;
		}
		v[kept++] = v[i];
	}
	entries_free(cg->v, cg->n);
	cg->v = v;
	cg->n = kept;
	return 0;

free_entries:
	entries_free(v, n);
	return err;
}

struct cgroups *cgroups__open(const char *mount)
{
	struct cgroups *cg;
	char *text, found[PATH_MAX];
	struct stat st;
	int err;

	if (!mount) {
		err = read_text("/proc/self/mountinfo", &text);
		if (err)
			goto fail;
		err = cgroup_parse_mountinfo(text, found, sizeof(found));
		free(text);
		if (err)
			goto fail;
		mount = found;
	}
	cg = calloc(1, sizeof(*cg));
	if (!cg) {
		err = -ENOMEM;
		goto fail;
	}
	cg->mount = strdup(mount);
	if (!cg->mount) {
		err = -ENOMEM;
		goto free_cg;
	}
	cg->fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->fd < 0) {
		err = -errno;
		goto free_mount;
	}
	if (fstat(cg->fd, &st) != 0) {
		err = -errno;
		goto close_fd;
	}
	cg->dev = st.st_dev;
	err = walk(cg);
	if (err)
		goto close_fd;
	return cg;

close_fd:
	close(cg->fd);
free_mount:
	free(cg->mount);
free_cg:
	free(cg);
fail:
	errno = -err;
	return NULL;
}

void cgroups__destroy(struct cgroups *cg)
{
	if (!cg)
		return;
	entries_free(cg->v, cg->n);
	close(cg->fd);
	free(cg->mount);
	free(cg);
}

const char *cgroups__mount(const struct cgroups *cg)
{
	return cg->mount;
}

static const char *lookup(const struct cgroups *cg, uint64_t id)
{
	struct cgroup_entry key = { .id = id }, *e;

	if (!cg->n)
		return NULL;
	e = bsearch(&key, cg->v, cg->n, sizeof(*cg->v), entry_cmp);
	return e ? e->path : NULL;
}

const char *cgroups__path(struct cgroups *cg, uint64_t id)
{
	const char *path;

	/* No cgroup has id 0 (an inode number), and a record without one must not walk. */
	if (!id)
		return NULL;
	path = lookup(cg, id);
	if (path || now_ns() - cg->walked_ns < REWALK_NS)
		return path;
	/* A failed walk keeps the old cache; it counts against the rate all the same. */
	if (walk(cg) != 0)
		return NULL;
	return lookup(cg, id);
}

int cgroups__id_of(const struct cgroups *cg, const char *path, uint64_t *id)
{
	size_t mlen = strlen(cg->mount);
	const char *rel = path, *c;
	struct stat st;

	/* Absolute under the mount, or relative to it; a mount of "/" makes every path both. */
	while (mlen > 1 && cg->mount[mlen - 1] == '/')
		mlen--;
	if (mlen > 1 && strncmp(path, cg->mount, mlen) == 0 &&
	    (path[mlen] == '/' || path[mlen] == '\0'))
		rel = path + mlen;
	while (*rel == '/')
		rel++;
	/* ".." would lead out of the hierarchy: --cgroup must name a cgroup. */
	for (c = rel; c; c = strchr(c, '/'), c = c ? c + 1 : NULL)
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			return -EINVAL;
	if (fstatat(cg->fd, *rel ? rel : ".", &st, 0) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_dev != cg->dev)
		return -EXDEV;
	*id = st.st_ino;
	return 0;
}
