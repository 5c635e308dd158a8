/* Prints the offset of every field that offset guessing finds, as the kernel's BTF gives it
 * (libbpf's BTF API), in the form `nettracer -v --offsets=guess` prints: name=offset ... */
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* Byte offset of member name in type id, looking into anonymous members; -1 when absent. */
static long member_offset(const struct btf *btf, __u32 id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, btf__resolve_type(btf, id));
	const struct btf_member *m = btf_members(t);
	unsigned int i;
	long inner;

	for (i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);
		__u32 off = btf_member_bit_offset(t, i) / 8;

		if (n && strcmp(n, name) == 0)
			return off;
		if ((!n || !*n) && (inner = member_offset(btf, m->type, name)) >= 0)
			return off + inner;
	}
	return -1;
}

static long field(const struct btf *btf, const char *type, const char *name)
{
	__s32 id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);

	return id < 0 ? -1 : member_offset(btf, id, name);
}

int main(void)
{
	static const struct {
		const char *out, *type, *member;
	} f[] = {
		{ "skc_daddr", "sock_common", "skc_daddr" },
		{ "skc_rcv_saddr", "sock_common", "skc_rcv_saddr" },
		{ "skc_dport", "sock_common", "skc_dport" },
		{ "skc_family", "sock_common", "skc_family" },
		{ "skc_state", "sock_common", "skc_state" },
		{ "skc_flags", "sock_common", "skc_flags" },
		{ "skc_net", "sock_common", "skc_net" },
		{ "net_inum", "net", "ns" }, /* + ns_common.inum, below */
		{ "skc_v6_daddr", "sock_common", "skc_v6_daddr" },
		{ "skc_v6_rcv_saddr", "sock_common", "skc_v6_rcv_saddr" },
		{ "sk_protocol", "sock", "sk_protocol" },
		{ "sk_socket", "sock", "sk_socket" },
		{ "sk_err", "sock", "sk_err" },
		{ "inet_sport", "inet_sock", "inet_sport" },
		{ "tp_bytes_received", "tcp_sock", "bytes_received" },
		{ "tp_bytes_acked", "tcp_sock", "bytes_acked" },
		{ "tp_segs_in", "tcp_sock", "segs_in" },
		{ "tp_segs_out", "tcp_sock", "segs_out" },
		{ "tp_total_retrans", "tcp_sock", "total_retrans" },
		{ "tp_srtt_us", "tcp_sock", "srtt_us" },
		{ "tp_mdev_us", "tcp_sock", "mdev_us" },
		{ "tp_snd_una", "tcp_sock", "snd_una" },
		{ "tp_write_seq", "tcp_sock", "write_seq" },
	};
	struct btf *btf = btf__load_vmlinux_btf();
	unsigned int i;
	long off;

	if (!btf) {
		fprintf(stderr, "btf_offsets: no kernel BTF\n");
		return 77;
	}
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		off = field(btf, f[i].type, f[i].member);
		if (strcmp(f[i].out, "net_inum") == 0 && off >= 0)
			off += field(btf, "ns_common", "inum");
		printf("%s%s=%ld", i ? " " : "", f[i].out, off);
	}
	putchar('\n');
	btf__free(btf);
	return 0;
}
