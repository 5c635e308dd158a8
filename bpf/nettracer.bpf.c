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
#include "nest.h"

/*
 * Layout: the maps and the rodata filter; the connection helpers (conn.h, which uses them); the
 * part only the offset-guessing object has (NT_OFFSETS), with what stands in for it in the CO-RE
 * object; the handlers, one per logical event; the hooks, thin wrappers per strategy; the
 * programs that user space runs itself (refresh, lookup). doc/design.md has the overview.
 */

char LICENSE[] SEC("license") = "GPL";

const volatile struct nt_filter filter = { .events = NT_REPORT_ALL };

/* Set by tests/e2e/nest_load only. BPF_PROG_TEST_RUN runs a program on a copy of the arguments
 * that the kernel allocates for each run, so the test passes the frame (bpf/nest.h) as a fourth
 * argument. Nettracer leaves it false, and the verifier drops the read. */
const volatile bool nest_frame_from_args = false;

static __always_inline __u64 nest_frame(unsigned long long *ctx)
{
	return nest_frame_from_args ? ctx[3] : (__u64)ctx;
}

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

/* A new conns entry as it goes in: all zero but its birth time (conn_get), so that the sweep
 * never sees an entry without one. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_conn);
} conn_template SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* One struct nt_nest per CPU (bpf/nest.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_nest);
} nest SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_lookup);
} lookup_io SEC(".maps");

#include "conn.h"

/* The errno the kernel set on the socket (sk_err), 0 for none. */
static __always_inline int sk_error(void *sk)
{
	int err = 0;

	nt_read(err, sk, sk_err);
	return err;
}

#ifdef NT_OFFSETS
/* ---- Only in the offset-guessing object (no BTF): guessing, and accept() without the fd
 * table. The functions here have empty counterparts in the #else part below. ---- */

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
	__type(value, __u64); /* CLOCK_MONOTONIC of the child's birth, for the sweep */
} pending SEC(".maps");

/* What an accept() call in progress asked for: where its caller wants the peer's address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* pid_tgid of the accepting thread */
	__type(value, __u64); /* user address of its struct sockaddr, 0 for none */
} accepting SEC(".maps");

/* While guessing runs (!NT_READY): the guesser's own connect() is the socket it studies. */
static __always_inline void note_guesser(void *sk, int newstate)
{
	if (newstate == NT_TCP_SYN_SENT && bpf_get_current_pid_tgid() >> 32 == guess_tgid)
		guess_sk = (__u64)sk;
}

/* A new child: accept() may dequeue it before the softirq that created it marks it
 * ESTABLISHED, so it is pending from its birth. */
static __always_inline void pending_add(void *sk)
{
	__u64 key = (__u64)sk, birth = bpf_ktime_get_ns();

	if (bpf_map_update_elem(&pending, &key, &birth, BPF_ANY))
		stat_inc(NT_STAT_PENDING_FULL);
}

static __always_inline void pending_forget(__u64 *key)
{
	bpf_map_delete_elem(&pending, key);
}

/* accept() failed: what it asked for is of no use. */
static __always_inline void accepting_forget(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&accepting, &id);
}

struct claim {
	struct nt_tuple peer; /* family, daddr, dport from the caller's sockaddr; family 0: none */
	__u64 found;
	__u32 ambiguous; /* with no address: more than one pending child has a struct socket */
};

static long claim_one(void *map, __u64 *key, __u64 *birth, struct claim *cl)
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

/* Children never accepted nor seen closing. A child is pending from its SYN_RECV hook, which
 * runs while it still reads the listener's TCP_LISTEN: young ones are spared. */
static long sweep_pending(void *map, __u64 *key, __u64 *birth, __u64 *now)
{
	__u8 state = 0;

	nt_read(state, (void *)*key, skc_state);
	if (!alive(state) && !young(*now, *birth)) {
		bpf_map_delete_elem(&pending, key);
		stat_inc(NT_STAT_STALE);
	}
	return 0;
}

