/* Offset guessing's driver: sockets with known parameters on loopback (never a packet off the
 * host), in a network namespace of its own too, their memory peeked through the tracer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* the tcp_info that has the counters; glibc's is older */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "guess.h"
#include "guess_driver.h"
#include "tracer.h"

#define TCP_REPAIR_OFF_NO_WP -1
#define TCP_SEND_QUEUE_ID 2 /* TCP_SEND_QUEUE */

/* Snapshots 0-6 of four connections; 7-9 of the fifth, for sk_err (snap_error). */
#define NSNAPS 10
#define NCONNS 5

struct conn {
	int c, s, l; /* client, server, listener */
	uint64_t sk; /* the client's struct sock, seen by the probe at SYN_SENT */
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} local, remote;
	int family;
};

struct driver {
	struct tracer *t;
	int home_ns, other_ns; /* network namespaces: ours, and one made for guessing */
	uint8_t mem[NSNAPS][NT_PEEK_SIZE];
	struct guess_snap snaps[NSNAPS];
	uint32_t home_inum, other_inum;
	unsigned int seed;
};

static int deref(void *ctx, uint64_t addr, uint8_t *buf)
{
	return tracer__peek(ctx, addr, buf);
}

static void close_conn(struct conn *c)
{
	if (c->c > 0)
		close(c->c);
	if (c->s > 0)
		close(c->s);
	if (c->l > 0)
		close(c->l);
	c->c = c->s = c->l = -1;
}

static socklen_t addr_len(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* A loopback address of its own for each socket: 127.x.y.z, or its v4-mapped IPv6 form. */
static void pick_addr(struct driver *d, int family, bool mapped, void *sa)
{
	uint32_t v4 = htonl(0x7f000000 | ((rand_r(&d->seed) & 0xffff) << 8) | (1 + rand_r(&d->seed) % 250));

	if (family == AF_INET) {
		struct sockaddr_in *in = sa;

		*in = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = v4 };
	} else {
		struct sockaddr_in6 *in6 = sa;

		*in6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_addr = in6addr_loopback };
		if (mapped) {
			memset(&in6->sin6_addr, 0, 10);
			memset(in6->sin6_addr.s6_addr + 10, 0xff, 2);
			memcpy(in6->sin6_addr.s6_addr + 12, &v4, 4);
		}
	}
}

/* A connected pair; in the guessing namespace when other_ns, else in ours. */
static int connect_pair(struct driver *d, struct conn *c, int family, bool mapped, int rcvbuf,
			bool other_ns)
{
	socklen_t len = addr_len(family);
	int zero = 0, err;

	*c = (struct conn){ .c = -1, .s = -1, .l = -1, .family = family };
	pick_addr(d, family, mapped, &c->remote);
	pick_addr(d, family, mapped, &c->local);
	/* A socket stays in the namespace it was made in. */
	if (other_ns && setns(d->other_ns, CLONE_NEWNET))
		return -errno;
	c->l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c->c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (other_ns && setns(d->home_ns, CLONE_NEWNET))
		return -errno;
	if (c->l < 0 || c->c < 0)
		return -errno;
	if (family == AF_INET6)
		setsockopt(c->l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (rcvbuf)
		setsockopt(c->l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(c->l, (void *)&c->remote, len) || listen(c->l, 1) ||
	    getsockname(c->l, (void *)&c->remote, &len) || bind(c->c, (void *)&c->local, len))
		return -errno;
	err = tracer__guess_begin(d->t, getpid());
	if (err)
		return err;
	if (connect(c->c, (void *)&c->remote, len) || getsockname(c->c, (void *)&c->local, &len))
		return -errno;
	/* connect() moved the socket to SYN_SENT in this very process: the probe has it now. */
	c->sk = tracer__guess_sk(d->t);
	c->s = accept4(c->l, NULL, NULL, SOCK_CLOEXEC);
	if (c->s < 0)
		return -errno;
	return c->sk ? 0 : -EIO;
}

static int send_all(int fd, size_t n)
{
	static const char buf[4096];
	ssize_t w;

	while (n) {
		w = send(fd, buf, n < sizeof(buf) ? n : sizeof(buf), 0);
		if (w < 0)
			return -errno;
		n -= w;
	}
	return 0;
}

static int recv_all(int fd, size_t n)
{
	char buf[4096];
	ssize_t r;

	while (n) {
		r = recv(fd, buf, n < sizeof(buf) ? n : sizeof(buf), 0);
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		n -= r;
	}
	return 0;
}

static int exchange(struct conn *c, size_t up, size_t down)
{
	int err = send_all(c->c, up);

	err = err ?: recv_all(c->s, up);
	err = err ?: send_all(c->s, down);
	return err ?: recv_all(c->c, down);
}

/* The sequence number of the next byte the application writes (TCP_REPAIR, CAP_NET_ADMIN). */
static int write_seq(int fd, uint32_t *seq)
{
	int on = 1, off = TCP_REPAIR_OFF_NO_WP, q = TCP_SEND_QUEUE_ID;
	socklen_t len = sizeof(*seq);
	int err = 0;

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)))
		return -errno;
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
	    getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &len))
		err = -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
	return err;
}

