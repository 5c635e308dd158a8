/* The JSON lines sink: each record formatted by json.c and written to an output. */
#ifndef NT_JSON_SINK_H
#define NT_JSON_SINK_H

#include "sink.h"

struct json_fmt;
struct output;

struct json_sink {
	struct json_fmt *fmt;
	struct output *out;
};

/* The sink interface of js, which must outlive it. */
struct sink json_sink(struct json_sink *js);

#endif /* NT_JSON_SINK_H */
