/* The per-CPU nest stack: how tp_set_state_nested finds the changes tp_set_state missed. */
#ifndef NT_NEST_H
#define NT_NEST_H

/*
 * Why two programs on one tracepoint and a stack between them, with a diagram of the cases:
 * doc/design.md, "The nest stack". tp_set_state pushes every change it starts on; its twin, run
 * right after it for the same change, pops that entry, and handles the change itself when it
 * finds none (the kernel skipped tp_set_state for it).
 */
#define NT_NEST_MAX 8

/* Per CPU (the value of the map "nest"), the state changes tp_set_state has started on and
 * tp_set_state_nested has not yet seen: a stack, as changes nest (process context, then
 * softirq). */
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

/* A state change as the nest stack records it, next to the socket. */
static __always_inline __u64 nest_states(int oldstate, int newstate)
{
	return (__u64)oldstate << 32 | (__u32)newstate;
}

/* tp_set_state notes the change it is about to handle. Empty, then claim the slot before
 * filling it: a change that interrupts us meanwhile pushes above it, or compares an empty top,
 * never an old change left in the slot. */
static __always_inline void nest_push(struct nt_nest *st, __u64 sk, int oldstate, int newstate)
{
	__u32 n, i;

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
	st->change[n].sk = sk;
	st->change[n].states = nest_states(oldstate, newstate);
}

/* tp_set_state_nested: true when tp_set_state noted this change (the entry and any above it,
 * left by changes that came while the kernel entered or left a program, are dropped); false
 * when the change is the twin's to handle. While tp_set_state's code is running on this CPU it
 * cannot have run for this change, so only the top entry may be it then: an old entry that
 * happens to name the same socket and transition must not hide a missed change. */
static __always_inline bool nest_pop(struct nt_nest *st, __u64 sk, __u64 states)
{
	__u32 n, i, lowest;

	n = st->n;
	lowest = st->depth ? n : 1; /* the entries that may be this change */
#pragma unroll
	for (i = NT_NEST_MAX; i > 0; i--) {
		if (i <= n && i >= lowest && st->change[i - 1].sk == sk &&
		    st->change[i - 1].states == states) {
			st->change[i - 1].sk = 0;
			st->n = i - 1;
			return true;
		}
	}
	return false;
}

#endif /* NT_NEST_H */