static int info(int fd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len) ? -errno : 0;
}

static bool same_counters(const struct tcp_info *a, const struct tcp_info *b)
{
	return a->tcpi_state == b->tcpi_state && a->tcpi_segs_in == b->tcpi_segs_in &&
	       a->tcpi_segs_out == b->tcpi_segs_out && a->tcpi_rtt == b->tcpi_rtt &&
	       a->tcpi_rttvar == b->tcpi_rttvar && a->tcpi_bytes_acked == b->tcpi_bytes_acked &&
	       a->tcpi_bytes_received == b->tcpi_bytes_received &&
	       a->tcpi_total_retrans == b->tcpi_total_retrans;
}

/* Memory of c's socket taken while tcp_info did not move, and that tcp_info. */
static int snapshot(struct driver *d, const struct conn *c, int i, struct tcp_info *ti, bool quiet)
{
	struct tcp_info before;
	int tries, err;

	for (tries = 0; tries < 200; tries++) {
		err = info(c->c, &before);
		err = err ?: tracer__peek(d->t, c->sk, d->mem[i]);
		err = err ?: info(c->c, ti);
		if (err)
			return err;
		if (same_counters(&before, ti) && (!quiet || !ti->tcpi_unacked))
			break;
		usleep(2000);
	}
	d->snaps[i].mem = d->mem[i];
	d->snaps[i].sk = c->sk;
	return 0;
}

static void want(struct guess_snap *s, unsigned int f, const void *v, size_t n)
{
	memcpy(s->want[f], v, n);
	s->known |= 1ULL << f;
}

static void want_u64(struct guess_snap *s, unsigned int f, uint64_t v)
{
	want(s, f, &v, sizeof(v));
}

/* Everything a snapshot of an established client socket tells. */
static void want_conn(struct guess_snap *s, const struct conn *c, const struct tcp_info *ti,
		      uint32_t inum)
{
	if (c->family == AF_INET) {
		want(s, GUESS_skc_daddr, &c->remote.v4.sin_addr, 4);
		want(s, GUESS_skc_rcv_saddr, &c->local.v4.sin_addr, 4);
		want(s, GUESS_skc_dport, &c->remote.v4.sin_port, 2);
		want(s, GUESS_inet_sport, &c->local.v4.sin_port, 2);
	} else {
		want(s, GUESS_skc_v6_daddr, &c->remote.v6.sin6_addr, 16);
		want(s, GUESS_skc_v6_rcv_saddr, &c->local.v6.sin6_addr, 16);
		want(s, GUESS_skc_dport, &c->remote.v6.sin6_port, 2);
		want(s, GUESS_inet_sport, &c->local.v6.sin6_port, 2);
	}
	want_u64(s, GUESS_skc_family, c->family);
	want_u64(s, GUESS_skc_state, ti->tcpi_state);
	want_u64(s, GUESS_skc_net, inum);
	s->known |= 1ULL << GUESS_sk_protocol | 1ULL << GUESS_sk_socket;
	want_u64(s, GUESS_sk_err, 0); /* no error was ever set on it */
	want_u64(s, GUESS_tp_bytes_received, ti->tcpi_bytes_received);
	want_u64(s, GUESS_tp_bytes_acked, ti->tcpi_bytes_acked);
	want_u64(s, GUESS_tp_segs_in, ti->tcpi_segs_in);
	want_u64(s, GUESS_tp_segs_out, ti->tcpi_segs_out);
	want_u64(s, GUESS_tp_total_retrans, ti->tcpi_total_retrans);
	want_u64(s, GUESS_tp_srtt_us, ti->tcpi_rtt);
	want_u64(s, GUESS_tp_mdev_us, ti->tcpi_rttvar);
}

