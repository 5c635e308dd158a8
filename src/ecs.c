/* Record → ECS line: a streaming writer of nested objects, on json.c's primitives (jsonw.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include "ecs.h"
#include "errname.h"
#include "jsonw.h"

/*
 * The longest line is a close record with every value at its widest: the default schema's
 * 4,304 bytes (src/json.c) less its keys, plus the ECS keys and constants, plus a container id
 * written as kernel text (64 bytes each escaped): 4,817 bytes, which test_ecs's
 * test_longest_line builds and checks against ECS_LINE_MAX.
 */
#define LIT JSONW_LIT

/* A literal of unknown length (a name from a table). */
static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static const char *action_of(enum record_type type)
{
	switch (type) {
	case RECORD_CONNECT:
		return "connection-connect";
	case RECORD_ACCEPT:
		return "connection-accept";
	case RECORD_CLOSE:
		return "connection-close";
	case RECORD_CONNECT_FAILED:
		return "connection-failed";
	case RECORD_METRICS:
		return "connection-metrics";
	default:
		return "records-lost";
	}
}

/* A close ended badly when the kernel set an error or a reset ended it. */
static bool failed(const struct record *rec)
{
	switch (rec->type) {
	case RECORD_CONNECT_FAILED:
		return true;
	case RECORD_CLOSE:
		return rec->error > 0 || rec->reset != RESET_NONE;
	default:
		return false;
	}
}

static bool has_duration(const struct record *rec)
{
	return rec->type == RECORD_CONNECT_FAILED ||
	       ((rec->type == RECORD_CONNECT || rec->type == RECORD_CLOSE) && rec->duration_ns);
}

static char *put_event(char *p, const struct record *rec)
{
	LIT(p, ",\"event\":{\"kind\":");
	switch (rec->type) {
	case RECORD_LOST:
		/* Records missing from the output: data the pipeline lost, not the network. */
		LIT(p, "\"pipeline_error\"");
		break;
	case RECORD_METRICS:
		LIT(p, "\"metric\",\"category\":[\"network\"],\"type\":[\"connection\",\"info\"]");
		break;
	case RECORD_CLOSE:
		LIT(p, "\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"end\"]");
		break;
	default:
		LIT(p, "\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"start\"]");
	}
	LIT(p, ",\"action\":\"");
	p = put_str(p, action_of(rec->type));
	*p++ = '"';
	if (rec->type != RECORD_LOST && rec->type != RECORD_METRICS) {
		if (failed(rec))
			LIT(p, ",\"outcome\":\"failure\"");
		else
			LIT(p, ",\"outcome\":\"success\"");
	}
	if (has_duration(rec)) {
		LIT(p, ",\"duration\":");
		p = jsonw_count(p, rec->duration_ns);
	}
	LIT(p, ",\"sequence\":");
	p = jsonw_count(p, rec->seq);
	*p++ = '}';
	return p;
}

/* One end: "ip", "port" and, with metrics, what it sent. */
static char *put_end(char *p, const struct record *rec, const uint8_t *addr, uint16_t port,
		     uint64_t bytes, uint64_t packets)
{
	LIT(p, "{\"ip\":\"");
	p = rec->family == AF_INET6 ? jsonw_ipv6(p, addr) : jsonw_ipv4(p, addr);
	LIT(p, "\",\"port\":");
	p = jsonw_u32(p, port);
	if (rec->has_metrics) {
		LIT(p, ",\"bytes\":");
		p = jsonw_count(p, bytes);
		LIT(p, ",\"packets\":");
		p = jsonw_count(p, packets);
	}
	*p++ = '}';
	return p;
}

/* source is the end that initiated the connection (ECS): the remote one when it was accepted;
 * this host's end otherwise, as in the default schema's saddr, when the direction is unknown. */
static char *put_ends(char *p, const struct record *rec)
{
	const struct record_metrics *m = &rec->metrics;
	bool in = rec->direction == DIRECTION_INBOUND;

	LIT(p, ",\"source\":");
	if (in)
		p = put_end(p, rec, rec->daddr, rec->dport, m->bytes_received, m->packets_received);
	else
		p = put_end(p, rec, rec->saddr, rec->sport, m->bytes_sent, m->packets_sent);
	LIT(p, ",\"destination\":");
	if (in)
		p = put_end(p, rec, rec->saddr, rec->sport, m->bytes_sent, m->packets_sent);
	else
		p = put_end(p, rec, rec->daddr, rec->dport, m->bytes_received, m->packets_received);
	return p;
}

