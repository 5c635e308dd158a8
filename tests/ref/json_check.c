/* The field-by-field check of a JSON line: what each key must hold, computed from the record
 * with libc and the reference sanitizer, never with the writer's own code. */
#define _GNU_SOURCE
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

/* The keys a record must have, in order, by the schema's rules (man/nettracer.8). */
static void schema_keys(const struct record *rec, const char **keys)
{
	static const char *const metrics[] = { "direction",	 "bytes_sent",	"bytes_received",
					       "packets_sent",	 "packets_received",
					       "retransmits",	 "rtt_us",	"rttvar_us" };
	static const char *const tuple[] = { "family", "saddr", "sport", "daddr", "dport" };
	size_t n = 0, i;

	keys[n++] = "time";
	keys[n++] = "type";
	keys[n++] = "seq";
	if (rec->type == RECORD_LOST) {
		keys[n++] = "reason";
		if (rec->lost_reason != LOST_OUTPUT)
			keys[n++] = "cpu";
		keys[n++] = "count";
		keys[n] = NULL;
		return;
	}
	keys[n++] = "pid";
	keys[n++] = "comm";
	keys[n++] = "uid";
	keys[n++] = "netns";
	if (rec->cgroup_id)
		keys[n++] = "cgroup_id";
	if (rec->cgroup)
		keys[n++] = "cgroup";
	if (rec->container_id[0])
		keys[n++] = "container_id";
	for (i = 0; i < sizeof(tuple) / sizeof(tuple[0]); i++)
		keys[n++] = tuple[i];
	if (rec->has_metrics)
		for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
			keys[n++] = metrics[i];
	if (rec->type == RECORD_CONNECT && rec->duration_ns)
		keys[n++] = "handshake_us";
	if (rec->type == RECORD_CONNECT_FAILED) {
		if (rec->error > 0)
			keys[n++] = "error";
		else if (rec->error == 0)
			keys[n++] = "abandoned";
		keys[n++] = "duration_us";
	}
	if (rec->type == RECORD_CLOSE) {
		if (rec->duration_ns)
			keys[n++] = "duration_us";
		if (rec->reset != RESET_NONE)
			keys[n++] = "reset";
		if (rec->reset_reason)
			keys[n++] = "reset_reason";
		if (rec->error > 0)
			keys[n++] = "error";
	}
	keys[n] = NULL;
}

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
	char time_text[64], text[RECORD_CGROUP_MAX * 3 + 1];
	const char *keys[48];
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
	schema_keys(rec, keys);
	want_keys(&c, keys);
	if (rec->type == RECORD_LOST) {
		want_str(&c, "reason", rec->lost_reason == LOST_OUTPUT ? "output" : "perf_buffer");
		if (rec->lost_reason != LOST_OUTPUT)
			want_int(&c, "cpu", rec->cpu);
		want_int(&c, "count", rec->lost_count);
		goto out;
	}
	want_int(&c, "pid", rec->pid);
	json_ref_utf8_sanitize(text, rec->comm, RECORD_COMM_LEN);
	want_str(&c, "comm", text);
	want_int(&c, "uid", rec->uid);
	want_int(&c, "netns", rec->netns);
	if (rec->cgroup_id)
		want_int(&c, "cgroup_id", rec->cgroup_id);
	if (rec->cgroup) {
		json_ref_utf8_sanitize(text, rec->cgroup, RECORD_CGROUP_MAX);
		want_str(&c, "cgroup", text);
	}
	if (rec->container_id[0])
		want_str(&c, "container_id", rec->container_id);
	want_str(&c, "family", rec->family == AF_INET6 ? "ipv6" : "ipv4");
	want_addr(&c, "saddr", rec->family, rec->saddr);
	want_int(&c, "sport", rec->sport);
	want_addr(&c, "daddr", rec->family, rec->daddr);
	want_int(&c, "dport", rec->dport);
	if (rec->error > 0) {
		const char *name = strerrorname_np(rec->error);
		char num[16];

		snprintf(num, sizeof(num), "%d", rec->error);
		if (rec->type == RECORD_CLOSE || rec->type == RECORD_CONNECT_FAILED)
			want_str(&c, "error", name ? name : num);
	}
	if (rec->type == RECORD_CONNECT_FAILED && rec->error == 0 &&
	    !json_is_true(json_object_get(c.obj, "abandoned")))
		mismatch(&c, "abandoned is not true");
	if (rec->type == RECORD_CONNECT && rec->duration_ns)
		want_int(&c, "handshake_us", rec->duration_ns / 1000);
	if ((rec->type == RECORD_CONNECT_FAILED || rec->type == RECORD_CLOSE) && rec->duration_ns)
		want_int(&c, "duration_us", rec->duration_ns / 1000);
	if (rec->type == RECORD_CLOSE && rec->reset != RESET_NONE)
		want_str(&c, "reset", rec->reset == RESET_SENT ? "sent" : "received");
	if (rec->type == RECORD_CLOSE && rec->reset_reason) {
		json_ref_utf8_sanitize(text, rec->reset_reason,
				       strnlen(rec->reset_reason, RECORD_REASON_MAX));
		want_str(&c, "reset_reason", text);
	}
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
