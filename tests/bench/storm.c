/* Loopback TCP load generator for the benchmarks: connection storm, message storm, idle hold. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* unshare() */
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define HOLD_PER_WORKER 8000 /* connections per holder process: 2 fds each */

static const char usage[] =
	"Usage: storm conn CLIENTS PER_CLIENT\n"
	"       storm msg CONNS MESSAGES SIZE pingpong|oneway\n"
	"       storm hold CONNS [netns]\n"
	"conn: CLIENTS processes each do PER_CLIENT times connect, 5-byte request, 1-byte reply,\n"
	"      close against a forked accept() loop on 127.0.0.1.\n"
	"msg:  CONNS connections each exchange MESSAGES messages of SIZE bytes.\n"
	"hold: opens CONNS loopback connections, prints 'ready CONNS PROCESSES NETNS_INODE', holds\n"
	"      them until stdin closes; with netns, in a new network namespace of its own.\n"
	"conn and msg print one JSON line on stdout: wall time of the workload and CPU time of\n"
	"its processes (in-kernel tracing cost included).\n";

/* CPU time of the reaped children (clients, servers): where BPF programs run is charged too. */
static double children_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_CHILDREN, &ru))
		return -1;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "storm: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long arg_long(const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min) {
		fprintf(stderr, "storm: bad number '%s'\n%s", s, usage);
		exit(2);
	}
	return v;
}

/* A listening socket on 127.0.0.1, ephemeral port; the port is stored in *port. */
static int listen_loopback(int backlog, unsigned int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		die("listen");
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_loopback(unsigned int port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Children wait on the read end until the parent closes the write end: a common start. */
static void wait_start(int gate)
{
	char c;

	while (read(gate, &c, 1) < 0 && errno == EINTR)
		;
	close(gate);
}

/* Waits for n children; returns how many failed. */
static int reap(int n)
{
	int status, failed = 0;

	while (n > 0) {
		if (wait(&status) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
		n--;
	}
	return failed;
}

/* The forked accept() loop: request, reply, close; runs until killed. */
static void conn_server(int lfd)
{
	char req[5];
	int fd;

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		if (read_full(fd, req, sizeof(req)) == 0)
			write_full(fd, "r", 1);
		close(fd);
	}
}

static int conn_client(unsigned int port, long per)
{
	char reply;
	long i, errors = 0;
	int fd;

	for (i = 0; i < per; i++) {
		fd = connect_loopback(port);
		if (fd < 0) {
			errors++;
			continue;
		}
		if (write_full(fd, "hello", 5) || read_full(fd, &reply, 1))
			errors++;
		close(fd);
	}
	if (errors)
		fprintf(stderr, "storm: client %d: %ld of %ld connections failed\n", getpid(), errors,
			per);
	return errors ? 1 : 0;
}

static int cmd_conn(long clients, long per)
{
	unsigned int port;
	int lfd, gate[2], failed;
	pid_t server;
	double t0, t1;
	long i;

	lfd = listen_loopback(4096, &port);
	server = fork();
	if (server < 0)
		die("fork");
	if (server == 0)
		conn_server(lfd);
	close(lfd);
	if (pipe(gate))
		die("pipe");
	for (i = 0; i < clients; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(gate[1]);
			wait_start(gate[0]);
			_exit(conn_client(port, per));
		}
	}
	close(gate[0]);
	t0 = now_s();
	close(gate[1]);
	failed = reap(clients);
	t1 = now_s();
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	printf("{\"mode\":\"conn\",\"port\":%u,\"clients\":%ld,\"connections\":%ld,"
	       "\"wall_s\":%.6f,\"cpu_s\":%.6f,\"failed_clients\":%d}\n",
	       port, clients, clients * per, t1 - t0, children_cpu_s(), failed);
	return failed ? 1 : 0;
}

/* Server side of one message connection: echo each message (pingpong) or count bytes. */
static int msg_server(int fd, long msgs, long size, int pingpong)
{
	long total = msgs * size, got = 0;
	char *buf = malloc(size > 65536 ? size : 65536);
	ssize_t n;

	if (!buf)
		return 1;
	if (pingpong) {
		for (; got < msgs; got++)
			if (read_full(fd, buf, size) || write_full(fd, buf, size))
				return 1;
	} else {
		while (got < total) {
			n = read(fd, buf, 65536);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 1;
			got += n;
		}
		if (write_full(fd, "k", 1))
			return 1;
	}
	free(buf);
	return 0;
}

static int msg_client(unsigned int port, long msgs, long size, int pingpong)
{
	char *buf = calloc(1, size);
	int fd, one = 1;
	long i;

	fd = connect_loopback(port);
	if (fd < 0 || !buf)
		return 1;
	/* One segment per message: what a chatty RPC protocol does. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (i = 0; i < msgs; i++) {
		if (write_full(fd, buf, size))
			return 1;
		if (pingpong && read_full(fd, buf, size))
			return 1;
	}
	if (!pingpong && read_full(fd, buf, 1))
		return 1;
	close(fd);
	free(buf);
	return 0;
}

static int cmd_msg(long conns, long msgs, long size, int pingpong)
{
	unsigned int port;
	int lfd, gate[2], failed;
	double t0, t1;
	long i;

	lfd = listen_loopback(conns, &port);
	if (pipe(gate))
		die("pipe");
	for (i = 0; i < conns; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(gate[1]);
			close(lfd);
			wait_start(gate[0]);
			_exit(msg_client(port, msgs, size, pingpong));
		}
	}
	/* The clients connect only after the start: one server process per accepted connection. */
	close(gate[0]);
	t0 = now_s();
	close(gate[1]);
	for (i = 0; i < conns; i++) {
		int fd = accept(lfd, NULL, NULL);
		pid_t pid;

		if (fd < 0)
			die("accept");
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(lfd);
			_exit(msg_server(fd, msgs, size, pingpong));
		}
		close(fd);
	}
	failed = reap(2 * conns);
	t1 = now_s();
	close(lfd);
	printf("{\"mode\":\"msg\",\"port\":%u,\"connections\":%ld,\"messages\":%ld,\"size\":%ld,"
	       "\"pattern\":\"%s\",\"wall_s\":%.6f,\"cpu_s\":%.6f,\"failed\":%d}\n",
	       port, conns, conns * msgs, size, pingpong ? "pingpong" : "oneway", t1 - t0,
	       children_cpu_s(), failed);
	return failed ? 1 : 0;
}

