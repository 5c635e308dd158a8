/* Unit tests for the /proc readers: link and status parsers, owners on a fake /proc tree. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw() */
#endif
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sys/socket.h>
#include "procnet.h"

static void assert_inode(const char *link, uint64_t want)
{
	uint64_t ino = 0xdeadbeef;

	if (!procnet_socket_inode(link, &ino))
		fail_msg("'%s' refused", link);
	assert_true(ino == want);
}

static void assert_not_inode(const char *link)
{
	uint64_t ino = 0xdeadbeef;

	if (procnet_socket_inode(link, &ino))
		fail_msg("'%s' accepted", link);
	/* A refused link leaves the output alone. */
	assert_int_equal(ino, 0xdeadbeef);
}

static void test_socket_inode(void **state)
{
	assert_inode("socket:[12345]", 12345);
	assert_inode("socket:[0]", 0);
	assert_inode("socket:[007]", 7);
	assert_inode("socket:[4026531840]", 4026531840ULL);
	assert_inode("socket:[18446744073709551615]", UINT64_MAX);
}

static void test_socket_inode_bad(void **state)
{
	assert_not_inode("");
	assert_not_inode("socket:");
	assert_not_inode("socket:[");
	assert_not_inode("socket:[]");
	assert_not_inode("socket:[12x]");
	assert_not_inode("socket:[12");
	assert_not_inode("socket:[12]x");
	assert_not_inode("socket:[12]]");
	assert_not_inode("socket:[-1]");
	assert_not_inode("socket:[+1]");
	assert_not_inode("socket:[ 1]");
	assert_not_inode("socket:[0x10]");
	assert_not_inode("Socket:[1]");
	assert_not_inode("socket[1]");
	assert_not_inode(" socket:[1]");
	assert_not_inode("pipe:[3]");
	assert_not_inode("anon_inode:[eventpoll]");
	assert_not_inode("/dev/null");
	/* 2^64 and beyond do not wrap around. */
	assert_not_inode("socket:[18446744073709551616]");
	assert_not_inode("socket:[99999999999999999999999999]");
}

static const char status_head[] = "Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\n"
				  "Ngid:\t0\nPid:\t42\nPPid:\t1\nTracerPid:\t0\n";

static void assert_uid(const char *uid_line, uint32_t want)
{
	char status[512];
	uint32_t uid = 0xdeadbeef;

	snprintf(status, sizeof(status), "%s%s", status_head, uid_line);
	if (!procnet_status_uid(status, &uid))
		fail_msg("refused: %s", uid_line);
	assert_int_equal(uid, want);
}

static void assert_no_uid(const char *uid_line)
{
	char status[512];
	uint32_t uid = 0xdeadbeef;

	snprintf(status, sizeof(status), "%s%s", status_head, uid_line);
	if (procnet_status_uid(status, &uid))
		fail_msg("accepted: %s", uid_line);
	assert_int_equal(uid, 0xdeadbeef);
}

static void test_status_uid(void **state)
{
	assert_uid("Uid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n", 1000);
	assert_uid("Uid:\t0\t0\t0\t0\n", 0);
	/* The real uid, the first of the four, even when the effective one differs. */
	assert_uid("Uid:\t33\t0\t0\t0\n", 33);
	assert_uid("Uid: \t 7 8 9 10\n", 7);
	assert_uid("Uid:\t4294967295\t0\t0\t0\n", 4294967295U);
	assert_uid("Uid:\t65534\n", 65534);
}

static void test_status_uid_bad(void **state)
{
	assert_no_uid("");
	assert_no_uid("Gid:\t100\t100\t100\t100\n");
	assert_no_uid("Uid:\n");
	assert_no_uid("Uid:\t\t\n");
	assert_no_uid("Uid:\t-1\t0\t0\t0\n");
	assert_no_uid("Uid:\t12abc\t0\t0\t0\n");
	assert_no_uid("Uid:\t4294967296\t0\t0\t0\n");
	assert_no_uid("Uid:\t99999999999999999999999\t0\t0\t0\n");
	assert_no_uid("Uid:\tx\n");
	/* Not the Uid field, though it ends like one. */
	assert_no_uid("NotUid:\t5\t5\t5\t5\n");
}

/* ---- A fake /proc: PID/fd/N symlinks, PID/comm, PID/status. ---- */

static char proc_root[PATH_MAX];

