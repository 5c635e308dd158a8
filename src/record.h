/* struct record: one decoded output record, the form every source produces and every sink takes. */
#ifndef NT_RECORD_H
#define NT_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#define RECORD_COMM_LEN 16
#define RECORD_CGROUP_MAX 512	     /* longer cgroup paths are left out of records */
#define RECORD_CONTAINER_ID_LEN 64 /* hex digits */
#define RECORD_REASON_MAX 64	     /* a reset reason's name, at most */

enum record_type {
	RECORD_CONNECT,
	RECORD_ACCEPT,
	RECORD_CLOSE,
	RECORD_METRICS,
	RECORD_LOST,
	RECORD_CONNECT_FAILED,
};

/* How a connection ended, when a reset ended it. */
enum record_reset {
	RESET_NONE,
	RESET_SENT,
	RESET_RECEIVED,
};

#define RECORD_ERROR_UNKNOWN (-1) /* record.error when the kernel's error could not be read */

/* Why a lost record's records are missing. */
enum record_lost_reason {
	LOST_PERF_BUFFER, /* the kernel dropped samples: the perf buffer of cpu was full */
	LOST_OUTPUT,	  /* records made but not written: the output failed (disk full, ...) */
};

enum record_direction {
	DIRECTION_UNKNOWN,
	DIRECTION_OUTBOUND,
	DIRECTION_INBOUND,
};

struct record_metrics {
	uint64_t bytes_sent;
	uint64_t bytes_received;
	uint64_t packets_sent;
	uint64_t packets_received;
	uint64_t retransmits;
	uint32_t rtt_us;
	uint32_t rttvar_us;
};

struct record {
	enum record_type type;
	uint64_t sk;	  /* with birth_ns, the identity of a connection (kernel socket address) */
	uint64_t birth_ns; /* when the tracer saw it begin (CLOCK_MONOTONIC); 0: unknown */
	uint64_t time_ns; /* wall clock, nanoseconds since the epoch */
	uint64_t seq;	  /* 1, 2, 3, ... in the order records are made; set by the pipeline */
	uint32_t pid;
	uint32_t uid;
	char comm[RECORD_COMM_LEN + 1]; /* raw bytes from the kernel, NUL-terminated */
	uint32_t netns;
	uint64_t cgroup_id;	/* cgroup v2 id of the owner; 0 when unknown */
	const char *cgroup;	/* its path under the cgroup2 mount; NULL when unknown */
	char container_id[RECORD_CONTAINER_ID_LEN + 1]; /* its container's id; "" when none */
	int family; /* AF_INET or AF_INET6; v4-mapped IPv6 connections are AF_INET */
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint16_t sport;
	uint16_t dport;
	enum record_direction direction;
	/* connect: the handshake; close: established to closed; connect_failed: connect() to the
	 * failure. 0 when unknown. */
	uint64_t duration_ns;
	int error; /* close, connect_failed: the errno the kernel set; 0, or RECORD_ERROR_UNKNOWN */
	enum record_reset reset;	/* close */
	const char *reset_reason;	/* close with a reset sent: the kernel's reason; or NULL */
	uint32_t reset_reason_code;	/* the kernel's enum sk_rst_reason + 1; 0 when not given */
	bool has_metrics; /* close and metrics records */
	struct record_metrics metrics;
	uint32_t cpu;	     /* lost records */
	uint64_t lost_count; /* lost records */
	enum record_lost_reason lost_reason; /* lost records */
};

const char *record_type_name(enum record_type type);
const char *record_direction_name(enum record_direction dir);

#endif /* NT_RECORD_H */
