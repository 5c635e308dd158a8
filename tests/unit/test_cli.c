/* Unit tests for cli_parse: defaults, every option, and every way a command line is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cli.h"

#define ARGV(...) ((char *[]){ "nettracer", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "nettracer", __VA_ARGS__ }) / sizeof(char *)))

static struct config cfg;
static char err[256];

static int parse_n(int argc, char **argv)
{
	memset(&cfg, 0xa5, sizeof(cfg)); /* cli_parse must set every field itself */
	strcpy(err, "untouched");
	return cli_parse(&cfg, argc, argv, err, sizeof(err));
}

#define parse(...) parse_n(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_defaults(void **state)
{
	char *argv[] = { "nettracer", NULL };

	assert_int_equal(parse_n(1, argv), CLI_RUN);
	assert_null(cfg.output.path);
	assert_int_equal(cfg.verbose, 0);
	assert_true(cfg.interval == 30.0);
	assert_false(cfg.incremental);
	assert_int_equal(cfg.tracer.map_size, 65536);
	assert_int_equal(cfg.tracer.perf_pages, 256);
	assert_int_equal(cfg.tracer.attach, ATTACH_AUTO);
	assert_int_equal(cfg.tracer.offsets, OFFSETS_AUTO);
	assert_false(cfg.display);
	assert_int_equal(cfg.sort, TABLE_SORT_BYTES);
	assert_int_equal(cfg.tracer.filter.npids, 0);
	assert_int_equal(cfg.tracer.filter.nports, 0);
	assert_int_equal(cfg.tracer.filter.netns, 0);
	assert_int_equal(cfg.tracer.filter.no_loopback, 0);
	assert_int_equal(cfg.tracer.filter.events, NT_REPORT_ALL);
	/* Success leaves the message alone. */
	assert_string_equal(err, "untouched");
}

static void test_output(void **state)
{
	assert_int_equal(parse("-o", "/tmp/x.ndjson"), CLI_RUN);
	assert_string_equal(cfg.output.path, "/tmp/x.ndjson");
	assert_int_equal(parse("--output=out.json"), CLI_RUN);
	assert_string_equal(cfg.output.path, "out.json");
	assert_int_equal(parse("--output", "a b"), CLI_RUN);
	assert_string_equal(cfg.output.path, "a b");
	assert_int_equal(parse("-oshort"), CLI_RUN);
	assert_string_equal(cfg.output.path, "short");
}

static void test_output_empty(void **state)
{
	assert_int_equal(parse("--output="), -EINVAL);
	assert_string_equal(err, "invalid value '' for option '--output='");
	assert_int_equal(parse("-o", ""), -EINVAL);
	assert_string_equal(err, "invalid value '' for option '-o'");
}

static void test_interval(void **state)
{
	assert_int_equal(parse("-t", "0.5"), CLI_RUN);
	assert_true(cfg.interval == 0.5);
	assert_int_equal(parse("--interval=2"), CLI_RUN);
	assert_true(cfg.interval == 2.0);
	assert_int_equal(parse("--interval", "0.1"), CLI_RUN);
	assert_true(cfg.interval == 0.1);
	assert_int_equal(parse("-t86400"), CLI_RUN);
	assert_true(cfg.interval == 86400.0);
}

static void test_interval_bad(void **state)
{
	static const char *const bad[] = {
		"abc", "0", "0.05", "-1", "86401", "", "1s", "nan", "inf", "1e999",
	};
	char value[16];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(value, bad[i]);
		assert_int_equal(parse("-t", value), -EINVAL);
	}
	assert_int_equal(parse("-t", "abc"), -EINVAL);
	assert_string_equal(err, "invalid value 'abc' for option '-t'");
	assert_int_equal(parse("-t", "0"), -EINVAL);
	assert_string_equal(err, "invalid value '0' for option '-t'");
	assert_int_equal(parse("--interval=0"), -EINVAL);
	assert_string_equal(err, "invalid value '0' for option '--interval=0'");
}

