// SPDX-License-Identifier: GPL-2.0
/* The probes: connection life cycle to a perf event array, per-connection state in a hash map. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <asm/ptrace.h> /* the user-space ABI layout of struct pt_regs: needs no relocation */
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "kernel.h"
#include "access.h"
#include "nettracer.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* TCP states, include/net/tcp_states.h */
enum {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT,
	TCP_SYN_RECV,
	TCP_FIN_WAIT1,
	TCP_FIN_WAIT2,
	TCP_TIME_WAIT,
	TCP_CLOSE,
	TCP_CLOSE_WAIT,
	TCP_LAST_ACK,
	TCP_LISTEN,
	TCP_CLOSING,
};

char LICENSE[] SEC("license") = "GPL";

const volatile struct nt_filter filter = { .events = NT_REPORT_ALL };

/* --cgroup: the cgroup (v2) whose processes are traced, set by user space before attach. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* Sized by user space (--map-size) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct nt_conn);
} conns SEC(".maps");

#ifdef NT_OFFSETS
/* Until guessing is done the probes only note the guesser's own sockets and report nothing. */
volatile __u32 nt_ready;
volatile __u32 guess_tgid;
volatile __u64 guess_sk;
volatile __u64 peek_addr;
__u8 peek_buf[NT_PEEK_SIZE];
#define NT_READY nt_ready

/* Inbound connections not yet accepted: without the fd table walk (CO-RE only), accept()
 * claims the one that a socket was grafted onto. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} pending SEC(".maps");
#else
#define NT_READY 1
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Per CPU, the state changes tp_set_state has started on and tp_set_state_nested has not yet
 * seen: a stack, as changes nest (process context, then softirq). */
#define NT_NEST_MAX 8

struct nt_nest {
	__u32 n;
	__u32 depth;   /* runs of tp_set_state whose code is executing on this CPU */
	__u32 nesting; /* 1 while tp_set_state_nested's code is executing on this CPU */
	__u32 pad;
	struct {
		__u64 sk;
		__u64 states;
	} change[NT_NEST_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_nest);
} nest SEC(".maps");

/* A state change as the nest stack records it, next to the socket. */
static __always_inline __u64 nest_states(int oldstate, int newstate)
{
	return (__u64)oldstate << 32 | (__u32)newstate;
}

/* Atomic although per CPU: a softirq that interrupts a process context increment between its
 * load and its store would lose its own (seen as failed outputs missing from the count). */
static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline bool is_tcp_inet(const void *sk)
{
	__u16 proto = 0, family = 0;

	nt_read(proto, sk, sk_protocol);
	nt_read(family, sk, skc_family);
	return proto == IPPROTO_TCP && (family == AF_INET || family == AF_INET6);
}

static __always_inline void read_tuple(const void *sk, struct nt_tuple *t, __u32 *netns)
{
	__be16 dport = 0, sport = 0;
	void *net = NULL;

	nt_read(t->family, sk, skc_family);
	if (t->family == AF_INET) {
		nt_read(*(__u32 *)t->saddr, sk, skc_rcv_saddr);
		nt_read(*(__u32 *)t->daddr, sk, skc_daddr);
	} else {
		nt_read(t->saddr, sk, skc_v6_rcv_saddr);
		nt_read(t->daddr, sk, skc_v6_daddr);
	}
	/* Not skc_num: the transition to TCP_CLOSE has already released the port. */
	nt_read(sport, sk, inet_sport);
	nt_read(dport, sk, skc_dport);
	t->sport = bpf_ntohs(sport);
	t->dport = bpf_ntohs(dport);
	nt_read(net, sk, skc_net);
	nt_read(*netns, net, net_inum);
}

static __always_inline void read_counters(const void *sk, struct nt_counters *c, __u8 prev_state)
{
	nt_read(c->bytes_acked, sk, tp_bytes_acked);
	nt_read(c->bytes_received, sk, tp_bytes_received);
	nt_read(c->segs_out, sk, tp_segs_out);
	nt_read(c->segs_in, sk, tp_segs_in);
	nt_read(c->total_retrans, sk, tp_total_retrans);
	nt_read(c->srtt_us, sk, tp_srtt_us);
	nt_read(c->mdev_us, sk, tp_mdev_us);
	nt_read(c->snd_una, sk, tp_snd_una);
	nt_read(c->write_seq, sk, tp_write_seq);
	nt_read(c->state, sk, skc_state);
	nt_read(c->sk_flags, sk, skc_flags);
	c->prev_state = prev_state ? prev_state : c->state;
	c->valid = 1;
}