/* A connection that moved a random amount of data each way (at least up and down bytes) and is
 * quiet now, with its send sequence number: its client socket's memory is snapshot i. */
static int quiet_snapshot(struct driver *d, struct conn *c, int family, bool mapped,
			  bool other_ns, size_t up, size_t down, unsigned int down_spread, int i,
			  struct tcp_info *ti, uint32_t *seq)
{
	int err = connect_pair(d, c, family, mapped, 0, other_ns);

	err = err ?: exchange(c, up + rand_r(&d->seed) % 1000, down + rand_r(&d->seed) % down_spread);
	err = err ?: write_seq(c->c, seq);
	return err ?: snapshot(d, c, i, ti, true);
}

/* An IPv4 connection, quiet, then the same socket after the peer's FIN. */
static int snap_v4(struct driver *d, struct conn *c)
{
	struct guess_snap *a = &d->snaps[0], *b = &d->snaps[1];
	struct tcp_info ti;
	uint32_t seq;
	int err, i;

	err = quiet_snapshot(d, c, AF_INET, false, false, 1000, 2000, 1000, 0, &ti, &seq);
	if (err)
		return err;
	want_conn(a, c, &ti, d->home_inum);
	want_u64(a, GUESS_skc_flags, 0);
	want_u64(a, GUESS_tp_snd_una, seq);
	want_u64(a, GUESS_tp_write_seq, seq);
	shutdown(c->s, SHUT_WR);
	for (i = 0; i < 500 && !info(c->c, &ti) && ti.tcpi_state != NT_TCP_CLOSE_WAIT; i++)
		usleep(1000);
	err = snapshot(d, c, 1, &ti, true);
	if (err)
		return err;
	want_conn(b, c, &ti, d->home_inum);
	want_u64(b, GUESS_skc_flags, 1);
	b->mem_before = a->mem;
	want_u64(b, GUESS_tp_snd_una, seq);
	want_u64(b, GUESS_tp_write_seq, seq);
	return 0;
}

static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* A namespace of our own, with lo up and without TCP timestamps: without them an ACK of
 * retransmitted data gives no RTT sample (Karn), so rtt_seq falls behind snd_una there. */
static int make_other_ns(struct driver *d)
{
	struct stat st;
	int fd, err;

	d->home_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (d->home_ns < 0)
		return -errno;
	if (unshare(CLONE_NEWNET))
		return -errno;
	err = loopback_up();
	fd = open("/proc/sys/net/ipv4/tcp_timestamps", O_WRONLY | O_CLOEXEC);
	if (!err && (fd < 0 || write(fd, "0", 1) != 1))
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (!err && stat("/proc/thread-self/ns/net", &st))
		err = -errno;
	d->other_inum = st.st_ino;
	d->other_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (!err && d->other_ns < 0)
		err = -errno;
	if (setns(d->home_ns, CLONE_NEWNET) && !err)
		err = -errno;
	return err;
}

/* A v4-mapped IPv6 connection in the other namespace: every value differs from the first. */
static int snap_mapped(struct driver *d, struct conn *c)
{
	struct guess_snap *s = &d->snaps[2];
	struct tcp_info ti;
	uint32_t seq;
	int err;

	err = quiet_snapshot(d, c, AF_INET6, true, true, 3000, 500, 400, 2, &ti, &seq);
	if (err)
		return err;
	want_conn(s, c, &ti, d->other_inum);
	want(s, GUESS_skc_daddr, c->remote.v6.sin6_addr.s6_addr + 12, 4);
	want(s, GUESS_skc_rcv_saddr, c->local.v6.sin6_addr.s6_addr + 12, 4);
	want_u64(s, GUESS_skc_flags, 0);
	want_u64(s, GUESS_tp_snd_una, seq);
	want_u64(s, GUESS_tp_write_seq, seq);
	return 0;
}

/* Data that TCP counts as sent but the peer never got (TCP_REPAIR): snd_una stays behind
 * write_seq until the retransmission timer fires, which gives total_retrans a known value.
 * Two rounds, so that flags that only say "retransmitted lately" stay at 1 and drop out. */
