/* The names records give their enums: in JSON, in --events, in the table. */
#include "record.h"

const char *record_type_name(enum record_type type)
{
	static const char *const names[] = {
		[RECORD_CONNECT] = "connect", [RECORD_ACCEPT] = "accept", [RECORD_CLOSE] = "close",
		[RECORD_METRICS] = "metrics", [RECORD_LOST] = "lost",
		[RECORD_CONNECT_FAILED] = "connect_failed",
	};

	return (unsigned int)type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}

const char *record_direction_name(enum record_direction dir)
{
	switch (dir) {
	case DIRECTION_OUTBOUND:
		return "outbound";
	case DIRECTION_INBOUND:
		return "inbound";
	default:
		return "unknown";
	}
}
