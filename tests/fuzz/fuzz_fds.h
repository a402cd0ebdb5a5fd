/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 pvbridge authors
 */

#ifndef _PVB_FUZZ_FDS_H_
#define _PVB_FUZZ_FDS_H_

/*
 * The fd leak check the fuzz targets share: open fds of the kinds a run
 * creates (sockets, eventfds, memfds). Pipes and /dev/null are left out:
 * libFuzzer opens them itself (the symbolizer it starts to print NEW_FUNC
 * lines keeps some). -1 when /proc/self/fd cannot be read.
 */

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline int
fuzz_count_fds(void)
{
	static const char *const kinds[] = { "socket:", "anon_inode:[eventfd]", "/memfd:" };
	char path[300], link[64];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	ssize_t len;
	size_t k;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (strncmp(link, kinds[k], strlen(kinds[k])) == 0)
				n++;
	}
	closedir(d);
	return n;
}

#endif /* _PVB_FUZZ_FDS_H_ */
