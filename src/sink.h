/* Where the pipeline's records go: one small interface for every consumer of records. */
#ifndef NT_SINK_H
#define NT_SINK_H

struct record;

/* What a sink's record() returns besides 0 (taken) and the errors that stop the pipeline. */
#define SINK_SKIPPED 1 /* not for this sink (the table takes metrics only): not counted */
/* -ENOBUFS: dropped, the output counts it and a lost record will say so.
 * -EMSGSIZE: numbered but not formatted (too long for a line): counted as format_failed. */

struct sink {
	/* Takes one record, numbered and described by the pipeline. */
	int (*record)(void *ctx, struct record *rec);
	void *ctx;
};

#endif /* NT_SINK_H */
