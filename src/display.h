/* The -d controller: each dump's metrics records become the rows of a table, drawn at the
 * terminal's size; Enter asks for a fresh dump, q stops. */
#ifndef NT_DISPLAY_H
#define NT_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include "sink.h"
#include "table.h"

struct display;
struct pipeline;

/* What display__keys() saw. */
enum {
	DISPLAY_DUMP = 1, /* Enter: a fresh table now */
	DISPLAY_QUIT = 2, /* q */
};

/* Draws the table into p's output; in_fd (-1: none) gives the keys; ansi: stdout is a
 * terminal, redrawn in place. NULL with errno set. */
struct display *display__new(struct pipeline *p, enum table_sort sort, int in_fd, bool ansi);
/* Takes the terminal (see term_open). 0 or -errno. */
int display__start(struct display *v);
/* The sink that makes the pipeline's metrics records the rows; other records are skipped. */
struct sink display__sink(struct display *v);
/* A dump at time_ns begins: the rows of the last one are forgotten. */
void display__begin_dump(struct display *v, uint64_t time_ns);
/* Keys waiting (DISPLAY_* bits); redraws the same rows when the terminal was resized or given
 * back after a stop. */
int display__poll(struct display *v);
/* The rows of the last dump, at the terminal's size of the moment. */
void display__draw(struct display *v);
/* Gives the terminal back (see display__free) and keeps v: later tables are plain text, as
 * without a terminal (the last table of an input that ended, left on the main screen). */
void display__stop(struct display *v);
/* Gives the terminal back (replaying what stderr got meanwhile) and frees v; NULL is fine. */
void display__free(struct display *v);

#endif /* NT_DISPLAY_H */