/* The calling task as a connection's owner: only in process context (connect(), accept()).
 * true when it is in the cgroup of --cgroup (always without that filter). */
static __always_inline bool set_owner(struct nt_owner *o)
{
	o->pid = bpf_get_current_pid_tgid() >> 32;
	o->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	o->cgroup_id = bpf_get_current_cgroup_id();
	return !filter.cgroup || bpf_current_task_under_cgroup(&cgroup_filter, 0) == 1;
}

static __always_inline bool is_loopback(const struct nt_tuple *t)
{
	const __u32 *a = (const __u32 *)t->daddr;

	if (t->family == AF_INET)
		return t->daddr[0] == 127;
	/* ::1, or v4-mapped 127.0.0.0/8 */
	if (a[0] || a[1])
		return false;
	if (a[2] == bpf_htonl(0xffff))
		return t->daddr[12] == 127;
	return !a[2] && a[3] == bpf_htonl(1);
}

/* The user's filters: pids, ports, namespace, loopback, cgroup (in_cgroup: what set_owner
 * said of the owner). */
static __always_inline bool wanted(const struct nt_tuple *t, __u32 netns, __u32 pid,
				   bool in_cgroup)
{
	bool ok;
	int i;

	if (filter.cgroup && !in_cgroup)
		return false;
	if (filter.netns && netns != filter.netns)
		return false;
	if (filter.no_loopback && is_loopback(t))
		return false;
	if (filter.npids) {
		ok = false;
		for (i = 0; i < NT_FILTER_MAX && i < filter.npids; i++)
			ok |= filter.pids[i] == pid;
		if (!ok)
			return false;
	}
	if (filter.nports) {
		ok = false;
		for (i = 0; i < NT_FILTER_MAX && i < filter.nports; i++)
			ok |= filter.ports[i] == t->sport || filter.ports[i] == t->dport;
		if (!ok)
			return false;
	}
	return true;
}

/* Only a close carries counters: the other events leave them out of the sample, which keeps
 * more samples in the same ring. */
static __always_inline void emit(void *ctx, void *sk, struct nt_event *ev, __u32 type,
				 bool in_cgroup)
{
	__u64 size = type == NT_EVENT_CLOSE ? sizeof(*ev) : NT_EVENT_SHORT_SIZE;

	if (!(filter.events & (1U << type)) ||
	    !wanted(&ev->tuple, ev->netns, ev->owner.pid, in_cgroup))
		return;

	ev->type = type;
	ev->sk = (__u64)sk;
	ev->ts_ns = bpf_ktime_get_boot_ns();
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, ev, size))
		stat_inc(NT_STAT_OUTPUT_FAIL);
}

/* The tracked state of sk, created (empty, born now) when absent. NULL when the map is full. */
static __always_inline struct nt_conn *conn_get(__u64 key)
{
	static const struct nt_conn empty;
	struct nt_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c)
		return c;
	if (bpf_map_update_elem(&conns, &key, &empty, BPF_NOEXIST) && !bpf_map_lookup_elem(&conns, &key)) {
		stat_inc(NT_STAT_MAP_FULL);
		return NULL;
	}
	c = bpf_map_lookup_elem(&conns, &key);
	if (c && !c->birth_ns)
		c->birth_ns = bpf_ktime_get_ns();
	return c;
}

/* A connection is born on sk (connect(), or a new child): whatever the entry held belongs to an
 * earlier connection whose close was missed, and is counted as stale. */
static __always_inline struct nt_conn *conn_born(__u64 key)
{
	struct nt_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c) {
		stat_inc(NT_STAT_STALE);
		__builtin_memset(c, 0, sizeof(*c));
		c->birth_ns = bpf_ktime_get_ns();
		return c;
	}
	return conn_get(key);
}

