/* SPDX-License-Identifier: MIT */
/* A minimal test harness: CHECK records a failure and goes on; the test
 * program's exit status is the number of failures (capped), so CTest sees it. */
#ifndef PROBEHOOK_TEST_CHECK_H
#define PROBEHOOK_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		check_count++;                                                        \
		if (!(cond)) {                                                        \
			check_failures++;                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                     \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                            \
	do {                                                                          \
		const char *check_a_ = (a), *check_b_ = (b);                          \
		check_count++;                                                        \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {      \
			check_failures++;                                             \
			fprintf(stderr, "%s:%d: CHECK_STR_EQ failed: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, check_a_ ? check_a_ : "(null)",   \
				check_b_ ? check_b_ : "(null)");                      \
		}                                                                     \
	} while (0)

/* Call at the end of main: prints a summary and returns the exit status. */
static inline int check_summary(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures > 100 ? 100 : check_failures;
}

#endif