static void test_incremental_verbose(void **state)
{
	assert_int_equal(parse("-i"), CLI_RUN);
	assert_true(cfg.incremental);
	assert_int_equal(parse("--incremental", "-v", "--verbose", "-vv"), CLI_RUN);
	assert_true(cfg.incremental);
	assert_int_equal(cfg.verbose, 4);
	/* A cluster of flags and a value glued to the last one. */
	assert_int_equal(parse("-ivt3"), CLI_RUN);
	assert_true(cfg.incremental);
	assert_int_equal(cfg.verbose, 1);
	assert_true(cfg.interval == 3.0);
}

static void test_map_size(void **state)
{
	assert_int_equal(parse("--map-size=16"), CLI_RUN);
	assert_int_equal(cfg.tracer.map_size, 16);
	assert_int_equal(parse("--map-size", "16777216"), CLI_RUN);
	assert_int_equal(cfg.tracer.map_size, 1U << 24);
	assert_int_equal(parse("--map-size=1000"), CLI_RUN);
	assert_int_equal(cfg.tracer.map_size, 1000);

	assert_int_equal(parse("--map-size=0"), -EINVAL);
	assert_string_equal(err, "invalid value '0' for option '--map-size=0'");
	assert_int_equal(parse("--map-size=15"), -EINVAL);
	assert_int_equal(parse("--map-size=16777217"), -EINVAL);
	assert_int_equal(parse("--map-size=-16"), -EINVAL);
	assert_int_equal(parse("--map-size=1k"), -EINVAL);
	assert_int_equal(parse("--map-size="), -EINVAL);
	/* 2^64 + 16 must not wrap to 16, nor -(2^64 - 16) as strtoul() reads it. */
	assert_int_equal(parse("--map-size=18446744073709551632"), -EINVAL);
	assert_int_equal(parse("--map-size=-18446744073709551600"), -EINVAL);
	assert_int_equal(parse("--perf-pages=-18446744073709551612"), -EINVAL);
}

static void test_perf_pages(void **state)
{
	assert_int_equal(parse("--perf-pages=1"), CLI_RUN);
	assert_int_equal(cfg.tracer.perf_pages, 1);
	assert_int_equal(parse("--perf-pages", "64"), CLI_RUN);
	assert_int_equal(cfg.tracer.perf_pages, 64);
	assert_int_equal(parse("--perf-pages=65536"), CLI_RUN);
	assert_int_equal(cfg.tracer.perf_pages, 65536);

	assert_int_equal(parse("--perf-pages=3"), -EINVAL);
	assert_string_equal(err, "invalid value '3' for option '--perf-pages=3'");
	assert_int_equal(parse("--perf-pages=0"), -EINVAL);
	assert_int_equal(parse("--perf-pages=96"), -EINVAL);
	assert_int_equal(parse("--perf-pages=131072"), -EINVAL);
}

static void test_attach(void **state)
{
	assert_int_equal(parse("--attach=auto"), CLI_RUN);
	assert_int_equal(cfg.tracer.attach, ATTACH_AUTO);
	assert_int_equal(parse("--attach=tracepoint"), CLI_RUN);
	assert_int_equal(cfg.tracer.attach, ATTACH_TRACEPOINT);
	assert_int_equal(parse("--attach", "kprobe"), CLI_RUN);
	assert_int_equal(cfg.tracer.attach, ATTACH_KPROBE);
	assert_int_equal(parse("--attach=fentry"), CLI_RUN);
	assert_int_equal(cfg.tracer.attach, ATTACH_FENTRY);

	assert_int_equal(parse("--attach=bogus"), -EINVAL);
	assert_string_equal(err, "invalid value 'bogus' for option '--attach=bogus'");
	assert_int_equal(parse("--attach", "bogus"), -EINVAL);
	assert_string_equal(err, "invalid value 'bogus' for option '--attach'");
	assert_int_equal(parse("--attach=KPROBE"), -EINVAL);
	assert_int_equal(parse("--attach=fentry2"), -EINVAL);
	assert_int_equal(parse("--attach="), -EINVAL);
}

