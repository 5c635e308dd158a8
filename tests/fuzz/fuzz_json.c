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
#include "check.h"

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
	/* Later fields: an input that ends before them leaves them zero. */
	uint8_t optional; /* bits: cgroup path, container id, reset reason */
	uint8_t reset;
	int32_t error;
	uint64_t cgroup_id, duration_ns;
	char container[RECORD_CONTAINER_ID_LEN + 1];
	char reason[RECORD_REASON_MAX + 1];
	char cgroup[RECORD_CGROUP_MAX + 1]; /* last: long inputs reach its end */
};

static void build(struct record *rec, const struct input *in)
{
	static char container[RECORD_CONTAINER_ID_LEN + 1];
	unsigned int i;

	memset(rec, 0, sizeof(*rec));
	rec->type = in->type % 7;
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
	rec->cgroup_id = in->cgroup_id;
	rec->duration_ns = in->duration_ns;
	rec->error = in->error;
	rec->reset = in->reset % 3;
	/* As the pipeline gives them: NUL-terminated within their bounds. */
	if (in->optional & 1)
		rec->cgroup = in->cgroup;
	if (in->optional & 2) {
		/* Always hex: the pipeline only names a container from its id's form. */
		for (i = 0; i < RECORD_CONTAINER_ID_LEN; i++)
			container[i] = "0123456789abcdef"[(uint8_t)in->container[i] % 16];
		container[RECORD_CONTAINER_ID_LEN] = '\0';
		memcpy(rec->container_id, container, sizeof(rec->container_id));
	}
	if (in->optional & 4)
		rec->reset_reason = in->reason;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Reused across inputs, as nettracer does: the cached second must never leak. */
	static struct json_fmt *fmt;
	static struct json_ref_fmt *ref;
	static char line[JSON_LINE_MAX], want[JSON_LINE_MAX], exact[JSON_LINE_MAX];
	char why[512];
	struct input in = {};
	struct record rec;
	ssize_t len, want_len;

	if (!fmt)
		fmt = json_fmt_new();
	if (!ref)
		ref = json_ref_fmt_new();
	CHECK(fmt && ref);
	memcpy(&in, data, size < sizeof(in) ? size : sizeof(in));
	in.cgroup[RECORD_CGROUP_MAX] = in.container[RECORD_CONTAINER_ID_LEN] =
		in.reason[RECORD_REASON_MAX] = '\0';
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