static __always_inline void pending_sweep(__u64 now)
{
	bpf_for_each_map_elem(&pending, sweep_pending, &now, 0);
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

/* Run by the guesser (BPF_PROG_TEST_RUN): copies kernel memory at peek_addr into peek_buf. */
SEC("raw_tp")
int peek(void *ctx)
{
	return bpf_probe_read_kernel(peek_buf, sizeof(peek_buf), (void *)peek_addr);
}

#else /* CO-RE object: what stands in for the part above. */

#define NT_READY 1

static __always_inline void note_guesser(void *sk, int newstate)
{
}

static __always_inline void pending_add(void *sk)
{
}

static __always_inline void pending_forget(__u64 *key)
{
}

static __always_inline void accepting_forget(void)
{
}

static __always_inline void pending_sweep(__u64 now)
{
}

/* The socket of fd in the current task, through its fd table. */
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
#endif /* NT_OFFSETS */

/* ---- Handlers: one per logical event, whatever hook reported it. ---- */

static __always_inline void on_established(void *ctx, void *sk, __u8 direction)
{
	struct nt_event ev = {};
	struct nt_conn *c;
	__u64 now = bpf_ktime_get_ns();

	read_tuple(sk, &ev.tuple, &ev.netns);
	ev.direction = direction;
	c = conn_current((__u64)sk, conn_get((__u64)sk), &ev.tuple);
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
	bool report = false, in_cgroup = false;

	if (c && oldstate == NT_TCP_SYN_SENT) {
		on_connect_failed(ctx, sk, c);
		goto forget;
	}
	if (!was_established(oldstate))
		goto forget;
	read_tuple(sk, &ev.tuple, &ev.netns);
	/* Closing from an established state, with an entry that never saw it established (or an
	 * earlier connection's, on the same memory): the kernel ran no hook for that change (BUGS
	 * in nettracer(8)). Its connect or accept record is missing; the close is written, and
	 * the miss counted. */
	c = conn_current(key, c, &ev.tuple);
	if (c && !(c->flags & NT_CONN_ESTABLISHED))
		stat_inc(NT_STAT_UNSEEN);
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
		in_cgroup = c->flags & NT_CONN_CGROUP;
	}
	/* An abort (SO_LINGER of 0, close() with unread data, tcp_disconnect()) moves the socket
	 * from ESTABLISHED or CLOSE_WAIT straight to CLOSE and sends the reset right after, once
	 * the entry is gone. Every other way into CLOSE from there comes with an error set first
	 * (a reset received, a timeout, an ICMP error). */
	if (!ev.reset && !ev.error && (oldstate == NT_TCP_ESTABLISHED || oldstate == NT_TCP_CLOSE_WAIT))
		ev.reset = NT_RESET_SENT;
	report = true;
forget:
	/* The entry goes before its close is written. A dump drains the ring, then reads the
	 * map: had the entry outlived the sample, a dump that read this close could still find
	 * the entry and report the connection once more, a total after its close under -i. */
	if (c)
		bpf_map_delete_elem(&conns, &key);
	pending_forget(&key);
	if (report)
		emit(ctx, sk, &ev, NT_EVENT_CLOSE, in_cgroup);
}

/* The changes that a record needs. The six others of a connection's ten return before any
 * field is read; they still pass through the nest stack, so that a run the kernel skips is
 * counted the same whatever the change (tp_set_state_nested). */
static __always_inline bool needs_work(int newstate)
{
	return newstate == NT_TCP_SYN_SENT || newstate == NT_TCP_SYN_RECV ||
	       newstate == NT_TCP_ESTABLISHED || newstate == NT_TCP_CLOSE;
}