static void test_offsets(void **state)
{
	assert_int_equal(parse("--offsets=auto"), CLI_RUN);
	assert_int_equal(cfg.tracer.offsets, OFFSETS_AUTO);
	assert_int_equal(parse("--offsets=btf"), CLI_RUN);
	assert_int_equal(cfg.tracer.offsets, OFFSETS_BTF);
	assert_int_equal(parse("--offsets", "guess"), CLI_RUN);
	assert_int_equal(cfg.tracer.offsets, OFFSETS_GUESS);
	/* The attach mode names are not offsets modes. */
	assert_int_equal(parse("--offsets=kprobe"), -EINVAL);
	assert_string_equal(err, "invalid value 'kprobe' for option '--offsets=kprobe'");
	assert_int_equal(parse("--offsets="), -EINVAL);
	assert_int_equal(parse("--attach=btf"), -EINVAL);
}

static void test_display(void **state)
{
	assert_int_equal(parse("-d"), CLI_RUN);
	assert_true(cfg.display);
	assert_int_equal(cfg.sort, TABLE_SORT_BYTES);
	assert_int_equal(parse("--display", "--sort=rtt"), CLI_RUN);
	assert_true(cfg.display);
	assert_int_equal(cfg.sort, TABLE_SORT_RTT);
	/* The order of -d and --sort does not matter. */
	assert_int_equal(parse("--sort", "comm", "-d"), CLI_RUN);
	assert_int_equal(cfg.sort, TABLE_SORT_COMM);

	assert_int_equal(parse("--sort=rtt"), -EINVAL);
	assert_string_equal(err, "option '--sort' needs -d");
	assert_int_equal(parse("-d", "--sort=bogus"), -EINVAL);
	assert_string_equal(err, "invalid value 'bogus' for option '--sort=bogus'");
	assert_int_equal(parse("-d", "--sort="), -EINVAL);
}

static void test_filters(void **state)
{
	assert_int_equal(parse("-p", "1", "--pid=2147483647", "-p42", "--port=443", "--port",
			       "65535", "--netns=4026531840", "--no-loopback"),
			 CLI_RUN);
	assert_int_equal(cfg.tracer.filter.npids, 3);
	assert_int_equal(cfg.tracer.filter.pids[0], 1);
	assert_int_equal(cfg.tracer.filter.pids[1], 2147483647);
	assert_int_equal(cfg.tracer.filter.pids[2], 42);
	assert_int_equal(cfg.tracer.filter.nports, 2);
	assert_int_equal(cfg.tracer.filter.ports[0], 443);
	assert_int_equal(cfg.tracer.filter.ports[1], 65535);
	assert_int_equal(cfg.tracer.filter.netns, 4026531840U);
	assert_int_equal(cfg.tracer.filter.no_loopback, 1);

	assert_int_equal(parse("-p", "0"), -EINVAL);
	assert_string_equal(err, "invalid value '0' for option '-p'");
	assert_int_equal(parse("--pid=2147483648"), -EINVAL);
	assert_int_equal(parse("--port=0"), -EINVAL);
	assert_int_equal(parse("--port=65536"), -EINVAL);
	assert_int_equal(parse("--netns=0"), -EINVAL);
	assert_int_equal(parse("--netns=4294967296"), -EINVAL);
}

static void test_filter_too_many(void **state)
{
	char *argv[2 + 2 * NT_FILTER_MAX + 2] = { "nettracer" };
	char pids[NT_FILTER_MAX + 1][12];
	int argc = 1, i;

	for (i = 0; i <= NT_FILTER_MAX; i++) {
		snprintf(pids[i], sizeof(pids[i]), "%d", 100 + i);
		argv[argc++] = "-p";
		argv[argc++] = pids[i];
	}
	argv[argc] = NULL;
	/* The limit itself is fine... */
	assert_int_equal(parse_n(argc - 2, argv), CLI_RUN);
	assert_int_equal(cfg.tracer.filter.npids, NT_FILTER_MAX);
	assert_int_equal(cfg.tracer.filter.pids[NT_FILTER_MAX - 1], 100 + NT_FILTER_MAX - 1);
	/* ...one more is refused, not written past the array. */
	assert_int_equal(parse_n(argc, argv), -EINVAL);
	assert_non_null(strstr(err, "more than 16 times"));
}

