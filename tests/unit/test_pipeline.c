/* Unit tests for pipeline_emit: every record formatted gets the next seq, also one that the
 * formatter refuses (json_format is wrapped to refuse on demand), and refusals are counted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <jansson.h>
#include "json.h"
#include "json_sink.h"
#include "output.h"
#include "pipeline.h"

ssize_t __real_json_format(struct json_fmt *fmt, const struct record *rec, char *buf,
			   size_t size);

static int refuse; /* the next json_format call fails with -ENOSPC */

ssize_t __wrap_json_format(struct json_fmt *fmt, const struct record *rec, char *buf,
			   size_t size)
{
	if (refuse) {
		refuse = 0;
		return -ENOSPC;
	}
	return __real_json_format(fmt, rec, buf, size);
}

/* The seq of each line of path, read back with jansson. */
static size_t read_seqs(const char *path, json_int_t *seqs, size_t max)
{
	char buf[4096];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while (n < max && fgets(buf, sizeof(buf), f)) {
		json_error_t error;
		json_t *obj = json_loads(buf, JSON_REJECT_DUPLICATES, &error);

		if (!obj)
			fail_msg("line %zu: %s", n + 1, error.text);
		seqs[n++] = json_integer_value(json_object_get(obj, "seq"));
		json_decref(obj);
	}
	fclose(f);
	return n;
}

static void test_seq_and_format_failed(void **state)
{
	char path[] = "/tmp/test_pipeline.XXXXXX";
	struct record rec = { .type = RECORD_CONNECT, .family = AF_INET, .comm = "x" };
	struct record lost = { .type = RECORD_LOST, .cpu = 1, .lost_count = 2 };
	struct pipeline p = {};
	struct json_sink js = {};
	json_int_t seqs[8];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	p.out = output__open(path);
	js.out = p.out;
	js.fmt = json_fmt_new();
	assert_non_null(p.out);
	assert_non_null(js.fmt);
	p.sink = json_sink(&js);

	pipeline_emit(&p, &rec);
	assert_int_equal(rec.seq, 1);
	refuse = 1;
	pipeline_emit(&p, &rec);
	assert_int_equal(rec.seq, 2);
	pipeline_emit(&p, &lost);
	rec.type = RECORD_CLOSE;
	rec.has_metrics = true;
	pipeline_emit(&p, &rec);
	assert_int_equal(output__flush(p.out), 0);

	assert_int_equal(p.stats.format_failed, 1);
	assert_int_equal(p.stats.records, 3);
	assert_int_equal(p.stats.events, 3);
	/* The refused record's number is the gap. */
	assert_int_equal(read_seqs(path, seqs, 8), 3);
	assert_true(seqs[0] == 1 && seqs[1] == 3 && seqs[2] == 4);

	output__close(p.out);
	json_fmt_free(js.fmt);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_and_format_failed),
	};

	return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