static int snap_in_flight(struct driver *d, struct conn *c)
{
	int on = 1, off = 0, q = TCP_SEND_QUEUE_ID, round, i, err;
	struct guess_snap *s;
	struct tcp_info ti;
	uint32_t seq;

	err = connect_pair(d, c, AF_INET, false, 0, true);
	err = err ?: exchange(c, 700, 300);
	for (round = 0; round < 2 && !err; round++) {
		err = write_seq(c->c, &seq);
		if (err)
			return err;
		if (setsockopt(c->c, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) ||
		    setsockopt(c->c, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) ||
		    send_all(c->c, 100) ||
		    setsockopt(c->c, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)))
			return -errno;
		if (round == 0) {
			s = &d->snaps[3];
			err = snapshot(d, c, 3, &ti, false);
			if (err)
				return err;
			want_conn(s, c, &ti, d->other_inum);
			want_u64(s, GUESS_tp_snd_una, seq);
			want_u64(s, GUESS_tp_write_seq, seq + 100);
		}
		for (i = 0; i < 3000 && !info(c->c, &ti) &&
			    (ti.tcpi_total_retrans < (unsigned int)round + 1 || ti.tcpi_unacked);
		     i++)
			usleep(1000);
		s = &d->snaps[4 + round];
		err = snapshot(d, c, 4 + round, &ti, true);
		if (err)
			return err;
		if (ti.tcpi_total_retrans != (unsigned int)round + 1)
			return -ETIMEDOUT;
		want_conn(s, c, &ti, d->other_inum);
		want_u64(s, GUESS_tp_snd_una, seq + 100);
		want_u64(s, GUESS_tp_write_seq, seq + 100);
	}
	return err;
}

/* A closed receive window: write_seq runs ahead of everything that was sent. */
static int snap_zero_window(struct driver *d, struct conn *c)
{
	struct guess_snap *s = &d->snaps[6];
	int small = 2048, sent = 0, err;
	struct tcp_info ti, ti0;
	uint32_t seq, seq0;

	err = connect_pair(d, c, AF_INET6, false, small, false);
	err = err ?: write_seq(c->c, &seq0);
	err = err ?: info(c->c, &ti0);
	if (err)
		return err;
	setsockopt(c->c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	/* MSG_MORE keeps pushed_seq behind write_seq as well. */
	while (sent < (1 << 20) && send(c->c, (char[1024]){ 0 }, 1024, MSG_MORE | MSG_DONTWAIT) > 0)
		sent += 1024;
	usleep(20000);
	err = write_seq(c->c, &seq);
	err = err ?: snapshot(d, c, 6, &ti, false);
	if (err)
		return err;
	want_conn(s, c, &ti, d->home_inum);
	want_u64(s, GUESS_skc_flags, 0);
	want_u64(s, GUESS_tp_write_seq, seq);
	/* Everything was acknowledged before the flood: snd_una moved by what was acked since,
	 * while the sequence number of the last RTT sample (rtt_seq) did not follow it. */
	want_u64(s, GUESS_tp_snd_una, seq0 + (ti.tcpi_bytes_acked - ti0.tcpi_bytes_acked));

	return 0;
}

/* The Internet checksum of n bytes, in network byte order. */
static uint16_t inet_csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum);
}

/* An ICMP error about the segment at seq that c's IPv4 client sent, as a router would send it
 * back: to the client's address, quoting the segment's IP header and the first 8 bytes of TCP
 * (ports and sequence number, which is all that tcp_v4_err reads). */
static int send_icmp_error(int raw, const struct conn *c, uint8_t type, uint8_t code, uint32_t seq)
{
	struct {
		struct icmphdr icmp;
		struct iphdr ip;
		uint16_t sport, dport;
		uint32_t seq;
	} m = {
		.icmp = { .type = type, .code = code },
		.ip = { .version = 4,
			.ihl = 5,
			.tot_len = htons(40),
			.ttl = 64,
			.protocol = IPPROTO_TCP,
			.saddr = c->local.v4.sin_addr.s_addr,
			.daddr = c->remote.v4.sin_addr.s_addr },
		.sport = c->local.v4.sin_port,
		.dport = c->remote.v4.sin_port,
		.seq = htonl(seq),
	};
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = c->local.v4.sin_addr };

	_Static_assert(sizeof(m) == 8 + 20 + 8, "ICMP error layout");
	m.ip.check = inet_csum(&m.ip, sizeof(m.ip));
	m.icmp.checksum = inet_csum(&m, sizeof(m));
	if (sendto(raw, &m, sizeof(m), 0, (void *)&to, sizeof(to)) != sizeof(m))
		return -errno;
	return 0;
}

