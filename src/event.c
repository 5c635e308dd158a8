/* Raw perf samples and conns map values → struct record. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include "event.h"

_Static_assert(sizeof(struct nt_tuple) == 40, "nt_tuple layout");
_Static_assert(sizeof(struct nt_owner) == 32, "nt_owner layout");
_Static_assert(sizeof(struct nt_counters) == 48, "nt_counters layout");
_Static_assert(sizeof(struct nt_event) == 176, "nt_event layout");
_Static_assert(NT_EVENT_SHORT_SIZE == 128, "nt_event layout");
_Static_assert(sizeof(struct nt_conn) == 152, "nt_conn layout");

/* TCP states (include/net/tcp_states.h) that the metrics derivation needs. */
enum {
	TCP_FIN_WAIT1 = 4,
	TCP_FIN_WAIT2 = 5,
	TCP_TIME_WAIT = 6,
	TCP_LAST_ACK = 9,
	TCP_CLOSING = 11,
};

#define SOCK_DONE 1 /* enum sock_flags: tcp_fin() sets it */

const char *record_type_name(enum record_type type)
{
	static const char *const names[] = {
		[RECORD_CONNECT] = "connect", [RECORD_ACCEPT] = "accept", [RECORD_CLOSE] = "close",
		[RECORD_METRICS] = "metrics", [RECORD_LOST] = "lost",
		[RECORD_CONNECT_FAILED] = "connect_failed",
	};

	return (unsigned int)type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

const char *record_direction_name(enum record_direction dir)
{
	switch (dir) {
	case DIRECTION_OUTBOUND:
		return "outbound";
	case DIRECTION_INBOUND:
		return "inbound";
	default:
		return "unknown";
	}
}

int64_t event_clock_offset(void)
{
	struct timespec real, boot;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	return (int64_t)(real.tv_sec - boot.tv_sec) * 1000000000 + (real.tv_nsec - boot.tv_nsec);
}

bool event_v4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

void event_fill_conn(struct record *rec, const struct nt_tuple *t, const struct nt_owner *owner,
		     uint32_t netns, uint8_t direction)
{
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
	if (t->family == AF_INET6 && !(event_v4_mapped(t->saddr) && event_v4_mapped(t->daddr))) {
		rec->family = AF_INET6;
		memcpy(rec->saddr, t->saddr, 16);
		memcpy(rec->daddr, t->daddr, 16);
	} else {
		rec->family = AF_INET;
		memcpy(rec->saddr, t->family == AF_INET6 ? t->saddr + 12 : t->saddr, 4);
		memcpy(rec->daddr, t->family == AF_INET6 ? t->daddr + 12 : t->daddr, 4);
	}
}

static bool fin_sent_state(uint8_t state)
{
	return state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_CLOSING ||
	       state == TCP_LAST_ACK || state == TCP_TIME_WAIT;
}

static uint64_t sub_floor(uint64_t v, uint64_t n)
{
	return v > n ? v - n : 0;
}

void event_metrics(struct record_metrics *m, const struct nt_counters *c, uint8_t direction)
{
	/* prev_state is the state before TCP_CLOSE for a close, the current state otherwise. */
	uint8_t st = c->prev_state;
	/* The SYN of an active open is counted as acknowledged; a passive open starts at 0. */
	uint64_t syn = direction == NT_DIR_OUTBOUND;
	uint64_t fin_acked = fin_sent_state(st) && c->snd_una == c->write_seq;
	/* Not the state: an orphan in FIN_WAIT1 becomes time-wait before the peer's FIN. */
	uint64_t fin_received = !!(c->sk_flags & (1 << SOCK_DONE));

	m->bytes_sent = sub_floor(c->bytes_acked, syn + fin_acked);
	m->bytes_received = sub_floor(c->bytes_received, fin_received);
	m->packets_sent = c->segs_out;
	m->packets_received = c->segs_in;
	m->retransmits = c->total_retrans;
	m->rtt_us = c->srtt_us >> 3;
	m->rttvar_us = c->mdev_us >> 2;
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
		event_metrics(&rec->metrics, &ev.counters, ev.direction);
	}
	return 0;
}
