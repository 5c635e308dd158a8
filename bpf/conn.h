/* Connection helpers of the probes: the tracked entry, socket reads, filters, output. */
#ifndef NT_CONN_H
#define NT_CONN_H

/*
 * Included by nettracer.bpf.c after its maps and its rodata, which these functions use by name:
 * conns, events, stats, cgroup_filter and filter. A connection is named by the kernel address of
 * its socket together with its entry's birth time (doc/design.md, "Connection identity").
 */

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
	/* What tells whether a FIN was acknowledged or received first, the byte counts after: the
	 * kernel's code adds to bytes_acked before it moves snd_una, and to bytes_received before
	 * it sets SOCK_DONE, so a dump on another CPU rarely sees the FIN in the one and not in
	 * the other. Nothing orders the stores, though: metrics.c (hold_total) takes the rest. */
	nt_read(c->snd_una, sk, tp_snd_una);
	nt_read(c->write_seq, sk, tp_write_seq);
	nt_read(c->state, sk, skc_state);
	nt_read(c->sk_flags, sk, skc_flags);
	nt_read(c->bytes_acked, sk, tp_bytes_acked);
	nt_read(c->bytes_received, sk, tp_bytes_received);
	nt_read(c->segs_out, sk, tp_segs_out);
	nt_read(c->segs_in, sk, tp_segs_in);
	nt_read(c->total_retrans, sk, tp_total_retrans);
	nt_read(c->srtt_us, sk, tp_srtt_us);
	nt_read(c->mdev_us, sk, tp_mdev_us);
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

/* The tracked state of sk, created (empty, born now) when absent. NULL when the map is full:
 * counted by conn_born only, once per connection, not at each later hook that tries again. */
static __always_inline struct nt_conn *conn_get(__u64 key)
{
	struct nt_conn *c = bpf_map_lookup_elem(&conns, &key), *t;
	__u32 zero = 0;

	if (c)
		return c;
	t = bpf_map_lookup_elem(&conn_template, &zero);
	if (!t)
		return NULL;
	t->birth_ns = bpf_ktime_get_ns();
	/* EEXIST: another CPU made it meanwhile, and the lookup finds it; a full map: NULL. */
	bpf_map_update_elem(&conns, &key, t, BPF_NOEXIST);
	return bpf_map_lookup_elem(&conns, &key);
}

/* A connection is born on sk (connect(), or a new child): whatever the entry held belongs to an
 * earlier connection whose close was missed, and is counted as stale. */
static __always_inline struct nt_conn *conn_born(__u64 key)
{
	struct nt_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c) {
		stat_inc(NT_STAT_STALE);
		/* The birth first, and the flags: the sweep may read the entry meanwhile, and must
		 * see a new connection, not the old one on a socket that now differs. */
		c->flags = 0;
		c->birth_ns = bpf_ktime_get_ns();
		asm volatile("" ::: "memory");
		__builtin_memset(c, 0, offsetof(struct nt_conn, birth_ns));
		__builtin_memset(&c->established_ns, 0,
				 sizeof(*c) - offsetof(struct nt_conn, established_ns));
		return c;
	}
	c = conn_get(key);
	if (!c)
		stat_inc(NT_STAT_MAP_FULL);
	return c;
}

/* Whether an established entry names other ports than sk's, whose are sport and dport (host
 * order): the kernel reused the memory of a socket whose close no hook saw (TCP sockets are
 * SLAB_TYPESAFE_BY_RCU), and the entry is that earlier connection's. */
static __always_inline bool conn_reused(const struct nt_conn *c, __u16 sport, __u16 dport)
{
	return (c->flags & NT_CONN_ESTABLISHED) && (c->tuple.sport != sport || c->tuple.dport != dport);
}

/* c, sk's entry, unless it is an earlier connection's (conn_reused): then the entry starts
 * again as at a birth, counted as stale, and the hook that found it sees a connection whose
 * birth no hook saw. t: sk's tuple, as read_tuple gives it. */
static __always_inline struct nt_conn *conn_current(__u64 key, struct nt_conn *c,
						    const struct nt_tuple *t)
{
	return c && conn_reused(c, t->sport, t->dport) ? conn_born(key) : c;
}

/* Whether oldstate, left for TCP_CLOSE by a socket without an entry, was past the handshake. */
static __always_inline bool was_established(int oldstate)
{
	return oldstate != NT_TCP_SYN_SENT && oldstate != NT_TCP_SYN_RECV &&
	       oldstate != NT_TCP_LISTEN && oldstate != NT_TCP_CLOSE;
}

/* How long a new entry is safe from the sweep: its first hook runs before the kernel stores
 * the new state, so for a moment the socket of a connect() still reads TCP_CLOSE, and a new
 * child the listener's TCP_LISTEN. */
#define NT_SWEEP_GRACE_NS 1000000000ULL

/* Whether an entry born at birth_ns is too young for a sweep that started at now. Signed: an
 * entry made while the sweep runs is born after now. */
static __always_inline bool young(__u64 now, __u64 birth_ns)
{
	return (__s64)(now - birth_ns) <= (__s64)NT_SWEEP_GRACE_NS;
}

/* Whether sk still is a live socket in a state that a tracked entry can have. */
static __always_inline bool alive(__u8 state)
{
	return state >= NT_TCP_ESTABLISHED && state <= NT_TCP_CLOSING && state != NT_TCP_CLOSE &&
	       state != NT_TCP_TIME_WAIT && state != NT_TCP_LISTEN;
}

#endif /* NT_CONN_H */
