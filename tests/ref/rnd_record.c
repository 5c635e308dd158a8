/* Pseudo-random records of every shape, for the tests of the readers and writers of records:
 * the generator of tests/unit/test_json.c, shared. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include "rnd_record.h"

/* A fixed-seed generator, so that a failure shows up again in the next run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Random bits of a random width, and now and then a value at an edge. */
uint64_t rnd_u64(void)
{
	static const uint64_t edges[] = { 0,
					  1,
					  9,
					  10,
					  99,
					  100,
					  UINT32_MAX,
					  (1ULL << 53) - 1,
					  1ULL << 53,
					  (1ULL << 53) + 1,
					  9999999999999999999ULL,
					  INT64_MAX - 1,
					  INT64_MAX,
					  (uint64_t)INT64_MAX + 1,
					  UINT64_MAX - 1,
					  UINT64_MAX };

	if (rnd() % 8 == 0)
		return edges[rnd() % (sizeof(edges) / sizeof(edges[0]))];
	return rnd() >> (rnd() % 64);
}

/* An IPv6 address with the zero runs, prefixes and tails that change its text form. */
void rnd_ipv6(uint8_t *a)
{
	unsigned int i, kind = rnd() % 8;

	for (i = 0; i < 16; i++)
		a[i] = rnd();
	if (kind == 0) {
		memset(a, 0, 16);
		if (rnd() % 2)
			a[15] = rnd() % 4;
	} else if (kind == 1) { /* v4-mapped or v4-compatible */
		memset(a, 0, 12);
		if (rnd() % 2)
			a[10] = a[11] = 0xff;
	} else if (kind <= 4) { /* words zeroed at random: runs of every length and place */
		for (i = 0; i < 8; i++)
			if (rnd() % 2)
				a[2 * i] = a[2 * i + 1] = 0;
	} else if (kind == 5) { /* small words: one, two and three hex digits */
		for (i = 0; i < 8; i++)
			a[2 * i] = rnd() % 2 ? 0 : rnd() % 16;
	}
}

/* Kernel text of up to max bytes, any bytes at times, NUL-terminated at max at the latest. */
static void rnd_text(char *dst, size_t max)
{
	size_t n = rnd() % 4 ? rnd() % 80 : max, i;

	for (i = 0; i < n && i < max; i++) {
		unsigned int r = rnd() % 16;

		dst[i] = r < 12 ? "/abcdef0123456789.-_"[rnd() % 20]
				: (char)(r < 13 ? rnd() % 0x20 : rnd());
	}
	dst[i < max ? i : max] = '\0';
}

void rnd_record(struct record *rec)
{
	static char cgroup[RECORD_CGROUP_MAX + 1], reason[RECORD_REASON_MAX + 1];
	static char container[RECORD_CONTAINER_ID_LEN + 1];
	static const int errors[] = { 0, -1, 104, 110, 111, 113, 4000 };
	unsigned int i;

	memset(rec, 0, sizeof(*rec));
	rec->type = rnd() % 6;
	if (rnd() % 2)
		rec->cgroup_id = rnd() % 2 ? rnd_u64() : 1 + rnd() % 100000;
	if (rnd() % 2) {
		rnd_text(cgroup, RECORD_CGROUP_MAX);
		rec->cgroup = cgroup;
	}
	if (rnd() % 3 == 0) {
		for (i = 0; i < RECORD_CONTAINER_ID_LEN; i++)
			container[i] = "0123456789abcdef"[rnd() % 16];
		memcpy(rec->container_id, container, sizeof(rec->container_id));
	}
	rec->duration_ns = rnd() % 3 ? rnd_u64() : 0;
	rec->error = rnd() % 2 ? errors[rnd() % 7] : (int)(rnd() % 200);
	rec->reset = rnd() % 3;
	if (rnd() % 3 == 0) {
		rnd_text(reason, RECORD_REASON_MAX);
		rec->reset_reason = reason;
	}
	rec->time_ns = rnd() % 4 ? 1700000000000000000ULL + rnd() % 3000000000ULL : rnd_u64();
	rec->seq = rnd_u64();
	rec->pid = rnd_u64();
	rec->uid = rnd_u64();
	rec->netns = rnd_u64();
	for (i = 0; i <= RECORD_COMM_LEN; i++) {
		unsigned int r = rnd() % 8;

		rec->comm[i] = r < 4 ? 'a' + rnd() % 26 : r < 5 ? rnd() % 0x20 : rnd();
	}
	if (rnd() % 4 == 0)
		rec->comm[rnd() % (RECORD_COMM_LEN + 1)] = '\0';
	rec->family = rnd() % 2 ? AF_INET6 : AF_INET;
	if (rec->family == AF_INET6) {
		rnd_ipv6(rec->saddr);
		rnd_ipv6(rec->daddr);
	} else {
		for (i = 0; i < 4; i++) {
			rec->saddr[i] = rnd_u64();
			rec->daddr[i] = rnd_u64();
		}
	}
	rec->sport = rnd_u64();
	rec->dport = rnd_u64();
	rec->direction = rnd() % 3;
	rec->has_metrics = rec->type == RECORD_CLOSE || rec->type == RECORD_METRICS;
	if (rec->type == RECORD_CONNECT_FAILED)
		rec->has_metrics = false;
	rec->metrics = (struct record_metrics){ rnd_u64(), rnd_u64(), rnd_u64(), rnd_u64(),
						rnd_u64(), rnd_u64(), rnd_u64() };
	rec->cpu = rnd_u64();
	rec->lost_count = rnd_u64();
	rec->lost_reason = rnd() % 2;
}