static __always_inline void on_established(void *ctx, void *sk, __u8 direction)
{
	struct nt_event ev = {};
	struct nt_conn *c;
	__u64 now = bpf_ktime_get_ns();

	read_tuple(sk, &ev.tuple, &ev.netns);
	ev.direction = direction;
	c = conn_get((__u64)sk);
	if (!c) {
		if (direction == NT_DIR_OUTBOUND)
			emit(ctx, sk, &ev, NT_EVENT_CONNECT, false);
		return;
	}
	c->tuple = ev.tuple;
	c->netns = ev.netns;
	c->direction = direction;
	c->flags |= NT_CONN_ESTABLISHED;
	c->established_ns = now;
	ev.owner = c->owner;
	ev.birth_ns = c->birth_ns;
	if (direction == NT_DIR_OUTBOUND) {
		ev.duration_ns = now - c->birth_ns; /* born at connect(): the handshake */
		emit(ctx, sk, &ev, NT_EVENT_CONNECT, c->flags & NT_CONN_CGROUP);
	}
}

static __always_inline bool was_established(int oldstate)
{
	return oldstate != TCP_SYN_SENT && oldstate != TCP_SYN_RECV && oldstate != TCP_LISTEN &&
	       oldstate != TCP_CLOSE;
}

static __always_inline int sk_error(void *sk)
{
#ifdef NT_OFFSETS
	return NT_ERROR_UNKNOWN; /* not among the guessed fields */
#else
	int err = 0;

	nt_read(err, sk, sk_err);
	return err;
#endif
}

/* A connect() that never got an answer it could use: refused, timed out, unreachable, or
 * abandoned by its caller (then the kernel set no error). */
static __always_inline void on_connect_failed(void *ctx, void *sk, struct nt_conn *c)
{
	struct nt_event ev = {};

	read_tuple(sk, &ev.tuple, &ev.netns);
	ev.owner = c->owner;
	ev.direction = NT_DIR_OUTBOUND;
	ev.birth_ns = c->birth_ns;
	ev.duration_ns = bpf_ktime_get_ns() - c->birth_ns;
	ev.error = sk_error(sk);
	emit(ctx, sk, &ev, NT_EVENT_CONNECT_FAILED, c->flags & NT_CONN_CGROUP);
}

static __always_inline void on_close(void *ctx, void *sk, int oldstate)
{
	__u64 key = (__u64)sk;
	struct nt_event ev = {};
	struct nt_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c && oldstate == TCP_SYN_SENT) {
		on_connect_failed(ctx, sk, c);
		goto forget;
	}
	if (c ? !(c->flags & NT_CONN_ESTABLISHED) : !was_established(oldstate))
		goto forget;
	read_tuple(sk, &ev.tuple, &ev.netns);
	read_counters(sk, &ev.counters, oldstate);
	ev.error = sk_error(sk);
	if (c) {
		ev.owner = c->owner;
		ev.direction = c->direction;
		ev.birth_ns = c->birth_ns;
		ev.reset = c->reset;
		ev.reset_reason = c->reset_reason;
		if (c->established_ns)
			ev.duration_ns = bpf_ktime_get_ns() - c->established_ns;
	}
	/* An abort (SO_LINGER of 0, close() with unread data, tcp_disconnect()) moves the socket
	 * from ESTABLISHED or CLOSE_WAIT straight to CLOSE and sends the reset right after, once
	 * the entry is gone. Every other way into CLOSE from there comes with an error set first
	 * (a reset received, a timeout, an ICMP error). */
	if (!ev.reset && !ev.error && (oldstate == TCP_ESTABLISHED || oldstate == TCP_CLOSE_WAIT))
		ev.reset = NT_RESET_SENT;
	emit(ctx, sk, &ev, NT_EVENT_CLOSE, c && (c->flags & NT_CONN_CGROUP));
forget:
	if (c)
		bpf_map_delete_elem(&conns, &key);
#ifdef NT_OFFSETS
	bpf_map_delete_elem(&pending, &key);
#endif
}

/* The changes that a record needs. The six others of a connection's ten return before any
 * field is read; they still pass through the nest stack, so that a run the kernel skips is
 * counted the same whatever the change (tp_set_state_nested). */
static __always_inline bool needs_work(int newstate)
{
	return newstate == TCP_SYN_SENT || newstate == TCP_SYN_RECV ||
	       newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE;
}

