/* The -d controller: the table's rows from the pipeline, keys, redraws; the terminal is term.c's. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "display.h"
#include "output.h"
#include "pipeline.h"
#include "record.h"
#include "term.h"

struct display {
	struct pipeline *p;
	struct table *table;
	enum table_sort sort;
	uint64_t time_ns; /* of the dump shown */
	int in_fd;	  /* where Enter and q come from; -1 once it has ended */
	bool ansi;	  /* stdout is a terminal: redraw in place */
	bool started;	  /* the terminal is ours */
};

struct display *display__new(struct pipeline *p, enum table_sort sort, int in_fd, bool ansi)
{
	struct display *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	*v = (struct display){ .p = p, .sort = sort, .in_fd = in_fd, .ansi = ansi };
	v->table = table__new();
	if (!v->table) {
		free(v);
		return NULL;
	}
	return v;
}

int display__start(struct display *v)
{
	v->started = true;
	return term_open(v->in_fd, v->ansi ? STDOUT_FILENO : -1);
}

static int display_record(void *ctx, struct record *rec)
{
	struct display *v = ctx;

	/* Events are counted by the pipeline, not shown. */
	return rec->type == RECORD_METRICS ? table__add(v->table, rec) : SINK_SKIPPED;
}

struct sink display__sink(struct display *v)
{
	return (struct sink){ .record = display_record, .ctx = v };
}

void display__begin_dump(struct display *v, uint64_t time_ns)
{
	v->time_ns = time_ns;
	table__clear(v->table);
}

int display__poll(struct display *v)
{
	int keys, ret = 0;

	if (v->in_fd >= 0) {
		keys = term_keys(v->in_fd);
		if (keys & TERM_KEY_EOF)
			v->in_fd = -1; /* a closed or absent stdin is no reason to stop */
		if (keys & TERM_KEY_QUIT)
			ret |= DISPLAY_QUIT;
		if (keys & TERM_KEY_REFRESH)
			ret |= DISPLAY_DUMP;
	}
	if (term_changed())
		display__draw(v); /* resized, or back from a stop: the same rows again */
	return ret;
}

void display__draw(struct display *v)
{
	struct table_header hdr = {
		.time_ns = v->time_ns,
		.events = v->p->stats.events,
		.failed_connects = v->p->stats.failed_connects,
		.lost = v->p->stats.lost,
		.sort = v->sort,
	};
	unsigned int width = 0, height = 0;
	const char *text;
	size_t len;
	int err;

	if (v->ansi && term_size(STDOUT_FILENO, &width, &height))
		width = 80, height = 24;
	text = table__render(v->table, &hdr, width, height, v->ansi, &len);
	pipeline_report_gap(v->p);
	err = text ? output__write(v->p->out, text, len) : -ENOMEM;
	if (!err)
		err = output__flush(v->p->out);
	if (err && err != -ENOBUFS && !v->p->err)
		v->p->err = err; /* a table the full output dropped is no reason to stop */
}

void display__stop(struct display *v)
{
	term_close(); /* safe when never opened, and twice */
	v->ansi = false;
	v->in_fd = -1;
}

void display__free(struct display *v)
{
	if (!v)
		return;
	term_close(); /* safe when never opened */
	table__free(v->table);
	free(v);
}
