/* Raw perf samples and conns map values → struct record. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include "event.h"
#include "metrics.h"

_Static_assert(sizeof(struct nt_tuple) == 40, "nt_tuple layout");
_Static_assert(sizeof(struct nt_owner) == 32, "nt_owner layout");
_Static_assert(sizeof(struct nt_counters) == 48, "nt_counters layout");
_Static_assert(sizeof(struct nt_event) == 176, "nt_event layout");
_Static_assert(NT_EVENT_SHORT_SIZE == 128, "nt_event layout");
_Static_assert(sizeof(struct nt_conn) == 152, "nt_conn layout");

int64_t event_clock_offset(void)
{
	struct timespec real, boot;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	return (int64_t)(real.tv_sec - boot.tv_sec) * 1000000000 + (real.tv_nsec - boot.tv_nsec);
}

static bool v4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

bool event_tuple_v4(const struct nt_tuple *t, const uint8_t **saddr, const uint8_t **daddr)
{
	if (t->family == AF_INET6 && !(v4_mapped(t->saddr) && v4_mapped(t->daddr)))
		return false;
	*saddr = t->family == AF_INET6 ? t->saddr + 12 : t->saddr;
	*daddr = t->family == AF_INET6 ? t->daddr + 12 : t->daddr;
	return true;
}

void event_fill_conn(struct record *rec, const struct nt_tuple *t, const struct nt_owner *owner,
		     uint32_t netns, uint8_t direction)
{
	const uint8_t *v4s, *v4d;

	rec->pid = owner->pid;
	rec->uid = owner->uid;
	rec->cgroup_id = owner->cgroup_id;
	memcpy(rec->comm, owner->comm, RECORD_COMM_LEN);
	rec->comm[RECORD_COMM_LEN] = '\0';
	rec->netns = netns;
	rec->sport = t->sport;
	rec->dport = t->dport;
	rec->direction = direction <= NT_DIR_INBOUND ? (enum record_direction)direction
						     : DIRECTION_UNKNOWN;
	memset(rec->saddr, 0, sizeof(rec->saddr));
	memset(rec->daddr, 0, sizeof(rec->daddr));
	/* A v4-mapped IPv6 socket carries an IPv4 connection: report it as one. */
	if (event_tuple_v4(t, &v4s, &v4d)) {
		rec->family = AF_INET;
		memcpy(rec->saddr, v4s, 4);
		memcpy(rec->daddr, v4d, 4);
	} else {
		rec->family = AF_INET6;
		memcpy(rec->saddr, t->saddr, 16);
		memcpy(rec->daddr, t->daddr, 16);
	}
}

int event_decode(const void *data, size_t size, int64_t clock_offset, struct record *rec)
{
	struct nt_event ev = {};

	if (size < NT_EVENT_SHORT_SIZE)
		return -EINVAL;
	memcpy(&ev, data, size < sizeof(ev) ? size : sizeof(ev));
	if (ev.type == NT_EVENT_CLOSE && size < sizeof(ev))
		return -EINVAL;
	memset(rec, 0, sizeof(*rec));
	switch (ev.type) {
	case NT_EVENT_CONNECT:
		rec->type = RECORD_CONNECT;
		break;
	case NT_EVENT_ACCEPT:
		rec->type = RECORD_ACCEPT;
		break;
	case NT_EVENT_CLOSE:
		rec->type = RECORD_CLOSE;
		break;
	case NT_EVENT_CONNECT_FAILED:
		rec->type = RECORD_CONNECT_FAILED;
		break;
	default:
		return -EINVAL;
	}
	if (ev.tuple.family != AF_INET && ev.tuple.family != AF_INET6)
		return -EINVAL;
	rec->sk = ev.sk;
	rec->birth_ns = ev.birth_ns;
	rec->time_ns = ev.ts_ns + clock_offset;
	event_fill_conn(rec, &ev.tuple, &ev.owner, ev.netns, ev.direction);
	rec->duration_ns = ev.duration_ns;
	if (rec->type == RECORD_CLOSE || rec->type == RECORD_CONNECT_FAILED)
		rec->error = ev.error < 0 ? RECORD_ERROR_UNKNOWN : ev.error;
	if (rec->type == RECORD_CLOSE) {
		rec->reset = ev.reset == NT_RESET_SENT	   ? RESET_SENT
			     : ev.reset == NT_RESET_RECEIVED ? RESET_RECEIVED
							     : RESET_NONE;
		rec->reset_reason_code = ev.reset == NT_RESET_SENT ? ev.reset_reason : 0;
		rec->has_metrics = true;
		metrics_from_counters(&rec->metrics, &ev.counters, ev.direction);
	}
	return 0;
}
