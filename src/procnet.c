/* Socket inode → owning process, from /proc/PID/fd, /proc/PID/comm and /proc/PID/status. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "procnet.h"

bool procnet_socket_inode(const char *link, uint64_t *ino)
{
	char *end;
	unsigned long long v;

	if (strncmp(link, "socket:[", 8) != 0 || link[8] < '0' || link[8] > '9')
		return false;
	errno = 0;
	v = strtoull(link + 8, &end, 10);
	if (errno || end[0] != ']' || end[1] != '\0')
		return false;
	*ino = v;
	return true;
}

bool procnet_status_uid(const char *status, uint32_t *uid)
{
	const char *p = strstr(status, "\nUid:");
	char *end;
	unsigned long v;

	if (!p)
		return false;
	p += 5;
	while (*p == '\t' || *p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || v > UINT32_MAX || (*end != '\t' && *end != ' ' && *end != '\n'))
		return false;
	*uid = v;
	return true;
}

/* An address as /proc/net/tcp prints it: each 32-bit word in host order, in hex. */
static bool parse_addr(const char *hex, size_t words, uint8_t *out)
{
	char word[9];
	uint32_t v;
	size_t i;
	char *end;

	if (strlen(hex) != words * 8)
		return false;
	for (i = 0; i < words; i++) {
		memcpy(word, hex + 8 * i, 8);
		word[8] = '\0';
		v = strtoul(word, &end, 16);
		if (*end)
			return false;
		memcpy(out + 4 * i, &v, 4);
	}
	return true;
}

bool procnet_tcp_line(const char *line, bool v6, struct nt_seed *s)
{
	char local[33], remote[33];
	unsigned int lport, rport, state;
	unsigned long long ino;

	memset(s, 0, sizeof(*s));
	if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%4x %32[0-9A-Fa-f]:%4x %2x %*x:%*x %*x:%*x %*x %*u %*d %llu",
		   local, &lport, remote, &rport, &state, &ino) != 6)
		return false;
	if (!parse_addr(local, v6 ? 4 : 1, s->tuple.saddr) ||
	    !parse_addr(remote, v6 ? 4 : 1, s->tuple.daddr)) /* %2x: state fits in a byte */
		return false;
	s->tuple.family = v6 ? AF_INET6 : AF_INET;
	s->tuple.sport = lport;
	s->tuple.dport = rport;
	s->state = state;
	s->ino = ino;
	return true;
}

static ssize_t read_small(int dirfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static int add(struct owner_table *t, uint64_t ino, const struct nt_owner *o)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct owner_entry *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].ino = ino;
	t->v[t->n].owner = *o;
	t->n++;
	return 0;
}

/* Adds every socket held by the process whose /proc directory is pidfd. */
static int scan_process(struct owner_table *t, int pidfd, uint32_t pid)
{
	char buf[4096], link[64];
	struct nt_owner o = { .pid = pid };
	struct dirent *de;
	uint64_t ino;
	DIR *fds;
	ssize_t n;
	int fdfd, err = 0;

	fdfd = openat(pidfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0)
		return 0; /* exited, or a kernel thread */
	fds = fdopendir(fdfd);
	if (!fds) {
		close(fdfd);
		return 0;
	}
	while ((de = readdir(fds))) {
		n = readlinkat(fdfd, de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (!procnet_socket_inode(link, &ino))
			continue;
		if (!o.comm[0]) {
			if (read_small(pidfd, "comm", buf, sizeof(buf)) > 0)
				strncpy(o.comm, strtok(buf, "\n") ?: "", sizeof(o.comm) - 1);
			if (read_small(pidfd, "status", buf, sizeof(buf)) > 0)
				procnet_status_uid(buf, &o.uid);
		}
		err = add(t, ino, &o);
		if (err)
			break;
	}
	closedir(fds);
	return err;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct owner_entry *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->owner.pid < y->owner.pid ? -1 : x->owner.pid > y->owner.pid;
}

int procnet_owners(const char *proc_root, struct owner_table *t)
{
	struct dirent *de;
	DIR *proc;
	char *end;
	unsigned long pid;
	int pidfd, err = 0;

	proc = opendir(proc_root);
	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid)
			continue;
		pidfd = openat(dirfd(proc), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pidfd < 0)
			continue;
		err = scan_process(t, pidfd, pid);
		close(pidfd);
		if (err)
			break;
	}
	closedir(proc);
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), cmp_entry);
	return err;
}

const struct nt_owner *procnet_owner(const struct owner_table *t, uint64_t ino)
{
	size_t lo = 0, hi = t->n;

	/* The first entry of an inode has the lowest pid: the parent, usually. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->v[lo].ino == ino ? &t->v[lo].owner : NULL;
}

void procnet_owners_free(struct owner_table *t)
{
	free(t->v);
	*t = (struct owner_table){};
}
