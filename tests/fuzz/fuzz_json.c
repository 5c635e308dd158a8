/* libFuzzer harness, differential: fuzz bytes → struct record → the streaming writer and the
 * jansson reference formatter must write the same bytes, which jansson parses strictly and
 * which equal the record field by field. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "json.h"
#include "json_check.h"
#include "json_ref.h"

/* Any difference is a finding: abort so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* The fuzz input, field by field; a shorter input leaves the rest zero. */
struct input {
	uint8_t type; /* 0-4 the record types, 5 and up an unknown one */
	uint8_t family; /* odd: AF_INET6 */
	uint8_t direction;
	uint8_t has_metrics;
	uint32_t lost_reason;
	uint64_t time_ns;
	uint64_t seq;
	uint32_t pid, uid, netns, cpu;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint64_t lost_count;
	uint64_t counters[5];
	uint32_t rtt_us, rttvar_us;
	char comm[RECORD_COMM_LEN + 1]; /* any bytes: invalid UTF-8, controls, NULs */
};

static void build(struct record *rec, const struct input *in)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = in->type % 6;
	rec->family = in->family & 1 ? AF_INET6 : AF_INET;
	rec->direction = in->direction % 4;
	rec->has_metrics = in->has_metrics & 1;
	rec->lost_reason = in->lost_reason % 3;
	rec->time_ns = in->time_ns;
	rec->seq = in->seq;
	rec->pid = in->pid;
	rec->uid = in->uid;
	rec->netns = in->netns;
	rec->cpu = in->cpu;
	memcpy(rec->saddr, in->saddr, 16);
	memcpy(rec->daddr, in->daddr, 16);
	rec->sport = in->sport;
	rec->dport = in->dport;
	rec->lost_count = in->lost_count;
	rec->metrics = (struct record_metrics){ in->counters[0], in->counters[1], in->counters[2],
						in->counters[3], in->counters[4], in->rtt_us,
						in->rttvar_us };
	memcpy(rec->comm, in->comm, sizeof(rec->comm));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Reused across inputs, as nettracer does: the cached second must never leak. */
	static struct json_fmt *fmt;
	static struct json_ref_fmt *ref;
	char line[1024], want[1024], exact[1024], why[512];
	struct input in = {};
	struct record rec;
	ssize_t len, want_len;

	if (!fmt)
		fmt = json_fmt_new();
	if (!ref)
		ref = json_ref_fmt_new();
	CHECK(fmt && ref);
	memcpy(&in, data, size < sizeof(in) ? size : sizeof(in));
	build(&rec, &in);

	len = json_format(fmt, &rec, line, sizeof(line));
	want_len = json_ref_format(ref, &rec, want, sizeof(want));
	CHECK(want_len > 0);
	CHECK(len == want_len && memcmp(line, want, len) == 0);
	CHECK(json_check_line(&rec, line, len, why, sizeof(why)));
	/* Exactly its length fits (through the writer's other path); one byte less does not. */
	CHECK(json_format(fmt, &rec, exact, len) == len && memcmp(exact, line, len) == 0);
	CHECK(json_format(fmt, &rec, exact, len - 1) == -ENOSPC);
	return 0;
}
