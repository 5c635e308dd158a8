/* Command line → struct config. Never prints, never exits. */
#ifndef NT_CLI_H
#define NT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
/* cli.c fills the options of the modules it configures. */
#include "json_sink.h"
#include "output.h"
#include "table.h"
#include "tracer.h"

struct config {
	struct output_opts output;
	struct tracer_opts tracer; /* only the options: main.c adds the callbacks */
	int verbose;
	double interval; /* seconds between metrics dumps */
	bool incremental;
	const char *cgroup; /* --cgroup: the path as given; NULL without the filter */
	bool display;	    /* -d: a live table instead of JSON lines */
	enum table_sort sort; /* --sort, for -d */
	enum json_sink_format format; /* --format */
	const char *input; /* -d --input: records read from this file ("-": stdin), no tracing */
	bool follow;	   /* --follow: the input file keeps growing and is rotated */
};

enum cli_result {
	CLI_RUN = 0,
	CLI_HELP = 1,
	CLI_VERSION = 2,
};

/* Fills cfg from argv. CLI_RUN, CLI_HELP, CLI_VERSION, or -EINVAL with a one-line message
 * (no newline) in err. */
int cli_parse(struct config *cfg, int argc, char **argv, char *err, size_t err_size);

/* A size with an optional k, M or G suffix (powers of 1024, either case) → bytes, from 1k to
 * 1T. 0 or -EINVAL. */
int cli_parse_size(const char *s, uint64_t *out);

/* The --help text. */
extern const char cli_usage[];

#endif /* NT_CLI_H */