/* The error that the ICMP error set on fd, read (and so cleared) with SO_ERROR once poll()
 * reports it: loopback delivers the ICMP in a softirq that may not have run yet. */
static int take_error(int fd, int *e)
{
	struct pollfd p = { .fd = fd };
	socklen_t len = sizeof(*e);
	int n = poll(&p, 1, 1000);

	if (n < 0)
		return -errno;
	if (n == 0 || !(p.revents & POLLERR))
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, e, &len))
		return -errno;
	return *e > 0 ? 0 : -EIO;
}

/* sk_err: with IP_RECVERR, tcp_v4_err stores an ICMP error about a segment between snd_una and
 * snd_nxt in sk_err of an established socket, which stays established (without it the error goes
 * to sk_err_soft). A new IPv4 connection in the guessing namespace, nothing sent yet, so that
 * snd_una = snd_nxt = write_seq; a raw socket there sends it port unreachable (ECONNREFUSED),
 * then host unreachable (EHOSTUNREACH; with nothing in flight its RFC 6069 revert of the
 * retransmission timer does nothing). Snapshots after each, and between them once SO_ERROR read
 * and cleared the first; what SO_ERROR returned is what sk_err held. */
static int snap_error(struct driver *d, struct conn *c)
{
	static const uint8_t codes[2] = { ICMP_PORT_UNREACH, ICMP_HOST_UNREACH };
	struct tcp_info ti;
	int on = 1, raw = -1, e, i, err;
	uint32_t seq;

	err = connect_pair(d, c, AF_INET, false, 0, true);
	err = err ?: write_seq(c->c, &seq);
	if (err)
		return err;
	if (setsockopt(c->c, IPPROTO_IP, IP_RECVERR, &on, sizeof(on)) ||
	    setns(d->other_ns, CLONE_NEWNET))
		return -errno;
	raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	err = raw < 0 ? -errno : 0;
	if (setns(d->home_ns, CLONE_NEWNET) && !err)
		err = -errno;
	for (i = 0; i < 2 && !err; i++) {
		err = send_icmp_error(raw, c, ICMP_DEST_UNREACH, codes[i], seq);
		err = err ?: snapshot(d, c, 7 + 2 * i, &ti, true);
		err = err ?: take_error(c->c, &e);
		if (err)
			break;
		want_u64(&d->snaps[7 + 2 * i], GUESS_sk_err, e);
		if (i == 0) {
			err = snapshot(d, c, 8, &ti, true);
			want_u64(&d->snaps[8], GUESS_sk_err, 0);
		}
	}
	if (raw >= 0)
		close(raw);
	return err;
}

static unsigned int ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

int guess_run(struct tracer *t, struct nt_offsets *offsets, unsigned int *elapsed_ms)
{
	struct driver *d = calloc(1, sizeof(*d));
	struct conn conns[NCONNS];
	struct guess_state st = {};
	struct timespec t0;
	struct stat home;
	unsigned int i;
	int err;

	if (!d)
		return -ENOMEM;
	for (i = 0; i < NCONNS; i++)
		conns[i] = (struct conn){ .c = -1, .s = -1, .l = -1 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	d->t = t;
	d->seed = t0.tv_nsec ^ getpid();
	d->home_ns = d->other_ns = -1;
	err = stat("/proc/thread-self/ns/net", &home) ? -errno : 0;
	d->home_inum = home.st_ino;
	err = err ?: make_other_ns(d);
	err = err ?: snap_v4(d, &conns[0]);
	err = err ?: snap_mapped(d, &conns[1]);
	err = err ?: snap_error(d, &conns[4]);
	err = err ?: snap_zero_window(d, &conns[3]);
	err = err ?: snap_in_flight(d, &conns[2]);
	while (!err) {
		err = guess_step(&st, d->snaps, NSNAPS, deref, t);
		if (err == GUESS_DONE) {
			*offsets = st.offsets;
			err = 0;
			break;
		}
		if (ms_since(&t0) > 10000)
			err = -ETIMEDOUT;
	}
	for (i = 0; i < NCONNS; i++)
		close_conn(&conns[i]);
	if (d->home_ns >= 0)
		close(d->home_ns);
	if (d->other_ns >= 0)
		close(d->other_ns); /* the namespace goes with its last socket */
	tracer__guess_begin(t, 0);
	*elapsed_ms = ms_since(&t0);
	if (err == -ENOENT || err == -ENOTUNIQ)
		errno = st.field; /* which field: for the caller's message */
	free(d);
	return err;
}
