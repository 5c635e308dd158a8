/* libFuzzer harness: the /proc text parsers on arbitrary NUL-terminated strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "procnet.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy: ASan sees any read past the terminating NUL. */
	char *s = malloc(size + 1);
	uint64_t ino = 0;
	uint32_t uid = 0;
	size_t len;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);

	if (procnet_socket_inode(s, &ino)) {
		/* Accepted only in its exact form: "socket:[" digits "]" and nothing after. */
		CHECK(len >= 10 && strncmp(s, "socket:[", 8) == 0 && s[len - 1] == ']');
		CHECK(strspn(s + 8, "0123456789") == len - 9);
	}
	if (procnet_status_uid(s, &uid))
		CHECK(strstr(s, "\nUid:") != NULL);
	for (int v6 = 0; v6 < 2; v6++) {
		struct nt_seed seed;

		if (procnet_tcp_line(s, v6, &seed))
			CHECK(seed.tuple.family == (v6 ? AF_INET6 : AF_INET) && seed.sk == 0);
	}

	free(s);
	return 0;
}