static void make_dir(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", proc_root, rel);
	if (mkdir(path, 0755))
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

static void make_link(const char *rel, const char *target)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", proc_root, rel);
	if (symlink(target, path))
		fail_msg("symlink %s: %s", path, strerror(errno));
}

static void make_file(const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", proc_root, rel);
	f = fopen(path, "w");
	if (!f)
		fail_msg("fopen %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* A process directory with comm and status, when given, and an empty fd/. */
static void make_process(const char *pid, const char *comm, const char *uid)
{
	char rel[64], status[256];

	make_dir(pid);
	snprintf(rel, sizeof(rel), "%s/fd", pid);
	make_dir(rel);
	if (comm) {
		snprintf(rel, sizeof(rel), "%s/comm", pid);
		make_file(rel, comm);
	}
	if (uid) {
		snprintf(rel, sizeof(rel), "%s/status", pid);
		snprintf(status, sizeof(status), "Name:\tx\nPid:\t%s\nUid:\t%s\t0\t0\t0\nGid:\t0\n",
			 pid, uid);
		make_file(rel, status);
	}
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(proc_root, sizeof(proc_root), "%s/nt-procnet-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(proc_root))
		return -1;

	make_process("1", "systemd\n", "0");
	make_link("1/fd/0", "/dev/null");
	make_link("1/fd/3", "socket:[100]");

	/* Shares inode 100 with pid 1; "42" sorts before "7" as text but not as a number. */
	make_process("42", "nginx\n", "33");
	make_link("42/fd/3", "socket:[100]");
	make_link("42/fd/4", "socket:[200]");
	make_link("42/fd/5", "pipe:[300]");
	make_link("42/fd/6", "socket:[18446744073709551615]");
	make_link("42/fd/7", "socket:[]");

	/* The kernel cuts comm to 15 bytes; a longer file is cut the same way. */
	make_process("7", "averyveryverylongname\n", "1000");
	make_link("7/fd/9", "socket:[200]");

	/* No comm, no status: gone half-way, or not readable. */
	make_process("300", NULL, NULL);
	make_link("300/fd/1", "socket:[500]");

	/* An empty comm line and a status without Uid:. */
	make_process("8", "\n", NULL);
	make_file("8/status", "Name:\tx\nPid:\t8\n");
	make_link("8/fd/1", "socket:[800]");

	/* A kernel thread: no fd directory to read. */
	make_dir("99");
	make_file("99/comm", "kthreadd\n");

	/* Not processes: these must not be scanned. */
	make_link("self", "42");
	make_dir("net");
	make_process("0", "zero\n", "5");
	make_link("0/fd/1", "socket:[600]");
	make_process("12abc", "bad\n", "5");
	make_link("12abc/fd/1", "socket:[700]");
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	return nftw(proc_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void assert_owner(const struct owner_table *t, uint64_t ino, uint32_t pid, uint32_t uid,
			 const char *comm)
{
	const struct nt_owner *o = procnet_owner(t, ino);

	if (!o)
		fail_msg("no owner for inode %ju", (uintmax_t)ino);
	assert_int_equal(o->pid, pid);
	assert_int_equal(o->uid, uid);
	assert_string_equal(o->comm, comm);
}

static void test_owners(void **state)
{
	struct owner_table t = {};
	size_t i;

	assert_int_equal(procnet_owners(proc_root, &t), 0);
	/* 1:100, 42:100, 42:200, 42:2^64-1, 7:200, 300:500, 8:800. */
	assert_int_equal(t.n, 7);
	for (i = 1; i < t.n; i++)
		assert_true(t.v[i - 1].ino <= t.v[i].ino);

	assert_owner(&t, 100, 1, 0, "systemd");
	assert_owner(&t, 200, 7, 1000, "averyveryverylo");
	assert_owner(&t, UINT64_MAX, 42, 33, "nginx");
	assert_owner(&t, 500, 300, 0, "");
	assert_owner(&t, 800, 8, 0, "");

	assert_null(procnet_owner(&t, 0));
	assert_null(procnet_owner(&t, 99));
	assert_null(procnet_owner(&t, 101));
	assert_null(procnet_owner(&t, 300)); /* a pipe */
	assert_null(procnet_owner(&t, 600)); /* pid 0 */
	assert_null(procnet_owner(&t, 700)); /* not a pid */
	assert_null(procnet_owner(&t, UINT64_MAX - 1));

	procnet_owners_free(&t);
	assert_null(t.v);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.cap, 0);
	procnet_owners_free(&t);
}

/* Runs after test_owners: it adds a process to the tree that one checks in full. */
static void test_owners_many_sockets(void **state)
{
	struct owner_table t = {};
	char rel[64], target[64];
	unsigned int i;

	/* More sockets than the first allocation holds, in one process. */
	make_process("5000", "many\n", "4");
	for (i = 0; i < 600; i++) {
		snprintf(rel, sizeof(rel), "5000/fd/%u", i + 10);
		snprintf(target, sizeof(target), "socket:[%u]", 100000 + i * 3);
		make_link(rel, target);
	}
	assert_int_equal(procnet_owners(proc_root, &t), 0);
	assert_int_equal(t.n, 7 + 600);
	for (i = 0; i < 600; i++)
		assert_owner(&t, 100000 + i * 3, 5000, 4, "many");
	assert_null(procnet_owner(&t, 100001));
	procnet_owners_free(&t);
}

static void test_owners_no_root(void **state)
{
	struct owner_table t = {};
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/does-not-exist", proc_root);
	assert_int_equal(procnet_owners(path, &t), -ENOENT);
	assert_int_equal(t.n, 0);
	assert_null(procnet_owner(&t, 100));
	procnet_owners_free(&t);
}

/* Lines as the kernel prints them (tcp4_seq_show, tcp6_seq_show). */
static void test_tcp_line(void **state)
{
	static const char v4[] =
		"   3: 0100007F:1F90 0A01A8C0:D431 01 00000000:00000000 02:000AFBDB 00000000  1000 "
		"       0 87654 1 0000000000000000 20 4 30 10 -1\n";
	static const char v6[] =
		"   0: 00000000000000000000000001000000:0016 0000000000000000FFFF00000100007F:9C40 "
		"0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 "
		"100 0 0 10 0\n";
	static const uint8_t lo4[4] = { 127, 0, 0, 1 }, peer4[4] = { 192, 168, 1, 10 };
	static const uint8_t lo6[16] = { [15] = 1 };
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };
	struct nt_seed s;

	assert_true(procnet_tcp_line(v4, false, &s));
	assert_int_equal(s.tuple.family, AF_INET);
	assert_memory_equal(s.tuple.saddr, lo4, 4);
	assert_memory_equal(s.tuple.daddr, peer4, 4);
	assert_int_equal(s.tuple.sport, 8080);
	assert_int_equal(s.tuple.dport, 54321);
	assert_int_equal(s.state, 1);
	assert_int_equal(s.ino, 87654);
	assert_int_equal(s.sk, 0);

	assert_true(procnet_tcp_line(v6, true, &s));
	assert_int_equal(s.tuple.family, AF_INET6);
	assert_memory_equal(s.tuple.saddr, lo6, 16);
	assert_memory_equal(s.tuple.daddr, mapped, 16);
	assert_int_equal(s.tuple.sport, 22);
	assert_int_equal(s.tuple.dport, 40000);
	assert_int_equal(s.state, 10);
	assert_int_equal(s.ino, 4242);
}

static void test_tcp_line_bad(void **state)
{
	struct nt_seed s;

	assert_false(procnet_tcp_line("  sl  local_address rem_address   st tx_queue rx_queue\n",
				      false, &s));
	/* An IPv6 line read as IPv4 and the reverse: wrong address widths. */
	assert_false(procnet_tcp_line("   0: 00000000000000000000000001000000:0016 "
				      "00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 1",
				      false, &s));
	assert_false(procnet_tcp_line("   0: 0100007F:1F90 0A01A8C0:D431 01 0:0 0:0 0 0 0 1", true,
				      &s));
	assert_false(procnet_tcp_line("   0: 0100007F:1F90 0A01A8C0:D431 01", false, &s));
	assert_false(procnet_tcp_line("", false, &s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_inode),
		cmocka_unit_test(test_socket_inode_bad),
		cmocka_unit_test(test_status_uid),
		cmocka_unit_test(test_status_uid_bad),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_owners_many_sockets),
		cmocka_unit_test(test_owners_no_root),
		cmocka_unit_test(test_tcp_line),
		cmocka_unit_test(test_tcp_line_bad),
	};

	return cmocka_run_group_tests_name("procnet", tests, setup, teardown);
}
