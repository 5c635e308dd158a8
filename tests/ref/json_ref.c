/* The reference formatter: nettracer's jansson-based JSON output before the streaming writer.
 * Tests and the differential fuzzer compare src/json.c with it byte for byte; a field added
 * to the schema goes into both. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <jansson.h>
#include "json_ref.h"

/* Length of the UTF-8 sequence starting at s (at most len bytes), 0 when it is invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t json_ref_utf8_sanitize(char *dst, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, n;

	while (i < len && s[i]) {
		n = utf8_seq_len(s + i, len - i);
		if (n) {
			memcpy(dst + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(dst + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	dst[o] = '\0';
	return o;
}

/* "YYYY-MM-DDTHH:MM:SS." of an epoch second (21 bytes with the NUL). */
static void time_prefix(char *dst, size_t size, time_t sec)
{
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(dst, size, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The microseconds and "Z" after a prefix: 8 bytes with the NUL. */
static void time_suffix(char *dst, uint64_t time_ns)
{
	unsigned int us = time_ns % 1000000000 / 1000;
	int i;

	for (i = 5; i >= 0; i--, us /= 10)
		dst[i] = '0' + us % 10;
	dst[6] = 'Z';
	dst[7] = '\0';
}

/* Dotted quad: glibc's inet_ntop goes through sprintf, a tenth of the cost of a record. */
static void ipv4_str(char *dst, const uint8_t *a)
{
	int i;

	for (i = 0; i < 4; i++) {
		unsigned int v = a[i];

		if (v >= 100)
			*dst++ = '0' + v / 100;
		if (v >= 10)
			*dst++ = '0' + v / 10 % 10;
		*dst++ = '0' + v % 10;
		*dst++ = i < 3 ? '.' : '\0';
	}
}

/* Every key a record can have, in output order. */
enum field {
	F_TIME,
	F_TYPE,
	F_SEQ,
	F_REASON,
	F_CPU,
	F_COUNT,
	F_PID,
	F_COMM,
	F_UID,
	F_NETNS,
	F_FAMILY,
	F_SADDR,
	F_SPORT,
	F_DADDR,
	F_DPORT,
	F_DIRECTION,
	F_BYTES_SENT,
	F_BYTES_RECEIVED,
	F_PACKETS_SENT,
	F_PACKETS_RECEIVED,
	F_RETRANSMITS,
	F_RTT_US,
	F_RTTVAR_US,
	F_MAX,
};

static const struct {
	const char *key;
	bool string;
} fields[F_MAX] = {
	[F_TIME] = { "time", true },
	[F_TYPE] = { "type", true },
	[F_SEQ] = { "seq" },
	[F_REASON] = { "reason", true },
	[F_CPU] = { "cpu" },
	[F_COUNT] = { "count" },
	[F_PID] = { "pid" },
	[F_COMM] = { "comm", true },
	[F_UID] = { "uid" },
	[F_NETNS] = { "netns" },
	[F_FAMILY] = { "family", true },
	[F_SADDR] = { "saddr", true },
	[F_SPORT] = { "sport" },
	[F_DADDR] = { "daddr", true },
	[F_DPORT] = { "dport" },
	[F_DIRECTION] = { "direction", true },
	[F_BYTES_SENT] = { "bytes_sent" },
	[F_BYTES_RECEIVED] = { "bytes_received" },
	[F_PACKETS_SENT] = { "packets_sent" },
	[F_PACKETS_RECEIVED] = { "packets_received" },
	[F_RETRANSMITS] = { "retransmits" },
	[F_RTT_US] = { "rtt_us" },
	[F_RTTVAR_US] = { "rttvar_us" },
};

/* The four key sets: lost records (perf buffer, output), events without metrics, records
 * with metrics. */
enum shape { SHAPE_LOST, SHAPE_LOST_OUTPUT, SHAPE_EVENT, SHAPE_METRICS, SHAPE_MAX };

static bool in_shape(enum shape shape, enum field f)
{
	if (f <= F_SEQ)
		return true;
	if (f == F_CPU)
		return shape == SHAPE_LOST;
	if (f <= F_COUNT)
		return shape == SHAPE_LOST || shape == SHAPE_LOST_OUTPUT;
	if (f <= F_DPORT)
		return shape == SHAPE_EVENT || shape == SHAPE_METRICS;
	return shape == SHAPE_METRICS;
}

/* One jansson object per shape, built once; a record only sets its values in place, which
 * saves the allocation, hashing and freeing of a whole tree per line (half the cost). */
struct json_ref_fmt {
	json_t *obj[SHAPE_MAX];
	json_t *value[SHAPE_MAX][F_MAX]; /* borrowed from obj */
	time_t prefix_sec;		 /* the second time_prefix holds, or -1 */
	char time[96];			 /* its prefix, then a record's suffix */
	size_t prefix_len;
};

void json_ref_fmt_free(struct json_ref_fmt *fmt)
{
	int s;

	if (!fmt)
		return;
	for (s = 0; s < SHAPE_MAX; s++)
		json_decref(fmt->obj[s]);
	free(fmt);
}

struct json_ref_fmt *json_ref_fmt_new(void)
{
	struct json_ref_fmt *fmt = calloc(1, sizeof(*fmt));
	int s, f;

	if (!fmt)
		return NULL;
	fmt->prefix_sec = -1;
	for (s = 0; s < SHAPE_MAX; s++) {
		fmt->obj[s] = json_object();
		if (!fmt->obj[s])
			goto fail;
		for (f = 0; f < F_MAX; f++) {
			json_t *v;

			if (!in_shape(s, f))
				continue;
			v = fields[f].string ? json_string("") : json_integer(0);
			if (json_object_set_new_nocheck(fmt->obj[s], fields[f].key, v))
				goto fail;
			fmt->value[s][f] = v;
		}
	}
	return fmt;
fail:
	json_ref_fmt_free(fmt);
	return NULL;
}

/* Counters are unsigned 64-bit; JSON integers here are signed: saturate, never wrap. */
static void set_u64(json_t *const *value, enum field f, uint64_t v)
{
	json_integer_set(value[f], v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* s is valid UTF-8 here: ASCII, or a sanitized comm. */
static int set_str(json_t *const *value, enum field f, const char *s)
{
	return json_string_setn_nocheck(value[f], s, strlen(s));
}

static const char *record_time(struct json_ref_fmt *fmt, uint64_t time_ns)
{
	time_t sec = time_ns / 1000000000;

	if (sec != fmt->prefix_sec) {
		time_prefix(fmt->time, sizeof(fmt->time) - 8, sec);
		fmt->prefix_len = strlen(fmt->time);
		fmt->prefix_sec = sec;
	}
	time_suffix(fmt->time + fmt->prefix_len, time_ns);
	return fmt->time;
}

static int set_conn(json_t *const *value, const struct record *rec)
{
	char comm[RECORD_COMM_LEN * 3 + 1], saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
	int err = 0;

	json_ref_utf8_sanitize(comm, rec->comm, RECORD_COMM_LEN);
	if (rec->family == AF_INET6) {
		inet_ntop(AF_INET6, rec->saddr, saddr, sizeof(saddr));
		inet_ntop(AF_INET6, rec->daddr, daddr, sizeof(daddr));
	} else {
		ipv4_str(saddr, rec->saddr);
		ipv4_str(daddr, rec->daddr);
	}
	set_u64(value, F_PID, rec->pid);
	err |= set_str(value, F_COMM, comm);
	set_u64(value, F_UID, rec->uid);
	set_u64(value, F_NETNS, rec->netns);
	err |= set_str(value, F_FAMILY, rec->family == AF_INET6 ? "ipv6" : "ipv4");
	err |= set_str(value, F_SADDR, saddr);
	set_u64(value, F_SPORT, rec->sport);
	err |= set_str(value, F_DADDR, daddr);
	set_u64(value, F_DPORT, rec->dport);
	return err;
}

static int set_metrics(json_t *const *value, const struct record *rec)
{
	const struct record_metrics *m = &rec->metrics;

	set_u64(value, F_BYTES_SENT, m->bytes_sent);
	set_u64(value, F_BYTES_RECEIVED, m->bytes_received);
	set_u64(value, F_PACKETS_SENT, m->packets_sent);
	set_u64(value, F_PACKETS_RECEIVED, m->packets_received);
	set_u64(value, F_RETRANSMITS, m->retransmits);
	set_u64(value, F_RTT_US, m->rtt_us);
	set_u64(value, F_RTTVAR_US, m->rttvar_us);
	return set_str(value, F_DIRECTION, record_direction_name(rec->direction));
}

ssize_t json_ref_format(struct json_ref_fmt *fmt, const struct record *rec, char *buf, size_t size)
{
	enum shape shape;
	json_t *const *value;
	size_t len;
	int err = 0;

	if (rec->type == RECORD_LOST)
		shape = rec->lost_reason == LOST_OUTPUT ? SHAPE_LOST_OUTPUT : SHAPE_LOST;
	else
		shape = rec->has_metrics ? SHAPE_METRICS : SHAPE_EVENT;
	value = fmt->value[shape];
	err |= set_str(value, F_TIME, record_time(fmt, rec->time_ns));
	err |= set_str(value, F_TYPE, record_type_name(rec->type));
	set_u64(value, F_SEQ, rec->seq);
	if (shape == SHAPE_LOST) {
		err |= set_str(value, F_REASON, "perf_buffer");
		set_u64(value, F_CPU, rec->cpu);
		set_u64(value, F_COUNT, rec->lost_count);
	} else if (shape == SHAPE_LOST_OUTPUT) {
		err |= set_str(value, F_REASON, "output");
		set_u64(value, F_COUNT, rec->lost_count);
	} else {
		err |= set_conn(value, rec);
		if (shape == SHAPE_METRICS)
			err |= set_metrics(value, rec);
	}
	if (err)
		return -ENOMEM;
	len = json_dumpb(fmt->obj[shape], buf, size, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (len == 0 || len >= size)
		return -ENOSPC;
	buf[len++] = '\n';
	return len;
}
