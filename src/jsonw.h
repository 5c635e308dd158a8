/* The primitives of our streaming JSON writers (json.c, ecs.c): numbers, addresses, kernel text
 * and times written straight into a buffer, without printf and without bound checks: each
 * caller bounds its longest line and checks the room once. Inline, so that each writer's
 * constant lengths and calls fold as they did when these lived in json.c. */
#ifndef NT_JSONW_H
#define NT_JSONW_H

#include <stdint.h>
#include <string.h>
#include <time.h>
#include "record.h"

/* A literal without its NUL; sizeof makes the length a constant, so memcpy becomes moves. */
#define JSONW_LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) += sizeof(s) - 1)

static const char jsonw_digits2[201] = "00010203040506070809"
				       "10111213141516171819"
				       "20212223242526272829"
				       "30313233343536373839"
				       "40414243444546474849"
				       "50515253545556575859"
				       "60616263646566676869"
				       "70717273747576777879"
				       "80818283848586878889"
				       "90919293949596979899";

static inline unsigned int jsonw_u32_digits(uint32_t v)
{
	if (v < 100000)
		return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
	return v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/* v in decimal, two digits at a time from the end, in 32-bit arithmetic (cheaper). */
static inline char *jsonw_u32(char *p, uint32_t v)
{
	unsigned int n = jsonw_u32_digits(v);
	char *end = p + n;

	while (v >= 100) {
		unsigned int r = v % 100;

		v /= 100;
		end -= 2;
		memcpy(end, jsonw_digits2 + 2 * r, 2);
	}
	if (v >= 10)
		memcpy(end - 2, jsonw_digits2 + 2 * v, 2);
	else
		end[-1] = '0' + v;
	return p + n;
}

/* Most counters fit 32 bits; the rest are split into the high part and 9 digits below. */
static inline char *jsonw_u64(char *p, uint64_t v)
{
	uint32_t low;
	int i;

	if (v <= UINT32_MAX)
		return jsonw_u32(p, v);
	low = v % 1000000000;
	p = jsonw_u64(p, v / 1000000000);
	for (i = 8; i >= 0; i--, low /= 10)
		p[i] = '0' + low % 10;
	return p + 9;
}

/* Counters are unsigned 64-bit; JSON integers as jansson reads them are signed: saturate at
 * INT64_MAX, never wrap (nettracer(8), OUTPUT FIELDS). */
static inline char *jsonw_count(char *p, uint64_t v)
{
	return jsonw_u64(p, v > INT64_MAX ? INT64_MAX : v);
}

static inline char *jsonw_ipv4(char *p, const uint8_t *a)
{
	int i;

	for (i = 0; i < 4; i++) {
		unsigned int v = a[i];

		if (v >= 100) {
			*p++ = '0' + v / 100;
			memcpy(p, jsonw_digits2 + 2 * (v % 100), 2);
			p += 2;
		} else if (v >= 10) {
			memcpy(p, jsonw_digits2 + 2 * v, 2);
			p += 2;
		} else {
			*p++ = '0' + v;
		}
		*p++ = '.';
	}
	return p - 1;
}

static inline char *jsonw_hex16(char *p, unsigned int w)
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
static inline char *jsonw_ipv6(char *p, const uint8_t *a)
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
			return jsonw_ipv4(p, a + 12);
		p = jsonw_hex16(p, w[i]);
	}
	return p;
}

/* Length of the UTF-8 sequence starting at s (at most len bytes), 0 when it is invalid. */
static inline size_t jsonw_utf8_seq_len(const unsigned char *s, size_t len)
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
static inline char *jsonw_text(char *p, const char *text, size_t max)
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
				JSONW_LIT(p, "u00");
				*p++ = hex[c >> 4];
				*p++ = hex[c & 0xf];
			}
			i++;
			continue;
		}
		n = jsonw_utf8_seq_len(s + i, max - i);
		if (n) {
			memcpy(p, s + i, n);
			p += n;
			i += n;
		} else {
			JSONW_LIT(p, "\xef\xbf\xbd");
			i++;
		}
	}
	return p;
}

/* "YYYY-MM-DDTHH:MM:SS" (19 bytes) of an epoch second: years run from 1970 to 2554 (UINT64_MAX
 * ns), always four digits. */
#define JSONW_DATE_LEN 19

static inline char *jsonw_date(char *p, int64_t sec)
{
	time_t t = sec;
	struct tm tm;

	gmtime_r(&t, &tm);
	memcpy(p, jsonw_digits2 + 2 * ((tm.tm_year + 1900) / 100), 2);
	memcpy(p + 2, jsonw_digits2 + 2 * ((tm.tm_year + 1900) % 100), 2);
	p[4] = '-';
	memcpy(p + 5, jsonw_digits2 + 2 * (tm.tm_mon + 1), 2);
	p[7] = '-';
	memcpy(p + 8, jsonw_digits2 + 2 * tm.tm_mday, 2);
	p[10] = 'T';
	memcpy(p + 11, jsonw_digits2 + 2 * tm.tm_hour, 2);
	p[13] = ':';
	memcpy(p + 14, jsonw_digits2 + 2 * tm.tm_min, 2);
	p[16] = ':';
	/* tm_sec can be 60 only for a leap second, which gmtime never returns. */
	memcpy(p + 17, jsonw_digits2 + 2 * tm.tm_sec, 2);
	return p + JSONW_DATE_LEN;
}

/* The microseconds of a time in nanoseconds, six digits, truncated: never rounded up into the
 * next second. */
static inline char *jsonw_usec6(char *p, uint64_t time_ns)
{
	unsigned int us = time_ns % 1000000000 / 1000;

	memcpy(p, jsonw_digits2 + 2 * (us / 10000), 2);
	memcpy(p + 2, jsonw_digits2 + 2 * (us / 100 % 100), 2);
	memcpy(p + 4, jsonw_digits2 + 2 * (us % 100), 2);
	return p + 6;
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (RFC 3339, UTC, microseconds), 27 bytes. */
#define JSONW_TIME_LEN 27

static inline char *jsonw_time(char *p, uint64_t time_ns)
{
	p = jsonw_date(p, time_ns / 1000000000);
	*p++ = '.';
	p = jsonw_usec6(p, time_ns);
	*p++ = 'Z';
	return p;
}

/* ,"cgroup_id":N,"cgroup":"PATH", each when known: the owner's cgroup in both formats. */
static inline char *jsonw_cgroup(char *p, const struct record *rec)
{
	if (rec->cgroup_id) {
		JSONW_LIT(p, ",\"cgroup_id\":");
		p = jsonw_count(p, rec->cgroup_id);
	}
	if (rec->cgroup) {
		JSONW_LIT(p, ",\"cgroup\":\"");
		p = jsonw_text(p, rec->cgroup, RECORD_CGROUP_MAX);
		*p++ = '"';
	}
	return p;
}

/* The members of a lost record, in both formats: "reason":"output","count":N or
 * "reason":"perf_buffer","cpu":N,"count":N. */
static inline char *jsonw_lost(char *p, const struct record *rec)
{
	if (rec->lost_reason == LOST_OUTPUT) {
		JSONW_LIT(p, "\"reason\":\"output\",\"count\":");
	} else {
		JSONW_LIT(p, "\"reason\":\"perf_buffer\",\"cpu\":");
		p = jsonw_u32(p, rec->cpu);
		JSONW_LIT(p, ",\"count\":");
	}
	return jsonw_count(p, rec->lost_count);
}

#endif /* NT_JSONW_H */
