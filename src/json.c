/* Record → JSON line: a streaming writer for the fixed schema, straight into the output buffer. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include "errname.h"
#include "json.h"

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

/* A literal without its NUL; sizeof makes the length a constant, so memcpy becomes moves. */
#define LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) += sizeof(s) - 1)

static const char digits2[201] = "00010203040506070809"
				 "10111213141516171819"
				 "20212223242526272829"
				 "30313233343536373839"
				 "40414243444546474849"
				 "50515253545556575859"
				 "60616263646566676869"
				 "70717273747576777879"
				 "80818283848586878889"
				 "90919293949596979899";

static unsigned int u32_digits(uint32_t v)
{
	if (v < 100000)
		return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
	return v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/* v in decimal, two digits at a time from the end, in 32-bit arithmetic (cheaper). */
static char *put_u32(char *p, uint32_t v)
{
	unsigned int n = u32_digits(v);
	char *end = p + n;

	while (v >= 100) {
		unsigned int r = v % 100;

		v /= 100;
		end -= 2;
		memcpy(end, digits2 + 2 * r, 2);
	}
	if (v >= 10)
		memcpy(end - 2, digits2 + 2 * v, 2);
	else
		end[-1] = '0' + v;
	return p + n;
}

/* Most counters fit 32 bits; the rest are split into the high part and 9 digits below. */
static char *put_u64(char *p, uint64_t v)
{
	uint32_t low;
	int i;

	if (v <= UINT32_MAX)
		return put_u32(p, v);
	low = v % 1000000000;
	p = put_u64(p, v / 1000000000);
	for (i = 8; i >= 0; i--, low /= 10)
		p[i] = '0' + low % 10;
	return p + 9;
}

/* Counters are unsigned 64-bit; JSON integers as jansson reads them are signed: saturate at
 * INT64_MAX, never wrap (nettracer(8), OUTPUT FIELDS). */
static char *put_count(char *p, uint64_t v)
{
	return put_u64(p, v > INT64_MAX ? INT64_MAX : v);
}

static char *put_ipv4(char *p, const uint8_t *a)
{
	int i;

	for (i = 0; i < 4; i++) {
		unsigned int v = a[i];

		if (v >= 100) {
			*p++ = '0' + v / 100;
			memcpy(p, digits2 + 2 * (v % 100), 2);
			p += 2;
		} else if (v >= 10) {
			memcpy(p, digits2 + 2 * v, 2);
			p += 2;
		} else {
			*p++ = '0' + v;
		}
		*p++ = '.';
	}
	return p - 1;
}

static char *put_hex16(char *p, unsigned int w)
{
	static const char hex[] = "0123456789abcdef";

	if (w >= 0x1000)
		*p++ = hex[w >> 12];
	if (w >= 0x100)
		*p++ = hex[w >> 8 & 0xf];
	if (w >= 0x10)
		*p++ = hex[w >> 4 & 0xf];
	*p++ = hex[w & 0xf];
	return p;
}

/* RFC 5952 text, exactly as glibc's inet_ntop writes it: the longest run of two or more zero
 * words (the first of equal runs) becomes "::", and ::a.b.c.d and ::ffff:a.b.c.d end in a
 * dotted quad. */
static char *put_ipv6(char *p, const uint8_t *a)
{
	unsigned int w[8];
	int i, best = -1, best_len = 0, cur = -1, cur_len = 0;

	for (i = 0; i < 8; i++) {
		w[i] = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];
		if (w[i] == 0) {
			if (cur < 0)
				cur = i, cur_len = 0;
			if (++cur_len > best_len)
				best = cur, best_len = cur_len;
		} else {
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			i += best_len - 1;
			if (i == 7)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
			return put_ipv4(p, a + 12);
		p = put_hex16(p, w[i]);
	}
	return p;
}

/* Length of the UTF-8 sequence starting at s (at most len bytes), 0 when it is invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	size_t n, i;
	uint32_t cp;

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

/* A string from the kernel (up to its first NUL, at most max bytes: a comm, a cgroup path) as
 * a JSON string body: invalid UTF-8 bytes each become U+FFFD, and the escapes are jansson's
 * (\u00XX in upper case). */
static char *put_text(char *p, const char *text, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n;

	while (i < max && s[i]) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*p++ = c;
			i++;
			continue;
		}
		if (c < 0x80) {
			*p++ = '\\';
			switch (c) {
			case '"':
			case '\\':
				*p++ = c;
				break;
			case '\b':
				*p++ = 'b';
				break;
			case '\f':
				*p++ = 'f';
				break;
			case '\n':
				*p++ = 'n';
				break;
			case '\r':
				*p++ = 'r';
				break;
			case '\t':
				*p++ = 't';
				break;
			default:
				LIT(p, "u00");
				*p++ = hex[c >> 4];
				*p++ = hex[c & 0xf];
			}
			i++;
			continue;
		}
		n = utf8_seq_len(s + i, max - i);
		if (n) {
			memcpy(p, s + i, n);
			p += n;
			i += n;
		} else {
			LIT(p, "\xef\xbf\xbd");
			i++;
		}
	}
	return p;
}

