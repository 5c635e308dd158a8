/* Unit tests for ecs.c: every ECS line parses strictly with jansson and each field equals the
 * default format's for the same record (record → json_format → input_parse_line → ecs_format,
 * checked against the default line by a mapping written here, not the writer's); golden lines
 * of a real run; the longest line. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <jansson.h>
#include "ecs.h"
#include "input.h"
#include "json.h"
#include "rnd_record.h"

static struct json_fmt *fmt;
static char strings[INPUT_STRINGS_MAX];

static int setup(void **state)
{
	fmt = json_fmt_new();
	return fmt ? 0 : -1;
}

static int teardown(void **state)
{
	json_fmt_free(fmt);
	return 0;
}

/* Default lines of a real run (as in test_input.c) and the ECS line of each. */
static const char *const golden[][2] = {
	{
	    "{\"time\":\"2026-12-02T02:48:49.816485Z\",\"type\":\"connect\",\"seq\":1,\"pid\":"
	    "28931,\""
	    "comm\":\"nt-client\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\"f"
	    "amily\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":44262,\"daddr\":\"127.0.0.1\","
	    "\"dport"
	    "\":43177,\"handshake_us\":42}\n",
	    "{\"@timestamp\":\"2026-12-02T02:48:49.816485Z\",\"ecs\":{\"version\":\"8.11.0\"},"
	    "\"event"
	    "\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"start\"],"
	    "\""
	    "action\":\"connection-connect\",\"outcome\":\"success\",\"duration\":42000,"
	    "\"sequence\":"
	    "1},\"source\":{\"ip\":\"127.0.0.1\",\"port\":44262},\"destination\":{\"ip\":\"127.0.0."
	    "1\""
	    ",\"port\":43177},\"network\":{\"transport\":\"tcp\",\"type\":\"ipv4\",\"direction\":"
	    "\"eg"
	    "ress\"},\"process\":{\"pid\":28931,\"name\":\"nt-client\"},\"user\":{\"id\":\"0\"},"
	    "\"net"
	    "tracer\":{\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\"}}\n",
	},
	{
	    "{\"time\":\"2026-12-02T02:48:49.816636Z\",\"type\":\"accept\",\"seq\":2,\"pid\":28772,"
	    "\""
	    "comm\":\"nt-server\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\"f"
	    "amily\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":43177,\"daddr\":\"127.0.0.1\","
	    "\"dport"
	    "\":44262}\n",
	    "{\"@timestamp\":\"2026-12-02T02:48:49.816636Z\",\"ecs\":{\"version\":\"8.11.0\"},"
	    "\"event"
	    "\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"start\"],"
	    "\""
	    "action\":\"connection-accept\",\"outcome\":\"success\",\"sequence\":2},\"source\":{"
	    "\"ip\""
	    ":\"127.0.0.1\",\"port\":44262},\"destination\":{\"ip\":\"127.0.0.1\",\"port\":43177},"
	    "\"n"
	    "etwork\":{\"transport\":\"tcp\",\"type\":\"ipv4\",\"direction\":\"ingress\"},"
	    "\"process\""
	    ":{\"pid\":28772,\"name\":\"nt-server\"},\"user\":{\"id\":\"0\"},\"nettracer\":{"
	    "\"netns\""
	    ":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\"}}\n",
	},
	{
	    "{\"time\":\"2026-12-02T02:48:49.822434Z\",\"type\":\"close\",\"seq\":30,\"pid\":10515,"
	    "\""
	    "comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\"fam"
	    "ily\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":47278,\"daddr\":\"127.0.0.1\","
	    "\"dport\""
	    ":54617,\"direction\":\"outbound\",\"bytes_sent\":20000000,\"bytes_received\":1000000,"
	    "\"p"
	    "ackets_sent\":354,\"packets_received\":125,\"retransmits\":0,\"rtt_us\":563,\"rttvar_"
	    "us\""
	    ":814,\"duration_us\":43197}\n",
	    "{\"@timestamp\":\"2026-12-02T02:48:49.822434Z\",\"ecs\":{\"version\":\"8.11.0\"},"
	    "\"event"
	    "\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"end\"],"
	    "\"ac"
	    "tion\":\"connection-close\",\"outcome\":\"success\",\"duration\":43197000,"
	    "\"sequence\":3"
	    "0},\"source\":{\"ip\":\"127.0.0.1\",\"port\":47278,\"bytes\":20000000,\"packets\":354}"
	    ",\""
	    "destination\":{\"ip\":\"127.0.0.1\",\"port\":54617,\"bytes\":1000000,\"packets\":125},"
	    "\""
	    "network\":{\"transport\":\"tcp\",\"type\":\"ipv4\",\"direction\":\"egress\"},"
	    "\"process\""
	    ":{\"pid\":10515,\"name\":\"python3\"},\"user\":{\"id\":\"0\"},\"nettracer\":{"
	    "\"netns\":4"
	    "026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\"retransmits\":0,\"rtt_us\":563,\"rttvar_us\""
	    ":814}}\n",
	},
	{
	    "{\"time\":\"2026-12-02T02:48:51.384913Z\",\"type\":\"metrics\",\"seq\":2850,\"pid\":"
	    "3149"
	    "3,\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\""
	    "family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":46501,\"daddr\":\"127.0.0.1\","
	    "\"dpor"
	    "t\":36514,\"direction\":\"inbound\",\"bytes_sent\":32768,\"bytes_received\":0,"
	    "\"packets_"
	    "sent\":4,\"packets_received\":3,\"retransmits\":0,\"rtt_us\":20,\"rttvar_us\":17}\n",
	    "{\"@timestamp\":\"2026-12-02T02:48:51.384913Z\",\"ecs\":{\"version\":\"8.11.0\"},"
	    "\"event"
	    "\":{\"kind\":\"metric\",\"category\":[\"network\"],\"type\":[\"connection\",\"info\"],"
	    "\""
	    "action\":\"connection-metrics\",\"sequence\":2850},\"source\":{\"ip\":\"127.0.0.1\","
	    "\"po"
	    "rt\":36514,\"bytes\":0,\"packets\":3},\"destination\":{\"ip\":\"127.0.0.1\",\"port\":"
	    "465"
	    "01,\"bytes\":32768,\"packets\":4},\"network\":{\"transport\":\"tcp\",\"type\":"
	    "\"ipv4\",\""
	    "direction\":\"ingress\"},\"process\":{\"pid\":31493,\"name\":\"python3\"},\"user\":{"
	    "\"id"
	    "\":\"0\"},\"nettracer\":{\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\"retrans"
	    "mits\":0,\"rtt_us\":20,\"rttvar_us\":17}}\n",
	},
	{
	    "{\"time\":\"2026-12-02T02:48:53.366997Z\",\"type\":\"connect_failed\",\"seq\":5667,"
	    "\"pid"
	    "\":28774,\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,"
	    "\"cgroup\":"
	    "\"/"
	    "\",\"family\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":40784,\"daddr\":\"127.0.0.1\""
	    ",\"dport\":1,\"error\":\"ECONNREFUSED\",\"duration_us\":38}\n",
	    "{\"@timestamp\":\"2026-12-02T02:48:53.366997Z\",\"ecs\":{\"version\":\"8.11.0\"},"
	    "\"event"
	    "\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"start\"],"
	    "\""
	    "action\":\"connection-failed\",\"outcome\":\"failure\",\"duration\":38000,"
	    "\"sequence\":5"
	    "667},\"source\":{\"ip\":\"127.0.0.1\",\"port\":40784},\"destination\":{\"ip\":\"127.0."
	    "0."
	    "1\",\"port\":1},\"network\":{\"transport\":\"tcp\",\"type\":\"ipv4\",\"direction\":"
	    "\"egr"
	    "ess\"},\"process\":{\"pid\":28774,\"name\":\"python3\"},\"user\":{\"id\":\"0\"},"
	    "\"nettra"
	    "cer\":{\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\"error\":\"ECONNREFUSED\"}"
	    "}\n",
	},
	{
	    "{\"time\":\"2026-12-02T02:48:53.367192Z\",\"type\":\"close\",\"seq\":5670,\"pid\":"
	    "28774,"
	    "\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\"f"
	    "amily\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":53096,\"daddr\":\"127.0.0.1\","
	    "\"dport"
	    "\":36547,\"direction\":\"outbound\",\"bytes_sent\":0,\"bytes_received\":0,\"packets_"
	    "sent"
	    "\":2,\"packets_received\":1,\"retransmits\":0,\"rtt_us\":12,\"rttvar_us\":6,"
	    "\"duration_u"
	    "s\":107,\"reset\":\"sent\"}\n",
	    "{\"@timestamp\":\"2026-12-02T02:48:53.367192Z\",\"ecs\":{\"version\":\"8.11.0\"},"
	    "\"event"
	    "\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"end\"],"
	    "\"ac"
	    "tion\":\"connection-close\",\"outcome\":\"failure\",\"duration\":107000,\"sequence\":"
	    "567"
	    "0},\"source\":{\"ip\":\"127.0.0.1\",\"port\":53096,\"bytes\":0,\"packets\":2},"
	    "\"destinat"
	    "ion\":{\"ip\":\"127.0.0.1\",\"port\":36547,\"bytes\":0,\"packets\":1},\"network\":{"
	    "\"tra"
	    "nsport\":\"tcp\",\"type\":\"ipv4\",\"direction\":\"egress\"},\"process\":{\"pid\":"
	    "28774,"
	    "\"name\":\"python3\"},\"user\":{\"id\":\"0\"},\"nettracer\":{\"netns\":4026531833,"
	    "\"cgro"
	    "up_id\":1,\"cgroup\":\"/"
	    "\",\"retransmits\":0,\"rtt_us\":12,\"rttvar_us\":6,\"reset\":\"s"
	    "ent\"}}\n",
	},
	{
	    "{\"time\":\"2026-12-02T02:48:53.367198Z\",\"type\":\"close\",\"seq\":5671,\"pid\":"
	    "28774,"
	    "\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\"f"
	    "amily\":\"ipv4\",\"saddr\":\"127.0.0.1\",\"sport\":36547,\"daddr\":\"127.0.0.1\","
	    "\"dport"
	    "\":53096,\"direction\":\"inbound\",\"bytes_sent\":0,\"bytes_received\":0,\"packets_"
	    "sent\""
	    ":0,\"packets_received\":3,\"retransmits\":0,\"rtt_us\":22,\"rttvar_us\":11,\"duration_"
	    "us"
	    "\":93,\"reset\":\"received\",\"error\":\"ECONNRESET\"}\n",
	    "{\"@timestamp\":\"2026-12-02T02:48:53.367198Z\",\"ecs\":{\"version\":\"8.11.0\"},"
	    "\"event"
	    "\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"end\"],"
	    "\"ac"
	    "tion\":\"connection-close\",\"outcome\":\"failure\",\"duration\":93000,\"sequence\":"
	    "5671"
	    "},\"source\":{\"ip\":\"127.0.0.1\",\"port\":53096,\"bytes\":0,\"packets\":3},"
	    "\"destinati"
	    "on\":{\"ip\":\"127.0.0.1\",\"port\":36547,\"bytes\":0,\"packets\":0},\"network\":{"
	    "\"tran"
	    "sport\":\"tcp\",\"type\":\"ipv4\",\"direction\":\"ingress\"},\"process\":{\"pid\":"
	    "28774,"
	    "\"name\":\"python3\"},\"user\":{\"id\":\"0\"},\"nettracer\":{\"netns\":4026531833,"
	    "\"cgro"
	    "up_id\":1,\"cgroup\":\"/"
	    "\",\"retransmits\":0,\"rtt_us\":22,\"rttvar_us\":11,\"reset\":\""
	    "received\",\"error\":\"ECONNRESET\"}}\n",
	},
	{
	    "{\"time\":\"2026-12-02T02:48:53.583875Z\",\"type\":\"connect\",\"seq\":6508,\"pid\":"
	    "2877"
	    "4,\"comm\":\"python3\",\"uid\":0,\"netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/"
	    "\",\""
	    "family\":\"ipv6\",\"saddr\":\"::1\",\"sport\":48520,\"daddr\":\"::1\",\"dport\":49521,"
	    "\""
	    "handshake_us\":81}\n",
	    "{\"@timestamp\":\"2026-12-02T02:48:53.583875Z\",\"ecs\":{\"version\":\"8.11.0\"},"
	    "\"event"
	    "\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"start\"],"
	    "\""
	    "action\":\"connection-connect\",\"outcome\":\"success\",\"duration\":81000,"
	    "\"sequence\":"
	    "6508},\"source\":{\"ip\":\"::1\",\"port\":48520},\"destination\":{\"ip\":\"::1\","
	    "\"port\""
	    ":49521},\"network\":{\"transport\":\"tcp\",\"type\":\"ipv6\",\"direction\":\"egress\"}"
	    ",\""
	    "process\":{\"pid\":28774,\"name\":\"python3\"},\"user\":{\"id\":\"0\"},\"nettracer\":{"
	    "\""
	    "netns\":4026531833,\"cgroup_id\":1,\"cgroup\":\"/\"}}\n",
	},
	{
	    "{\"time\":\"2026-12-02T02:48:55.382060Z\",\"type\":\"lost\",\"seq\":10455,\"reason\":"
	    "\"p"
	    "erf_buffer\",\"cpu\":1,\"count\":4}\n",
	    "{\"@timestamp\":\"2026-12-02T02:48:55.382060Z\",\"ecs\":{\"version\":\"8.11.0\"},"
	    "\"event"
	    "\":{\"kind\":\"pipeline_error\",\"action\":\"records-lost\",\"sequence\":10455},"
	    "\"nettra"
	    "cer\":{\"lost\":{\"reason\":\"perf_buffer\",\"cpu\":1,\"count\":4}}}\n",
	},
};

