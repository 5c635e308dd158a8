/* Unit test: the nest stack (bpf/nest.h) against a model of the kernel that runs the two state
 * change programs, so that every change is handled exactly once whatever interrupts what.
 *
 * The model: one CPU; a process makes state changes; a softirq can come at any point of the
 * process's tracepoint call (before, inside or between the two programs, and in the kernel's
 * entry to and exit from each, where the program counts as running but its code has not begun or
 * has ended) and makes a burst of changes there. The kernel skips a program on a CPU where that
 * program is already running. A softirq is not interrupted by a state change. The frame of a
 * program run is where the kernel keeps the tracepoint's arguments: one for the process, and one
 * per softirq call path (a burst's changes come by a few paths). The glue below is the two
 * programs' own (bpf/nettracer.bpf.c, tp_set_state and tp_set_state_nested). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include <cmocka.h>

#define barrier() __asm__ __volatile__("" ::: "memory")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#include "../../bpf/nest.h"
#pragma GCC diagnostic pop

#define CHANGES	      4096
#define PROCESS_FRAME 0x7000ULL

enum point { /* where in the process's tracepoint call a softirq comes */
	     BEFORE,
	     FIRST_ENTRY,  /* first program running, its code not begun */
	     FIRST_DEPTH,  /* its code: depth counted, nothing pushed yet */
	     FIRST_PUSHED, /* its code: pushed, handling the change */
	     FIRST_EXIT,   /* its code done, the kernel still leaving it */
	     BETWEEN,
	     TWIN_ENTRY,
	     TWIN_CODE, /* nesting set, after the pop */
	     TWIN_EXIT,
	     POINTS
};

struct burst {
	enum point at;
	int len;
	int paths; /* distinct softirq frames, used in turn */
	int first_path;
};

static struct nt_nest st;
static bool running[2]; /* the kernel's flag per program: first, twin */
static int handled[CHANGES], next_change;
static int worst_n;

/* A socket per change. (An old entry left on the stack that names the socket and transition
 * of a later change, on a reused socket, can hide that change from the twin when the kernel
 * skipped the first for it: a risk this test does not take up.) */
static __u64 sk_of(int ch)
{
	return 0x10000 + 64ULL * (__u64)ch;
}

static void handle(int ch)
{
	handled[ch]++;
}

/* The glue of both programs, as bpf/nettracer.bpf.c has it, cut where a softirq can come. */
static bool first_begin(int ch)
{
	if (st.nesting) { /* inside the twin's code: handled, not noted */
		handle(ch);
		return false;
	}
	st.depth++;
	return true;
}

static void first_push(__u64 frame, int ch)
{
	nest_push(&st, frame, sk_of(ch), nest_states(1, 7));
	if (st.n > (unsigned)worst_n)
		worst_n = (int)st.n;
}

static void first_end(int ch)
{
	handle(ch);
	st.depth--;
}

static bool twin_begin(__u64 frame, int ch)
{
	if (!nest_twin_enter(&st))
		return false;
	if (!nest_pop(&st, frame, sk_of(ch), nest_states(1, 7)))
		handle(ch);
	return true;
}

/* One change in a softirq: nothing interrupts it. */
static void softirq_change(__u64 frame)
{
	int ch = next_change++;

	if (!running[0]) {
		running[0] = true;
		if (first_begin(ch)) {
			first_push(frame, ch);
			first_end(ch);
		}
		running[0] = false;
	}
	if (!running[1]) {
		running[1] = true;
		if (twin_begin(frame, ch))
			nest_twin_leave(&st);
		running[1] = false;
	}
}

static void softirq(const struct burst *b)
{
	for (int i = 0; i < b->len; i++)
		softirq_change(0x9000ULL + 0x40ULL * (__u64)(b->first_path + i % b->paths));
}

