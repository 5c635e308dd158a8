/* Unit tests for errname(): the table against glibc's strerrorname_np() and the kernel's
 * asm-generic errno headers, two lists that nettracer did not write. */
#define _GNU_SOURCE /* strerrorname_np() */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "errname.h"

/* Linux's errnos run from 1 to 133 (EHWPOISON) on the architectures that use asm-generic. */
#define LAST_GENERIC 133

static void test_socket_errors(void **state)
{
	/* The ones a TCP connect or an established connection ends with: spelled out, so that a
	 * table shifted by one cannot pass through both comparisons below unnoticed. */
	assert_string_equal(errname(ECONNREFUSED), "ECONNREFUSED");
	assert_string_equal(errname(ETIMEDOUT), "ETIMEDOUT");
	assert_string_equal(errname(EHOSTUNREACH), "EHOSTUNREACH");
	assert_string_equal(errname(ENETUNREACH), "ENETUNREACH");
	assert_string_equal(errname(ECONNRESET), "ECONNRESET");
	assert_string_equal(errname(ECONNABORTED), "ECONNABORTED");
	assert_string_equal(errname(EPIPE), "EPIPE");
	assert_string_equal(errname(EACCES), "EACCES");
	assert_string_equal(errname(EPERM), "EPERM");
	assert_string_equal(errname(EADDRNOTAVAIL), "EADDRNOTAVAIL");
	assert_string_equal(errname(EPROTO), "EPROTO");
	assert_string_equal(errname(ENOBUFS), "ENOBUFS");
	assert_string_equal(errname(EMSGSIZE), "EMSGSIZE");
	assert_string_equal(errname(ENOPROTOOPT), "ENOPROTOOPT");
	assert_string_equal(errname(EHOSTDOWN), "EHOSTDOWN");
	assert_string_equal(errname(ENETDOWN), "ENETDOWN");
	assert_string_equal(errname(ENONET), "ENONET");
	assert_string_equal(errname(EIO), "EIO");
	assert_string_equal(errname(ENOMEM), "ENOMEM");
	assert_string_equal(errname(EINVAL), "EINVAL");
}

static void test_aliases(void **state)
{
	/* One value, two names: the first one, as glibc names it. */
	assert_string_equal(errname(EWOULDBLOCK), "EAGAIN");
	assert_string_equal(errname(ENOTSUP), "EOPNOTSUPP");
	assert_string_equal(errname(EDEADLOCK), EDEADLOCK == EDEADLK ? "EDEADLK" : "EDEADLOCK");
}

static void test_no_name(void **state)
{
	assert_null(errname(0));
	assert_null(errname(-1));
	assert_null(errname(-ECONNREFUSED));
	assert_null(errname(INT32_MIN));
	assert_null(errname(4096));
	assert_null(errname(INT32_MAX));
	/* The kernel's internal ERESTARTSYS and friends have no user-space name. */
	assert_null(errname(512));
	assert_null(errname(516));
}

/* glibc 2.32+ names every errno it knows; errname() must agree on each value, including the
 * values neither names (41 and 58 are only aliases on x86). */
static void test_against_glibc(void **state)
{
	int err, named = 0;

	for (err = 1; err < 4096; err++) {
		const char *want = strerrorname_np(err), *got = errname(err);

		if (!want && !got)
			continue;
		if (!want || !got || strcmp(want, got) != 0)
			fail_msg("errno %d: glibc says %s, errname says %s", err,
				 want ? want : "NULL", got ? got : "NULL");
		named++;
	}
	/* Guard against a glibc that names nothing, which would make the loop vacuous. */
	assert_true(named >= LAST_GENERIC - 2);
}

/* Reads "#define ENAME <number>" lines; aliases ("#define EWOULDBLOCK EAGAIN") are skipped. */
static int parse_header(const char *file, const char **names, int max)
{
	char line[256], name[64];
	FILE *f = fopen(file, "r");
	int value, n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "#define %63s %d", name, &value) != 2 || name[0] != 'E')
			continue;
		if (value > 0 && value <= max) {
			names[value] = strdup(name);
			n++;
		}
	}
	fclose(f);
	return n;
}

static void test_against_kernel_headers(void **state)
{
	const char *names[LAST_GENERIC + 1] = { 0 };
	int err, a, b;

	/* The asm-generic numbering is this architecture's only where these two agree. */
	if (EDEADLK != 35 || EDQUOT != 122)
		skip();
	a = parse_header("/usr/include/asm-generic/errno-base.h", names, LAST_GENERIC);
	b = parse_header("/usr/include/asm-generic/errno.h", names, LAST_GENERIC);
	if (a < 0 || b < 0)
		skip(); /* no kernel headers installed */
	assert_int_equal(a + b, LAST_GENERIC - 2);
	for (err = 1; err <= LAST_GENERIC; err++) {
		const char *got = errname(err);

		if (!names[err]) {
			if (got)
				fail_msg("errno %d: no name in the kernel headers, errname says %s",
					 err, got);
			continue;
		}
		if (!got || strcmp(got, names[err]) != 0)
			fail_msg("errno %d: the kernel says %s, errname says %s", err, names[err],
				 got ? got : "NULL");
	}
	for (err = 1; err <= LAST_GENERIC; err++)
		free((char *)names[err]);
}

/* errname_value() inverts errname() on every value it names, and on nothing else. */
static void test_value(void **state)
{
	int err, named = 0;

	for (err = 1; err < 4096; err++) {
		const char *name = errname(err);

		if (!name)
			continue;
		assert_int_equal(errname_value(name), err);
		named++;
	}
	assert_true(named >= LAST_GENERIC - 2);
	assert_int_equal(errname_value("ECONNREFUSED"), ECONNREFUSED);
	assert_int_equal(errname_value("EWOULDBLOCK"), 0);
	assert_int_equal(errname_value("econnrefused"), 0);
	assert_int_equal(errname_value("ECONNREFUSEDX"), 0);
	assert_int_equal(errname_value("111"), 0);
	assert_int_equal(errname_value(""), 0);
	assert_int_equal(errname_value(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_errors),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_no_name),
		cmocka_unit_test(test_against_glibc),
		cmocka_unit_test(test_against_kernel_headers),
		cmocka_unit_test(test_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
