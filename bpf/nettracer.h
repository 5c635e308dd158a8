/* The only ABI between the BPF programs and user space: events, map values, counters. */
#ifndef NETTRACER_H
#define NETTRACER_H

/*
 * Every field has a fixed size and explicit padding so that the BPF object and user space agree
 * on the layout without BTF; user space asserts the sizes (src/event.c).
 */

#define NT_COMM_LEN 16

enum nt_event_type {
	NT_EVENT_CONNECT = 1,
	NT_EVENT_ACCEPT = 2,
	NT_EVENT_CLOSE = 3,
	NT_EVENT_CONNECT_FAILED = 4, /* left SYN_SENT for CLOSE */
};

/* TCP states as the kernel numbers them (include/net/tcp_states.h): nt_counters.state and
 * prev_state, nt_seed.state, /proc/net/tcp's "st" column. Defined once, here, for both sides. */
enum nt_tcp_state {
	NT_TCP_ESTABLISHED = 1,
	NT_TCP_SYN_SENT = 2,
	NT_TCP_SYN_RECV = 3,
	NT_TCP_FIN_WAIT1 = 4,
	NT_TCP_FIN_WAIT2 = 5,
	NT_TCP_TIME_WAIT = 6,
	NT_TCP_CLOSE = 7,
	NT_TCP_CLOSE_WAIT = 8,
	NT_TCP_LAST_ACK = 9,
	NT_TCP_LISTEN = 10,
	NT_TCP_CLOSING = 11,
};

/* How a connection's reset went, if it had one (nt_conn.reset, nt_event.reset). */
enum nt_reset {
	NT_RESET_NONE = 0,
	NT_RESET_SENT = 1,
	NT_RESET_RECEIVED = 2,
};

enum nt_direction {
	NT_DIR_UNKNOWN = 0,
	NT_DIR_OUTBOUND = 1,
	NT_DIR_INBOUND = 2,
};

/* Bits of struct nt_conn.flags. */
enum nt_conn_flags {
	NT_CONN_ESTABLISHED = 1, /* reached ESTABLISHED while traced, or found so at start-up */
	NT_CONN_CGROUP = 2,	 /* the owner is in the cgroup of --cgroup (or below it) */
};

/* Indexes into the per-CPU counter array "stats". */
enum nt_stat {
	NT_STAT_MAP_FULL = 0, /* a connection could not be tracked: conns map full */
	NT_STAT_OUTPUT_FAIL,  /* bpf_perf_event_output() failed */
	NT_STAT_NESTED,	      /* state changes the busy first hook missed and its twin took */
	NT_STAT_STALE,	      /* entries removed: their socket was gone or another connection */
	NT_STAT_PENDING_FULL, /* inbound connections the pending map could not take (guessing) */
	NT_STAT_ACCEPT_UNMATCHED, /* accepts whose socket could not be told apart (guessing) */
	NT_STAT_UNSEEN,	      /* connections whose ESTABLISHED change no hook saw, found at close */
	NT_STAT_MAX,
};

#define NT_FILTER_MAX 16

/* What to report, set by user space before load (rodata): traffic that does not match costs no
 * user-space work. An empty list matches everything. */
struct nt_filter {
	__u32 pids[NT_FILTER_MAX];
	__u16 ports[NT_FILTER_MAX]; /* host byte order; local or remote */
	__u32 npids;
	__u32 nports;
	__u32 netns;	     /* 0: any */
	__u32 no_loopback;   /* 1: skip connections whose remote end is a loopback address */
	__u32 events;	     /* bit (1 << enum nt_event_type), plus NT_REPORT_* */
	__u32 cgroup;	     /* 1: only owners in the cgroup of map cgroup_filter, or below it */
};

/* Bits of nt_filter.events for records that user space makes. */
#define NT_REPORT_METRICS (1U << 8)
#define NT_REPORT_LOST	  (1U << 9)
#define NT_REPORT_ALL                                                                              \
	((1U << NT_EVENT_CONNECT) | (1U << NT_EVENT_ACCEPT) | (1U << NT_EVENT_CLOSE) |             \
	 (1U << NT_EVENT_CONNECT_FAILED) | NT_REPORT_METRICS | NT_REPORT_LOST)

struct nt_tuple {
	__u8 saddr[16];	 /* local address, network byte order; IPv4 in the first 4 bytes */
	__u8 daddr[16];	 /* remote address, same encoding */
	__u16 sport;	 /* local port, host byte order */
	__u16 dport;	 /* remote port, host byte order */
	__u16 family;	 /* AF_INET or AF_INET6, as the socket has it (v4-mapped stays AF_INET6) */
	__u16 pad;
};

struct nt_owner {
	__u32 pid; /* tgid; 0 when unknown */
	__u32 uid;
	char comm[NT_COMM_LEN];
	__u64 cgroup_id; /* cgroup v2 id (inode of its directory); 0 when unknown */
};