static void test_events(void **state)
{
	assert_int_equal(parse("--events=connect"), CLI_RUN);
	assert_int_equal(cfg.tracer.filter.events, 1U << NT_EVENT_CONNECT);
	assert_int_equal(parse("--events=close,metrics,lost"), CLI_RUN);
	assert_int_equal(cfg.tracer.filter.events,
			 (1U << NT_EVENT_CLOSE) | NT_REPORT_METRICS | NT_REPORT_LOST);
	assert_int_equal(parse("--events", "connect,accept,close,metrics,lost"), CLI_RUN);
	assert_int_equal(cfg.tracer.filter.events, NT_REPORT_ALL & ~(1U << NT_EVENT_CONNECT_FAILED));
	assert_int_equal(parse("--events=connect_failed,connect,accept,close,metrics,lost"),
			 CLI_RUN);
	assert_int_equal(cfg.tracer.filter.events, NT_REPORT_ALL);

	assert_int_equal(parse("--events="), -EINVAL);
	assert_int_equal(parse("--events=connect,"), -EINVAL);
	assert_int_equal(parse("--events=,connect"), -EINVAL);
	assert_int_equal(parse("--events=conn"), -EINVAL);
	assert_int_equal(parse("--events=connects"), -EINVAL);
	assert_int_equal(parse("--events=connect,bogus"), -EINVAL);
	assert_string_equal(err,
			    "invalid value 'connect,bogus' for option '--events=connect,bogus'");
	assert_int_equal(parse("--events=connect_"), -EINVAL);
}

static void test_cgroup(void **state)
{
	assert_int_equal(parse("--cgroup=/system.slice"), CLI_RUN);
	assert_string_equal(cfg.cgroup, "/system.slice");
	assert_int_equal(cfg.tracer.filter.cgroup, 1);
	assert_int_equal(parse("-v"), CLI_RUN);
	assert_null(cfg.cgroup);
	assert_int_equal(cfg.tracer.filter.cgroup, 0);
	assert_int_equal(parse("--cgroup="), -EINVAL);
}

static void test_help_version(void **state)
{
	assert_int_equal(parse("-h"), CLI_HELP);
	assert_int_equal(parse("--help"), CLI_HELP);
	assert_int_equal(parse("-V"), CLI_VERSION);
	assert_int_equal(parse("--version"), CLI_VERSION);
	/* They win over what comes after them, whatever it is. */
	assert_int_equal(parse("-i", "--help", "--attach=bogus", "stray"), CLI_HELP);
	assert_int_equal(parse("-V", "-t", "0"), CLI_VERSION);
	assert_non_null(strstr(cli_usage, "Usage: nettracer"));
	assert_non_null(strstr(cli_usage, "--perf-pages"));
}

static void test_unknown_option(void **state)
{
	assert_int_equal(parse("--bogus"), -EINVAL);
	assert_string_equal(err, "unknown option '--bogus'");
	assert_int_equal(parse("-x"), -EINVAL);
	assert_string_equal(err, "unknown option '-x'");
	assert_int_equal(parse("-i", "-z"), -EINVAL);
	assert_string_equal(err, "unknown option '-z'");
	/* A flag without an argument given one. */
	assert_int_equal(parse("--incremental=yes"), -EINVAL);
	/* Ambiguous abbreviation: --verbose or --version. */
	assert_int_equal(parse("--ver"), -EINVAL);
}

