/* Unit tests for cgroup.c: container ids, /proc/PID/cgroup and mountinfo parsers, id → path on a
 * fake tree checked against stat(), the rate of re-walks, and the real cgroup2 mount.
 * clock_gettime and fdopendir are wrapped (-Wl,--wrap): the test owns CLOCK_MONOTONIC and
 * counts the directories each walk opens. */
#define _GNU_SOURCE /* nftw() */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <cmocka.h>
#include "cgroup.h"

#define NS	      1000000000LL
#define MS	      1000000LL
#define CGROUP2_MAGIC 0x63677270 /* CGROUP2_SUPER_MAGIC, linux/magic.h */

static int64_t mono_ns = 1000 * NS;
static unsigned long fdopendirs;

int __real_clock_gettime(clockid_t clock, struct timespec *ts);
DIR *__real_fdopendir(int fd);

int __wrap_clock_gettime(clockid_t clock, struct timespec *ts)
{
	if (clock != CLOCK_MONOTONIC)
		return __real_clock_gettime(clock, ts);
	ts->tv_sec = mono_ns / NS;
	ts->tv_nsec = mono_ns % NS;
	return 0;
}

DIR *__wrap_fdopendir(int fd)
{
	fdopendirs++;
	return __real_fdopendir(fd);
}

/* ---- container ids ---- */

#define HEX   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX2  "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define HEX63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define HEX65 HEX "0"
#define HEXUP "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"

static void assert_id(const char *path, const char *want)
{
	char id[CGROUP_CONTAINER_ID_LEN + 1];

	memset(id, 'x', sizeof(id));
	if (!cgroup_container_id(path, id))
		fail_msg("no id in %s", path);
	if (strcmp(id, want) != 0)
		fail_msg("%s: got %s", path, id);
}

static void assert_no_id(const char *path)
{
	char id[CGROUP_CONTAINER_ID_LEN + 1] = "untouched";

	if (cgroup_container_id(path, id))
		fail_msg("id %s found in %s", id, path);
	assert_string_equal(id, "untouched");
}

static void test_container_id_forms(void **state)
{
	/* docker: cgroupfs driver, systemd driver */
	assert_id("/docker/" HEX, HEX);
	assert_id("/system.slice/docker-" HEX ".scope", HEX);
	/* containerd CRI: systemd driver, and the kubelet's cgroupfs layout, burstable and
	 * besteffort QoS, and guaranteed pods with no QoS level */
	assert_id("/kubepods.slice/kubepods-burstable.slice/"
		  "kubepods-burstable-pod0e5a1b2c_3d4e_5f60_7182_93a4b5c6d7e8.slice/"
		  "cri-containerd-" HEX ".scope",
		  HEX);
	assert_id("/kubepods/burstable/pod0e5a1b2c-3d4e-5f60-7182-93a4b5c6d7e8/" HEX, HEX);
	assert_id("/kubepods/besteffort/pod0e5a1b2c-3d4e-5f60-7182-93a4b5c6d7e8/" HEX, HEX);
	assert_id("/kubepods/pod0e5a1b2c-3d4e-5f60-7182-93a4b5c6d7e8/" HEX, HEX);
	/* docker as the kubelet's runtime, systemd driver */
	assert_id("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice/"
		  "docker-" HEX ".scope",
		  HEX);
	/* CRI-O: systemd driver, cgroupfs driver */
	assert_id("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice/"
		  "crio-" HEX ".scope",
		  HEX);
	assert_id("/kubepods/besteffort/podabc/crio-" HEX, HEX);
	/* podman: systemd driver (root and rootless), cgroupfs driver */
	assert_id("/machine.slice/libpod-" HEX ".scope", HEX);
	assert_id("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" HEX ".scope",
		  HEX);
	assert_id("/machine.slice/libpod-" HEX, HEX);
	assert_id("/libpod_parent/libpod-" HEX, HEX);
	/* GitHub Actions runs job containers under /actions_job */
	assert_id("/actions_job/" HEX, HEX);
	/* relative, and with a trailing slash */
	assert_id("docker/" HEX, HEX);
	assert_id(HEX, HEX);
	assert_id("/docker/" HEX "/", HEX);
}