/* One handler for every hook that reports a TCP state change. */
static __always_inline int handle_state(void *ctx, void *sk, int oldstate, int newstate)
{
	struct nt_conn *c;

	if (!needs_work(newstate))
		return 0;
#ifdef NT_OFFSETS
	if (!nt_ready) {
		if (newstate == TCP_SYN_SENT && bpf_get_current_pid_tgid() >> 32 == guess_tgid)
			guess_sk = (__u64)sk;
		return 0;
	}
#endif
	if (!is_tcp_inet(sk))
		return 0;
	switch (newstate) {
	case TCP_SYN_SENT:
		/* Process context of connect(): the only moment its caller is known. */
		c = conn_born((__u64)sk);
		if (c) {
			if (set_owner(&c->owner))
				c->flags |= NT_CONN_CGROUP;
			c->direction = NT_DIR_OUTBOUND;
		}
		break;
	case TCP_SYN_RECV: {
		/* A new child (a listener's clone; a simultaneous open comes from SYN_SENT). */
		if (oldstate == TCP_SYN_SENT)
			break;
		conn_born((__u64)sk);
#ifdef NT_OFFSETS
		/* accept() may dequeue it before the softirq that created it marks it
		 * ESTABLISHED, so it is pending from its birth. */
		__u64 key = (__u64)sk;
		__u8 one = 1;

		if (bpf_map_update_elem(&pending, &key, &one, BPF_ANY))
			stat_inc(NT_STAT_PENDING_FULL);
#endif
		break;
	}
	case TCP_ESTABLISHED:
		if (oldstate == TCP_SYN_SENT)
			on_established(ctx, sk, NT_DIR_OUTBOUND);
		else if (oldstate == TCP_SYN_RECV)
			on_established(ctx, sk, NT_DIR_INBOUND);
		break;
	case TCP_CLOSE:
		on_close(ctx, sk, oldstate);
		break;
	}
	return 0;
}

/* accept() returned fd in the current task: report it with the accepting process. */
static __always_inline int handle_accept(void *ctx, void *sk)
{
	struct nt_event ev = {};
	struct nt_conn *c;
	bool in_cgroup;

	if (!NT_READY || !sk || !is_tcp_inet(sk))
		return 0;
#ifdef NT_OFFSETS
	{
		__u64 key = (__u64)sk;

		bpf_map_delete_elem(&pending, &key);
	}
#endif
	read_tuple(sk, &ev.tuple, &ev.netns);
	in_cgroup = set_owner(&ev.owner);
	ev.direction = NT_DIR_INBOUND;
	c = conn_get((__u64)sk);
	if (c) {
		/* accept() may return before the softirq marks the child ESTABLISHED. */
		c->tuple = ev.tuple;
		c->netns = ev.netns;
		c->owner = ev.owner;
		c->direction = NT_DIR_INBOUND;
		c->flags |= NT_CONN_ESTABLISHED | (in_cgroup ? NT_CONN_CGROUP : 0);
		if (!c->established_ns)
			c->established_ns = bpf_ktime_get_ns();
		ev.birth_ns = c->birth_ns;
	}
	emit(ctx, sk, &ev, NT_EVENT_ACCEPT, in_cgroup);
	return 0;
}

#ifdef NT_OFFSETS
/* What an accept() call in progress asked for: where its caller wants the peer's address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* pid_tgid of the accepting thread */
	__type(value, __u64); /* user address of its struct sockaddr, 0 for none */
} accepting SEC(".maps");

struct claim {
	struct nt_tuple peer; /* family, daddr, dport from the caller's sockaddr; family 0: none */
	__u64 found;
	__u32 ambiguous; /* with no address: more than one pending child has a struct socket */
};

static long claim_one(void *map, __u64 *key, __u8 *value, struct claim *cl)
{
	void *socket = NULL, *sk = (void *)*key;
	__u16 family = 0, dport = 0;
	__u64 daddr[2] = {};

	nt_read(socket, sk, sk_socket);
	if (!socket)
		return 0;
	if (cl->peer.family) {
		nt_read(family, sk, skc_family);
		nt_read(dport, sk, skc_dport);
		if (family == AF_INET)
			nt_read(*(__u32 *)daddr, sk, skc_daddr);
		else
			nt_read(daddr, sk, skc_v6_daddr);
		if (family != cl->peer.family || bpf_ntohs(dport) != cl->peer.dport ||
		    daddr[0] != ((__u64 *)cl->peer.daddr)[0] || daddr[1] != ((__u64 *)cl->peer.daddr)[1])
			return 0;
		cl->found = *key;
		return 1;
	}
	/* Not a count: the verifier would follow every value of it. */
	if (cl->found) {
		cl->ambiguous = 1;
		return 1;
	}
	cl->found = *key;
	return 0;
}

