/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_TEST_COMMON_H_
#define _PVB_TEST_COMMON_H_

/*
 * Helpers the cmocka suites share: the failure context of table-driven
 * loops (at() names the case; the expect_* macros report it) and small byte
 * checks. Include after <cmocka.h>.
 */

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DIM(a)		(sizeof(a) / sizeof((a)[0]))

/*
 * Open fds of this process (the listing's own included: compare two
 * counts, not a count with a number), for leak checks.
 */
static inline int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The case a table-driven loop is in, for failure messages. */
static char here[256] __attribute__((unused));

static inline void at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void
at(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(here, sizeof(here), fmt, ap);
	va_end(ap);
}

#define expect_eq(a, b) do {							\
	uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);			\
										\
	if (a_ != b_)								\
		fail_msg("%s: %s is %#" PRIx64 " (%" PRId64 "), want %#"	\
			 PRIx64 " (%" PRId64 ")", here, #a, a_, (int64_t)a_,	\
			 b_, (int64_t)b_);					\
} while (0)

#define expect_true(c) do {							\
	if (!(c))								\
		fail_msg("%s: want %s", here, #c);				\
} while (0)

#define expect_false(c) do {							\
	if (c)									\
		fail_msg("%s: want !(%s)", here, #c);				\
} while (0)

/* Every one of @p n bytes at @p p is @p v. */
static inline bool
bytes_all(const void *p, size_t n, uint8_t v)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

#endif /* _PVB_TEST_COMMON_H_ */
