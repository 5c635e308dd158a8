/* Unit test: event times follow steps of the wall clock. clock_gettime is wrapped
 * (-Wl,--wrap=clock_gettime): the test moves a simulated wall clock by an hour either way and
 * reads the times of the records the pipeline writes. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <jansson.h>
#include "json.h"
#include "json_sink.h"
#include "metrics.h"
#include "output.h"
#include "pipeline.h"

#define NS 1000000000LL

static int64_t boot_ns = 1000 * NS, real_ns = 1700000000 * NS;

int __real_clock_gettime(clockid_t clock, struct timespec *ts);

int __wrap_clock_gettime(clockid_t clock, struct timespec *ts)
{
	int64_t v;

	if (clock == CLOCK_BOOTTIME)
		v = boot_ns;
	else if (clock == CLOCK_REALTIME)
		v = real_ns;
	else
		return __real_clock_gettime(clock, ts);
	ts->tv_sec = v / NS;
	ts->tv_nsec = v % NS;
	return 0;
}

/* Time passes on both clocks. */
static void elapse(int64_t ns)
{
	boot_ns += ns;
	real_ns += ns;
}

struct fixture {
	char path[64];
	struct pipeline p;
	struct json_sink js;
	FILE *in;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	strcpy(f->path, "/tmp/nt-test-clock-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->p.out = output__open(f->path);
	f->js.out = f->p.out;
	f->js.fmt = json_fmt_new();
	f->p.sink = json_sink(&f->js);
	f->p.metrics = metrics__new(false);
	assert_non_null(f->p.out);
	assert_non_null(f->js.fmt);
	f->in = fopen(f->path, "r");
	assert_non_null(f->in);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fclose(f->in);
	output__close(f->p.out);
	json_fmt_free(f->js.fmt);
	metrics__free(f->p.metrics);
	unlink(f->path);
	free(f);
	return 0;
}

/* A connect sample stamped by the kernel at boot time ts, through the pipeline: the wall-clock
 * time of the record it writes, in ns. */
static int64_t record_time(struct fixture *f, int64_t ts)
{
	struct nt_event ev = { .ts_ns = ts, .type = NT_EVENT_CONNECT,
			       .tuple = { .family = AF_INET, .sport = 1, .dport = 2 } };
	char line[2048];
	json_error_t err;
	json_t *rec;
	struct tm tm = {};
	const char *t, *rest;
	int64_t v;

	pipeline_sample(&f->p, 0, &ev, NT_EVENT_SHORT_SIZE);
	assert_int_equal(output__flush(f->p.out), 0);
	assert_non_null(fgets(line, sizeof(line), f->in));
	rec = json_loads(line, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(rec);
	t = json_string_value(json_object_get(rec, "time"));
	assert_non_null(t);
	rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(rest);
	assert_int_equal(rest[0], '.');
	v = (int64_t)timegm(&tm) * NS + strtoll(rest + 1, NULL, 10) * 1000;
	json_decref(rec);
	return v;
}

static void assert_near(int64_t a, int64_t b, int64_t within)
{
	if (llabs(a - b) > within)
		fail_msg("%lld ns apart, more than %lld", (long long)(a - b), (long long)within);
}

static void test_follows_steps(void **state)
{
	struct fixture *f = *state;
	int64_t step;

	pipeline_clock(&f->p);
	assert_int_equal(record_time(f, boot_ns), real_ns);
	for (step = 3600 * NS; step >= -3600 * NS; step -= 7200 * NS) {
		/* A sample from before the step, read in the first batch after it, and one from
		 * after: both near the wall clock the dumps around them read. */
		elapse(NS / 10);
		int64_t before = boot_ns;

		elapse(NS / 10);
		real_ns += step;
		elapse(NS / 10);
		pipeline_clock(&f->p);
		assert_near(record_time(f, before), real_ns, NS);
		elapse(NS / 10);
		assert_near(record_time(f, boot_ns), real_ns, NS / 1000);
	}
}

/* Without a new batch, nothing is read again: the offset stays the one taken. */
static void test_offset_per_batch(void **state)
{
	struct fixture *f = *state;
	int64_t t0;

	pipeline_clock(&f->p);
	t0 = real_ns;
	real_ns += 3600 * NS;
	assert_int_equal(record_time(f, boot_ns), t0);
	pipeline_clock(&f->p);
	assert_int_equal(record_time(f, boot_ns), real_ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_follows_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offset_per_batch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
