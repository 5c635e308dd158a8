/* The per-CPU nest stack: how tp_set_state_nested finds the changes tp_set_state missed. */
#ifndef NT_NEST_H
#define NT_NEST_H

/*
 * Why two programs on one tracepoint and a stack between them, with a diagram of the cases:
 * doc/design.md, "The nest stack". tp_set_state pushes every change it starts on; its twin, run
 * right after it for the same change, pops that entry, and handles the change itself when it
 * finds none (the kernel skipped tp_set_state for it).
 */
#define NT_NEST_MAX 16

/* Per CPU (the value of the map "nest"), the state changes tp_set_state has started on and
 * tp_set_state_nested has not yet seen: a stack, as changes nest (process context, then
 * softirq). */
struct nt_nest {
	__u32 n;
	__u32 depth;	 /* runs of tp_set_state whose code is executing on this CPU */
	__u32 nesting;	 /* 1 while tp_set_state_nested's code is executing on this CPU */
	__u32 twin_runs; /* runs of tp_set_state_nested's code on this CPU (it wraps) */
	struct {
		__u64 sk;
		__u64 frame;  /* ctx of the push: the tracepoint call's arguments */
		__u32 states; /* nest_states() */
		__u32 mark;   /* twin_runs at the push */
	} change[NT_NEST_MAX];
};

/* A state change as the nest stack records it, next to the socket. */
static __always_inline __u32 nest_states(int oldstate, int newstate)
{
	return (__u32)oldstate << 16 | (__u16)newstate;
}

/* Field by field: clang copies a whole entry through the stack, past its 512 bytes. */
static __always_inline void nest_move(struct nt_nest *st, __u32 to, __u32 from)
{
	st->change[to].sk = st->change[from].sk;
	st->change[to].frame = st->change[from].frame;
	st->change[to].states = st->change[from].states;
	st->change[to].mark = st->change[from].mark;
}

/* tp_set_state notes the change it is about to handle; frame is its ctx, the tracepoint call's
 * argument array on the kernel stack. Both programs of one change run with the same frame; two
 * contexts that are live at once on a CPU (a process and the softirq that interrupts it) never
 * share one.
 *
 * Entries the twin will never pop (the kernel skipped it: case 3b in doc/design.md) must not
 * pile up and push out one that is still waiting, which the twin would then take again (a
 * duplicate record). A softirq makes a burst of them while the process it interrupted is entering
 * or leaving the twin. TCP changes state in process context and in a softirq that interrupts
 * it, never deeper, and in process context the twin always runs after tp_set_state: so at most
 * one entry is waiting, the process's newest, and every entry pushed after it is a softirq's.
 *  - An entry with this change's frame is done with: its context has already gone on to this
 *    change. It goes, and the entries above it move down (an interrupting twin sees an empty
 *    stack meanwhile, as it must: tp_set_state is running, so the change is the twin's).
 *  - A stack still full drops one entry. The waiting entry, if any, was pushed before the
 *    twin's code last ran (it lies right below the entries marked with the current count) or
 *    after (it is one of them). So the oldest goes, unless it could be that one; then the one
 *    below the top, which in such a long run of marked entries is a softirq's.
 * Then empty the slot, claim it, fill it: a change that interrupts us meanwhile pushes above
 * it, or compares an empty top, never an old change left in the slot. */
static __always_inline void nest_push(struct nt_nest *st, __u64 frame, __u64 sk, __u32 states)
{
	__u32 n = st->n, now = st->twin_runs, i, j = 0, low = NT_NEST_MAX, drop;
	bool done_with = false;

	if (n > NT_NEST_MAX)
		n = NT_NEST_MAX;
#pragma clang loop unroll(disable)
	for (i = 0; i < NT_NEST_MAX; i++)
		if (i < n && st->change[i].frame == frame)
			done_with = true;
	if (done_with) {
		st->n = 0;
		barrier();
#pragma clang loop unroll(disable)
		for (i = 0; i < NT_NEST_MAX; i++) {
			if (i < n && st->change[i].frame != frame) {
				if (j != i && j < NT_NEST_MAX)
					nest_move(st, j, i);
				j++;
			}
		}
		n = j;
	}
	if (n >= NT_NEST_MAX) {
#pragma clang loop unroll(disable)
		for (i = NT_NEST_MAX; i > 0; i--)
			if (low == i && st->change[i - 1].mark == now)
				low = i - 1;
		drop = low >= 2 ? 0 : NT_NEST_MAX - 2;
#pragma clang loop unroll(disable)
		for (i = 1; i < NT_NEST_MAX; i++)
			if (i > drop)
				nest_move(st, i - 1, i);
		n = NT_NEST_MAX - 1;
	}
	st->change[n].sk = 0;
	barrier();
	st->n = n + 1;
	barrier();
	st->change[n].sk = sk;
	st->change[n].frame = frame;
	st->change[n].states = states;
	st->change[n].mark = now;
}

/* tp_set_state_nested's code begins: false when it runs inside its own code on this CPU (a
 * kernel that lets it nest), then it has nothing to do. What a softirq pushes from here on is
 * marked as after this run. */
static __always_inline bool nest_twin_enter(struct nt_nest *st)
{
	if (st->nesting)
		return false;
	st->nesting = 1;
	barrier();
	st->twin_runs++;
	return true;
}

static __always_inline void nest_twin_leave(struct nt_nest *st)
{
	barrier();
	st->nesting = 0;
}

/* tp_set_state_nested: true when tp_set_state noted this change (the entry and any above it,
 * left by changes that came while the kernel entered or left a program, are dropped); false
 * when the change is the twin's to handle. The entry must have this run's frame: an entry left
 * by another context that names the same socket and transition (a socket reused at the same
 * address, the same change) must not hide a change the kernel skipped tp_set_state for. While
 * tp_set_state's code is running on this CPU it cannot have run for this change, so only the top
 * entry may be it then. */
static __always_inline bool nest_pop(struct nt_nest *st, __u64 frame, __u64 sk, __u32 states)
{
	__u32 n, i, lowest;

	n = st->n;
	lowest = st->depth ? n : 1; /* the entries that may be this change */
#pragma unroll
	for (i = NT_NEST_MAX; i > 0; i--) {
		if (i <= n && i >= lowest && st->change[i - 1].sk == sk &&
		    st->change[i - 1].states == states && st->change[i - 1].frame == frame) {
			st->change[i - 1].sk = 0;
			st->n = i - 1;
			return true;
		}
	}
	return false;
}

#endif /* NT_NEST_H */
