/* libFuzzer harness: input split at NUL bytes into argv for cli_parse. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "check.h"

#define MAX_ARGS 64

static void check_config(const struct config *cfg)
{
	CHECK(cfg->interval >= 0.1 && cfg->interval <= 86400);
	CHECK(cfg->tracer.map_size >= 16 && cfg->tracer.map_size <= 1U << 24);
	CHECK(cfg->tracer.perf_pages >= 1 && cfg->tracer.perf_pages <= 1U << 16);
	CHECK((cfg->tracer.perf_pages & (cfg->tracer.perf_pages - 1)) == 0);
	CHECK(cfg->tracer.attach >= ATTACH_AUTO && cfg->tracer.attach <= ATTACH_FENTRY);
	CHECK(!cfg->output.path || cfg->output.path[0]);
	CHECK(cfg->verbose >= 0);
	CHECK(cfg->tracer.filter.npids <= NT_FILTER_MAX && cfg->tracer.filter.nports <= NT_FILTER_MAX);
	CHECK(cfg->tracer.filter.events && (cfg->tracer.filter.events & ~NT_REPORT_ALL) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Each argument in its own exact-size allocation, so ASan sees overreads. */
	char *argv[MAX_ARGS + 2] = { "nettracer" };
	struct config cfg;
	char err[128];
	size_t start = 0, i;
	int argc = 1, ret;

	/* "a\0b" is two arguments, "a\0" one, "" none: a trailing NUL ends the last one. */
	for (i = 0; i <= size && argc <= MAX_ARGS; i++) {
		if (i < size && data[i])
			continue;
		if (i == size && start == size)
			break;
		argv[argc] = malloc(i - start + 1);
		if (!argv[argc])
			goto out;
		memcpy(argv[argc], data + start, i - start);
		argv[argc][i - start] = '\0';
		argc++;
		start = i + 1;
	}
	argv[argc] = NULL;

	memset(err, 0, sizeof(err));
	ret = cli_parse(&cfg, argc, argv, err, sizeof(err));
	switch (ret) {
	case CLI_RUN:
		check_config(&cfg);
		break;
	case CLI_HELP:
	case CLI_VERSION:
		break;
	case -EINVAL:
		/* Always a message, always terminated, even when cut to fit. */
		CHECK(err[0] && memchr(err, '\0', sizeof(err)) != NULL);
		break;
	default:
		CHECK(0);
	}
out:
	for (i = 1; i < (size_t)argc; i++)
		free(argv[i]);
	return 0;
}