static void test_container_id_innermost(void **state)
{
	/* docker in docker: the inner container */
	assert_id("/docker/" HEX "/docker/" HEX2, HEX2);
	assert_id("/system.slice/docker-" HEX ".scope/system.slice/docker-" HEX2 ".scope", HEX2);
	/* a sub-cgroup of a container still belongs to it: rootless podman puts the process in
	 * ".../container", systemd inside a container makes its own slices */
	assert_id("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" HEX
		  ".scope/container",
		  HEX);
	assert_id("/system.slice/docker-" HEX ".scope/init.scope", HEX);
	assert_id("/system.slice/docker-" HEX ".scope/system.slice/nginx.service", HEX);
	/* a near-miss below a real one does not hide it */
	assert_id("/docker/" HEX "/crio-conmon-" HEX2 ".scope", HEX);
}

static void test_container_id_near_misses(void **state)
{
	assert_no_id("");
	assert_no_id("/");
	assert_no_id("//");
	assert_no_id(NULL);
	assert_no_id("/init.scope");
	assert_no_id("/user.slice/user-1000.slice/session-2.scope");
	assert_no_id("/system.slice/docker.service");
	assert_no_id("/system.slice/containerd.service");
	/* 63 and 65 digits, uppercase */
	assert_no_id("/docker/" HEX63);
	assert_no_id("/docker/" HEX65);
	assert_no_id("/docker/" HEXUP);
	assert_no_id("/system.slice/docker-" HEX63 ".scope");
	assert_no_id("/system.slice/docker-" HEX65 ".scope");
	assert_no_id("/system.slice/docker-" HEXUP ".scope");
	assert_no_id("/machine.slice/libpod-" HEX63 ".scope");
	assert_no_id("/kubepods/besteffort/podabc/crio-" HEX65);
	/* the monitors beside the containers */
	assert_no_id("/kubepods.slice/kubepods-besteffort.slice/crio-conmon-" HEX ".scope");
	assert_no_id("/machine.slice/libpod-conmon-" HEX ".scope");
	assert_no_id("/machine.slice/libpod-conmon-" HEX);
	/* wrong suffix or prefix, or no suffix where the runtime always writes one */
	assert_no_id("/system.slice/docker-" HEX ".scope.bak");
	assert_no_id("/system.slice/docker-" HEX ".service");
	assert_no_id("/system.slice/docker-" HEX ".scopex");
	/* suffixes as long as ".scope", so that only comparing them tells */
	assert_no_id("/system.slice/docker-" HEX ".slice");
	assert_no_id("/machine.slice/libpod-" HEX ".mount");
	assert_no_id("/kubepods.slice/cri-containerd-" HEX ".scopE");
	assert_no_id("/system.slice/docker-" HEX);
	assert_no_id("/system.slice/cri-containerd-" HEX);
	assert_no_id("/system.slice/foo-" HEX ".scope");
	assert_no_id("/system.slice/" HEX ".scope");
	assert_no_id("/system.slice/xdocker-" HEX ".scope");
	assert_no_id("/system.slice/docker--" HEX ".scope");
	assert_no_id("/machine.slice/libpod-" HEX ".scope-");
	/* a hex run inside a longer name */
	assert_no_id("/x" HEX);
	assert_no_id("/" HEX "x");
	assert_no_id("/" HEX "-" HEX);
	assert_no_id("/" HEX63 "g");
	assert_no_id("/docker/" HEX ".scope");
	assert_no_id("/docker/ " HEX);
	/* not hex at all */
	assert_no_id("/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg");
}

/* ---- /proc/PID/cgroup ---- */

