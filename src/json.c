/* Record → JSON line: a streaming writer for the fixed schema, straight into the output buffer. */
#include "config.h"
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include "errname.h"
#include "json.h"
#include "jsonw.h"

/*
 * Every record shape has one function below that writes its keys as literals and its values
 * without printf, in the order and form that jansson's JSON_COMPACT | JSON_PRESERVE_ORDER
 * dump gave them before (tests/ref/json_ref.c keeps that formatter, and the unit test and the
 * differential fuzzer compare the two byte for byte).
 *
 * The longest line a record can make is a close record with every value at its widest: 629
 * bytes for what every metrics record has (a comm of 16 bytes each escaped as \u00XX, two
 * IPv6 addresses of 39, six 19-digit numbers, five of 10, the keys), 32 for cgroup_id, 3,084
 * for a cgroup path of RECORD_CGROUP_MAX bytes each escaped, 82 for container_id, and 477 for
 * how it ended (duration, reset, a reason of RECORD_REASON_MAX bytes escaped, error): 4,304
 * bytes (test_longest_line checks it). When the caller's buffer has room for JSON_LINE_MAX,
 * the writer writes into it directly with no bound checks; otherwise into a local buffer,
 * and copies the line when it fits.
 */
#define LINE_MAX_BYTES JSON_LINE_MAX

/* The epoch second whose "{"time":"YYYY-MM-DDTHH:MM:SS." is in prefix, or -1. */
struct json_fmt {
	int64_t prefix_sec;
	char prefix[32];
};

void json_fmt_free(struct json_fmt *fmt)
{
	free(fmt);
}

struct json_fmt *json_fmt_new(void)
{
	struct json_fmt *fmt = calloc(1, sizeof(*fmt));

	if (!fmt)
		return NULL;
	fmt->prefix_sec = -1;
	return fmt;
}

#define LIT JSONW_LIT

/* "{"time":"YYYY-MM-DDTHH:MM:SS." of an epoch second, computed once per second. */
static void time_prefix(struct json_fmt *fmt, int64_t sec)
{
	char *p = fmt->prefix;

	LIT(p, "{\"time\":\"");
	p = jsonw_date(p, sec);
	*p = '.';
	fmt->prefix_sec = sec;
}

#define PREFIX_LEN (sizeof("{\"time\":\"YYYY-MM-DDTHH:MM:SS.") - 1)

/* {"time":"...Z","type":"NAME","seq":N — the start every record shares. */
static char *put_head(struct json_fmt *fmt, char *p, const struct record *rec)
{
	int64_t sec = rec->time_ns / 1000000000;
	const char *type = record_type_name(rec->type);
	size_t n = strlen(type);

	if (sec != fmt->prefix_sec)
		time_prefix(fmt, sec);
	memcpy(p, fmt->prefix, PREFIX_LEN);
	p += PREFIX_LEN;
	p = jsonw_usec6(p, rec->time_ns);
	LIT(p, "Z\",\"type\":\"");
	memcpy(p, type, n);
	p += n;
	LIT(p, "\",\"seq\":");
	return jsonw_count(p, rec->seq);
}

static char *put_lost(struct json_fmt *fmt, char *p, const struct record *rec)
{
	p = put_head(fmt, p, rec);
	*p++ = ',';
	p = jsonw_lost(p, rec);
	LIT(p, "}\n");
	return p;
}

/* The connection fields of every record but a lost one, without the closing brace. */
static char *put_conn(struct json_fmt *fmt, char *p, const struct record *rec)
{
	bool v6 = rec->family == AF_INET6;

	p = put_head(fmt, p, rec);
	LIT(p, ",\"pid\":");
	p = jsonw_u32(p, rec->pid);
	LIT(p, ",\"comm\":\"");
	p = jsonw_text(p, rec->comm, RECORD_COMM_LEN);
	LIT(p, "\",\"uid\":");
	p = jsonw_u32(p, rec->uid);
	LIT(p, ",\"netns\":");
	p = jsonw_u32(p, rec->netns);
	p = jsonw_cgroup(p, rec);
	if (rec->container_id[0]) {
		LIT(p, ",\"container_id\":\"");
		p = jsonw_text(p, rec->container_id, RECORD_CONTAINER_ID_LEN);
		*p++ = '"';
	}
	if (v6) {
		LIT(p, ",\"family\":\"ipv6\",\"saddr\":\"");
		p = jsonw_ipv6(p, rec->saddr);
	} else {
		LIT(p, ",\"family\":\"ipv4\",\"saddr\":\"");
		p = jsonw_ipv4(p, rec->saddr);
	}
	LIT(p, "\",\"sport\":");
	p = jsonw_u32(p, rec->sport);
	LIT(p, ",\"daddr\":\"");
	p = v6 ? jsonw_ipv6(p, rec->daddr) : jsonw_ipv4(p, rec->daddr);
	LIT(p, "\",\"dport\":");
	return jsonw_u32(p, rec->dport);
}

