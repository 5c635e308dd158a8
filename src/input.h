/* nettracer's own NDJSON read back into records (-d --input), with jansson: a line parser and
 * a reader that follows a growing file across its rotations as tail -F does. */
#ifndef NT_INPUT_H
#define NT_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"

/* Room for every string a record points to (its cgroup path, its reset reason): a strings
 * buffer of this size always suffices. */
#define INPUT_STRINGS_MAX (RECORD_CGROUP_MAX + 1 + RECORD_REASON_MAX + 1)

/*
 * One line of nettracer's default output (len bytes, with or without its newline) → *rec.
 * Returns 0 for a record of any type, with every field the line has; -EINVAL for a line that
 * is not one (not a single JSON object by jansson's strict parser with duplicate keys refused,
 * an unknown type, a key of the type missing or of the wrong type or range, a value the writer
 * never writes); -ENOSPC when strings_size is too small for its strings. Keys the schema does
 * not have are ignored, so that a newer nettracer's records can be read.
 *
 * What the line does not carry is derived: direction from the type when the line has no
 * metrics (connect, connect_failed: outbound; accept: inbound); sk from a hash of netns and
 * the four-tuple, so that it still tells live connections apart; birth_ns and
 * reset_reason_code are 0. Durations come back in nanoseconds, as microseconds * 1000; a
 * duration written as 0 (under a microsecond) is read as 1 ns, so that it is not taken for
 * "unknown" and left out when the record is written again. Text is as the line has it, except
 * that each U+FFFD becomes the byte 0xff: the writer wrote that character for each byte that
 * was not UTF-8, so the text keeps its length in bytes (a comm still fits its 16), and the
 * writers write U+FFFD for it again. The cgroup path and the reset reason are copied to
 * strings, which must outlive rec's use of them; the comm to rec->comm.
 *
 * json_format() of the record gives the line back byte for byte (tests/unit/test_input.c).
 */
int input_parse_line(const char *line, size_t len, struct record *rec, char *strings,
		     size_t strings_size);

/* The reader: lines → records, the lines that are not records counted and skipped. */
struct input;

/* path "-" is standard input (never closed by input__close). With follow, the end of a
 * regular file is not the end: input__read() waits for more, and goes on with the file that
 * path names from then on when it is renamed away and another created (a rotation), or
 * from the start when it shrinks (a truncation); a path that does not exist yet is waited
 * for. NULL with errno set. */
struct input *input__open(const char *path, bool follow);
void input__close(struct input *in);

/*
 * The next record. Returns 0 with *rec filled (its strings stay valid until the next call);
 * -EAGAIN when no complete line is there yet (a last line without its newline is kept until
 * it has one, never parsed half); -ENODATA at the end of the input (end of file without
 * follow, end of a pipe); another -errno when reading fails. A line that is not a record
 * (see input_parse_line) is counted in input__skipped() and passed over, as is a last line
 * that never got its newline: at the end of the input, or because its file was rotated away
 * or truncated.
 *
 * When following, the old file is read to its end before the new one is taken: once the file
 * the path names is another one and is not empty (its writer moved on to it), the old one is
 * read once more and then left.
 */
int input__read(struct input *in, struct record *rec);

/* Waits until input__read() may have something, at most timeout_ms: poll() on a pipe or a
 * terminal, a sleep on a regular file, which poll() always calls readable. 0 or -errno. */
int input__wait(struct input *in, int timeout_ms);

/* A descriptor to poll() for POLLIN with the caller's others (keys, signals), or -1 when
 * there is none that would mean anything (a regular file): then wake up every interval. */
int input__fd(const struct input *in);

/* Lines that were not records, since input__open(). */
uint64_t input__skipped(const struct input *in);

#endif /* NT_INPUT_H */
