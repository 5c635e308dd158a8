/* The terminal, while -d runs on one: one per process (the signal handlers need it). */
#ifndef NT_TERM_H
#define NT_TERM_H

#include <stdbool.h>

/* Keys read by term_keys(). */
enum {
	TERM_KEY_REFRESH = 1, /* Enter */
	TERM_KEY_QUIT = 2,    /* q */
	TERM_KEY_EOF = 4,     /* the input ended or cannot be read: stop asking */
};

/*
 * Takes over the terminal. in_fd (-1: none), when it is a terminal and nettracer is in its
 * foreground, goes to non-canonical no-echo mode so that a key acts at once; out_fd (-1: none)
 * shows the alternate screen with the cursor hidden, and stderr is held back until
 * term_close() so that no message vanishes with that screen. Everything is given back on
 * term_close(), on SIGTSTP (and taken again on SIGCONT) and on SIGQUIT. 0 or -errno.
 */
int term_open(int in_fd, int out_fd);
/* Gives the terminal back as it was and replays what stderr got meanwhile; safe to repeat. */
void term_close(void);
/* True once after the terminal was resized or given back after a stop: redraw. */
bool term_changed(void);
/* Columns and lines of the terminal at fd. 0 or -errno. */
int term_size(int fd, unsigned int *width, unsigned int *height);
/* Reads the keys waiting on fd without blocking: TERM_KEY_* bits, 0 when there are none. */
int term_keys(int fd);

#endif /* NT_TERM_H */
