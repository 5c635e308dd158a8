/* /proc readers for the start-up snapshot: which process holds which socket. */
#ifndef NT_PROCNET_H
#define NT_PROCNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "../bpf/nettracer.h"

struct owner_entry {
	uint64_t ino;
	struct nt_owner owner;
};

struct owner_table {
	struct owner_entry *v; /* sorted by ino after procnet_owners() */
	size_t n, cap;
};

/* Parses a /proc/PID/fd link target "socket:[INODE]". */
bool procnet_socket_inode(const char *link, uint64_t *ino);
/* Parses the Uid: line of /proc/PID/status text (the real uid). */
bool procnet_status_uid(const char *status, uint32_t *uid);
/* Parses one line of /proc/net/tcp (v6 false) or /proc/net/tcp6 into s: tuple, state and
 * inode; s->sk and s->netns are left 0. false for the header or a malformed line. */
bool procnet_tcp_line(const char *line, bool v6, struct nt_seed *s);
/* Fills t with the lowest pid holding each socket inode under proc_root. 0 or -errno. */
int procnet_owners(const char *proc_root, struct owner_table *t);
const struct nt_owner *procnet_owner(const struct owner_table *t, uint64_t ino);
void procnet_owners_free(struct owner_table *t);

#endif /* NT_PROCNET_H */