static json_t *load(const char *line, size_t len)
{
	json_error_t error;
	json_t *obj;

	if (len < 2 || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		fail_msg("not one line: %.*s", (int)len, line);
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &error);
	if (!json_is_object(obj))
		fail_msg("%s in %.*s", error.text, (int)len, line);
	return obj;
}

/* A value at a dotted path of nested objects, NULL when absent. */
static json_t *at(json_t *obj, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		obj = json_object_get(obj, key);
		if (!json_is_object(obj))
			return NULL;
		path = dot + 1;
	}
	return json_object_get(obj, path);
}

struct ctx {
	json_t *def, *ecs;
	const char *line;
	unsigned int keys; /* leaf values checked: every one the ECS line has, no more */
};

/* The ECS value at path equals the default's value at key (both absent when key is absent). */
static void same(struct ctx *c, const char *path, const char *key)
{
	json_t *want = key ? json_object_get(c->def, key) : NULL, *got = at(c->ecs, path);

	if (!want && !got)
		return;
	if (!want || !got || !json_equal(want, got))
		fail_msg("%s is not the default's %s in\n%s", path, key, c->line);
	c->keys++;
}

/* The ECS value at path is this string, or absent when want is NULL. */
static void is_str(struct ctx *c, const char *path, const char *want)
{
	json_t *got = at(c->ecs, path);

	if (!want && !got)
		return;
	if (!want || !json_is_string(got) || strcmp(json_string_value(got), want))
		fail_msg("%s is not \"%s\" in\n%s", path, want ? want : "(absent)", c->line);
	c->keys++;
}

