/* libFuzzer harness: arbitrary perf sample bytes → event_decode → json_format → JSON. The
 * decoded record must hold what the sample says, and its line must equal the jansson
 * reference's and parse back to the same fields. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <jansson.h>
#include "event.h"
#include "json.h"
#include "json_check.h"
#include "json_ref.h"
#include "check.h"

/* A realistic CLOCK_BOOTTIME → wall clock offset: 2023-11-14T22:13:20Z. */
#define CLOCK_OFFSET 1700000000000000000LL

static struct json_fmt *fmt; /* reused across inputs, as nettracer does */
static struct json_ref_fmt *ref;

/* The writer's line equals the reference's and parses back to rec, field by field. */
static void check_line(const struct record *rec)
{
	static char line[JSON_LINE_MAX], want[JSON_LINE_MAX];
	char why[512];
	ssize_t len, want_len;

	len = json_format(fmt, rec, line, sizeof(line));
	want_len = json_ref_format(ref, rec, want, sizeof(want));
	CHECK(len > 0 && len == want_len && memcmp(line, want, len) == 0);
	CHECK(json_check_line(rec, line, len, why, sizeof(why)));
}

/* Whatever the bytes, the sanitised copy is UTF-8 that jansson accepts. */
static void check_sanitize(const uint8_t *data, size_t size)
{
	size_t n = size > 64 ? 64 : size, len;
	char dst[3 * 64 + 1];
	json_t *s;

	len = json_ref_utf8_sanitize(dst, (const char *)data, n);
	CHECK(len <= 3 * n && dst[len] == '\0' && strlen(dst) == len);
	s = json_string(dst);
	CHECK(s);
	json_decref(s);
}

static bool v4_mapped(const uint8_t *a)
{
	int i;

	for (i = 0; i < 10; i++)
		if (a[i])
			return false;
	return a[10] == 0xff && a[11] == 0xff;
}

static bool all_zero(const uint8_t *a, size_t n)
{
	while (n--)
		if (a[n])
			return false;
	return true;
}

