/* The reference formatter: nettracer's jansson-based JSON output before the streaming writer.
 * Tests and the differential fuzzer compare src/json.c with it byte for byte; a field added
 * to the schema goes into both. */
#define _GNU_SOURCE
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

/* Counters are unsigned 64-bit; JSON integers here are signed: saturate, never wrap. */
static int add_u64(json_t *obj, const char *key, uint64_t v)
{
	return json_object_set_new(obj, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
}

/* A kernel string of at most len bytes, made valid UTF-8. */
static int add_text(json_t *obj, const char *key, const char *s, size_t len)
{
	char buf[RECORD_CGROUP_MAX * 3 + 1];

	json_ref_utf8_sanitize(buf, s, len);
	return json_object_set_new(obj, key, json_string(buf));
}

static int add_str(json_t *obj, const char *key, const char *s)
{
	return json_object_set_new(obj, key, json_string(s));
}

struct json_ref_fmt {
	time_t prefix_sec; /* the second time_prefix holds, or -1 */
	char time[96];	   /* its prefix, then a record's suffix */
	size_t prefix_len;
};

void json_ref_fmt_free(struct json_ref_fmt *fmt)
{
	free(fmt);
}

struct json_ref_fmt *json_ref_fmt_new(void)
{
	struct json_ref_fmt *fmt = calloc(1, sizeof(*fmt));

	if (fmt)
		fmt->prefix_sec = -1;
	return fmt;
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

static int add_error(json_t *obj, int err)
{
	char num[16];
	const char *name = strerrorname_np(err);

	if (!name) {
		snprintf(num, sizeof(num), "%d", err);
		name = num;
	}
	return add_str(obj, "error", name);
}

static int add_conn(json_t *obj, const struct record *rec)
{
	char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
	int err = 0;

	if (rec->family == AF_INET6) {
		inet_ntop(AF_INET6, rec->saddr, saddr, sizeof(saddr));
		inet_ntop(AF_INET6, rec->daddr, daddr, sizeof(daddr));
	} else {
		ipv4_str(saddr, rec->saddr);
		ipv4_str(daddr, rec->daddr);
	}
	err |= add_u64(obj, "pid", rec->pid);
	err |= add_text(obj, "comm", rec->comm, RECORD_COMM_LEN);
	err |= add_u64(obj, "uid", rec->uid);
	err |= add_u64(obj, "netns", rec->netns);
	if (rec->cgroup_id)
		err |= add_u64(obj, "cgroup_id", rec->cgroup_id);
	if (rec->cgroup)
		err |= add_text(obj, "cgroup", rec->cgroup, RECORD_CGROUP_MAX);
	if (rec->container_id[0])
		err |= add_text(obj, "container_id", rec->container_id, RECORD_CONTAINER_ID_LEN);
	err |= add_str(obj, "family", rec->family == AF_INET6 ? "ipv6" : "ipv4");
	err |= add_str(obj, "saddr", saddr);
	err |= add_u64(obj, "sport", rec->sport);
	err |= add_str(obj, "daddr", daddr);
	err |= add_u64(obj, "dport", rec->dport);
	return err;
}

static int add_metrics(json_t *obj, const struct record *rec)
{
	const struct record_metrics *m = &rec->metrics;
	int err = 0;

	err |= add_str(obj, "direction", record_direction_name(rec->direction));
	err |= add_u64(obj, "bytes_sent", m->bytes_sent);
	err |= add_u64(obj, "bytes_received", m->bytes_received);
	err |= add_u64(obj, "packets_sent", m->packets_sent);
	err |= add_u64(obj, "packets_received", m->packets_received);
	err |= add_u64(obj, "retransmits", m->retransmits);
	err |= add_u64(obj, "rtt_us", m->rtt_us);
	err |= add_u64(obj, "rttvar_us", m->rttvar_us);
	return err;
}

/* The fields after the type-specific ones: what ended a connection, how long things took. */
static int add_outcome(json_t *obj, const struct record *rec)
{
	int err = 0;

	switch (rec->type) {
	case RECORD_CONNECT:
		if (rec->duration_ns)
			err |= add_u64(obj, "handshake_us", rec->duration_ns / 1000);
		break;
	case RECORD_CONNECT_FAILED:
		if (rec->error > 0)
			err |= add_error(obj, rec->error);
		else if (rec->error == 0)
			err |= json_object_set_new(obj, "abandoned", json_true());
		err |= add_u64(obj, "duration_us", rec->duration_ns / 1000);
		break;
	case RECORD_CLOSE:
		if (rec->duration_ns)
			err |= add_u64(obj, "duration_us", rec->duration_ns / 1000);
		if (rec->reset != RESET_NONE)
			err |= add_str(obj, "reset", rec->reset == RESET_SENT ? "sent" : "received");
		if (rec->reset_reason)
			err |= add_text(obj, "reset_reason", rec->reset_reason,
					strnlen(rec->reset_reason, RECORD_REASON_MAX));
		if (rec->error > 0)
			err |= add_error(obj, rec->error);
		break;
	default:
		break;
	}
	return err;
}

ssize_t json_ref_format(struct json_ref_fmt *fmt, const struct record *rec, char *buf, size_t size)
{
	json_t *obj = json_object();
	size_t len;
	int err = !obj;

	err |= add_str(obj, "time", record_time(fmt, rec->time_ns));
	err |= add_str(obj, "type", record_type_name(rec->type));
	err |= add_u64(obj, "seq", rec->seq);
	if (rec->type == RECORD_LOST) {
		err |= add_str(obj, "reason",
			       rec->lost_reason == LOST_OUTPUT ? "output" : "perf_buffer");
		if (rec->lost_reason != LOST_OUTPUT)
			err |= add_u64(obj, "cpu", rec->cpu);
		err |= add_u64(obj, "count", rec->lost_count);
	} else {
		err |= add_conn(obj, rec);
		if (rec->has_metrics)
			err |= add_metrics(obj, rec);
		err |= add_outcome(obj, rec);
	}
	if (err) {
		json_decref(obj);
		return -ENOMEM;
	}
	len = json_dumpb(obj, buf, size, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (len == 0 || len >= size)
		return -ENOSPC;
	buf[len++] = '\n';
	return len;
}