static void is_value(struct ctx *c, const char *path, json_t *want)
{
	json_t *got = at(c->ecs, path);

	if (!json_equal(got, want))
		fail_msg("%s is not as it should be in\n%s", path, c->line);
	json_decref(want);
	c->keys++;
}

/* Leaf values (arrays count as one) in obj. */
static unsigned int leaves(json_t *obj)
{
	const char *key;
	json_t *v;
	unsigned int n = 0;

	json_object_foreach(obj, key, v) n += json_is_object(v) ? leaves(v) : 1;
	return n;
}

static const char *str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The ECS line against the default line of the same record, field by field (nettracer(8),
 * ECS OUTPUT). */
static void check_ecs(const char *def_line, size_t def_len, const char *line, size_t len)
{
	static const char *const actions[][2] = {
		{ "connect", "connection-connect" }, { "accept", "connection-accept" },
		{ "close", "connection-close" },     { "connect_failed", "connection-failed" },
		{ "metrics", "connection-metrics" }, { "lost", "records-lost" },
	};
	struct ctx c = { .def = load(def_line, def_len), .ecs = load(line, len), .line = line };
	const char *type = str(c.def, "type"), *dir = str(c.def, "direction"), *dur = NULL;
	bool in, failure;
	json_t *d;
	size_t i;

	same(&c, "@timestamp", "time");
	is_str(&c, "ecs.version", ECS_VERSION);
	same(&c, "event.sequence", "seq");
	for (i = 0; i < 6 && strcmp(actions[i][0], type); i++)
		;
	assert_true(i < 6);
	is_str(&c, "event.action", actions[i][1]);
	if (!strcmp(type, "lost")) {
		is_str(&c, "event.kind", "pipeline_error");
		same(&c, "nettracer.lost.reason", "reason");
		same(&c, "nettracer.lost.cpu", "cpu");
		same(&c, "nettracer.lost.count", "count");
		goto out;
	}
	is_str(&c, "event.kind", strcmp(type, "metrics") ? "event" : "metric");
	is_value(&c, "event.category", json_pack("[s]", "network"));
	is_value(&c, "event.type",
		 json_pack("[ss]", "connection",
			   !strcmp(type, "close")     ? "end"
			   : !strcmp(type, "metrics") ? "info"
						      : "start"));
	failure = !strcmp(type, "connect_failed") ||
		  (!strcmp(type, "close") &&
		   (json_object_get(c.def, "error") || json_object_get(c.def, "reset")));
	is_str(&c, "event.outcome",
	       !strcmp(type, "metrics") ? NULL
	       : failure		? "failure"
					: "success");
	/* The duration: nanoseconds, the default's microseconds. */
	if (!strcmp(type, "connect"))
		dur = "handshake_us";
	else if (!strcmp(type, "close") || !strcmp(type, "connect_failed"))
		dur = "duration_us";
	d = at(c.ecs, "event.duration");
	if (!dur || !json_object_get(c.def, dur)) {
		assert_null(d);
	} else {
		json_int_t us = json_integer_value(json_object_get(c.def, dur));

		assert_true(json_is_integer(d));
		/* Saturated as every number is, past 292 years. */
		if (us > INT64_MAX / 1000 ? json_integer_value(d) != INT64_MAX
					  : json_integer_value(d) / 1000 != us)
			fail_msg("event.duration is not %s in\n%s", dur, line);
		c.keys++;
	}
	/* The initiator is the source: the remote end of what was accepted. */
	if (!dir)
		dir = !strcmp(type, "accept")					    ? "inbound"
		      : !strcmp(type, "connect") || !strcmp(type, "connect_failed") ? "outbound"
										    : "unknown";
	in = !strcmp(dir, "inbound");
	is_str(&c, "network.direction",
	       in			  ? "ingress"
	       : !strcmp(dir, "outbound") ? "egress"
					  : "unknown");
	is_str(&c, "network.transport", "tcp");
	same(&c, "network.type", "family");
	same(&c, "source.ip", in ? "daddr" : "saddr");
	same(&c, "source.port", in ? "dport" : "sport");
	same(&c, "source.bytes", in ? "bytes_received" : "bytes_sent");
	same(&c, "source.packets", in ? "packets_received" : "packets_sent");
	same(&c, "destination.ip", in ? "saddr" : "daddr");
	same(&c, "destination.port", in ? "sport" : "dport");
	same(&c, "destination.bytes", in ? "bytes_sent" : "bytes_received");
	same(&c, "destination.packets", in ? "packets_sent" : "packets_received");
	same(&c, "process.pid", "pid");
	same(&c, "process.name", "comm");
	{
		char uid[24];

		snprintf(uid, sizeof(uid), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(c.def, "uid")));
		is_str(&c, "user.id", uid);
	}
	same(&c, "container.id", "container_id");
	same(&c, "nettracer.netns", "netns");
	same(&c, "nettracer.cgroup_id", "cgroup_id");
	same(&c, "nettracer.cgroup", "cgroup");
	same(&c, "nettracer.retransmits", "retransmits");
	same(&c, "nettracer.rtt_us", "rtt_us");
	same(&c, "nettracer.rttvar_us", "rttvar_us");
	same(&c, "nettracer.reset", "reset");
	same(&c, "nettracer.reset_reason", "reset_reason");
	same(&c, "nettracer.error", "error");
	same(&c, "nettracer.abandoned", "abandoned");
