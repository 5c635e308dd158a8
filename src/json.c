/* Record → JSON line through jansson. */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <jansson.h>
#include "json.h"

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

size_t json_utf8_sanitize(char *dst, const char *src, size_t len)
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

void json_time(char *dst, size_t size, uint64_t time_ns)
{
	time_t sec = time_ns / 1000000000;
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(dst, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(time_ns % 1000000000 / 1000));
}

/* Counters are unsigned 64-bit; JSON integers here are signed: saturate, never wrap. */
static json_t *json_u64(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static int set(json_t *obj, const char *key, json_t *value)
{
	return value ? json_object_set_new_nocheck(obj, key, value) : -1;
}

static int add_conn(json_t *obj, const struct record *rec)
{
	char comm[RECORD_COMM_LEN * 3 + 1], saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
	int err = 0;

	json_utf8_sanitize(comm, rec->comm, RECORD_COMM_LEN);
	inet_ntop(rec->family, rec->saddr, saddr, sizeof(saddr));
	inet_ntop(rec->family, rec->daddr, daddr, sizeof(daddr));
	err |= set(obj, "pid", json_integer(rec->pid));
	err |= set(obj, "comm", json_string(comm));
	err |= set(obj, "uid", json_integer(rec->uid));
	err |= set(obj, "netns", json_integer(rec->netns));
	err |= set(obj, "family", json_string(rec->family == AF_INET6 ? "ipv6" : "ipv4"));
	err |= set(obj, "saddr", json_string(saddr));
	err |= set(obj, "sport", json_integer(rec->sport));
	err |= set(obj, "daddr", json_string(daddr));
	err |= set(obj, "dport", json_integer(rec->dport));
	return err;
}

static int add_metrics(json_t *obj, const struct record *rec)
{
	const struct record_metrics *m = &rec->metrics;
	int err = 0;

	err |= set(obj, "direction", json_string(record_direction_name(rec->direction)));
	err |= set(obj, "bytes_sent", json_u64(m->bytes_sent));
	err |= set(obj, "bytes_received", json_u64(m->bytes_received));
	err |= set(obj, "packets_sent", json_u64(m->packets_sent));
	err |= set(obj, "packets_received", json_u64(m->packets_received));
	err |= set(obj, "retransmits", json_u64(m->retransmits));
	err |= set(obj, "rtt_us", json_integer(m->rtt_us));
	err |= set(obj, "rttvar_us", json_integer(m->rttvar_us));
	return err;
}

ssize_t json_format(const struct record *rec, char *buf, size_t size)
{
	char time[32];
	json_t *obj;
	size_t len;
	int err = 0;

	obj = json_object();
	if (!obj)
		return -ENOMEM;
	json_time(time, sizeof(time), rec->time_ns);
	err |= set(obj, "time", json_string(time));
	err |= set(obj, "type", json_string(record_type_name(rec->type)));
	if (rec->type == RECORD_LOST) {
		err |= set(obj, "cpu", json_integer(rec->cpu));
		err |= set(obj, "count", json_u64(rec->lost_count));
	} else {
		err |= add_conn(obj, rec);
		if (rec->has_metrics)
			err |= add_metrics(obj, rec);
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
