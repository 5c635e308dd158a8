/* Option parsing: getopt_long into struct config. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "record.h"

const char cli_usage[] =
	"Usage: nettracer [OPTION]...\n"
	"Trace TCP connections and print them as newline-delimited JSON.\n"
	"\n"
	"  -o, --output=FILE      append records to FILE instead of stdout\n"
	"      --format=SCHEMA    json (default) or ecs (Elastic Common Schema)\n"
	"      --rotate-size=SIZE rename FILE to FILE.1 before it grows past SIZE\n"
	"                         bytes (k, M, G suffixes); needs -o FILE\n"
	"      --rotate-keep=N    rotated files kept: FILE.1 ... FILE.N (default 5)\n"
	"  -t, --interval=SECONDS metrics dump interval (default 30, decimals allowed)\n"
	"  -i, --incremental      metrics counters as deltas since the previous dump\n"
	"      --map-size=N       connections tracked at most (default 65536)\n"
	"      --perf-pages=N     perf buffer pages per CPU, a power of two (default 256)\n"
	"      --attach=MODE      auto, tracepoint, kprobe or fentry (default auto)\n"
	"      --offsets=MODE     auto, btf or guess (default auto)\n"
	"  -p, --pid=PID          only connections of process PID (repeatable)\n"
	"      --port=PORT        only connections with PORT at either end (repeatable)\n"
	"      --netns=INODE      only connections in this network namespace\n"
	"      --no-loopback      skip connections to loopback addresses\n"
	"      --cgroup=PATH      only connections of processes in cgroup PATH (v2,\n"
	"                         under its mount or absolute) or below it\n"
	"      --events=LIST      records to write: connect,accept,close,\n"
	"                         connect_failed,metrics,lost\n"
	"  -d, --display          live table of active connections instead of JSON,\n"
	"                         refreshed every interval and when Enter is pressed\n"
	"      --sort=KEY         table order: bytes (default), sent, received, packets,\n"
	"                         retrans, rtt, pid or comm\n"
	"      --input=FILE       -d: the table from records nettracer wrote to FILE\n"
	"                         ('-': stdin) instead of tracing; needs no privileges\n"
	"      --follow           --input: keep reading FILE as it grows and is rotated\n"
	"  -v, --verbose          diagnostics on stderr\n"
	"  -h, --help             print this help and exit\n"
	"  -V, --version          print the version and exit\n"
	"\n"
	"See nettracer(8) for the output fields.\n";

enum {
	OPT_MAP_SIZE = 256,
	OPT_PERF_PAGES,
	OPT_ATTACH,
	OPT_PORT,
	OPT_NETNS,
	OPT_NO_LOOPBACK,
	OPT_EVENTS,
	OPT_CGROUP,
	OPT_OFFSETS,
	OPT_SORT,
	OPT_ROTATE_SIZE,
	OPT_ROTATE_KEEP,
	OPT_FORMAT,
	OPT_INPUT,
	OPT_FOLLOW,
};

static const struct option long_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "interval", required_argument, NULL, 't' },
	{ "incremental", no_argument, NULL, 'i' },
	{ "map-size", required_argument, NULL, OPT_MAP_SIZE },
	{ "perf-pages", required_argument, NULL, OPT_PERF_PAGES },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "pid", required_argument, NULL, 'p' },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "no-loopback", no_argument, NULL, OPT_NO_LOOPBACK },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "display", no_argument, NULL, 'd' },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "offsets", required_argument, NULL, OPT_OFFSETS },
	{ "rotate-size", required_argument, NULL, OPT_ROTATE_SIZE },
	{ "rotate-keep", required_argument, NULL, OPT_ROTATE_KEEP },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "input", required_argument, NULL, OPT_INPUT },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{},
};

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL; /* strtoull takes blanks, signs and "0x" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 0:
		break;
	default:
		return -EINVAL;
	}
	if (shift && end[1])
		return -EINVAL;
	if (v > (1ULL << 40) >> shift || v << shift < 1024)
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static int parse_interval(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0.1 || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Index of s in names, or -EINVAL. */
static int parse_name(const char *s, const char *const *names, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -EINVAL;
}