static void test_missing_argument(void **state)
{
	assert_int_equal(parse("-t"), -EINVAL);
	assert_string_equal(err, "option '-t' needs a value");
	assert_int_equal(parse("-i", "--interval"), -EINVAL);
	assert_string_equal(err, "option '--interval' needs a value");
	assert_int_equal(parse("-o"), -EINVAL);
	assert_string_equal(err, "option '-o' needs a value");
	assert_int_equal(parse("--attach"), -EINVAL);
	assert_string_equal(err, "option '--attach' needs a value");
}

static void test_stray_argument(void **state)
{
	assert_int_equal(parse("stray"), -EINVAL);
	assert_string_equal(err, "unexpected argument 'stray'");
	/* getopt moves operands to the end: the options around it are still checked first. */
	assert_int_equal(parse("-i", "eth0", "-v"), -EINVAL);
	assert_string_equal(err, "unexpected argument 'eth0'");
	assert_int_equal(parse("--", "-i"), -EINVAL);
	assert_string_equal(err, "unexpected argument '-i'");
}

static void test_message_truncated(void **state)
{
	char small[8];
	char *argv[] = { "nettracer", "--bogus-option", NULL };

	memset(small, 'x', sizeof(small));
	assert_int_equal(cli_parse(&cfg, 2, argv, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "unknown");
}

static void test_parse_twice(void **state)
{
	char *first[] = { "nettracer", strdup("-hv"), NULL };

	/* getopt stops inside "-hv" at 'h'; the next parse must not go on with its 'v'. */
	assert_non_null(first[1]);
	assert_int_equal(parse_n(2, first), CLI_HELP);
	free(first[1]);
	assert_int_equal(parse("-o", "x"), CLI_RUN);
	assert_int_equal(cfg.verbose, 0);
	assert_string_equal(cfg.output.path, "x");
	/* The same after an error in the middle of a cluster. */
	assert_int_equal(parse("-zi"), -EINVAL);
	assert_int_equal(parse("-t", "1"), CLI_RUN);
	assert_false(cfg.incremental);
	assert_true(cfg.interval == 1.0);
}

/* Messages name the option as the user wrote it, also inside a group of short options. */
static void test_messages_name_the_option(void **state)
{
	assert_int_equal(parse("-zi"), -EINVAL);
	assert_string_equal(err, "unknown option '-z'");
	assert_int_equal(parse("-vt"), -EINVAL);
	assert_string_equal(err, "option '-t' needs a value");
	assert_int_equal(parse("-p", "x"), -EINVAL);
	assert_string_equal(err, "invalid value 'x' for option '-p'");
	assert_int_equal(parse("--port=0"), -EINVAL);
	assert_string_equal(err, "invalid value '0' for option '--port=0'");
	assert_int_equal(parse("-p1", "-p2", "-p3", "-p4", "-p5", "-p6", "-p7", "-p8", "-p9", "-p10",
			       "-p11", "-p12", "-p13", "-p14", "-p15", "-p16", "-p17"),
			 -EINVAL);
	assert_string_equal(err, "option '-p' given more than 16 times");
}

static void test_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t bytes;
	} good[] = {
		{ "1024", 1024 },	   { "1k", 1024 },	    { "1K", 1024 },
		{ "16k", 16384 },	   { "5M", 5 << 20 },	    { "5m", 5 << 20 },
		{ "2G", 2ULL << 30 },	   { "1024G", 1ULL << 40 }, { "1099511627776", 1ULL << 40 },
		{ "007k", 7 * 1024 },
	};
	static const char *const bad[] = {
		"",	"0",  "1023", "0k",  "k",     "-1k",	"+1k",	 " 1k",	 "1.5M", "1kb",
		"1KiB", "1T", "1 k",  "1kk", "1025G", "0x10k", "99999999999999999999", "18014398509481984k",
	};
	unsigned int i;
	uint64_t v;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 0;
		assert_int_equal(cli_parse_size(good[i].s, &v), 0);
		assert_true(v == good[i].bytes);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		if (cli_parse_size(bad[i], &v) != -EINVAL)
			fail_msg("'%s' taken as %llu", bad[i], (unsigned long long)v);
		assert_true(v == 42);
	}
}