/* The record against the sample, read here from the bytes with the ABI's layout. */
static void check_fields(const struct nt_event *ev, const struct record *rec)
{
	static const enum record_type types[] = {
		[NT_EVENT_CONNECT] = RECORD_CONNECT,
		[NT_EVENT_ACCEPT] = RECORD_ACCEPT,
		[NT_EVENT_CLOSE] = RECORD_CLOSE,
		[NT_EVENT_CONNECT_FAILED] = RECORD_CONNECT_FAILED,
	};
	const struct nt_counters *c = &ev->counters;
	const struct record_metrics *m = &rec->metrics;
	bool mapped = ev->tuple.family == AF_INET6 && v4_mapped(ev->tuple.saddr) &&
		      v4_mapped(ev->tuple.daddr);

	CHECK(rec->type == types[ev->type]);
	CHECK(rec->sk == ev->sk);
	CHECK(rec->time_ns == ev->ts_ns + (uint64_t)CLOCK_OFFSET);
	CHECK(rec->seq == 0);
	CHECK(rec->pid == ev->owner.pid && rec->uid == ev->owner.uid);
	CHECK(memcmp(rec->comm, ev->owner.comm, RECORD_COMM_LEN) == 0);
	CHECK(rec->netns == ev->netns);
	CHECK(rec->cgroup_id == ev->owner.cgroup_id && rec->birth_ns == ev->birth_ns);
	CHECK(rec->duration_ns == ev->duration_ns);
	CHECK(!rec->cgroup && !rec->container_id[0] && !rec->reset_reason); /* the pipeline's */
	if (rec->type == RECORD_CLOSE || rec->type == RECORD_CONNECT_FAILED)
		CHECK(rec->error == (ev->error < 0 ? RECORD_ERROR_UNKNOWN : ev->error));
	else
		CHECK(rec->error == 0);
	if (rec->type == RECORD_CLOSE) {
		CHECK(rec->reset == (ev->reset == NT_RESET_SENT	      ? RESET_SENT
				     : ev->reset == NT_RESET_RECEIVED ? RESET_RECEIVED
								      : RESET_NONE));
		CHECK(rec->reset_reason_code == (ev->reset == NT_RESET_SENT ? ev->reset_reason : 0));
	} else {
		CHECK(rec->reset == RESET_NONE && !rec->reset_reason_code);
	}
	CHECK(rec->sport == ev->tuple.sport && rec->dport == ev->tuple.dport);
	CHECK(rec->direction == (ev->direction <= NT_DIR_INBOUND ? ev->direction
								 : DIRECTION_UNKNOWN));
	if (ev->tuple.family == AF_INET6 && !mapped) {
		CHECK(rec->family == AF_INET6);
		CHECK(memcmp(rec->saddr, ev->tuple.saddr, 16) == 0);
		CHECK(memcmp(rec->daddr, ev->tuple.daddr, 16) == 0);
	} else {
		size_t off = mapped ? 12 : 0;

		CHECK(rec->family == AF_INET);
		CHECK(memcmp(rec->saddr, ev->tuple.saddr + off, 4) == 0);
		CHECK(memcmp(rec->daddr, ev->tuple.daddr + off, 4) == 0);
		CHECK(all_zero(rec->saddr + 4, 12) && all_zero(rec->daddr + 4, 12));
	}
	if (rec->type != RECORD_CLOSE) {
		CHECK(!rec->has_metrics);
		CHECK(all_zero((const uint8_t *)m, sizeof(*m)));
		return;
	}
	CHECK(rec->has_metrics);
	CHECK(m->packets_sent == c->segs_out && m->packets_received == c->segs_in);
	CHECK(m->retransmits == c->total_retrans);
	CHECK(m->rtt_us == c->srtt_us >> 3 && m->rttvar_us == c->mdev_us >> 2);
	/* Less a SYN and a FIN sent at most, a FIN received at most, never below zero. */
	CHECK(m->bytes_sent <= c->bytes_acked &&
	      (c->bytes_acked - m->bytes_sent <= 2 || m->bytes_sent == 0));
	CHECK(m->bytes_received <= c->bytes_received &&
	      (c->bytes_received - m->bytes_received <= 1 || m->bytes_received == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_event ev = {};
	struct record rec;
	int err;

	if (!fmt)
		fmt = json_fmt_new();
	if (!ref)
		ref = json_ref_fmt_new();
	CHECK(fmt && ref);
	check_sanitize(data, size);

	err = event_decode(data, size, CLOCK_OFFSET, &rec);
	memcpy(&ev, data, size < sizeof(ev) ? size : sizeof(ev));
	if (err) {
		CHECK(err == -EINVAL);
		/* Refused only for what the ABI rules out. */
		CHECK(size < NT_EVENT_SHORT_SIZE ||
		      (ev.type != NT_EVENT_CONNECT && ev.type != NT_EVENT_ACCEPT &&
		       ev.type != NT_EVENT_CLOSE && ev.type != NT_EVENT_CONNECT_FAILED) ||
		      (ev.type == NT_EVENT_CLOSE && size < sizeof(ev)) ||
		      (ev.tuple.family != AF_INET && ev.tuple.family != AF_INET6));
		return 0;
	}
	CHECK(size >= NT_EVENT_SHORT_SIZE);
	CHECK(ev.tuple.family == AF_INET || ev.tuple.family == AF_INET6);
	CHECK(ev.type == NT_EVENT_CONNECT || ev.type == NT_EVENT_ACCEPT ||
	      ev.type == NT_EVENT_CLOSE || ev.type == NT_EVENT_CONNECT_FAILED);
	CHECK(rec.comm[RECORD_COMM_LEN] == '\0');
	check_fields(&ev, &rec);
	check_line(&rec);

	/* The same record as a metrics record and as both kinds of lost record must format too. */
	rec.type = RECORD_METRICS;
	rec.has_metrics = true;
	check_line(&rec);
	rec.type = RECORD_LOST;
	check_line(&rec);
	rec.lost_reason = LOST_OUTPUT;
	check_line(&rec);
	return 0;
}