static const char *const attach_names[] = { "auto", "tracepoint", "kprobe", "fentry" };
static const char *const offsets_names[] = { "auto", "btf", "guess" };
/* In the order of enum json_sink_format. */
static const char *const format_names[] = { "json", "ecs" };

/* A comma-separated list of record types → nt_filter.events bits. */
static int parse_events(const char *s, __u32 *out)
{
	/* --events names the record types. */
	static const struct {
		enum record_type type;
		__u32 bit;
	} types[] = {
		{ RECORD_CONNECT, 1U << NT_EVENT_CONNECT },
		{ RECORD_ACCEPT, 1U << NT_EVENT_ACCEPT },
		{ RECORD_CLOSE, 1U << NT_EVENT_CLOSE },
		{ RECORD_METRICS, NT_REPORT_METRICS },
		{ RECORD_LOST, NT_REPORT_LOST },
		{ RECORD_CONNECT_FAILED, 1U << NT_EVENT_CONNECT_FAILED },
	};
	const char *p = s, *end;
	unsigned int i;
	size_t len;

	*out = 0;
	do {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strlen(record_type_name(types[i].type)) == len &&
			    strncmp(p, record_type_name(types[i].type), len) == 0)
				break;
		if (i == sizeof(types) / sizeof(types[0]))
			return -EINVAL;
		*out |= types[i].bit;
		p = end ? end + 1 : NULL; /* NULL + 1 is undefined */
	} while (end);
	return 0;
}

/* The option getopt_long() just returned, as the user wrote it, for messages. */
static const char *opt_name(char **argv, int opt)
{
	static char shortopt[3] = "-?";
	const char *arg = argv[optind - 1];
	int c = (opt == '?' || opt == ':') ? optopt : opt;

	/* "-p 0": the value has its own argument; "--pid=0", "-p0" and "-vp0" do not. */
	if (arg == optarg && optind >= 2)
		arg = argv[optind - 2];
	if (strncmp(arg, "--", 2) == 0 || c <= 0 || c > 127)
		return arg;
	/* Inside a group of short options ("-zi") only getopt knows which one it was. */
	shortopt[1] = c;
	return shortopt;
}

