/* Offset guessing's driver: makes the sockets, takes the snapshots, runs the matcher. */
#ifndef NT_GUESS_DRIVER_H
#define NT_GUESS_DRIVER_H

#include <linux/types.h>
#include "../bpf/nettracer.h"

struct tracer;

/* Finds every offset on the running kernel with sockets on loopback. 0 or -errno (-ENOENT:
 * errno is the enum guess_field that no offset fits); *elapsed_ms is the time it took. */
int guess_run(struct tracer *t, struct nt_offsets *offsets, unsigned int *elapsed_ms);

#endif /* NT_GUESS_DRIVER_H */
