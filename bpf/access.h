/* One way for the probes to read a kernel field: a CO-RE read, or a read at a supplied offset. */
#ifndef NT_ACCESS_H
#define NT_ACCESS_H

/*
 * nt_read(dst, ptr, FIELD) copies the kernel field FIELD of the object at ptr into dst.
 * Every field the probes read is listed once here, by the path CO-RE relocates. The offset
 * build (NT_OFFSETS, issue "kernel independence") reads at a per-field offset that user space
 * finds and stores before loading; the list of names is then the list of offsets to find.
 */
#define NT_FIELD_skc_daddr(p)	      (((struct sock_common *)(p))->skc_daddr)
#define NT_FIELD_skc_rcv_saddr(p)     (((struct sock_common *)(p))->skc_rcv_saddr)
#define NT_FIELD_skc_dport(p)	      (((struct sock_common *)(p))->skc_dport)
#define NT_FIELD_skc_family(p)	      (((struct sock_common *)(p))->skc_family)
#define NT_FIELD_skc_state(p)	      (((struct sock_common *)(p))->skc_state)
#define NT_FIELD_skc_net(p)	      (((struct sock_common *)(p))->skc_net.net)
#define NT_FIELD_skc_v6_daddr(p)      (((struct sock_common *)(p))->skc_v6_daddr)
#define NT_FIELD_skc_v6_rcv_saddr(p)  (((struct sock_common *)(p))->skc_v6_rcv_saddr)
#define NT_FIELD_net_inum(p)	      (((struct net *)(p))->ns.inum)
#define NT_FIELD_sk_protocol(p)	      (((struct sock *)(p))->sk_protocol)
#define NT_FIELD_skc_flags(p)	      (((struct sock_common *)(p))->skc_flags)
#define NT_FIELD_inet_sport(p)	      (((struct inet_sock *)(p))->inet_sport)
#define NT_FIELD_sk_socket(p)	      (((struct sock *)(p))->sk_socket)
#define NT_FIELD_sk_err(p)	      (((struct sock *)(p))->sk_err)
#define NT_FIELD_tp_bytes_received(p) (((struct tcp_sock *)(p))->bytes_received)
#define NT_FIELD_tp_bytes_acked(p)    (((struct tcp_sock *)(p))->bytes_acked)
#define NT_FIELD_tp_segs_in(p)	      (((struct tcp_sock *)(p))->segs_in)
#define NT_FIELD_tp_segs_out(p)	      (((struct tcp_sock *)(p))->segs_out)
#define NT_FIELD_tp_total_retrans(p)  (((struct tcp_sock *)(p))->total_retrans)
#define NT_FIELD_tp_srtt_us(p)	      (((struct tcp_sock *)(p))->srtt_us)
#define NT_FIELD_tp_mdev_us(p)	      (((struct tcp_sock *)(p))->mdev_us)
#define NT_FIELD_tp_snd_una(p)	      (((struct tcp_sock *)(p))->snd_una)
#define NT_FIELD_tp_write_seq(p)      (((struct tcp_sock *)(p))->write_seq)
#define NT_FIELD_task_files(p)	      (((struct task_struct *)(p))->files)
#define NT_FIELD_files_fdt(p)	      (((struct files_struct *)(p))->fdt)
#define NT_FIELD_fdt_fd(p)	      (((struct fdtable *)(p))->fd)
#define NT_FIELD_fdt_max_fds(p)	      (((struct fdtable *)(p))->max_fds)
#define NT_FIELD_file_private_data(p) (((struct file *)(p))->private_data)
#define NT_FIELD_socket_sk(p)	      (((struct socket *)(p))->sk)

#ifdef NT_OFFSETS
/* Set by user space once guessing has found every offset (bss: written after load). */
volatile struct nt_offsets nt_offsets;
#define nt_read(dst, ptr, FIELD)                                                                   \
	bpf_probe_read_kernel(&(dst), sizeof(dst), (const char *)(ptr) + nt_offsets.FIELD)
#else
#define nt_read(dst, ptr, FIELD) bpf_core_read(&(dst), sizeof(dst), &NT_FIELD_##FIELD(ptr))
#endif

#endif /* NT_ACCESS_H */