/* One handler for every hook that reports a TCP state change. */
static __always_inline int handle_state(void *ctx, void *sk, int oldstate, int newstate)
{
	struct nt_conn *c;

	if (!needs_work(newstate))
		return 0;
	if (!NT_READY) {
		note_guesser(sk, newstate);
		return 0;
	}
	if (!is_tcp_inet(sk))
		return 0;
	switch (newstate) {
	case NT_TCP_SYN_SENT:
		/* Process context of connect(): the only moment its caller is known. */
		c = conn_born((__u64)sk);
		if (c) {
			if (set_owner(&c->owner))
				c->flags |= NT_CONN_CGROUP;
			c->direction = NT_DIR_OUTBOUND;
		}
		break;
	case NT_TCP_SYN_RECV: {
		/* A new child (a listener's clone; a simultaneous open comes from SYN_SENT). */
		if (oldstate == NT_TCP_SYN_SENT)
			break;
		conn_born((__u64)sk);
		pending_add(sk);
		break;
	}
	case NT_TCP_ESTABLISHED:
		if (oldstate == NT_TCP_SYN_SENT)
			on_established(ctx, sk, NT_DIR_OUTBOUND);
		else if (oldstate == NT_TCP_SYN_RECV)
			on_established(ctx, sk, NT_DIR_INBOUND);
		break;
	case NT_TCP_CLOSE:
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
	{
		__u64 key = (__u64)sk;

		pending_forget(&key);
	}
	read_tuple(sk, &ev.tuple, &ev.netns);
	in_cgroup = set_owner(&ev.owner);
	ev.direction = NT_DIR_INBOUND;
	c = conn_current((__u64)sk, conn_get((__u64)sk), &ev.tuple);
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

static __always_inline int exit_accept(void *ctx, long ret)
{
	if (ret < 0) {
		accepting_forget();
		return 0;
	}
	return handle_accept(ctx, sock_of_fd(ret));
}

/* A reset, sent or received: they come rarely, and say how a connection ended. */
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

/* ---- State changes, every strategy: two programs on one raw tracepoint. ---- */

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tp_set_state, void *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	struct nt_nest *st = bpf_map_lookup_elem(&nest, &zero);

	/* Interrupting the second program, whose run for this change the kernel skips (or, on
	 * kernels that let it nest, which returns at once): nothing to note for it. */
	if (!st || st->nesting)
		return handle_state(ctx, sk, oldstate, newstate);
	st->depth++;
	nest_push(st, nest_frame(ctx), (__u64)sk, nest_states(oldstate, newstate));
	handle_state(ctx, sk, oldstate, newstate);
	st->depth--;
	return 0;
}

/* The twin of tp_set_state, attached after it to the same tracepoint: it handles the changes the
 * kernel skipped tp_set_state for (a softirq interrupting it). The cases, and why a stack:
 * doc/design.md, "The nest stack"; the stack itself: bpf/nest.h. */
SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tp_set_state_nested, void *sk, int oldstate, int newstate)
{
	__u32 states = nest_states(oldstate, newstate);
	__u32 zero = 0;
	struct nt_nest *st = bpf_map_lookup_elem(&nest, &zero);

	if (!st || !nest_twin_enter(st))
		return 0;
	if (!nest_pop(st, nest_frame(ctx), (__u64)sk, states)) { /* else tp_set_state had it */
		stat_inc(NT_STAT_NESTED);
		handle_state(ctx, sk, oldstate, newstate);
	}
	nest_twin_leave(st);
	return 0;
}

/* ---- accept() in the "tracepoint" strategy: the syscall's exit. ---- */

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

/* ---- Resets, every strategy. ---- */

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

/* ---- Hooks of the "kprobe" and "fentry" strategies (kernels that have them). ---- */

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(kr_inet_csk_accept, void *sk)
{
	return handle_accept(ctx, sk);
}

#ifndef NT_OFFSETS /* fexit needs BTF: the offset-guessing object is for kernels without it */
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

/* ---- Run by user space (BPF_PROG_TEST_RUN). ---- */

static long refresh_one(void *map, __u64 *key, struct nt_conn *c, __u64 *now)
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
	if ((!alive(state) && !young(*now, c->birth_ns)) ||
	    conn_reused(c, bpf_ntohs(sport), bpf_ntohs(dport))) {
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

/* Run by user space (BPF_PROG_TEST_RUN) right before it reads the conns map. */
SEC("raw_tp")
int refresh(void *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_for_each_map_elem(&conns, refresh_one, &now, 0);
	pending_sweep(now);
	return 0;
}

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
