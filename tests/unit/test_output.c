/* Unit tests for output.c: write(2) and the monotonic clock are wrapped (-Wl,--wrap), so a full
 * disk, a short write, EINTR, EPIPE and the back-off are played exactly. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "output.h"

ssize_t __real_write(int fd, const void *buf, size_t len);
int __real_clock_gettime(clockid_t clock, struct timespec *ts);

/* What the next write() calls do: fail with err, or write at most limit bytes for real. */
struct step {
	int err;
	size_t limit;
};

static struct step script[64];
static unsigned int nsteps, next_step, calls;
static int failing; /* every write() beyond the script fails with it (0: writes for real) */
static uint64_t mono_ns = 1000000000;

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	struct step s = { .err = failing };

	calls++;
	if (next_step < nsteps)
		s = script[next_step++];
	if (s.err) {
		errno = s.err;
		return -1;
	}
	return __real_write(fd, buf, s.limit && s.limit < len ? s.limit : len);
}

int __wrap_clock_gettime(clockid_t clock, struct timespec *ts)
{
	if (clock != CLOCK_MONOTONIC)
		return __real_clock_gettime(clock, ts);
	ts->tv_sec = mono_ns / 1000000000;
	ts->tv_nsec = mono_ns % 1000000000;
	return 0;
}

static void play(const struct step *steps, unsigned int n)
{
	memcpy(script, steps, n * sizeof(*steps));
	nsteps = n;
	next_step = 0;
}

static char dir[64], path[128];