out:
	if (leaves(c.ecs) != c.keys)
		fail_msg("%u values, %u checked in\n%s", leaves(c.ecs), c.keys, line);
	json_decref(c.def);
	json_decref(c.ecs);
}

static void test_golden(void **state)
{
	char line[ECS_LINE_MAX];
	struct record rec;
	ssize_t len;
	size_t i;

	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		assert_int_equal(input_parse_line(golden[i][0], strlen(golden[i][0]), &rec, strings,
						  sizeof(strings)),
				 0);
		len = ecs_format(&rec, line, sizeof(line));
		assert_true(len > 0);
		if ((size_t)len != strlen(golden[i][1]) || memcmp(line, golden[i][1], len))
			fail_msg("differs:\n%.*s%s", (int)len, line, golden[i][1]);
		check_ecs(golden[i][0], strlen(golden[i][0]), line, len);
	}
}

/* Random records of every shape: the chain through the default line and the reader, and the
 * record written directly, which only differs in the precision of event.duration. */
static void test_random(void **state)
{
	char def[JSON_LINE_MAX], line[ECS_LINE_MAX], direct[ECS_LINE_MAX];
	unsigned int i, shapes[6] = { 0 };
	struct record rec, back;
	ssize_t def_len, len, direct_len;
	json_t *a, *b, *ev;

	for (i = 0; i < 6000; i++) {
		rnd_record(&rec);
		if (i % 2 && rec.type != RECORD_LOST && rec.type != RECORD_METRICS)
			rec.has_metrics = !rec.has_metrics;
		/* Without metrics the default line has no direction: the type says it, as the
		 * kernel's records do. */
		if (!rec.has_metrics)
			rec.direction = rec.type == RECORD_ACCEPT  ? DIRECTION_INBOUND
					: rec.type == RECORD_CLOSE ? DIRECTION_UNKNOWN
								   : DIRECTION_OUTBOUND;
		def_len = json_format(fmt, &rec, def, sizeof(def));
		assert_true(def_len > 0);
		assert_int_equal(input_parse_line(def, def_len, &back, strings, sizeof(strings)),
				 0);
		len = ecs_format(&back, line, sizeof(line));
		assert_true(len > 0);
		check_ecs(def, def_len, line, len);
		shapes[rec.type]++;

		direct_len = ecs_format(&rec, direct, sizeof(direct));
		assert_true(direct_len > 0);
		/* The same bytes below the writer's bound, and not one byte less. */
		assert_int_equal(ecs_format(&rec, line, direct_len), direct_len);
		assert_memory_equal(line, direct, direct_len);
		assert_int_equal(ecs_format(&rec, line, direct_len - 1), -ENOSPC);
		len = ecs_format(&back, line, sizeof(line));
		a = load(direct, direct_len);
		b = load(line, len);
		ev = json_object_get(a, "event");
		if (json_object_get(ev, "duration")) {
			uint64_t want = rec.duration_ns > INT64_MAX ? INT64_MAX : rec.duration_ns;

			assert_true((uint64_t)json_integer_value(json_object_get(ev, "duration")) ==
				    want);
			json_object_del(ev, "duration");
			json_object_del(json_object_get(b, "event"), "duration");
		}
		if (!json_equal(a, b))
			fail_msg("direct and read back differ:\n%.*s%.*s", (int)direct_len, direct,
				 (int)len, line);
		json_decref(a);
		json_decref(b);
	}
	for (i = 0; i < 6; i++)
		assert_true(shapes[i] > 500);
}