/* The accepted socket is a pending child that now has a struct socket: the one whose peer is
 * the address accept() gave its caller. A caller that asked for no address gets the child only
 * when it is the only candidate; otherwise the accept is counted as unmatched, never given to
 * the wrong process. */
static __always_inline void *sock_of_fd(long fd)
{
	__u64 id = bpf_get_current_pid_tgid(), *uaddr = bpf_map_lookup_elem(&accepting, &id);
	struct claim cl = {};

	if (uaddr && *uaddr) {
		struct {
			__u16 family;
			__be16 port;
			__u32 flowinfo_or_addr;
			__u8 addr6[16];
		} sa = {};

		if (bpf_probe_read_user(&sa, sizeof(sa), (void *)*uaddr) &&
		    bpf_probe_read_user(&sa, 8, (void *)*uaddr))
			sa.family = 0;
		cl.peer.family = sa.family;
		cl.peer.dport = bpf_ntohs(sa.port);
		if (sa.family == AF_INET)
			*(__u32 *)cl.peer.daddr = sa.flowinfo_or_addr;
		else if (sa.family == AF_INET6)
			__builtin_memcpy(cl.peer.daddr, sa.addr6, 16);
		else
			return NULL; /* not an inet socket (AF_UNIX...) */
	}
	if (uaddr)
		bpf_map_delete_elem(&accepting, &id);
	bpf_for_each_map_elem(&pending, claim_one, &cl, 0);
	if (cl.ambiguous) {
		stat_inc(NT_STAT_ACCEPT_UNMATCHED);
		return NULL;
	}
	return (void *)cl.found;
}