static int setup(void **state)
{
	strcpy(dir, "/tmp/nt-test-output-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.ndjson", dir);
	nsteps = next_step = calls = 0;
	failing = 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* The whole content of file name. */
static char *slurp(const char *name)
{
	static char buf[4 * 1024 * 1024];
	int fd = open(name, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = 0;
	return buf;
}

static char *line(unsigned int i)
{
	static char l[64];

	snprintf(l, sizeof(l), "{\"n\":%06u,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}\n", i);
	return l;
}

static void test_writes_lines(void **state)
{
	struct output *out = output__open(path);
	unsigned int i;

	assert_non_null(out);
	for (i = 0; i < 3; i++)
		assert_int_equal(output__write(out, line(i), strlen(line(i))), 0);
	assert_int_equal(calls, 0); /* batched */
	assert_int_equal(output__flush(out), 0);
	assert_int_equal(calls, 1);
	assert_string_equal(slurp(path), "{\"n\":000000,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}\n"
					 "{\"n\":000001,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}\n"
					 "{\"n\":000002,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}\n");
	output__close(out);
}

/* A full disk: lines are held, then dropped; the gap report comes first once writing works,
 * and what was held is written once, in order, before it. */
static void test_full_disk_holds_drops_reports(void **state)
{
	struct output *out = output__open(path);
	struct output_status st;
	unsigned int i, held = 0, n, written;
	size_t len = strlen(line(0));
	char *text, *p, gap[64];

	memset(gap, 'G', len - 1);
	gap[len - 1] = '\n';

	assert_non_null(out);
	failing = ENOSPC;
	for (i = 0; output__write(out, line(i), len) == 0; i++)
		held++;
	assert_int_equal(held, OUTPUT_HOLD_SIZE / len);
	output__status(out, &st);
	assert_int_equal(st.err, -ENOSPC);
	assert_int_equal(st.gap, 1);
	assert_int_equal(st.held, held);
	/* Later records are dropped while the gap waits for its report, even with room. */
	assert_int_equal(output__write(out, line(i + 1), len), -ENOBUFS);
	assert_int_equal(output__gap(out), 2);
	/* Within the back-off no write is tried at all. */
	calls = 0;
	assert_int_equal(output__flush(out), 0);
	assert_int_equal(calls, 0);
	/* A report fits in what the lines left free, if small enough; this one does not. */
	assert_int_equal(output__report_gap(out, gap, len, 2), -ENOBUFS);
	assert_int_equal(output__gap(out), 2);

	failing = 0;
	mono_ns += 60 * 1000000000ULL;
	assert_int_equal(output__flush(out), 0);
	output__status(out, &st);
	assert_int_equal(st.err, 0);
	assert_int_equal(st.held, 0);
	assert_int_equal(output__report_gap(out, gap, len, 2), 0);
	assert_int_equal(output__gap(out), 0);
	assert_int_equal(output__write(out, line(900000), len), 0);
	assert_int_equal(output__flush(out), 0);
	output__status(out, &st);
	assert_int_equal(st.dropped, 2);

	text = slurp(path);
	for (p = text, n = 0; n < held; n++, p += len)
		assert_memory_equal(p, line(n), len);
	written = p - text;
	assert_int_equal(written, held * len);
	assert_memory_equal(p, gap, len);
	assert_string_equal(p + len, "{\"n\":900000,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}\n");
	output__close(out);
}

/* A line cut by a short write is finished first, never written twice. */
static void test_short_write_then_error(void **state)
{
	static const struct step steps[] = {
		{ .limit = 5 }, { .err = EIO }, { .limit = 3 }, { .err = EDQUOT }
	};
	struct output *out = output__open(path);
	struct output_status st;

	assert_non_null(out);
	play(steps, 4);
	assert_int_equal(output__write(out, "first line\n", 11), 0);
	assert_int_equal(output__write(out, "second\n", 7), 0);
	assert_int_equal(output__flush(out), 0);
	assert_string_equal(slurp(path), "first");
	output__status(out, &st);
	assert_int_equal(st.err, -EIO);
	assert_int_equal(st.held, 2);
	mono_ns += 10 * 1000000000ULL;
	assert_int_equal(output__flush(out), 0); /* 3 bytes, then EDQUOT */
	assert_string_equal(slurp(path), "first li");
	mono_ns += 10 * 1000000000ULL;
	assert_int_equal(output__flush(out), 0);
	assert_string_equal(slurp(path), "first line\nsecond\n");
	output__status(out, &st);
	assert_int_equal(st.err, 0);
	assert_int_equal(st.dropped, 0);
	output__close(out);
}

/* Failed retries wait 50 ms, then twice as long each time, up to 2 s. */
static void test_backoff(void **state)
{
	static const unsigned int waits_ms[] = { 50, 100, 200, 400, 800, 1600, 2000, 2000 };
	struct output *out = output__open(path);
	unsigned int i;

	assert_non_null(out);
	failing = EAGAIN;
	assert_int_equal(output__write(out, "x\n", 2), 0);
	assert_int_equal(output__flush(out), 0);
	assert_int_equal(calls, 1);
	for (i = 0; i < sizeof(waits_ms) / sizeof(waits_ms[0]); i++) {
		mono_ns += waits_ms[i] * 1000000ULL - 1;
		assert_int_equal(output__flush(out), 0);
		assert_int_equal(calls, i + 1); /* not yet */
		mono_ns += 1;
		assert_int_equal(output__flush(out), 0);
		assert_int_equal(calls, i + 2);
	}
	failing = 0;
	output__close(out); /* a last try, whatever the back-off */
	assert_string_equal(slurp(path), "x\n");
}

/* A retry that writes some and fails again waits the shortest time again: a slow reader. */
static void test_backoff_after_progress(void **state)
{
	static const struct step steps[] = {
		{ .err = EAGAIN }, { .err = EAGAIN }, { .limit = 3 }, { .err = EAGAIN }
	};
	struct output *out = output__open(path);

	assert_non_null(out);
	play(steps, 4);
	assert_int_equal(output__write(out, "abc\n", 4), 0);
	assert_int_equal(output__write(out, "def\n", 4), 0);
	assert_int_equal(output__flush(out), 0);
	mono_ns += 50 * 1000000ULL;
	assert_int_equal(output__flush(out), 0);
	mono_ns += 100 * 1000000ULL;
	assert_int_equal(output__flush(out), 0); /* "abc", then EAGAIN */
	assert_int_equal(calls, 4);
	mono_ns += 50 * 1000000ULL - 1;
	assert_int_equal(output__flush(out), 0);
	assert_int_equal(calls, 4);
	mono_ns += 1;
	assert_int_equal(output__flush(out), 0); /* the rest of the line, then the next */
	assert_int_equal(calls, 6);
	assert_string_equal(slurp(path), "abc\ndef\n");
	output__close(out);
}

static void test_eintr_and_epipe(void **state)
{
	static const struct step steps[] = { { .err = EINTR }, { .err = EPIPE } };
	struct output *out = output__open(path);

	assert_non_null(out);
	play(steps, 2);
	assert_int_equal(output__write(out, "x\n", 2), 0);
	assert_int_equal(output__flush(out), -EPIPE);
	assert_int_equal(calls, 2);
	output__close(out);
}

static void test_check_fd(void **state)
{
	int fd = open(path, O_RDONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(output_check_fd(fd), -EACCES);
	close(fd);
	assert_int_equal(output_check_fd(fd), -EBADF);
	fd = open(path, O_WRONLY);
	assert_int_equal(output_check_fd(fd), 0);
	close(fd);
}

static void rotated(char *name, size_t size, unsigned int n)
{
	snprintf(name, size, "%s.%u", path, n);
}

/* Every file stays within the size, at line boundaries; FILE.1 is the newest; beyond keep
 * files the oldest goes. */
static void test_rotation(void **state)
{
	struct output *out = output__open(path);
	char name[160], want[128], l[32];
	unsigned int i, f;

	assert_non_null(out);
	output__set_rotation(out, 100, 3);
	/* 25 lines of 20 bytes, written one by one: 5 per file. */
	for (i = 0; i < 25; i++) {
		snprintf(l, sizeof(l), "line %02u ...........\n", i);
		assert_int_equal(output__write(out, l, 20), 0);
		assert_int_equal(output__flush(out), 0);
	}
	output__close(out);
	/* FILE: lines 20-24, FILE.1: 15-19, FILE.2: 10-14, FILE.3: 5-9; 0-4 are gone. */
	for (f = 0; f < 4; f++) {
		want[0] = 0;
		for (i = 0; i < 5; i++) {
			snprintf(l, sizeof(l), "line %02u ...........\n", 20 - 5 * f + i);
			strcat(want, l);
		}
		if (f)
			rotated(name, sizeof(name), f);
		else
			strcpy(name, path);
		assert_string_equal(slurp(name), want);
	}
	rotated(name, sizeof(name), 4);
	assert_int_equal(access(name, F_OK), -1);
}

/* A line longer than the rotation size goes into a file of its own; a batch is split at the
 * last line that fits. */
static void test_rotation_batch(void **state)
{
	struct output *out = output__open(path);
	char name[160], l[32];
	unsigned int i;

	assert_non_null(out);
	output__set_rotation(out, 50, 5);
	for (i = 0; i < 5; i++) {
		snprintf(l, sizeof(l), "line %02u ...........\n", i);
		assert_int_equal(output__write(out, l, 20), 0);
	}
	assert_int_equal(output__flush(out), 0); /* 100 bytes: 40 + 40 + 20 */
	rotated(name, sizeof(name), 2);
	assert_string_equal(slurp(name), "line 00 ...........\nline 01 ...........\n");
	rotated(name, sizeof(name), 1);
	assert_string_equal(slurp(name), "line 02 ...........\nline 03 ...........\n");
	assert_string_equal(slurp(path), "line 04 ...........\n");
	assert_int_equal(
	    output__write(out, "a line of more than fifty bytes ......................\n", 55), 0);
	assert_int_equal(output__write(out, "z\n", 2), 0);
	assert_int_equal(output__flush(out), 0);
	rotated(name, sizeof(name), 1);
	assert_string_equal(slurp(name),
			    "a line of more than fifty bytes ......................\n");
	assert_string_equal(slurp(path), "z\n");
	output__close(out);
}

/* SIGHUP after a short write: the rest of the line goes to the old file, then the new one. */
static void test_reopen_after_short_write(void **state)
{
	static const struct step steps[] = { { .limit = 4 }, { .err = ENOSPC } };
	struct output *out = output__open(path);
	char old[160];

	assert_non_null(out);
	snprintf(old, sizeof(old), "%s.old", path);
	play(steps, 2);
	assert_int_equal(output__write(out, "abcdefgh\n", 9), 0);
	assert_int_equal(output__flush(out), 0);
	assert_int_equal(rename(path, old), 0);
	failing = ENOSPC;
	assert_int_equal(output__reopen(out), 0); /* deferred */
	assert_int_equal(access(path, F_OK), -1);
	failing = 0;
	assert_int_equal(output__write(out, "next\n", 5), 0);
	mono_ns += 60 * 1000000000ULL;
	assert_int_equal(output__flush(out), 0);
	assert_string_equal(slurp(old), "abcdefgh\n");
	assert_string_equal(slurp(path), "next\n");
	assert_int_equal(output__reopen(out), 0);
	output__close(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writes_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_disk_holds_drops_reports, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_short_write_then_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_after_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eintr_and_epipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_short_write, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