/* Every value at its widest: within ECS_LINE_MAX. */
static void test_longest_line(void **state)
{
	static char cgroup[RECORD_CGROUP_MAX + 1], reason[RECORD_REASON_MAX + 1];
	char line[ECS_LINE_MAX + 1];
	struct record rec = {
		.type = RECORD_CLOSE,
		.time_ns = UINT64_MAX,
		.seq = UINT64_MAX,
		.pid = UINT32_MAX,
		.uid = UINT32_MAX,
		.netns = UINT32_MAX,
		.cgroup_id = UINT64_MAX,
		.cgroup = cgroup,
		.family = AF_INET6,
		.sport = 65535,
		.dport = 65535,
		.direction = DIRECTION_UNKNOWN,
		.duration_ns = UINT64_MAX,
		.error = 4000,
		.reset = RESET_RECEIVED,
		.reset_reason = reason,
		.has_metrics = true,
		.metrics = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX,
			     UINT32_MAX },
	};
	ssize_t len;

	memset(rec.comm, 0x01, RECORD_COMM_LEN);
	memset(rec.container_id, 0x01, RECORD_CONTAINER_ID_LEN);
	memset(cgroup, 0x01, RECORD_CGROUP_MAX);
	memset(reason, 0x01, RECORD_REASON_MAX);
	memset(rec.saddr, 0x11, 16);
	memset(rec.daddr, 0x11, 16);
	len = ecs_format(&rec, line, sizeof(line));
	assert_true(len > 0);
	assert_true(len <= ECS_LINE_MAX);
	json_decref(load(line, len));
	print_message("longest ECS line: %zd bytes\n", len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_longest_line),
	};

	return cmocka_run_group_tests_name("ecs", tests, setup, teardown);
}