static void wait_stdin_eof(void)
{
	char c;
	ssize_t r;

	do
		r = read(STDIN_FILENO, &c, 1);
	while (r > 0 || (r < 0 && errno == EINTR));
}

/* One holder process: n connections, both ends, on its own listener. */
static int hold_worker(long n, int ready)
{
	unsigned int port;
	int lfd;
	long i;

	lfd = listen_loopback(1024, &port);
	/* connect() completes on loopback before accept(): alternate to keep the backlog short. */
	for (i = 0; i < n; i++) {
		if (connect_loopback(port) < 0)
			die("connect");
		if (accept(lfd, NULL, NULL) < 0)
			die("accept");
	}
	close(lfd);
	if (write(ready, "r", 1) != 1)
		die("write");
	close(ready);
	wait_stdin_eof();
	return 0;
}

/* A network namespace of our own, loopback up: a tracer can be told to watch only this one. */
static void enter_new_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET)");
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		die("SIOCSIFFLAGS lo");
	close(fd);
}

/*
 * Opens n connections (2n sockets) and keeps them open until stdin reaches EOF. Root without
 * CAP_SYS_RESOURCE cannot raise RLIMIT_NOFILE past its hard limit: spread over processes.
 */
static int cmd_hold(long n, int netns)
{
	struct rlimit rl;
	struct stat st;
	long per, workers, i, got = 0;
	int ready[2];
	char c;

	if (netns)
		enter_new_netns();
	if (stat("/proc/self/ns/net", &st))
		die("stat /proc/self/ns/net");

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	per = ((long)rl.rlim_cur - 64) / 2;
	if (per > HOLD_PER_WORKER)
		per = HOLD_PER_WORKER;
	if (per < 1) {
		fprintf(stderr, "storm: RLIMIT_NOFILE %ld is too low\n", (long)rl.rlim_cur);
		return 1;
	}
	workers = (n + per - 1) / per;
	if (pipe(ready))
		die("pipe");
	for (i = 0; i < workers; i++) {
		long mine = i < workers - 1 ? per : n - per * (workers - 1);
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(ready[0]);
			_exit(hold_worker(mine, ready[1]));
		}
	}
	close(ready[1]);
	while (got < workers) {
		ssize_t r = read(ready[0], &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got++;
	}
	if (got < workers) {
		fprintf(stderr, "storm: %ld of %ld holder processes failed\n", workers - got,
			workers);
		return 1;
	}
	printf("ready %ld %ld %llu\n", n, workers, (unsigned long long)st.st_ino);
	wait_stdin_eof();
	return reap(workers) ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && strcmp(argv[1], "conn") == 0)
		return cmd_conn(arg_long(argv[2], 1), arg_long(argv[3], 1));
	if (argc == 6 && strcmp(argv[1], "msg") == 0 &&
	    (strcmp(argv[5], "pingpong") == 0 || strcmp(argv[5], "oneway") == 0))
		return cmd_msg(arg_long(argv[2], 1), arg_long(argv[3], 1), arg_long(argv[4], 1),
			       strcmp(argv[5], "pingpong") == 0);
	if ((argc == 3 || (argc == 4 && strcmp(argv[3], "netns") == 0)) &&
	    strcmp(argv[1], "hold") == 0)
		return cmd_hold(arg_long(argv[2], 0), argc == 4);
	fputs(usage, argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
