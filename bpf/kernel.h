/* The few kernel types the probes read, declared for CO-RE relocation (no vmlinux.h needed). */
#ifndef NT_KERNEL_H
#define NT_KERNEL_H

/*
 * Only the fields that bpf/access.h names are declared. preserve_access_index makes clang
 * record every access as a CO-RE relocation, so libbpf fixes each offset against the running
 * kernel's BTF at load time; the layouts below need not match any kernel.
 */
#define __nt_core __attribute__((preserve_access_index))

/* Constants of the user-space ABI (linux/socket.h, linux/in.h): the same on every kernel. */
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

struct ns_common {
	unsigned int inum;
} __nt_core;

struct net {
	struct ns_common ns;
} __nt_core;

typedef struct {
	struct net *net;
} possible_net_t;

struct in6_addr {
	__u8 s6_addr[16];
} __nt_core;

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	unsigned long skc_flags;
	possible_net_t skc_net;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __nt_core;

struct socket;

struct sock {
	struct sock_common __sk_common;
	struct socket *sk_socket;
	__u16 sk_protocol;
	int sk_err;
} __nt_core;

struct inet_sock {
	__be16 inet_sport;
} __nt_core;

struct tcp_sock {
	__u64 bytes_received;
	__u64 bytes_acked;
	__u32 segs_in;
	__u32 segs_out;
	__u32 total_retrans;
	__u32 srtt_us;
	__u32 mdev_us;
	__u32 snd_una;
	__u32 write_seq;
} __nt_core;

struct file {
	void *private_data;
} __nt_core;

struct socket {
	struct sock *sk;
} __nt_core;

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} __nt_core;

struct files_struct {
	struct fdtable *fdt;
} __nt_core;

struct task_struct {
	struct files_struct *files;
} __nt_core;

/* Syscall tracepoint context: a stable layout (see the tracefs "format" file), not relocated. */
struct nt_sys_enter_ctx {
	__u64 common;
	long id;
	__u64 args[6];
};

struct nt_sys_exit_ctx {
	__u64 common;
	long id;
	long ret;
};

#endif /* NT_KERNEL_H */