static char *put_us(char *p, uint64_t ns)
{
	return jsonw_count(p, ns / 1000);
}

/* "error":"ENAME" for a positive errno; its number for one without a name. */
static char *put_error(char *p, int err)
{
	const char *name = errname(err);
	size_t n;

	LIT(p, ",\"error\":\"");
	if (name) {
		n = strlen(name);
		memcpy(p, name, n);
		p += n;
	} else {
		p = jsonw_u32(p, err);
	}
	*p++ = '"';
	return p;
}

/* How a close ended: after the metrics of its last counters. */
static char *put_ending(char *p, const struct record *rec)
{
	size_t n;

	if (rec->duration_ns) {
		LIT(p, ",\"duration_us\":");
		p = put_us(p, rec->duration_ns);
	}
	if (rec->reset == RESET_SENT)
		LIT(p, ",\"reset\":\"sent\"");
	else if (rec->reset == RESET_RECEIVED)
		LIT(p, ",\"reset\":\"received\"");
	if (rec->reset_reason) {
		n = strnlen(rec->reset_reason, RECORD_REASON_MAX);
		LIT(p, ",\"reset_reason\":\"");
		p = jsonw_text(p, rec->reset_reason, n);
		*p++ = '"';
	}
	if (rec->error > 0)
		p = put_error(p, rec->error);
	return p;
}

/* The last fields, by record type: how long it took, what went wrong. */
static char *put_outcome(char *p, const struct record *rec)
{
	switch (rec->type) {
	case RECORD_CONNECT:
		if (rec->duration_ns) {
			LIT(p, ",\"handshake_us\":");
			p = put_us(p, rec->duration_ns);
		}
		break;
	case RECORD_CONNECT_FAILED:
		if (rec->error > 0)
			p = put_error(p, rec->error);
		else if (rec->error == 0)
			LIT(p, ",\"abandoned\":true");
		LIT(p, ",\"duration_us\":");
		p = put_us(p, rec->duration_ns);
		break;
	case RECORD_CLOSE:
		p = put_ending(p, rec);
		break;
	default:
		break;
	}
	LIT(p, "}\n");
	return p;
}

static char *put_event(struct json_fmt *fmt, char *p, const struct record *rec)
{
	return put_outcome(put_conn(fmt, p, rec), rec);
}

static char *put_metrics(struct json_fmt *fmt, char *p, const struct record *rec)
{
	const struct record_metrics *m = &rec->metrics;
	const char *dir = record_direction_name(rec->direction);
	size_t n = strlen(dir);

	p = put_conn(fmt, p, rec);
	LIT(p, ",\"direction\":\"");
	memcpy(p, dir, n);
	p += n;
	LIT(p, "\",\"bytes_sent\":");
	p = jsonw_count(p, m->bytes_sent);
	LIT(p, ",\"bytes_received\":");
	p = jsonw_count(p, m->bytes_received);
	LIT(p, ",\"packets_sent\":");
	p = jsonw_count(p, m->packets_sent);
	LIT(p, ",\"packets_received\":");
	p = jsonw_count(p, m->packets_received);
	LIT(p, ",\"retransmits\":");
	p = jsonw_count(p, m->retransmits);
	LIT(p, ",\"rtt_us\":");
	p = jsonw_u32(p, m->rtt_us);
	LIT(p, ",\"rttvar_us\":");
	p = jsonw_u32(p, m->rttvar_us);
	return put_outcome(p, rec);
}

static char *put_record(struct json_fmt *fmt, char *p, const struct record *rec)
{
	if (rec->type == RECORD_LOST)
		return put_lost(fmt, p, rec);
	if (rec->has_metrics)
		return put_metrics(fmt, p, rec);
	return put_event(fmt, p, rec);
}

ssize_t json_format(struct json_fmt *fmt, const struct record *rec, char *buf, size_t size)
{
	char tmp[LINE_MAX_BYTES];
	size_t len;

	if (size >= LINE_MAX_BYTES)
		return put_record(fmt, buf, rec) - buf;
	len = put_record(fmt, tmp, rec) - tmp;
	if (len > size)
		return -ENOSPC;
	memcpy(buf, tmp, len);
	return len;
}

void json_addr(char buf[JSON_ADDR_LEN], int family, const uint8_t *addr)
{
	char *end = family == AF_INET6 ? jsonw_ipv6(buf, addr) : jsonw_ipv4(buf, addr);

	*end = '\0';
}
