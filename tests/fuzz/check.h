/* The fuzz harnesses' check: any failed one is a finding, and abort() makes libFuzzer keep the
 * input that led to it. */
#ifndef NT_FUZZ_CHECK_H
#define NT_FUZZ_CHECK_H

#include <stdlib.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#endif /* NT_FUZZ_CHECK_H */