int cli_parse(struct config *cfg, int argc, char **argv, char *err, size_t err_size)
{
	bool sort = false, keep = false, format = false;
	int opt;

	*cfg = (struct config){
		.interval = 30,
		.output.rotate_keep = 5,
		.tracer = {
			.map_size = 65536,
			.perf_pages = 256,
			.filter.events = NT_REPORT_ALL,
			.cgroup_fd = -1,
		},
	};
	unsigned int v;
	int r;
	optind = 0; /* 1 would keep glibc's place in a "-hv" cut short by an earlier call */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:t:ip:dvhV", long_options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (!*optarg)
				goto bad_value;
			cfg->output.path = optarg;
			break;
		case 't':
			if (parse_interval(optarg, &cfg->interval))
				goto bad_value;
			break;
		case 'i':
			cfg->incremental = true;
			break;
		case OPT_MAP_SIZE:
			if (parse_uint(optarg, 16, 1U << 24, &cfg->tracer.map_size))
				goto bad_value;
			break;
		case OPT_PERF_PAGES:
			if (parse_uint(optarg, 1, 1U << 16, &cfg->tracer.perf_pages) ||
			    (cfg->tracer.perf_pages & (cfg->tracer.perf_pages - 1)))
				goto bad_value;
			break;
		case OPT_ATTACH:
			r = parse_name(optarg, attach_names, 4);
			if (r < 0)
				goto bad_value;
			cfg->tracer.attach = r;
			break;
		case OPT_OFFSETS:
			r = parse_name(optarg, offsets_names, 3);
			if (r < 0)
				goto bad_value;
			cfg->tracer.offsets = r;
			break;
		case 'p':
			if (parse_uint(optarg, 1, INT32_MAX, &v))
				goto bad_value;
			if (cfg->tracer.filter.npids == NT_FILTER_MAX)
				goto too_many;
			cfg->tracer.filter.pids[cfg->tracer.filter.npids++] = v;
			break;
		case OPT_PORT:
			if (parse_uint(optarg, 1, 65535, &v))
				goto bad_value;
			if (cfg->tracer.filter.nports == NT_FILTER_MAX)
				goto too_many;
			cfg->tracer.filter.ports[cfg->tracer.filter.nports++] = v;
			break;
		case OPT_NETNS:
			if (parse_uint(optarg, 1, UINT32_MAX, &cfg->tracer.filter.netns))
				goto bad_value;
			break;
		case OPT_NO_LOOPBACK:
			cfg->tracer.filter.no_loopback = 1;
			break;
		case OPT_EVENTS:
			if (parse_events(optarg, &cfg->tracer.filter.events))
				goto bad_value;
			break;
		case OPT_CGROUP:
			if (!*optarg)
				goto bad_value;
			cfg->cgroup = optarg;
			cfg->tracer.filter.cgroup = 1;
			break;
		case 'd':
			cfg->display = true;
			break;
		case OPT_ROTATE_SIZE:
			if (cli_parse_size(optarg, &cfg->output.rotate_size))
				goto bad_value;
			break;
		case OPT_ROTATE_KEEP:
			if (parse_uint(optarg, 1, 1000, &cfg->output.rotate_keep))
				goto bad_value;
			keep = true;
			break;
		case OPT_FORMAT:
			r = parse_name(optarg, format_names, 2);
			if (r < 0)
				goto bad_value;
			cfg->format = r;
			format = true;
			break;
		case OPT_INPUT:
			if (!*optarg)
				goto bad_value;
			cfg->input = optarg;
			break;
		case OPT_FOLLOW:
			cfg->follow = true;
			break;
		case OPT_SORT:
			if (table_sort_parse(optarg, &cfg->sort))
				goto bad_value;
			sort = true;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'h':
			return CLI_HELP;
		case 'V':
			return CLI_VERSION;
		case ':':
			snprintf(err, err_size, "option '%s' needs a value", opt_name(argv, opt));
			return -EINVAL;
		default:
			snprintf(err, err_size, "unknown option '%s'", opt_name(argv, opt));
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, err_size, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	/* JSON lines have no order to choose: a --sort there would be silently meaningless. */
	if (sort && !cfg->display) {
		snprintf(err, err_size, "option '--sort' needs -d");
		return -EINVAL;
	}
	/* The table has no schema; an explicit --format=json with -d would be as meaningless. */
	if (format && cfg->display) {
		snprintf(err, err_size, "option '--format' cannot be used with -d");
		return -EINVAL;
	}
	/* Only the table reads records back: JSON lines from JSON lines would be cat. */
	if (cfg->input && !cfg->display) {
		snprintf(err, err_size, "option '--input' needs -d");
		return -EINVAL;
	}
	if (cfg->follow && !cfg->input) {
		snprintf(err, err_size, "option '--follow' needs --input");
		return -EINVAL;
	}
	/* Standard output cannot be renamed; a kept count without a size would never apply. */
	if (cfg->output.rotate_size && (!cfg->output.path || strcmp(cfg->output.path, "-") == 0)) {
		snprintf(err, err_size, "option '--rotate-size' needs -o FILE");
		return -EINVAL;
	}
	if (keep && !cfg->output.rotate_size) {
		snprintf(err, err_size, "option '--rotate-keep' needs --rotate-size");
		return -EINVAL;
	}
	return CLI_RUN;
bad_value:
	snprintf(err, err_size, "invalid value '%s' for option '%s'", optarg, opt_name(argv, opt));
	return -EINVAL;
too_many:
	snprintf(err, err_size, "option '%s' given more than %d times", opt_name(argv, opt),
		 NT_FILTER_MAX);
	return -EINVAL;
}