static __always_inline int note_accepting(__u64 uaddr)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (NT_READY)
		bpf_map_update_elem(&accepting, &id, &uaddr, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int tp_enter_accept4(struct nt_sys_enter_ctx *ctx)
{
	return note_accepting(ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_accept")
int tp_enter_accept(struct nt_sys_enter_ctx *ctx)
{
	return note_accepting(ctx->args[1]);
}
#else
static __always_inline void *sock_of_fd(long fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	void *files = NULL, *fdt = NULL, **fds = NULL, *file = NULL, *socket = NULL, *sk = NULL;
	unsigned int max_fds = 0;

	nt_read(files, task, task_files);
	nt_read(fdt, files, files_fdt);
	nt_read(max_fds, fdt, fdt_max_fds);
	if (fd < 0 || fd >= max_fds)
		return NULL;
	nt_read(fds, fdt, fdt_fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	nt_read(socket, file, file_private_data);
	nt_read(sk, socket, socket_sk);
	return sk;
}
#endif

/* ---- Hooks of the "tracepoint" strategy: raw tracepoints and syscall tracepoints. ---- */

/* The state change hook of every strategy. */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tp_set_state, void *sk, int oldstate, int newstate)
{
	__u32 zero = 0, n, i;
	struct nt_nest *st = bpf_map_lookup_elem(&nest, &zero);

	/* Interrupting the second program, whose run for this change the kernel skips (or, on
	 * kernels that let it nest, which returns at once): nothing to note for it. */
	if (!st || st->nesting)
		return handle_state(ctx, sk, oldstate, newstate);
	st->depth++;
	/* Empty, then claim the slot before filling it: a change that interrupts us meanwhile
	 * pushes above it, or compares an empty top, never an old change left in the slot. */
	n = st->n;
	if (n >= NT_NEST_MAX) {
		/* Full of entries left for good: the oldest goes. */
#pragma unroll
		for (i = 1; i < NT_NEST_MAX; i++)
			st->change[i - 1] = st->change[i];
		n = NT_NEST_MAX - 1;
	}
	st->change[n].sk = 0;
	barrier();
	st->n = n + 1;
	barrier();
	st->change[n].sk = (__u64)sk;
	st->change[n].states = nest_states(oldstate, newstate);
	handle_state(ctx, sk, oldstate, newstate);
	st->depth--;
	return 0;
}

/* The kernel does not run a program again on a CPU where it is already running (recent kernels
 * count these as recursion_misses): a state change in softirq that interrupts tp_set_state in
 * process context is skipped for it. This second program, attached after the first to the same
 * tracepoint, runs right after it for every change, and handles exactly the changes that the
 * first did not note on this CPU's stack. A change that interrupts this program's code is not
 * noted at all (the kernel skips this program for it). One that comes while the kernel is
 * entering or leaving this program is noted and never found: such an entry, above the one this
 * program finds, is dropped with it; once in a while one stays below later ones for good. While
 * the first program's code is running on this CPU it cannot have run for this change (older
 * kernels, which let it nest, pushed the change on top), so only the top entry is compared
 * then: an old entry that happens to name the same socket address and transition must not hide
 * a change that was missed. */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tp_set_state_nested, void *sk, int oldstate, int newstate)
{
	__u64 states = nest_states(oldstate, newstate);
	__u32 zero = 0, n, i, lowest;
	struct nt_nest *st = bpf_map_lookup_elem(&nest, &zero);

	if (!st || st->nesting)
		return 0;
	st->nesting = 1;
	barrier();
	n = st->n;
	lowest = st->depth ? n : 1; /* the entries that may be this change */
#pragma unroll
	for (i = NT_NEST_MAX; i > 0; i--) {
		if (i <= n && i >= lowest && st->change[i - 1].sk == (__u64)sk &&
		    st->change[i - 1].states == states) {
			st->change[i - 1].sk = 0;
			st->n = i - 1;
			goto out;
		}
	}
	stat_inc(NT_STAT_NESTED);
	handle_state(ctx, sk, oldstate, newstate);
out:
	barrier();
	st->nesting = 0;
	return 0;
}

static __always_inline int exit_accept(void *ctx, long ret)
{
#ifdef NT_OFFSETS
	if (ret < 0) {
		__u64 id = bpf_get_current_pid_tgid();

		bpf_map_delete_elem(&accepting, &id);
		return 0;
	}
#else
	if (ret < 0)
		return 0;
#endif
	return handle_accept(ctx, sock_of_fd(ret));
}

/* ---- Resets, every strategy: they come rarely, and say how a connection ended. ---- */

static __always_inline int on_reset(void *sk, __u8 how, __u32 reason)
{
	__u64 key = (__u64)sk;
	struct nt_conn *c;

	if (!sk || !NT_READY)
		return 0;
	c = bpf_map_lookup_elem(&conns, &key);
	if (c && !c->reset) {
		c->reset = how;
		c->reset_reason = reason;
	}
	return 0;
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(tp_receive_reset, void *sk)
{
	return on_reset(sk, NT_RESET_RECEIVED, 0);
}

/* Linux 6.10 (the rstreason series, "tcp: rstreason: let it work finally in tcp_send_reset()")
 * added the reason as a third argument; older kernels refuse to attach this program. */
SEC("raw_tp/tcp_send_reset")
int BPF_PROG(tp_send_reset_reason, void *sk, void *skb, int reason)
{
	return on_reset(sk, NT_RESET_SENT, (__u32)reason + 1);
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(tp_send_reset, void *sk, void *skb)
{
	return on_reset(sk, NT_RESET_SENT, 0);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct nt_sys_exit_ctx *ctx)
{
	return exit_accept(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct nt_sys_exit_ctx *ctx)
{
	return exit_accept(ctx, ctx->ret);
}

/* ---- Hooks of the "kprobe" and "fentry" strategies (kernels that have them). ---- */

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(kr_inet_csk_accept, void *sk)
{
	return handle_accept(ctx, sk);
}

#ifndef NT_OFFSETS
SEC("fexit/inet_csk_accept")
int BPF_PROG(fx_inet_csk_accept)
{
	__u64 ret = 0;

	/* Not BPF_PROG's argument list: the arguments changed in 6.10 (commit 92ef0fd55ac8
	 * replaced "int flags, int *err" by "struct proto_accept_arg *arg"). */
	bpf_get_func_ret(ctx, &ret);
	return handle_accept(ctx, (void *)ret);
}
#endif

/* ---- Dump time. ---- */

/* Whether sk still is a live socket in a state that a tracked entry can have. */
static __always_inline bool alive(__u8 state)
{
	return state >= TCP_ESTABLISHED && state <= TCP_CLOSING && state != TCP_CLOSE &&
	       state != TCP_TIME_WAIT && state != TCP_LISTEN;
}

static long refresh_one(void *map, __u64 *key, struct nt_conn *c, void *unused)
{
	void *sk = (void *)*key;
	__be16 sport = 0, dport = 0;
	__u8 state = 0;

	/* An entry leaves the map at its TCP_CLOSE transition. One whose close was missed (the
	 * kernel skipped the programs, or the socket closed while the start-up snapshot was being
	 * taken) names a socket that is closed, or whose memory (TCP sockets are
	 * SLAB_TYPESAFE_BY_RCU) now holds another connection: removed here, counted. The state
	 * tracepoint runs before the kernel stores TCP_CLOSE, so a close being handled on another
	 * CPU has already sent its sample by the time this reads the state. */
	nt_read(state, sk, skc_state);
	nt_read(sport, sk, inet_sport);
	nt_read(dport, sk, skc_dport);
	if (!alive(state) || ((c->flags & NT_CONN_ESTABLISHED) &&
			      (bpf_ntohs(sport) != c->tuple.sport || bpf_ntohs(dport) != c->tuple.dport))) {
		bpf_map_delete_elem(&conns, key);
		stat_inc(NT_STAT_STALE);
		return 0;
	}
	if (!(c->flags & NT_CONN_ESTABLISHED) ||
	    !wanted(&c->tuple, c->netns, c->owner.pid, c->flags & NT_CONN_CGROUP)) {
		c->counters.valid = 0;
		return 0;
	}
	read_counters(sk, &c->counters, 0);
	return 0;
}

#ifdef NT_OFFSETS
/* Children never accepted nor seen closing. */
static long sweep_pending(void *map, __u64 *key, __u8 *value, void *unused)
{
	__u8 state = 0;

	nt_read(state, (void *)*key, skc_state);
	if (!alive(state)) {
		bpf_map_delete_elem(&pending, key);
		stat_inc(NT_STAT_STALE);
	}
	return 0;
}
#endif

/* Run by user space (BPF_PROG_TEST_RUN) right before it reads the conns map. */
SEC("raw_tp")
int refresh(void *ctx)
{
	bpf_for_each_map_elem(&conns, refresh_one, NULL, 0);
#ifdef NT_OFFSETS
	bpf_for_each_map_elem(&pending, sweep_pending, NULL, 0);
#endif
	return 0;
}

#ifdef NT_OFFSETS
/* Run by the guesser (BPF_PROG_TEST_RUN): copies kernel memory at peek_addr into peek_buf. */
SEC("raw_tp")
int peek(void *ctx)
{
	return bpf_probe_read_kernel(peek_buf, sizeof(peek_buf), (void *)peek_addr);
}
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_lookup);
} lookup_io SEC(".maps");

/* Run by user space at start-up (BPF_PROG_TEST_RUN, in the namespace to search): the socket of
 * a connection that /proc/net/tcp lists, found by the kernel's own lookup. Needs no BTF. */
SEC("tc")
int lookup(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct nt_lookup *io;
	struct bpf_sock *sk;
	__u32 zero = 0;

	io = bpf_map_lookup_elem(&lookup_io, &zero);
	if (!io)
		return 0;
	/* Seen from an arriving packet: the source is the remote end. */
	if (io->v6) {
		__builtin_memcpy(t.ipv6.saddr, io->daddr, 16);
		__builtin_memcpy(t.ipv6.daddr, io->saddr, 16);
		t.ipv6.sport = bpf_htons(io->dport);
		t.ipv6.dport = bpf_htons(io->sport);
		sk = bpf_skc_lookup_tcp(skb, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
	} else {
		__builtin_memcpy(&t.ipv4.saddr, io->daddr, 4);
		__builtin_memcpy(&t.ipv4.daddr, io->saddr, 4);
		t.ipv4.sport = bpf_htons(io->dport);
		t.ipv4.dport = bpf_htons(io->sport);
		sk = bpf_skc_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	}
	io->sk = 0;
	if (sk) {
		io->sk = (__u64)sk;
		bpf_sk_release(sk);
	}
	return 0;
}
