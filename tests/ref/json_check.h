/* Checks a JSON line against the record it was made from, with jansson's strict parser. */
#ifndef NT_JSON_CHECK_H
#define NT_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include "record.h"

/* True when line (len bytes, ending in its one newline) is a single JSON object that
 * jansson parses with JSON_REJECT_DUPLICATES, with exactly the keys of rec's shape in schema
 * order, each equal to rec's value as nettracer(8) defines it. Otherwise false, with the
 * first difference in why. */
bool json_check_line(const struct record *rec, const char *line, size_t len, char *why,
		     size_t why_size);

#endif /* NT_JSON_CHECK_H */