/* tcp_sock counters as the kernel keeps them; user space derives the reported values. */
struct nt_counters {
	__u64 bytes_acked;    /* includes the SYN (active open) and an acknowledged FIN */
	__u64 bytes_received; /* includes a received FIN */
	__u32 segs_out;
	__u32 segs_in;
	__u32 total_retrans;
	__u32 srtt_us;	  /* smoothed RTT << 3 */
	__u32 mdev_us;	  /* RTT mean deviation << 2 */
	__u32 snd_una;
	__u32 write_seq;
	__u8 state;	  /* enum nt_tcp_state when read */
	__u8 prev_state;  /* state before the transition to NT_TCP_CLOSE; equals state otherwise */
	__u8 sk_flags;	  /* low byte of sk_flags: SOCK_DONE (bit 1) is set when a FIN arrived */
	__u8 valid;	  /* 1 when the counters were read */
};

struct nt_event {
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u64 sk;    /* kernel address of the socket: the key of its conns map entry */
	__u32 type;  /* enum nt_event_type */
	__u32 netns; /* network namespace inode */
	struct nt_tuple tuple;
	struct nt_owner owner;
	__u64 birth_ns; /* identity with sk: when the connection's entry began (CLOCK_MONOTONIC) */
	/* connect: the handshake (SYN_SENT to ESTABLISHED); close: since ESTABLISHED;
	 * connect_failed: since connect(). 0 when unknown. */
	__u64 duration_ns;
	__s32 error;	   /* sk_err at close (a positive errno) or 0 */
	__u8 direction;	   /* enum nt_direction */
	__u8 reset;	   /* enum nt_reset (close) */
	__u16 pad;
	__u32 reset_reason; /* the kernel's enum sk_rst_reason + 1 for a reset sent; 0: none */
	__u32 pad2;
	struct nt_counters counters; /* final counters of a close; zero otherwise */
};

/* Size of a connect or accept sample: everything before the counters. */
#define NT_EVENT_SHORT_SIZE __builtin_offsetof(struct nt_event, counters)

/* Value of the conns map, keyed by the kernel address of the socket (__u64). */
struct nt_conn {
	struct nt_tuple tuple;
	struct nt_owner owner;
	__u32 netns;
	__u8 direction;
	__u8 flags; /* enum nt_conn_flags */
	__u8 reset; /* enum nt_reset, from the reset tracepoints */
	__u8 pad;
	/* CLOCK_MONOTONIC of the connection's birth (connect(), the child's SYN_RECV, or when
	 * user space found it at start-up): with the key it names one connection, as the key
	 * alone does not once the kernel reuses the socket's memory. */
	__u64 birth_ns;
	__u64 established_ns; /* CLOCK_MONOTONIC of ESTABLISHED; 0 when not seen */
	__u32 reset_reason;   /* as in nt_event */
	__u32 pad2;
	struct nt_counters counters; /* filled in by the refresh program before a dump */
};

/* A TCP socket that existed at start-up, from /proc/net/tcp{,6} and the lookup program. */
struct nt_seed {
	__u64 sk;
	struct nt_tuple tuple;
	__u64 ino; /* socket inode, 0 when no file holds it */
	__u32 netns;
	__u8 state; /* enum nt_tcp_state */
	__u8 pad[3];
};

/* In and out of the "lookup" program (array map lookup_io, one entry). */
struct nt_lookup {
	__u8 saddr[16]; /* local address as in nt_tuple; IPv4 in the first 4 bytes */
	__u8 daddr[16]; /* remote */
	__u16 sport;	/* host byte order */
	__u16 dport;
	__u32 v6;	/* 1: IPv6 addresses (not v4-mapped) */
	__u64 sk;	/* out: the socket's kernel address, 0 when there is none */
};

/*
 * The kernel fields that the offset-based object (built with NT_OFFSETS, for kernels without
 * BTF) reads at offsets found by guessing (src/guess.c). bpf/access.h names the same fields.
 */
#define NT_OFFSET_FIELDS(X)                                                                        \
	X(skc_daddr)                                                                               \
	X(skc_rcv_saddr)                                                                           \
	X(skc_dport)                                                                               \
	X(skc_family)                                                                              \
	X(skc_state)                                                                               \
	X(skc_flags)                                                                               \
	X(skc_net)                                                                                 \
	X(net_inum)                                                                                \
	X(skc_v6_daddr)                                                                            \
	X(skc_v6_rcv_saddr)                                                                        \
	X(sk_protocol)                                                                             \
	X(sk_socket)                                                                               \
	X(sk_err)                                                                                  \
	X(inet_sport)                                                                              \
	X(tp_bytes_received)                                                                       \
	X(tp_bytes_acked)                                                                          \
	X(tp_segs_in)                                                                              \
	X(tp_segs_out)                                                                             \
	X(tp_total_retrans)                                                                        \
	X(tp_srtt_us)                                                                              \
	X(tp_mdev_us)                                                                              \
	X(tp_snd_una)                                                                              \
	X(tp_write_seq)

struct nt_offsets {
#define NT_OFFSET_MEMBER(name) __u32 name;
	NT_OFFSET_FIELDS(NT_OFFSET_MEMBER)
#undef NT_OFFSET_MEMBER
};

/* Bytes of kernel memory that one run of the "peek" program copies out while guessing. */
#define NT_PEEK_SIZE 4096

#endif /* NETTRACER_H */