/* "{"time":"YYYY-MM-DDTHH:MM:SS." of an epoch second, computed once per second. */
static void time_prefix(struct json_fmt *fmt, int64_t sec)
{
	time_t t = sec;
	struct tm tm;
	char *p = fmt->prefix;

	gmtime_r(&t, &tm);
	LIT(p, "{\"time\":\"");
	/* Years run from 1970 to 2554 (UINT64_MAX ns): always four digits. */
	memcpy(p, digits2 + 2 * ((tm.tm_year + 1900) / 100), 2);
	memcpy(p + 2, digits2 + 2 * ((tm.tm_year + 1900) % 100), 2);
	p[4] = '-';
	memcpy(p + 5, digits2 + 2 * (tm.tm_mon + 1), 2);
	p[7] = '-';
	memcpy(p + 8, digits2 + 2 * tm.tm_mday, 2);
	p[10] = 'T';
	memcpy(p + 11, digits2 + 2 * tm.tm_hour, 2);
	p[13] = ':';
	memcpy(p + 14, digits2 + 2 * tm.tm_min, 2);
	p[16] = ':';
	/* tm_sec can be 60 only for a leap second, which gmtime never returns. */
	memcpy(p + 17, digits2 + 2 * tm.tm_sec, 2);
	p[19] = '.';
	fmt->prefix_sec = sec;
}

#define PREFIX_LEN (sizeof("{\"time\":\"YYYY-MM-DDTHH:MM:SS.") - 1)

/* {"time":"...Z","type":"NAME","seq":N — the start every record shares. */
static char *put_head(struct json_fmt *fmt, char *p, const struct record *rec)
{
	int64_t sec = rec->time_ns / 1000000000;
	unsigned int us = rec->time_ns % 1000000000 / 1000;
	const char *type = record_type_name(rec->type);
	size_t n = strlen(type);

	if (sec != fmt->prefix_sec)
		time_prefix(fmt, sec);
	memcpy(p, fmt->prefix, PREFIX_LEN);
	p += PREFIX_LEN;
	/* Microseconds, truncated: never rounded up into the next second. */
	memcpy(p, digits2 + 2 * (us / 10000), 2);
	memcpy(p + 2, digits2 + 2 * (us / 100 % 100), 2);
	memcpy(p + 4, digits2 + 2 * (us % 100), 2);
	p += 6;
	LIT(p, "Z\",\"type\":\"");
	memcpy(p, type, n);
	p += n;
	LIT(p, "\",\"seq\":");
	return put_count(p, rec->seq);
}

static char *put_lost(struct json_fmt *fmt, char *p, const struct record *rec)
{
	p = put_head(fmt, p, rec);
	if (rec->lost_reason == LOST_OUTPUT) {
		LIT(p, ",\"reason\":\"output\",\"count\":");
	} else {
		LIT(p, ",\"reason\":\"perf_buffer\",\"cpu\":");
		p = put_u32(p, rec->cpu);
		LIT(p, ",\"count\":");
	}
	p = put_count(p, rec->lost_count);
	LIT(p, "}\n");
	return p;
}

/* The connection fields of every record but a lost one, without the closing brace. */
static char *put_conn(struct json_fmt *fmt, char *p, const struct record *rec)
{
	bool v6 = rec->family == AF_INET6;

	p = put_head(fmt, p, rec);
	LIT(p, ",\"pid\":");
	p = put_u32(p, rec->pid);
	LIT(p, ",\"comm\":\"");
	p = put_text(p, rec->comm, RECORD_COMM_LEN);
	LIT(p, "\",\"uid\":");
	p = put_u32(p, rec->uid);
	LIT(p, ",\"netns\":");
	p = put_u32(p, rec->netns);
	if (rec->cgroup_id) {
		LIT(p, ",\"cgroup_id\":");
		p = put_count(p, rec->cgroup_id);
	}
	if (rec->cgroup) {
		LIT(p, ",\"cgroup\":\"");
		p = put_text(p, rec->cgroup, RECORD_CGROUP_MAX);
		*p++ = '"';
	}
	if (rec->container_id[0]) {
		LIT(p, ",\"container_id\":\"");
		p = put_text(p, rec->container_id, RECORD_CONTAINER_ID_LEN);
		*p++ = '"';
	}
	if (v6) {
		LIT(p, ",\"family\":\"ipv6\",\"saddr\":\"");
		p = put_ipv6(p, rec->saddr);
	} else {
		LIT(p, ",\"family\":\"ipv4\",\"saddr\":\"");
		p = put_ipv4(p, rec->saddr);
	}
	LIT(p, "\",\"sport\":");
	p = put_u32(p, rec->sport);
	LIT(p, ",\"daddr\":\"");
	p = v6 ? put_ipv6(p, rec->daddr) : put_ipv4(p, rec->daddr);
	LIT(p, "\",\"dport\":");
	return put_u32(p, rec->dport);
}

static char *put_us(char *p, uint64_t ns)
{
	return put_count(p, ns / 1000);
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
		p = put_u32(p, err);
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
		p = put_text(p, rec->reset_reason, n);
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
	p = put_count(p, m->bytes_sent);
	LIT(p, ",\"bytes_received\":");
	p = put_count(p, m->bytes_received);
	LIT(p, ",\"packets_sent\":");
	p = put_count(p, m->packets_sent);
	LIT(p, ",\"packets_received\":");
	p = put_count(p, m->packets_received);
	LIT(p, ",\"retransmits\":");
	p = put_count(p, m->retransmits);
	LIT(p, ",\"rtt_us\":");
	p = put_u32(p, m->rtt_us);
	LIT(p, ",\"rttvar_us\":");
	p = put_u32(p, m->rttvar_us);
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
	char *end = family == AF_INET6 ? put_ipv6(buf, addr) : put_ipv4(buf, addr);

	*end = '\0';
}
