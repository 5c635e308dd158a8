/* The JSON lines sink: each record formatted by json.c (default) or ecs.c and written to an
 * output. */
#ifndef NT_JSON_SINK_H
#define NT_JSON_SINK_H

#include "sink.h"

struct json_fmt;
struct output;

/* --format: the schema of the lines. */
enum json_sink_format {
	FORMAT_JSON, /* nettracer's own fields (nettracer(8), OUTPUT FIELDS) */
	FORMAT_ECS,  /* Elastic Common Schema (nettracer(8), ECS OUTPUT) */
};

struct json_sink {
	enum json_sink_format format;
	struct json_fmt *fmt; /* FORMAT_JSON only */
	struct output *out;
};

/* The sink interface of js, which must outlive it. */
struct sink json_sink(struct json_sink *js);

#endif /* NT_JSON_SINK_H */