/* One process change, with the softirqs of the bursts that come at its points. */
static void process_change(const struct burst *bursts, int nb)
{
	int ch = next_change++;

#define AT(p)                                                                                      \
	for (int k = 0; k < nb; k++)                                                               \
		if (bursts[k].at == (p))                                                           \
			softirq(&bursts[k]);
	AT(BEFORE);
	running[0] = true;
	AT(FIRST_ENTRY);
	if (first_begin(ch)) {
		AT(FIRST_DEPTH);
		first_push(PROCESS_FRAME, ch);
		AT(FIRST_PUSHED);
		first_end(ch);
	}
	AT(FIRST_EXIT);
	running[0] = false;
	AT(BETWEEN);
	running[1] = true;
	AT(TWIN_ENTRY);
	if (twin_begin(PROCESS_FRAME, ch)) {
		AT(TWIN_CODE);
		nest_twin_leave(&st);
	}
	AT(TWIN_EXIT);
	running[1] = false;
#undef AT
}

static void reset(void)
{
	memset(&st, 0, sizeof(st));
	memset(handled, 0, sizeof(handled));
	memset(running, 0, sizeof(running));
	next_change = 0;
	worst_n = 0;
}

static void check_once(const char *what)
{
	for (int ch = 0; ch < next_change; ch++)
		if (handled[ch] != 1)
			fail_msg("%s: change %d handled %d times", what, ch, handled[ch]);
	assert_true(worst_n <= NT_NEST_MAX);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.nesting, 0);
}

static const int lens[] = { 1, 2, 3, 8, 15, 16, 17, 40 };
static const int paths[] = { 1, 2, 3, 9, 15, 17, 40 };
#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Three process changes, a burst at a point of the first and one at a point of the second. */
static void two_bursts(struct burst b1, struct burst b2)
{
	char what[128];

	reset();
	process_change(&b1, 1);
	process_change(&b2, 1);
	process_change(NULL, 0);
	snprintf(what, sizeof(what),
		 "burst of %d (%d paths) at point %d, then of %d (%d paths) at point %d", b1.len,
		 b1.paths, b1.at, b2.len, b2.paths, b2.at);
	check_once(what);
}

/* Every pair of points, lengths and numbers of paths: the first burst leaves entries on the
 * stack at every point of the first change, the second meets them at every point of the next. */
static void test_every_point(void **state)
{
	const int nl = N(lens), nq = N(paths);

	(void)state;
	for (int p = 0; p < POINTS * POINTS; p++)
		for (int l = 0; l < nl * nl; l++)
			for (int q = 0; q < nq * nq; q++)
				two_bursts(
				    (struct burst){ p / POINTS, lens[l / nl], paths[q / nq], 0 },
				    (struct burst){ p % POINTS, lens[l % nl], paths[q % nq], 0 });
}

/* Entries that softirqs by 14 paths left for good, older than the last run of the twin; then the
 * process's change, and a burst by other paths while the process enters the twin, which fills
 * the stack: the entry that must stay is neither the oldest nor the newest. */
static void test_full_of_old(void **state)
{
	struct burst left = { TWIN_EXIT, 14, 14, 0 }, other = { TWIN_ENTRY, 3, 3, 14 };

	(void)state;
	reset();
	process_change(&left, 1);
	process_change(NULL, 0);
	process_change(&other, 1);
	process_change(NULL, 0);
	check_once("14 old entries left, then a burst by 3 other paths");
}

/* A long run: bursts at random points, the stack never emptied in between. */
static void test_long_run(void **state)
{
	unsigned seed = 12345;
	char what[64];

	(void)state;
	reset();
	while (next_change < CHANGES - 64) {
		struct burst b;

		seed = seed * 1103515245 + 12345;
		b.at = (enum point)((seed >> 8) % POINTS);
		b.len = 1 + (int)((seed >> 16) % 20);
		b.paths = 1 + (int)((seed >> 24) % 3);
		b.first_path = 0;
		process_change(&b, (seed & 1) ? 1 : 0);
	}
	snprintf(what, sizeof(what), "long run of %d changes", next_change);
	check_once(what);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_point),
		cmocka_unit_test(test_full_of_old),
		cmocka_unit_test(test_long_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
