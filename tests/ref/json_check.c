/* The field-by-field check of a JSON line: what each key must hold, computed from the record
 * with libc and the reference sanitizer, never with the writer's own code. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <jansson.h>
#include "json_check.h"
#include "json_ref.h"

static const char *const lost_perf_keys[] = { "time", "type", "seq", "reason", "cpu", "count",
					      NULL };
static const char *const lost_output_keys[] = { "time", "type", "seq", "reason", "count", NULL };
static const char *const event_keys[] = { "time",  "type",  "seq",   "pid",	"comm",
					  "uid",   "netns", "family", "saddr", "sport",
					  "daddr", "dport", NULL };
static const char *const metrics_keys[] = {
	"time",	 "type",  "seq",       "pid",	     "comm",	       "uid",
	"netns", "family", "saddr",     "sport",      "daddr",	       "dport",
	"direction", "bytes_sent", "bytes_received", "packets_sent", "packets_received",
	"retransmits", "rtt_us", "rttvar_us", NULL,
};

struct ctx {
	json_t *obj;
	char *why;
	size_t why_size;
	bool ok;
};

static void mismatch(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->ok)
		return;
	c->ok = false;
	va_start(ap, fmt);
	vsnprintf(c->why, c->why_size, fmt, ap);
	va_end(ap);
}

/* Integers are signed 64-bit in JSON as jansson reads them: larger counters saturate. */
static void want_int(struct ctx *c, const char *key, uint64_t v)
{
	json_t *j = json_object_get(c->obj, key);
	json_int_t want = v > INT64_MAX ? INT64_MAX : (json_int_t)v;

	if (!json_is_integer(j))
		mismatch(c, "%s is not an integer", key);
	else if (json_integer_value(j) != want)
		mismatch(c, "%s is %" JSON_INTEGER_FORMAT ", not %" JSON_INTEGER_FORMAT, key,
			 json_integer_value(j), want);
}

static void want_str(struct ctx *c, const char *key, const char *want)
{
	json_t *j = json_object_get(c->obj, key);

	if (!json_is_string(j))
		mismatch(c, "%s is not a string", key);
	else if (json_string_length(j) != strlen(want) || strcmp(json_string_value(j), want))
		mismatch(c, "%s is \"%s\", not \"%s\"", key, json_string_value(j), want);
}

static void want_addr(struct ctx *c, const char *key, int family, const uint8_t *a)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a, text, sizeof(text));
	want_str(c, key, text);
}

static void want_keys(struct ctx *c, const char *const *keys)
{
	void *it = json_object_iter(c->obj);
	size_t i;

	for (i = 0; keys[i]; i++, it = json_object_iter_next(c->obj, it))
		if (!it || strcmp(json_object_iter_key(it), keys[i])) {
			mismatch(c, "key %zu is %s, not %s", i,
				 it ? json_object_iter_key(it) : "none", keys[i]);
			return;
		}
	if (it)
		mismatch(c, "extra key %s", json_object_iter_key(it));
}

bool json_check_line(const struct record *rec, const char *line, size_t len, char *why,
		     size_t why_size)
{
	struct ctx c = { .why = why, .why_size = why_size, .ok = true };
	char time_text[64], comm[RECORD_COMM_LEN * 3 + 1];
	time_t sec = rec->time_ns / 1000000000;
	json_error_t error;
	struct tm tm;

	if (len < 2 || line[len - 1] != '\n' || memchr(line, '\n', len - 1)) {
		snprintf(why, why_size, "not one line ending in a newline");
		return false;
	}
	c.obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &error);
	if (!json_is_object(c.obj)) {
		snprintf(why, why_size, "not a JSON object: %s", error.text);
		json_decref(c.obj);
		return false;
	}
	gmtime_r(&sec, &tm);
	snprintf(time_text, sizeof(time_text), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(rec->time_ns % 1000000000 / 1000));
	want_str(&c, "time", time_text);
	want_str(&c, "type", record_type_name(rec->type));
	want_int(&c, "seq", rec->seq);
	if (rec->type == RECORD_LOST) {
		if (rec->lost_reason == LOST_OUTPUT) {
			want_keys(&c, lost_output_keys);
			want_str(&c, "reason", "output");
		} else {
			want_keys(&c, lost_perf_keys);
			want_str(&c, "reason", "perf_buffer");
			want_int(&c, "cpu", rec->cpu);
		}
		want_int(&c, "count", rec->lost_count);
		goto out;
	}
	want_keys(&c, rec->has_metrics ? metrics_keys : event_keys);
	want_int(&c, "pid", rec->pid);
	json_ref_utf8_sanitize(comm, rec->comm, RECORD_COMM_LEN);
	want_str(&c, "comm", comm);
	want_int(&c, "uid", rec->uid);
	want_int(&c, "netns", rec->netns);
	want_str(&c, "family", rec->family == AF_INET6 ? "ipv6" : "ipv4");
	want_addr(&c, "saddr", rec->family, rec->saddr);
	want_int(&c, "sport", rec->sport);
	want_addr(&c, "daddr", rec->family, rec->daddr);
	want_int(&c, "dport", rec->dport);
	if (!rec->has_metrics)
		goto out;
	want_str(&c, "direction", record_direction_name(rec->direction));
	want_int(&c, "bytes_sent", rec->metrics.bytes_sent);
	want_int(&c, "bytes_received", rec->metrics.bytes_received);
	want_int(&c, "packets_sent", rec->metrics.packets_sent);
	want_int(&c, "packets_received", rec->metrics.packets_received);
	want_int(&c, "retransmits", rec->metrics.retransmits);
	want_int(&c, "rtt_us", rec->metrics.rtt_us);
	want_int(&c, "rttvar_us", rec->metrics.rttvar_us);
out:
	json_decref(c.obj);
	return c.ok;
}