static void test_rotate(void **state)
{
	assert_int_equal(parse("-o", "f", "--rotate-size=10M"), CLI_RUN);
	assert_true(cfg.output.rotate_size == 10 << 20);
	assert_int_equal(cfg.output.rotate_keep, 5);
	assert_int_equal(parse("-o", "f", "--rotate-size", "64k", "--rotate-keep=1"), CLI_RUN);
	assert_true(cfg.output.rotate_size == 65536);
	assert_int_equal(cfg.output.rotate_keep, 1);
	assert_int_equal(parse("-o", "f"), CLI_RUN);
	assert_true(cfg.output.rotate_size == 0);
	assert_int_equal(parse("--rotate-size=1M"), -EINVAL);
	assert_string_equal(err, "option '--rotate-size' needs -o FILE");
	assert_int_equal(parse("-o", "-", "--rotate-size=1M"), -EINVAL);
	assert_string_equal(err, "option '--rotate-size' needs -o FILE");
	assert_int_equal(parse("-o", "f", "--rotate-keep=3"), -EINVAL);
	assert_string_equal(err, "option '--rotate-keep' needs --rotate-size");
	assert_int_equal(parse("-o", "f", "--rotate-size=1M", "--rotate-keep=0"), -EINVAL);
	assert_string_equal(err, "invalid value '0' for option '--rotate-keep=0'");
	assert_int_equal(parse("-o", "f", "--rotate-size=1M", "--rotate-keep=1001"), -EINVAL);
	assert_int_equal(parse("-o", "f", "--rotate-size=12x"), -EINVAL);
	assert_string_equal(err, "invalid value '12x' for option '--rotate-size=12x'");
}

static void test_format(void **state)
{
	assert_int_equal(parse("-o", "f"), CLI_RUN);
	assert_int_equal(cfg.format, FORMAT_JSON);
	assert_int_equal(parse("--format=ecs"), CLI_RUN);
	assert_int_equal(cfg.format, FORMAT_ECS);
	assert_int_equal(parse("--format", "json"), CLI_RUN);
	assert_int_equal(cfg.format, FORMAT_JSON);
	assert_int_equal(parse("--format=xml"), -EINVAL);
	assert_string_equal(err, "invalid value 'xml' for option '--format=xml'");
	assert_int_equal(parse("--format=ECS"), -EINVAL);
	/* The table has no schema. */
	assert_int_equal(parse("-d", "--format=ecs"), -EINVAL);
	assert_string_equal(err, "option '--format' cannot be used with -d");
	assert_int_equal(parse("--format=json", "-d"), -EINVAL);
}

static void test_input(void **state)
{
	assert_int_equal(parse("-d"), CLI_RUN);
	assert_null(cfg.input);
	assert_false(cfg.follow);
	assert_int_equal(parse("-d", "--input=rec.ndjson"), CLI_RUN);
	assert_string_equal(cfg.input, "rec.ndjson");
	assert_false(cfg.follow);
	assert_int_equal(parse("--follow", "--input", "-", "-d"), CLI_RUN);
	assert_string_equal(cfg.input, "-");
	assert_true(cfg.follow);
	assert_int_equal(parse("--input=f"), -EINVAL);
	assert_string_equal(err, "option '--input' needs -d");
	assert_int_equal(parse("-d", "--follow"), -EINVAL);
	assert_string_equal(err, "option '--follow' needs --input");
	assert_int_equal(parse("--follow"), -EINVAL);
	assert_int_equal(parse("-d", "--input="), -EINVAL);
	assert_string_equal(err, "invalid value '' for option '--input='");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_messages_name_the_option),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_output_empty),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_interval_bad),
		cmocka_unit_test(test_incremental_verbose),
		cmocka_unit_test(test_map_size),
		cmocka_unit_test(test_perf_pages),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_display),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_input),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_filter_too_many),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_cgroup),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_argument),
		cmocka_unit_test(test_stray_argument),
		cmocka_unit_test(test_message_truncated),
		cmocka_unit_test(test_parse_twice),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
