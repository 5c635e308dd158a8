/* The terminal the -d view owns: modes, alternate screen, resize, job control, and stderr held
 * back while the table is shown. */
#include "config.h" /* _GNU_SOURCE: memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "output.h"
#include "term.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define SCREEN_TAKE "\033[?1049h\033[?25l" /* alternate screen, cursor hidden */
#define SCREEN_GIVE "\033[m\033[?25h\033[?1049l"

/*
 * One terminal per process, in static storage because the signal handlers need it: everything
 * they call is async-signal-safe. The terminal's own signals are handled here rather than in
 * main.c for that reason; main keeps SIGINT and SIGTERM, which end the loop normally.
 */
static const int term_signals[] = { SIGTSTP, SIGCONT, SIGQUIT, SIGWINCH };

static struct {
	int in_fd;   /* the keyboard, -1 when not a terminal */
	int out_fd;  /* the screen, -1 when not ours */
	int err_fd;  /* the real stderr while it is held back, else -1 */
	int held_fd; /* where stderr goes meanwhile */
	bool raw;    /* in_fd is in non-canonical mode now */
	bool screen; /* out_fd shows the alternate screen now */
	bool handlers;
	struct termios saved;
	struct sigaction old[ARRAY_SIZE(term_signals)];
} term = { .in_fd = -1, .out_fd = -1, .err_fd = -1, .held_fd = -1 };

static volatile sig_atomic_t term_dirty;

/* A process that is not in the terminal's foreground would be stopped for changing its modes
 * (SIGTTOU) or reading it (SIGTTIN); its shell owns the terminal then. */
static bool foreground(int fd)
{
	return tcgetpgrp(fd) == getpgrp();
}

static void term_take(void)
{
	struct termios raw;

	/* Again after a stop: a shell resets the modes of a job that a SIGSTOP stopped too, and
	 * then the ones to give back are still those saved before. */
	if (term.in_fd >= 0 && foreground(term.in_fd) &&
	    (term.raw || tcgetattr(term.in_fd, &term.saved) == 0)) {
		raw = term.saved;
		/* ISIG stays: Ctrl-C, Ctrl-Z and Ctrl-\ keep their meaning. */
		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		term.raw = tcsetattr(term.in_fd, TCSANOW, &raw) == 0;
	}
	if (term.out_fd >= 0 && !term.screen) {
		output_write_all(term.out_fd, SCREEN_TAKE, strlen(SCREEN_TAKE));
		term.screen = true;
	}
}

static void term_give(void)
{
	if (term.raw && foreground(term.in_fd))
		tcsetattr(term.in_fd, TCSANOW, &term.saved);
	term.raw = false;
	if (term.screen)
		output_write_all(term.out_fd, SCREEN_GIVE, strlen(SCREEN_GIVE));
	term.screen = false;
}

static void hold_stderr(void)
{
	int held, err;

	if (!isatty(STDERR_FILENO))
		return;
	held = memfd_create("nettracer-stderr", MFD_CLOEXEC);
	if (held < 0)
		return;
	err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (err < 0 || dup2(held, STDERR_FILENO) < 0) {
		if (err >= 0)
			close(err);
		close(held);
		return;
	}
	term.err_fd = err;
	term.held_fd = held;
}

static void replay_stderr(void)
{
	char buf[4096];
	off_t off = 0;
	ssize_t n;

	if (term.err_fd < 0)
		return;
	dup2(term.err_fd, STDERR_FILENO);
	while ((n = pread(term.held_fd, buf, sizeof(buf), off)) > 0) {
		output_write_all(STDERR_FILENO, buf, n);
		off += n;
	}
	close(term.err_fd);
	close(term.held_fd);
	term.err_fd = term.held_fd = -1;
}

/* Stops the process the way SIGTSTP would have; it goes on here after SIGCONT. */
static void stop_self(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, self;
	sigset_t set;

	sigemptyset(&dfl.sa_mask);
	sigaction(SIGTSTP, &dfl, &self);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	sigaction(SIGTSTP, &self, NULL);
}

static void on_term_signal(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int saved_errno = errno;

	switch (sig) {
	case SIGTSTP:
		term_give();
		stop_self();
		break;
	case SIGCONT:
		term_take();
		term_dirty = 1;
		break;
	case SIGQUIT:
		/* Dies with a core as SIGQUIT should, after giving the terminal back. */
		term_give();
		replay_stderr();
		sigemptyset(&dfl.sa_mask);
		sigaction(SIGQUIT, &dfl, NULL);
		raise(SIGQUIT);
		break;
	case SIGWINCH:
		term_dirty = 1;
		break;
	}
	errno = saved_errno;
}

static void block_term_signals(sigset_t *old)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < ARRAY_SIZE(term_signals); i++)
		sigaddset(&set, term_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

int term_open(int in_fd, int out_fd)
{
	struct sigaction sa = { .sa_handler = on_term_signal, .sa_flags = SA_RESTART };
	sigset_t old;
	size_t i;
	int err = 0;

	if (in_fd >= 0 && isatty(in_fd))
		term.in_fd = in_fd;
	term.out_fd = out_fd;
	if (term.in_fd < 0 && term.out_fd < 0)
		return 0;
	block_term_signals(&old);
	/* The handlers run one at a time: a stop cannot interleave with a resume. */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(term_signals); i++)
		sigaddset(&sa.sa_mask, term_signals[i]);
	for (i = 0; i < ARRAY_SIZE(term_signals); i++) {
		if (sigaction(term_signals[i], &sa, &term.old[i])) {
			err = -errno;
			while (i--)
				sigaction(term_signals[i], &term.old[i], NULL);
			term.in_fd = term.out_fd = -1;
			goto out_unblock;
		}
	}
	term.handlers = true;
	if (term.out_fd >= 0)
		hold_stderr();
	term_take();
out_unblock:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return err;
}

void term_close(void)
{
	sigset_t old;
	size_t i;

	block_term_signals(&old);
	term_give();
	replay_stderr();
	if (term.handlers)
		for (i = 0; i < ARRAY_SIZE(term_signals); i++)
			sigaction(term_signals[i], &term.old[i], NULL);
	term.handlers = false;
	term.in_fd = term.out_fd = -1;
	sigprocmask(SIG_SETMASK, &old, NULL);
}

bool term_changed(void)
{
	if (!term_dirty)
		return false;
	term_dirty = 0;
	return true;
}

int term_size(int fd, unsigned int *width, unsigned int *height)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws))
		return -errno;
	if (!ws.ws_col || !ws.ws_row)
		return -EINVAL;
	*width = ws.ws_col;
	*height = ws.ws_row;
	return 0;
}

int term_keys(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[64];
	ssize_t n, i;
	int keys = 0;

	if (isatty(fd) && !foreground(fd))
		return 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (pfd.revents & POLLNVAL)
		return TERM_KEY_EOF;
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : TERM_KEY_EOF;
	if (n == 0)
		return TERM_KEY_EOF;
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' || buf[i] == '\r')
			keys |= TERM_KEY_REFRESH;
		else if (buf[i] == 'q')
			keys |= TERM_KEY_QUIT;
	}
	return keys;
}