static char *put_network(char *p, const struct record *rec)
{
	if (rec->family == AF_INET6)
		LIT(p, ",\"network\":{\"transport\":\"tcp\",\"type\":\"ipv6\",\"direction\":\"");
	else
		LIT(p, ",\"network\":{\"transport\":\"tcp\",\"type\":\"ipv4\",\"direction\":\"");
	/* Host-based monitoring: the host's point of view (ECS network.direction). */
	if (rec->direction == DIRECTION_OUTBOUND)
		LIT(p, "egress\"}");
	else if (rec->direction == DIRECTION_INBOUND)
		LIT(p, "ingress\"}");
	else
		LIT(p, "unknown\"}");
	return p;
}

static char *put_error(char *p, int err)
{
	const char *name = errname(err);

	LIT(p, ",\"error\":\"");
	p = name ? put_str(p, name) : jsonw_u32(p, err);
	*p++ = '"';
	return p;
}

/* What ECS has no field for, under nettracer. */
static char *put_nettracer(char *p, const struct record *rec)
{
	LIT(p, ",\"nettracer\":{\"netns\":");
	p = jsonw_u32(p, rec->netns);
	p = jsonw_cgroup(p, rec);
	if (rec->has_metrics) {
		LIT(p, ",\"retransmits\":");
		p = jsonw_count(p, rec->metrics.retransmits);
		LIT(p, ",\"rtt_us\":");
		p = jsonw_u32(p, rec->metrics.rtt_us);
		LIT(p, ",\"rttvar_us\":");
		p = jsonw_u32(p, rec->metrics.rttvar_us);
	}
	if (rec->type == RECORD_CLOSE) {
		if (rec->reset == RESET_SENT)
			LIT(p, ",\"reset\":\"sent\"");
		else if (rec->reset == RESET_RECEIVED)
			LIT(p, ",\"reset\":\"received\"");
		if (rec->reset_reason) {
			LIT(p, ",\"reset_reason\":\"");
			p = jsonw_text(p, rec->reset_reason,
				       strnlen(rec->reset_reason, RECORD_REASON_MAX));
			*p++ = '"';
		}
		if (rec->error > 0)
			p = put_error(p, rec->error);
	}
	if (rec->type == RECORD_CONNECT_FAILED) {
		if (rec->error > 0)
			p = put_error(p, rec->error);
		else if (rec->error == 0)
			LIT(p, ",\"abandoned\":true");
	}
	*p++ = '}';
	return p;
}

static char *put_conn(char *p, const struct record *rec)
{
	p = put_ends(p, rec);
	p = put_network(p, rec);
	LIT(p, ",\"process\":{\"pid\":");
	p = jsonw_u32(p, rec->pid);
	LIT(p, ",\"name\":\"");
	p = jsonw_text(p, rec->comm, RECORD_COMM_LEN);
	/* ECS user.id is a keyword: the uid as a string. */
	LIT(p, "\"},\"user\":{\"id\":\"");
	p = jsonw_u32(p, rec->uid);
	LIT(p, "\"}");
	if (rec->container_id[0]) {
		LIT(p, ",\"container\":{\"id\":\"");
		p = jsonw_text(p, rec->container_id, RECORD_CONTAINER_ID_LEN);
		LIT(p, "\"}");
	}
	return put_nettracer(p, rec);
}

static char *put_lost(char *p, const struct record *rec)
{
	LIT(p, ",\"nettracer\":{\"lost\":{");
	p = jsonw_lost(p, rec);
	LIT(p, "}}");
	return p;
}

static char *put_record(char *p, const struct record *rec)
{
	LIT(p, "{\"@timestamp\":\"");
	p = jsonw_time(p, rec->time_ns);
	LIT(p, "\",\"ecs\":{\"version\":\"" ECS_VERSION "\"}");
	p = put_event(p, rec);
	p = rec->type == RECORD_LOST ? put_lost(p, rec) : put_conn(p, rec);
	LIT(p, "}\n");
	return p;
}

ssize_t ecs_format(const struct record *rec, char *buf, size_t size)
{
	char tmp[ECS_LINE_MAX];
	size_t len;

	if (size >= ECS_LINE_MAX)
		return put_record(buf, rec) - buf;
	len = put_record(tmp, rec) - tmp;
	if (len > size)
		return -ENOSPC;
	memcpy(buf, tmp, len);
	return len;
}