static void test_parse_proc(void **state)
{
	char path[128];
	const char *hybrid = "12:pids:/user.slice/user-1000.slice/session-2.scope\n"
			     "11:memory:/user.slice/user-1000.slice/session-2.scope\n"
			     "4:cpu,cpuacct:/user.slice\n"
			     "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
			     "0::/user.slice/user-1000.slice/session-2.scope\n";
	const char *unified = "0::/system.slice/docker-" HEX ".scope\n";

	assert_int_equal(cgroup_parse_proc(hybrid, path, sizeof(path)), 0);
	assert_string_equal(path, "/user.slice/user-1000.slice/session-2.scope");
	assert_int_equal(cgroup_parse_proc(unified, path, sizeof(path)), 0);
	assert_string_equal(path, "/system.slice/docker-" HEX ".scope");
	/* the v2 line first, the last line without a newline, the root */
	assert_int_equal(cgroup_parse_proc("0::/a/b\n3:cpu:/x\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/a/b");
	assert_int_equal(cgroup_parse_proc("3:cpu:/x\n0::/a/b", path, sizeof(path)), 0);
	assert_string_equal(path, "/a/b");
	assert_int_equal(cgroup_parse_proc("0::/\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/");
	/* the v1 hierarchy 10 ends in 0 and must not pass for v2 */
	assert_int_equal(cgroup_parse_proc("10::/v1\n0::/v2\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/v2");
}

static void test_parse_proc_bad(void **state)
{
	char path[16] = "untouched";

	/* a v1-only host, or nothing */
	assert_int_equal(cgroup_parse_proc("4:memory:/a\n1:name=systemd:/a\n", path, sizeof(path)),
			 -ENOENT);
	assert_int_equal(cgroup_parse_proc("", path, sizeof(path)), -ENOENT);
	assert_int_equal(cgroup_parse_proc("10::/v1\n", path, sizeof(path)), -ENOENT);
	assert_int_equal(cgroup_parse_proc(" 0::/a\n", path, sizeof(path)), -ENOENT);
	assert_string_equal(path, "untouched");
	/* 15 characters fit with their NUL, 16 do not */
	assert_int_equal(cgroup_parse_proc("0::/abcdefghijklmn\n", path, sizeof(path)), 0);
	assert_string_equal(path, "/abcdefghijklmn");
	assert_int_equal(cgroup_parse_proc("0::/abcdefghijklmno\n", path, sizeof(path)),
			 -ENAMETOOLONG);
}

static void test_of_pid(void **state)
{
	char path[PATH_MAX], *text = NULL, want[PATH_MAX];
	size_t cap = 0;
	FILE *f;

	/* The truth: /proc/self/cgroup read by stdio, its "0::" line by hand. */
	f = fopen("/proc/self/cgroup", "r");
	assert_non_null(f);
	want[0] = '\0';
	while (getline(&text, &cap, f) > 0)
		if (sscanf(text, "0::%4095[^\n]", want) == 1)
			break;
	free(text);
	fclose(f);
	if (!want[0])
		skip(); /* a host without cgroup v2 */
	assert_int_equal(cgroup_of_pid(getpid(), path, sizeof(path)), 0);
	assert_string_equal(path, want);
	assert_int_equal(cgroup_of_pid(0, path, sizeof(path)), -EINVAL);
	assert_int_equal(cgroup_of_pid(-1, path, sizeof(path)), -EINVAL);
	/* beyond pid_max (4194304 at most) */
	assert_int_equal(cgroup_of_pid(99999999, path, sizeof(path)), -ESRCH);
}

/* ---- mountinfo ---- */

static void test_parse_mountinfo(void **state)
{
	char mount[64];
	/* this machine: hybrid, v1 controllers beside a cgroup2 at unified */
	const char *hybrid =
	    "22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
	    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	/* a unified host, with optional fields before the separator */
	const char *unified =
	    "25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	    "26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 master:1 - "
	    "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

	assert_int_equal(cgroup_parse_mountinfo(hybrid, mount, sizeof(mount)), 0);
	assert_string_equal(mount, "/sys/fs/cgroup/unified");
	assert_int_equal(cgroup_parse_mountinfo(unified, mount, sizeof(mount)), 0);
	assert_string_equal(mount, "/sys/fs/cgroup");
	/* a space in the mount point, escaped; no newline at the end */
	assert_int_equal(cgroup_parse_mountinfo("41 31 0:38 / /mnt/c\\040g rw - cgroup2 none rw",
						mount, sizeof(mount)),
			 0);
	assert_string_equal(mount, "/mnt/c g");
	/* a subtree mounted first (a container's view) loses to the whole hierarchy */
	assert_int_equal(cgroup_parse_mountinfo("50 1 0:38 /docker/x /c rw - cgroup2 cgroup2 rw\n"
						"51 1 0:38 / /whole rw - cgroup2 cgroup2 rw\n",
						mount, sizeof(mount)),
			 0);
	assert_string_equal(mount, "/whole");
	assert_int_equal(cgroup_parse_mountinfo("50 1 0:38 /docker/x /c rw - cgroup2 cgroup2 rw\n",
						mount, sizeof(mount)),
			 0);
	assert_string_equal(mount, "/c");
}

static void test_parse_mountinfo_bad(void **state)
{
	char mount[8] = "none";

	assert_int_equal(cgroup_parse_mountinfo("", mount, sizeof(mount)), -ENOENT);
	assert_int_equal(
	    cgroup_parse_mountinfo("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n",
				   mount, sizeof(mount)),
	    -ENOENT);
	/* "cgroup2" as a source or an option is not the file system type */
	assert_int_equal(
	    cgroup_parse_mountinfo("9 1 0:5 / /x rw - tmpfs cgroup2 rw\n", mount, sizeof(mount)),
	    -ENOENT);
	assert_int_equal(cgroup_parse_mountinfo("9 1 0:5 / /x rw\n", mount, sizeof(mount)),
			 -ENOENT);
	assert_int_equal(cgroup_parse_mountinfo("41 31 0:38 / /sys/fs/cgroup rw - cgroup2 c rw\n",
						mount, sizeof(mount)),
			 -ENAMETOOLONG);
}

/* ---- id → path on a fake tree ---- */

struct tree {
	char root[64];
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->root, "/tmp/nt-cgroup-XXXXXX");
	if (!mkdtemp(t->root))
		return -1;
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;

	nftw(t->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static void make_dir(const struct tree *t, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", t->root, rel);
	if (mkdir(path, 0755) != 0)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

static void remove_dir(const struct tree *t, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", t->root, rel);
	if (rmdir(path) != 0)
		fail_msg("rmdir %s: %s", path, strerror(errno));
}

static uint64_t inode_of(const struct tree *t, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", t->root, rel);
	if (lstat(path, &st) != 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	return st.st_ino;
}

/* nftw lists the truth: every directory with the inode that stat gives it. */
static struct cgroups *walked;
static size_t root_len, dirs_seen;

static int check_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *got = cgroups__path(walked, st->st_ino);
	const char *rel = path[root_len] ? path + root_len : "/";

	if (flag == FTW_D) {
		dirs_seen++;
		if (!got || strcmp(got, rel) != 0)
			fail_msg("inode %llu: %s expected, %s found",
				 (unsigned long long)st->st_ino, rel, got ? got : "NULL");
	} else if (got) {
		/* files and symbolic links are not cgroups */
		fail_msg("%s (inode %llu) resolved to %s", rel, (unsigned long long)st->st_ino,
			 got);
	}
	return 0;
}

static void test_tree_paths(void **state)
{
	struct tree *t = *state;
	char rel[PATH_MAX], path[PATH_MAX];
	struct rlimit saved, low;
	struct cgroups *cg;
	size_t len = 0;
	int i, fd;

	make_dir(t, "/system.slice");
	make_dir(t, "/system.slice/docker-" HEX ".scope");
	make_dir(t, "/system.slice/ssh.service");
	make_dir(t, "/kubepods");
	make_dir(t, "/kubepods/besteffort");
	make_dir(t, "/kubepods/besteffort/podabc");
	make_dir(t, "/kubepods/besteffort/podabc/" HEX2);
	make_dir(t, "/with space");
	for (i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "/wide%d", i);
		make_dir(t, path);
	}
	/* deep enough that a recursive walk with a descriptor per level would notice */
	len = snprintf(rel, sizeof(rel), "/deep");
	make_dir(t, rel);
	for (i = 0; i < 1000; i++) {
		len += snprintf(rel + len, sizeof(rel) - len, "/d");
		make_dir(t, rel);
	}
	/* not cgroups: a file, a symbolic link to a directory */
	snprintf(path, sizeof(path), "%s/system.slice/cgroup.procs", t->root);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/link", t->root);
	assert_int_equal(symlink("system.slice", path), 0);

	/* 1000 levels under 64 descriptors: a walk that holds one open per level, or leaks
	 * them, loses the bottom of the tree. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	cg = cgroups__open(t->root);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_non_null(cg);
	assert_string_equal(cgroups__mount(cg), t->root);
	walked = cg;
	root_len = strlen(t->root);
	dirs_seen = 0;
	assert_int_equal(nftw(t->root, check_entry, 16, FTW_PHYS), 0);
	assert_int_equal(dirs_seen, 1 + 3 + 4 + 1 + 200 + 1 + 1000);
	assert_string_equal(cgroups__path(cg, inode_of(t, "")), "/");
	assert_null(cgroups__path(cg, 0));
	cgroups__destroy(cg);
	cgroups__destroy(NULL);
}

static void test_tree_id_of(void **state)
{
	struct tree *t = *state;
	char path[PATH_MAX];
	struct cgroups *cg;
	uint64_t id = 7;

	make_dir(t, "/system.slice");
	make_dir(t, "/system.slice/docker-" HEX ".scope");
	snprintf(path, sizeof(path), "%s/file", t->root);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	cg = cgroups__open(t->root);
	assert_non_null(cg);

	assert_int_equal(cgroups__id_of(cg, "/system.slice", &id), 0);
	assert_true(id == inode_of(t, "/system.slice"));
	assert_int_equal(cgroups__id_of(cg, "system.slice/docker-" HEX ".scope", &id), 0);
	assert_true(id == inode_of(t, "/system.slice/docker-" HEX ".scope"));
	assert_int_equal(cgroups__id_of(cg, "/system.slice/docker-" HEX ".scope/", &id), 0);
	assert_true(id == inode_of(t, "/system.slice/docker-" HEX ".scope"));
	assert_int_equal(cgroups__id_of(cg, "/", &id), 0);
	assert_true(id == inode_of(t, ""));
	assert_int_equal(cgroups__id_of(cg, "", &id), 0);
	assert_true(id == inode_of(t, ""));
	/* absolute, under the mount */
	snprintf(path, sizeof(path), "%s/system.slice", t->root);
	assert_int_equal(cgroups__id_of(cg, path, &id), 0);
	assert_true(id == inode_of(t, "/system.slice"));
	assert_int_equal(cgroups__id_of(cg, t->root, &id), 0);
	assert_true(id == inode_of(t, ""));
	/* the ids agree with what the walk found */
	assert_string_equal(cgroups__path(cg, id), "/");

	id = 7;
	assert_int_equal(cgroups__id_of(cg, "/nonexistent", &id), -ENOENT);
	assert_int_equal(cgroups__id_of(cg, "/file", &id), -ENOTDIR);
	assert_int_equal(cgroups__id_of(cg, "/..", &id), -EINVAL);
	assert_int_equal(cgroups__id_of(cg, "/system.slice/../..", &id), -EINVAL);
	assert_int_equal(cgroups__id_of(cg, "..", &id), -EINVAL);
	assert_true(id == 7);
	/* a name that only starts with two dots is a name */
	make_dir(t, "/..x");
	assert_int_equal(cgroups__id_of(cg, "/..x", &id), 0);
	assert_true(id == inode_of(t, "/..x"));
	cgroups__destroy(cg);
}

static void test_open_bad(void **state)
{
	struct tree *t = *state;
	char path[PATH_MAX];

	errno = 0;
	assert_null(cgroups__open("/nonexistent/nt-cgroup"));
	assert_int_equal(errno, ENOENT);
	snprintf(path, sizeof(path), "%s/file", t->root);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	errno = 0;
	assert_null(cgroups__open(path));
	assert_int_equal(errno, ENOTDIR);
}

/* ---- the rate of re-walks ---- */

static void test_rewalk_rate(void **state)
{
	struct tree *t = *state;
	struct cgroups *cg;
	uint64_t b, c;
	unsigned long per_walk, before;
	int i;

	make_dir(t, "/a");
	mono_ns = 1000 * NS;
	fdopendirs = 0;
	cg = cgroups__open(t->root);
	assert_non_null(cg);
	per_walk = fdopendirs; /* the root and /a */
	assert_int_equal(per_walk, 2);

	/* A cgroup made after the walk is unknown until the next one, a second later. */
	make_dir(t, "/b");
	b = inode_of(t, "/b");
	assert_null(cgroups__path(cg, b));
	/* A stream of unknown ids for a whole second costs no walk: /b stays unknown. */
	for (i = 0; i < 1000; i++) {
		mono_ns = 1000 * NS + i * MS;
		assert_null(cgroups__path(cg, 1000000000000ULL + i));
		assert_null(cgroups__path(cg, b));
	}
	assert_int_equal(fdopendirs, per_walk);
	/* One second after the last walk, a miss walks, and finds /b. */
	mono_ns = 1001 * NS;
	assert_string_equal(cgroups__path(cg, b), "/b");
	assert_int_equal(fdopendirs, per_walk + 3);
	/* Known ids never walk. */
	for (i = 0; i < 100; i++)
		assert_string_equal(cgroups__path(cg, b), "/b");
	mono_ns = 1010 * NS;
	assert_string_equal(cgroups__path(cg, b), "/b");
	assert_string_equal(cgroups__path(cg, inode_of(t, "/a")), "/a");
	assert_int_equal(fdopendirs, per_walk + 3);

	/* Five seconds of unknown ids, one every 10 ms: five walks, not five hundred. */
	before = fdopendirs;
	for (i = 0; i < 500; i++) {
		mono_ns = 2000 * NS + i * 10 * MS;
		assert_null(cgroups__path(cg, 2000000000000ULL + i));
	}
	assert_int_equal((fdopendirs - before) % 3, 0);
	assert_int_equal((fdopendirs - before) / 3, 5);

	/* A removed cgroup stays until a walk, which forgets it. */
	make_dir(t, "/c");
	c = inode_of(t, "/c");
	remove_dir(t, "/b");
	mono_ns = 3000 * NS;
	assert_string_equal(cgroups__path(cg, b), "/b");
	assert_string_equal(cgroups__path(cg, c), "/c");
	assert_null(cgroups__path(cg, b));
	cgroups__destroy(cg);
}

/* ---- the real cgroup2 mount ---- */

static void test_real_mount(void **state)
{
	char path[PATH_MAX], full[PATH_MAX * 2];
	struct cgroups *cg;
	struct statfs sfs;
	struct stat st;
	uint64_t id;
	const char *got;

	cg = cgroups__open(NULL);
	if (!cg && errno == ENOENT)
		skip(); /* no cgroup2 mounted on this host */
	assert_non_null(cg);
	/* The kernel says it is a cgroup2 file system, not our mountinfo parser. */
	assert_int_equal(statfs(cgroups__mount(cg), &sfs), 0);
	assert_true(sfs.f_type == CGROUP2_MAGIC);

	assert_int_equal(cgroup_of_pid(getpid(), path, sizeof(path)), 0);
	snprintf(full, sizeof(full), "%s%s", cgroups__mount(cg), path);
	assert_int_equal(stat(full, &st), 0);
	assert_int_equal(cgroups__id_of(cg, path, &id), 0);
	assert_true(id == st.st_ino);
	/* Our own cgroup existed before the walk and still does: no re-walk needed. */
	got = cgroups__path(cg, st.st_ino);
	assert_non_null(got);
	assert_string_equal(got, path);
	/* And the root, whatever cgroup we are in. */
	assert_int_equal(stat(cgroups__mount(cg), &st), 0);
	assert_string_equal(cgroups__path(cg, st.st_ino), "/");
	cgroups__destroy(cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_id_forms),
		cmocka_unit_test(test_container_id_innermost),
		cmocka_unit_test(test_container_id_near_misses),
		cmocka_unit_test(test_parse_proc),
		cmocka_unit_test(test_parse_proc_bad),
		cmocka_unit_test(test_of_pid),
		cmocka_unit_test(test_parse_mountinfo),
		cmocka_unit_test(test_parse_mountinfo_bad),
		cmocka_unit_test_setup_teardown(test_tree_paths, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_tree_id_of, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_open_bad, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_rewalk_rate, tree_setup, tree_teardown),
		cmocka_unit_test(test_real_mount),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
