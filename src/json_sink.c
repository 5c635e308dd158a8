/* The JSON lines sink: record → json_format or ecs_format → output, a gap's report ahead of the
 * rest. Both schemas share the output, its rotation and the gap handling here. */
#include <errno.h>
#include "ecs.h"
#include "json.h"
#include "json_sink.h"
#include "output.h"
#include "record.h"

#define LINE_MAX_ (ECS_LINE_MAX > JSON_LINE_MAX ? ECS_LINE_MAX : JSON_LINE_MAX)

static int json_sink_record(void *ctx, struct record *rec)
{
	struct json_sink *js = ctx;
	char line[LINE_MAX_];
	ssize_t len;

	if (js->format == FORMAT_ECS)
		len = ecs_format(rec, line, sizeof(line));
	else
		len = json_format(js->fmt, rec, line, sizeof(line));
	if (len < 0)
		return -EMSGSIZE;
	/* The report of records the output dropped goes ahead of every line after it. */
	if (rec->type == RECORD_LOST && rec->lost_reason == LOST_OUTPUT)
		return output__report_gap(js->out, line, len, rec->lost_count);
	return output__write(js->out, line, len);
}

struct sink json_sink(struct json_sink *js)
{
	return (struct sink){ .record = json_sink_record, .ctx = js };
}
